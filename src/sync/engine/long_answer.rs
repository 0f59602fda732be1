//! Answers that never end. A platform on a bad day can send a body that does not stop (one
//! grew to 7 GB in 20 s): the host reads at most [`MAX_RESPONSE_BYTES`] (the planner's bound on
//! a page, 256 MiB; the wasm exposes it as `maxResponseBytes()`), cancels the stream past it
//! and hands back [`TransportError::TooLarge`](crate::sync::TransportError::TooLarge); a longer
//! body handed back whole (the step API) is taken the same way. It is never retried: the run
//! stops with `RESPONSE_TOO_LARGE`.

use super::apply::Ending;
use super::jobs::{Job, JobKind};
use super::SyncEngine;
use crate::sync::http::MAX_RESPONSE_BYTES;
use crate::sync::report::RunErrorCode;
use crate::time::Instant;

impl SyncEngine {
    /// An answer longer than [`MAX_RESPONSE_BYTES`] (a body that never ends): not read, and
    /// the run stops with `RESPONSE_TOO_LARGE`. A write that met it may have taken effect.
    pub(super) fn on_too_large(&mut self, job: Job, now: Instant) {
        let limit = MAX_RESPONSE_BYTES >> 20;
        if let JobKind::Write(i) | JobKind::Park(i) | JobKind::Lookup(i) = job.kind {
            let detail = format!(
                "the answer was longer than {limit} MiB and was not read: whether the platform took the request is unknown"
            );
            self.settle(i, Ending::failed(None, detail));
        }
        let what = match job.kind {
            JobKind::Token => "the token request",
            JobKind::List(_) => "a list request",
            JobKind::Write(_) | JobKind::Park(_) => "a write",
            JobKind::Lookup(_) => "a lookup",
        };
        let m = format!("the platform's answer to {what} was longer than {limit} MiB (a body that does not end?); reading stopped there");
        self.stop(RunErrorCode::ResponseTooLarge, m, now);
    }
}
