//! Reading pages: CSV mapping, JSON sources, malformed pages, normalisation.

mod support;

use learner_sync::{SourceFormat, TargetFormat};
use proptest::prelude::*;
use serde_json::json;
use support::plans::*;

const HR_EXPORT: &str = "\u{feff}Employee SSO,Given,Family,Work Email,Status\n\
    33,Geoff,Smith,geoff@example.org,Active\n\
    44,Kate,Jones,kate@example.org,Terminated\n\
    55,Leo,Later,leo@example.org,On Leave\n";

#[test]
fn csv_columns_are_mapped_by_the_options() {
    let opts = r#"{"platform":"foundry","mapping":{
        "ssoId":"Employee SSO","firstName":"Given","lastName":"Family","email":"Work Email",
        "active":{"column":"Status","activeValues":["Active","On Leave"]}}}"#;
    let p = plan(opts, &[HR_EXPORT], &[]);
    let created: Vec<&str> = of_kind(&p, "create").iter().map(|a| a["key"].as_str().unwrap()).collect();
    assert_eq!(created, ["33", "55"], "{p}");
    assert_eq!(of_kind(&p, "create")[0]["fields"]["firstName"], "Geoff");
    assert_eq!(p["summary"]["untouched"], 1, "44 is terminated, no user: nothing to do");
    assert_eq!(p["options"]["mapping"]["ssoId"], "Employee SSO", "the plan carries its options");
}

#[test]
fn with_both_value_lists_an_unlisted_status_is_invalid() {
    let opts = r#"{"platform":"foundry","mapping":{"ssoId":"Employee SSO","firstName":"Given","lastName":"Family","email":"Work Email",
        "active":{"column":"Status","activeValues":["Active"],"inactiveValues":["Terminated"]}}}"#;
    let p = plan(opts, &[HR_EXPORT], &[]);
    let inv = of_kind(&p, "invalid");
    assert_eq!(inv.len(), 1);
    assert_eq!(
        (inv[0]["row"].as_u64(), inv[0]["field"].as_str(), inv[0]["value"].as_str()),
        (Some(4), Some("active"), Some("On Leave"))
    );
}

#[test]
fn a_missing_mapped_column_refuses_the_page() {
    let mut pl = planner(r#"{"platform":"foundry","mapping":{"ssoId":"SSO Number"}}"#);
    let err = pl.add_source(HR_EXPORT.as_bytes(), SourceFormat::Csv, "hr.csv").unwrap_err();
    assert_eq!(err.code(), "MISSING_COLUMN");
    assert_eq!(err.to_string(), "hr.csv: no column \"SSO Number\" for field ssoId");
    // The planner is as it was: the page left nothing behind.
    let p: serde_json::Value = serde_json::from_slice(&pl.finish().to_json()).unwrap();
    assert_eq!(p["summary"]["learners"], 0);
}

#[test]
fn default_headers_match_without_case_and_active_takes_many_spellings() {
    let src = "SSOID,FirstName,LASTNAME,Email,Active\n1,A,B,a@x.org,TRUE\n2,A,B,b@x.org,f\n3,A,B,c@x.org,Yes\n4,A,B,d@x.org,0\n5,A,B,e@x.org,T\n6,A,B,f@x.org,no\n7,A,B,g@x.org,1\n";
    let p = plan(r#"{"platform":"foundry"}"#, &[src], &[]);
    let created: Vec<&str> = of_kind(&p, "create").iter().map(|a| a["key"].as_str().unwrap()).collect();
    assert_eq!(created, ["1", "3", "5", "7"]);
    assert_eq!(p["summary"]["untouched"], 3);
}

#[test]
fn without_an_active_column_every_learner_is_active() {
    let p = plan(r#"{"platform":"foundry"}"#, &["ssoId,firstName,lastName,email\n1,A,B,a@x.org\n"], &[]);
    assert_eq!(of_kind(&p, "create").len(), 1);
}

#[test]
fn bad_csv_rows_are_invalid_and_the_rest_is_kept() {
    let bytes = b"ssoId,firstName,lastName,email,active\n1,A,B,a@x.org,true\n3,A,B,c@x.org\n4,A,B,d@x.org,true,extra\n";
    let mut pl = planner(r#"{"platform":"foundry"}"#);
    let stats = pl.add_source(bytes, SourceFormat::Csv, "hr.csv").unwrap();
    assert_eq!((stats.records, stats.invalid), (2, 1));
    let p: serde_json::Value = serde_json::from_slice(&pl.finish().to_json()).unwrap();
    let inv: Vec<(u64, &str, &str)> = of_kind(&p, "invalid")
        .iter()
        .map(|a| (a["row"].as_u64().unwrap(), a["field"].as_str().unwrap(), a["reason"].as_str().unwrap()))
        .collect();
    assert_eq!(inv, [(3, "active", "is empty")]);
}

#[test]
fn a_cell_that_is_not_utf8_refuses_the_page_naming_row_and_column() {
    // A file in another encoding: every accented name would be misread, so the page is
    // refused with where and what to do (tests/european.rs has the encodings).
    let mut bytes = b"ssoId,firstName,lastName,email,active\n1,A,B,a@x.org,true\n2,".to_vec();
    bytes.extend_from_slice(&[0xff, 0xfe]);
    bytes.extend_from_slice(b",B,b@x.org,true\n");
    let mut pl = planner(r#"{"platform":"foundry"}"#);
    let err = pl.add_source(&bytes, SourceFormat::Csv, "hr.csv").unwrap_err();
    assert_eq!(err.code(), "MALFORMED_SOURCE");
    assert!(
        err.to_string().starts_with("hr.csv: row 3, column 2 (\"firstName\"): bytes that are not UTF-8 text"),
        "{err}"
    );
}

#[test]
fn json_sources_take_strings_numbers_and_booleans() {
    let src = r#"[
        {"ssoId": 33, "firstName": "Geoff", "lastName": "Smith", "email": "g@x.org", "active": true},
        {"ssoId": "44", "firstName": "Kate", "lastName": "Jones", "email": "k@x.org", "active": "no"},
        {"ssoId": "45", "firstName": {"nested": 1}, "lastName": "Jones", "email": "k2@x.org"},
        "not an object",
        {"ssoId": "46", "firstName": "Ann", "lastName": "Lee", "email": "a@x.org", "active": null, "ignored": [1,2]}
    ]"#;
    let p = plan(r#"{"platform":"foundry"}"#, &[src], &[]);
    assert_eq!(of_kind(&p, "create")[0]["key"], "33");
    let inv: Vec<(u64, &str)> =
        of_kind(&p, "invalid").iter().map(|a| (a["row"].as_u64().unwrap(), a["field"].as_str().unwrap())).collect();
    assert_eq!(inv, [(4, "(record)"), (3, "firstName"), (5, "active")]);
    assert_eq!(p["summary"]["untouched"], 1);
}

#[test]
fn malformed_pages_are_refused_with_the_page_and_place() {
    let mut pl = planner(r#"{"platform":"foundry"}"#);
    for (page, needle) in [
        (&b"{\"data\": [ {\"id\": 1, \"attributes\": "[..], "EOF while parsing"),
        (&b"<html>502 Bad Gateway</html>"[..], "expected value at line 1 column 1"),
        (
            &b"{\"data\": [{\"id\":\"u1\",\"attributes\":{}}, {\"attributes\":{\"sso_id\":\"2\"}}]}"[..],
            "data[1]: the user has no id",
        ),
        (
            &b"{\"data\": [{\"id\":\"u1\",\"attributes\":{\"active\":\"yes\"}}]}"[..],
            "invalid type: string \"yes\", expected a boolean at line 1 column 49",
        ),
    ] {
        let err = pl.add_target(page, TargetFormat::Auto, "users-2.json").unwrap_err();
        assert_eq!(err.code(), "MALFORMED_PAGE");
        let msg = err.to_string();
        assert!(msg.starts_with("users-2.json: ") && msg.contains(needle), "{msg}");
    }
    for (page, needle) in [
        (&b"[{\"id\":\"L1\",\"externalId\":\"7\",\"hardLock\":\"maybe\"}]"[..], "expected a boolean"),
        (&b"[{\"externalId\":\"7\"}]"[..], "[0]: the user has no id"),
    ] {
        let mut pl = planner(r#"{"platform":"learnifier"}"#);
        let err = pl.add_target(page, TargetFormat::Auto, "p").unwrap_err();
        assert!(err.to_string().contains(needle), "{err}");
    }
    let mut pl = planner(r#"{"platform":"scim"}"#);
    let err = pl.add_target(br#"{"Resources": {"id": 1}}"#, TargetFormat::Auto, "p").unwrap_err();
    assert!(err.to_string().contains("SCIM ListResponse"), "{err}");
    let err = pl.add_source(b"[{\"ssoId\": 1}", SourceFormat::Auto, "s.json").unwrap_err();
    assert_eq!(err.code(), "MALFORMED_SOURCE");
}

#[test]
fn normalised_target_arrays_are_read_for_any_platform() {
    let src = "ssoId,firstName,lastName,email,active\n1,Ann,Lee,ann@x.org,true\n";
    let tgt = r#"[{"id":"u1","ssoId":"1","firstName":"Ann","lastName":"Lee","email":"ann@x.org","active":"true","admin":false}]"#;
    for platform in ["foundry", "learnifier", "scim"] {
        let p = plan(&format!(r#"{{"platform":"{platform}"}}"#), &[src], &[tgt]);
        assert_eq!(p["summary"]["unchanged"], 1, "{platform}: {p}");
    }
}

#[test]
fn the_fingerprint_follows_the_platform_state() {
    let src = "ssoId,firstName,lastName,email,active\n1,Ann,Lee,ann@x.org,true\n";
    let a = plan(r#"{"platform":"foundry"}"#, &[src], &[&users(&[user("u1", "1", "Ann", "Lee", "ann@x.org", true)])]);
    let b = plan(r#"{"platform":"foundry"}"#, &[src], &[&users(&[user("u1", "1", "Ann", "Lee", "ann@x.org", false)])]);
    let c = plan(r#"{"platform":"foundry"}"#, &[], &[&users(&[user("u1", "1", "Ann", "Lee", "ann@x.org", true)])]);
    assert_ne!(a["fingerprint"], b["fingerprint"]);
    assert_eq!(a["fingerprint"], c["fingerprint"], "the source does not enter the fingerprint");
    assert_eq!(a["fingerprint"].as_str().unwrap().len(), 16);
}

#[test]
fn a_plan_reads_back_from_its_json() {
    let src = include_str!("../examples/walkthrough/source.csv");
    let tgt = include_str!("../examples/walkthrough/foundry-users.json");
    let mut pl = planner(r#"{"platform":"foundry","match":["ssoId","email"]}"#);
    pl.add_source(src.as_bytes(), SourceFormat::Auto, "s").unwrap();
    pl.add_target(tgt.as_bytes(), TargetFormat::Auto, "t").unwrap();
    let plan = pl.finish();
    let json = plan.to_json();
    let back: learner_sync::Plan = serde_json::from_slice(&json).unwrap();
    assert_eq!(back, plan);
    assert_eq!(back.options.match_keys, [learner_sync::Field::SsoId, learner_sync::Field::Email]);
    assert_eq!(serde_json::to_value(&back.summary).unwrap()["create"], json!(1));
}

proptest! {
    /// The planner's NFC agrees with the unicode-normalization crate's on arbitrary text,
    /// including combining marks and Hangul.
    #[test]
    fn own_nfc_matches_the_library(s in "[a-zA-Z\u{300}-\u{36f}\u{1100}-\u{1112}\u{1161}-\u{1175}\u{11a8}-\u{11c2}\u{ac00}-\u{ac20}\u{e0}-\u{ff}\u{1e00}-\u{1eff}\u{0591}-\u{05c7}\u{0f71}-\u{0f84} ]{0,24}") {
        use unicode_normalization::UnicodeNormalization;
        let expected: String = s.nfc().collect();
        prop_assert_eq!(learner_sync::normalise::nfc(&s), expected);
    }

    /// Parsers never panic on arbitrary bytes (a page is read or refused).
    #[test]
    fn pages_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
        for platform in ["foundry", "learnifier", "scim"] {
            let mut pl = planner(&format!(r#"{{"platform":"{platform}"}}"#));
            let _ = pl.add_target(&bytes, TargetFormat::Auto, "t");
            let _ = pl.add_source(&bytes, SourceFormat::Auto, "s");
            let _ = pl.finish().to_json();
        }
    }
}

#[test]
fn oversized_pages_are_refused_with_a_clear_error() {
    let big = vec![b' '; learner_sync::planner::LIMITS.page_bytes + 1];
    let mut pl = planner(r#"{"platform":"foundry"}"#);
    let err = pl.add_target(&big, TargetFormat::Auto, "huge.json").unwrap_err();
    assert_eq!(err.code(), "TOO_LARGE");
    assert_eq!(err.to_string(), "huge.json: the page is 256 MiB, more than the 256 MiB a page may be");
    let err = pl.add_source(&big, SourceFormat::Auto, "").unwrap_err();
    assert!(err.to_string().starts_with("source page 1: the page is"), "{err}");
    // Nothing was kept, and the planner still works.
    let p: serde_json::Value = serde_json::from_slice(&pl.finish().to_json()).unwrap();
    assert_eq!(p["summary"]["platformUsers"], 0);
}

#[test]
fn overlong_fields_make_the_row_invalid() {
    let long = "x".repeat(300);
    let src = format!("ssoId,firstName,lastName,email,active\n1,{long},L,a@x.org,true\n2,A,B,b@x.org,true\n");
    let p = plan(r#"{"platform":"foundry"}"#, &[&src], &[]);
    let inv = of_kind(&p, "invalid");
    assert_eq!((inv[0]["row"].as_u64(), inv[0]["field"].as_str()), (Some(2), Some("firstName")));
    assert_eq!(inv[0]["reason"], "longer than 255 characters");
    assert_eq!(inv[0]["value"].as_str().unwrap().chars().count(), 101, "the value is cut in the plan");
    assert_eq!(of_kind(&p, "create").len(), 1);
}

/// Twenty learners, with an open quote on spreadsheet row `open` (if any).
fn twenty(open: Option<u32>) -> String {
    let mut s = String::from("ssoId,firstName,lastName,email,active\n");
    for i in 1..=20u32 {
        let first = if Some(i + 1) == open { "\"Ann".to_string() } else { format!("F{i}") };
        s.push_str(&format!("{i},{first},L,p{i}@x.org,true\n"));
    }
    s
}

#[test]
fn an_unterminated_quote_refuses_the_file_naming_the_row_where_it_opened() {
    let mut pl = planner(r#"{"platform":"foundry"}"#);
    let err = pl.add_source(twenty(Some(16)).as_bytes(), SourceFormat::Csv, "hr.csv").unwrap_err();
    assert_eq!(err.code(), "MALFORMED_SOURCE");
    let msg = err.to_string();
    assert!(msg.starts_with("hr.csv: row 16: a quote opens here and is never closed"), "{msg}");

    // On the last row, with nothing after it to swallow, it is refused all the same.
    let err = pl.add_source(twenty(Some(21)).as_bytes(), SourceFormat::Csv, "hr.csv").unwrap_err();
    assert!(err.to_string().contains("row 21: a quote opens here"), "{err}");
    // In the header row.
    let err = pl.add_source(b"ssoId,\"firstName\n1,A\n", SourceFormat::Csv, "h.csv").unwrap_err();
    assert!(err.to_string().contains("row 1: a quote opens here"), "{err}");
}

#[test]
fn quotes_that_close_are_read_as_before() {
    // A quoted cell with a line break (in a column not read), a doubled quote, a quote inside
    // an unquoted cell, text after a closing quote, an empty quoted cell, CRLF line ends.
    let src = "ssoId,firstName,lastName,email,active,note\r\n\
        1,Ann,\"O\"\"Neil\",a@x.org,true,\"two\nlines\"\r\n\
        2,Bo 5'10\",\"Ek\"x,b@x.org,true,\"\"\r\n\
        3,Cy,C,c@x.org,true,\"\"\"\"\r\n";
    let p = plan(r#"{"platform":"foundry"}"#, &[src], &[]);
    assert_eq!(p["summary"]["learners"], 3, "{p}");
    let made = of_kind(&p, "create");
    assert_eq!(made[0]["fields"]["lastName"], "O\"Neil");
    assert_eq!(made[1]["fields"]["firstName"], "Bo 5'10\"");
    assert_eq!(made[1]["fields"]["lastName"], "Ekx");
}

#[test]
fn a_file_with_an_unterminated_quote_deactivates_nobody_even_when_a_host_plans_without_it() {
    let opts = r#"{"platform":"foundry","orphans":"deactivate"}"#;
    let mut pl = planner(opts);
    pl.add_source(twenty(None).as_bytes(), SourceFormat::Csv, "a.csv").unwrap();
    // A second page with an open quote: refused; a host that goes on without it...
    pl.add_source(b"ssoId,firstName,lastName,email,active\n21,\"Cy,L,c@x.org,true\n", SourceFormat::Csv, "b.csv")
        .unwrap_err();
    let tgt: Vec<String> =
        (1..=21).map(|i| user(&format!("u{i}"), &i.to_string(), "F", "L", "e@x.org", true)).collect();
    pl.add_target(users(&tgt).as_bytes(), TargetFormat::Auto, "t").unwrap();
    let p: serde_json::Value = serde_json::from_slice(&pl.finish().to_json()).unwrap();
    // ...still withholds the deactivation of user 21, whose learner was on the lost page.
    assert_eq!((p["summary"]["deactivate"].as_u64(), p["summary"]["withheld"].as_u64()), (Some(0), Some(1)), "{p}");
    let reason = p["withheld"]["reason"].as_str().unwrap();
    assert!(reason.contains("\"b.csv\" could not be read"), "{reason}");
}

#[test]
fn emails_and_keys_with_invisible_characters_are_invalid_rows_and_the_rest_is_read() {
    let rows = [
        ("1", "ann\u{200b}@x.org", "email", "zero-width"),
        ("2\u{202e}", "bo@x.org", "ssoId", "bidi"),
        ("3", "cy@x.org\u{feff}", "email", "zero-width"),
        ("4\u{2066}", "d@x.org", "ssoId", "bidi"),
        ("5", "e\u{200d}@x.org", "email", "zero-width"),
        ("6\u{061c}", "f@x.org", "ssoId", "bidi"),
        ("7\u{200f}", "g@x.org", "ssoId", "bidi"),
        ("8\u{2060}", "h@x.org", "ssoId", "zero-width"),
    ];
    let mut src = String::from("ssoId,firstName,lastName,email,active\n");
    for (key, email, _, _) in rows {
        src.push_str(&format!("{key},F,L,{email},true\n"));
    }
    src.push_str("9,Zo\u{200d}e,L,z@x.org,true\n"); // a joiner in a name is spelling
    let p = plan(r#"{"platform":"foundry"}"#, &[&src], &[]);
    let mut inv = of_kind(&p, "invalid");
    inv.sort_by_key(|a| a["row"].as_u64());
    assert_eq!(inv.len(), rows.len(), "{p}");
    for (a, (_, _, field, kind)) in inv.iter().zip(rows) {
        assert_eq!(a["field"], field, "{a}");
        assert!(a["reason"].as_str().unwrap().contains(kind), "{a}");
    }
    assert_eq!(of_kind(&p, "create").len(), 1, "the rest of the run goes on");
}
