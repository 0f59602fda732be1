//! Sending: [`SyncEngine::poll_transmit`] hands the host the next request that may go now
//! (within the concurrency cap, the rate bucket, a 429 pause, after a token where one is
//! needed), signs it and records it in flight; durable runs claim writes first and wait for
//! the host to save a checkpoint ([`SyncEngine::wants_checkpoint`]).

use std::cmp::Reverse;

use super::jobs::JobKind;
use super::{Phase, SyncEngine};
use crate::http::Request;
use crate::platform::wire::Auth;

impl SyncEngine {
    /// The next request to send now, if one may go: within the concurrency cap, the rate
    /// window, any 429 pause, and after a token where one is needed.
    pub fn poll_transmit(&mut self, now: u64) -> Option<Request> {
        if !self.running || self.suspended || self.checkpoint_due || matches!(self.phase, Phase::Done | Phase::Reading)
        {
            return None;
        }
        if self.budget_spent(now) {
            self.stopping = true;
            self.check_suspend();
        }
        if self.stopping || now < self.counters.paused_until {
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
        let mut room = self.options.claim_batch.unwrap_or(1).max(1);
        if let Some(end) = self.stop_at_requests {
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
        self.checkpoint_due = true;
    }
}
