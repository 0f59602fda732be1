//! Safety guards: a truncated export or a mass change never deactivates learners unasked.

mod support;

use learner_sync::sync::State;
use serde_json::json;
use support::plans::*;

fn roster(n: usize, active: impl Fn(usize) -> bool) -> String {
    let mut s = String::from("ssoId,firstName,lastName,email,active\n");
    for i in 0..n {
        s.push_str(&format!("{i},F,L,p{i}@x.org,{}\n", active(i)));
    }
    s
}

fn platform(n: usize) -> String {
    users(
        &(0..n)
            .map(|i| user(&format!("u{i}"), &i.to_string(), "F", "L", &format!("p{i}@x.org"), true))
            .collect::<Vec<_>>(),
    )
}

#[test]
fn a_mass_deactivation_is_held_until_approved_by_its_fingerprint() {
    // 100 managed users; the export lists only 40 of them: 60 orphans to deactivate > 50.
    let opts = r#"{"platform":"foundry","orphans":"deactivate"}"#;
    let p = plan(opts, &[&roster(40, |_| true)], &[&platform(100)]);
    let held = &p["held"];
    assert_eq!(
        (held["deactivations"].as_u64(), held["limit"].as_u64(), held["managedUsers"].as_u64()),
        (Some(60), Some(50), Some(100)),
        "{p}"
    );
    assert!(held["reason"].as_str().unwrap().contains("more than the limit of 50"));
    let fp = held["fingerprint"].as_str().unwrap();

    let approved = plan(
        &format!(r#"{{"platform":"foundry","orphans":"deactivate","guards":{{"approve":"{fp}"}}}}"#),
        &[&roster(40, |_| true)],
        &[&platform(100)],
    );
    assert!(approved.get("held").is_none(), "{approved}");
    assert_eq!(approved["summary"]["deactivate"], 60);

    // The approval names this platform state and these users: another state is held again.
    let changed = plan(
        &format!(r#"{{"platform":"foundry","orphans":"deactivate","guards":{{"approve":"{fp}"}}}}"#),
        &[&roster(40, |_| true)],
        &[&platform(101)],
    );
    assert!(changed.get("held").is_some());
}

#[test]
fn the_limit_is_the_larger_of_the_share_and_the_count() {
    // 2,000 managed users: 5% is 100, above the count of 50.
    let opts = r#"{"platform":"foundry"}"#;
    let p = plan(opts, &[&roster(2000, |i| i >= 90)], &[&platform(2000)]);
    assert_eq!(p["summary"]["deactivate"], 90);
    assert!(p.get("held").is_none(), "90 leavers of 2,000 is under 5%");
    let p = plan(opts, &[&roster(2000, |i| i >= 101)], &[&platform(2000)]);
    assert_eq!(p["held"]["limit"], 100);
    let p = plan(
        r#"{"platform":"foundry","guards":{"maxDeactivatePercent":10,"maxDeactivateCount":0}}"#,
        &[&roster(2000, |i| i >= 101)],
        &[&platform(2000)],
    );
    assert!(p.get("held").is_none(), "configurable");
}

#[test]
fn a_short_source_withholds_deactivations_but_not_creates_or_updates() {
    let opts = r#"{"platform":"foundry","orphans":"deactivate","guards":{"expectedLearners":100}}"#;
    // A truncated export: 60 rows where 100 were expected, one of them new, one changed.
    let mut src = roster(59, |i| i != 3);
    src.push_str("500,New,Starter,new@x.org,true\n");
    let mut tgt_users: Vec<String> =
        (0..100).map(|i| user(&format!("u{i}"), &i.to_string(), "F", "L", &format!("p{i}@x.org"), true)).collect();
    tgt_users[7] = user("u7", "7", "F", "Old", "p7@x.org", true);
    let p = plan(opts, &[&src], &[&users(&tgt_users)]);
    assert_eq!(p["summary"]["create"], 1);
    assert_eq!(p["summary"]["update"], 1);
    assert_eq!(p["summary"]["deactivate"], 0);
    assert_eq!(p["summary"]["withheld"], 42, "41 orphans and 1 leaver");
    assert!(
        p["withheld"]["reason"].as_str().unwrap().contains("60 learners, far fewer than the 100"),
        "{}",
        p["withheld"]
    );
    assert!(of_kind(&p, "deactivate").iter().all(|a| a["withheld"] == true));
    assert!(p.get("held").is_none(), "withheld deactivations do not count toward the mass guard");

    let within = plan(opts, &[&roster(95, |_| true)], &[&platform(100)]);
    assert_eq!((within["summary"]["deactivate"].as_u64(), within["summary"]["withheld"].as_u64()), (Some(5), Some(0)));

    let flagged = plan(
        r#"{"platform":"foundry","guards":{"sourceIncomplete":true}}"#,
        &[&roster(10, |i| i > 0)],
        &[&platform(10)],
    );
    assert_eq!(flagged["summary"]["withheld"], 1);
    assert!(flagged["withheld"]["reason"].as_str().unwrap().contains("a page failed to load"));
}

#[test]
fn the_executor_sends_nothing_for_a_held_plan_and_skips_withheld_deactivations() {
    use support::foundry::{FoundrySim, SimUser, BASE};
    let seed = |n: usize| -> Vec<SimUser> {
        (0..n)
            .map(|i| SimUser {
                id: format!("u{i}"),
                sso_id: Some(i.to_string()),
                email: format!("p{i}@x.org"),
                first_name: "F".into(),
                last_name: "L".into(),
                active: true,
                admin: false,
            })
            .collect()
    };
    let cfg = json!({"baseUrl": BASE, "credentials": FoundrySim::credentials()});
    let mut sim = FoundrySim::new(seed(100), 1);
    let mut src = roster(40, |_| true);
    src.push_str("999,New,Person,new@x.org,true\n");
    let run = support::drive(r#"{"platform":"foundry","orphans":"deactivate"}"#, cfg.clone(), &src, 10, |r, now| {
        sim.handle(r, now)
    });
    let r = &run.report;
    assert!(r.held.is_some());
    assert_eq!((sim.stats.creates, sim.stats.patches), (0, 0), "nothing applied, not even the create");
    assert!(r.outcomes.iter().all(|o| o.state == State::Skipped));
    assert!(r.outcomes[0].reason.as_deref().unwrap().starts_with("held by the mass-change guard"));

    let mut sim = FoundrySim::new(seed(100), 2);
    let run = support::drive(
        r#"{"platform":"foundry","orphans":"deactivate","guards":{"expectedLearners":100}}"#,
        cfg,
        &src,
        10,
        |r, now| sim.handle(r, now),
    );
    let r = &run.report;
    assert_eq!((sim.stats.creates, sim.stats.patches), (1, 0));
    assert_eq!(r.withheld.as_ref().unwrap().count, 60);
    assert!(sim.users.iter().all(|u| u.active), "nobody deactivated");
}

#[test]
fn a_source_with_no_usable_learner_deactivates_nobody() {
    let opts = r#"{"platform":"foundry","orphans":"deactivate"}"#;
    // A header-only export: 40 users, under the 50-user floor of the mass-change guard.
    let p = plan(opts, &["ssoId,firstName,lastName,email,active\n"], &[&platform(40)]);
    assert_eq!((p["summary"]["deactivate"].as_u64(), p["summary"]["withheld"].as_u64()), (Some(0), Some(40)), "{p}");
    let reason = p["withheld"]["reason"].as_str().unwrap();
    assert!(reason.contains("the source has no usable learner (0 rows read"), "{reason}");
    assert!(of_kind(&p, "deactivate").iter().all(|a| a["withheld"] == true));

    // Every row unusable is the same: nobody is known to have left.
    let p = plan(opts, &["ssoId,firstName,lastName,email,active\n,A,B,a@x.org,true\n"], &[&platform(40)]);
    assert_eq!(p["summary"]["withheld"], 40, "{p}");
    assert!(p["withheld"]["reason"].as_str().unwrap().contains("no usable learner (1 rows read"));

    // One usable learner is a source: the orphans are deactivated as the policy says.
    let p = plan(opts, &[&roster(1, |_| true)], &[&platform(40)]);
    assert_eq!((p["summary"]["deactivate"].as_u64(), p["summary"]["withheld"].as_u64()), (Some(39), Some(0)));
}
