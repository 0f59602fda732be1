//! The executor's bookkeeping: the jobs it queues (each becomes one request), the per-action
//! state. Jobs and action states are plain data, so a checkpoint can
//! save them and a later invocation carry on from them.

use serde::{Deserialize, Serialize};

use crate::platform::wire::Cursor;
use crate::sync::report::Outcome;

/// What a request is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) enum JobKind {
    /// An OAuth access token.
    Token,
    /// A page of platform users.
    List(Cursor),
    /// Action `i`'s write.
    Write(usize),
    /// Looks action `i`'s user up by key (a create whose answer was lost, or refused as taken).
    Lookup(usize),
    /// Moves action `i`'s unique value out of the way first (a swap).
    Park(usize),
}

/// A request to make, with what its earlier attempts met.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(super) struct Job {
    #[serde(rename = "k")]
    pub kind: JobKind,
    /// Attempts of this job that failed with a 5xx or a transport error.
    #[serde(rename = "f", default, skip_serializing_if = "is_zero")]
    pub failures: u32,
    #[serde(rename = "r", default, skip_serializing_if = "is_zero")]
    pub rate_limited: u32,
    #[serde(rename = "a", default, skip_serializing_if = "is_zero")]
    pub auth_retries: u32,
}

pub(super) fn is_zero(n: &u32) -> bool {
    *n == 0
}

impl Job {
    pub fn new(kind: JobKind) -> Self {
        Job { kind, failures: 0, rate_limited: 0, auth_retries: 0 }
    }
}

/// A job waiting until `at` (a retry's backoff); `seq` keeps equal times in order.
pub(super) struct Delayed {
    pub at: u64,
    pub seq: u64,
    pub job: Job,
}

impl PartialEq for Delayed {
    fn eq(&self, o: &Self) -> bool {
        (self.at, self.seq) == (o.at, o.seq)
    }
}
impl Eq for Delayed {}
impl PartialOrd for Delayed {
    fn partial_cmp(&self, o: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(o))
    }
}
impl Ord for Delayed {
    fn cmp(&self, o: &Self) -> std::cmp::Ordering {
        (self.at, self.seq).cmp(&(o.at, o.seq))
    }
}

/// Figures and clocks of a run, carried across invocations in its checkpoints.
#[derive(Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(super) struct Counters {
    /// Writes queued, and those that reached a terminal state (the progress total and done).
    pub writes_total: u32,
    pub writes_settled: u32,
    pub requests: u32,
    pub retries: u32,
    pub rate_limited: u32,
    pub pages_read: u32,
    pub users_read: u32,
    /// Invocations so far, this one included.
    pub invocations: u32,
    /// Token requests failed in a row, and when the next may go.
    pub token_failures: u32,
    /// Token requests answered 429 in a row (toward `retry.maxRateLimited`).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub token_rate_limited: u32,
    pub token_not_before: u64,
    /// The expiry of the last token the platform refused (401): the host's cache may still
    /// hold it, and one handed in again with this expiry is not used. (Its expiry, not its
    /// value: a checkpoint never holds a token.)
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refused_token_expiry: Option<u64>,
    /// No request before this time (a 429's pause).
    pub paused_until: u64,
    pub next_id: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_at: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finished_at: Option<u64>,
}

/// Per planned action. Saved in checkpoints, all but the outcome (saved beside it, in short).
#[derive(Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct ActionState {
    #[serde(skip)]
    pub outcome: Option<Outcome>,
    /// Requests sent for it.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub attempts: u32,
    /// Creates sent whose answer never came: a lookup must settle them before any resend.
    #[serde(default, skip_serializing_if = "is_false")]
    pub uncertain: bool,
    /// Its write is queued (counted in the progress total).
    #[serde(default, skip_serializing_if = "is_false")]
    pub queued: bool,
    /// A create the platform refused as taken: looked up once to tell ours from another.
    #[serde(default, skip_serializing_if = "is_false")]
    pub taken: bool,
    /// Writes it still waits for (a value it takes is freed by another write).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub waiting: u32,
    /// Sent with the platform's flag to take a value another user holds.
    #[serde(default, skip_serializing_if = "is_false")]
    pub auto_clear: bool,
    /// How its order was arranged, for the report.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// Its write may have been sent with no answer recorded yet: claimed in a checkpoint the
    /// host saved before sending (see `SyncOptions::claim_batch`). A run resumed from that
    /// checkpoint treats it as sent and unanswered.
    #[serde(default, skip_serializing_if = "is_false")]
    pub claimed: bool,
}

fn is_false(b: &bool) -> bool {
    !*b
}
