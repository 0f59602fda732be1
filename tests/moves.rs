//! Unique values that move between users in one sync: freed before taken; swaps broken by a
//! temporary value (Foundry) or autoClearEmail (Learnifier).

mod support;

use std::collections::HashMap;

use learner_sync::sync::{Method, Response, State};
use serde_json::{json, Value};
use support::foundry::{FoundrySim, SimUser, BASE};

fn u(id: &str, sso: &str, email: &str) -> SimUser {
    SimUser {
        id: id.into(),
        sso_id: Some(sso.into()),
        email: email.into(),
        first_name: "F".into(),
        last_name: "L".into(),
        active: true,
        admin: false,
    }
}

fn cfg() -> Value {
    json!({"baseUrl": BASE, "credentials": FoundrySim::credentials(), "concurrency": 4})
}

#[test]
fn an_email_is_freed_before_it_is_taken() {
    // Ann takes bo@x.org; Bo moves to bo.new@x.org; Cy (new) takes ann@x.org.
    let mut sim = FoundrySim::new(vec![u("A", "1", "ann@x.org"), u("B", "2", "bo@x.org")], 1);
    let src =
        "ssoId,firstName,lastName,email,active\n1,F,L,bo@x.org,true\n2,F,L,bo.new@x.org,true\n3,F,L,ann@x.org,true\n";
    let mut order = Vec::new();
    let run = support::drive(r#"{"platform":"foundry"}"#, cfg(), src, 10, |r, now| {
        if r.method != Method::Get && !r.url.ends_with("/oauth/token") {
            order.push(r.url.rsplit('/').next().unwrap().to_string());
        }
        sim.handle(r, now)
    });
    assert_eq!(run.report.counts.failed, 0, "{:?}", run.report.outcomes);
    assert_eq!(order, ["B", "A", "registration_sets"], "Bo frees, Ann takes, then Cy takes Ann's old email");
    let email = |id: &str| sim.users.iter().find(|u| u.id == id).unwrap().email.clone();
    assert_eq!((email("A"), email("B")), ("bo@x.org".to_string(), "bo.new@x.org".to_string()));
    assert!(sim.users.iter().any(|u| u.email == "ann@x.org" && u.sso_id.as_deref() == Some("3")));
}

#[test]
fn a_swap_on_foundry_goes_through_a_temporary_email() {
    let mut sim = FoundrySim::new(vec![u("A", "1", "x@x.org"), u("B", "2", "y@x.org")], 2);
    let src = "ssoId,firstName,lastName,email,active\n1,F,L,y@x.org,true\n2,F,L,x@x.org,true\n";
    let mut bodies = Vec::new();
    let run = support::drive(r#"{"platform":"foundry"}"#, cfg(), src, 10, |r, now| {
        if r.method == Method::Patch {
            let v: Value = serde_json::from_slice(&r.body).unwrap();
            bodies.push(format!(
                "{} {}",
                v["data"]["id"].as_str().unwrap(),
                v["data"]["attributes"]["registrations"][0]["email"].as_str().unwrap()
            ));
        }
        sim.handle(r, now)
    });
    let r = &run.report;
    assert_eq!(r.counts.done, 2, "{:?}", r.outcomes);
    assert_eq!(bodies.len(), 3);
    assert!(bodies[0].ends_with("@learner-sync.invalid"), "{bodies:?}");
    let parked = bodies[0].split(' ').next().unwrap().to_string();
    let other = if parked == "A" { "B" } else { "A" };
    assert!(bodies[1].starts_with(other) && bodies[2].starts_with(&parked), "{bodies:?}");
    let email = |id: &str| sim.users.iter().find(|u| u.id == id).unwrap().email.clone();
    assert_eq!((email("A"), email("B")), ("y@x.org".to_string(), "x@x.org".to_string()));
    assert!(
        r.outcomes.iter().any(|o| o.reason.as_deref().is_some_and(|n| n.contains("was parked at"))),
        "the report shows what was done"
    );
}

#[test]
fn a_swap_on_learnifier_uses_auto_clear_email() {
    let mut emails: HashMap<String, Option<String>> =
        HashMap::from([("A".into(), Some("x@x.org".into())), ("B".into(), Some("y@x.org".into()))]);
    let mut sent = Vec::new();
    let cfg = json!({"baseUrl": "https://l.test", "credentials": {"key": "k", "secret": "s"}});
    let src = "ssoId,firstName,lastName,email,active\n1,F,L,y@x.org,true\n2,F,L,x@x.org,true\n";
    let run = support::drive(r#"{"platform":"learnifier"}"#, cfg, src, 10, |r, _| {
        if r.method == Method::Get {
            let list: Vec<Value> = [("A", "1"), ("B", "2")]
                .iter()
                .map(|(id, ext)| json!({"id": id, "externalId": ext, "firstName": "F", "lastName": "L", "primaryEmail": emails[*id], "hardLock": false}))
                .collect();
            return Ok(Response::new(200, Value::Array(list).to_string()).with_header("X-More", "false"));
        }
        let id = r.url.trim_start_matches("https://l.test/users/").split('?').next().unwrap().to_string();
        let body: Value = serde_json::from_slice(&r.body).unwrap();
        let want = body["primaryEmail"].as_str().unwrap().to_string();
        sent.push(r.url.clone());
        let holder =
            emails.iter().find(|(k, v)| **k != id && v.as_deref() == Some(want.as_str())).map(|(k, _)| k.clone());
        match holder {
            Some(h) if r.url.contains("autoClearEmail=true") && body["autoClearEmail"] == true => {
                emails.insert(h, None);
            }
            Some(_) => {
                return Ok(Response::new(409, r#"{"code":"conflict","field":"primaryEmail","message":"taken"}"#))
            }
            None => {}
        }
        emails.insert(id, Some(want));
        Ok(Response::new(201, ""))
    });
    assert_eq!(run.report.counts.done, 2, "{:?}", run.report.outcomes);
    assert_eq!(sent.len(), 2);
    assert!(sent[0].ends_with("?autoClearEmail=true") && !sent[1].contains("autoClear"), "{sent:?}");
    assert_eq!((emails["A"].as_deref(), emails["B"].as_deref()), (Some("y@x.org"), Some("x@x.org")));
    assert!(run.report.outcomes.iter().any(|o| o.reason.as_deref().is_some_and(|n| n.contains("autoClearEmail"))));
    assert!(run.report.outcomes.iter().all(|o| o.state == State::Done));
}

#[test]
fn when_the_freeing_write_fails_the_taking_write_is_not_sent() {
    let mut sim =
        FoundrySim::new(vec![u("A", "1", "ann@x.org"), u("B", "2", "bo@x.org"), u("C", "3", "bo.new@x.org")], 3);
    // Bo cannot move to bo.new@x.org (C holds it, and C is not changing): Ann must not be sent.
    let src = "ssoId,firstName,lastName,email,active\n1,F,L,bo@x.org,true\n2,F,L,bo.new@x.org,true\n3,F,L,bo.new@x.org,true\n";
    let run =
        support::drive(r#"{"platform":"foundry","match":["ssoId"]}"#, cfg(), src, 10, |r, now| sim.handle(r, now));
    let by_key: HashMap<String, (State, String)> = run
        .report
        .outcomes
        .iter()
        .map(|o| {
            (o.key.clone().unwrap_or_default(), (o.state, o.reason.clone().or(o.error.clone()).unwrap_or_default()))
        })
        .collect();
    assert_eq!(by_key["2"].0, State::Failed, "{by_key:?}");
    assert_eq!(by_key["1"].0, State::Skipped, "{by_key:?}");
    assert!(by_key["1"].1.contains("another write was to free first"));
    assert_eq!(sim.users[0].email, "ann@x.org", "Ann kept her email rather than fail halfway");
}
