//! Test support, one module for every native test: plans from text ([`plans`]), the
//! simulated Foundry ([`foundry`]), and the simulated host ([`SimHost`], and [`drive`] for
//! several engines on one clock) that runs a sync on a simulated clock.
#![allow(dead_code)]

pub mod foundry;
pub mod plans;

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap};

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

/// How a simulated invocation ended.
#[derive(Debug, PartialEq)]
pub enum End {
    Finished,
    /// Stopped at its budget (or a long pause) with every answer in; its checkpoint is saved.
    Suspended,
    /// Killed after `kill_after` requests: their answers are lost and nothing more is saved.
    Killed,
}

/// The simulated host: drives one invocation of an engine at a time on a simulated clock, as
/// a Worker tick or a CLI run does: sends what `poll_transmit` gives to the platform (a
/// closure), hands the answers back after `latency`, saves a checkpoint whenever the engine
/// asks for one and when it ends suspended, and sleeps until the next answer or
/// `poll_timeout`.
pub struct SimHost {
    /// The simulated clock, in ms; left where the last invocation ended.
    pub now: u64,
    /// Each request's round trip, in ms.
    pub latency: u64,
    /// A token request's round trip, in ms.
    pub token_latency: u64,
    /// The next invocation dies after sending this many requests (taken by it).
    pub kill_after: Option<u32>,
    /// The last checkpoint saved (empty before the first).
    pub saved: Vec<u8>,
    /// What the last invocation sent.
    pub sent: Sent,
}

impl SimHost {
    /// A host at time 0 whose requests all take `latency` ms.
    pub fn new(latency: u64) -> Self {
        SimHost { now: 0, latency, token_latency: latency, kill_after: None, saved: Vec::new(), sent: Vec::new() }
    }

    /// Runs one invocation of `engine` from `self.now` until it finishes, is suspended or is
    /// killed, answering each request with `platform`. Panics if it stalls.
    pub fn invocation(
        &mut self,
        engine: &mut SyncEngine,
        mut platform: impl FnMut(&Request, u64) -> Result<Response, TransportError>,
    ) -> End {
        engine.start(self.now).unwrap();
        let kill_after = self.kill_after.take();
        // Answers due, by (when, request ID).
        let mut pending: BTreeMap<(u64, u64), Result<Response, TransportError>> = BTreeMap::new();
        self.sent.clear();
        for _ in 0..1_000_000 {
            while let Some(req) = engine.poll_transmit(self.now) {
                let latency = if is_token(&req) { self.token_latency } else { self.latency };
                self.sent.push((self.now, self.now + latency, is_token(&req)));
                pending.insert((self.now + latency, req.id), platform(&req, self.now));
                if kill_after.is_some_and(|k| self.sent.len() as u32 >= k) {
                    return End::Killed;
                }
            }
            while engine.poll_event().is_some() {}
            if engine.wants_checkpoint() {
                self.saved = engine.checkpoint();
                engine.checkpoint_saved();
                continue;
            }
            if engine.is_finished() {
                return End::Finished;
            }
            if engine.is_suspended() {
                self.saved = engine.checkpoint();
                return End::Suspended;
            }
            let next = match (pending.keys().next().map(|k| k.0), engine.poll_timeout(self.now)) {
                (Some(a), Some(w)) => a.min(w),
                (Some(a), None) => a,
                (None, Some(w)) => w,
                (None, None) => panic!("stalled at {}", self.now),
            };
            self.now = self.now.max(next);
            while let Some(entry) = pending.first_entry() {
                if entry.key().0 > self.now {
                    break;
                }
                let ((_, id), answer) = entry.remove_entry();
                engine.handle_response(id, self.now, answer);
            }
        }
        panic!("the run did not end in a million steps")
    }
}

/// Runs one invocation of `e` on a [`SimHost`] from `now` until it finishes or is suspended,
/// answering with `handle`: token answers take `token_ms`, the others 20 ms. Returns the
/// report and what was sent; `now` is left at the end.
pub fn invocation(
    e: &mut SyncEngine,
    now: &mut u64,
    token_ms: u64,
    handle: impl FnMut(&Request, u64) -> Result<Response, TransportError>,
) -> (SyncReport, Sent) {
    let mut host = SimHost { now: *now, token_latency: token_ms, ..SimHost::new(20) };
    let end = host.invocation(e, handle);
    assert_ne!(end, End::Killed);
    *now = host.now;
    (e.report(*now), host.sent)
}
