//! Matching and deciding, key by key in the order of precedence ([`PlanOptions::keys`]: the
//! `match` keys, then the email when linking by email is on). Every source row (learner or
//! invalid row) and every platform user starts undecided; at each key, among the records
//! still undecided, each value decides its holders:
//!
//! - one source row and one user: a pair (update, deactivate, reactivate, link, or nothing),
//!   decided whatever later keys say;
//! - more than one on either side with someone on the other, or two source rows: a
//!   `conflict` of exactly those records, and nothing is done to any of them;
//! - two users and no source row: nothing is decided (each goes on to the next key), and the
//!   duplicate is reported beside (`sharedPlatformKey`).
//!
//! After the last key, an active learner still undecided is created, unless a listed user
//! holds one of its keys or its email (`keyTaken`: the platform would refuse it); a user still
//! undecided is an orphan, unless it shares a key value or its email with a source row (then
//! it is listed for review and left alone: it may be that learner's account). A matched user made by hand (unmanaged) is never written, and a
//! matched administrator never deactivated: the plan says `review` with the reason. An invalid row always gives its
//! `invalid` entry; a user it matches is left alone.
//!
//! Each record is decided once, so a platform user is never acted on twice and a learner
//! never yields more than one action.

use std::borrow::Cow;

use rustc_hash::FxHashMap;

use super::plan::{Action, ActionKind, Change, Changes, ConflictKind, RowRef, Summary, Values};
use crate::model::{Field, Fields, InvalidRecord, Learner, Origin, PlatformUser, StrArena};
use crate::normalise::{match_form, same};
use crate::options::{OrphanPolicy, PlanOptions};

/// Everything the planner read.
pub(crate) struct Inputs<'p> {
    pub opts: &'p PlanOptions,
    pub arena: &'p StrArena,
    pub labels: &'p [Box<str>],
    pub learners: &'p [Learner],
    pub invalid: &'p [InvalidRecord],
    pub users: &'p [PlatformUser],
    /// Users listed again on a later page (paging is not a snapshot): only the last copy of
    /// each ID counts.
    pub superseded: Vec<bool>,
    /// Every copy of a user ID listed more than once with different content.
    pub twice: Vec<bool>,
}

/// What became of a record.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Fate {
    Open,
    /// Matched at `keys[key]` with the record on the other side.
    Pair {
        key: u8,
        with: u32,
    },
    /// In conflict group `groups[n]`.
    Conflict(u32),
    /// A superseded copy of a user: not a record of its own.
    Gone,
}

/// Records that one key value put in conflict.
struct Group<'p> {
    key: Field,
    value: &'p str,
    sources: Vec<u32>,
    users: Vec<u32>,
}

impl<'p> Inputs<'p> {
    /// The fields of source row `s` (learners first, then invalid rows).
    fn source_fields(&self, s: usize) -> &'p Fields {
        match self.learners.get(s) {
            Some(l) => &l.fields,
            None => &self.invalid[s - self.learners.len()].fields,
        }
    }

    fn source_origin(&self, s: usize) -> Origin {
        match self.learners.get(s) {
            Some(l) => l.origin,
            None => self.invalid[s - self.learners.len()].origin,
        }
    }

    /// Per key, which of `candidates` (by position) holds each value that one of `wanted`
    /// holds; of several, the first by `rank`, so the answer does not depend on the order
    /// pages came in. Only the wanted values are kept: after matching they are few.
    fn holders<'w, R: Ord>(
        &self,
        keys: &[Field],
        wanted: impl Iterator<Item = &'w Fields> + Clone,
        candidates: impl Iterator<Item = Fields> + Clone,
        rank: impl Fn(usize) -> R,
    ) -> Vec<FxHashMap<Cow<'p, str>, usize>> {
        keys.iter()
            .map(|&key| {
                let mut m: FxHashMap<Cow<'p, str>, usize> = FxHashMap::default();
                for f in wanted.clone() {
                    if let Some(v) = self.text(f, key) {
                        m.insert(match_form(key, v), usize::MAX);
                    }
                }
                if m.is_empty() {
                    return m;
                }
                for (i, f) in candidates.clone().enumerate() {
                    if let Some(at) = self.text(&f, key).and_then(|v| m.get_mut(&match_form(key, v))) {
                        if *at == usize::MAX || rank(i) < rank(*at) {
                            *at = i;
                        }
                    }
                }
                m.retain(|_, at| *at != usize::MAX);
                m
            })
            .collect()
    }

    /// The first of `keys` whose value in `f` the index holds, and who holds it.
    fn held(&self, keys: &[Field], f: &Fields, index: &[FxHashMap<Cow<'p, str>, usize>]) -> Option<(Field, usize)> {
        keys.iter()
            .zip(index)
            .find_map(|(&k, m)| self.text(f, k).and_then(|v| m.get(&match_form(k, v))).map(|&i| (k, i)))
    }

    /// The fields user `u` holds once its pair's write is made: a matched learner that is
    /// active writes every value it has onto a managed user (see `Decisions::pair`).
    fn after_writes(&self, u: usize, fate: Fate, keys: &[Field]) -> Fields {
        let user = &self.users[u];
        let mut f = user.fields;
        let Fate::Pair { key, with } = fate else { return f };
        let Some(l) = self.learners.get(with as usize) else { return f };
        let primary = self.opts.primary();
        let mismatch = keys[key as usize] != primary && self.text(&user.fields, primary).is_some();
        if !l.active || !user.managed || mismatch {
            return f;
        }
        for field in Field::ALL {
            if self.opts.platform.stores(field, primary) && !l.fields.get(field).is_empty() {
                f.set(field, l.fields.get(field));
            }
        }
        f
    }

    /// A source row's label and row, for ranking and for reasons.
    fn source_rank(&self, s: usize) -> (&'p str, u32) {
        let o = self.source_origin(s);
        (&self.labels[o.page as usize], o.row)
    }

    fn text(&self, f: &Fields, field: Field) -> Option<&'p str> {
        self.arena.opt(f.get(field))
    }

    fn row(&self, o: Origin) -> RowRef<'p> {
        RowRef { source: Cow::Borrowed(&self.labels[o.page as usize]), row: o.row }
    }

    fn primary_key(&self, f: &Fields) -> Option<Cow<'p, str>> {
        self.text(f, self.opts.primary()).map(Cow::Borrowed)
    }

    fn values(&self, f: &Fields, active: bool) -> Values<'p> {
        let mut v = Values::default();
        let primary = self.opts.primary();
        for field in Field::ALL {
            if self.opts.platform.stores(field, primary) {
                if let Some(t) = self.text(f, field) {
                    v.set(field, Cow::Borrowed(t));
                }
            }
        }
        v.active = Some(active);
        v
    }
}

/// Plans the sync. Actions come back sorted by key, platform ID and row.
pub(crate) fn decide<'p>(inp: &Inputs<'p>) -> (Vec<Action<'p>>, Summary) {
    let keys = inp.opts.keys();
    let n_src = inp.learners.len() + inp.invalid.len();
    let mut src: Vec<Fate> = vec![Fate::Open; n_src];
    let mut usr: Vec<Fate> = inp.superseded.iter().map(|&gone| if gone { Fate::Gone } else { Fate::Open }).collect();
    let mut groups: Vec<Group<'p>> = Vec::new();
    let mut shared: Vec<Group<'p>> = Vec::new();

    // A user listed twice with different content is decided first: nothing is done to it.
    let mut twice_ids: Vec<u32> = Vec::new();
    for (u, fate) in usr.iter_mut().enumerate() {
        if *fate == Fate::Open && inp.twice[u] {
            *fate = Fate::Conflict(u32::MAX);
            twice_ids.push(u as u32);
        }
    }

    for (ki, &key) in keys.iter().enumerate() {
        #[derive(Clone, Copy)]
        struct Count {
            sources: u32,
            users: u32,
            /// Every user with the value, decided or not (for the duplicates reported beside).
            all_users: u32,
            first_user: u32,
            group: u32,
        }
        let mut by_value: FxHashMap<Cow<'p, str>, Count> = FxHashMap::default();
        let mut add = |v: &'p str, user: Option<(u32, bool)>| {
            let c = by_value.entry(match_form(key, v)).or_insert(Count {
                sources: 0,
                users: 0,
                all_users: 0,
                first_user: u32::MAX,
                group: u32::MAX,
            });
            match user {
                Some((u, open)) => {
                    c.all_users += 1;
                    if open {
                        if c.users == 0 {
                            c.first_user = u;
                        }
                        c.users += 1;
                    }
                }
                None => c.sources += 1,
            }
        };
        for (s, fate) in src.iter().enumerate() {
            if *fate == Fate::Open {
                if let Some(v) = inp.text(inp.source_fields(s), key) {
                    add(v, None);
                }
            }
        }
        for (u, user) in inp.users.iter().enumerate() {
            if usr[u] != Fate::Gone {
                if let Some(v) = inp.text(&user.fields, key) {
                    add(v, Some((u as u32, usr[u] == Fate::Open)));
                }
            }
        }
        let conflicted = |c: &Count| c.sources >= 2 || (c.sources == 1 && c.users >= 2);
        let join = |c: &mut Count, v: &'p str, groups: &mut Vec<Group<'p>>| -> u32 {
            if c.group == u32::MAX {
                c.group = groups.len() as u32;
                groups.push(Group { key, value: v, sources: Vec::new(), users: Vec::new() });
            }
            c.group
        };
        for (s, fate) in src.iter_mut().enumerate() {
            if *fate != Fate::Open {
                continue;
            }
            let Some(v) = inp.text(inp.source_fields(s), key) else { continue };
            let c = by_value.get_mut(&match_form(key, v)).expect("counted");
            if c.sources == 1 && c.users == 1 {
                *fate = Fate::Pair { key: ki as u8, with: c.first_user };
                usr[c.first_user as usize] = Fate::Pair { key: ki as u8, with: s as u32 };
            } else if conflicted(c) {
                let g = join(c, v, &mut groups);
                let group = &mut groups[g as usize];
                group.sources.push(s as u32);
                // Of the spellings that match (emails in other cases), the least: whatever the order.
                group.value = group.value.min(v);
                *fate = Fate::Conflict(g);
            }
        }
        for (u, user) in inp.users.iter().enumerate() {
            if usr[u] != Fate::Open {
                continue;
            }
            let Some(v) = inp.text(&user.fields, key) else { continue };
            let c = by_value.get_mut(&match_form(key, v)).expect("counted");
            if c.sources >= 1 && conflicted(c) {
                let g = join(c, v, &mut groups);
                let group = &mut groups[g as usize];
                group.users.push(u as u32);
                group.value = group.value.min(v);
                usr[u] = Fate::Conflict(g);
            }
        }
        // Users sharing a value that put nobody in conflict: reported beside.
        if by_value.values().any(|c| c.all_users >= 2 && c.group == u32::MAX) {
            let value_of = |u: usize| inp.text(&inp.users[u].fields, key).filter(|_| usr[u] != Fate::Gone);
            let mut members: FxHashMap<Cow<'p, str>, Vec<u32>> = FxHashMap::default();
            for u in 0..inp.users.len() {
                if let Some(v) = value_of(u) {
                    let m = match_form(key, v);
                    if by_value.get(&m).is_some_and(|c| c.all_users >= 2 && c.group == u32::MAX) {
                        members.entry(m).or_default().push(u as u32);
                    }
                }
            }
            for (_, users) in members {
                let value = users.iter().filter_map(|&u| value_of(u as usize)).min().expect("a member has the value");
                shared.push(Group { key, value, sources: Vec::new(), users });
            }
        }
    }

    let mut out = Decisions { inp, keys: &keys, actions: Vec::new(), summary: Summary::default() };
    out.summary.learners = inp.learners.len() as u32;
    out.summary.platform_users = inp.superseded.iter().filter(|&&gone| !gone).count() as u32;

    for rec in inp.invalid {
        out.invalid(rec);
    }
    // Keys and the email: what a create would collide on, and what makes a user someone's.
    let mut taken_fields = keys.clone();
    if !taken_fields.contains(&Field::Email) {
        taken_fields.push(Field::Email);
    }
    let open_users = (0..inp.users.len()).filter(|&u| usr[u] == Fate::Open).map(|u| &inp.users[u].fields);
    let held_by_sources =
        inp.holders(&taken_fields, open_users, (0..n_src).map(|s| *inp.source_fields(s)), |s| inp.source_rank(s));
    // What each user holds once the plan's writes are made (the executor sends the write that
    // frees a value before the one that takes it, `sync::moves`); every copy of a user listed
    // twice holds its values: a create would meet either.
    let listed: Vec<usize> = (0..inp.users.len()).filter(|&u| !inp.superseded[u] || inp.twice[u]).collect();
    let creates = inp.learners.iter().zip(&src).filter(|(l, &f)| f == Fate::Open && l.active).map(|(l, _)| &l.fields);
    let held_by_users =
        inp.holders(&taken_fields, creates, listed.iter().map(|&u| inp.after_writes(u, usr[u], &keys)), |i| {
            inp.arena.get(inp.users[listed[i]].id)
        });

    for (l, fate) in src.iter().enumerate().take(inp.learners.len()) {
        match *fate {
            Fate::Pair { key, with } => out.pair(l, with as usize, keys[key as usize]),
            Fate::Open => {
                let taken = inp.held(&taken_fields, &inp.learners[l].fields, &held_by_users);
                out.alone(l, taken.map(|(k, i)| (k, listed[i])))
            }
            Fate::Conflict(_) | Fate::Gone => {}
        }
    }
    for (u, fate) in usr.iter().enumerate() {
        match *fate {
            Fate::Pair { with, .. } if with as usize >= inp.learners.len() => out.summary.untouched += 1,
            Fate::Open => match inp.held(&taken_fields, &inp.users[u].fields, &held_by_sources) {
                Some((field, s)) => out.claimed(u, field, s, src[s]),
                None => out.orphan(u),
            },
            _ => {}
        }
    }
    for g in &groups {
        out.conflict(g);
    }
    for g in &shared {
        out.shared(g);
    }
    for &u in &twice_ids {
        out.listed_twice(u as usize);
    }

    let Decisions { mut actions, summary, .. } = out;
    actions.sort_by(order);
    (actions, summary)
}

/// The order of actions in a plan: by key, platform ID, source row, then kind.
pub(crate) fn order(a: &Action, b: &Action) -> std::cmp::Ordering {
    fn k<'x>(x: &'x Action) -> (Option<&'x str>, Option<&'x str>, Option<&'x str>, Option<u32>, ActionKind) {
        (x.key.as_deref(), x.platform_id.as_deref(), x.source.as_deref(), x.row, x.action)
    }
    // Then what tells conflicts and notes without a key or platform ID apart, so the order
    // never depends on the order pages came in.
    type More<'x> = (Option<&'x str>, Option<&'x str>, &'x [Cow<'x, str>], Vec<(&'x str, u32)>);
    fn more<'x>(x: &'x Action) -> More<'x> {
        let rows = x.rows.iter().map(|r| (r.source.as_ref(), r.row)).collect();
        (x.field.as_deref(), x.value.as_deref(), &x.platform_ids, rows)
    }
    k(a).cmp(&k(b)).then_with(|| more(a).cmp(&more(b)))
}

struct Decisions<'i, 'p> {
    inp: &'i Inputs<'p>,
    keys: &'i [Field],
    actions: Vec<Action<'p>>,
    summary: Summary,
}

impl<'p> Decisions<'_, 'p> {
    fn push(&mut self, a: Action<'p>) {
        self.summary.count(a.action);
        self.actions.push(a);
    }

    fn learner_action(&self, kind: ActionKind, l: &Learner) -> Action<'p> {
        let mut a = Action::new(kind);
        a.key = self.inp.primary_key(&l.fields);
        let r = self.inp.row(l.origin);
        a.source = Some(r.source);
        a.row = Some(r.row);
        a
    }

    fn invalid(&mut self, rec: &'p InvalidRecord) {
        let mut a = Action::new(ActionKind::Invalid);
        a.key = self.inp.primary_key(&rec.fields);
        let r = self.inp.row(rec.origin);
        a.source = Some(r.source);
        a.row = Some(r.row);
        a.field = Some(Cow::Borrowed(&rec.field));
        a.value = rec.value.as_deref().map(Cow::Borrowed);
        a.reason = Some(Cow::Borrowed(&rec.reason));
        self.push(a);
    }

    /// The fields of the learner that differ from the user's, among those the platform stores.
    fn diff(&self, l: &Learner, u: &PlatformUser) -> Changes<'p> {
        let inp = self.inp;
        let primary = inp.opts.primary();
        let mut changes = Changes::default();
        for f in Field::ALL {
            if !inp.opts.platform.stores(f, primary) {
                continue;
            }
            // An empty source value never clears what the platform holds.
            let Some(to) = inp.text(&l.fields, f) else { continue };
            let from = inp.text(&u.fields, f);
            if from.is_none_or(|from| !same(f, from, to)) {
                changes.set(f, Change { from: from.map(Cow::Borrowed), to: Some(Cow::Borrowed(to)) });
            }
        }
        changes
    }

    fn pair(&mut self, li: usize, ui: usize, matched_by: Field) {
        let inp = self.inp;
        let (l, u) = (&inp.learners[li], &inp.users[ui]);
        let primary = inp.opts.primary();
        let linked = matched_by != primary;
        if linked && inp.text(&u.fields, primary).is_some() {
            let lk = inp.text(&l.fields, primary).unwrap_or_default();
            let uk = inp.text(&u.fields, primary).unwrap_or_default();
            let reason = format!(
                "the learner matches platform user {} by {}, but that user has {} {:?} and the learner has {:?}",
                inp.arena.get(u.id),
                matched_by.name(),
                primary.name(),
                uk,
                lk
            );
            let mut a = self.learner_action(ActionKind::Conflict, l);
            a.conflict = Some(ConflictKind::KeyMismatch);
            a.field = Some(Cow::Borrowed(primary.name()));
            a.value = Some(Cow::Borrowed(lk));
            a.rows = vec![inp.row(l.origin)];
            a.platform_ids = vec![Cow::Borrowed(inp.arena.get(u.id))];
            a.source = None;
            a.row = None;
            a.reason = Some(Cow::Owned(reason));
            self.push(a);
            return;
        }
        let kind = match (l.active, u.active) {
            (false, false) => None,
            (false, true) => Some(ActionKind::Deactivate),
            (true, false) => Some(if linked { ActionKind::Link } else { ActionKind::Reactivate }),
            (true, true) => Some(if linked { ActionKind::Link } else { ActionKind::Update }),
        };
        let Some(kind) = kind else {
            self.summary.unchanged += 1;
            return;
        };
        let mut changes = if kind == ActionKind::Deactivate { Changes::default() } else { self.diff(l, u) };
        if l.active != u.active {
            changes.active = Some(Change { from: Some(u.active), to: Some(l.active) });
        }
        if changes.is_empty() {
            self.summary.unchanged += 1;
            return;
        }
        if !u.managed || (u.admin && kind == ActionKind::Deactivate) {
            // A user made by hand is never written through a match, and an administrator is
            // never deactivated or locked (updates leave its roles as they are).
            let who = if !u.managed {
                "made by hand (no external id): not managed by the sync, so left alone"
            } else {
                "administrator: the sync never deactivates or locks an administrator"
            };
            let mut a = self.learner_action(ActionKind::Review, l);
            a.platform_id = Some(Cow::Borrowed(inp.arena.get(u.id)));
            a.user = Some(Box::new(inp.values(&u.fields, u.active)));
            a.matched_by = linked.then_some(matched_by);
            a.reason = Some(Cow::Owned(format!("{who} (the {} is not sent)", kind.name())));
            self.push(a);
            return;
        }
        let mut a = self.learner_action(kind, l);
        a.platform_id = Some(Cow::Borrowed(inp.arena.get(u.id)));
        // Who this is about: the platform user's values, for the CSV's and the preview's
        // email and name (the changes carry only what is written).
        a.user = Some(Box::new(inp.values(&u.fields, u.active)));
        if linked {
            a.matched_by = Some(matched_by);
        }
        a.changes = Some(Box::new(changes));
        self.push(a);
    }

    fn alone(&mut self, li: usize, taken: Option<(Field, usize)>) {
        let inp = self.inp;
        let l = &inp.learners[li];
        if !l.active {
            self.summary.untouched += 1;
            return;
        }
        if let Some((field, ui)) = taken {
            let u = &inp.users[ui];
            let value = inp.text(&l.fields, field).unwrap_or_default();
            let id = inp.arena.get(u.id);
            let how = if inp.twice[ui] {
                " (it is listed twice with different content)"
            } else if field == Field::Email && !self.keys.contains(&Field::Email) {
                " (linking by email is off)"
            } else if inp.text(&u.fields, inp.opts.primary()).is_none() || !u.managed || u.admin {
                ""
            } else {
                " (matched to another learner, or with another key)"
            };
            let mut a = self.learner_action(ActionKind::Conflict, l);
            a.conflict = Some(ConflictKind::KeyTaken);
            a.field = Some(Cow::Borrowed(field.name()));
            a.value = Some(Cow::Borrowed(value));
            a.rows = vec![inp.row(l.origin)];
            a.platform_ids = vec![Cow::Borrowed(id)];
            a.source = None;
            a.row = None;
            a.reason = Some(Cow::Owned(format!(
                "the learner matches no platform user, but platform user {id} already holds {} {value:?}{how}: \
                 the platform would refuse to create it; nothing is done",
                field.name()
            )));
            self.push(a);
            return;
        }
        let platform = inp.opts.platform;
        if let Some(missing) = platform.required_for_create().iter().find(|f| l.fields.get(**f).is_empty()) {
            let mut a = self.learner_action(ActionKind::Invalid, l);
            a.field = Some(Cow::Borrowed(missing.name()));
            a.reason = Some(Cow::Owned(format!("is empty; {} needs it to create the user", platform.name())));
            self.push(a);
            return;
        }
        let mut a = self.learner_action(ActionKind::Create, l);
        a.fields = Some(Box::new(inp.values(&l.fields, true)));
        self.push(a);
    }

    fn orphan(&mut self, ui: usize) {
        let inp = self.inp;
        let u = &inp.users[ui];
        let id = inp.arena.get(u.id);
        let key = inp.primary_key(&u.fields);
        let listed = inp.opts.protect.iter().any(|p| p == id || key.as_deref() == Some(p.as_str()));
        if u.admin || !u.managed || listed {
            self.summary.protected += 1;
            return;
        }
        let kind = match (inp.opts.orphans, u.active) {
            (OrphanPolicy::Review, true) => ActionKind::Review,
            (OrphanPolicy::Deactivate, true) => ActionKind::Deactivate,
            (OrphanPolicy::Delete, _) => ActionKind::Delete,
            (_, false) => {
                self.summary.untouched += 1;
                return;
            }
        };
        let mut a = Action::new(kind);
        a.key = key;
        a.platform_id = Some(Cow::Borrowed(id));
        a.orphan = true;
        a.user = Some(Box::new(inp.values(&u.fields, u.active)));
        match kind {
            ActionKind::Review => a.reason = Some(Cow::Borrowed("no learner matches this platform user")),
            ActionKind::Deactivate => {
                let c = Changes { active: Some(Change { from: Some(true), to: Some(false) }), ..Changes::default() };
                a.changes = Some(Box::new(c));
            }
            _ => {}
        }
        self.push(a);
    }

    /// A user that no learner was matched to, but that shares a key value or its email with a source row
    /// decided another way: not an orphan (it may be that learner's account), so it is listed
    /// for review and left alone.
    fn claimed(&mut self, ui: usize, field: Field, s: usize, fate: Fate) {
        let inp = self.inp;
        let u = &inp.users[ui];
        let (label, row) = inp.source_rank(s);
        let value = inp.text(&u.fields, field).unwrap_or_default();
        let how = match fate {
            Fate::Pair { with, key } if s < inp.learners.len() => format!(
                "who is matched to platform user {} by {}",
                inp.arena.get(inp.users[with as usize].id),
                self.keys[key as usize].name()
            ),
            Fate::Conflict(_) => "who is in a conflict".to_string(),
            Fate::Open => match inp.learners.get(s) {
                Some(l) if l.active => "who matches nobody by key and is not created".to_string(),
                Some(_) => "who left and matches nobody by key".to_string(),
                None => "which cannot be used".to_string(),
            },
            _ => "which cannot be used".to_string(),
        };
        let mut a = Action::new(ActionKind::Review);
        a.key = inp.primary_key(&u.fields);
        a.platform_id = Some(Cow::Borrowed(inp.arena.get(u.id)));
        a.user = Some(Box::new(inp.values(&u.fields, u.active)));
        a.field = Some(Cow::Borrowed(field.name()));
        a.value = Some(Cow::Borrowed(value));
        a.reason = Some(Cow::Owned(format!(
            "no learner is matched to this platform user, but it shares {} {value:?} with the learner in {label} row {row}, {how}; left alone",
            field.name()
        )));
        self.push(a);
    }

    fn conflict(&mut self, g: &Group<'p>) {
        let inp = self.inp;
        let learners: Vec<&Learner> = g.sources.iter().filter_map(|&s| inp.learners.get(s as usize)).collect();
        let unusable = g.sources.len() - learners.len();
        if learners.is_empty() && g.users.len() < 2 {
            // Invalid rows and at most one user: the rows say why; the user is left alone.
            self.summary.untouched += g.users.len() as u32;
            return;
        }
        let mut ids: Vec<&'p str> = g.users.iter().map(|&u| inp.arena.get(inp.users[u as usize].id)).collect();
        ids.sort_unstable();
        let (kind, mut why) = if g.sources.len() >= 2 {
            let mut why = format!("{} learners share {} {:?}", g.sources.len(), g.key.name(), g.value);
            if unusable > 0 {
                why.push_str(&format!(" ({unusable} of them unusable rows)"));
            }
            if !ids.is_empty() {
                why.push_str(&format!(", held by platform user {}", ids.join(", ")));
            }
            (ConflictKind::DuplicateLearnerKey, why)
        } else {
            let why = format!("{} platform users share {} {:?}: {}", ids.len(), g.key.name(), g.value, ids.join(", "));
            (ConflictKind::DuplicatePlatformKey, why)
        };
        why.push_str("; nothing is done to any of them");
        let mut rows: Vec<RowRef<'p>> = learners.iter().map(|l| inp.row(l.origin)).collect();
        rows.sort_by(|a, b| (&a.source, a.row).cmp(&(&b.source, b.row)));
        let key = learners
            .iter()
            .filter_map(|l| inp.primary_key(&l.fields))
            .min()
            .or_else(|| g.users.iter().filter_map(|&u| inp.primary_key(&inp.users[u as usize].fields)).min());
        let mut a = Action::new(ActionKind::Conflict);
        a.key = key;
        a.conflict = Some(kind);
        a.field = Some(Cow::Borrowed(g.key.name()));
        a.value = Some(Cow::Borrowed(g.value));
        a.rows = rows;
        a.platform_ids = ids.into_iter().map(Cow::Borrowed).collect();
        a.reason = Some(Cow::Owned(why));
        self.push(a);
    }

    /// Users sharing a value that decided nothing: reported beside, each planned on its own.
    fn shared(&mut self, g: &Group<'p>) {
        let inp = self.inp;
        let mut ids: Vec<&'p str> = g.users.iter().map(|&u| inp.arena.get(inp.users[u as usize].id)).collect();
        ids.sort_unstable();
        let mut a = Action::new(ActionKind::Conflict);
        a.conflict = Some(ConflictKind::SharedPlatformKey);
        a.field = Some(Cow::Borrowed(g.key.name()));
        a.value = Some(Cow::Borrowed(g.value));
        a.reason = Some(Cow::Owned(format!(
            "{} platform users share {} {:?}: {}; reported only, each is planned on its own",
            ids.len(),
            g.key.name(),
            g.value,
            ids.join(", ")
        )));
        a.platform_ids = ids.into_iter().map(Cow::Borrowed).collect();
        self.push(a);
    }

    fn listed_twice(&mut self, ui: usize) {
        let inp = self.inp;
        let id = inp.arena.get(inp.users[ui].id);
        let mut a = Action::new(ActionKind::Conflict);
        a.conflict = Some(ConflictKind::ListedTwice);
        a.platform_id = None;
        a.platform_ids = vec![Cow::Borrowed(id)];
        a.reason = Some(Cow::Owned(format!(
            "the platform listed user {id} twice with different content: which is current is unknown; nothing is done to it"
        )));
        self.push(a);
    }
}
