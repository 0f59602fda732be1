//! Safety guards, applied to a finished plan:
//!
//! - **Source completeness**: a source that may have lost learners must not deactivate anyone:
//!   every deactivation and deletion is marked `withheld` and not counted; creates and updates
//!   go ahead. A source may have lost learners when the host says so (`guards.sourceIncomplete`),
//!   when a source page was refused as a whole (an unterminated quote, a missing column), when
//!   no row of it is a usable learner (an export with only its header row), or when it has far
//!   fewer learners than the last successful run read (`guards.expectedLearners`,
//!   `guards.sourceTolerance`).
//! - **Mass change**: a plan that deactivates or deletes more than
//!   `max(maxDeactivatePercent% of managed users, maxDeactivateCount)` is `held`: nothing of it
//!   is applied until an administrator approves it by its held fingerprint
//!   (`guards.approve`), which names both the platform state and the users to deactivate.
//!
//! A plan read back from a file is untrusted: [`reapply`] recomputes both guards from its
//! actions (see `sync/pinned.rs`), whatever its `held` and `withheld` say.

use super::fingerprint;
use super::plan::{ActionKind, Held, Plan, Summary, Withheld};

/// What the planner knows of the source it read, for the completeness guard.
pub(crate) struct SourceRead<'a> {
    /// Rows read, usable or not.
    pub rows: u32,
    /// Usable learners among them.
    pub learners: u32,
    /// The labels of source pages refused as a whole: their rows are lost.
    pub refused: &'a [Box<str>],
}

impl SourceRead<'_> {
    /// A source the guard does not judge (a delta holds only the changed rows).
    pub(crate) const UNJUDGED: SourceRead<'static> = SourceRead { rows: u32::MAX, learners: u32::MAX, refused: &[] };
}

/// Applies the guards of the plan's own options. `managed_users` are the platform users
/// orphan handling may touch.
pub(crate) fn apply(plan: &mut Plan, source: &SourceRead, managed_users: u32) {
    let g = plan.options.guards.clone();
    let learners = source.rows;
    let short =
        g.expected_learners.filter(|&expected| (learners as f64) < expected as f64 * (1.0 - g.source_tolerance));
    let reason = if g.source_incomplete {
        Some("the source is incomplete (a page failed to load)".to_string())
    } else if !source.refused.is_empty() {
        Some(format!(
            "the source is incomplete: {} could not be read, so its learners are missing",
            source.refused.iter().map(|l| format!("{l:?}")).collect::<Vec<_>>().join(", ")
        ))
    } else if source.learners == 0 {
        Some(format!(
            "the source has no usable learner ({} rows read: an export with only its header row, or every row unusable), so every user would count as an orphan",
            source.rows
        ))
    } else if let Some(expected) = short {
        Some(format!(
            "the source has {learners} learners, far fewer than the {expected} of the last successful run (tolerance {:.0}%)",
            g.source_tolerance * 100.0
        ))
    } else {
        None
    };
    if let Some(reason) = reason {
        withhold(plan, &reason);
    }
    hold_if_over(plan, managed_users);
}

/// Marks every deactivation and deletion withheld, and counts them as such.
fn withhold(plan: &mut Plan, reason: &str) {
    let mut count = 0;
    for a in &mut plan.actions {
        if matches!(a.action, ActionKind::Deactivate | ActionKind::Delete) {
            a.withheld = true;
            count += 1;
        }
    }
    plan.summary.withheld = count;
    plan.summary.deactivate = 0;
    plan.summary.delete = 0;
    if count > 0 {
        let reason = if reason.starts_with("deactivations withheld") {
            reason.to_string()
        } else {
            format!("deactivations withheld: {reason}")
        };
        plan.withheld = Some(Withheld { reason, count });
    }
}

/// The fingerprint an approval of this plan must name: the platform state the plan saw and
/// the users it deactivates or deletes (withheld ones aside).
pub(crate) fn held_fingerprint(plan: &Plan) -> String {
    let mut ids: Vec<&str> = plan
        .actions
        .iter()
        .filter(|a| matches!(a.action, ActionKind::Deactivate | ActionKind::Delete) && !a.withheld)
        .filter_map(|a| a.platform_id.as_deref())
        .collect();
    ids.sort_unstable();
    fingerprint::of_parts(std::iter::once(plan.fingerprint.as_str()).chain(ids))
}

/// The mass-change guard: holds the plan when it deactivates or deletes more than the limit,
/// unless `guards.approve` names its held fingerprint.
fn hold_if_over(plan: &mut Plan, managed_users: u32) {
    let g = &plan.options.guards;
    let deactivations = plan.summary.deactivate + plan.summary.delete;
    let by_share = (g.max_deactivate_percent / 100.0 * managed_users as f64).floor() as u32;
    let limit = by_share.max(g.max_deactivate_count);
    if deactivations <= limit {
        return;
    }
    let held_fingerprint = held_fingerprint(plan);
    if g.approve.as_deref() == Some(held_fingerprint.as_str()) {
        return;
    }
    plan.held = Some(Held {
        reason: format!(
            "the plan deactivates or deletes {deactivations} users, more than the limit of {limit} (the larger of {}% of {managed_users} managed users and {}); approve it with its fingerprint to apply it",
            g.max_deactivate_percent, g.max_deactivate_count
        ),
        deactivations,
        limit,
        managed_users,
        fingerprint: held_fingerprint,
    });
}

/// Whether a plan's `held`, if any, names the fingerprint its own actions give.
pub(crate) fn check_held(plan: &Plan) -> Result<(), String> {
    let Some(h) = &plan.held else { return Ok(()) };
    let own = held_fingerprint(plan);
    if h.fingerprint != own {
        return Err(format!(
            "its held fingerprint {:?} is not the one its own actions give ({own}): the plan was changed after it was made",
            h.fingerprint
        ));
    }
    Ok(())
}

/// Recomputes both guards for a plan read back from a file, which anyone may have edited:
/// nothing it says about itself is taken on trust. The guards' settings are the plan's options
/// as the caller set them (the host's, not the file's); `managed_users` is what the caller
/// knows of the platform (from its own listing where it has one).
///
/// - Its `held` must name the fingerprint its own actions give, else the plan contradicts
///   itself and is refused (`Err`): a held plan whose actions were changed afterwards.
/// - Withholding is all or nothing: if the file withholds any deactivation, all are withheld.
/// - The counts are recounted from the actions; then both guards are applied afresh, so a plan
///   whose `held` key was removed is held again (and goes through only with `approve`).
pub(crate) fn reapply(plan: &mut Plan, managed_users: u32) -> Result<(), String> {
    check_held(plan)?;
    plan.held = None;
    let withheld_reason = plan
        .withheld
        .take()
        .map(|w| w.reason)
        .or_else(|| plan.actions.iter().any(|a| a.withheld).then(|| "the plan withheld some deactivations".into()));
    let kept = Summary {
        unchanged: plan.summary.unchanged,
        untouched: plan.summary.untouched,
        protected: plan.summary.protected,
        learners: plan.summary.learners,
        platform_users: plan.summary.platform_users,
        ..Summary::default()
    };
    plan.summary = kept;
    for a in &plan.actions {
        plan.summary.count(a.action);
    }
    if let Some(reason) = withheld_reason {
        withhold(plan, &reason);
    }
    let source = SourceRead {
        rows: plan.summary.learners.saturating_add(plan.summary.invalid),
        learners: plan.summary.learners,
        refused: &[],
    };
    apply(plan, &source, managed_users);
    Ok(())
}
