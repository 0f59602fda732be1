//! Time as the engine counts it: an [`Instant`] on the host's clock and a [`Duration`], both
//! in whole milliseconds and distinct types, so that a moment is never passed where a length
//! of time is meant (a `Retry-After` of 30 s is not "the epoch plus 30 s").
//!
//! The engine never reads a clock: hosts pass the time to every call as a number of
//! milliseconds since the Unix epoch (JavaScript's `Date.now()`; a simulated clock may start
//! anywhere), and the engine's public API takes and returns those numbers, converting at its
//! boundary. Arithmetic saturates: no instant is before 0 or after `u64::MAX` ms, and a
//! duration between two instants in the wrong order is zero. Both serialise as their number
//! of milliseconds, so checkpoints are unchanged.

use std::fmt;
use std::ops::{Add, Sub};

use serde::{Deserialize, Serialize};

/// A moment on the host's clock, in ms since the Unix epoch.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Instant(u64);

/// A length of time, in ms.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Duration(u64);

impl Instant {
    /// The epoch (or a simulated clock's start).
    pub const ZERO: Instant = Instant(0);
    /// The latest instant JavaScript numbers hold exactly (2^53 - 1 ms): waits and expiries
    /// pass through them.
    pub const LATEST_EXACT: Instant = Instant((1 << 53) - 1);

    pub const fn from_ms(ms: u64) -> Instant {
        Instant(ms)
    }

    /// Milliseconds since the epoch, for the host.
    pub const fn as_ms(self) -> u64 {
        self.0
    }

    /// The time from `earlier` to this instant (zero if `earlier` is later).
    pub fn since(self, earlier: Instant) -> Duration {
        Duration(self.0.saturating_sub(earlier.0))
    }
}

impl Duration {
    pub const ZERO: Duration = Duration(0);

    pub const fn from_ms(ms: u64) -> Duration {
        Duration(ms)
    }

    pub const fn from_secs(secs: u64) -> Duration {
        Duration(secs.saturating_mul(1000))
    }

    pub const fn as_ms(self) -> u64 {
        self.0
    }

    /// Whole seconds, rounded up (for messages).
    pub const fn as_secs_ceil(self) -> u64 {
        self.0.div_ceil(1000)
    }

    pub const fn saturating_mul(self, n: u64) -> Duration {
        Duration(self.0.saturating_mul(n))
    }

    pub const fn div(self, n: u64) -> Duration {
        Duration(self.0 / n)
    }
}

impl Add<Duration> for Instant {
    type Output = Instant;
    fn add(self, d: Duration) -> Instant {
        Instant(self.0.saturating_add(d.0))
    }
}

impl Sub<Duration> for Instant {
    type Output = Instant;
    fn sub(self, d: Duration) -> Instant {
        Instant(self.0.saturating_sub(d.0))
    }
}

impl Add for Duration {
    type Output = Duration;
    fn add(self, d: Duration) -> Duration {
        Duration(self.0.saturating_add(d.0))
    }
}

impl Sub for Duration {
    type Output = Duration;
    fn sub(self, d: Duration) -> Duration {
        Duration(self.0.saturating_sub(d.0))
    }
}

/// The number of ms since the epoch, as hosts and messages show an instant.
impl fmt::Display for Instant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arithmetic_saturates_instead_of_wrapping() {
        assert_eq!(Instant::from_ms(u64::MAX - 1) + Duration::from_ms(5), Instant::from_ms(u64::MAX));
        assert_eq!(Instant::from_ms(3) - Duration::from_ms(5), Instant::ZERO);
        assert_eq!(Instant::from_ms(3).since(Instant::from_ms(10)), Duration::ZERO);
        assert_eq!(Instant::from_ms(10).since(Instant::from_ms(3)), Duration::from_ms(7));
        assert_eq!(Duration::from_secs(u64::MAX), Duration::from_ms(u64::MAX));
    }

    #[test]
    fn both_serialise_as_their_milliseconds() {
        assert_eq!(serde_json::to_string(&Instant::from_ms(1_700_000_000_000)).unwrap(), "1700000000000");
        assert_eq!(serde_json::from_str::<Duration>("250").unwrap(), Duration::from_ms(250));
    }
}
