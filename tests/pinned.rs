//! Pinned plans: a plan made earlier is applied only where the platform still holds what the
//! plan saw.

mod support;

use learner_sync::sync::{State, SyncConfig, SyncEngine};
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

fn config() -> SyncConfig {
    SyncConfig::from_json(json!({"baseUrl": BASE, "credentials": FoundrySim::credentials()}).to_string().as_bytes())
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
    let engine = SyncEngine::with_plan(plan, config(), None).unwrap();
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
    let mut users = walkthrough_users();
    for i in 0..60 {
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
    let plan = plan_from_exports(r#"{"platform":"foundry","orphans":"deactivate"}"#, &users);
    let fp = plan.held.as_ref().expect("61 deactivations are held").fingerprint.clone();

    let mut sim = FoundrySim::new(users.clone(), 2);
    let run = support::drive_engine(SyncEngine::with_plan(plan.clone(), config(), None).unwrap(), 10, |r, now| {
        sim.handle(r, now)
    });
    assert!(run.report.held.is_some());
    assert_eq!(sim.stats.patches + sim.stats.creates, 0);

    let mut sim = FoundrySim::new(users, 3);
    let run = support::drive_engine(SyncEngine::with_plan(plan, config(), Some(&fp)).unwrap(), 10, |r, now| {
        sim.handle(r, now)
    });
    assert!(run.report.held.is_none());
    assert_eq!(run.report.counts.failed, 0);
    assert_eq!(sim.users.iter().filter(|u| !u.active).count(), 62, "55, 787 and the 60 orphans");
}
