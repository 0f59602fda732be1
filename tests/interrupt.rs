//! A run the host interrupts (Ctrl-C, a shutdown), a platform that cannot be reached, and a
//! dry run's phases (issue 14), on a simulated Foundry and clock.

mod support;

use std::collections::HashSet;

use learner_sync::sync::{Event, Phase, SyncEngine, SyncOptions, TransportError, Unreachable};
use learner_sync::{PlanOptions, SourceFormat};
use serde_json::json;
use support::foundry::{user, FoundrySim, BASE};

fn options() -> PlanOptions {
    PlanOptions::from_json(br#"{"platform":"foundry"}"#).unwrap()
}

fn engine(extra: serde_json::Value, source: &str) -> SyncEngine {
    let mut c = json!({"baseUrl": BASE, "credentials": FoundrySim::credentials(), "concurrency": 4});
    for (k, v) in extra.as_object().unwrap() {
        c[k] = v.clone();
    }
    let mut e = SyncEngine::new(options(), SyncOptions::from_json(c.to_string().as_bytes()).unwrap()).unwrap();
    e.add_source(source.as_bytes(), SourceFormat::Auto, "source.csv").unwrap();
    e
}

/// 60 learners, none on the platform yet: 60 creates.
fn source() -> String {
    let mut s = String::from("ssoId,firstName,lastName,email,active\n");
    for i in 0..60 {
        s.push_str(&format!("{i},F{i},L{i},p{i}@example.org,true\n"));
    }
    s
}

#[test]
fn an_interrupted_run_sends_nothing_new_awaits_what_is_in_flight_and_resumes_without_duplicates() {
    let src = source();
    let mut sim = FoundrySim::new(vec![user(1000, "Other", true)], 7);
    let mut e = engine(json!({}), &src);
    let mut now = 0u64;
    e.start(now).unwrap();
    let mut pending: Vec<(u64, u64, Result<_, TransportError>)> = Vec::new();
    let mut sent_after_interrupt = 0;
    let mut interrupted = false;
    for _ in 0..100_000 {
        while let Some(req) = e.poll_transmit(now) {
            if interrupted {
                sent_after_interrupt += 1;
            }
            pending.push((now + 20, req.id, sim.handle(&req, now)));
        }
        while e.poll_event().is_some() {}
        if !interrupted && sim.stats.creates >= 10 {
            // Ctrl-C with requests in flight.
            assert!(!pending.is_empty());
            e.interrupt();
            interrupted = true;
            assert!(!e.is_suspended(), "answers in flight are awaited first");
        }
        if e.is_suspended() || e.is_finished() {
            break;
        }
        let next = pending.iter().map(|p| p.0).min().into_iter().chain(e.poll_timeout(now)).min().unwrap();
        now = now.max(next);
        pending.sort_by_key(|p| (p.0, p.1));
        while pending.first().is_some_and(|p| p.0 <= now) {
            let (_, id, answer) = pending.remove(0);
            e.handle_response(id, now, answer);
        }
    }
    assert!(e.is_suspended() && !e.is_finished());
    assert!(pending.is_empty(), "every answer in flight was handed back");
    assert_eq!(sent_after_interrupt, 0);
    let report = e.report(now);
    assert!(report.error.is_none(), "{:?}", report.error);
    let done_first = report.counts.done;
    assert!((10..60).contains(&done_first), "{done_first}");

    // Resume from the checkpoint: the rest is created, nobody twice.
    let overrides = json!({"baseUrl": BASE, "credentials": FoundrySim::credentials()});
    let mut e = SyncEngine::resume(&e.checkpoint(), &overrides, Some(&options())).unwrap();
    e.abandon_in_flight(now);
    let (report, _) = support::invocation(&mut e, &mut now, 20, |req, now| sim.handle(req, now));
    assert!(report.error.is_none() && e.is_finished());
    let keys: Vec<_> = sim.users.iter().map(|u| u.sso_id.clone()).collect();
    assert_eq!(keys.iter().collect::<HashSet<_>>().len(), keys.len(), "a learner was created twice");
    assert_eq!(sim.users.len(), 61, "every learner, once, beside the other user");
    assert_eq!(sim.stats.creates, 60);
}

/// Runs `e` with every request failing as `fail` says; returns the report and the requests sent.
fn against(
    mut e: SyncEngine,
    fail: impl Fn(u32) -> Result<learner_sync::sync::Response, TransportError>,
) -> (learner_sync::sync::SyncReport, u32, u64) {
    let mut now = 0;
    let mut sent = 0;
    let (report, _) = support::invocation(&mut e, &mut now, 20, |_, _| {
        sent += 1;
        fail(sent)
    });
    (report, sent, now)
}

#[test]
fn an_unreachable_platform_stops_at_once_naming_the_host_and_why() {
    for (why, code, words) in [
        (Unreachable::Dns, "ENOTFOUND", "does not resolve"),
        (Unreachable::Refused, "ECONNREFUSED", "connection was refused"),
        (Unreachable::Tls, "CERT_HAS_EXPIRED", "TLS handshake failed"),
    ] {
        let (report, sent, now) =
            against(engine(json!({}), &source()), |_| Err(TransportError::Unreachable(why, code.into())));
        let error = report.error.expect("the run stopped");
        assert_eq!(error.code, "PLATFORM_UNREACHABLE");
        let host = BASE.split("://").nth(1).unwrap().split('/').next().unwrap();
        assert!(error.message.starts_with(&format!("cannot reach {host}: ")), "{}", error.message);
        assert!(error.message.contains(words) && error.message.contains(code), "{}", error.message);
        assert!(!error.message.contains(FoundrySim::credentials()["clientSecret"].as_str().unwrap()));
        assert_eq!(sent, 1, "no retry of a wrong address");
        assert!(now <= 20, "stopped without backing off: {now} ms");
    }
    // No answer in time is not a wrong address (the answer may have been lost): retried, and
    // when the retries run out the message names the host.
    let e = engine(json!({"retry": {"maxAttempts": 3, "baseMs": 10, "maxMs": 20}}), &source());
    let (report, sent, _) = against(e, |_| Err(TransportError::Timeout));
    let error = report.error.expect("the run stopped");
    assert_eq!((error.code.as_str(), sent), ("PLATFORM_UNAVAILABLE", 3));
    assert_eq!(error.message, "could not get an access token: foundry.test: no answer in time");
}

#[test]
fn a_platform_that_answered_and_then_cannot_be_reached_is_retried() {
    let mut sim = FoundrySim::new(vec![], 3);
    let e = engine(json!({"retry": {"maxAttempts": 3, "baseMs": 10, "maxMs": 20}}), &source());
    // The token and the first pages are answered; then the connection is refused twice per request.
    let mut refused = 0;
    let mut now = 0;
    let mut e = e;
    let (report, _) = support::invocation(&mut e, &mut now, 20, |req, now| {
        if sim.stats.creates >= 5 && refused < 2 {
            refused += 1;
            return Err(TransportError::Unreachable(Unreachable::Refused, "ECONNREFUSED".into()));
        }
        sim.handle(req, now)
    });
    assert!(report.error.is_none(), "{:?}", report.error);
    assert_eq!((report.counts.done, refused), (60, 2));
}

#[test]
fn a_dry_run_never_announces_applying() {
    let mut e = engine(json!({"dryRun": true}), &source());
    let mut sim = FoundrySim::new(vec![], 3);
    let mut now = 0;
    e.start(now).unwrap();
    let mut phases = Vec::new();
    let mut pending = Vec::new();
    for _ in 0..10_000 {
        while let Some(req) = e.poll_transmit(now) {
            pending.push((req.id, sim.handle(&req, now)));
        }
        while let Some(ev) = e.poll_event() {
            if let Event::Phase { phase } = ev {
                phases.push(phase);
            }
        }
        if e.is_finished() {
            break;
        }
        now += 20;
        for (id, answer) in pending.drain(..) {
            e.handle_response(id, now, answer);
        }
    }
    assert!(e.is_finished());
    assert!(!phases.contains(&Phase::Applying), "{phases:?}");
    assert_eq!(phases.last(), Some(&Phase::Done));
    assert_eq!(sim.stats.creates, 0);
}
