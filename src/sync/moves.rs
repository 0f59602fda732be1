//! Unique values that move between users within one sync: an email (or key) leaves one user
//! and arrives at another. The platforms refuse a value another user still holds, so the write
//! that frees a value goes before the write that takes it. A swap (A takes B's value while B
//! takes A's) has no such order; it is broken by parking one user's value on a temporary one
//! first (Foundry, SCIM), or, for emails on Learnifier, by sending the taking write with
//! `autoClearEmail`, which clears the other user's copy.

use std::borrow::Cow;

use rustc_hash::FxHashMap;

use crate::model::Field;
use crate::normalise::match_form;
use crate::options::Platform;
use crate::planner::{Action, ActionKind, Change, Changes};

/// What a write waits for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Dep {
    /// Another action's write.
    Action(usize),
    /// The parking of another action's value.
    Park(usize),
}

/// The order of the writes.
#[derive(Debug, Default)]
pub(crate) struct Moves {
    pub waits_on: Vec<Vec<Dep>>,
    /// Actions whose value is parked first: the parking write (an update of that user).
    pub parks: Vec<(usize, Action<'static>)>,
    /// Actions sent with `autoClearEmail`.
    pub auto_clear: Vec<usize>,
    /// A note for the report, per action.
    pub notes: Vec<Option<String>>,
}

fn takes(a: &Action, f: Field) -> Option<String> {
    let v = match (&a.fields, &a.changes) {
        (Some(v), _) => v.get(f).map(|s| s.to_string()),
        (None, Some(c)) => c.get(f).and_then(|c| c.to.as_deref()).map(str::to_string),
        _ => None,
    }?;
    Some(match_form(f, &v).into_owned())
}

fn frees(a: &Action, f: Field) -> Option<String> {
    let v = match a.action {
        ActionKind::Delete => a.user.as_ref().and_then(|u| u.get(f)).map(|s| s.to_string()),
        _ => a.changes.as_ref().and_then(|c| c.get(f)).and_then(|c| c.from.as_deref()).map(str::to_string),
    }?;
    Some(match_form(f, &v).into_owned())
}

/// Orders the `queued` writes among `actions`.
pub(crate) fn order(actions: &[Action<'static>], queued: &[bool], primary: Field, platform: Platform) -> Moves {
    let n = actions.len();
    let mut m = Moves { waits_on: vec![Vec::new(); n], notes: vec![None; n], ..Moves::default() };
    let fields: Vec<Field> = if primary == Field::Email { vec![Field::Email] } else { vec![Field::Email, primary] };
    // edges[i]: (j, field, value): i takes `value` of `field`, which j frees.
    let mut edges: Vec<Vec<(usize, Field, String)>> = vec![Vec::new(); n];
    for &f in &fields {
        let mut freer: FxHashMap<String, usize> = FxHashMap::default();
        for (j, a) in actions.iter().enumerate() {
            if queued[j] {
                if let Some(v) = frees(a, f) {
                    freer.insert(v, j);
                }
            }
        }
        for (i, a) in actions.iter().enumerate() {
            if !queued[i] {
                continue;
            }
            if let Some(v) = takes(a, f) {
                if let Some(&j) = freer.get(&v) {
                    if j != i {
                        edges[i].push((j, f, v));
                    }
                }
            }
        }
    }
    // Depth-first search; a back edge closes a cycle and is broken.
    let mut colour = vec![0u8; n];
    let mut broken: Vec<(usize, usize, Field)> = Vec::new();
    for start in 0..n {
        if colour[start] != 0 {
            continue;
        }
        let mut stack: Vec<(usize, usize)> = vec![(start, 0)];
        colour[start] = 1;
        while let Some(&mut (node, ref mut next)) = stack.last_mut() {
            if *next < edges[node].len() {
                let (to, f, _) = edges[node][*next].clone();
                *next += 1;
                match colour[to] {
                    0 => {
                        colour[to] = 1;
                        stack.push((to, 0));
                    }
                    1 => broken.push((node, to, f)),
                    _ => {}
                }
            } else {
                colour[node] = 2;
                stack.pop();
            }
        }
    }
    for (i, edge) in edges.iter().enumerate() {
        for (j, f, _) in edge {
            let cut = broken.iter().any(|&(bi, bj, bf)| (bi, bj, bf) == (i, *j, *f));
            if !cut {
                m.waits_on[i].push(Dep::Action(*j));
            }
        }
    }
    for (i, j, f) in broken {
        let key = |k: usize| actions[k].key.as_deref().unwrap_or("?").to_string();
        if platform == Platform::Learnifier && f == Field::Email {
            // i takes j's email at once, clearing it on j, whose own write then goes through.
            m.auto_clear.push(i);
            m.notes[i] = Some(format!("sent with autoClearEmail: it swaps emails with {}", key(j)));
            continue;
        }
        // Park j's value first; i then waits for the parking instead of j's write.
        let id = actions[j].platform_id.as_deref().unwrap_or("new");
        let temp = if f == Field::Email {
            format!("parked.{}@learner-sync.invalid", crate::planner::fingerprint_of(&[id, f.name()]))
        } else {
            format!("parked-{}", crate::planner::fingerprint_of(&[id, f.name()]))
        };
        let mut park = Action::new(ActionKind::Update);
        park.key = actions[j].key.clone();
        park.platform_id = actions[j].platform_id.clone();
        let mut changes = Changes::default();
        changes.set(f, Change { from: None, to: Some(Cow::Owned(temp.clone())) });
        park.changes = Some(Box::new(changes));
        if !m.parks.iter().any(|(k, _)| *k == j) {
            m.parks.push((j, park));
        }
        m.waits_on[i].push(Dep::Park(j));
        m.notes[j] = Some(format!("its {} was parked at {temp:?} first, to swap with {}", f.name(), key(i)));
    }
    m
}
