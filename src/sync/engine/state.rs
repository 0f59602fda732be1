//! The engine's state, as quinn-proto's `Connection` keeps its `State`: enums whose variants
//! carry what only they have, so that no invalid combination can be written.
//!
//! Two things move independently, so there are two enums:
//!
//! - [`Stage`], where the run is, saved in checkpoints as its [`Phase`]:
//!   `Reading { planner, given }` → `Listing { planner, pinned }` (full sync) → `Applying` →
//!   `Done`. The planner lives only while the run reads (the source, then the platform's
//!   users); a plan given by the host (`with_plan`: checked after listing, `from_plan`: applied
//!   as it stands) lives only until it is applied.
//! - [`Invocation`], what this invocation of the run is doing, never saved (each invocation
//!   judges afresh): `Idle` until `start`, then `Running` within its [`Allowance`], possibly
//!   `AwaitingCheckpoint` (writes claimed, back to `Running` once the host saved it),
//!   `Stopping` when the allowance ran out or a pause is too long (answers in flight are
//!   awaited), and `Suspended` once every answer is in.
//!
//! The run's plan (actions, their states and who waits for whom) is data of `Applying` and
//! `Done`, kept in the engine's fields because most handlers touch it; before a plan is made
//! it is empty.

use super::Phase;
use crate::planner::{Plan, Planner};
use crate::sync::report::RunError;
use crate::time::Instant;

/// Where a run is.
pub(super) enum Stage {
    /// Taking source pages; nothing sent yet.
    Reading { planner: Planner, given: Given },
    /// Reading every platform user (full reconciliation). `pinned`: a plan made earlier, checked
    /// against the users read once the listing is complete, and applied instead of a new one.
    Listing { planner: Planner, pinned: Option<Plan<'static>> },
    /// Sending the plan's writes.
    Applying,
    /// Finished (every action settled, or the run stopped).
    Done,
}

/// A plan the host gave instead of one the run makes.
pub(super) enum Given {
    /// None: the run plans from the source (and the platform's users, in a full sync).
    Nothing,
    /// A plan made earlier, checked against the platform after listing (`with_plan`).
    Pinned(Plan<'static>),
    /// A plan applied as it stands, without listing (`from_plan`).
    Prepared(Plan<'static>),
}

impl Stage {
    pub fn phase(&self) -> Phase {
        match self {
            Stage::Reading { .. } => Phase::Reading,
            Stage::Listing { .. } => Phase::Listing,
            Stage::Applying => Phase::Applying,
            Stage::Done => Phase::Done,
        }
    }

    /// The planner, while the run reads.
    pub fn planner(&self) -> Option<&Planner> {
        match self {
            Stage::Reading { planner, .. } | Stage::Listing { planner, .. } => Some(planner),
            Stage::Applying | Stage::Done => None,
        }
    }

    pub fn planner_mut(&mut self) -> Option<&mut Planner> {
        match self {
            Stage::Reading { planner, .. } | Stage::Listing { planner, .. } => Some(planner),
            Stage::Applying | Stage::Done => None,
        }
    }

    /// The plan made earlier that the run checks after listing, if any.
    pub fn pinned(&self) -> Option<&Plan<'static>> {
        match self {
            Stage::Reading { given: Given::Pinned(plan), .. } | Stage::Listing { pinned: Some(plan), .. } => Some(plan),
            _ => None,
        }
    }

    /// Whether the run plans from the source pages (no plan was given).
    pub fn plans_from_source(&self) -> bool {
        matches!(self, Stage::Reading { given: Given::Nothing, .. } | Stage::Listing { pinned: None, .. })
    }
}

/// What this invocation may still do: requests until the count reaches `requests_until`, and
/// nothing sent or waited for past `deadline`.
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct Allowance {
    pub requests_until: Option<u32>,
    pub deadline: Option<Instant>,
}

/// What this invocation is doing.
#[derive(Clone, Debug)]
pub(super) enum Invocation {
    /// Not started (`start`): a resumed run takes source pages and answers until then.
    Idle,
    /// Sending, within its allowance.
    Running(Allowance),
    /// Writes were claimed: the host must save a checkpoint before they go.
    AwaitingCheckpoint(Allowance),
    /// No new request: the allowance ran out, or (with a `reason`) the platform asked for a
    /// pause longer than `retry.maxWaitMs`. Answers in flight are awaited.
    Stopping { reason: Option<RunError> },
    /// Stopped with every answer in, before the run finished: save the checkpoint and resume
    /// later. `reason` as for `Stopping`: the report's error while suspended.
    Suspended { reason: Option<RunError> },
}

impl Invocation {
    /// Whether `start` was called (and this invocation may act).
    pub fn started(&self) -> bool {
        !matches!(self, Invocation::Idle)
    }

    /// The allowance while the invocation may send.
    pub fn allowance(&self) -> Option<Allowance> {
        match self {
            Invocation::Running(a) | Invocation::AwaitingCheckpoint(a) => Some(*a),
            _ => None,
        }
    }
}
