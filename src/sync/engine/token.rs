//! The access token (OAuth platforms: Foundry), and when to fetch another.
//!
//! ```text
//! poll_transmit: needs_token(now)? -> a token request (one at a time, after token_not_before)
//! handle_response(token answer) -> on_token: Token::new(now, lifetime, owed = requests ready)
//! poll_transmit: each request sent with it -> Token::spend
//! ```
//!
//! A token is fetched again a margin before it expires: min(60 s, a tenth of its lifetime),
//! so a 2-hour token is renewed a minute early and a 30-second one 3 s early. Two rules keep a
//! short-lived token from becoming a storm of token requests (a token of `expires_in: 0` was
//! re-requested 6,000 times a minute, with no other request sent): a token younger than its
//! margin is never replaced, and a token is used for every request that was ready when it came
//! (up to the concurrency cap), whatever its lifetime says. A token the platform refuses is
//! dropped on the 401 and fetched again (at most twice per request, then `AUTH_FAILED`).
//!
//! 429s on the token request count toward `retry.maxRateLimited` across token requests (the
//! count is kept in the run's counters, as the 5xx failures are), so a token endpoint that
//! answers 429 forever ends the run with `RATE_LIMITED`.

use super::jobs::{Job, JobKind};
use super::SyncEngine;
use crate::platform::wire::Auth;
use crate::sync::http::Response;

/// The longest margin before expiry at which a token is renewed.
const MAX_MARGIN_MS: u64 = 60_000;

/// An access token. Never saved in a checkpoint: a resumed run fetches its own.
pub(super) struct Token {
    pub value: String,
    pub generation: u64,
    fetched_at: u64,
    /// When it is renewed: its expiry less the margin.
    renew_at: u64,
    /// Requests it is still owed: those ready when it came, sent with it whatever its age.
    owed: u32,
}

impl Token {
    /// A token received at `now`, living `lifetime_ms`, owed to `owed` requests.
    pub fn new(value: String, generation: u64, now: u64, lifetime_ms: u64, owed: u32) -> Self {
        let margin = MAX_MARGIN_MS.min(lifetime_ms / 10);
        let renew_at = now.saturating_add(lifetime_ms - margin).max(now.saturating_add(margin));
        Token { value, generation, fetched_at: now, renew_at, owed: owed.max(1) }
    }

    /// Whether requests may still go with it at `now`: before its renewal, or while it is
    /// owed requests (for at most [`MAX_MARGIN_MS`] after it came, so that a token owed
    /// requests is not sent long after, say, a pause).
    pub fn usable(&self, now: u64) -> bool {
        now < self.renew_at || (self.owed > 0 && now < self.fetched_at.saturating_add(MAX_MARGIN_MS))
    }

    /// A request was sent with it.
    pub fn spend(&mut self) {
        self.owed = self.owed.saturating_sub(1);
    }
}

impl SyncEngine {
    pub(super) fn needs_token(&self, now: u64) -> bool {
        matches!(self.auth, Auth::OAuthClient) && self.token.as_ref().is_none_or(|t| !t.usable(now))
    }

    pub(super) fn token_in_flight(&self) -> bool {
        self.in_flight.values().any(|(j, _)| j.kind == JobKind::Token)
    }

    /// The token job, carrying what earlier token requests met (5xx failures and 429s).
    pub(super) fn token_job(&self) -> Job {
        let mut token = Job::new(JobKind::Token);
        token.failures = self.counters.token_failures;
        token.rate_limited = self.counters.token_rate_limited;
        token
    }

    /// A token answer: the token, or why there is none.
    pub(super) fn on_token(&mut self, job: Job, resp: Response, now: u64) {
        match (resp.is_success(), self.wire.read_token(&resp)) {
            (true, Some((value, ttl))) => {
                self.counters.token_failures = 0;
                self.counters.token_rate_limited = 0;
                self.token_generation += 1;
                let room = self.config.concurrency.saturating_sub(self.in_flight.len() as u32);
                let ready = self.ready.len() + self.delayed.iter().filter(|d| d.0.at <= now).count();
                let owed = (ready as u32).min(room);
                self.token = Some(Token::new(value, self.token_generation, now, ttl.saturating_mul(1000), owed));
            }
            (true, None) => {
                self.retry_or_give_up(job, Some(resp.status), "the token answer has no access_token".into(), now)
            }
            (false, _) => self.stop(
                "AUTH_FAILED",
                format!(
                    "the platform refused the client credentials (HTTP {}): {}",
                    resp.status,
                    self.wire.error_detail(&resp)
                ),
                now,
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Token;

    #[test]
    fn a_token_is_renewed_a_tenth_of_its_life_early_at_most_a_minute() {
        let t = Token::new("t".into(), 1, 1_000, 7_200_000, 1);
        assert_eq!(t.renew_at, 1_000 + 7_200_000 - 60_000);
        let t = Token::new("t".into(), 1, 1_000, 30_000, 1);
        assert_eq!(t.renew_at, 1_000 + 27_000);
    }

    #[test]
    fn a_token_of_no_lifetime_serves_the_requests_it_is_owed() {
        let mut t = Token::new("t".into(), 1, 1_000, 0, 3);
        assert!(t.usable(1_000) && t.usable(5_000));
        t.spend();
        t.spend();
        assert!(t.usable(5_000));
        assert!(!t.usable(61_000), "owed, but a minute old");
        t.spend();
        assert!(!t.usable(5_000), "spent, and past its life");
    }
}
