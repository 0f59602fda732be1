//! Pacing: the rolling request window ([`RateWindow`]) and retry backoff ([`Backoff`]).
//! Both take the time from the caller; neither reads a clock.

use std::collections::VecDeque;

/// At most `limit` requests in any `window_ms`, counted the way the platform counts them but
/// conservatively: a request holds its slot while in flight and for `window_ms` after its answer
/// came back (the platform saw it earlier than that), so a lone client never exceeds the limit.
///
/// When the platform answers 429 anyway (other clients share the budget, or the budget is
/// smaller than configured), the window learns: the limit drops to 90% of the slots held at
/// that moment, or to half when far fewer were held (others used the budget), never below a
/// tenth of the configured limit; it climbs back per window without a 429: quickly (a
/// twentieth of the configured limit) while below the level that met the 429, then one at a
/// time past it.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RateWindow {
    limit: u32,
    configured: u32,
    window_ms: u64,
    /// When the limit may next grow (`u64::MAX`, saved as null: not until a window passes).
    #[serde(with = "never_as_null")]
    grow_at: u64,
    /// The slots held when the last 429 came.
    ceiling: u32,
    in_flight: u32,
    /// When each answered request's slot frees, oldest first.
    frees_at: VecDeque<u64>,
}

impl RateWindow {
    pub fn new(limit: u32, window_ms: u64) -> Self {
        let limit = limit.max(1);
        RateWindow {
            limit,
            configured: limit,
            window_ms,
            grow_at: 0,
            ceiling: limit,
            in_flight: 0,
            frees_at: VecDeque::new(),
        }
    }

    fn expire(&mut self, now: u64) {
        while self.frees_at.front().is_some_and(|&t| t <= now) {
            self.frees_at.pop_front();
        }
    }

    /// When the next request may be sent: `now` if a slot is free, the time one frees
    /// otherwise, or `None` when every slot is held by a request still in flight.
    pub fn next_slot(&mut self, now: u64) -> Option<u64> {
        self.expire(now);
        if self.limit < self.configured && now >= self.grow_at {
            let step = if self.limit < self.ceiling * 9 / 10 { (self.configured / 20).max(1) } else { 1 };
            self.limit = (self.limit + step).min(self.configured).min(self.limit.max(self.ceiling * 9 / 10) + 1);
            self.grow_at = now + self.window_ms;
        }
        if self.in_flight + (self.frees_at.len() as u32) < self.limit {
            Some(now)
        } else {
            self.frees_at.front().copied()
        }
    }

    /// Takes a slot for a request sent now.
    pub fn on_send(&mut self) {
        self.in_flight += 1;
    }

    /// The request's answer (or failure) arrived at `now`.
    pub fn on_answer(&mut self, now: u64) {
        self.in_flight = self.in_flight.saturating_sub(1);
        // +1: the platform may count a request at exactly `window_ms` ago as still inside.
        self.frees_at.push_back(now + self.window_ms + 1);
    }

    /// The platform answered 429: the real budget is below what this window allows.
    pub fn on_rate_limited(&mut self) {
        let floor = (self.configured / 10).max(1);
        let held = self.held();
        let target = if held >= self.limit / 2 {
            // Near our own limit: the platform's budget is about what we held.
            self.ceiling = held.max(1);
            held * 9 / 10
        } else {
            // Far below it: others (or a burst) used the budget. Halve, and climb back fast.
            self.ceiling = self.limit;
            self.limit / 2
        };
        self.limit = target.clamp(floor.min(self.limit), self.limit);
        // Climb back only after a whole window has passed at the lower limit.
        self.grow_at = u64::MAX;
        if let Some(&last) = self.frees_at.back() {
            self.grow_at = last + self.window_ms;
        }
    }

    /// Slots held (in flight or inside the window), for checkpoints and reports.
    pub fn held(&self) -> u32 {
        self.in_flight + self.frees_at.len() as u32
    }

    pub fn limit(&self) -> u32 {
        self.limit
    }

    /// The latest time the window waits for (a slot freeing, the limit growing back), for a
    /// resumed run to check against its clock.
    pub(crate) fn latest_wait(&self) -> u64 {
        let grow = if self.grow_at == u64::MAX { 0 } else { self.grow_at };
        self.frees_at.back().copied().unwrap_or(0).max(grow)
    }

    /// The window's length.
    pub(crate) fn window_ms(&self) -> u64 {
        self.window_ms
    }

    /// Why a window read from a checkpoint could not work, if it could not: a limit of 0 (or
    /// above the configured one) never frees a slot, an empty window never lets one expire,
    /// and slots held by more requests than `requests_in_flight` are never given back.
    pub(crate) fn unsound(&self, requests_in_flight: usize) -> Option<&'static str> {
        if self.configured == 0 || self.limit == 0 || self.limit > self.configured || self.ceiling == 0 {
            return Some("the rate window's limit must be between 1 and its configured limit");
        }
        if self.window_ms == 0 {
            return Some("the rate window's length must be positive");
        }
        if self.in_flight as usize > requests_in_flight {
            return Some("the rate window holds slots for more requests than are in flight");
        }
        if self.held() > self.configured || !self.frees_at.iter().zip(self.frees_at.iter().skip(1)).all(|(a, b)| a <= b)
        {
            return Some("the rate window holds more slots than its limit, or out of order");
        }
        None
    }
}

/// Exponential backoff with jitter, from a seeded generator so runs are reproducible.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Backoff {
    pub base_ms: u64,
    pub max_ms: u64,
    /// The generator's state, saved as hex text: checkpoints pass through JavaScript, whose
    /// numbers lose integers past 2^53.
    #[serde(with = "hex")]
    state: u64,
}

impl Backoff {
    pub fn new(base_ms: u64, max_ms: u64, seed: u64) -> Self {
        Backoff { base_ms, max_ms, state: seed ^ 0x9e37_79b9_7f4a_7c15 }
    }

    fn next_u64(&mut self) -> u64 {
        // xorshift64*
        let mut x = self.state.max(1);
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.state = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// The delay before retry number `attempt` (1 for the first retry): between half and all
    /// of `base * 2^(attempt-1)`, capped at `max_ms`.
    pub fn delay(&mut self, attempt: u32) -> u64 {
        let full = self.base_ms.saturating_mul(1u64 << attempt.saturating_sub(1).min(30)).min(self.max_ms);
        let half = full / 2;
        half + if full > half { self.next_u64() % (full - half + 1) } else { 0 }
    }
}

/// `u64::MAX` as JSON null, so a checkpoint survives a JavaScript round trip.
mod never_as_null {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(v: &u64, s: S) -> Result<S::Ok, S::Error> {
        if *v == u64::MAX {
            s.serialize_none()
        } else {
            s.serialize_u64(*v)
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
        Ok(Option::<u64>::deserialize(d)?.unwrap_or(u64::MAX))
    }
}

/// A `u64` as 16 hex digits.
mod hex {
    use serde::{de::Error, Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(v: &u64, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format!("{v:016x}"))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
        let text = String::deserialize(d)?;
        u64::from_str_radix(&text, 16).map_err(D::Error::custom)
    }
}

/// Reads `Retry-After` (RFC 9110 §10.2.3) as the wait in ms from `now` (ms since the Unix
/// epoch, as the host's clock gives it): delay-seconds (a fraction is tolerated), or an
/// HTTP-date in the IMF-fixdate form (`Sun, 06 Nov 1994 08:49:37 GMT`; a date in the past is
/// no wait). Anything else is `None`: the caller backs off on its own. The wait is not capped
/// here: the caller compares it with `retry.maxWaitMs`.
pub fn retry_after_ms(value: Option<&str>, now: u64) -> Option<u64> {
    let v = value?.trim();
    if v.bytes().next().is_some_and(|b| b.is_ascii_digit() || b == b'.') {
        let secs: f64 = v.parse().ok()?;
        // Saturates: ten years (or 10^30 seconds) is a wait past any cap, never an overflow.
        return (secs.is_finite() && secs >= 0.0).then(|| (secs * 1000.0).ceil().min(u64::MAX as f64) as u64);
    }
    http_date_ms(v).map(|at| at.saturating_sub(now))
}

/// An IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`) as ms since the Unix epoch.
fn http_date_ms(v: &str) -> Option<u64> {
    let (_weekday, rest) = v.split_once(", ")?;
    let parts: Vec<&str> = rest.split(' ').collect();
    let [day, month, year, time, "GMT"] = parts.as_slice() else { return None };
    const MONTHS: [&str; 12] = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
    let month = MONTHS.iter().position(|m| m == month)? as u32 + 1;
    let number = |s: &str, len: usize| {
        (s.len() == len && s.bytes().all(|b| b.is_ascii_digit())).then(|| s.parse::<u32>().ok()).flatten()
    };
    let (day, year) = (number(day, 2)?, number(year, 4)?);
    let mut hms = time.split(':').map(|p| number(p, 2));
    let (h, m, s) = (hms.next()??, hms.next()??, hms.next()??);
    if hms.next().is_some() || !(1..=31).contains(&day) || h > 23 || m > 59 || s > 60 || year < 1970 {
        return None;
    }
    let days = days_from_civil(year as i64, month, day);
    let secs = days * 86_400 + (h * 3600 + m * 60 + s) as i64;
    u64::try_from(secs).ok().map(|s| s * 1000)
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's `days_from_civil`).
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m as i64 + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_window_holds_slots_until_a_window_after_the_answer() {
        let mut w = RateWindow::new(2, 1000);
        assert_eq!(w.next_slot(0), Some(0));
        w.on_send();
        w.on_send();
        assert_eq!(w.next_slot(0), None, "both slots in flight");
        w.on_answer(10);
        assert_eq!(w.next_slot(10), Some(1011));
        w.on_answer(20);
        assert_eq!(w.next_slot(1011), Some(1011));
        assert_eq!(w.held(), 1);
    }

    #[test]
    fn a_429_lowers_the_limit_and_it_climbs_back() {
        let mut w = RateWindow::new(100, 1000);
        for _ in 0..50 {
            w.on_send();
            w.on_answer(0);
        }
        w.on_rate_limited();
        assert_eq!(w.limit(), 45);
        assert_eq!(w.next_slot(0), Some(1001), "45 slots are held until the window passes");
        assert_eq!(w.next_slot(2001), Some(2001));
        assert_eq!(w.limit(), 46, "one at a time past the level that met the 429");
        assert_eq!(w.next_slot(2500), Some(2500));
        assert_eq!(w.limit(), 46, "one step per window");
        // Stray 429s with little held never drop the limit below a tenth.
        let mut w = RateWindow::new(100, 1000);
        w.on_send();
        w.on_answer(0);
        w.on_rate_limited();
        assert_eq!(w.limit(), 50, "halved when the 429 came with little held");
        // Below the level that met it, the climb is quick: a twentieth (5) per window.
        assert_eq!(w.next_slot(5000), Some(5000));
        assert_eq!(w.limit(), 55);
    }

    #[test]
    fn backoff_grows_is_capped_and_jittered() {
        let mut b = Backoff::new(1000, 8000, 7);
        for attempt in 1..10 {
            let full = (1000u64 << (attempt - 1)).min(8000);
            let d = b.delay(attempt);
            assert!(d >= full / 2 && d <= full, "attempt {attempt}: {d}");
        }
    }

    #[test]
    fn retry_after_takes_seconds_and_http_dates_against_now() {
        assert_eq!(retry_after_ms(Some("2"), 0), Some(2000));
        assert_eq!(retry_after_ms(Some("0.5"), 0), Some(500));
        assert_eq!(retry_after_ms(Some("315360000"), 0), Some(315_360_000_000), "ten years, no overflow");
        assert_eq!(retry_after_ms(Some("1e300"), 0), Some(u64::MAX));
        // 2015-10-21T07:28:00Z is 1445412480 s after the epoch.
        let at = 1_445_412_480_000;
        assert_eq!(retry_after_ms(Some("Wed, 21 Oct 2015 07:28:00 GMT"), at - 90_000), Some(90_000));
        assert_eq!(retry_after_ms(Some("Wed, 21 Oct 2015 07:28:00 GMT"), at + 5_000), Some(0), "past: no wait");
        assert_eq!(retry_after_ms(Some("Thu, 01 Jan 1970 00:00:00 GMT"), 0), Some(0));
        assert_eq!(retry_after_ms(Some("Tue, 29 Feb 2000 23:59:59 GMT"), 0), Some(951_868_799_000));
        for bad in [
            "",
            "soon",
            "-5",
            "NaN",
            "Wed, 21 Oct 2015 07:28:00 PST",
            "Wed, 32 Oct 2015 07:28:00 GMT",
            "Wed, 21 Foo 2015 07:28:00 GMT",
            "21 Oct 2015",
        ] {
            assert_eq!(retry_after_ms(Some(bad), 0), None, "{bad:?}");
        }
        assert_eq!(retry_after_ms(None, 0), None);
    }
}
