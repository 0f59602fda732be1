//! Checkpoints on a simulated Foundry and clock: a run that stops at a budget and resumes,
//! invocation after invocation, ends where one uninterrupted run ends; a run killed between
//! checkpoints resumes from the last one without creating anyone twice.

mod support;

use std::collections::{BTreeMap, HashSet};

use learner_sync::sync::{Phase, Response, State, SyncEngine, SyncOptions, TransportError};
use learner_sync::{ActionKind, PlanOptions, SourceFormat};
use serde_json::{json, Value};
use support::foundry::{user, FoundrySim, BASE};

const FOUNDRY: &str = r#"{"platform":"foundry","match":["ssoId","email"]}"#;

fn options() -> PlanOptions {
    PlanOptions::from_json(FOUNDRY.as_bytes()).unwrap()
}

/// `n` learners: even ones exist on the platform, odd ones are new; every third existing one
/// is renamed; every seventh learner has left.
fn realm(n: usize, seed: u64) -> (FoundrySim, String) {
    let existing = (0..n).filter(|i| i % 2 == 0).map(|i| user(i, "Old", true)).collect();
    let mut src = String::from("ssoId,firstName,lastName,email,active\n");
    for i in 0..n {
        let last = if i % 3 == 0 { "New" } else { "Old" };
        src.push_str(&format!("{i},F{i},{last},p{i}@example.org,{}\n", i % 7 != 0));
    }
    (FoundrySim::new(existing, seed), src)
}

fn sync_options_with(extra: Value) -> Value {
    let mut c = json!({"baseUrl": BASE, "credentials": FoundrySim::credentials(), "pageSize": 25});
    for (k, v) in extra.as_object().unwrap() {
        c[k] = v.clone();
    }
    c
}

#[derive(Debug, PartialEq)]
enum End {
    Finished,
    Suspended,
    /// Killed after this many requests: nothing more was saved.
    Killed,
}

/// One invocation on the simulated clock, from `*now`. Saves a checkpoint into `saved` each
/// time the engine asks, and at the end when suspended. `kill_after`: the invocation dies
/// after sending that many requests (answers lost, no checkpoint written).
fn invocation(
    engine: &mut SyncEngine,
    now: &mut u64,
    sim: &mut FoundrySim,
    saved: &mut Vec<u8>,
    kill_after: Option<u32>,
) -> End {
    engine.start(*now).unwrap();
    let latency = 20;
    let mut pending: BTreeMap<(u64, u64), Result<Response, TransportError>> = BTreeMap::new();
    let mut sent = 0u32;
    loop {
        while let Some(req) = engine.poll_transmit(*now) {
            let answer = sim.handle(&req, *now);
            pending.insert((*now + latency, req.id), answer);
            sent += 1;
            if kill_after.is_some_and(|k| sent >= k) {
                return End::Killed;
            }
        }
        while engine.poll_event().is_some() {}
        if engine.wants_checkpoint() {
            *saved = engine.checkpoint();
            engine.checkpoint_saved();
            continue;
        }
        if engine.is_finished() {
            return End::Finished;
        }
        if engine.is_suspended() {
            *saved = engine.checkpoint();
            return End::Suspended;
        }
        let wake = engine.poll_timeout(*now);
        if engine.is_suspended() {
            // The next wait would outlast the invocation's time budget.
            continue;
        }
        let next = match (pending.keys().next().map(|k| k.0), wake) {
            (Some(a), Some(w)) => a.min(w),
            (Some(a), None) => a,
            (None, Some(w)) => w,
            (None, None) => panic!("stalled at {now}"),
        };
        *now = (*now).max(next);
        while let Some(entry) = pending.first_entry() {
            if entry.key().0 > *now {
                break;
            }
            let ((_, id), answer) = entry.remove_entry();
            engine.handle_response(id, *now, answer);
        }
    }
}

/// The engine for the next invocation: a new run, or one resumed from `saved`, given the
/// source again where it still needs it.
fn next_engine(saved: &[u8], source: &str, extra: &Value, now: u64) -> SyncEngine {
    let mut e = resume_engine(saved, source, extra);
    e.abandon_in_flight(now);
    e
}

/// As [`next_engine`], keeping requests in flight in flight.
fn resume_engine(saved: &[u8], source: &str, extra: &Value) -> SyncEngine {
    let mut engine = if saved.is_empty() {
        let config = SyncOptions::from_json(sync_options_with(extra.clone()).to_string().as_bytes()).unwrap();
        SyncEngine::new(options(), config).unwrap()
    } else {
        // Through JavaScript's JSON, as a Worker's KV or a low-code platform would keep it.
        let text: Value = serde_json::from_slice(saved).unwrap();
        let sync_options =
            json!({"baseUrl": BASE, "credentials": FoundrySim::credentials(), "budget": extra.get("budget")});
        SyncEngine::resume(text.to_string().as_bytes(), &sync_options, Some(&options())).unwrap()
    };
    if engine.needs_source() {
        engine.add_source(source.as_bytes(), SourceFormat::Auto, "source.csv").unwrap();
    }
    engine
}

fn one_run(n: usize, seed: u64, extra: Value) -> (learner_sync::sync::SyncReport, FoundrySim) {
    let (mut sim, src) = realm(n, seed);
    let mut engine = next_engine(&[], &src, &extra, 0);
    let (mut now, mut saved) = (0, Vec::new());
    assert_eq!(invocation(&mut engine, &mut now, &mut sim, &mut saved, None), End::Finished);
    (engine.report(now), sim)
}

fn assert_unique_keys(sim: &FoundrySim) {
    let mut seen = HashSet::new();
    for u in &sim.users {
        assert!(seen.insert(u.sso_id.clone()), "{:?} was created twice", u.sso_id);
    }
}

fn states(report: &learner_sync::sync::SyncReport) -> Vec<(String, Option<String>, State)> {
    report.outcomes.iter().map(|o| (o.action.name().to_string(), o.key.clone(), o.state)).collect()
}

#[test]
fn a_budgeted_run_resumes_across_invocations_and_ends_as_one_run_does() {
    let (whole, whole_sim) = one_run(400, 7, json!({"pageSize": 10}));
    let (mut sim, src) = realm(400, 7);
    let extra = json!({"budget": {"requests": 12}, "pageSize": 10});
    let (mut saved, mut now, mut ticks) = (Vec::new(), 0u64, 0);
    let mut suspended_in = HashSet::new();
    let report = loop {
        let mut engine = next_engine(&saved, &src, &extra, now);
        let end = invocation(&mut engine, &mut now, &mut sim, &mut saved, None);
        ticks += 1;
        assert!(engine.report(now).requests <= 12 * ticks, "the budget holds");
        if end == End::Finished {
            break engine.report(now);
        }
        assert_eq!(end, End::Suspended);
        suspended_in.insert(engine.phase());
        now += 60_000; // the next cron tick
        assert!(ticks < 200, "no progress");
    };
    assert!(report.finished && report.error.is_none(), "{:?}", report.error);
    assert_eq!(report.invocations, ticks);
    assert!(ticks >= whole.requests / 12, "{ticks} invocations for {} requests", whole.requests);
    assert!(
        suspended_in.contains(&Phase::Listing) && suspended_in.contains(&Phase::Applying),
        "the listing and the writes both spanned invocations: {suspended_in:?}"
    );
    // The same plan, the same outcomes, the same requests as one uninterrupted run: nothing
    // repeated, nothing lost.
    assert_eq!(report.plan, whole.plan);
    assert_eq!(states(&report), states(&whole));
    assert_eq!(report.counts, whole.counts);
    assert_eq!(report.requests - (ticks - 1), whole.requests, "one token per invocation, no other extra request");
    assert_eq!((sim.stats.creates, sim.stats.patches), (whole_sim.stats.creates, whole_sim.stats.patches));
    assert_eq!(report.created.len(), whole.created.len());
    assert_unique_keys(&sim);
}

#[test]
fn a_run_killed_between_checkpoints_resumes_without_creating_anyone_twice() {
    let (mut kills, mut resumed_lookups) = (0, 0);
    for seed in 1..=40u64 {
        let (mut sim, src) = realm(240, seed);
        let extra = json!({"budget": {"requests": 40}, "claimBatch": 8});
        let (mut saved, mut now, mut ticks) = (Vec::new(), 0u64, 0u32);
        let mut rng = seed;
        let report = loop {
            let mut engine = next_engine(&saved, &src, &extra, now);
            rng = rng.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            // Every other invocation dies somewhere in its budget.
            let kill = (ticks % 2 == 1).then_some(((rng >> 33) % 38 + 2) as u32);
            let end = invocation(&mut engine, &mut now, &mut sim, &mut saved, kill);
            ticks += 1;
            match end {
                End::Finished => break engine.report(now),
                End::Killed => kills += 1,
                End::Suspended => {}
            }
            now += 60_000;
            assert!(ticks < 500, "seed {seed}: no progress");
        };
        assert!(report.finished && report.error.is_none(), "seed {seed}: {:?}", report.error);
        assert_eq!(report.counts.failed, 0, "seed {seed}");
        // Every write is done and known as ours: none ends "skipped" as someone else's user.
        let writes_skipped: Vec<_> =
            report.outcomes.iter().filter(|o| o.state == State::Skipped && o.action != ActionKind::Review).collect();
        assert!(writes_skipped.is_empty(), "seed {seed}: {writes_skipped:?}");
        assert_unique_keys(&sim);
        resumed_lookups +=
            report.outcomes.iter().filter(|o| o.reason.as_deref().is_some_and(|r| r.contains("lookup"))).count();
        // Nothing left undone: the next run has nothing to write.
        let mut engine = next_engine(&[], &src, &json!({}), now);
        let mut again = Vec::new();
        assert_eq!(invocation(&mut engine, &mut now, &mut sim, &mut again, None), End::Finished);
        let p = engine.report(now).plan.unwrap();
        assert_eq!((p.create, p.update, p.deactivate, p.reactivate), (0, 0, 0, 0), "seed {seed}: converged");
    }
    assert!(kills >= 40, "kills happened ({kills})");
    assert!(resumed_lookups > 0, "some creates were settled by a lookup after a kill");
}

#[test]
fn requests_in_flight_survive_a_checkpoint_and_their_answers_land_in_the_resumed_run() {
    // The stateless style: the host sends what the engine gave, keeps only the checkpoint,
    // and hands the answers to the engine resumed from it. It keeps no token either, so each
    // step fetches one: with one request at a time, the token and the request it is for must
    // still go in the same step, or no step would send anything but a token.
    for extra in [json!({}), json!({"concurrency": 1})] {
        let (whole, _) = one_run(120, 3, extra.clone());
        let (mut sim, src) = realm(120, 3);
        let mut saved = Vec::new();
        let mut now = 0u64;
        let mut answers: Vec<(u64, Result<Response, TransportError>)> = Vec::new();
        let mut steps = 0;
        let report = loop {
            let mut engine = resume_engine(&saved, &src, &extra);
            engine.start(now).unwrap();
            for (id, a) in answers.drain(..) {
                engine.handle_response(id, now, a);
            }
            while let Some(req) = engine.poll_transmit(now) {
                answers.push((req.id, sim.handle(&req, now)));
            }
            if engine.is_finished() {
                break engine.report(now);
            }
            saved = engine.checkpoint();
            now = engine.poll_timeout(now).unwrap_or(now + 20).max(now + 20);
            steps += 1;
            assert!(steps < 5000, "{extra}: no progress in {steps} steps");
        };
        assert_eq!(states(&report), states(&whole), "{extra}");
        assert_eq!(report.counts, whole.counts, "{extra}");
        assert_unique_keys(&sim);
    }
}

#[test]
fn a_checkpoint_holds_no_credential_and_no_token() {
    let (mut sim, src) = realm(200, 5);
    let mut engine = next_engine(&[], &src, &json!({"budget": {"requests": 12}}), 0);
    let (mut now, mut saved) = (0, Vec::new());
    assert_eq!(invocation(&mut engine, &mut now, &mut sim, &mut saved, None), End::Suspended);
    let text = String::from_utf8(saved).unwrap();
    assert!(text.contains("learnerSyncCheckpoint"));
    for secret in ["sim-secret-3f9a", "sim-client", "sim-token"] {
        assert!(!text.contains(secret), "the checkpoint holds {secret}");
    }
}

#[test]
fn a_wait_longer_than_the_time_budget_ends_the_invocation_instead() {
    let (mut sim, src) = realm(300, 9);
    sim.limit = 20; // the platform's budget is far below what the client was told
    sim.faults.retry_after = true;
    let extra = json!({"budget": {"ms": 5_000}});
    let (mut saved, mut now, mut ticks) = (Vec::new(), 0u64, 0);
    loop {
        let mut engine = next_engine(&saved, &src, &extra, now);
        let start = now;
        let end = invocation(&mut engine, &mut now, &mut sim, &mut saved, None);
        ticks += 1;
        // Answers in flight at the deadline are awaited (20 ms each); no pause is begun past it.
        assert!(now <= start + 5_000 + 20, "invocation {ticks} ran from {start} to {now}");
        if end == End::Finished {
            let r = engine.report(now);
            assert!(r.finished && r.counts.failed == 0, "{:?}", r.counts);
            break;
        }
        now += 60_000;
        assert!(ticks < 100);
    }
    assert!(ticks > 2);
    assert_unique_keys(&sim);
}

#[test]
fn resuming_with_other_options_or_without_the_source_is_refused() {
    let (mut sim, src) = realm(200, 2);
    let mut engine = next_engine(&[], &src, &json!({"budget": {"requests": 3}}), 0);
    let (mut now, mut saved) = (0, Vec::new());
    assert_eq!(invocation(&mut engine, &mut now, &mut sim, &mut saved, None), End::Suspended);
    let sync_options = json!({"baseUrl": BASE, "credentials": FoundrySim::credentials()});
    let other = PlanOptions::from_json(br#"{"platform":"foundry","match":["ssoId"]}"#).unwrap();
    let e = SyncEngine::resume(&saved, &sync_options, Some(&other)).err().unwrap();
    assert_eq!(e.code(), "CHECKPOINT_MISMATCH");
    let moved = json!({"credentials": FoundrySim::credentials(), "baseUrl": "https://api.fifoundry.net"});
    assert_eq!(SyncEngine::resume(&saved, &moved, None).err().unwrap().code(), "CHECKPOINT_MISMATCH");
    // Mid-listing, the source is needed again: starting without it is refused.
    let mut e = SyncEngine::resume(&saved, &sync_options, Some(&options())).unwrap();
    assert!(e.needs_source());
    assert_eq!(e.start(now).unwrap_err().code(), "INVALID_CHECKPOINT");
    // Credentials are not in the checkpoint: resuming without them is refused.
    assert_eq!(SyncEngine::resume(&saved, &json!({"baseUrl": BASE}), None).err().unwrap().code(), "AUTH_FAILED");
}

#[test]
fn a_resumed_listing_never_plans_against_a_missing_source() {
    // The stateless style hands answers back before starting. If the last page's answer comes
    // to a run resumed without its source, the run stops instead of planning against nothing.
    let (mut sim, src) = realm(60, 4);
    let mut engine = next_engine(&[], &src, &json!({"pageSize": 100}), 0);
    engine.start(0).unwrap();
    let mut now = 0;
    // Token, the active pass's one page, then the inactive pass's: the last listing request.
    let last = loop {
        let req = engine.poll_transmit(now).expect("listing goes one request at a time");
        if req.url.contains("active") {
            break req;
        }
        now += 10;
        engine.handle_response(req.id, now, sim.handle(&req, now));
    };
    let saved = engine.checkpoint();
    let answer = sim.handle(&last, now + 5);
    let sync_options = json!({"baseUrl": BASE, "credentials": FoundrySim::credentials()});

    let mut forgetful = SyncEngine::resume(&saved, &sync_options, None).unwrap();
    assert!(forgetful.needs_source());
    forgetful.handle_response(last.id, now + 10, answer.clone());
    assert!(forgetful.is_finished());
    let r = forgetful.report(now + 10);
    assert_eq!(r.error.as_ref().map(|e| e.code.as_str()), Some("INVALID_INPUT"), "{:?}", r.error);
    assert!(r.plan.is_none() && r.outcomes.is_empty(), "nothing planned");

    let mut careful = resume_engine(&saved, &src, &json!({}));
    careful.handle_response(last.id, now + 10, answer);
    careful.start(now + 10).unwrap();
    assert!(careful.report(now + 10).plan.is_some_and(|p| p.create > 0 && p.learners == 60));
}

// A checkpoint (or a step state) is stored by the host, and may be edited by whoever can reach
// that storage: every field is read as hostile (issue 10, item 6).

/// A checkpoint saved while applying, with writes queued and none in flight.
fn applying_checkpoint() -> (Value, FoundrySim, String, u64) {
    let (mut sim, src) = realm(200, 11);
    let extra = json!({"budget": {"requests": 30}});
    let (mut saved, mut now) = (Vec::new(), 0u64);
    for _ in 0..50 {
        let mut engine = next_engine(&saved, &src, &extra, now);
        assert_eq!(invocation(&mut engine, &mut now, &mut sim, &mut saved, None), End::Suspended);
        let v: Value = serde_json::from_slice(&saved).unwrap();
        let writes = v["ready"].as_array().unwrap().iter().filter(|j| j["k"].get("write").is_some()).count();
        if v["phase"] == "applying" && writes >= 2 {
            return (v, sim, src, now + 60_000);
        }
        now += 60_000;
    }
    panic!("the run never suspended while applying");
}

fn resume_text(v: &Value, sync_options: &Value) -> Result<SyncEngine, learner_sync::Error> {
    SyncEngine::resume(v.to_string().as_bytes(), sync_options, Some(&options()))
}

fn host() -> Value {
    json!({"baseUrl": BASE, "credentials": FoundrySim::credentials()})
}

#[test]
fn a_checkpoint_edited_to_another_base_url_is_a_mismatch_and_one_without_the_hosts_base_url_is_refused() {
    let (mut v, _, _, _) = applying_checkpoint();
    v["config"]["baseUrl"] = json!("https://elsewhere.example");
    // The host names its platform: the edited checkpoint disagrees.
    assert_eq!(resume_text(&v, &host()).err().unwrap().code(), "CHECKPOINT_MISMATCH");
    // The host names none: the checkpoint's is never taken, whatever it says.
    let e = resume_text(&v, &json!({"credentials": FoundrySim::credentials()})).err().unwrap();
    assert_eq!(e.code(), "INVALID_OPTIONS");
    assert!(e.to_string().contains("baseUrl is required"), "{e}");
    v["config"]["baseUrl"] = json!(BASE);
    assert!(resume_text(&v, &json!({"credentials": FoundrySim::credentials()})).is_err());
    assert!(resume_text(&v, &host()).is_ok(), "the untouched checkpoint resumes");
}

#[test]
fn how_a_resumed_run_signs_comes_from_the_host_not_the_checkpoint() {
    let (mut v, mut sim, _, now) = applying_checkpoint();
    // Edited to say the host signs: the run would send its writes unsigned, or (the other way)
    // sign with credentials the host meant to keep. The host's word holds.
    v["config"]["hostAuth"] = json!(true);
    v["config"]["credentials"] = json!({"clientId": "other", "clientSecret": "planted-secret"});
    let mut engine = resume_text(&v, &host()).unwrap();
    engine.abandon_in_flight(now);
    engine.start(now).unwrap();
    let token = engine.poll_transmit(now).expect("a token request");
    assert!(token.url.ends_with("/oauth/token"));
    let body = String::from_utf8(token.body.clone()).unwrap();
    assert!(body.contains("client_id=sim-client") && !body.contains("planted"), "the host's credentials");
    engine.handle_response(token.id, now + 5, sim.handle(&token, now + 5));
    let write = engine.poll_transmit(now + 5).expect("a write");
    assert!(write.headers.iter().any(|(k, v)| k == "authorization" && v.starts_with("Bearer ")), "signed");
}

#[test]
fn a_checkpoint_whose_rate_window_could_never_free_a_slot_is_refused() {
    let (v, _, _, _) = applying_checkpoint();
    for (field, value) in
        [("limit", json!(0)), ("configured", json!(0)), ("windowMs", json!(0)), ("inFlight", json!(1_000_000))]
    {
        let mut bad = v.clone();
        bad["rate"][field] = value;
        let e = resume_text(&bad, &host()).err().unwrap_or_else(|| panic!("rate.{field} accepted"));
        assert_eq!(e.code(), "INVALID_CHECKPOINT", "rate.{field}");
    }
}

#[test]
fn a_checkpoint_whose_rate_bucket_is_hostile_is_refused() {
    // Format 2 (issue 11): the rate is a fraction, the bucket holds tokens and what the
    // platform's headers left; none may be negative, past the configured limit or not a number.
    let (v, _, _, _) = applying_checkpoint();
    assert!(resume_text(&v, &host()).is_ok(), "the untouched checkpoint");
    for (field, value) in [
        ("limit", json!(-1.5)),
        ("limit", json!(1e300)),
        ("limit", json!("fast")),
        ("ceiling", json!(0)),
        ("ceiling", json!(1e9)),
        ("burst", json!(0)),
        ("burst", json!(1_000_000)),
        ("tokens", json!(-1)),
        ("tokens", json!(1e12)),
        ("allowance", json!(-3)),
        ("allowance", json!(1e12)),
        ("stale", json!(7)),
        ("congested", json!("yes")),
        // What it learned of the platform: a window past a day, a measured rate past the
        // configured one, accepted requests out of order or more than it remembers.
        ("platformWindowMs", json!(86_400_001)),
        ("platformWindowMs", json!(-1)),
        ("measured", json!(-1)),
        ("measured", json!(1e9)),
        ("acceptedAt", json!([5, 3])),
        ("acceptedAt", json!((0..5000).collect::<Vec<u64>>())),
    ] {
        let mut bad = v.clone();
        bad["rate"][field] = value.clone();
        let e = resume_text(&bad, &host()).err().unwrap_or_else(|| panic!("rate.{field} = {value} accepted"));
        assert_eq!(e.code(), "INVALID_CHECKPOINT", "rate.{field} = {value}");
    }
    // A checkpoint of format 1 (a rate window, before the bucket) is refused by its number.
    let mut old = v.clone();
    old["learnerSyncCheckpoint"] = json!(1);
    let e = resume_text(&old, &host()).err().expect("format 1 accepted");
    assert!(e.to_string().contains("format 1"), "{e}");
}

#[test]
fn a_checkpoint_with_an_http_status_outside_100_to_599_is_refused() {
    let (v, _, _, _) = applying_checkpoint();
    let settled = v["plan"]["states"].as_array().unwrap().iter().position(|s| s.get("state").is_some()).unwrap();
    for status in [0, 99, 600, 65535] {
        let mut bad = v.clone();
        bad["plan"]["states"][settled]["status"] = json!(status);
        let e = resume_text(&bad, &host()).err().unwrap_or_else(|| panic!("status {status} accepted"));
        assert_eq!(e.code(), "INVALID_CHECKPOINT", "status {status}");
    }
}

#[test]
fn a_checkpoint_that_queues_a_write_twice_or_one_the_plan_does_not_send_is_refused() {
    let (v, _, _, _) = applying_checkpoint();
    let first = v["ready"].as_array().unwrap().iter().find(|j| j["k"].get("write").is_some()).unwrap().clone();
    // The same create twice: it would be sent twice.
    let mut twice = v.clone();
    twice["ready"].as_array_mut().unwrap().push(first.clone());
    assert_eq!(resume_text(&twice, &host()).err().unwrap().code(), "INVALID_CHECKPOINT");
    // A write for an action already done: it would be sent again.
    let states = v["plan"]["states"].as_array().unwrap();
    let done = (0..states.len()).find(|&i| states[i]["state"] == "done").expect("an action done");
    let mut again = v.clone();
    again["ready"].as_array_mut().unwrap().push(json!({"k": {"write": done}}));
    assert_eq!(resume_text(&again, &host()).err().unwrap().code(), "INVALID_CHECKPOINT");
    // A write for an action the run did not queue (skipped: here, a dry run's).
    let mut stray = v.clone();
    let idle = (0..states.len()).find(|&i| states[i].get("queued").is_none());
    if let Some(idle) = idle {
        stray["ready"].as_array_mut().unwrap().push(json!({"k": {"write": idle}}));
        assert_eq!(resume_text(&stray, &host()).err().unwrap().code(), "INVALID_CHECKPOINT");
    }
    // Actions marked queued in a plan held by the mass-change guard (or a dry run), which
    // sends nothing: an edit to push a held plan through.
    let mut held = v.clone();
    held["plan"]["held"] =
        json!({"reason": "x", "deactivations": 60, "limit": 5, "managedUsers": 100, "fingerprint": "f"});
    assert_eq!(resume_text(&held, &host()).err().unwrap().code(), "INVALID_CHECKPOINT");
    let mut dry = v.clone();
    dry["config"]["dryRun"] = json!(true);
    assert_eq!(resume_text(&dry, &host()).err().unwrap().code(), "INVALID_CHECKPOINT");
    // A token request can only be in flight, never queued.
    let mut token = v.clone();
    token["ready"].as_array_mut().unwrap().push(json!({"k": "token"}));
    assert_eq!(resume_text(&token, &host()).err().unwrap().code(), "INVALID_CHECKPOINT");
}

#[test]
fn a_checkpoint_whose_counts_or_waits_disagree_with_its_actions_is_refused() {
    let (v, _, _, _) = applying_checkpoint();
    for (path, value) in [
        (["counters", "writesTotal"], json!(1_000_000)),
        (["counters", "writesSettled"], json!(u32::MAX)),
        (["counters", "nextId"], json!(1u64 << 60)),
    ] {
        let mut bad = v.clone();
        bad[path[0]][path[1]] = value;
        let e = resume_text(&bad, &host()).err().unwrap_or_else(|| panic!("{path:?} accepted"));
        assert_eq!(e.code(), "INVALID_CHECKPOINT", "{path:?}");
    }
    // An action waiting for a write nobody will announce would never be sent: the run would
    // never end.
    let states = v["plan"]["states"].as_array().unwrap();
    let open = (0..states.len()).find(|&i| states[i].get("state").is_none()).expect("an action not settled");
    let mut stuck = v.clone();
    stuck["plan"]["states"][open]["waiting"] = json!(3);
    assert_eq!(resume_text(&stuck, &host()).err().unwrap().code(), "INVALID_CHECKPOINT");
}

#[test]
fn a_request_id_in_flight_is_never_reused_whatever_next_id_says() {
    let (mut v, mut sim, src, now) = applying_checkpoint();
    // A write in flight with id 500, and a next id that would give 500 again.
    let job = v["ready"].as_array_mut().unwrap().remove(0);
    v["inFlight"] = json!([[500, job]]);
    v["counters"]["nextId"] = json!(498);
    if let Some(r) = v.get_mut("rate") {
        r["inFlight"] = json!(1);
    }
    let mut engine = resume_text(&v, &host()).unwrap();
    assert!(engine.is_in_flight(500));
    engine.start(now).unwrap();
    let mut ids = vec![];
    while let Some(req) = engine.poll_transmit(now) {
        ids.push(req.id);
        let answer = sim.handle(&req, now);
        engine.handle_response(req.id, now, answer);
        if ids.len() > 3 {
            break;
        }
    }
    assert!(!ids.is_empty() && ids.iter().all(|&id| id > 500), "{ids:?}");
    let _ = src;
}

#[test]
fn a_checkpoint_whose_waits_end_years_past_its_pause_is_refused_when_it_resumes() {
    let (v, _, _, now) = applying_checkpoint();
    let decade = now + 10 * 365 * 24 * 3_600_000;
    assert!(resume_text(&v, &host()).unwrap().check_clock(now).is_ok(), "the untouched checkpoint");
    // A long 429 pause is the platform's word: the run resumed within it suspends again.
    let mut paused = v.clone();
    paused["counters"]["pausedUntil"] = json!(decade);
    assert!(resume_text(&paused, &host()).unwrap().check_clock(now).is_ok(), "a long pause");
    let job = v["ready"][0].clone();
    for edit in ["pausedUntil", "tokenNotBefore", "delayed", "freesAt"] {
        let mut bad = v.clone();
        match edit {
            "pausedUntil" => bad["counters"]["pausedUntil"] = json!(1u64 << 60),
            "delayed" => bad["delayed"] = json!([[decade, job]]),
            "freesAt" => bad["rate"]["freesAt"] = json!([decade]),
            counter => bad["counters"][counter] = json!(decade),
        }
        if edit == "delayed" {
            bad["ready"].as_array_mut().unwrap().remove(0);
        }
        let engine = resume_text(&bad, &host()).unwrap_or_else(|e| panic!("{edit}: {e}"));
        assert_eq!(engine.check_clock(now).unwrap_err().code(), "INVALID_CHECKPOINT", "{edit}");
    }
}
