//! What a platform says of its request budget in its answers: `Retry-After` (RFC 9110
//! §10.2.3), and the `RateLimit-Limit` / `RateLimit-Remaining` / `RateLimit-Reset` fields
//! (IETF httpapi draft, with `RateLimit-Policy: L;w=S`) or their common `X-RateLimit-*`
//! spelling. Pure functions of the header text and the host's clock. A header's value is the
//! platform's word, not a trusted one: anything negative, fractional where a count is meant,
//! garbage, or too large to be a budget (a count past a million, a reset past a day) is
//! ignored, as if the platform had not sent it.

use crate::sync::http::Response;
use crate::time::{Duration, Instant};

/// A reset (or window) further away than this is not believed.
const DAY: Duration = Duration::from_secs(24 * 3600);

/// A count above this is not a per-window budget anyone sends.
const MAX_COUNT: u64 = 1_000_000;

/// The budget as one answer described it; each part only when sent and believable.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Budget {
    /// Requests allowed per window (`RateLimit-Limit`, or the first policy's quota).
    pub limit: Option<u32>,
    /// The window's length (`RateLimit-Policy`'s `w`).
    pub window: Option<Duration>,
    /// Requests left in the current window.
    pub remaining: Option<u32>,
    /// When the current window ends, from now.
    pub reset: Option<Duration>,
}

impl Budget {
    /// Whether the answer said anything usable.
    pub fn is_empty(&self) -> bool {
        *self == Budget::default()
    }
}

/// Reads the `RateLimit-*` fields of an answer, or else its `X-RateLimit-*` ones, at `now`
/// (the host's clock). `RateLimit-Reset` is delta-seconds; `X-RateLimit-Reset` is
/// delta-seconds too unless it is past 10^9, where it is read as a Unix time in seconds (as
/// GitHub and others send it). A draft's structured form (`RateLimit: limit=40, remaining=3,
/// reset=2`) is read as well.
pub fn rate_limit_budget(resp: &Response, now: Instant) -> Budget {
    let field = |name: &str| resp.header(name).or_else(|| resp.header(&format!("x-{name}")));
    let mut budget = Budget {
        limit: field("ratelimit-limit").and_then(|v| count(first_item(v))),
        window: None,
        remaining: field("ratelimit-remaining").and_then(|v| count(first_item(v))),
        reset: field("ratelimit-reset").and_then(|v| reset(first_item(v), now)),
    };
    if let Some(combined) = resp.header("ratelimit") {
        for part in combined.split([',', ';']) {
            let Some((key, value)) = part.trim().split_once('=') else { continue };
            match key.trim().to_ascii_lowercase().as_str() {
                "limit" => budget.limit = budget.limit.or(count(value)),
                "remaining" | "r" => budget.remaining = budget.remaining.or(count(value)),
                "reset" | "t" => budget.reset = budget.reset.or(reset(value, now)),
                _ => {}
            }
        }
    }
    if let Some(policy) = field("ratelimit-policy") {
        // `40;w=4` or `"default";q=40;w=4`: the first policy only.
        let first = policy.split(',').next().unwrap_or_default();
        for (i, part) in first.split(';').enumerate() {
            let part = part.trim();
            match part.split_once('=') {
                Some(("w", w)) => budget.window = seconds(w).filter(|&w| w > Duration::ZERO && w <= DAY),
                Some(("q", q)) => budget.limit = budget.limit.or(count(q)),
                None if i == 0 => budget.limit = budget.limit.or(count(part)),
                _ => {}
            }
        }
    }
    if budget.limit == Some(0) {
        budget.limit = None;
    }
    budget
}

/// The first item of a list-valued field (`40, 40;w=4` is `40`).
fn first_item(v: &str) -> &str {
    v.split([',', ';']).next().unwrap_or_default()
}

/// A count: ASCII digits only, at most [`MAX_COUNT`].
fn count(v: &str) -> Option<u32> {
    let v = v.trim();
    if v.is_empty() || v.len() > 7 || !v.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    v.parse::<u64>().ok().filter(|&n| n <= MAX_COUNT).map(|n| n as u32)
}

/// Whole seconds: ASCII digits only, at most ten of them.
fn seconds(v: &str) -> Option<Duration> {
    let v = v.trim();
    if v.is_empty() || v.len() > 10 || !v.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    v.parse::<u64>().ok().map(Duration::from_secs)
}

/// A reset as a wait from `now`: delta-seconds, or a Unix time in seconds past 10^9; a reset in
/// the past is 0, one more than a day ahead is not believed.
fn reset(v: &str, now: Instant) -> Option<Duration> {
    let wait = seconds(v)?;
    let wait = if wait > Duration::from_secs(1_000_000_000) { Instant::from_ms(wait.as_ms()).since(now) } else { wait };
    (wait <= DAY).then_some(wait)
}

/// Reads `Retry-After` (RFC 9110 §10.2.3) as the wait from `now` (the host's clock): delay-seconds (a fraction is tolerated), or an
/// HTTP-date in the IMF-fixdate form (`Sun, 06 Nov 1994 08:49:37 GMT`; a date in the past is
/// no wait). Anything else is `None`: the caller backs off on its own. The wait is not capped
/// here: the caller compares it with `retry.maxWaitMs`.
pub fn retry_after(value: Option<&str>, now: Instant) -> Option<Duration> {
    let v = value?.trim();
    if v.bytes().next().is_some_and(|b| b.is_ascii_digit() || b == b'.') {
        let secs: f64 = v.parse().ok()?;
        // Saturates: ten years (or 10^30 seconds) is a wait past any cap, never an overflow.
        return (secs.is_finite() && secs >= 0.0)
            .then(|| Duration::from_ms((secs * 1000.0).ceil().min(u64::MAX as f64) as u64));
    }
    http_date(v).map(|at| at.since(now))
}

/// The wait an answer's `Retry-After` asks for: delay-seconds as they are; an HTTP-date
/// against the answer's own `Date` when it sent a believable one (the platform's clock, so a
/// host clock that is off does not stretch or cut the wait), else against `now`. A `Date`
/// that is garbage is ignored; either date past what an IMF-fixdate can say is garbage.
pub fn retry_after_wait(resp: &Response, now: Instant) -> Option<Duration> {
    let value = resp.header("retry-after");
    let date = resp.header("date").and_then(|d| http_date(d.trim()));
    match (value.map(str::trim).and_then(http_date), date) {
        (Some(at), Some(date)) => Some(at.since(date)),
        _ => retry_after(value, now),
    }
}

/// An IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`) as an instant (ms since the Unix epoch).
fn http_date(v: &str) -> Option<Instant> {
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
    if hms.next().is_some() || !(1..=31).contains(&day) || h > 23 || m > 59 || s > 60 || !(1970..=9999).contains(&year)
    {
        return None;
    }
    let days = days_from_civil(year as i64, month, day);
    let secs = days * 86_400 + (h * 3600 + m * 60 + s) as i64;
    u64::try_from(secs).ok().map(|s| Instant::from_ms(s * 1000))
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

    fn clock(ms: u64) -> Instant {
        Instant::from_ms(ms)
    }

    fn ms(ms: u64) -> Duration {
        Duration::from_ms(ms)
    }

    fn answer(headers: &[(&str, &str)]) -> Response {
        let mut r = Response::new(200, "");
        r.headers = headers.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        r
    }

    #[test]
    fn ratelimit_fields_give_the_limit_what_is_left_and_when_it_resets() {
        let b = rate_limit_budget(
            &answer(&[("RateLimit-Limit", "40"), ("RateLimit-Remaining", "3"), ("RateLimit-Reset", "2")]),
            clock(0),
        );
        assert_eq!(b, Budget { limit: Some(40), window: None, remaining: Some(3), reset: Some(ms(2000)) });
        let b = rate_limit_budget(&answer(&[("ratelimit-policy", "40;w=4"), ("ratelimit-remaining", "0")]), clock(0));
        assert_eq!((b.limit, b.window, b.remaining), (Some(40), Some(ms(4000)), Some(0)));
        let b = rate_limit_budget(&answer(&[("RateLimit", "limit=100, remaining=50, reset=30")]), clock(0));
        assert_eq!((b.limit, b.remaining, b.reset), (Some(100), Some(50), Some(ms(30_000))));
        assert!(rate_limit_budget(&answer(&[("content-type", "application/json")]), clock(0)).is_empty());
    }

    #[test]
    fn x_ratelimit_fields_are_read_and_a_reset_past_a_billion_is_a_unix_time() {
        let now = 1_700_000_000_000;
        let b = rate_limit_budget(
            &answer(&[
                ("X-RateLimit-Limit", "5000"),
                ("X-RateLimit-Remaining", "4999"),
                ("X-RateLimit-Reset", "1700000060"),
            ]),
            clock(now),
        );
        assert_eq!(b, Budget { limit: Some(5000), window: None, remaining: Some(4999), reset: Some(ms(60_000)) });
        let past = rate_limit_budget(&answer(&[("X-RateLimit-Reset", "1600000000")]), clock(now));
        assert_eq!(past.reset, Some(Duration::ZERO), "a reset in the past is now");
        let plain = rate_limit_budget(&answer(&[("RateLimit-Limit", "7")]), clock(now));
        assert_eq!(plain.limit, Some(7), "RateLimit-* wins over X-RateLimit-*, either is enough");
    }

    #[test]
    fn hostile_ratelimit_values_are_ignored() {
        for bad in ["-5", "1e9", "3.5", "", "lots", "99999999999999999999999", "2000000", "0x10", " 4 2", "NaN"] {
            let b = rate_limit_budget(
                &answer(&[("RateLimit-Limit", bad), ("RateLimit-Remaining", bad), ("RateLimit-Policy", bad)]),
                clock(0),
            );
            assert_eq!((b.limit, b.remaining, b.window), (None, None, None), "{bad:?}");
        }
        for bad in ["-1", "86401", "9999999999", "soon", "1.5"] {
            let b = rate_limit_budget(&answer(&[("RateLimit-Reset", bad)]), clock(0));
            assert_eq!(b.reset, None, "{bad:?}");
        }
        let zero = rate_limit_budget(&answer(&[("RateLimit-Limit", "0")]), clock(0));
        assert_eq!(zero.limit, None, "a limit of 0 is no budget");
        let no_window = rate_limit_budget(&answer(&[("RateLimit-Policy", "10;w=0")]), clock(0));
        assert_eq!((no_window.limit, no_window.window), (Some(10), None), "nor a window of 0");
    }

    #[test]
    fn retry_after_takes_seconds_and_http_dates_against_now() {
        assert_eq!(retry_after(Some("2"), clock(0)), Some(ms(2000)));
        assert_eq!(retry_after(Some("0.5"), clock(0)), Some(ms(500)));
        assert_eq!(retry_after(Some("315360000"), clock(0)), Some(ms(315_360_000_000)), "ten years, no overflow");
        assert_eq!(retry_after(Some("1e300"), clock(0)), Some(ms(u64::MAX)));
        // 2015-10-21T07:28:00Z is 1445412480 s after the epoch.
        let at = 1_445_412_480_000;
        assert_eq!(retry_after(Some("Wed, 21 Oct 2015 07:28:00 GMT"), clock(at - 90_000)), Some(ms(90_000)));
        assert_eq!(retry_after(Some("Wed, 21 Oct 2015 07:28:00 GMT"), clock(at + 5_000)), Some(ms(0)), "past: no wait");
        assert_eq!(retry_after(Some("Thu, 01 Jan 1970 00:00:00 GMT"), clock(0)), Some(ms(0)));
        assert_eq!(retry_after(Some("Tue, 29 Feb 2000 23:59:59 GMT"), clock(0)), Some(ms(951_868_799_000)));
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
            assert_eq!(retry_after(Some(bad), clock(0)), None, "{bad:?}");
        }
        assert_eq!(retry_after(None, clock(0)), None);
    }

    #[test]
    fn a_retry_after_date_is_read_against_the_answers_date_when_it_is_believable() {
        let at = |ra: &str, date: Option<&str>, now: u64| {
            let mut h = vec![("Retry-After", ra)];
            h.extend(date.map(|d| ("Date", d)));
            retry_after_wait(&answer(&h), clock(now))
        };
        let (ra, date) = ("Wed, 21 Oct 2015 07:28:30 GMT", "Wed, 21 Oct 2015 07:28:00 GMT");
        let date_ms = 1_445_412_480_000;
        // The host's clock an hour ahead, or behind: the platform's own 30 s either way.
        assert_eq!(at(ra, Some(date), date_ms + 3_600_000), Some(ms(30_000)));
        assert_eq!(at(ra, Some(date), date_ms - 3_600_000), Some(ms(30_000)));
        assert_eq!(at(ra, Some(" Wed, 21 Oct 2015 07:28:00 GMT "), 0), Some(ms(30_000)), "whitespace around it");
        // A Retry-After before the answer's Date: no wait.
        assert_eq!(at(date, Some(ra), 0), Some(ms(0)));
        // A Date that is garbage, or past what a date can say, is the host's clock.
        for bad in ["garbage", "", "Wed, 21 Oct 2015 07:28:00 PST", "Sat, 01 Jan 10000 00:00:00 GMT", "-1"] {
            assert_eq!(at(ra, Some(bad), date_ms + 10_000), Some(ms(20_000)), "{bad:?}");
        }
        // Delay-seconds ignore the Date; garbage and negatives are no wait at all.
        assert_eq!(at("7", Some(date), 0), Some(ms(7000)));
        assert_eq!(at("-7", Some(date), 0), None);
        assert_eq!(at("Sat, 01 Jan 10000 00:00:00 GMT", Some(date), 0), None, "a five-digit year");
        assert_eq!(retry_after_wait(&answer(&[("Date", date)]), clock(0)), None);
    }
}
