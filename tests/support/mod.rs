//! Test support: simulated platforms and a driver that runs a sync on a simulated clock.
#![allow(dead_code)]

pub mod foundry;

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use learner_sync::sync::{Request, Response, SyncEngine, SyncOptions, SyncReport, TransportError};
use learner_sync::{PlanOptions, SourceFormat};

/// The result of a driven run.
pub struct Run {
    pub report: SyncReport,
    /// Simulated time at the end, ms.
    pub now: u64,
    pub events: usize,
}

/// Runs a sync against `handle` (a simulated platform) on a simulated clock: each request
/// takes `latency_ms` to be answered. Panics if the run stalls.
pub fn drive(
    options: &str,
    config: serde_json::Value,
    source: &str,
    latency_ms: u64,
    handle: impl FnMut(&Request, u64) -> Result<Response, TransportError>,
) -> Run {
    let opts = PlanOptions::from_json(options.as_bytes()).unwrap();
    let config = SyncOptions::from_json(config.to_string().as_bytes()).unwrap();
    let mut sync = SyncEngine::new(opts, config).unwrap();
    sync.add_source(source.as_bytes(), SourceFormat::Auto, "source.csv").unwrap();
    drive_engine(sync, latency_ms, handle)
}

/// Runs a prepared engine (see [`drive`]).
pub fn drive_engine(
    sync: SyncEngine,
    latency_ms: u64,
    mut handle: impl FnMut(&Request, u64) -> Result<Response, TransportError>,
) -> Run {
    let mut runs = drive_engines(vec![sync], || latency_ms, |_, req, now| handle(req, now));
    runs.pop().expect("one run per engine")
}

/// Runs several engines at once on one simulated clock, all sending to `handle` (one
/// platform, one organisation's budget), which is told which engine sent each request;
/// `latency_ms` gives each request's round trip. Returns one [`Run`] per engine, each ending
/// when that engine finished. Panics if the runs stall.
pub fn drive_engines(
    mut syncs: Vec<SyncEngine>,
    mut latency_ms: impl FnMut() -> u64,
    mut handle: impl FnMut(usize, &Request, u64) -> Result<Response, TransportError>,
) -> Vec<Run> {
    let mut now = 0u64;
    for sync in &mut syncs {
        sync.start(now).unwrap();
    }
    // Answers due, by (when, engine, request ID).
    let mut pending: BinaryHeap<Reverse<(u64, usize, u64)>> = BinaryHeap::new();
    let mut answers: std::collections::HashMap<(usize, u64), Result<Response, TransportError>> = Default::default();
    let mut events = vec![0; syncs.len()];
    let mut runs: Vec<Option<Run>> = syncs.iter().map(|_| None).collect();
    let mut steps = 0u64;
    loop {
        for (c, sync) in syncs.iter_mut().enumerate() {
            if runs[c].is_some() {
                continue;
            }
            while let Some(req) = sync.poll_transmit(now) {
                let answer = handle(c, &req, now);
                pending.push(Reverse((now + latency_ms(), c, req.id)));
                answers.insert((c, req.id), answer);
            }
            while sync.poll_event().is_some() {
                events[c] += 1;
            }
            if sync.is_finished() {
                runs[c] = Some(Run { report: sync.report(now), now, events: events[c] });
            }
        }
        if runs.iter().all(Option::is_some) {
            break;
        }
        let mut next = pending.peek().map(|r| r.0 .0);
        for (c, sync) in syncs.iter_mut().enumerate() {
            if runs[c].is_none() {
                if let Some(w) = sync.poll_timeout(now) {
                    next = Some(next.map_or(w, |n| n.min(w)));
                }
            }
        }
        let Some(next) = next else {
            let counts: Vec<_> = syncs.iter().map(|s| s.report(now).counts).collect();
            panic!("the sync stalled at {now} ms: {counts:?}");
        };
        assert!(next >= now, "time went back");
        now = next;
        while pending.peek().is_some_and(|r| r.0 .0 <= now) {
            let Reverse((_, c, id)) = pending.pop().unwrap();
            syncs[c].handle_response(id, now, answers.remove(&(c, id)).unwrap());
        }
        steps += 1;
        assert!(steps < 10_000_000, "too many steps");
    }
    runs.into_iter().map(|r| r.expect("every engine finished")).collect()
}

/// What an invocation sent: (sent at, answered at, a token request).
pub type Sent = Vec<(u64, u64, bool)>;

/// Whether a request asks for an access token.
pub fn is_token(r: &Request) -> bool {
    r.url.ends_with("/oauth/token")
}

/// Runs one invocation of `e` from `now` until it finishes or is suspended, answering with
/// `handle`: token answers take `token_ms`, the others 20 ms. Returns the report and what was
/// sent; `now` is left at the end.
pub fn invocation(
    e: &mut SyncEngine,
    now: &mut u64,
    token_ms: u64,
    mut handle: impl FnMut(&Request, u64) -> Result<Response, TransportError>,
) -> (SyncReport, Sent) {
    e.start(*now).unwrap();
    let mut pending: Vec<(u64, u64, Result<Response, TransportError>)> = Vec::new();
    let mut sent = Vec::new();
    for _ in 0..1_000_000 {
        while let Some(req) = e.poll_transmit(*now) {
            let latency = if is_token(&req) { token_ms } else { 20 };
            sent.push((*now, *now + latency, is_token(&req)));
            let answer = handle(&req, *now);
            pending.push((*now + latency, req.id, answer));
        }
        while e.poll_event().is_some() {}
        if e.is_finished() || e.is_suspended() {
            return (e.report(*now), sent);
        }
        let next_answer = pending.iter().map(|p| p.0).min();
        let next = match (next_answer, e.poll_timeout(*now)) {
            (Some(a), Some(w)) => a.min(w),
            (Some(a), None) => a,
            (None, Some(w)) => w,
            (None, None) if e.is_suspended() => return (e.report(*now), sent),
            (None, None) => panic!("stalled at {now}"),
        };
        *now = next.max(*now);
        pending.sort_by_key(|p| (p.0, p.1));
        while pending.first().is_some_and(|p| p.0 <= *now) {
            let (_, id, answer) = pending.remove(0);
            e.handle_response(id, *now, answer);
        }
    }
    panic!("the run did not end in a million steps")
}
