//! Pacing: the token bucket that spreads requests and adapts its rate ([`TokenBucket`]), what
//! the platform says of its budget in its answers ([`headers`]), and retry backoff
//! ([`Backoff`]). None of them reads a clock: the caller gives the time.
//!
//! ```text
//! engine.poll_transmit(now) -> bucket.next_slot(now) == Some(now)? -> bucket.on_send(now)
//! engine.handle_response    -> bucket.on_answer(now, Verdict)       (429: one congestion event)
//!                           -> bucket.observe(now, &Budget)         (RateLimit-* headers)
//! engine.poll_timeout(now)  -> bucket.next_slot(now)                (when a request may go)
//! ```

mod bucket;
pub mod headers;

pub use bucket::{TokenBucket, Verdict};
pub use headers::{rate_limit_budget, retry_after, retry_after_wait, Budget};

use crate::time::Duration;

/// Exponential backoff with jitter, from a seeded generator so runs are reproducible.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Backoff {
    #[serde(rename = "baseMs")]
    pub base: Duration,
    #[serde(rename = "maxMs")]
    pub max: Duration,
    /// The generator's state, saved as hex text: checkpoints pass through JavaScript, whose
    /// numbers lose integers past 2^53.
    #[serde(with = "hex")]
    state: u64,
}

impl Backoff {
    pub fn new(base: Duration, max: Duration, seed: u64) -> Self {
        Backoff { base, max, state: seed ^ 0x9e37_79b9_7f4a_7c15 }
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
    /// of `base * 2^(attempt-1)`, capped at `max`.
    pub fn delay(&mut self, attempt: u32) -> Duration {
        let full = self.base.saturating_mul(1u64 << attempt.saturating_sub(1).min(30)).min(self.max).as_ms();
        let half = full / 2;
        Duration::from_ms(half + if full > half { self.next_u64() % (full - half + 1) } else { 0 })
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_is_capped_and_jittered() {
        let mut b = Backoff::new(Duration::from_secs(1), Duration::from_secs(8), 7);
        for attempt in 1..10 {
            let full = (1000u64 << (attempt - 1)).min(8000);
            let d = b.delay(attempt).as_ms();
            assert!(d >= full / 2 && d <= full, "attempt {attempt}: {d}");
        }
    }
}
