//! Test support: simulated platforms and a driver that runs a sync on a simulated clock.
#![allow(dead_code)]

pub mod foundry;

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use learner_sync::sync::{Report, Request, Response, SyncConfig, SyncEngine, TransportError};
use learner_sync::{PlanOptions, SourceFormat};

/// The result of a driven run.
pub struct Run {
    pub report: Report,
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
    let config = SyncConfig::from_json(config.to_string().as_bytes()).unwrap();
    let mut sync = SyncEngine::new(opts, config).unwrap();
    sync.add_source(source.as_bytes(), SourceFormat::Auto, "source.csv").unwrap();
    drive_engine(sync, latency_ms, handle)
}

/// Runs a prepared engine (see [`drive`]).
pub fn drive_engine(
    mut sync: SyncEngine,
    latency_ms: u64,
    mut handle: impl FnMut(&Request, u64) -> Result<Response, TransportError>,
) -> Run {
    let mut now = 0u64;
    sync.start(now).unwrap();
    let mut pending: BinaryHeap<Reverse<(u64, u64)>> = BinaryHeap::new();
    let mut answers: std::collections::HashMap<u64, Result<Response, TransportError>> = Default::default();
    let mut events = 0;
    let mut steps = 0u64;
    loop {
        while let Some(req) = sync.poll_transmit(now) {
            let answer = handle(&req, now);
            pending.push(Reverse((now + latency_ms, req.id)));
            answers.insert(req.id, answer);
        }
        while sync.poll_event().is_some() {
            events += 1;
        }
        if sync.is_finished() {
            break;
        }
        let next_answer = pending.peek().map(|r| r.0 .0);
        let wake = sync.poll_timeout(now);
        let next = match (next_answer, wake) {
            (Some(a), Some(w)) => a.min(w),
            (Some(a), None) => a,
            (None, Some(w)) => w,
            (None, None) => panic!("the sync stalled at {now} ms: {:?}", sync.report(now).counts),
        };
        assert!(next >= now, "time went back");
        now = next;
        while pending.peek().is_some_and(|r| r.0 .0 <= now) {
            let Reverse((_, id)) = pending.pop().unwrap();
            sync.handle_response(id, now, answers.remove(&id).unwrap());
        }
        steps += 1;
        assert!(steps < 10_000_000, "too many steps");
    }
    Run { report: sync.report(now), now, events }
}
