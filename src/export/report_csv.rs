//! The report's outcomes as CSV: a header row, then one row per planned action in plan order,
//! saying where it ended.
//!
//! | column | holds |
//! |---|---|
//! | `action` | what was planned (`create`, `update`, `deactivate`…) |
//! | `key` | the primary matching key's value |
//! | `platformId` | the user acted on; for a create, the new user's ID |
//! | `state` | `done`, `failed` or `skipped` |
//! | `status` | the last HTTP status, for failures |
//! | `error` | the platform's error, for failures |
//! | `reason` | why it was skipped, or how it was settled (e.g. confirmed by a lookup) |
//! | `attempts` | requests sent for it |
//! | `source`, `row` | the learner's source page and row |
//!
//! The run's figures (counts, requests, retries, guard verdicts, created IDs) are not rows:
//! they stay in the JSON report.

use std::borrow::Cow;

use crate::sync::{State, SyncReport};

fn text(v: &Option<String>) -> &str {
    v.as_deref().unwrap_or("")
}

/// The header row.
pub const REPORT_COLUMNS: [&str; 10] =
    ["action", "key", "platformId", "state", "status", "error", "reason", "attempts", "source", "row"];

/// The report's outcomes as CSV bytes (UTF-8): see the module documentation for the columns.
pub fn report_to_csv(report: &SyncReport) -> Vec<u8> {
    let mut w = super::writer();
    super::write_row(&mut w, REPORT_COLUMNS);
    for o in &report.outcomes {
        let cells: [Cow<'_, str>; 10] = [
            Cow::Borrowed(o.action.name()),
            Cow::Borrowed(text(&o.key)),
            Cow::Borrowed(text(&o.platform_id)),
            Cow::Borrowed(match o.state {
                State::Done => "done",
                State::Failed => "failed",
                State::Skipped => "skipped",
            }),
            Cow::Owned(o.status.map_or(String::new(), |s| s.to_string())),
            Cow::Borrowed(text(&o.error)),
            Cow::Borrowed(text(&o.reason)),
            Cow::Owned(o.attempts.to_string()),
            Cow::Borrowed(text(&o.source)),
            Cow::Owned(o.row.map_or(String::new(), |r| r.to_string())),
        ];
        super::write_row(&mut w, cells.iter().map(|c| c.as_ref()));
    }
    super::finish(w)
}
