//! Sending: [`SyncEngine::poll_transmit`] hands the host the next request that may go now
//! (within the concurrency cap, the rate bucket, a 429 pause, after a token where one is
//! needed), signs it and records it in flight; durable runs claim writes first and wait for
//! the host to save a checkpoint ([`SyncEngine::wants_checkpoint`]).

use std::cmp::Reverse;

use super::jobs::JobKind;
use super::state::{Invocation, Stage};
use super::SyncEngine;
use crate::http::Request;
use crate::platform::wire::Auth;
use crate::time::Instant;

impl SyncEngine {
    /// The next request to send now, if one may go: within the concurrency cap, the rate
    /// window, any 429 pause, and after a token where one is needed. Once there is none, what
    /// the time decides is done ([`handle_timeout`](Self::handle_timeout)): after the last call
    /// returns `None`, [`is_suspended`](Self::is_suspended) and the others say where the
    /// invocation stands.
    pub fn poll_transmit(&mut self, now: u64) -> Option<Request> {
        let now = Instant::from_ms(now);
        let request = self.next_request(now);
        if request.is_none() {
            self.on_time(now);
        }
        request
    }

    fn next_request(&mut self, now: Instant) -> Option<Request> {
        let Invocation::Running(_) = self.invocation else { return None };
        if !matches!(self.stage, Stage::Listing { .. } | Stage::Applying) {
            return None;
        }
        if self.allowance_spent(now) {
            self.stop_invocation(None);
            return None;
        }
        if now < self.counters.paused_until {
            return None;
        }
        while self.delayed.peek().is_some_and(|d| d.0.at <= now) {
            let Reverse(d) = self.delayed.pop().expect("peeked");
            self.ready.push_back(d.job);
        }
        if self.in_flight.len() as u32 >= self.options.concurrency {
            return None;
        }
        let job = if self.needs_token(now) {
            if self.token_in_flight() || self.ready.is_empty() || now < self.counters.token_not_before {
                return None;
            }
            self.token_job()
        } else if self.renewal_due(now) {
            // The token nears its expiry: its successor is asked for while requests go on with it.
            self.token_job()
        } else {
            // Listing is one page at a time: each page says whether another follows.
            *self.ready.front()?
        };
        let rated = self.rated(job.kind);
        if let Some(rate) = &mut self.rate {
            // A token goes only when the request it is for may follow it; a token request the
            // platform does not count takes no slot of its own.
            let requests = if job.kind == JobKind::Token && rated { 2 } else { 1 };
            if rate.next_slots(now, requests) != Some(now) {
                return None;
            }
        }
        if let JobKind::Write(i) | JobKind::Park(i) = job.kind {
            if self.options.claim_batch.is_some() && !self.states[i].claimed {
                // Durable runs: no write goes before a saved checkpoint says it may have.
                self.claim_writes();
                return None;
            }
        }
        if job.kind != JobKind::Token {
            self.ready.pop_front();
        }
        let mut req = match job.kind {
            JobKind::Token => {
                self.wire.token_request(&self.options.credentials).expect("OAuth platforms have a token request")
            }
            JobKind::List(c) => self.wire.list_request(c),
            JobKind::Write(i) => {
                let mut r = self.wire.write_request(&self.actions[i]).expect("only writes are queued");
                if self.states[i].auto_clear {
                    self.wire.mark_auto_clear(&mut r);
                }
                r
            }
            JobKind::Park(i) => self.wire.write_request(&self.parks[&i]).expect("a parking is an update"),
            JobKind::Lookup(i) => {
                let key = self.actions[i].key.as_deref().unwrap_or_default();
                self.wire.lookup_request(key)
            }
        };
        match (&self.auth, job.kind) {
            (_, JobKind::Token) => {}
            (Auth::OAuthClient, _) => {
                let t = self.token.as_mut().expect("token checked above");
                t.spend();
                req.headers.push(("authorization".into(), format!("Bearer {}", t.value)));
            }
            (Auth::Fixed(h), _) => req.headers.push(("authorization".into(), h.clone())),
            (Auth::Host, _) => {}
        }
        if let JobKind::Write(i) | JobKind::Lookup(i) | JobKind::Park(i) = job.kind {
            self.states[i].attempts += 1;
        }
        req.id = self.counters.next_id;
        self.counters.next_id += 1;
        let generation = self.token.as_ref().map_or(0, |t| t.generation);
        self.in_flight.insert(req.id, (job, generation));
        if let (Some(rate), true) = (&mut self.rate, rated) {
            rate.on_send(now);
        }
        self.counters.requests += 1;
        Some(req)
    }

    /// Claims the next writes in the queue (up to `claim_batch`, and no more than the request
    /// budget has left), so that a checkpoint records them as possibly sent.
    pub(super) fn claim_writes(&mut self) {
        let Invocation::Running(allowance) = self.invocation else { return };
        let mut room = self.options.claim_batch.unwrap_or(1).max(1);
        if let Some(end) = allowance.requests_until {
            room = room.min(end.saturating_sub(self.counters.requests).max(1));
        }
        for job in &self.ready {
            if room == 0 {
                break;
            }
            if let JobKind::Write(i) | JobKind::Park(i) = job.kind {
                if !self.states[i].claimed {
                    self.states[i].claimed = true;
                    room -= 1;
                }
            }
        }
        self.invocation = Invocation::AwaitingCheckpoint(allowance);
    }
}
