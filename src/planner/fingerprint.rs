//! A fingerprint of the platform state a plan saw: FNV-1a over each user's ID, fields, status
//! and flags, the per-user hashes mixed and summed so that page order does not matter. It is
//! stable across builds and targets (no `Hasher` whose output may change between releases).

use crate::model::{Field, PlatformUser, StrArena};

const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
const FNV_PRIME: u64 = 0x0000_0100_0000_01b3;

fn fnv(mut h: u64, bytes: &[u8]) -> u64 {
    for &b in bytes {
        h ^= b as u64;
        h = h.wrapping_mul(FNV_PRIME);
    }
    h
}

/// SplitMix64's finaliser, so that summed hashes do not cancel out.
fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// The hash of one user's state.
pub fn of_user(arena: &StrArena, u: &PlatformUser) -> u64 {
    let mut h = fnv(FNV_OFFSET, arena.get(u.id).as_bytes());
    for f in Field::ALL {
        h = fnv(h, &[0xff]);
        h = fnv(h, arena.get(u.fields.get(f)).as_bytes());
    }
    fnv(h, &[u.active as u8, u.admin as u8, u.managed as u8])
}

/// The fingerprint of a set of users (those not superseded), as 16 hex digits.
pub fn of_users(arena: &StrArena, users: &[PlatformUser], superseded: &[bool]) -> String {
    let live = users.iter().zip(superseded).filter(|(_, &gone)| !gone).map(|(u, _)| u);
    let (count, sum) = live.fold((0u64, 0u64), |(n, acc), u| (n + 1, acc.wrapping_add(mix(of_user(arena, u)))));
    format!("{:016x}", sum.wrapping_add(mix(count)))
}
