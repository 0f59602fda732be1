//! The access token (OAuth platforms: Foundry), and when to fetch another.
//!
//! ```text
//! use_token(value, expires_at, now)      (optional: a token the host kept from an earlier invocation)
//! poll_transmit: needs_token(now)? -> a token request (one at a time, after token_not_before),
//!                the other requests wait for it
//!              : renewal_due(now)? -> a token request, the other requests go on with the old token
//! handle_response(token answer) -> on_token: Token::fetched(now, lifetime, owed = requests ready)
//! poll_transmit: each request sent with it -> Token::spend
//! take_new_token() -> (value, expires_at) once per token fetched, for the host's cache
//! ```
//!
//! A token is renewed a margin before it expires: min(60 s, a tenth of its lifetime), so a
//! 2-hour token is renewed a minute early and a 30-second one 3 s early. The renewal goes while
//! requests go on with the old token, for half the margin more (30 s of a 2-hour token): only a
//! token that old, or one refused with a 401, makes requests wait for the next. Two rules keep
//! a short-lived token from becoming a storm of token requests (a token of `expires_in: 0` was
//! re-requested 6,000 times a minute, with no other request sent): a token younger than its
//! margin is never replaced, and a token is used for every request that was ready when it came
//! (up to the concurrency cap), whatever its lifetime says. A token the platform refuses is
//! dropped on the 401 and fetched again (at most twice per request, then `AUTH_FAILED`).
//!
//! **The host's token cache.** A checkpoint never holds a token, so a run resumed from one (a
//! step of the step API, a Worker tick) would fetch a token each time. A host may keep the
//! token outside the checkpoint instead: [`SyncEngine::take_new_token`] hands it each token
//! the engine fetched, with its expiry (epoch ms), once; [`SyncEngine::use_token`] gives one
//! back to a resumed run. A token handed in is checked as any other: an expired one is not
//! used, one near its expiry is renewed at once while it serves, a 401 drops it (also for a
//! request sent before the resume), and it is added to the redactor before anything can echo
//! it. It has no requests owed to it: it is never used past its expiry.
//!
//! Whether token requests take a slot of the rate window is the platform's property
//! ([`crate::platform::wire::Wire::token_requests_count_against_rate`]; Foundry: counted).
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

/// An access token. Never saved in a checkpoint: a resumed run fetches its own, or is handed
/// the host's ([`SyncEngine::use_token`]).
pub(super) struct Token {
    pub value: String,
    pub generation: u64,
    fetched_at: u64,
    /// When it expires (the host's clock).
    expires_at: u64,
    /// When its successor is asked for: its expiry less the margin.
    renew_at: u64,
    /// Until when requests go with it while its successor is awaited: half the margin before
    /// its expiry.
    use_until: u64,
    /// Requests it is still owed: those ready when it came, sent with it whatever its age.
    owed: u32,
    /// Handed in by the host rather than fetched by this engine.
    handed: bool,
    /// Fetched by this engine and not yet taken for the host's cache.
    unshared: bool,
}

impl Token {
    /// A token received at `now`, living `lifetime_ms`, owed to `owed` requests.
    pub fn fetched(value: String, generation: u64, now: u64, lifetime_ms: u64, owed: u32) -> Self {
        let mut t = Token::living(value, generation, now, lifetime_ms);
        t.owed = owed.max(1);
        t.unshared = true;
        t
    }

    /// A token the host kept, handed in at `now`, expiring at `expires_at`: its lifetime is
    /// taken as what is left of it, and nothing is owed to it.
    pub fn handed(value: String, generation: u64, now: u64, expires_at: u64) -> Self {
        let mut t = Token::living(value, generation, now, expires_at.saturating_sub(now));
        t.handed = true;
        t
    }

    fn living(value: String, generation: u64, now: u64, lifetime_ms: u64) -> Self {
        let margin = MAX_MARGIN_MS.min(lifetime_ms / 10);
        let expires_at = now.saturating_add(lifetime_ms);
        let renew_at = now.saturating_add(lifetime_ms - margin).max(now.saturating_add(margin));
        let use_until = expires_at.saturating_sub(margin / 2).max(renew_at);
        Token {
            value,
            generation,
            fetched_at: now,
            expires_at,
            renew_at,
            use_until,
            owed: 0,
            handed: false,
            unshared: false,
        }
    }

    /// Whether requests may still go with it at `now`: before half its margin is left, or
    /// while it is owed requests (for at most [`MAX_MARGIN_MS`] after it came, so that a token
    /// owed requests is not sent long after, say, a pause).
    pub fn usable(&self, now: u64) -> bool {
        now < self.use_until || (self.owed > 0 && now < self.fetched_at.saturating_add(MAX_MARGIN_MS))
    }

    /// Whether its successor should be asked for while it serves: past its renewal, before
    /// half its margin is left.
    fn renewing(&self, now: u64) -> bool {
        self.renew_at <= now && now < self.use_until
    }

    /// A request was sent with it.
    pub fn spend(&mut self) {
        self.owed = self.owed.saturating_sub(1);
    }
}

/// Whether a token handed in can go in an `Authorization` header as it is: visible ASCII,
/// no space, not absurdly long. Anything else is not used (the engine fetches its own).
fn fits_a_header(value: &str) -> bool {
    !value.is_empty() && value.len() <= 8192 && value.bytes().all(|b| b.is_ascii_graphic())
}

impl SyncEngine {
    /// Whether requests must wait for a token: none, or the one held is too old to use.
    pub(super) fn needs_token(&self, now: u64) -> bool {
        matches!(self.auth, Auth::OAuthClient) && self.token.as_ref().is_none_or(|t| !t.usable(now))
    }

    /// Whether the token's successor should be asked for now, while requests go on with it.
    pub(super) fn renewal_due(&self, now: u64) -> bool {
        matches!(self.auth, Auth::OAuthClient)
            && self.token.as_ref().is_some_and(|t| t.renewing(now))
            && !self.token_in_flight()
            && now >= self.counters.token_not_before
            && !self.ready.is_empty()
    }

    pub(super) fn token_in_flight(&self) -> bool {
        self.in_flight.values().any(|(j, _)| j.kind == JobKind::Token)
    }

    /// Whether a request of this kind takes a slot of the rate window: every request, and
    /// token requests where the platform counts them.
    pub(super) fn rated(&self, kind: JobKind) -> bool {
        kind != JobKind::Token || self.wire.token_requests_count_against_rate()
    }

    /// A 401 to a request sent with token `generation`: that token is dropped (a later one
    /// is kept). A request restored in flight from a checkpoint (generation 0) was sent with
    /// the token the host handed in, or the one it was handed to keep: a handed token is
    /// dropped.
    pub(super) fn drop_refused_token(&mut self, generation: u64) {
        if self.token.as_ref().is_some_and(|t| t.generation == generation || (generation == 0 && t.handed)) {
            // A stateless host (the step API) hands the token in again at each step from its
            // cache until a new one replaces it there: remember which one was refused.
            self.counters.refused_token_expiry = self.token.take().map(|t| t.expires_at);
        }
    }

    /// Hands the run a token the host kept from an earlier invocation (see the module docs),
    /// expiring at `expires_at` (ms on the host's clock). Returns whether it will be used: not
    /// when the run fetches no token (another platform, `hostAuth`), when it has expired, when
    /// it could not go in a header, or when the run holds a token that lasts longer.
    pub fn use_token(&mut self, value: &str, expires_at: u64, now: u64) -> bool {
        if !matches!(self.auth, Auth::OAuthClient) || expires_at <= now || !fits_a_header(value) {
            return false;
        }
        if self.counters.refused_token_expiry == Some(expires_at) {
            // The token the platform refused, still in the host's cache.
            return false;
        }
        if self.token.as_ref().is_some_and(|t| t.usable(now) && t.expires_at >= expires_at) {
            return false;
        }
        self.token_generation += 1;
        self.token = Some(Token::handed(value.to_string(), self.token_generation, now, expires_at));
        // Known to the redactor before any answer could echo it.
        self.note_token();
        true
    }

    /// The token this run fetched since the last call, with its expiry (ms on the host's
    /// clock), for the host to keep outside the checkpoint; `None` when there is no new one
    /// (or it was announced to live no time). Each token is given once.
    pub fn take_new_token(&mut self) -> Option<(String, u64)> {
        let t = self.token.as_mut().filter(|t| t.unshared && t.expires_at > t.fetched_at)?;
        t.unshared = false;
        Some((t.value.clone(), t.expires_at))
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
                let room = self.options.concurrency.saturating_sub(self.in_flight.len() as u32);
                let ready = self.ready.len() + self.delayed.iter().filter(|d| d.0.at <= now).count();
                let owed = (ready as u32).min(room);
                self.token = Some(Token::fetched(value, self.token_generation, now, ttl.saturating_mul(1000), owed));
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
        let t = Token::fetched("t".into(), 1, 1_000, 7_200_000, 1);
        assert_eq!(t.renew_at, 1_000 + 7_200_000 - 60_000);
        let t = Token::fetched("t".into(), 1, 1_000, 30_000, 1);
        assert_eq!(t.renew_at, 1_000 + 27_000);
    }

    #[test]
    fn a_token_serves_while_its_successor_is_asked_for_until_half_its_margin_is_left() {
        let t = Token::fetched("t".into(), 1, 0, 7_200_000, 1);
        assert!(!t.renewing(7_139_999) && t.usable(7_139_999));
        assert!(t.renewing(7_140_000) && t.usable(7_140_000), "renewed a minute early, still used");
        assert!(t.renewing(7_169_999) && t.usable(7_169_999));
        assert!(!t.renewing(7_170_000) && !t.usable(7_170_000), "30 s before its expiry, requests wait");
    }

    #[test]
    fn a_token_of_no_lifetime_serves_the_requests_it_is_owed() {
        let mut t = Token::fetched("t".into(), 1, 1_000, 0, 3);
        assert!(!t.renewing(1_000), "owed requests, not renewed while they go");
        assert!(t.usable(1_000) && t.usable(5_000));
        t.spend();
        t.spend();
        assert!(t.usable(5_000));
        assert!(!t.usable(61_000), "owed, but a minute old");
        t.spend();
        assert!(!t.usable(5_000), "spent, and past its life");
    }

    #[test]
    fn a_handed_token_is_owed_nothing_and_never_used_past_its_expiry() {
        let t = Token::handed("t".into(), 1, 1_000, 1_010);
        assert!(t.usable(1_000) && !t.renewing(1_000) && t.renewing(1_009), "near its end: used while renewed");
        assert!(!t.usable(1_010));
        let t = Token::handed("t".into(), 1, 0, 3_600_000);
        assert_eq!((t.renew_at, t.use_until), (3_540_000, 3_570_000));
    }
}
