//! Planner decisions an administrator would sign (issue 12): precedence of keys, orphans that
//! share a key, administrators and unmanaged users never written through a match, first-sync
//! linking by email, and plans that do not depend on the order of pages.

mod support;

use serde_json::json;
use support::plans::*;

const HEAD: &str = "ssoId,employeeId,firstName,lastName,email,active\n";

fn csv(rows: &[&str]) -> String {
    format!("{HEAD}{}\n", rows.join("\n"))
}

/// A normalised platform user with an employee ID.
fn user_e(id: &str, sso: &str, employee: &str, email: &str, active: bool) -> String {
    format!(
        r#"{{"id":"{id}","ssoId":"{sso}","employeeId":"{employee}","firstName":"F","lastName":"L","email":"{email}","active":{active}}}"#
    )
}

// Item 1.
#[test]
fn an_exact_match_on_the_first_key_decides_and_a_duplicate_among_other_users_blocks_nothing() {
    let src = csv(&["55,E55,F,L,leo@example.org,false"]);
    let tgt = users(&[
        user_e("iux\u{2011}332", "55", "E77", "leo@example.org", true),
        user_e("zzz\u{2011}001", "", "E77", "other@example.org", true),
    ]);
    let p = plan(r#"{"platform":"foundry","match":["ssoId","employeeId"]}"#, &[&src], &[&tgt]);
    let d = of_kind(&p, "deactivate");
    assert_eq!(d.len(), 1, "learner 55 left and matches iux‑332 exactly by ssoId: {p}");
    assert_eq!(d[0]["platformId"], "iux\u{2011}332");
    assert_eq!(d[0]["key"], "55");
    // The other user is an orphan (no learner holds E77), reviewed by the default policy.
    let r = of_kind(&p, "review");
    assert_eq!(r.len(), 1, "{p}");
    assert_eq!(r[0]["platformId"], "zzz\u{2011}001");
    // The shared E77 is reported beside.
    let c = of_kind(&p, "conflict");
    assert_eq!(c.len(), 1, "{p}");
    assert_eq!(c[0]["conflict"], "sharedPlatformKey");
    assert_eq!((c[0]["field"].as_str(), c[0]["value"].as_str()), (Some("employeeId"), Some("E77")));
    assert_eq!(c[0]["platformIds"], json!(["iux\u{2011}332", "zzz\u{2011}001"]));
}

#[test]
fn a_learner_ambiguous_on_the_first_key_is_still_a_conflict() {
    // Two users hold ssoId 55: the learner itself is ambiguous on that key.
    let src = csv(&["55,E55,F,L,leo@example.org,false"]);
    let tgt = users(&[user_e("a", "55", "E55", "a@example.org", true), user_e("b", "55", "", "b@example.org", true)]);
    let p = plan(r#"{"platform":"foundry","match":["ssoId","employeeId"],"orphans":"deactivate"}"#, &[&src], &[&tgt]);
    let acts = p["actions"].as_array().unwrap();
    assert_eq!(acts.len(), 1, "{p}");
    assert_eq!(acts[0]["conflict"], "duplicatePlatformKey");
    assert_eq!(acts[0]["platformIds"], json!(["a", "b"]));
}

// Item 2.
#[test]
fn orphans_that_share_a_key_are_each_orphans() {
    let src = csv(&["33,,Geoff,Smith,geoff@example.org,true"]);
    let tgt = users(&[
        user_e("dek", "33", "", "geoff@example.org", true),
        user_e("qai\u{2011}928", "787", "", "dan@example.org", true),
        user_e("qai\u{2011}929", "787", "", "dan2@example.org", true),
    ]);
    let p = plan(r#"{"platform":"foundry","orphans":"deactivate"}"#, &[&src], &[&tgt]);
    let ids: Vec<&str> = of_kind(&p, "deactivate").iter().map(|a| a["platformId"].as_str().unwrap()).collect();
    assert_eq!(ids, ["qai\u{2011}928", "qai\u{2011}929"], "{p}");
    assert!(of_kind(&p, "deactivate").iter().all(|a| a["orphan"] == true));
    let c = of_kind(&p, "conflict");
    assert_eq!(c.len(), 1, "{p}");
    assert_eq!(c[0]["conflict"], "sharedPlatformKey");
    assert_eq!(c[0]["value"], "787");
    // The default policy reviews each.
    let p = plan(r#"{"platform":"foundry"}"#, &[&src], &[&tgt]);
    assert_eq!(of_kind(&p, "review").len(), 2, "{p}");
}

// Item 3.
#[test]
fn a_leaver_never_locks_a_learnifier_user_made_by_hand() {
    let src = "externalId,email,firstName,lastName,active\n77,hand@example.org,Hand,Made,false\n";
    let learnifier = r#"[
      {"id":"5f1","externalId":null,"firstName":"Hand","lastName":"Made","primaryEmail":"hand@example.org","hardLock":false}
    ]"#;
    let opts = r#"{"platform":"learnifier","orphans":"deactivate","match":["ssoId","email"],"mapping":{"ssoId":"externalId"}}"#;
    let p = plan(opts, &[src], &[learnifier]);
    let acts = p["actions"].as_array().unwrap();
    assert_eq!(acts.len(), 1, "{p}");
    assert_eq!(acts[0]["action"], "review", "{p}");
    assert_eq!(acts[0]["platformId"], "5f1");
    assert!(acts[0]["reason"].as_str().unwrap().contains("made by hand"), "{}", acts[0]["reason"]);
    // An active learner is not linked onto it either (the external id would be written).
    let src = "externalId,email,firstName,lastName,active\n77,hand@example.org,Hand,Made,true\n";
    let p = plan(opts, &[src], &[learnifier]);
    assert_eq!(p["actions"].as_array().unwrap().len(), 1, "{p}");
    assert_eq!(of_kind(&p, "review").len(), 1, "{p}");
}

#[test]
fn a_leaver_matched_to_a_foundry_administrator_is_reviewed_not_deactivated() {
    let src = csv(&["900,,Big,Boss,boss@example.org,false", "901,,Both,Hats,new@example.org,true"]);
    let page = r#"{"data":[
      {"id":"a1","type":"users","attributes":{"active":true,"email":"boss@example.org","first_name":"Big","last_name":"Boss","sso_id":"900",
        "user_rule_set_roles":[{"rule_set":"cc_admin","role":"default"}]}},
      {"id":"a2","type":"users","attributes":{"active":true,"email":"both@example.org","first_name":"Both","last_name":"Hats","sso_id":"901",
        "user_rule_set_roles":[{"rule_set":"cc_learner","role":"default"},{"rule_set":"event_manager","role":"default"}]}}
    ],"links":{"next":null}}"#;
    let p = plan(r#"{"platform":"foundry","orphans":"deactivate"}"#, &[&src], &[page]);
    let kinds: Vec<(&str, &str)> = p["actions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| (a["platformId"].as_str().unwrap(), a["action"].as_str().unwrap()))
        .collect();
    // An update leaves an administrator's roles as they are (tests/wire.rs), so it goes ahead.
    assert_eq!(kinds, [("a1", "review"), ("a2", "update")], "{p}");
    let r = of_kind(&p, "review");
    assert!(r[0]["reason"].as_str().unwrap().starts_with("administrator"), "{}", r[0]["reason"]);
    assert!(r[0]["reason"].as_str().unwrap().contains("deactivate is not sent"), "{}", r[0]["reason"]);
}

// Item 4.
#[test]
fn the_default_links_a_keyless_user_by_email_and_can_be_turned_off() {
    let src = csv(&["686,,Ellen,Cohen,ellen.cohen@example.org,true"]);
    let tgt = r#"[{"id":"u9","firstName":"Ellen","lastName":"Cohen","email":"Ellen.Cohen@example.org","active":true}]"#;
    let p = plan(r#"{"platform":"foundry"}"#, &[&src], &[tgt]);
    let link = of_kind(&p, "link");
    assert_eq!(link.len(), 1, "{p}");
    assert_eq!(link[0]["platformId"], "u9");
    assert_eq!(link[0]["matchedBy"], "email");
    assert_eq!(link[0]["changes"], json!({"ssoId": {"from": null, "to": "686"}}));
    assert!(of_kind(&p, "create").is_empty(), "{p}");

    // Turned off: never a create the platform refuses; a conflict naming both.
    let p = plan(r#"{"platform":"foundry","linkByEmail":false}"#, &[&src], &[tgt]);
    assert!(of_kind(&p, "create").is_empty() && of_kind(&p, "link").is_empty(), "{p}");
    let c = of_kind(&p, "conflict");
    assert_eq!(c.len(), 1, "{p}");
    assert_eq!(c[0]["conflict"], "keyTaken");
    assert_eq!(c[0]["field"], "email");
    assert_eq!(c[0]["platformIds"], json!(["u9"]));
    assert_eq!(c[0]["rows"], json!([{"source": "source1", "row": 2}]));
    assert!(c[0]["reason"].as_str().unwrap().contains("linking by email is off"), "{}", c[0]["reason"]);
    assert_eq!(p["options"]["linkByEmail"], false, "the plan echoes the option");
    // The user holding the learner's email is not an orphan to deactivate: it is reviewed.
    let p = plan(r#"{"platform":"foundry","linkByEmail":false,"orphans":"deactivate"}"#, &[&src], &[tgt]);
    assert!(of_kind(&p, "deactivate").is_empty(), "{p}");
    let r = of_kind(&p, "review");
    assert_eq!(r.len(), 1, "{p}");
    assert!(r[0]["reason"].as_str().unwrap().contains("shares email"), "{}", r[0]["reason"]);
}

#[test]
fn a_create_whose_email_a_user_with_another_key_holds_is_a_conflict() {
    let src = csv(&["686,,Ellen,Cohen,ellen@example.org,true"]);
    let tgt = users(&[user_e("u1", "999", "", "ellen@example.org", true)]);
    for opts in [r#"{"platform":"foundry"}"#, r#"{"platform":"foundry","linkByEmail":false}"#] {
        let p = plan(opts, &[&src], &[&tgt]);
        assert!(of_kind(&p, "create").is_empty(), "{p}");
        let c = of_kind(&p, "conflict");
        assert_eq!(c.len(), 1, "{p}");
        assert_eq!(c[0]["platformIds"], json!(["u1"]));
    }
}

// Item 6.
#[test]
fn plans_are_the_same_bytes_whatever_the_order_of_pages() {
    let s1 = csv(&["1,E1,Ann,Lee,ann@example.org,true", "2,E2,Bo,Ek,bo@example.org,true"]);
    let s2 = csv(&["1,E3,Ann,Lea,ann2@example.org,true", "3,E2,Cy,Ox,cy@example.org,true"]);
    let t1 = users(&[user_e("u1", "1", "E1", "ann@example.org", true), user_e("u5", "5", "E9", "x@example.org", true)]);
    let t2 = users(&[user_e("u2", "5", "E9", "y@example.org", true), user_e("u3", "3", "E3", "cy@example.org", true)]);
    let opts = r#"{"platform":"foundry","match":["ssoId","employeeId","email"]}"#;
    let run = |sources: &[(&str, &str)], targets: &[(&str, &str)]| {
        let mut p = planner(opts);
        for (label, s) in sources {
            p.add_source(s.as_bytes(), learner_sync::SourceFormat::Auto, label).unwrap();
        }
        for (label, t) in targets {
            p.add_target(t.as_bytes(), learner_sync::TargetFormat::Auto, label).unwrap();
        }
        String::from_utf8(p.finish().to_json()).unwrap()
    };
    let a = run(&[("a.csv", &s1), ("b.csv", &s2)], &[("t1", &t1), ("t2", &t2)]);
    let b = run(&[("b.csv", &s2), ("a.csv", &s1)], &[("t2", &t2), ("t1", &t1)]);
    assert!(a.contains("\"conflict\""), "the case has conflicts: {a}");
    assert_eq!(a, b);
}

#[test]
fn a_user_listed_twice_with_different_content_is_a_conflict() {
    let src = csv(&["1,,F,L,ann@example.org,true"]);
    let before = users(&[user_e("u1", "1", "", "ann@example.org", true)]);
    let after = users(&[user_e("u1", "1", "", "ann@example.org", false)]);
    for pages in [[&before, &after], [&after, &before]] {
        let p = plan(r#"{"platform":"foundry"}"#, &[&src], &[pages[0], pages[1]]);
        let kinds: Vec<&str> = of_kind(&p, "conflict").iter().map(|a| a["conflict"].as_str().unwrap()).collect();
        assert_eq!(kinds, ["listedTwice", "keyTaken"], "{p}");
        assert_eq!(p["actions"].as_array().unwrap().len(), 2, "nothing else: {p}");
        assert!(of_kind(&p, "conflict")[1]["reason"].as_str().unwrap().contains("listed twice"));
    }
    // The same content twice is one user, as before.
    let p = plan(r#"{"platform":"foundry"}"#, &[&src], &[&before, &before]);
    assert!(p["actions"].as_array().unwrap().is_empty(), "{p}");
}

// Item 9.
#[test]
fn a_delta_leaver_with_a_blank_key_is_deactivated_by_its_platform_id() {
    let src = "platformId,ssoId,firstName,lastName,email,active\nu7,,Leo,Later,leo@example.org,false\nu8,,New,Key,n@example.org,true\nu9,,Two,Rows,t@example.org,false\nu9,9,Two,Rows,t@example.org,true\n";
    let mut p = planner(r#"{"platform":"foundry"}"#);
    p.add_source(src.as_bytes(), learner_sync::SourceFormat::Auto, "delta.csv").unwrap();
    let plan: serde_json::Value = serde_json::from_slice(&p.finish_delta().to_json()).unwrap();
    let got: Vec<String> = plan["actions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| format!("{} {} {}", a["action"].as_str().unwrap(), a["platformId"].as_str().unwrap_or("-"), a["row"]))
        .collect();
    // Row 2 leaves by its ID; row 3 (active, no key) cannot be updated without its key, and
    // row 4 shares u9 with row 5: both stay invalid rather than guess.
    assert_eq!(got, ["invalid - 3", "invalid - 4", "deactivate u7 2", "update u9 5"], "{plan}");
}
