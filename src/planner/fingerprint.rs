//! A fingerprint of the platform state a plan saw: a hash of each user's ID, fields, status and
//! flags, the per-user hashes mixed and summed so that page order does not matter. The hash is
//! written out here (eight bytes at a time, little-endian) so it is the same on every target and
//! in every release, which a `std::hash::Hasher` does not promise.

use crate::model::{Field, PlatformUser, StrArena};

const SEED: u64 = 0xcbf2_9ce4_8422_2325;
const K: u64 = 0x517c_c1b7_2722_0a95;

/// Folds `bytes` (and their length, so "ab","c" differs from "a","bc") into `h`.
fn fold(mut h: u64, bytes: &[u8]) -> u64 {
    let step = |h: u64, w: u64| (h.rotate_left(5) ^ w).wrapping_mul(K);
    let mut chunks = bytes.chunks_exact(8);
    for c in &mut chunks {
        h = step(h, u64::from_le_bytes(c.try_into().expect("8 bytes")));
    }
    let mut tail = [0u8; 8];
    tail[..chunks.remainder().len()].copy_from_slice(chunks.remainder());
    h = step(h, u64::from_le_bytes(tail));
    step(h, bytes.len() as u64)
}

/// SplitMix64's finaliser, so that summed hashes do not cancel out.
fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// The hash of one user's state.
pub fn of_user(arena: &StrArena, u: &PlatformUser) -> u64 {
    let mut h = fold(SEED, arena.get(u.id).as_bytes());
    for f in Field::ALL {
        h = fold(h, arena.get(u.fields.get(f)).as_bytes());
    }
    fold(h, &[u.active as u8, u.admin as u8, u.managed as u8])
}

/// The fingerprint of a sequence of texts, as 16 hex digits.
pub fn of_parts<'a>(parts: impl IntoIterator<Item = &'a str>) -> String {
    let h = parts.into_iter().fold(SEED, |h, p| fold(h, p.as_bytes()));
    format!("{:016x}", mix(h))
}

/// The fingerprint of a set of users (those not superseded), as 16 hex digits.
pub fn of_users(arena: &StrArena, users: &[PlatformUser], superseded: &[bool]) -> String {
    let live = users.iter().zip(superseded).filter(|(_, &gone)| !gone).map(|(u, _)| u);
    let (count, sum) = live.fold((0u64, 0u64), |(n, acc), u| (n + 1, acc.wrapping_add(mix(of_user(arena, u)))));
    format!("{:016x}", sum.wrapping_add(mix(count)))
}

#[cfg(test)]
mod tests {
    use super::*;

    const PINNED_EMPTY: u64 = 0xc1e9_5949_a5b0_80b5;
    const PINNED_TEXT: u64 = 0xcbe1_328b_1cb6_9377;

    #[test]
    fn the_hash_is_fixed() {
        // Fixed values: a change here changes every fingerprint ever given to a user.
        assert_eq!(fold(SEED, b""), PINNED_EMPTY);
        assert_eq!(fold(SEED, b"learner-sync fingerprint"), PINNED_TEXT);
        assert_ne!(fold(SEED, b"ab"), fold(SEED, b"ab\0"));
        assert_ne!(fold(fold(SEED, b"ab"), b"c"), fold(fold(SEED, b"a"), b"bc"));
    }
}
