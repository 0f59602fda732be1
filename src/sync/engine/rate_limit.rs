//! 429 answers. Every request pauses, not just the one refused (the budget is the
//! organisation's), for the `Retry-After` the platform gave (seconds or an HTTP-date, read
//! against the answer's `Date` when believable, else the host's clock; else the reset of a
//! `RateLimit-*` budget said to be spent) or else an exponential backoff with jitter, capped
//! at a quarter of the pause so far; the rate bucket lowers its rate once per run of 429s,
//! learns the platform's window from the `Retry-After` (`pace_answer`) and, after the pause,
//! lets one probe go first (`sync/pace/bucket.rs`). Each request, and the token requests together, give up after
//! `retry.maxRateLimited` 429s.
//!
//! A pause longer than `retry.maxWaitMs` (15 minutes by default) is not waited out: a
//! `Retry-After` of ten years once overflowed the host's timer and never ended. The
//! invocation stops as a budget stop does (answers in flight are awaited, nothing new is
//! sent), suspended, with the report's `error` saying `RATE_LIMITED` and when the pause ends.
//! Its checkpoint keeps the pause: a run resumed from it before the pause is over suspends
//! again at once, without a request; one resumed after carries on. (Suspending, rather than
//! stopping the run, keeps the plan and every action's state: a host such as the example
//! Worker resumes it on a later tick; one that does not resume simply has a suspended run.)

use super::jobs::{Job, JobKind};
use super::SyncEngine;
use crate::sync::http::Response;
use crate::sync::pace::{rate_limit_budget, retry_after_wait};
use crate::sync::report::{RunError, RunErrorCode};
use crate::time::{Duration, Instant};

/// The latest instant a pause may end at: JavaScript's largest exact integer, since
/// checkpoints and wake-up times pass through JavaScript numbers.
const LATEST: Instant = Instant::LATEST_EXACT;

impl SyncEngine {
    pub(super) fn on_rate_limited(&mut self, mut job: Job, resp: Response, now: Instant) {
        self.counters.rate_limited += 1;
        job.rate_limited += 1;
        if job.kind == JobKind::Token {
            // Counted across token requests, as failures are: each token request is a new job.
            self.counters.token_rate_limited = job.rate_limited;
        }
        if job.rate_limited > self.options.retry.max_rate_limited {
            let detail = format!("HTTP 429 {} times: {}", job.rate_limited, self.wire.error_detail(&resp));
            return self.give_up(job, Some(429), detail, now);
        }
        // Retry-After, or else the reset of a budget the platform says is spent.
        let budget = rate_limit_budget(&resp, now);
        let spent = budget.reset.filter(|_| budget.remaining.is_none_or(|r| r == 0));
        let asked = retry_after_wait(&resp, now).or(spent);
        // The backoff grows with the 429s of the congestion event, not only this request's: a
        // fresh probe refused again waits longer than the first did; but by at most a quarter
        // of the pause so far, so the pause overshoots the platform's reset by little.
        let attempt = job.rate_limited.max(self.rate.as_ref().map_or(0, |r| r.refusals()));
        let cap = self.rate.as_ref().and_then(|r| r.probe_wait_cap(now)).unwrap_or(Duration::from_ms(u64::MAX));
        let wait = asked.unwrap_or_else(|| self.backoff.delay(attempt).min(cap));
        let until = (now + wait).min(LATEST.max(now));
        self.counters.paused_until = self.counters.paused_until.max(until);
        self.counters.retries += 1;
        if job.kind == JobKind::Token {
            self.counters.token_not_before = until;
        } else {
            self.later(job, until);
        }
        if self.pause_too_long(now) {
            self.suspend_rate_limited(now);
        }
    }

    /// Whether the pause ahead is longer than one invocation may wait.
    pub(super) fn pause_too_long(&self, now: Instant) -> bool {
        self.counters.paused_until > now + Duration::from_ms(self.options.retry.max_wait_ms)
    }

    /// Ends this invocation, suspended with `RATE_LIMITED`: the pause ahead is too long.
    pub(super) fn suspend_rate_limited(&mut self, now: Instant) {
        let until = self.counters.paused_until;
        let message = format!(
            "the platform asked for a pause of {} s (Retry-After), more than retry.maxWaitMs ({} s): this invocation \
             stops; resume from its checkpoint at or after {until} (ms since the Unix epoch)",
            until.since(now).as_secs_ceil(),
            self.options.retry.max_wait_ms / 1000
        );
        self.stop_invocation(Some(RunError { code: RunErrorCode::RateLimited, message }));
    }

    /// Ends this invocation at the host's word (a shared budget the host could not consult):
    /// nothing new is sent, the answers in flight are awaited, then the run is suspended with
    /// `BUDGET_FAILED` and `message` as the report's error, its checkpoint keeping every
    /// action's state. A finished run stays finished.
    pub fn suspend_budget_failed(&mut self, message: &str) {
        if self.is_finished() || self.is_suspended() {
            return;
        }
        let message = self.redact(message);
        self.stop_invocation(Some(RunError { code: RunErrorCode::BudgetFailed, message }));
    }
}
