//! Safety guards, applied to a finished plan:
//!
//! - **Source completeness**: a source with far fewer learners than the last successful run
//!   read (`guards.expectedLearners`, `guards.sourceTolerance`), or one the host reports as
//!   incomplete (`guards.sourceIncomplete`), must not deactivate anyone: every deactivation and
//!   deletion is marked `withheld` and not counted; creates and updates go ahead.
//! - **Mass change**: a plan that deactivates or deletes more than
//!   `max(maxDeactivatePercent% of managed users, maxDeactivateCount)` is `held`: nothing of it
//!   is applied until an administrator approves it by its held fingerprint
//!   (`guards.approve`), which names both the platform state and the users to deactivate.

use super::fingerprint;
use super::plan::{ActionKind, Held, Plan, Withheld};

/// Applies the guards of the plan's own options. `learners` is what the source held (usable
/// rows and invalid ones); `managed_users` the platform users orphan handling may touch.
pub(crate) fn apply(plan: &mut Plan, learners: u32, managed_users: u32) {
    let g = plan.options.guards.clone();
    let short =
        g.expected_learners.filter(|&expected| (learners as f64) < expected as f64 * (1.0 - g.source_tolerance));
    let reason = match (g.source_incomplete, short) {
        (true, _) => Some("the source is incomplete (a page failed to load)".to_string()),
        (false, Some(expected)) => Some(format!(
            "the source has {learners} learners, far fewer than the {expected} of the last successful run (tolerance {:.0}%)",
            g.source_tolerance * 100.0
        )),
        _ => None,
    };
    if let Some(reason) = reason {
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
            plan.withheld = Some(Withheld { reason: format!("deactivations withheld: {reason}"), count });
        }
    }

    let deactivations = plan.summary.deactivate + plan.summary.delete;
    let by_share = (g.max_deactivate_percent / 100.0 * managed_users as f64).floor() as u32;
    let limit = by_share.max(g.max_deactivate_count);
    if deactivations <= limit {
        return;
    }
    let mut ids: Vec<&str> = plan
        .actions
        .iter()
        .filter(|a| matches!(a.action, ActionKind::Deactivate | ActionKind::Delete) && !a.withheld)
        .filter_map(|a| a.platform_id.as_deref())
        .collect();
    ids.sort_unstable();
    let held_fingerprint = fingerprint::of_parts(std::iter::once(plan.fingerprint.as_str()).chain(ids));
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
