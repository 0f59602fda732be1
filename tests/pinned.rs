//! Pinned plans: a plan made earlier is applied only where the platform still holds what the
//! plan saw.

mod support;

use learner_sync::sync::{State, SyncEngine, SyncOptions};
use learner_sync::{Plan, PlanOptions, Planner, SourceFormat, TargetFormat};
use serde_json::json;
use support::foundry::{FoundrySim, SimUser, BASE};

fn walkthrough_users() -> Vec<SimUser> {
    let u = |id: &str, sso: &str, first: &str, last: &str, email: &str| SimUser {
        id: id.into(),
        sso_id: Some(sso.into()),
        email: email.into(),
        first_name: first.into(),
        last_name: last.into(),
        active: true,
        admin: false,
    };
    vec![
        u("dek-123", "33", "Geoff", "Smith", "geoff.smith@example.org"),
        u("zak-928", "44", "Kate", "Jones", "kate.jones@example.org"),
        u("iux-332", "55", "Leo", "Later", "leo.later@example.org"),
        u("qai-928", "787", "Dan", "Dismayed", "dan.dismayed@example.org"),
    ]
}

/// The plan as an administrator would have downloaded it: made from exports, saved as JSON.
fn plan_from_exports(options: &str, users: &[SimUser]) -> Plan<'static> {
    let page = json!({"data": users.iter().map(|u| json!({"id": u.id, "type": "users", "attributes": {
        "active": u.active, "email": u.email, "first_name": u.first_name, "last_name": u.last_name, "sso_id": u.sso_id}})).collect::<Vec<_>>(),
        "links": {"next": null}});
    let mut p = Planner::new(PlanOptions::from_json(options.as_bytes()).unwrap()).unwrap();
    p.add_source(include_bytes!("../examples/walkthrough/source.csv"), SourceFormat::Csv, "source.csv").unwrap();
    p.add_target(page.to_string().as_bytes(), TargetFormat::Foundry, "users.json").unwrap();
    let json = p.finish().to_json();
    serde_json::from_slice::<Plan>(&json).unwrap().into_owned()
}

/// The host's plan options: Foundry, the default guards, and an approval if given.
fn host(approve: Option<&str>) -> PlanOptions {
    let mut o = PlanOptions::new(learner_sync::Platform::Foundry);
    o.guards.approve = approve.map(str::to_string);
    o
}

fn config() -> SyncOptions {
    SyncOptions::from_json(json!({"baseUrl": BASE, "credentials": FoundrySim::credentials()}).to_string().as_bytes())
        .unwrap()
}

#[test]
fn actions_whose_users_changed_are_skipped_and_the_rest_applied() {
    let plan = plan_from_exports(r#"{"platform":"foundry","orphans":"deactivate"}"#, &walkthrough_users());
    // Between the preview and the sync: 33's last name was corrected by hand, the orphan 787
    // was deactivated by someone else, and a user with SSO ID 686 was created.
    let mut users = walkthrough_users();
    users[0].last_name = "Smyth".into();
    users[3].active = false;
    users.push(SimUser {
        id: "new-1".into(),
        sso_id: Some("686".into()),
        email: "ellen@example.org".into(),
        first_name: "Ellen".into(),
        last_name: "Cohen".into(),
        active: true,
        admin: false,
    });
    let mut sim = FoundrySim::new(users, 1);
    let engine = SyncEngine::with_plan(plan, config(), &host(None)).unwrap();
    let run = support::drive_engine(engine, 10, |r, now| sim.handle(r, now));
    let got: Vec<(String, State, String)> = run
        .report
        .outcomes
        .iter()
        .map(|o| {
            (
                format!("{} {}", o.action.name(), o.key.as_deref().unwrap_or("")),
                o.state,
                o.reason.clone().unwrap_or_default(),
            )
        })
        .collect();
    assert_eq!(got[0].0, "update 33");
    assert_eq!(got[0].1, State::Skipped);
    assert!(got[0].2.contains("lastName of dek-123 is now \"Smyth\", the plan saw \"Smith\""), "{}", got[0].2);
    assert_eq!((got[1].0.as_str(), got[1].1), ("deactivate 55", State::Done), "unchanged users go ahead");
    assert_eq!(got[2].1, State::Skipped);
    assert!(got[2].2.contains("user new-1 now has ssoId \"686\""), "{}", got[2].2);
    assert_eq!(got[3].0, "deactivate 787");
    assert!(got[3].2.contains("qai-928 is now inactive"), "{}", got[3].2);
    assert_eq!((sim.stats.creates, sim.stats.patches), (0, 1));
    assert_eq!(sim.users[0].last_name, "Smyth", "the hand correction is kept");
}

#[test]
fn a_held_pinned_plan_needs_its_approval() {
    let users = others(60);
    let plan = plan_from_exports(r#"{"platform":"foundry","orphans":"deactivate"}"#, &users);
    let fp = plan.held.as_ref().expect("61 deactivations are held").fingerprint.clone();

    let mut sim = FoundrySim::new(users.clone(), 2);
    let run =
        support::drive_engine(SyncEngine::with_plan(plan.clone(), config(), &host(None)).unwrap(), 10, |r, now| {
            sim.handle(r, now)
        });
    assert!(run.report.held.is_some());
    assert_eq!(sim.stats.patches + sim.stats.creates, 0);

    let mut sim = FoundrySim::new(users, 3);
    let run = support::drive_engine(SyncEngine::with_plan(plan, config(), &host(Some(&fp))).unwrap(), 10, |r, now| {
        sim.handle(r, now)
    });
    assert!(run.report.held.is_none());
    assert_eq!(run.report.counts.failed, 0);
    assert_eq!(sim.users.iter().filter(|u| !u.active).count(), 62, "55, 787 and the 60 orphans");
}

fn others(n: usize) -> Vec<SimUser> {
    let mut users = walkthrough_users();
    for i in 0..n {
        users.push(SimUser {
            id: format!("o{i}"),
            sso_id: Some(format!("9{i}")),
            email: format!("o{i}@x.org"),
            first_name: "O".into(),
            last_name: "P".into(),
            active: true,
            admin: false,
        });
    }
    users
}

/// The plan as JSON, edited by `edit`, read back.
fn edited(plan: &Plan<'static>, edit: impl FnOnce(&mut serde_json::Value)) -> Plan<'static> {
    let mut v: serde_json::Value = serde_json::from_slice(&plan.to_json()).unwrap();
    edit(&mut v);
    serde_json::from_value::<Plan>(v).unwrap().into_owned()
}

fn writes(sim: &FoundrySim) -> u32 {
    sim.stats.patches + sim.stats.creates
}

#[test]
fn a_held_plan_with_its_held_key_removed_is_held_again_and_nothing_is_sent() {
    let users = others(60);
    let plan = plan_from_exports(r#"{"platform":"foundry","orphans":"deactivate"}"#, &users);
    let fp = plan.held.as_ref().expect("held").fingerprint.clone();
    let unheld = edited(&plan, |v| {
        v.as_object_mut().unwrap().remove("held");
        v["summary"]["deactivate"] = json!(0); // and the counts made to look harmless
    });
    let mut sim = FoundrySim::new(users.clone(), 4);
    let run =
        support::drive_engine(SyncEngine::with_plan(unheld.clone(), config(), &host(None)).unwrap(), 10, |r, now| {
            sim.handle(r, now)
        });
    let held = run.report.held.as_ref().expect("held again");
    assert_eq!((held.fingerprint.as_str(), held.deactivations), (fp.as_str(), 62));
    assert_eq!(writes(&sim), 0);

    // Loosened guards in the file do not count: the host's apply.
    let loose = edited(&unheld, |v| v["options"]["guards"] = json!({"maxDeactivateCount": 100000}));
    let mut sim = FoundrySim::new(users.clone(), 5);
    let run = support::drive_engine(SyncEngine::with_plan(loose, config(), &host(None)).unwrap(), 10, |r, now| {
        sim.handle(r, now)
    });
    assert!(run.report.held.is_some());
    assert_eq!(writes(&sim), 0);

    // The approval of the fingerprint the plan was held with lets it through.
    let mut sim = FoundrySim::new(users, 6);
    let run =
        support::drive_engine(SyncEngine::with_plan(unheld, config(), &host(Some(&fp))).unwrap(), 10, |r, now| {
            sim.handle(r, now)
        });
    assert!(run.report.held.is_none());
    assert_eq!(sim.users.iter().filter(|u| !u.active).count(), 62);
}

#[test]
fn a_plan_whose_held_fingerprint_is_not_its_own_is_refused_before_anything_is_sent() {
    let plan = plan_from_exports(r#"{"platform":"foundry","orphans":"deactivate"}"#, &others(60));
    let fp = plan.held.as_ref().unwrap().fingerprint.clone();
    // One deactivation removed after the plan was held: the approval no longer names it.
    let changed = edited(&plan, |v| {
        let actions = v["actions"].as_array_mut().unwrap();
        let at = actions.iter().position(|a| a["action"] == "deactivate").unwrap();
        actions.remove(at);
    });
    for make in [SyncEngine::with_plan, SyncEngine::from_plan] {
        let err = make(changed.clone(), config(), &host(Some(&fp))).err().expect("refused");
        assert_eq!(err.code(), "PLAN_REFUSED");
        assert!(err.to_string().contains("is not the one its own actions give"), "{err}");
    }
}

/// A plan made by hand: one orphan deactivation of `id`, a made-up platform fingerprint.
fn hand_made(id: &str, key: &str, orphan: bool) -> Plan<'static> {
    let plan = json!({
        "actions": [{"action": "deactivate", "key": key, "platformId": id, "orphan": orphan,
                     "changes": {"active": {"from": true, "to": false}}}],
        "summary": {"create":0,"update":0,"deactivate":1,"reactivate":0,"link":0,"review":0,"delete":0,
                    "conflict":0,"invalid":0,"unchanged":0,"untouched":0,"protected":0,"learners":5,"platformUsers":5},
        "options": {"platform": "foundry", "orphans": "deactivate"},
        "fingerprint": "0000000000000000",
        "format": 1
    });
    serde_json::from_value::<Plan>(plan).unwrap().into_owned()
}

#[test]
fn a_hand_made_plan_never_deactivates_an_administrator_it_does_not_manage() {
    let mut users = walkthrough_users();
    users.push(SimUser {
        id: "adm-1".into(),
        sso_id: Some("900".into()),
        email: "boss@example.org".into(),
        first_name: "B".into(),
        last_name: "Oss".into(),
        active: true,
        admin: true,
    });
    // As an orphan, and as a learner it is not (another key).
    for plan in [hand_made("adm-1", "900", true), hand_made("adm-1", "33", false)] {
        let mut sim = FoundrySim::new(users.clone(), 7);
        let engine = SyncEngine::with_plan(plan, config(), &host(None)).unwrap();
        let run = support::drive_engine(engine, 10, |r, now| sim.handle(r, now));
        let error = run.report.error.as_ref().expect("refused");
        assert_eq!(error.code, "PLAN_REFUSED");
        assert!(error.message.contains("adm-1, an administrator"), "{}", error.message);
        assert_eq!(writes(&sim), 0);
        assert!(sim.users.iter().all(|u| u.active));
        assert_eq!(run.report.outcomes[0].state, State::Skipped);
    }
    // A plan that deactivates a matched learner who is also an administrator is the planner's
    // own: it goes ahead.
    let mut sim = FoundrySim::new(users, 8);
    let engine = SyncEngine::with_plan(hand_made("adm-1", "900", false), config(), &host(None)).unwrap();
    let run = support::drive_engine(engine, 10, |r, now| sim.handle(r, now));
    assert!(run.report.error.is_none(), "{:?}", run.report.error);
    assert_eq!(sim.stats.patches, 1);
}

#[test]
fn a_plan_that_orphans_against_its_own_policy_or_the_protect_list_is_refused() {
    let review = edited(&hand_made("qai-928", "787", true), |v| v["options"]["orphans"] = json!("review"));
    let err = SyncEngine::with_plan(review, config(), &host(None)).err().unwrap();
    assert!(err.to_string().contains("which a plan with orphans: review never does"), "{err}");
    let mut protecting = host(None);
    protecting.protect = vec!["787".into()];
    let err = SyncEngine::with_plan(hand_made("qai-928", "787", true), config(), &protecting).err().unwrap();
    assert!(err.to_string().contains("qai-928, which is on the protect list"), "{err}");
}

#[test]
fn from_plan_recomputes_the_guards_from_the_actions() {
    let plan = plan_from_exports(r#"{"platform":"foundry","orphans":"deactivate"}"#, &others(60));
    let fp = plan.held.as_ref().unwrap().fingerprint.clone();
    let unheld = edited(&plan, |v| {
        v.as_object_mut().unwrap().remove("held");
    });
    let mut sim = FoundrySim::new(others(60), 9);
    let run =
        support::drive_engine(SyncEngine::from_plan(unheld.clone(), config(), &host(None)).unwrap(), 10, |r, now| {
            sim.handle(r, now)
        });
    assert_eq!(run.report.held.as_ref().map(|h| h.fingerprint.as_str()), Some(fp.as_str()));
    assert_eq!(writes(&sim), 0);
    // Withholding is all or nothing: one action left withheld withholds every deactivation.
    let partly = edited(&plan, |v| {
        v.as_object_mut().unwrap().remove("held");
        let a = v["actions"].as_array_mut().unwrap().iter_mut().find(|a| a["action"] == "deactivate").unwrap();
        a["withheld"] = json!(true);
    });
    let mut sim = FoundrySim::new(others(60), 10);
    let run = support::drive_engine(SyncEngine::from_plan(partly, config(), &host(None)).unwrap(), 10, |r, now| {
        sim.handle(r, now)
    });
    assert_eq!(run.report.withheld.as_ref().map(|w| w.count), Some(62));
    assert_eq!((sim.stats.patches, sim.stats.creates), (1, 1), "the update of 33 and the create of 686 only");
}

#[test]
fn a_plan_that_deactivates_through_an_update_is_refused() {
    // 60 deactivations made to look like updates would pass the mass-change guard uncounted.
    let plan = plan_from_exports(r#"{"platform":"foundry","orphans":"deactivate"}"#, &others(60));
    let disguised = edited(&plan, |v| {
        v.as_object_mut().unwrap().remove("held");
        for a in v["actions"].as_array_mut().unwrap() {
            if a["action"] == "deactivate" {
                a["action"] = json!("update");
                a["orphan"] = json!(false);
            }
        }
    });
    for make in [SyncEngine::with_plan, SyncEngine::from_plan] {
        let err = make(disguised.clone(), config(), &host(None)).err().expect("refused");
        assert_eq!(err.code(), "PLAN_REFUSED");
        assert!(err.to_string().contains("sets active to false, which only a deactivate"), "{err}");
    }
}
