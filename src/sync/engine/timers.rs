//! Time: when the host should wake the run ([`SyncEngine::poll_timeout`]), jobs put off until
//! later (backoff), and this invocation's budget running out (stopping, then suspended).

use std::cmp::Reverse;

use super::jobs::{Delayed, Job, JobKind};
use super::{Phase, SyncEngine};

impl SyncEngine {
    pub(super) fn later(&mut self, job: Job, at: u64) {
        self.seq += 1;
        self.delayed.push(Reverse(Delayed { at, seq: self.seq, job }));
    }

    /// When the host should call [`poll_transmit`](Self::poll_transmit) again if no answer
    /// arrives first: `now` when a request could go at once, `None` when only answers to
    /// requests in flight can move the run on (or it is finished).
    pub fn poll_timeout(&mut self, now: u64) -> Option<u64> {
        if self.checkpoint_due {
            return Some(now);
        }
        if !self.running || self.suspended || self.stopping || matches!(self.phase, Phase::Done | Phase::Reading) {
            return None;
        }
        if self.pause_too_long(now) && !(self.ready.is_empty() && self.delayed.is_empty()) {
            // A run resumed before the platform's pause is over: suspend again, sending nothing.
            self.suspend_rate_limited(now);
            return None;
        }
        let next_delayed = self.delayed.peek().map(|d| d.0.at);
        let has_work = !self.ready.is_empty() || next_delayed.is_some_and(|t| t <= now);
        // A job that is due but blocked (token, concurrency, window) wakes nobody by itself.
        let mut wake: Option<u64> = next_delayed.filter(|&t| t > now);
        if self.needs_token(now) && !self.token_in_flight() && self.counters.token_not_before > now && has_work {
            wake = Some(wake.map_or(self.counters.token_not_before, |w| w.min(self.counters.token_not_before)));
        }
        if has_work && (self.in_flight.len() as u32) < self.options.concurrency {
            // As poll_transmit: a token request (one needed, or a renewal due) that the platform
            // counts goes only with room for the request it is for.
            let token_next = self.needs_token(now) || self.renewal_due(now);
            let requests = if token_next && self.rated(JobKind::Token) { 2 } else { 1 };
            let slot = match &mut self.rate {
                Some(r) => r.next_slots(now, requests),
                None => Some(now),
            };
            let blocked_by_token =
                self.needs_token(now) && (self.token_in_flight() || self.counters.token_not_before > now);
            if let (Some(s), false) = (slot, blocked_by_token) {
                wake = Some(wake.map_or(s, |w| w.min(s)));
            }
        }
        let wake = wake.map(|w| w.max(self.counters.paused_until).max(now));
        if let (Some(w), Some(deadline)) = (wake, self.deadline) {
            if w >= deadline && w > now {
                // The wait would outlast this invocation: stop here and resume later.
                self.stopping = true;
                self.check_suspend();
                return None;
            }
        }
        wake
    }

    /// Whether this invocation's budget is used up.
    pub(super) fn budget_spent(&self, now: u64) -> bool {
        self.stop_at_requests.is_some_and(|n| self.counters.requests >= n) || self.deadline.is_some_and(|d| now >= d)
    }

    /// Stopping, and every answer in: the invocation is over (see [`checkpoint`](Self::checkpoint)).
    pub(super) fn check_suspend(&mut self) {
        if self.stopping && self.in_flight.is_empty() && self.phase != Phase::Done && !self.suspended {
            self.suspended = true;
            // Every write sent was answered: claims of writes not sent are let go, so the run
            // resumed from this checkpoint sends them plainly.
            for s in &mut self.states {
                s.claimed = false;
            }
        }
    }
}
