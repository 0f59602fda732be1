//! Delta planning: the system of record says which learners changed and keeps each one's
//! platform ID, so nothing is listed and nothing is compared. Per row:
//!
//! | row | action |
//! |---|---|
//! | no platform ID, active | `create` (the new ID is reported back) |
//! | no platform ID, inactive | nothing |
//! | platform ID, active | `update` with the fields the row supplies, and `active: true` |
//! | platform ID, inactive | `deactivate` (also when the key cell is blank) |
//!
//! Rows are the changes, so every supplied field is sent (`from` is unknown: null). Two rows
//! with the same platform ID or the same primary key are a conflict.

use std::borrow::Cow;

use rustc_hash::FxHashMap;

use super::plan::{Action, ActionKind, Change, Changes, ConflictKind, RowRef, Summary, Values};
use crate::model::{Field, InvalidRecord, Learner, StrArena};
use crate::options::PlanOptions;

pub(crate) fn decide<'p>(
    opts: &'p PlanOptions,
    arena: &'p StrArena,
    labels: &'p [Box<str>],
    learners: &'p [Learner],
    invalid: &'p [InvalidRecord],
) -> (Vec<Action<'p>>, Summary) {
    let primary = opts.primary();
    let platform = opts.platform;
    let mut summary = Summary { learners: learners.len() as u32, ..Summary::default() };
    let mut actions = Vec::new();
    let row = |l: &Learner| RowRef { source: Cow::Borrowed(&labels[l.origin.page as usize]), row: l.origin.row };
    let key = |l: &'p Learner| arena.opt(l.fields.get(primary)).map(Cow::Borrowed);

    // A leaver whose key cell is blank is still found by the platform ID stored for it, unless
    // another row names that ID too.
    let mut ids: FxHashMap<&str, u32> = FxHashMap::default();
    for id in learners.iter().map(|l| l.platform_id).chain(invalid.iter().filter_map(|r| r.by_platform_id.map(|b| b.0)))
    {
        if let Some(id) = arena.opt(id) {
            *ids.entry(id).or_default() += 1;
        }
    }
    for rec in invalid {
        let alone = |id| ids.get(arena.get(id)) == Some(&1);
        if let Some((id, false)) = rec.by_platform_id.filter(|&(id, _)| alone(id)) {
            let c = Changes { active: Some(Change { from: None, to: Some(false) }), ..Changes::default() };
            let mut a = Action::new(ActionKind::Deactivate);
            a.changes = Some(Box::new(c));
            a.platform_id = Some(Cow::Borrowed(arena.get(id)));
            a.source = Some(Cow::Borrowed(&labels[rec.origin.page as usize]));
            a.row = Some(rec.origin.row);
            summary.count(ActionKind::Deactivate);
            actions.push(a);
            continue;
        }
        let mut a = Action::new(ActionKind::Invalid);
        a.key = arena.opt(rec.fields.get(primary)).map(Cow::Borrowed);
        a.source = Some(Cow::Borrowed(&labels[rec.origin.page as usize]));
        a.row = Some(rec.origin.row);
        a.field = Some(Cow::Borrowed(&rec.field));
        a.value = rec.value.as_deref().map(Cow::Borrowed);
        a.reason = Some(Cow::Borrowed(&rec.reason));
        summary.count(ActionKind::Invalid);
        actions.push(a);
    }

    // Rows sharing a platform ID or a primary key: one conflict per shared value.
    let mut by_id: FxHashMap<&str, Vec<usize>> = FxHashMap::default();
    let mut by_key: FxHashMap<&str, Vec<usize>> = FxHashMap::default();
    for (i, l) in learners.iter().enumerate() {
        if let Some(id) = arena.opt(l.platform_id) {
            by_id.entry(id).or_default().push(i);
        }
        if let Some(k) = arena.opt(l.fields.get(primary)) {
            by_key.entry(k).or_default().push(i);
        }
    }
    let mut in_conflict = vec![false; learners.len()];
    let mut groups: Vec<(&str, &str, Vec<usize>)> = by_id
        .into_iter()
        .map(|(v, g)| ("platformId", v, g))
        .chain(by_key.into_iter().map(|(v, g)| (primary.name(), v, g)))
        .filter(|(_, _, g)| g.len() > 1 && g.iter().all(|&i| !in_conflict[i]))
        .collect();
    // Groups of one map are disjoint, so (first member, which map) is unique: the unstable
    // sort gives the order a stable sort by first member would (ID groups first).
    groups.sort_unstable_by_key(|(field, _, g)| (g[0], *field != "platformId"));
    for (field, value, members) in groups {
        if members.iter().any(|&i| in_conflict[i]) {
            continue;
        }
        let mut a = Action::new(ActionKind::Conflict);
        a.key = key(&learners[members[0]]);
        a.conflict = Some(ConflictKind::DuplicateLearnerKey);
        a.field = Some(Cow::Borrowed(field));
        a.value = Some(Cow::Borrowed(value));
        a.rows = members.iter().map(|&i| row(&learners[i])).collect();
        a.reason = Some(Cow::Owned(format!(
            "{} changed rows share {field} {value:?}; nothing is done to any of them",
            members.len()
        )));
        for &i in &members {
            in_conflict[i] = true;
        }
        summary.count(ActionKind::Conflict);
        actions.push(a);
    }

    for (i, l) in learners.iter().enumerate() {
        if in_conflict[i] {
            continue;
        }
        let id = arena.opt(l.platform_id);
        let mut values = Values::default();
        let mut changes = Changes::default();
        for f in Field::ALL {
            if let (true, Some(v)) = (platform.stores(f, primary), arena.opt(l.fields.get(f))) {
                values.set(f, Cow::Borrowed(v));
                changes.set(f, Change { from: None, to: Some(Cow::Borrowed(v)) });
            }
        }
        let r = row(l);
        let mut a = match (id, l.active) {
            (None, false) => {
                summary.untouched += 1;
                continue;
            }
            (None, true) => {
                if let Some(missing) = platform.required_for_create().iter().find(|f| l.fields.get(**f).is_empty()) {
                    let mut a = Action::new(ActionKind::Invalid);
                    a.field = Some(Cow::Borrowed(missing.name()));
                    a.reason = Some(Cow::Owned(format!("is empty; {} needs it to create the user", platform.name())));
                    a
                } else {
                    values.active = Some(true);
                    let mut a = Action::new(ActionKind::Create);
                    a.fields = Some(Box::new(values));
                    a
                }
            }
            (Some(_), true) => {
                changes.active = Some(Change { from: None, to: Some(true) });
                let mut a = Action::new(ActionKind::Update);
                a.changes = Some(Box::new(changes));
                a
            }
            (Some(_), false) => {
                let c = Changes { active: Some(Change { from: None, to: Some(false) }), ..Changes::default() };
                let mut a = Action::new(ActionKind::Deactivate);
                a.changes = Some(Box::new(c));
                a
            }
        };
        a.key = key(l);
        a.platform_id = id.map(Cow::Borrowed);
        a.source = Some(r.source);
        a.row = Some(r.row);
        summary.count(a.action);
        actions.push(a);
    }
    actions.sort_by(super::matching::order);
    (actions, summary)
}
