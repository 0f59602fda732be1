//! The binding's conversions, inside wasm (run by wasm-bindgen-test-runner in Node):
//! bytes in, JSON text out, errors as JS `Error`s with a stable `code`.
#![cfg(target_arch = "wasm32")]

use learner_sync::binding::planner::JsPlanner;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_test::*;

fn prop(v: &JsValue, key: &str) -> JsValue {
    js_sys::Reflect::get(v, &JsValue::from_str(key)).unwrap()
}

#[wasm_bindgen_test]
fn pages_in_as_bytes_plan_out_as_json() {
    let mut p = JsPlanner::new(r#"{"platform":"foundry"}"#).unwrap();
    let stats = p.add_source(include_bytes!("../examples/walkthrough/source.csv"), "auto", "hr.csv", "", "").unwrap();
    assert_eq!(prop(&stats, "records").as_f64(), Some(5.0));
    assert_eq!(prop(&stats, "label").as_string().as_deref(), Some("hr.csv"));
    let stats = p.add_target(include_bytes!("../examples/walkthrough/foundry-users.json"), "foundry", "").unwrap();
    assert_eq!(prop(&stats, "hasMore").as_bool(), Some(false));
    let json = p.finish_json();
    assert!(json.starts_with(r#"{"actions":[{"action":"update","key":"33","platformId":"dek‑123""#), "{json}");
}

#[wasm_bindgen_test]
fn errors_become_js_errors_with_a_code() {
    let err = JsPlanner::new(r#"{"platform":"moodle"}"#).err().unwrap();
    assert!(err.is_instance_of::<js_sys::Error>());
    assert_eq!(prop(&err, "code").as_string().as_deref(), Some("INVALID_OPTIONS"));
    assert_eq!(prop(&err, "name").as_string().as_deref(), Some("LearnerSyncError"));

    let mut p = JsPlanner::new(r#"{"platform":"foundry","mapping":{"ssoId":"SSO"}}"#).unwrap();
    let err = p.add_target(b"not json", "auto", "users-3.json").err().unwrap();
    assert_eq!(prop(&err, "code").as_string().as_deref(), Some("MALFORMED_PAGE"));
    assert_eq!(prop(&err, "label").as_string().as_deref(), Some("users-3.json"));
    let err = p.add_source(b"ssoId\n1\n", "csv", "hr.csv", "", "").err().unwrap();
    assert_eq!(prop(&err, "code").as_string().as_deref(), Some("MISSING_COLUMN"));
    assert_eq!(prop(&err, "column").as_string().as_deref(), Some("SSO"));
    let err = p.add_source(b"", "xlsx", "", "", "").err().unwrap();
    assert_eq!(prop(&err, "code").as_string().as_deref(), Some("INVALID_OPTIONS"));
    // How a source is written: a delimiter or an encoding the engine does not know.
    let err = p.add_source(b"SSO\n1\n", "csv", "", "|", "").err().unwrap();
    assert_eq!(prop(&err, "code").as_string().as_deref(), Some("INVALID_OPTIONS"));
    let err = p.add_source(b"SSO\n1\n", "csv", "", "", "klingon").err().unwrap();
    assert_eq!(prop(&err, "code").as_string().as_deref(), Some("INVALID_OPTIONS"));
}

#[wasm_bindgen_test]
fn a_declared_delimiter_and_encoding_reach_the_reader() {
    let mut p = JsPlanner::new(r#"{"platform":"foundry"}"#).unwrap();
    // "Müller" in Windows-1252, semicolon-delimited.
    let page = b"ssoId;firstName;lastName;email\n1;Ann;M\xfcller;a@x.org\n";
    let stats = p.add_source(page, "csv", "de.csv", ";", "windows-1252").unwrap();
    assert_eq!(prop(&stats, "records").as_f64(), Some(1.0));
    assert!(p.finish_json().contains("\"lastName\":\"Müller\""));
}

#[wasm_bindgen_test]
fn plans_and_reports_become_csv_text() {
    let mut p = JsPlanner::new(r#"{"platform":"foundry"}"#).unwrap();
    p.add_source(include_bytes!("../examples/walkthrough/source.csv"), "auto", "hr.csv", "", "").unwrap();
    p.add_target(include_bytes!("../examples/walkthrough/foundry-users.json"), "foundry", "").unwrap();
    let csv = learner_sync::binding::planner::plan_to_csv(&p.finish_json()).unwrap();
    assert!(csv.starts_with("action,key,platformId,"), "{csv}");
    assert!(csv.contains("\r\nupdate,33,dek‑123,"), "{csv}");
    let err = learner_sync::binding::planner::plan_to_csv(r#"{"actions":"no"}"#).err().unwrap();
    assert_eq!(prop(&err, "code").as_string().as_deref(), Some("INVALID_INPUT"));

    let report = r#"{"mode":"full","dryRun":false,"finished":true,"counts":{"done":0,"failed":0,"skipped":0},
        "requests":0,"retries":0,"rateLimited":0,"pagesRead":0,"elapsedMs":0,"created":[],
        "outcomes":[{"action":"review","key":"787","state":"skipped","attempts":0}]}"#;
    let csv = learner_sync::binding::sync::report_to_csv(report).unwrap();
    assert_eq!(
        csv,
        "action,key,platformId,state,status,error,reason,attempts,source,row\r\nreview,787,,skipped,,,,0,,\r\n"
    );
    let err = learner_sync::binding::sync::report_to_csv("[]").err().unwrap();
    assert_eq!(prop(&err, "code").as_string().as_deref(), Some("INVALID_INPUT"));
}
