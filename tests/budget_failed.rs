//! The host's shared budget failed (issue 11): `suspend_budget_failed` ends the invocation as a
//! spent budget does (nothing new sent, answers in flight awaited, suspended with
//! `BUDGET_FAILED` and no date to wait for), and the run resumed from its checkpoint finishes
//! without sending a write twice. On the simulated clock.

mod support;

use learner_sync::sync::{SyncEngine, SyncOptions};
use learner_sync::{PlanOptions, SourceFormat};
use serde_json::json;
use support::foundry::{FoundrySim, BASE};

fn engine() -> SyncEngine {
    let config = json!({"baseUrl": BASE, "credentials": FoundrySim::credentials(), "mode": "delta", "concurrency": 2});
    let mut source = String::from("ssoId,firstName,lastName,email,active\n");
    for i in 0..6 {
        source.push_str(&format!("n{i},F{i},L{i},n{i}@example.org,true\n"));
    }
    let options = PlanOptions::from_json(br#"{"platform":"foundry"}"#).unwrap();
    let mut e = SyncEngine::new(options, SyncOptions::from_json(config.to_string().as_bytes()).unwrap()).unwrap();
    e.add_source(source.as_bytes(), SourceFormat::Auto, "source.csv").unwrap();
    e
}

#[test]
fn a_failed_shared_budget_suspends_after_the_answers_in_flight_and_the_run_resumes() {
    let mut sim = FoundrySim::new(Vec::new(), 1);
    let mut e = engine();
    let mut now = 0;
    e.start(now).unwrap();
    // The token, then two creates in flight.
    let token = e.poll_transmit(now).expect("a token request");
    let answer = sim.handle(&token, now);
    now += 20;
    e.handle_response(token.id, now, answer);
    // (The bucket spreads them: a few ms apart.)
    let mut in_flight = Vec::new();
    while in_flight.len() < 2 {
        in_flight.extend(e.poll_transmit(now));
        now += 5;
        assert!(now < 10_000, "two creates go within seconds");
    }
    e.suspend_budget_failed("the budget store is down (client secret sim-secret)");
    assert!(e.poll_transmit(now).is_none(), "nothing new is sent");
    assert!(!e.is_suspended(), "the answers in flight are awaited first");
    assert_eq!(e.poll_timeout(now), None, "nothing to wake for but the answers");
    for req in &in_flight {
        let answer = sim.handle(req, now);
        e.handle_response(req.id, now + 20, answer);
    }
    assert!(e.is_suspended());
    let report = e.report(now + 20);
    let error = report.error.as_ref().expect("an error");
    assert_eq!(error.code, "BUDGET_FAILED");
    assert!(!error.message.contains("sim-secret"), "{}", error.message);
    assert_eq!(report.resume_at, None, "no date to wait for");
    assert_eq!(report.counts.done, 2, "the writes answered are recorded");
    // Resumed: the other four, and nobody twice.
    let checkpoint = e.checkpoint();
    let overrides = json!({"baseUrl": BASE, "credentials": FoundrySim::credentials()});
    let mut resumed = SyncEngine::resume(&checkpoint, &overrides, None).unwrap();
    let mut now = now + 1000;
    let (report, _) = support::invocation(&mut resumed, &mut now, 20, |r, t| sim.handle(r, t));
    assert!(report.finished);
    assert_eq!(report.counts.done, 6);
    assert_eq!(sim.stats.creates, 6);
}

#[test]
fn a_finished_run_stays_finished() {
    let mut sim = FoundrySim::new(Vec::new(), 1);
    let mut e = engine();
    let mut now = 0;
    let (report, _) = support::invocation(&mut e, &mut now, 20, |r, t| sim.handle(r, t));
    assert!(report.finished);
    e.suspend_budget_failed("late");
    assert!(!e.is_suspended());
    assert_eq!(e.report(now).error, None);
}
