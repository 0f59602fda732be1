//! Pinned plans: a plan made earlier (approved in the preview on Monday) is applied on Tuesday
//! only where the platform still holds what the plan saw. After listing the platform afresh,
//! each action on an existing user is checked against the fields it involves: the `from` of
//! every change, the status it expects, the key it matched. A create is checked for a user
//! that now holds its key. An action whose user changed is skipped with the reason.

use rustc_hash::FxHashMap;

use crate::model::Field;
use crate::normalise::{match_form, same};
use crate::planner::{Action, ActionKind, Planner, UserState};

/// For each action: `None` if it may go ahead, or why not.
pub(crate) fn check(actions: &[Action<'static>], planner: &Planner) -> Vec<Option<String>> {
    let users = planner.platform_users();
    let primary = planner.options().primary();
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
