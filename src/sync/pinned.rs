//! Pinned plans: a plan made earlier (approved in the preview on Monday) is applied on Tuesday
//! only where the platform still holds what the plan saw. After listing the platform afresh,
//! each action on an existing user is checked against the fields it involves: the `from` of
//! every change, the status it expects, the key it matched. A create is checked for a user
//! that now holds its key. An action whose user changed is skipped with the reason.
//!
//! A plan file is untrusted input (anyone may edit it, or write one by hand), so before any
//! of it is applied it is vetted, and the whole plan is refused (`PLAN_REFUSED`, nothing sent)
//! when it asks for what the planner never plans:
//!
//! ```text
//! SyncEngine::with_plan / from_plan
//!   -> vet_alone(plan)            its own consistency: held fingerprint, who deactivates,
//!                                 orphan policy, protect list
//! with_plan, after listing the platform:
//!   -> vet_against(plan, listing) administrators and unmanaged users, then both guards afresh
//!   -> check(actions, listing)    per action: skipped where the platform changed since
//! from_plan (no listing), at once:
//!   -> guards::reapply(plan, the plan's own count of platform users)
//! ```
//!
//! The guards are recomputed from the actions with the host's settings, never the file's
//! `held`, `withheld`, `summary` or `guards`: a plan whose `held` key was deleted is held again.
//! Without a listing (`from_plan`) the engine cannot know which users are administrators or
//! unmanaged, nor how many managed users the platform has: it takes the plan's own count of
//! platform users for the share, and checks only what the plan says of itself. A plan that is
//! consistent with itself can still do no more than an edited source could: deactivate the
//! users it claims left, within the mass-change limit or with an approval.

use rustc_hash::FxHashMap;

use crate::error::Error;
use crate::model::Field;
use crate::normalise::{match_form, same};
use crate::options::{OrphanPolicy, PlanOptions};
use crate::planner::guards;
use crate::planner::{Action, ActionKind, Plan, Planner, UserState};

/// A plan read back, made ready to vet: the host's guards in place of the file's, the host's
/// protect list and administrator roles added to the plan's; then checked against itself.
pub(crate) fn trusted(mut plan: Plan<'static>, host: &PlanOptions) -> Result<Plan<'static>, Error> {
    if host.platform != plan.options.platform {
        return Err(Error::InvalidOptions(format!(
            "the plan is for {}, not {}",
            plan.options.platform.name(),
            host.platform.name()
        )));
    }
    plan.options.guards = host.guards.clone();
    for p in &host.protect {
        if !plan.options.protect.contains(p) {
            plan.options.protect.push(p.clone());
        }
    }
    for r in &host.admin_roles {
        if !plan.options.admin_roles.contains(r) {
            plan.options.admin_roles.push(r.clone());
        }
    }
    vet_alone(&plan).map_err(Error::PlanRefused)?;
    Ok(plan)
}

/// Checks what a plan says of itself: its held fingerprint matches its actions, only its
/// `deactivate` actions set a user inactive, and every deactivation or deletion is one its own
/// options could plan (a deletion only of an orphan under the delete policy, an orphan's
/// deactivation only under the deactivate policy, none of a protected user). `Err` says why
/// the plan is refused.
pub(crate) fn vet_alone(plan: &Plan) -> Result<(), String> {
    guards::check_held(plan)?;
    let opts = &plan.options;
    for a in &plan.actions {
        let id = a.platform_id.as_deref().unwrap_or("?");
        // Every write carries the status it sets: only a `deactivate` may set it to false, or
        // an `update` could deactivate without the guards counting it.
        let deactivates = a.changes.as_ref().and_then(|c| c.active.as_ref()).and_then(|c| c.to) == Some(false);
        if deactivates && a.action != ActionKind::Deactivate {
            return Err(format!(
                "its {} of {id} sets active to false, which only a deactivate (counted by the guards) does",
                a.action.name()
            ));
        }
        let allowed = match (a.action, a.orphan) {
            (ActionKind::Delete, true) => opts.orphans == OrphanPolicy::Delete,
            (ActionKind::Delete, false) => false,
            (ActionKind::Deactivate, true) => opts.orphans == OrphanPolicy::Deactivate,
            _ => continue,
        };
        if !allowed {
            return Err(format!(
                "it would {} {id}{}, which a plan with orphans: {} never does",
                a.action.name(),
                if a.orphan { " as an orphan" } else { "" },
                format!("{:?}", opts.orphans).to_lowercase()
            ));
        }
        let key = a.key.as_deref();
        if a.orphan && opts.protect.iter().any(|p| p == id || key == Some(p.as_str())) {
            return Err(format!("it would {} {id}, which is on the protect list", a.action.name()));
        }
    }
    Ok(())
}

/// Checks a plan against the platform as listed now: no orphan handling of an administrator
/// or an unmanaged user, and no deactivation of one except as a matched learner (the user's
/// primary key is the action's); then recomputes both guards with the managed users listed.
/// `users` are the platform's users as `planner` listed them (`Planner::platform_users`).
pub(crate) fn vet_against(plan: &mut Plan, users: &[UserState], planner: &Planner) -> Result<(), String> {
    let primary = planner.options().primary();
    let by_id: FxHashMap<&str, &UserState> = users.iter().map(|u| (u.id, u)).collect();
    for a in &plan.actions {
        if !matches!(a.action, ActionKind::Deactivate | ActionKind::Delete) {
            continue;
        }
        let Some(id) = a.platform_id.as_deref() else { continue };
        // A user gone since is skipped by `check`.
        let Some(u) = by_id.get(id) else { continue };
        if !u.admin && u.managed {
            continue;
        }
        let what = if u.admin { "an administrator" } else { "a user the sync does not manage (made by hand)" };
        let own_key = match (a.key.as_deref(), u.values.get(primary)) {
            (Some(k), Some(uk)) => match_form(primary, k) == match_form(primary, uk),
            _ => false,
        };
        if a.orphan || !own_key {
            return Err(format!(
                "it would {} {id}, {what}, {}: the planner never does (either the plan was edited, or the user changed since it was made: plan again)",
                a.action.name(),
                if a.orphan { "as an orphan" } else { "who is not the learner it names" }
            ));
        }
    }
    drop(by_id);
    let managed = planner.managed_users();
    guards::reapply(plan, managed)
}

/// For each action: `None` if it may go ahead, or why not.
/// `users` are the platform's users as listed now (`Planner::platform_users`).
pub(crate) fn check(actions: &[Action<'static>], users: &[UserState], primary: Field) -> Vec<Option<String>> {
    let by_id: FxHashMap<&str, &UserState> = users.iter().map(|u| (u.id, u)).collect();
    let by_key: FxHashMap<String, &str> = users
        .iter()
        .filter_map(|u| u.values.get(primary).map(|k| (match_form(primary, k).into_owned(), u.id)))
        .collect();
    actions.iter().map(|a| verdict(a, primary, &by_id, &by_key)).collect()
}

fn shown(v: Option<&str>) -> String {
    v.map_or_else(|| "nothing".to_string(), |v| format!("{v:?}"))
}

fn verdict(
    a: &Action,
    primary: Field,
    by_id: &FxHashMap<&str, &UserState>,
    by_key: &FxHashMap<String, &str>,
) -> Option<String> {
    let changed = |what: String| Some(format!("skipped: the platform changed since the plan was made ({what})"));
    match a.action {
        ActionKind::Create => {
            let key = a.key.as_deref()?;
            let holder = by_key.get(match_form(primary, key).as_ref())?;
            changed(format!("user {holder} now has {} {key:?}", primary.name()))
        }
        ActionKind::Update
        | ActionKind::Link
        | ActionKind::Reactivate
        | ActionKind::Deactivate
        | ActionKind::Delete => {
            let id = a.platform_id.as_deref()?;
            let Some(user) = by_id.get(id) else { return changed(format!("user {id} no longer exists")) };
            if let Some(c) = &a.changes {
                for f in Field::ALL {
                    let Some(ch) = c.get(f) else { continue };
                    let now = user.values.get(f).map(|v| v.as_ref());
                    let then = ch.from.as_deref();
                    let still = match (now, then) {
                        (Some(n), Some(t)) => same(f, n, t),
                        (None, None) => true,
                        _ => false,
                    };
                    if !still {
                        return changed(format!(
                            "{} of {id} is now {}, the plan saw {}",
                            f.name(),
                            shown(now),
                            shown(then)
                        ));
                    }
                }
                if let Some(from) = c.active.as_ref().and_then(|ch| ch.from) {
                    if user.active != from {
                        return changed(format!("{id} is now {}", if user.active { "active" } else { "inactive" }));
                    }
                }
            }
            if a.action == ActionKind::Update && !user.active {
                return changed(format!("{id} is now inactive"));
            }
            if let Some(seen) = &a.user {
                let key_now = user.values.get(primary).map(|v| v.as_ref());
                if key_now != seen.get(primary).map(|v| v.as_ref()) || seen.active.is_some_and(|x| x != user.active) {
                    return changed(format!("{id} is not the user the plan saw"));
                }
            }
            None
        }
        ActionKind::Review | ActionKind::Conflict | ActionKind::Invalid => None,
    }
}
