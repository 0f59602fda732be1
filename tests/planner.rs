//! Every action kind, every conflict kind, protection, normalisation and matching rules.

mod support;

use serde_json::json;
use support::plans::*;

const FOUNDRY: &str = r#"{"platform":"foundry"}"#;
const HEAD: &str = "ssoId,firstName,lastName,email,active\n";

fn csv(rows: &[&str]) -> String {
    format!("{HEAD}{}\n", rows.join("\n"))
}

#[test]
fn update_lists_every_changed_field_and_only_those() {
    let src = csv(&["1,Ann,Lee,ann.new@example.org,true"]);
    let tgt = users(&[user("u1", "1", "Anne", "Lee", "ann@example.org", true)]);
    let p = plan(FOUNDRY, &[&src], &[&tgt]);
    let up = of_kind(&p, "update");
    assert_eq!(up.len(), 1);
    assert_eq!(
        up[0]["changes"],
        json!({"email": {"from": "ann@example.org", "to": "ann.new@example.org"}, "firstName": {"from": "Anne", "to": "Ann"}})
    );
}

#[test]
fn identical_pairs_are_counted_not_listed() {
    let src = csv(&["1,Ann,Lee,ann@example.org,true", "2,Bo,Ek,bo@example.org,false"]);
    let tgt = users(&[
        user("u1", "1", "Ann", "Lee", "ann@example.org", true),
        user("u2", "2", "Bo", "Ek", "bo@example.org", false),
    ]);
    let p = plan(FOUNDRY, &[&src], &[&tgt]);
    assert!(p["actions"].as_array().unwrap().is_empty());
    assert_eq!(p["summary"]["unchanged"], 2);
}

#[test]
fn reactivation_carries_changes_and_active() {
    let src = csv(&["1,Ann,Lee-Smith,ann@example.org,yes"]);
    let tgt = users(&[user("u1", "1", "Ann", "Lee", "ann@example.org", false)]);
    let p = plan(FOUNDRY, &[&src], &[&tgt]);
    let r = of_kind(&p, "reactivate");
    assert_eq!(r.len(), 1, "{p}");
    assert_eq!(
        r[0]["changes"],
        json!({"lastName": {"from": "Lee", "to": "Lee-Smith"}, "active": {"from": false, "to": true}})
    );
}

#[test]
fn first_sync_links_by_email_instead_of_creating_a_duplicate() {
    let src = csv(&["1,Ann,Lee,Ann@Example.org,true"]);
    let hand_made = r#"[{"id":"u9","firstName":"Ann","lastName":"Lee","email":"ann@example.org","active":true}]"#;
    let p = plan(r#"{"platform":"foundry","match":["ssoId","email"]}"#, &[&src], &[hand_made]);
    let link = of_kind(&p, "link");
    assert_eq!(link.len(), 1, "{p}");
    assert_eq!(link[0]["platformId"], "u9");
    assert_eq!(link[0]["matchedBy"], "email");
    // The email differs only in case: not a change. The primary key is written.
    assert_eq!(link[0]["changes"], json!({"ssoId": {"from": null, "to": "1"}}));
    assert!(of_kind(&p, "create").is_empty());
    // With the default `match` (ssoId alone) it links all the same (issue 12).
    let p = plan(FOUNDRY, &[&src], &[hand_made]);
    assert_eq!(of_kind(&p, "link").len(), 1, "{p}");
    assert!(of_kind(&p, "create").is_empty() && of_kind(&p, "review").is_empty(), "{p}");
}

#[test]
fn link_reactivates_an_inactive_user_found_by_email() {
    let src = csv(&["1,Ann,Lee,ann@example.org,true"]);
    let t = r#"[{"id":"u9","firstName":"Ann","lastName":"Lee","email":"ann@example.org","active":false}]"#;
    let p = plan(r#"{"platform":"foundry","match":["ssoId","email"]}"#, &[&src], &[t]);
    assert_eq!(of_kind(&p, "link")[0]["changes"]["active"], json!({"from": false, "to": true}));
}

#[test]
fn orphan_policies() {
    let src = csv(&["1,Ann,Lee,ann@example.org,true"]);
    let tgt = users(&[
        user("u1", "1", "Ann", "Lee", "ann@example.org", true),
        user("u2", "2", "Old", "Timer", "old@example.org", true),
        user("u3", "3", "Gone", "Already", "gone@example.org", false),
    ]);
    let review = plan(FOUNDRY, &[&src], &[&tgt]);
    let r = of_kind(&review, "review");
    assert_eq!(r.len(), 1, "inactive orphans are not listed for review");
    assert_eq!(r[0]["platformId"], "u2");
    assert_eq!(r[0]["user"]["email"], "old@example.org");
    assert_eq!(review["summary"]["untouched"], 1);

    let deact = plan(r#"{"platform":"foundry","orphans":"deactivate"}"#, &[&src], &[&tgt]);
    let d = of_kind(&deact, "deactivate");
    assert_eq!(d.len(), 1);
    assert_eq!((d[0]["platformId"].as_str(), d[0]["orphan"].as_bool()), (Some("u2"), Some(true)));

    let del = plan(r#"{"platform":"scim","orphans":"delete"}"#, &[&src], &[&tgt]);
    let ids: Vec<&str> = of_kind(&del, "delete").iter().map(|a| a["platformId"].as_str().unwrap()).collect();
    assert_eq!(ids, ["u2", "u3"], "delete also removes inactive orphans");
}

#[test]
fn delete_is_refused_on_foundry() {
    let err = learner_sync::PlanOptions::from_json(br#"{"platform":"foundry","orphans":"delete"}"#).unwrap_err();
    assert_eq!(err.code(), "INVALID_OPTIONS");
    assert!(err.to_string().contains("foundry has no way to delete"), "{err}");
}

#[test]
fn options_are_checked() {
    for (opts, needle) in [
        (r#"{"platform":"moodle"}"#, "unknown variant"),
        (r#"{"platform":"foundry","match":[]}"#, "at least one"),
        (r#"{"platform":"foundry","match":["firstName"]}"#, "cannot be a matching key"),
        (r#"{"platform":"foundry","match":["ssoId","ssoId"]}"#, "twice"),
        (r#"{"platform":"foundry","orphans":"burn"}"#, "unknown variant"),
        (r#"{"platform":"foundry","mapping":{"nickname":"Nick"}}"#, "unknown field \"nickname\""),
        (r#"{"platform":"foundry","colour":"red"}"#, "unknown field `colour`"),
    ] {
        let err = learner_sync::PlanOptions::from_json(opts.as_bytes()).unwrap_err();
        assert!(err.to_string().contains(needle), "{opts}: {err}");
    }
}

#[test]
fn administrators_and_unmanaged_users_are_protected_from_orphan_handling() {
    let src = csv(&["1,Ann,Lee,ann@example.org,true"]);
    let page = r#"{"data":[
      {"id":"a1","type":"users","attributes":{"active":true,"email":"boss@example.org","first_name":"Big","last_name":"Boss","sso_id":"900",
        "user_rule_set_roles":[{"rule_set":"cc_admin","role":"default"}]}},
      {"id":"a2","type":"users","attributes":{"active":true,"email":"both@example.org","first_name":"Both","last_name":"Hats","sso_id":"901",
        "user_rule_set_roles":[{"rule_set":"cc_learner","role":"default"},{"rule_set":"event_manager","role":"default"}]}},
      {"id":"l1","type":"users","attributes":{"active":true,"email":"x@example.org","first_name":"Ex","last_name":"Learner","sso_id":"902",
        "user_rule_set_roles":[{"rule_set":"cc_learner","role":"default"}]}},
      {"id":"l2","type":"users","attributes":{"active":true,"email":"y@example.org","first_name":"Why","last_name":"Learner","sso_id":"903",
        "user_rule_set_roles":[{"rule_set":"cc_learner","role":"default"}]}}
    ],"links":{"next":null}}"#;
    let p = plan(r#"{"platform":"foundry","orphans":"deactivate","protect":["l2"]}"#, &[&src], &[page]);
    let ids: Vec<&str> = of_kind(&p, "deactivate").iter().map(|a| a["platformId"].as_str().unwrap()).collect();
    assert_eq!(ids, ["l1"]);
    assert_eq!(p["summary"]["protected"], 3);

    // Learnifier: a user without an external id was made by hand and is left alone.
    let learnifier = r#"[
      {"id":"5f1","externalId":null,"firstName":"Hand","lastName":"Made","primaryEmail":"hand@example.org","hardLock":false},
      {"id":"5f2","externalId":"77","firstName":"Synced","lastName":"Before","primaryEmail":"s@example.org","hardLock":false},
      {"id":"5f3","externalId":"78","firstName":"Back","lastName":"Office","primaryEmail":"bo@example.org","hardLock":false,
       "backOfficeRoles":[{"id":1,"name":"Admin"}]}
    ]"#;
    let p = plan(r#"{"platform":"learnifier","orphans":"delete"}"#, &[&src], &[learnifier]);
    let ids: Vec<&str> = of_kind(&p, "delete").iter().map(|a| a["platformId"].as_str().unwrap()).collect();
    assert_eq!(ids, ["5f2"]);
}

#[test]
fn duplicate_learner_keys_conflict_and_touch_nobody() {
    let src = csv(&["1,Ann,Lee,ann@example.org,true", "1,Annie,Lee,annie@example.org,false"]);
    let tgt = users(&[user("u1", "1", "Ann", "Lee", "ann@example.org", true)]);
    let p = plan(r#"{"platform":"foundry","orphans":"deactivate"}"#, &[&src], &[&tgt]);
    let acts = p["actions"].as_array().unwrap();
    assert_eq!(acts.len(), 1, "{p}");
    let c = &acts[0];
    assert_eq!((c["action"].as_str(), c["conflict"].as_str()), (Some("conflict"), Some("duplicateLearnerKey")));
    assert_eq!(c["field"], "ssoId");
    assert_eq!(c["value"], "1");
    assert_eq!(c["rows"], json!([{"source": "source1", "row": 2}, {"source": "source1", "row": 3}]));
    assert_eq!(c["platformIds"], json!(["u1"]), "the user they match is part of the conflict, not an orphan");
}

#[test]
fn duplicate_platform_keys_conflict() {
    let src = csv(&["1,Ann,Lee,ann@example.org,true"]);
    let tgt = users(&[
        user("u1", "1", "Ann", "Lee", "ann@example.org", true),
        user("u2", "1", "Ann", "Lee", "ann2@example.org", true),
    ]);
    let p = plan(FOUNDRY, &[&src], &[&tgt]);
    let c = of_kind(&p, "conflict");
    assert_eq!(c.len(), 1);
    assert_eq!(c[0]["conflict"], "duplicatePlatformKey");
    assert_eq!(c[0]["platformIds"], json!(["u1", "u2"]));
    assert_eq!(p["actions"].as_array().unwrap().len(), 1);
}

#[test]
fn a_match_on_an_earlier_key_decides_and_a_user_found_by_a_later_one_is_left_alone() {
    let src = csv(&["1,Ann,Lee,ann@example.org,true"]);
    let tgt = users(&[
        user("u1", "1", "Ann", "Lee", "other@example.org", true),
        user("u2", "", "Ann", "Lee", "ann@example.org", true),
    ]);
    let p = plan(r#"{"platform":"foundry","match":["ssoId","email"],"orphans":"deactivate"}"#, &[&src], &[&tgt]);
    let up = of_kind(&p, "update");
    assert_eq!(up.len(), 1, "{p}");
    assert_eq!(up[0]["platformId"], "u1", "ssoId comes first and decides");
    let r = of_kind(&p, "review");
    assert_eq!(r.len(), 1, "{p}");
    assert_eq!(r[0]["platformId"], "u2", "not an orphan: it holds the learner's email");
    assert!(r[0]["reason"].as_str().unwrap().contains("matched to platform user u1 by ssoId"), "{}", r[0]["reason"]);
    assert!(of_kind(&p, "deactivate").is_empty());
}

#[test]
fn a_secondary_match_onto_a_user_with_another_primary_key_conflicts() {
    let src = csv(&["1,Ann,Lee,ann@example.org,true"]);
    let tgt = users(&[user("u1", "99", "Ann", "Lee", "ann@example.org", true)]);
    let p = plan(r#"{"platform":"foundry","match":["ssoId","email"]}"#, &[&src], &[&tgt]);
    let c = of_kind(&p, "conflict");
    assert_eq!(c.len(), 1, "{p}");
    assert_eq!(c[0]["conflict"], "keyMismatch");
    assert!(of_kind(&p, "create").is_empty() && of_kind(&p, "review").is_empty());
}

#[test]
fn a_learner_whose_email_a_matched_user_holds_is_not_created() {
    // Learner 1 supplies no email, so u1 keeps b@ (were it to move, the create could follow).
    let src = csv(&["1,Ann,Lea,,true", "2,Bo,Ek,b@example.org,true"]);
    let tgt = users(&[user("u1", "1", "Ann", "Lee", "b@example.org", true)]);
    let p = plan(r#"{"platform":"foundry","match":["ssoId","email"]}"#, &[&src], &[&tgt]);
    assert_eq!(of_kind(&p, "update")[0]["platformId"], "u1", "{p}");
    let c = of_kind(&p, "conflict");
    assert_eq!(c.len(), 1, "{p}");
    assert_eq!(c[0]["conflict"], "keyTaken");
    assert_eq!(c[0]["rows"], json!([{"source": "source1", "row": 3}]));
    assert_eq!(c[0]["platformIds"], json!(["u1"]));
    assert!(of_kind(&p, "create").is_empty(), "Foundry would refuse the email: {p}");
}

#[test]
fn invalid_rows_name_row_and_field_and_lose_nothing_else() {
    let src = csv(&[
        "1,Ann,Lee,ann@example.org,maybe",
        ",No,Key,nokey@example.org,true",
        "3,Bad,Mail,not-an-email,true",
        "4,Good,Row,good@example.org,true",
    ]);
    let tgt = users(&[user("u1", "1", "Ann", "Lee", "ann@example.org", true)]);
    let p = plan(r#"{"platform":"foundry","orphans":"deactivate"}"#, &[&src], &[&tgt]);
    let inv = of_kind(&p, "invalid");
    let got: Vec<(u64, &str)> =
        inv.iter().map(|a| (a["row"].as_u64().unwrap(), a["field"].as_str().unwrap())).collect();
    assert_eq!(got, [(3, "ssoId"), (2, "active"), (4, "email")]);
    assert_eq!(inv[1]["value"], "maybe");
    assert_eq!(inv[1]["source"], "source1");
    // Row 2's platform user is neither deactivated as an orphan nor updated.
    assert!(of_kind(&p, "deactivate").is_empty(), "{p}");
    assert_eq!(of_kind(&p, "create").len(), 1, "row 5 still goes ahead");
    assert_eq!(p["summary"]["invalid"], 3);
}

#[test]
fn creates_need_the_fields_the_platform_requires() {
    let src = csv(&["1,,Lee,ann@example.org,true"]);
    let p = plan(FOUNDRY, &[&src], &[]);
    let inv = of_kind(&p, "invalid");
    assert_eq!(inv.len(), 1);
    assert_eq!(inv[0]["field"], "firstName");
    assert!(inv[0]["reason"].as_str().unwrap().contains("foundry needs it"));
    // Learnifier only needs the email.
    let p = plan(r#"{"platform":"learnifier"}"#, &[&src], &[]);
    assert_eq!(of_kind(&p, "create").len(), 1);
}

#[test]
fn values_are_trimmed_and_nfc_normalised() {
    // "José" with a combining acute accent (NFD) in the source, precomposed on the platform.
    let src = csv(&["  1 ,Jose\u{0301}, Lee ,ann@example.org,true"]);
    let tgt = users(&[user("u1", "1", "Jos\u{e9}", "Lee", "ann@example.org", true)]);
    let p = plan(FOUNDRY, &[&src], &[&tgt]);
    assert!(p["actions"].as_array().unwrap().is_empty(), "{p}");
    assert_eq!(p["summary"]["unchanged"], 1);
}

#[test]
fn emails_compare_without_case_identifiers_with_case() {
    let src = csv(&["1,Ann,Lee,ANN@EXAMPLE.ORG,true"]);
    let tgt = users(&[user("u1", "1", "Ann", "Lee", "ann@example.org", true)]);
    let p = plan(FOUNDRY, &[&src], &[&tgt]);
    assert!(p["actions"].as_array().unwrap().is_empty(), "{p}");

    let src = "ssoId,firstName,lastName,email,active\nabc,Ann,Lee,ann@example.org,true\n";
    let tgt = r#"[{"id":"L1","externalId":"ABC","firstName":"Ann","lastName":"Lee","primaryEmail":"x@example.org","hardLock":false}]"#;
    let p = plan(r#"{"platform":"learnifier"}"#, &[src], &[tgt]);
    assert_eq!(of_kind(&p, "create").len(), 1, "externalId is case-sensitive: {p}");
    assert_eq!(of_kind(&p, "review").len(), 1);
}

#[test]
fn an_empty_source_value_never_clears_the_platform() {
    let src = csv(&["1,Ann,,ann@example.org,true"]);
    let tgt = users(&[user("u1", "1", "Ann", "Lee", "ann@example.org", true)]);
    let p = plan(FOUNDRY, &[&src], &[&tgt]);
    assert!(p["actions"].as_array().unwrap().is_empty(), "{p}");
}

#[test]
fn learnifier_compares_only_what_it_stores() {
    // employeeId is not stored on Learnifier (the key is in externalId): never a change there.
    let src = "ssoId,employeeId,firstName,lastName,email,active\n7,E7,Ann,Lee,ann@example.org,true\n";
    let tgt = r#"[{"id":"L1","externalId":"7","firstName":"Ann","lastName":"Lee","primaryEmail":"ann@example.org","hardLock":true}]"#;
    let p = plan(r#"{"platform":"learnifier"}"#, &[src], &[tgt]);
    let r = of_kind(&p, "reactivate");
    assert_eq!(r.len(), 1, "hardLock means inactive: {p}");
    assert_eq!(r[0]["changes"], json!({"active": {"from": false, "to": true}}));
}

#[test]
fn scim_list_responses_are_read() {
    let src = csv(&["1,Ann,Lee,ann@example.org,true", "2,Bo,Ek,bo@example.org,true"]);
    let page = r#"{"schemas":["urn:ietf:params:scim:api:messages:2.0:ListResponse"],"totalResults":3,"startIndex":1,"itemsPerPage":2,
      "Resources":[
        {"id":"s1","externalId":"1","userName":"ann@example.org","name":{"givenName":"Ann","familyName":"Lee"},
         "emails":[{"value":"old@example.org"},{"value":"ann@example.org","primary":true}],"active":true},
        {"id":"s2","externalId":"2","userName":"bo@example.org","name":{"givenName":"Bo","familyName":"Eck"},"active":false}
      ]}"#;
    let mut pl = planner(r#"{"platform":"scim"}"#);
    pl.add_source(src.as_bytes(), learner_sync::SourceFormat::Csv, "hr.csv").unwrap();
    let stats = pl.add_target(page.as_bytes(), learner_sync::TargetFormat::Auto, "p1").unwrap();
    assert_eq!((stats.records, stats.has_more), (2, Some(true)));
    let p: serde_json::Value = serde_json::from_slice(&pl.finish().to_json()).unwrap();
    let acts = p["actions"].as_array().unwrap();
    assert_eq!(acts.len(), 1, "{p}");
    assert_eq!(acts[0]["action"], "reactivate");
    assert_eq!(acts[0]["changes"]["lastName"], json!({"from": "Eck", "to": "Ek"}));
}

#[test]
fn foundry_paging_state_is_reported() {
    let mut pl = planner(FOUNDRY);
    let more = r#"{"data":[],"links":{"next":"https://api.fifoundry.net/v1/admin/users?page[page]=2"}}"#;
    let last = r#"{"data":[],"links":{"next":null}}"#;
    assert_eq!(pl.add_target(more.as_bytes(), learner_sync::TargetFormat::Foundry, "").unwrap().has_more, Some(true));
    assert_eq!(pl.add_target(last.as_bytes(), learner_sync::TargetFormat::Foundry, "").unwrap().has_more, Some(false));
}
