//! The token bucket that paces requests, and how it adapts its rate (AIMD).
//!
//! **Spreading.** Tokens accrue at the rate in force (`limit` requests per `window`) up to
//! `burst` (the concurrency, and at least two where token requests count, so a token and the
//! request it is for go together; never the whole limit); a request takes one. So a sync sends
//! one request every `window ÷ limit`, not a window's worth at once, and another client of the
//! organisation always finds room in the platform's window. Beside the bucket, the configured
//! budget is a hard cap counted as the platform counts it but conservatively (a request holds
//! its place from its sending until a window after its answer): however the rate moves, a lone
//! client never sends more than the configured `limit` in any window.
//!
//! **Counting the platform's window.** The bucket also counts the platform's window as this
//! client knows it: its accepted requests there (by their answers, so never sooner than the
//! platform frees them) and those in flight stay within the rate in force times the window
//! (the configured one, until a `Retry-After` teaches another).
//!
//! **Adapting a rate.** A 429 is a congestion event. Every 429 until a request sent after it is
//! accepted belongs to the same event (the answers still due to requests sent before it, and
//! probes that fail again): the rate drops once, multiplicatively. The event *measures* the
//! budget as the smaller of half the rate and what this client had accepted in the window
//! (the platform's budget, when its window is the one counted), never below a tenth of the
//! configured rate (a platform that answers 429 at random must not bring a sync to a crawl),
//! and the rate goes to 95% of it. After the pause one probe goes, when the count says a place
//! is free: accepted, the measure was right and the rate goes to it (a 429 met later at that
//! level takes the margin, not half); refused again, the platform's window is not the one
//! counted, the margin stays and at most two requests go back to back until a window is
//! learned. A 429's `Retry-After` teaches the window ([`learn_reset`](TokenBucket::learn_reset)).
//! That level is the ceiling known to be safe. The rate holds there (ten of the platform's
//! windows, at least a minute), then grows additively about every second (a fiftieth of the
//! configured limit), a level kept a window without a 429 becoming the new ceiling: a platform
//! whose budget rose again is found within a few minutes. A 429 met while probing past the
//! ceiling returns the rate to it, and the next hold is twice as long. While congested, one
//! request at a time goes: after a pause, a single probe, and the rest only once it is
//! accepted, with no burst.
//!
//! **Learning from the platform.** [`observe`](TokenBucket::observe) takes what an answer's
//! `RateLimit-*` headers say ([`super::Budget`]): a policy's limit and window set the rate (to
//! 95% of it, times the client's share); what remains (times the share, less the requests in
//! flight) may be sent before the reset, and no more until it.

use std::collections::VecDeque;

use super::Budget;
use crate::time::{Duration, Instant};

/// How an answer bears on the budget.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// The platform took the request (whatever it answered, other than 429).
    Accepted,
    /// HTTP 429.
    RateLimited,
    /// No answer (a transport error): whether the platform counted it is unknown.
    Lost,
}

/// A 429 leaves this share of what it teaches, so pacing does not sit exactly on the platform's
/// rate (where the first round trip that runs late meets 429 again).
const MARGIN: f64 = 0.95;

/// What a `RateLimit-Policy` says is taken at this share of it, for the same reason.
const HEADER_MARGIN: f64 = 0.95;

/// How often the rate grows without a 429.
const GROW_EVERY: Duration = Duration::from_secs(1);

/// The shortest hold at the level a 429 taught before probing past it.
const MIN_HOLD: Duration = Duration::from_secs(60);

/// The hold before probing past a level a 429 taught lasts this many of the platform's
/// windows (at least [`MIN_HOLD`]): each probe past it that meets a 429 costs a burst, so
/// a budget that did not change is probed at most once in ten windows.
const HOLD_WINDOWS: u64 = 10;

/// The most accepted requests remembered (for the platform's window and what it held).
const MAX_LOG: usize = 4096;

/// A `Retry-After` shorter than this says nothing of the window: it is rounded up to whole
/// seconds, so it may be up to a second late.
const MIN_TEACHING_WAIT: Duration = Duration::from_secs(2);

const DAY: Duration = Duration::from_secs(24 * 3600);

/// The request budget as a token bucket whose rate adapts (see the module docs). Saved in
/// checkpoints; [`unsound`](Self::unsound) refuses a saved one that could not work.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TokenBucket {
    /// The configured budget (times the share): requests per window, never exceeded.
    configured: u32,
    #[serde(rename = "windowMs")]
    window: Duration,
    /// The rate in force, as requests per window (a fraction).
    limit: f64,
    /// The most tokens the bucket holds: requests that may go back to back.
    burst: u32,
    tokens: f64,
    /// When `tokens` was last brought up to date.
    refilled_at: Instant,
    /// The highest rate known to be safe: what the last 429 taught, or a rate held for a
    /// window without one. The rate climbs back quickly up to it, and a probe past it that
    /// meets a 429 returns to it.
    ceiling: f64,
    /// Until when the rate holds at the ceiling before probing past it.
    hold_until: Instant,
    /// How long the next hold lasts: doubled by each probe that met a 429, to a day.
    #[serde(rename = "holdMs")]
    hold: Duration,
    /// When the rate may next grow.
    grow_at: Instant,
    /// A 429 came and no request sent since has been accepted.
    congested: bool,
    /// Answers still due to requests sent before the last 429: theirs are the same event.
    stale: u32,
    /// The 429s of the current event (the backoff grows with them, not per request).
    refusals: u32,
    in_flight: u32,
    /// When each answered request stops counting against the configured budget, oldest first.
    frees_at: VecDeque<Instant>,
    /// The requests the platform's `RateLimit-Remaining` leaves this client until
    /// `allowance_until` (its reset).
    allowance: f64,
    allowance_until: Instant,
    /// When each accepted request's answer came, oldest first, within the longest window
    /// considered (at most [`MAX_LOG`]): the platform's count, as this client knows it.
    #[serde(default)]
    accepted_at: VecDeque<Instant>,
    /// When the latest request forgotten from `accepted_at` was accepted (0: none): the gap
    /// before its oldest entry is known only from there.
    #[serde(default)]
    forgotten_at: Instant,
    /// The platform's window as a `Retry-After` taught it, ms (0: not learned, taken to be
    /// `window`).
    #[serde(default, rename = "platformWindowMs")]
    learned_window: Duration,
    /// The rate in force is the platform's budget as measured (a probe sent when this
    /// client's count said a place was free was accepted, or a `Retry-After` said when), not a
    /// guess: it goes without the margin, and a 429 at it takes the margin rather than half.
    #[serde(default)]
    exact: bool,
    /// What the last congestion event measured the platform's budget at (a rate per window);
    /// the rate goes to it, from the margin below, once the event's first probe is accepted.
    #[serde(default)]
    measured: f64,
    /// A probe met a 429 at a place this client's count said was free: the platform's window
    /// is not the one counted, so a burst the count allows could still go past its budget. At
    /// most two go back to back (a token and its request) until a window is learned.
    #[serde(default)]
    narrow: bool,
    /// When the current (or last) congestion event began.
    #[serde(default)]
    event_at: Instant,
    /// A probe of the current event met a 429 again: the level is not exact.
    #[serde(default)]
    probe_missed: bool,
}

impl TokenBucket {
    /// A bucket for `limit` requests per `window`, sending at most `burst` back to back.
    pub fn new(limit: u32, window: Duration, burst: u32) -> Self {
        let limit = limit.max(1);
        let burst = burst.clamp(1, limit);
        TokenBucket {
            configured: limit,
            window: window.max(Duration::from_ms(1)),
            limit: limit as f64,
            burst,
            tokens: burst as f64,
            refilled_at: Instant::ZERO,
            ceiling: limit as f64,
            hold_until: Instant::ZERO,
            hold: window.saturating_mul(2).clamp(MIN_HOLD, DAY),
            refusals: 0,
            grow_at: Instant::ZERO,
            congested: false,
            stale: 0,
            in_flight: 0,
            frees_at: VecDeque::new(),
            allowance: 0.0,
            allowance_until: Instant::ZERO,
            accepted_at: VecDeque::new(),
            forgotten_at: Instant::ZERO,
            learned_window: Duration::ZERO,
            exact: false,
            measured: 0.0,
            narrow: false,
            event_at: Instant::ZERO,
            probe_missed: false,
        }
    }

    /// The most requests that may go back to back now.
    fn burst_now(&self) -> u32 {
        if self.narrow {
            self.burst.min(2)
        } else {
            self.burst
        }
    }

    /// The platform's window: as a `Retry-After` taught it, else the configured one.
    fn platform_window(&self) -> Duration {
        if self.learned_window > Duration::ZERO {
            self.learned_window
        } else {
            self.window
        }
    }

    /// The requests this client may have in the platform's window at the rate in force.
    fn platform_cap(&self) -> u32 {
        let cap = self.limit * self.platform_window().as_ms() as f64 / self.window.as_ms() as f64;
        ((cap + 1e-9).floor() as u32).max(1)
    }

    /// Accepted requests answered within `window` ms before `now` (+1: the platform may count
    /// one at exactly a window ago as still inside), oldest first.
    fn accepted_within(&self, now: Instant, window: Duration) -> impl Iterator<Item = Instant> + '_ {
        let start = self.accepted_at.partition_point(|&t| t + window + Duration::from_ms(1) <= now);
        self.accepted_at.range(start..).copied()
    }

    /// The hold before probing past what a 429 taught, for the window as known.
    fn base_hold(&self) -> Duration {
        self.platform_window().max(self.window).saturating_mul(HOLD_WINDOWS).clamp(MIN_HOLD, DAY)
    }

    /// Whether `other` was made for the same configured budget (a resumed run may change it).
    pub(crate) fn same_budget(&self, other: &TokenBucket) -> bool {
        self.configured == other.configured && self.window == other.window
    }

    fn update(&mut self, now: Instant) {
        while self.frees_at.front().is_some_and(|&t| t <= now) {
            self.frees_at.pop_front();
        }
        // Four windows back: a platform's window up to four times the configured one can be
        // learned from when its budget frees.
        let keep = self.platform_window().max(self.window.saturating_mul(4)) + Duration::from_ms(1);
        while self.accepted_at.front().is_some_and(|&t| t + keep <= now) {
            self.forgotten_at = self.accepted_at.pop_front().unwrap_or(Instant::ZERO);
        }
        if self.accepted_at.back().is_some_and(|&t| t > now) {
            // A clock that went back: what was accepted "later" was accepted by now.
            for t in self.accepted_at.iter_mut() {
                *t = (*t).min(now);
            }
        }
        // A host clock that went back restarts the count from it, rather than waiting for it.
        self.refilled_at = self.refilled_at.min(now);
        let elapsed = now.since(self.refilled_at);
        if elapsed > Duration::ZERO {
            let accrued = elapsed.as_ms() as f64 * self.limit / self.window.as_ms() as f64;
            self.tokens = (self.tokens + accrued).min(self.burst_now() as f64);
            self.refilled_at = now;
        }
        // Once per second passed (a host that slept long catches up, a bounded number of times).
        let mut steps = 0;
        while now >= self.grow_at && steps < 600 {
            self.grow(self.grow_at.max(now - GROW_EVERY.saturating_mul(600)));
            steps += 1;
        }
        if now >= self.grow_at {
            self.grow_at = now + GROW_EVERY;
        }
    }

    /// The additive increase, once a second without a 429.
    fn grow(&mut self, at: Instant) {
        self.grow_at = at + GROW_EVERY;
        if self.congested {
            return;
        }
        let configured = self.configured as f64;
        if self.limit < self.ceiling {
            self.limit = (self.limit + configured / 10.0).min(self.ceiling);
        } else if at >= self.hold_until && self.limit < configured {
            // Probing: a rate reached a window ago without a 429 is safe.
            let step = configured / 50.0;
            self.ceiling = self.ceiling.max(self.limit - step * self.window.as_ms() as f64 / GROW_EVERY.as_ms() as f64);
            self.limit = (self.limit + step).min(configured);
        }
    }

    /// When the next request may be sent: `now` if one may go, the time one may otherwise, or
    /// `None` when only an answer to a request in flight can free one.
    pub fn next_slot(&mut self, now: Instant) -> Option<Instant> {
        self.next_slots(now, 1)
    }

    /// As [`next_slot`](Self::next_slot), for a request that `requests - 1` others must follow
    /// at once (an access token and the request it is for: a host that keeps no token between
    /// steps would otherwise spend each step's token on the token alone). At most the burst.
    pub fn next_slots(&mut self, now: Instant, requests: u32) -> Option<Instant> {
        // While congested the probe goes alone, whatever must follow it.
        let need = if self.congested { 1.0 } else { requests.clamp(1, self.burst_now()) as f64 };
        self.update(now);
        if self.congested {
            // No burst after a pause: the probe alone.
            self.tokens = self.tokens.min(1.0);
        }
        if self.congested && self.in_flight > 0 {
            // One probe at a time until one is accepted.
            return None;
        }
        if self.held() + need as u32 > self.configured {
            return self.frees_at.front().copied();
        }
        // The platform's window as this client counts it: its accepted requests there, and
        // those in flight, stay within the rate in force times that window.
        let window = self.platform_window();
        let room = self.platform_cap().saturating_sub(self.in_flight);
        if room < need as u32 {
            return None;
        }
        let start = self.accepted_at.len() - self.accepted_within(now, window).count();
        let excess = (self.accepted_at.len() - start + need as usize).saturating_sub(room as usize);
        if excess > 0 {
            let one = Duration::from_ms(1);
            return Some((self.accepted_at[start + excess - 1] + window + one).max(now + one));
        }
        if now < self.allowance_until && self.allowance < need {
            // The platform said its budget is spent until its reset.
            return Some(self.allowance_until);
        }
        if self.tokens >= need {
            return Some(now);
        }
        let wait = ((need - self.tokens) * self.window.as_ms() as f64 / self.limit).ceil() as u64;
        Some(now + Duration::from_ms(wait.max(1)))
    }

    /// A request goes now: it takes a token and a place in the configured budget.
    pub fn on_send(&mut self, now: Instant) {
        self.update(now);
        self.tokens = (self.tokens - 1.0).max(0.0);
        self.allowance = (self.allowance - 1.0).max(0.0);
        self.in_flight += 1;
    }

    /// The answer to a request (or its failure) arrived at `now`.
    pub fn on_answer(&mut self, now: Instant, verdict: Verdict) {
        self.update(now);
        self.in_flight = self.in_flight.saturating_sub(1);
        // +1: the platform may count a request at exactly `window` ago as still inside.
        self.frees_at.push_back(now + self.window + Duration::from_ms(1));
        let sent_before_the_event = self.stale > 0;
        self.stale = self.stale.saturating_sub(1);
        if verdict == Verdict::Accepted {
            if self.accepted_at.len() >= MAX_LOG {
                self.forgotten_at = self.accepted_at.pop_front().unwrap_or(Instant::ZERO);
            }
            self.accepted_at.push_back(now);
        }
        match verdict {
            Verdict::Accepted if !sent_before_the_event => {
                if self.congested && !self.probe_missed && self.measured > self.limit {
                    // The probe went when this client's count said a place was free, and it
                    // was: what the event measured is the platform's budget; no margin.
                    self.exact = true;
                    self.limit = self.measured.min(self.configured as f64);
                    self.ceiling = self.limit;
                }
                self.congested = false;
            }
            Verdict::RateLimited if !self.congested && !sent_before_the_event => self.congestion(now),
            Verdict::RateLimited => {
                self.refusals = self.refusals.saturating_add(1);
                if self.congested && !sent_before_the_event {
                    // A probe refused again: the platform's window is not the one counted, and
                    // what the event measured a guess. The margin below it stays.
                    self.probe_missed = true;
                    self.narrow = true;
                    self.tokens = self.tokens.min(self.burst_now() as f64);
                }
            }
            _ => {}
        }
    }

    /// The lowest rate a 429 leads to: a tenth of the configured one.
    fn floor(&self) -> f64 {
        self.configured as f64 / 10.0
    }

    /// A 429 at `now` said (in `Retry-After`, already read against the answer's `Date`) that
    /// the platform's budget frees in `wait`. At the first 429 of an event, with this client
    /// alone since its requests began, that is when the oldest request in the platform's
    /// window leaves it: the requests since the last gap at least that wait long (less the
    /// second `Retry-After` may be rounded by) are the platform's budget, and the window is
    /// from the first of them to the reset (the longest it can be, so the rate is never
    /// above the platform's). A wait under two seconds, over a day, that no gap explains, or
    /// that fits the configured window teaches nothing.
    pub fn learn_reset(&mut self, now: Instant, wait: Duration) {
        if !self.congested || self.event_at != now || self.refusals != 1 {
            return;
        }
        if !(MIN_TEACHING_WAIT..=DAY).contains(&wait) {
            return;
        }
        let tolerance = wait - Duration::from_secs(1);
        let log = &self.accepted_at;
        // The oldest request in the platform's window follows a gap of at least the wait.
        let before = |i: usize| if i == 0 { self.forgotten_at } else { log[i - 1] };
        let oldest = (0..log.len())
            .rev()
            .find(|&i| (i == 0 && self.forgotten_at == Instant::ZERO) || log[i].since(before(i)) >= tolerance);
        let Some(oldest) = oldest else { return };
        let window = (now + wait).since(log[oldest]);
        let count = (log.len() - oldest) as f64;
        if window < wait || window > DAY || count < 1.0 {
            return;
        }
        // The wait is whole seconds rounded up, so the window is up to a second shorter (and
        // round trips move it a little either way). A configured window within that is the
        // platform's as far as it said: what was accepted in it stays the measure.
        let slack = Duration::from_ms(250);
        if self.window + slack + Duration::from_secs(1) >= window && self.window <= window + slack {
            return;
        }
        // As a rate per configured window, never past the configured one nor below the floor.
        let limit =
            (count * self.window.as_ms() as f64 / window.as_ms() as f64).clamp(self.floor(), self.configured as f64);
        self.learned_window = window;
        self.narrow = false;
        // The window is the platform's word (a second long at most, so a little slow): the
        // count in it is the budget, without a margin once the probe at its reset goes through.
        self.measured = limit;
        self.limit = (MARGIN * limit).max(self.floor());
        self.ceiling = self.limit;
        self.probe_missed = false;
        self.hold = self.base_hold();
        self.hold_until = now + self.hold;
    }

    /// How long a probe after a 429 without `Retry-After` waits at most: a quarter of the
    /// pause so far (at least a second), so the pause overshoots the platform's reset by at
    /// most a quarter, where a doubling backoff may double it.
    pub fn probe_wait_cap(&self, now: Instant) -> Option<Duration> {
        self.congested.then(|| now.since(self.event_at).div(4).max(Duration::from_secs(1)))
    }

    /// A 429 that starts a congestion event: back to the ceiling if it came while probing past
    /// it (and hold twice as long), else the multiplicative decrease.
    fn congestion(&mut self, now: Instant) {
        let base_hold = self.base_hold();
        self.measured = 0.0;
        if self.limit > self.ceiling {
            self.limit = self.ceiling;
            self.hold = self.hold.saturating_mul(2).clamp(base_hold, DAY);
        } else if self.exact {
            // The platform's budget as measured, met once more (another client, a late round
            // trip): a margin below it, not half.
            self.limit = (MARGIN * self.limit).max(self.floor());
            self.ceiling = self.limit;
            self.hold = base_hold;
        } else {
            // What this client had accepted in the platform's window, as a rate per window.
            let window = self.platform_window();
            let accepted =
                self.accepted_within(now, window).count() as f64 * self.window.as_ms() as f64 / window.as_ms() as f64;
            self.measured = accepted.min(self.limit / 2.0).max(self.floor());
            self.limit = (MARGIN * self.measured).max(self.floor());
            self.ceiling = self.limit;
            self.hold = base_hold;
        }
        self.exact = false;
        self.probe_missed = false;
        self.event_at = now;
        self.hold_until = now + self.hold;
        self.grow_at = now + GROW_EVERY;
        self.tokens = 0.0;
        self.congested = true;
        self.refusals = 1;
        self.stale = self.in_flight;
    }

    /// What an answer's `RateLimit-*` headers said of the organisation's budget, of which this
    /// client may use `share`.
    pub fn observe(&mut self, now: Instant, budget: &Budget, share: f64) {
        self.update(now);
        let configured = self.configured as f64;
        if let (Some(limit), Some(window)) = (budget.limit, budget.window) {
            let per_window = limit as f64 * share * self.window.as_ms() as f64 / window.as_ms() as f64;
            self.limit = (HEADER_MARGIN * per_window).clamp(configured / 100.0, configured);
            self.ceiling = self.limit;
            self.learned_window = window;
            self.narrow = false;
            self.hold_until = now + self.hold;
        }
        if let (Some(remaining), Some(reset)) = (budget.remaining, budget.reset) {
            // Requests still in flight may not have been counted in what remains.
            let left = remaining as f64 * share - self.in_flight as f64;
            self.allowance = left.clamp(0.0, configured);
            self.allowance_until = now + reset;
        }
    }

    /// Requests counting against the configured budget (in flight or inside the window).
    pub fn held(&self) -> u32 {
        self.in_flight + self.frees_at.len() as u32
    }

    /// The rate in force, as requests per window.
    pub fn limit(&self) -> f64 {
        self.limit
    }

    /// The 429s of the current (or last) congestion event.
    pub fn refusals(&self) -> u32 {
        self.refusals
    }

    /// Whether a 429 came and no request sent since has been accepted.
    pub fn is_congested(&self) -> bool {
        self.congested
    }

    /// The latest time the bucket waits for, for a resumed run to check against its clock.
    pub(crate) fn latest_wait(&self) -> Instant {
        let last_free = self.frees_at.back().copied().unwrap_or_default();
        let last_accepted = self.accepted_at.back().copied().unwrap_or_default();
        [last_free, last_accepted, self.event_at, self.grow_at, self.refilled_at, self.allowance_until, self.hold_until]
            .into_iter()
            .max()
            .unwrap_or_default()
    }

    /// The window's length.
    pub(crate) fn window(&self) -> Duration {
        self.window
    }

    /// Why a bucket read from a checkpoint could not work, if it could not: a rate of 0 (or
    /// above the configured one, or not a number) never gives a token, an empty window never
    /// lets a place free, and places held by more requests than `requests_in_flight` are never
    /// given back.
    pub(crate) fn unsound(&self, requests_in_flight: usize) -> Option<&'static str> {
        let configured = self.configured as f64;
        let within = |v: f64, low: f64| v.is_finite() && v >= low && v <= configured;
        if self.configured == 0 || !within(self.limit, f64::MIN_POSITIVE) || !within(self.ceiling, f64::MIN_POSITIVE) {
            return Some("the rate bucket's rate must be positive and at most its configured limit");
        }
        if self.window == Duration::ZERO || self.hold > DAY {
            return Some("the rate bucket's window must be positive and its hold at most a day");
        }
        if self.burst == 0
            || self.burst > self.configured
            || !(self.tokens.is_finite() && self.tokens >= 0.0)
            || self.tokens > self.burst as f64
        {
            return Some("the rate bucket's burst must be between 1 and its limit, and its tokens within it");
        }
        if !within(self.allowance, 0.0) {
            return Some("the requests the platform left the rate bucket must be between 0 and its limit");
        }
        if self.in_flight as usize > requests_in_flight || self.stale > self.in_flight {
            return Some("the rate bucket holds places for more requests than are in flight");
        }
        if self.held() > self.configured || !self.frees_at.iter().zip(self.frees_at.iter().skip(1)).all(|(a, b)| a <= b)
        {
            return Some("the rate bucket holds more places than its limit, or out of order");
        }
        if self.learned_window > DAY
            || !(self.measured.is_finite() && self.measured >= 0.0 && self.measured <= configured)
        {
            return Some(
                "the rate bucket's learned window must be at most a day and its measured rate within its limit",
            );
        }
        if self.accepted_at.len() > MAX_LOG
            || !self.accepted_at.iter().zip(self.accepted_at.iter().skip(1)).all(|(a, b)| a <= b)
        {
            return Some("the rate bucket remembers too many accepted requests, or out of order");
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(ms: u64) -> Instant {
        Instant::from_ms(ms)
    }

    fn ms(ms: u64) -> Duration {
        Duration::from_ms(ms)
    }

    /// Sends whenever the bucket allows until `until`, each answered `rtt` later with
    /// `verdict`; returns the send times.
    fn run(b: &mut TokenBucket, from: u64, until: u64, rtt: u64, verdict: Verdict) -> Vec<u64> {
        let (mut now, mut sent, mut due) = (from, vec![], VecDeque::new());
        while now < until {
            while due.front().is_some_and(|&t| t <= now) {
                due.pop_front();
                b.on_answer(at(now), verdict);
            }
            match b.next_slot(at(now)).map(Instant::as_ms) {
                Some(t) if t <= now => {
                    b.on_send(at(now));
                    sent.push(now);
                    due.push_back(now + rtt);
                    continue;
                }
                Some(t) => now = due.front().map_or(t, |&d| d.min(t)),
                None => now = *due.front().expect("an answer frees the bucket"),
            }
        }
        sent
    }

    #[test]
    fn instants_and_durations_are_saved_as_plain_ms_under_their_old_names() {
        let mut b = TokenBucket::new(40, ms(4000), 4);
        b.on_send(at(1000));
        b.on_answer(at(1050), Verdict::Accepted);
        let saved = serde_json::to_value(&b).unwrap();
        for (key, value) in [("windowMs", 4000), ("holdMs", 60_000), ("platformWindowMs", 0), ("refilledAt", 1050)] {
            assert_eq!(saved[key], value, "{key}");
        }
        assert_eq!(saved["freesAt"], serde_json::json!([5051]));
        assert_eq!(saved["acceptedAt"], serde_json::json!([1050]));
    }

    #[test]
    fn requests_are_spread_at_the_rate_with_no_more_than_the_burst_at_once() {
        let mut b = TokenBucket::new(40, ms(4000), 4);
        let sent = run(&mut b, 0, 8000, 50, Verdict::Accepted);
        assert_eq!(&sent[..4], &[0, 0, 0, 0], "the burst first");
        assert_eq!(sent[4] - sent[3], 100, "then one every 100 ms: 40 per 4 s");
        for (i, &t) in sent.iter().enumerate() {
            let in_a_tenth = sent[i..].iter().take_while(|&&u| u < t + 100).count();
            assert!(in_a_tenth <= 4, "{in_a_tenth} requests within 100 ms of {t}: more than the burst");
            let in_window = sent[i..].iter().take_while(|&&u| u < t + 4000).count();
            assert!(in_window <= 40, "{in_window} requests within 4 s of {t}");
        }
        assert!(sent.len() >= 78, "{} sent in 8 s", sent.len());
    }

    #[test]
    fn the_429s_of_one_event_lower_the_rate_once_and_it_climbs_back() {
        let mut b = TokenBucket::new(40, ms(4000), 4);
        run(&mut b, 0, 2000, 50, Verdict::Accepted);
        for _ in 0..4 {
            b.on_send(at(2000));
        }
        let before = b.limit();
        b.on_answer(at(2050), Verdict::RateLimited);
        let after = b.limit();
        assert!(after <= 0.95 * before / 2.0 + 1e-9, "{before} -> {after}: half, less the margin");
        assert!(after >= 0.95 * 19.0, "{after}: what was accepted in the window, not the floor");
        for _ in 0..3 {
            b.on_answer(at(2060), Verdict::RateLimited);
        }
        assert_eq!(b.limit(), after, "the other 429s of the event change nothing");
        // The probe goes when the oldest of the window's accepted requests leaves it (a place
        // is free by this client's count), and fails again: still the same event.
        let probe = b.next_slot(at(3000)).unwrap().as_ms();
        assert!((4000..=4200).contains(&probe), "{probe}: a window after the first answers");
        b.on_send(at(probe));
        assert_eq!(b.next_slot(at(probe)), None, "one probe at a time");
        b.on_answer(at(probe + 50), Verdict::RateLimited);
        assert_eq!(b.limit(), after);
        assert_eq!(b.refusals(), 5, "the backoff grows with the event's 429s");
        b.on_send(at(5000));
        b.on_answer(at(5050), Verdict::Accepted);
        assert!(!b.is_congested());
        // Held for a minute, then up about every second to the configured rate.
        b.next_slot(at(60_000));
        assert_eq!(b.limit(), after);
        for s in 0..40 {
            b.next_slot(at(62_050 + s * 1000));
        }
        assert_eq!(b.limit(), 40.0);
        // A 429 while probing past the ceiling goes back to it, and holds twice as long.
        let mut b = TokenBucket::new(40, ms(4000), 4);
        b.on_send(at(0));
        b.on_answer(at(10), Verdict::RateLimited);
        b.on_send(at(1000));
        b.on_answer(at(1010), Verdict::Accepted);
        b.next_slot(at(70_000));
        b.next_slot(at(71_000));
        let (probing, ceiling) = (b.limit(), b.ceiling);
        assert!(probing > ceiling, "probing past it");
        b.on_send(at(71_000));
        b.on_answer(at(71_010), Verdict::RateLimited);
        assert_eq!(b.limit(), b.ceiling, "back to the ceiling");
        assert!(b.limit() >= ceiling, "not halved again: {} from {probing}", b.limit());
        let ceiling = b.limit();
        b.on_send(at(72_000));
        b.on_answer(at(72_010), Verdict::Accepted);
        b.next_slot(at(71_010 + 119_000));
        assert_eq!(b.limit(), ceiling, "held two minutes now");
    }

    #[test]
    fn a_clock_that_goes_back_does_not_hold_the_bucket_until_it_catches_up() {
        let mut b = TokenBucket::new(40, ms(4000), 1);
        b.on_send(at(1_000_000));
        b.on_answer(at(1_000_050), Verdict::Accepted);
        // Back by most of 17 minutes: half a token was there, the other half is 50 ms away.
        let back = 1_000;
        assert_eq!(b.next_slot(at(back)), Some(at(back + 50)));
        assert_eq!(b.next_slot(at(back + 50)), Some(at(back + 50)));
    }

    #[test]
    fn ratelimit_headers_set_the_rate_and_nothing_remaining_waits_for_the_reset() {
        let mut b = TokenBucket::new(200, ms(60_000), 4);
        let policy = Budget { limit: Some(40), window: Some(ms(4000)), remaining: None, reset: None };
        b.observe(at(0), &policy, 1.0);
        assert_eq!(b.limit(), 200.0, "looser than configured: the configured rate");
        b.observe(at(0), &Budget { window: Some(ms(60_000)), ..policy }, 0.5);
        assert!((b.limit() - 0.95 * 20.0).abs() < 1e-9, "{} (40 per minute, half of it)", b.limit());
        let none_left = Budget { limit: None, window: None, remaining: Some(0), reset: Some(ms(3000)) };
        let mut b = TokenBucket::new(40, ms(4000), 4);
        b.observe(at(100), &none_left, 1.0);
        assert_eq!(b.next_slot(at(100)), Some(at(3100)));
        assert_eq!(b.next_slot(at(3100)), Some(at(3100)));
    }

    /// 60 requests accepted at 10 a second from the start, then a 429 at 6 s.
    fn sixty_then_refused() -> TokenBucket {
        let mut b = TokenBucket::new(40, ms(4000), 4);
        // The configured 40 per 4 s would hold the 41st: count only the platform's answers.
        b.configured = 100;
        for i in 0..60 {
            b.on_send(at(i * 100));
            b.on_answer(at(i * 100 + 50), Verdict::Accepted);
        }
        b.on_send(at(6000));
        b.on_answer(at(6050), Verdict::RateLimited);
        b
    }

    #[test]
    fn a_retry_after_teaches_the_platforms_window_and_budget() {
        let mut b = sixty_then_refused();
        // The budget frees at 12.05 s (the first request's answer a window later), said as
        // a whole 7 s: a window of 13 s, which holds the 60.
        b.learn_reset(at(6050), ms(7000));
        assert_eq!(b.learned_window, ms(13_000));
        assert!((b.measured - 60.0 * 4.0 / 13.0).abs() < 1e-9, "{}", b.measured);
        assert!((b.limit() - 0.95 * b.measured).abs() < 1e-9);
        // The probe goes when the first requests leave the learned window (at the margin, 57
        // of the 60 may be there), and once it is accepted the rate is what was measured.
        let probe = b.next_slot(at(6050)).unwrap().as_ms();
        assert_eq!(probe, 350 + 13_000 + 1, "the fourth answer a window later");
        b.on_send(at(probe));
        b.on_answer(at(probe + 50), Verdict::Accepted);
        assert!((b.limit() - b.measured).abs() < 1e-9 && b.exact);
    }

    #[test]
    fn a_hostile_or_late_retry_after_teaches_nothing() {
        for wait in [0, 1, 999, 1000, 1999, DAY.as_ms() + 1, u64::MAX] {
            let mut b = sixty_then_refused();
            let limit = b.limit();
            b.learn_reset(at(6050), ms(wait));
            assert_eq!((b.learned_window, b.limit()), (Duration::ZERO, limit), "a wait of {wait} ms");
        }
        // Only an event's first 429 says when the budget frees (a later one, or one that
        // started no event, is the same pause said again).
        let mut b = sixty_then_refused();
        b.on_send(at(6100));
        b.on_answer(at(6150), Verdict::RateLimited);
        b.learn_reset(at(6150), ms(6000));
        assert_eq!(b.learned_window, Duration::ZERO, "the event's second 429");
        let mut b = TokenBucket::new(40, ms(4000), 4);
        b.learn_reset(at(0), ms(6000));
        assert_eq!(b.learned_window, Duration::ZERO, "no 429");
        // Requests forgotten (past four windows) leave the gap before the oldest unknown.
        let mut b = sixty_then_refused();
        b.forgotten_at = at(1);
        b.learn_reset(at(6050), ms(7000));
        assert_eq!(b.learned_window, Duration::ZERO, "what came before the oldest remembered is unknown");
    }

    #[test]
    fn after_a_probe_refused_where_the_count_said_a_place_was_free_at_most_two_go_at_once() {
        // The platform's window is longer than the one counted: a host that stalled must not
        // then send the whole burst into it.
        let mut b = sixty_then_refused();
        let probe = b.next_slot(at(6050)).unwrap().as_ms();
        b.on_send(at(probe));
        b.on_answer(at(probe + 50), Verdict::RateLimited);
        b.on_send(at(12_100));
        b.on_answer(at(12_150), Verdict::Accepted);
        assert!(!b.is_congested());
        let later = 100_000;
        let mut at_once = 0;
        while b.next_slot(at(later)) == Some(at(later)) {
            b.on_send(at(later));
            at_once += 1;
        }
        assert_eq!(at_once, 2, "after a long idle, two back to back (a token and its request), not four");
    }
}
