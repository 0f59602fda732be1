//! The executor against a simulated Foundry on a simulated clock.

mod support;

use learner_sync::sync::State;
use serde_json::json;
use support::drive;
use support::foundry::{user, FoundrySim, SimUser, BASE};

const FOUNDRY: &str = r#"{"platform":"foundry"}"#;

fn config(extra: serde_json::Value) -> serde_json::Value {
    let mut c = json!({"baseUrl": BASE, "credentials": FoundrySim::credentials()});
    for (k, v) in extra.as_object().unwrap() {
        c[k] = v.clone();
    }
    c
}

fn source(rows: impl Iterator<Item = (usize, String, bool)>) -> String {
    let mut s = String::from("ssoId,firstName,lastName,email,active\n");
    for (i, last, active) in rows {
        s.push_str(&format!("{i},F{i},{last},p{i}@example.org,{active}\n"));
    }
    s
}

#[test]
fn the_walkthrough_syncs_and_a_second_run_has_nothing_to_do() {
    let mut sim = FoundrySim::new(
        vec![
            SimUser {
                id: "dek-123".into(),
                sso_id: Some("33".into()),
                email: "geoff.smith@example.org".into(),
                first_name: "Geoff".into(),
                last_name: "Smith".into(),
                active: true,
                admin: false,
            },
            SimUser {
                id: "zak-928".into(),
                sso_id: Some("44".into()),
                email: "kate.jones@example.org".into(),
                first_name: "Kate".into(),
                last_name: "Jones".into(),
                active: true,
                admin: false,
            },
            SimUser {
                id: "iux-332".into(),
                sso_id: Some("55".into()),
                email: "leo.later@example.org".into(),
                first_name: "Leo".into(),
                last_name: "Later".into(),
                active: true,
                admin: false,
            },
            SimUser {
                id: "qai-928".into(),
                sso_id: Some("787".into()),
                email: "dan.dismayed@example.org".into(),
                first_name: "Dan".into(),
                last_name: "Dismayed".into(),
                active: true,
                admin: false,
            },
        ],
        1,
    );
    let src = include_str!("../examples/walkthrough/source.csv");
    let run = drive(FOUNDRY, config(json!({})), src, 30, |r, now| sim.handle(r, now));
    let r = &run.report;
    assert!(r.finished && r.error.is_none(), "{r:?}");
    let states: Vec<(String, State)> = r
        .outcomes
        .iter()
        .map(|o| (format!("{} {}", o.action.name(), o.key.as_deref().unwrap_or("")), o.state))
        .collect();
    assert_eq!(
        states,
        [
            ("update 33".to_string(), State::Done),
            ("deactivate 55".to_string(), State::Done),
            ("create 686".to_string(), State::Done),
            ("review 787".to_string(), State::Skipped)
        ]
    );
    assert_eq!(r.created.len(), 1);
    assert_eq!(r.created[0].key.as_deref(), Some("686"));
    // Token, two list pages (active, then inactive), three writes.
    assert_eq!((r.requests, sim.stats.lists, sim.stats.patches, sim.stats.creates), (6, 2, 2, 1));
    let geoff = sim.users.iter().find(|u| u.id == "dek-123").unwrap();
    assert_eq!(geoff.last_name, "Smith\u{2011}Evans");
    assert!(!sim.users.iter().find(|u| u.id == "iux-332").unwrap().active);
    assert!(sim.users.iter().find(|u| u.id == "qai-928").unwrap().active, "the orphan is only reviewed");

    let again = drive(FOUNDRY, config(json!({})), src, 30, |r, now| sim.handle(r, now));
    let plan = again.report.plan.as_ref().unwrap();
    assert_eq!((plan.create, plan.update, plan.deactivate, plan.reactivate), (0, 0, 0, 0), "{plan:?}");
    assert_eq!(again.report.counts.done, 0);
}

#[test]
fn ten_thousand_changes_take_the_time_the_limit_implies_with_no_429() {
    let n = 10_000;
    let mut sim = FoundrySim::new((0..n).map(|i| user(i, "Old", true)).collect(), 2);
    let src = source((0..n).map(|i| (i, "New".to_string(), true)));
    let run = drive(FOUNDRY, config(json!({"concurrency": 8})), &src, 40, |r, now| sim.handle(r, now));
    let r = &run.report;
    assert_eq!(r.counts.done, n as u32, "{:?}", r.counts);
    assert_eq!(r.rate_limited, 0);
    assert_eq!(sim.stats.rate_limited, 0, "a lone client under the default limiter never sees a 429");
    assert!(sim.users.iter().all(|u| u.last_name == "New"));
    // 1 token + 100 + 1 list pages + 10,000 PATCHes at 200 per 60 s: the last batch starts
    // after (requests / 200 - 1) full windows.
    let requests = r.requests as f64;
    let implied_ms = ((requests / 200.0).ceil() - 1.0) * 60_000.0;
    let took = sim.stats.last_request_at as f64;
    let off = (took - implied_ms).abs() / implied_ms;
    println!(
        "10k changes: {} requests, last sent at {:.1} s simulated, implied {:.1} s ({:.2}% off)",
        r.requests,
        took / 1000.0,
        implied_ms / 1000.0,
        off * 100.0
    );
    assert!(off < 0.05, "took {took} ms, the limit implies {implied_ms} ms");
}

#[test]
fn with_the_window_tightened_to_half_every_action_still_completes_once() {
    let n = 3_000;
    let mut sim = FoundrySim::new((0..n).filter(|i| i % 2 == 0).map(|i| user(i, "Old", true)).collect(), 3);
    sim.limit = 100;
    let src = source((0..n).map(|i| (i, "New".to_string(), true)));
    let run = drive(FOUNDRY, config(json!({"concurrency": 4})), &src, 25, |r, now| sim.handle(r, now));
    let r = &run.report;
    assert!(r.finished && r.error.is_none());
    assert_eq!((r.counts.done, r.counts.failed), (n as u32, 0), "{:?}", r.counts);
    assert!(r.rate_limited > 0, "the half window is hit");
    assert_eq!(sim.users.len(), n, "no user created twice");
    let mut ssos: Vec<_> = sim.users.iter().map(|u| u.sso_id.clone()).collect();
    ssos.sort();
    ssos.dedup();
    assert_eq!(ssos.len(), n);
    println!(
        "half window: {} requests, {} 429s, {:.1} min simulated",
        r.requests,
        r.rate_limited,
        run.now as f64 / 60_000.0
    );
}

#[test]
fn lost_answers_to_creates_never_make_duplicates() {
    for seed in 1..=20 {
        let n = 200;
        let mut sim = FoundrySim::new(vec![], seed);
        sim.faults.drop_after_write = 0.3;
        sim.faults.drop_before = 0.05;
        sim.faults.error_5xx = 0.05;
        let src = source((0..n).map(|i| (i, "L".to_string(), true)));
        let run = drive(
            FOUNDRY,
            config(
                json!({"seed": seed, "retry": {"maxAttempts": 10, "maxRateLimited": 20, "baseMs": 200, "maxMs": 5000}}),
            ),
            &src,
            20,
            |r, now| sim.handle(r, now),
        );
        let r = &run.report;
        assert!(r.finished);
        assert_eq!(r.outcomes.len(), n);
        assert_eq!(sim.users.len(), r.counts.done as usize, "seed {seed}: every done create is one user, no more");
        assert_eq!(r.counts.done + r.counts.failed, n as u32, "seed {seed}: every action terminal");
        assert!(sim.stats.faults > 0);
        let ids: std::collections::HashSet<_> = r.created.iter().map(|c| c.platform_id.clone()).collect();
        assert_eq!(ids.len(), r.created.len());
        for c in &r.created {
            let u = sim.users.iter().find(|u| u.id == c.platform_id).expect("reported ID exists");
            assert_eq!(u.sso_id, c.key);
        }
    }
}

#[test]
fn retry_after_is_honoured() {
    let n = 500;
    let mut sim = FoundrySim::new((0..n).map(|i| user(i, "Old", true)).collect(), 4);
    sim.limit = 50;
    sim.faults.retry_after = true;
    let src = source((0..n).map(|i| (i, "New".to_string(), true)));
    let run = drive(FOUNDRY, config(json!({})), &src, 10, |r, now| sim.handle(r, now));
    assert_eq!(run.report.counts.done, n as u32);
    assert!(run.report.rate_limited > 0);
    // Retry-After says when the window frees; waiting for it keeps the 429s to a few per window.
    let windows = (run.now / 60_000) as u32 + 1;
    assert!(run.report.rate_limited <= windows * 8, "{} 429s in {} windows", run.report.rate_limited, windows);
}

#[test]
fn delta_sync_sends_only_the_changes_and_reports_new_ids() {
    let mut sim = FoundrySim::new(vec![user(1, "Old", true), user(2, "Two", true)], 5);
    let src = "platformId,ssoId,firstName,lastName,email,active\n\
               u1,1,F1,New,p1@example.org,true\n\
               u2,2,,,,false\n\
               ,3,F3,Three,p3@example.org,true\n";
    let run = drive(FOUNDRY, config(json!({"mode": "delta"})), src, 20, |r, now| sim.handle(r, now));
    let r = &run.report;
    assert_eq!(r.counts.done, 3, "{r:?}");
    assert_eq!(sim.stats.lists, 0, "no listing in a delta sync");
    assert_eq!(r.requests, 4, "token + 3 writes");
    assert_eq!(r.created.len(), 1);
    assert_eq!((r.created[0].key.as_deref(), r.created[0].row), (Some("3"), Some(4)));
    assert!(sim.users.iter().any(|u| u.id == r.created[0].platform_id));
    assert_eq!(sim.users[0].last_name, "New");
    assert!(!sim.users[1].active);
}

#[test]
fn refused_credentials_fail_every_action_and_never_show_the_secret() {
    let mut sim = FoundrySim::new(vec![user(1, "Old", true)], 6);
    let src = source([(1, "New".to_string(), true), (2, "X".to_string(), true)].into_iter());
    let cfg = json!({"baseUrl": BASE, "mode": "delta", "credentials": {"clientId": "sim-client", "clientSecret": "wrong-secret-77"}});
    let delta = "platformId,ssoId,firstName,lastName,email,active\nu1,1,F1,New,p1@example.org,true\n";
    let _ = src;
    let run = drive(FOUNDRY, cfg, delta, 20, |r, now| sim.handle(r, now));
    let r = &run.report;
    assert_eq!(r.error.as_ref().map(|e| e.code.as_str()), Some("AUTH_FAILED"));
    assert_eq!(r.counts.failed, 1);
    let text = serde_json::to_string(r).unwrap();
    assert!(!text.contains("wrong-secret-77"), "{text}");
}

#[test]
fn an_expired_token_is_fetched_again() {
    let mut sim = FoundrySim::new((0..300).map(|i| user(i, "Old", true)).collect(), 7);
    let src = source((0..300).map(|i| (i, "New".to_string(), true)));
    let mut calls = 0;
    let run = drive(FOUNDRY, config(json!({})), &src, 20, |r, now| {
        calls += 1;
        if calls == 150 {
            sim.revoke_tokens();
        }
        sim.handle(r, now)
    });
    assert_eq!(run.report.counts.done, 300);
    assert_eq!(run.report.counts.failed, 0);
}

#[test]
fn fault_injection_over_many_seeds_every_action_terminal_no_duplicates_and_convergence() {
    let (mut runs, mut faults, mut done, mut failed, mut retries, mut limited) = (0, 0, 0, 0, 0, 0);
    for seed in 1..=100u64 {
        let n = 120;
        // Existing users: even keys; odd keys are new. Every third existing one is renamed,
        // every fifth learner has left.
        let existing: Vec<SimUser> = (0..n).filter(|i| i % 2 == 0).map(|i| user(i, "Old", true)).collect();
        let mut sim = FoundrySim::new(existing, seed);
        sim.limit = [200, 60, 30][(seed % 3) as usize];
        sim.faults.retry_after = seed % 2 == 0;
        sim.faults.error_5xx = 0.05;
        sim.faults.drop_after_write = 0.1;
        sim.faults.drop_before = 0.05;
        sim.faults.malformed = 0.05;
        // The bad-day faults: a filter ignored (lookups list other users), short tokens.
        sim.ignores_filter = seed % 5 == 0;
        sim.announced_token_ttl = [None, Some(0), Some(30)][(seed % 3) as usize];
        let src =
            source((0..n).map(|i| (i, if i % 3 == 0 { "New".to_string() } else { "Old".to_string() }, i % 5 != 0)));
        let retry = json!({"maxAttempts": 12, "maxRateLimited": 40, "baseMs": 200, "maxMs": 20_000});
        let run = drive(FOUNDRY, config(json!({"seed": seed, "retry": retry})), &src, 15, |r, now| sim.handle(r, now));
        let r = &run.report;
        assert!(r.finished, "seed {seed}");
        if r.error.is_none() {
            let planned = r.outcomes.len() as u32;
            assert_eq!(
                r.counts.done + r.counts.failed + r.counts.skipped,
                planned,
                "seed {seed}: every action terminal"
            );
        }
        for c in &r.created {
            let u = sim.users.iter().find(|u| u.id == c.platform_id).expect("a reported ID exists");
            assert_eq!(u.sso_id, c.key, "seed {seed}: created reports the learner's own account");
        }
        let mut keys: Vec<_> = sim.users.iter().map(|u| u.sso_id.clone()).collect();
        keys.sort();
        let before = keys.len();
        keys.dedup();
        assert_eq!(keys.len(), before, "seed {seed}: a user created twice");
        runs += 1;
        faults += sim.stats.faults;
        done += r.counts.done;
        failed += r.counts.failed;
        retries += r.retries;
        limited += r.rate_limited;
        // Faults off: the next run finishes the job; the one after has nothing left to do.
        sim.faults = Default::default();
        sim.ignores_filter = false;
        sim.announced_token_ttl = None;
        let again = drive(FOUNDRY, config(json!({})), &src, 15, |r, now| sim.handle(r, now));
        assert_eq!(again.report.counts.failed, 0, "seed {seed}");
        let third = drive(FOUNDRY, config(json!({})), &src, 15, |r, now| sim.handle(r, now));
        let p = third.report.plan.as_ref().unwrap();
        assert_eq!((p.create, p.update, p.deactivate, p.reactivate), (0, 0, 0, 0), "seed {seed}: converged");
    }
    println!("fault injection: {runs} runs, {faults} faults injected, {done} actions done, {failed} failed, {retries} retries, {limited} 429s seen; every run converged");
}

#[test]
fn poll_timeout_only_looks_asking_it_changes_neither_its_answer_nor_the_run() {
    // A run whose rate bucket holds its requests back (2 per 10 s), with a minute's time
    // allowance: it waits for a slot, well within the allowance.
    let users: Vec<SimUser> = (0..40).map(|i| user(i, "Old", true)).collect();
    let mut sim = FoundrySim::new(users, 3);
    let options = learner_sync::PlanOptions::from_json(FOUNDRY.as_bytes()).unwrap();
    let sync_options = config(json!({"rate": {"limit": 2, "windowMs": 10_000}, "budget": {"ms": 60_000}}));
    let sync_options = learner_sync::sync::SyncOptions::from_json(sync_options.to_string().as_bytes()).unwrap();
    let mut e = learner_sync::sync::SyncEngine::new(options, sync_options).unwrap();
    let src = source((0..40).map(|i| (i, "New".to_string(), true)));
    e.add_source(src.as_bytes(), learner_sync::SourceFormat::Auto, "source.csv").unwrap();
    let mut now = 0;
    e.start(now).unwrap();
    let wake = loop {
        let mut sent = Vec::new();
        while let Some(req) = e.poll_transmit(now) {
            sent.push((req.id, sim.handle(&req, now)));
        }
        if let (true, Some(w)) = (sent.is_empty(), e.poll_timeout(now).filter(|&w| w > now)) {
            break w;
        }
        now += 20;
        for (id, answer) in sent {
            e.handle_response(id, now, answer);
        }
        assert!(now < 60_000 && !e.is_finished(), "the bucket never held a request back");
    };
    assert!(!e.is_suspended() && !e.is_finished());
    let before = e.checkpoint();
    // Asked at other times (a host whose clock jumped past the allowance, or went back), it
    // says when; it neither stops the invocation nor moves the bucket.
    for at in [now, now + 1, wake, now + 59_000, now + 1_000_000_000, 0] {
        let _ = e.poll_timeout(at);
    }
    assert_eq!(e.poll_timeout(now), Some(wake));
    assert!(!e.is_suspended(), "a look stopped the invocation");
    assert!(e.checkpoint() == before, "a look changed the run's state");
}
