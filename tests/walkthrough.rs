//! The reference walkthrough of MISSION.md, from the shipped example files.

mod support;

use serde_json::json;
use support::plans::*;

const SOURCE: &str = include_str!("../examples/walkthrough/source.csv");
const FOUNDRY: &str = include_str!("../examples/walkthrough/foundry-users.json");

#[test]
fn walkthrough_comes_out_as_stated() {
    let plan = plan(r#"{"platform":"foundry"}"#, &[SOURCE], &[FOUNDRY]);
    let actions = plan["actions"].as_array().unwrap();
    // update 33, deactivate 55, create 686, review 787; nothing for 44 and 77.
    let summary: Vec<(&str, &str)> =
        actions.iter().map(|a| (a["action"].as_str().unwrap(), a["key"].as_str().unwrap())).collect();
    assert_eq!(summary, [("update", "33"), ("deactivate", "55"), ("create", "686"), ("review", "787")]);

    assert_eq!(actions[0]["platformId"], "dek\u{2011}123");
    assert_eq!(actions[0]["changes"], json!({"lastName": {"from": "Smith", "to": "Smith\u{2011}Evans"}}));
    assert_eq!(actions[1]["platformId"], "iux\u{2011}332");
    assert_eq!(actions[1]["changes"], json!({"active": {"from": true, "to": false}}));
    assert_eq!(
        actions[2]["fields"],
        json!({"ssoId": "686", "email": "ellen.cohen@example.org", "firstName": "Ellen", "lastName": "Cohen", "active": true})
    );
    assert_eq!(actions[2]["row"], 5);
    assert_eq!(actions[3]["platformId"], "qai\u{2011}928");
    assert_eq!(actions[3]["orphan"], true);

    let s = &plan["summary"];
    assert_eq!(
        (s["update"].as_u64(), s["deactivate"].as_u64(), s["create"].as_u64(), s["review"].as_u64()),
        (Some(1), Some(1), Some(1), Some(1))
    );
    assert_eq!(s["unchanged"], 1, "44 is unchanged");
    assert_eq!(s["untouched"], 1, "77 is inactive with no platform user");
    assert_eq!(s["learners"], 5);
    assert_eq!(s["platformUsers"], 4);
}

#[test]
fn walkthrough_orphan_is_deactivated_when_the_policy_says_so() {
    let plan = plan(r#"{"platform":"foundry","orphans":"deactivate"}"#, &[SOURCE], &[FOUNDRY]);
    let orphan = of_kind(&plan, "deactivate").into_iter().find(|a| a["key"] == "787").expect("787 deactivated");
    assert_eq!(orphan["orphan"], true);
    assert_eq!(orphan["changes"], json!({"active": {"from": true, "to": false}}));
    assert!(of_kind(&plan, "review").is_empty());
}

#[test]
fn the_hyphen_is_not_an_ascii_hyphen() {
    // With an ASCII hyphen in the source the value differs from U+2011: still an update, to
    // the ASCII spelling; values are compared exactly after normalisation.
    let ascii = SOURCE.replace('\u{2011}', "-");
    let plan = plan(r#"{"platform":"foundry"}"#, &[&ascii], &[FOUNDRY]);
    assert_eq!(of_kind(&plan, "update")[0]["changes"]["lastName"]["to"], "Smith-Evans");
}

#[test]
fn plans_are_deterministic_and_independent_of_page_order() {
    let a = plan(r#"{"platform":"foundry"}"#, &[SOURCE], &[FOUNDRY]);
    let b = plan(r#"{"platform":"foundry"}"#, &[SOURCE], &[FOUNDRY]);
    assert_eq!(serde_json::to_vec(&a).unwrap(), serde_json::to_vec(&b).unwrap());
    // Split the source in two pages, given in reverse order: same actions and fingerprint.
    let mut lines: Vec<&str> = SOURCE.lines().collect();
    let header = lines.remove(0);
    let p1 = format!("{header}\n{}\n", lines[..2].join("\n"));
    let p2 = format!("{header}\n{}\n", lines[2..].join("\n"));
    let c = plan(r#"{"platform":"foundry"}"#, &[&p2, &p1], &[FOUNDRY]);
    let kinds = |p: &serde_json::Value| -> Vec<(String, String)> {
        p["actions"].as_array().unwrap().iter().map(|a| (a["action"].to_string(), a["key"].to_string())).collect()
    };
    assert_eq!(kinds(&a), kinds(&c));
    assert_eq!(a["fingerprint"], c["fingerprint"]);
}
