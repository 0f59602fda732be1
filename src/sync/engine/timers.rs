//! Time: when the host should wake the run ([`SyncEngine::poll_timeout`], which only looks),
//! what the time decides ([`SyncEngine::handle_timeout`], which acts: this invocation's
//! allowance running out, a pause longer than it may wait), the host interrupting the run, and jobs put off until later
//! (backoff).
//!
//! ```text
//! poll_transmit(now)  -> requests; once it has none, it calls handle_timeout(now), which may
//!                        stop the invocation (then suspended once every answer is in)
//! is_finished() / is_suspended() / wants_checkpoint()   -- settled by the calls above
//! poll_timeout(now)   -> when to call poll_transmit again (pure: asking twice changes nothing)
//! ```

use std::cmp::Reverse;

use super::jobs::{Delayed, Job, JobKind};
use super::state::{Invocation, Stage};
use super::SyncEngine;
use crate::sync::pace::TokenBucket;
use crate::sync::report::RunError;
use crate::time::Instant;

impl SyncEngine {
    pub(super) fn later(&mut self, job: Job, at: Instant) {
        self.seq += 1;
        self.delayed.push(Reverse(Delayed { at, seq: self.seq, job }));
    }

    /// When the host should call [`poll_transmit`](Self::poll_transmit) again if no answer
    /// arrives first: `now` when a request could go at once (or a checkpoint is wanted),
    /// `None` when only answers to requests in flight can move the run on (or it is finished,
    /// or this invocation is over). Only looks: the decisions the time forces were taken by
    /// [`handle_timeout`](Self::handle_timeout) (which `poll_transmit` calls), so a driver
    /// need not ask [`is_suspended`](Self::is_suspended) again after it.
    pub fn poll_timeout(&self, now: u64) -> Option<u64> {
        let now = Instant::from_ms(now);
        match self.invocation {
            Invocation::AwaitingCheckpoint(_) => return Some(now.as_ms()),
            Invocation::Running(_) if matches!(self.stage, Stage::Listing { .. } | Stage::Applying) => {}
            _ => return None,
        }
        // A look at the bucket must not move it: ask a copy.
        let mut rate = self.rate.clone();
        let wake = self.next_wake(now, |requests| Self::slot(rate.as_mut(), now, requests));
        wake.map(Instant::as_ms)
    }

    /// Acts on the time at `now`: stops this invocation when its allowance is spent, when the
    /// platform's pause ahead is longer than `retry.maxWaitMs` (suspended with `RATE_LIMITED`;
    /// a run resumed before the pause is over ends here again, sending nothing), or when the
    /// next wait would end past its time allowance. [`poll_transmit`](Self::poll_transmit)
    /// calls it whenever it has nothing to send, so drivers need not; calling it again at the
    /// same `now` changes nothing.
    pub fn handle_timeout(&mut self, now: u64) {
        self.on_time(Instant::from_ms(now));
    }

    /// As [`handle_timeout`](Self::handle_timeout).
    pub(super) fn on_time(&mut self, now: Instant) {
        let Invocation::Running(allowance) = self.invocation else { return };
        if !matches!(self.stage, Stage::Listing { .. } | Stage::Applying) {
            return;
        }
        if self.allowance_spent(now) {
            return self.stop_invocation(None);
        }
        if self.pause_too_long(now) && self.has_queued_work() {
            return self.suspend_rate_limited(now);
        }
        // The bucket is asked as poll_transmit asks it (it counts time as it is asked).
        let mut rate = self.rate.take();
        let wake = self.next_wake(now, |requests| Self::slot(rate.as_mut(), now, requests));
        self.rate = rate;
        if let (Some(w), Some(deadline)) = (wake, allowance.deadline) {
            if w >= deadline && w > now {
                // The wait would outlast this invocation: stop here and resume later.
                self.stop_invocation(None);
            }
        }
    }

    /// When a request could next go, given when the rate bucket has room for `requests`
    /// (`slot`): the earliest retry due, the token's retry time, the bucket's slot; never before
    /// a 429's pause ends.
    fn next_wake(&self, now: Instant, slot: impl FnOnce(u32) -> Option<Instant>) -> Option<Instant> {
        let next_delayed = self.delayed.peek().map(|d| d.0.at);
        let has_work = !self.ready.is_empty() || next_delayed.is_some_and(|t| t <= now);
        // A job that is due but blocked (token, concurrency, window) wakes nobody by itself.
        let mut wake: Option<Instant> = next_delayed.filter(|&t| t > now);
        if self.needs_token(now) && !self.token_in_flight() && self.counters.token_not_before > now && has_work {
            wake = Some(wake.map_or(self.counters.token_not_before, |w| w.min(self.counters.token_not_before)));
        }
        if has_work && (self.in_flight.len() as u32) < self.options.concurrency {
            // As poll_transmit: a token request (one needed, or a renewal due) that the platform
            // counts goes only with room for the request it is for.
            let token_next = self.needs_token(now) || self.renewal_due(now);
            let requests = if token_next && self.rated(JobKind::Token) { 2 } else { 1 };
            let slot = slot(requests);
            let blocked_by_token =
                self.needs_token(now) && (self.token_in_flight() || self.counters.token_not_before > now);
            if let (Some(s), false) = (slot, blocked_by_token) {
                wake = Some(wake.map_or(s, |w| w.min(s)));
            }
        }
        wake.map(|w| w.max(self.counters.paused_until).max(now))
    }

    /// The host was asked to stop (Ctrl-C, a shutdown): no new request goes, the answers in
    /// flight are awaited, then the invocation is suspended as at the end of its allowance, and
    /// its [`checkpoint`](Self::checkpoint) resumes the run. A finished run stays finished.
    pub fn interrupt(&mut self) {
        if self.is_finished() {
            return;
        }
        self.stop_invocation(None);
    }

    /// When the rate bucket has room for `requests`; `now` with no bucket.
    pub(super) fn slot(rate: Option<&mut TokenBucket>, now: Instant, requests: u32) -> Option<Instant> {
        match rate {
            Some(r) => r.next_slots(now, requests),
            None => Some(now),
        }
    }

    /// Whether jobs wait to be sent (now or after a backoff).
    pub(super) fn has_queued_work(&self) -> bool {
        !(self.ready.is_empty() && self.delayed.is_empty())
    }

    /// Whether this invocation's allowance is used up.
    pub(super) fn allowance_spent(&self, now: Instant) -> bool {
        let Some(a) = self.invocation.allowance() else { return false };
        a.requests_until.is_some_and(|n| self.counters.requests >= n) || a.deadline.is_some_and(|d| now >= d)
    }

    /// This invocation sends nothing more; answers in flight are awaited, then it is suspended.
    /// `reason`: why, other than its allowance (the report's error while suspended). Before
    /// `start` nothing changes: `start` judges the pause itself.
    pub(super) fn stop_invocation(&mut self, reason: Option<RunError>) {
        match &mut self.invocation {
            Invocation::Idle => return,
            Invocation::Stopping { reason: r } | Invocation::Suspended { reason: r } => {
                if reason.is_some() {
                    *r = reason;
                }
            }
            Invocation::Running(_) | Invocation::AwaitingCheckpoint(_) => {
                self.invocation = Invocation::Stopping { reason };
            }
        }
        self.check_suspend();
    }

    /// Stopping, and every answer in: the invocation is over (see [`checkpoint`](Self::checkpoint)).
    pub(super) fn check_suspend(&mut self) {
        let Invocation::Stopping { reason } = &mut self.invocation else { return };
        if self.in_flight.is_empty() && !matches!(self.stage, Stage::Done) {
            self.invocation = Invocation::Suspended { reason: reason.take() };
            // Every write sent was answered: claims of writes not sent are let go, so the run
            // resumed from this checkpoint sends them plainly.
            for s in &mut self.states {
                s.claimed = false;
            }
        }
    }
}
