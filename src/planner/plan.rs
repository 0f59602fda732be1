//! The plan: what a sync must do, and only that. It serialises to the JSON the CLI prints and
//! the JS API returns, and reads back from it (a plan approved in the preview can be applied
//! later). Text fields are `Cow` so a plan can borrow from the planner or own its data.

use std::borrow::Cow;

use serde::{Deserialize, Serialize};

use crate::model::Field;
use crate::options::PlanOptions;

/// The version of the plan format, bumped on any incompatible change.
pub const PLAN_FORMAT: u32 = 1;

/// What an action does.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum ActionKind {
    /// A source row that cannot be used; nothing is done for it or its platform user.
    Invalid,
    /// Learners and platform users whose keys collide; nothing is done to any of them.
    Conflict,
    /// An active learner with no platform user: create one.
    Create,
    /// A learner found only by a later matching key: write the primary key (and any changed
    /// fields) onto the existing user instead of creating a duplicate.
    Link,
    /// A matched pair whose fields differ: write the changed fields.
    Update,
    /// An active learner whose platform user is inactive: reactivate (and write changes).
    Reactivate,
    /// An inactive learner whose platform user is active, or an orphan under the deactivate
    /// policy (`orphan: true`).
    Deactivate,
    /// An orphan under the delete policy.
    Delete,
    /// An orphan under the review policy: listed for an administrator, nothing is sent.
    Review,
}

impl ActionKind {
    /// Whether the action sends a write (review, conflict and invalid send nothing).
    pub fn is_write(self) -> bool {
        !matches!(self, ActionKind::Review | ActionKind::Conflict | ActionKind::Invalid)
    }

    pub fn name(self) -> &'static str {
        match self {
            ActionKind::Invalid => "invalid",
            ActionKind::Conflict => "conflict",
            ActionKind::Create => "create",
            ActionKind::Link => "link",
            ActionKind::Update => "update",
            ActionKind::Reactivate => "reactivate",
            ActionKind::Deactivate => "deactivate",
            ActionKind::Delete => "delete",
            ActionKind::Review => "review",
        }
    }
}

/// Why a conflict was raised.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum ConflictKind {
    /// Two or more learners have the same value of a matching key.
    DuplicateLearnerKey,
    /// Two or more platform users have the same value of a matching key.
    DuplicatePlatformKey,
    /// One learner matches different platform users on different keys.
    MultipleMatches,
    /// Two or more learners match the same platform user, each by a different key.
    SharedUser,
    /// A learner matches a user by a later key, but the user carries a different primary key.
    KeyMismatch,
    /// An active learner matches nobody, but a listed user already holds one of its keys or
    /// its email (matched to someone else, or found by email with linking turned off): the
    /// platform would refuse the create.
    KeyTaken,
    /// Two or more platform users have the same value of a matching key that decided nothing
    /// (no learner holds it, or a learner was matched by an earlier key). Reported beside:
    /// each of them is planned on its own, so the same users also appear in other actions.
    SharedPlatformKey,
    /// The platform listed one user ID twice with different content (a listing that shifted
    /// under a change): which copy is current is unknown, so nothing is done to it.
    ListedTwice,
}

impl ConflictKind {
    /// The kind's name in plans: `duplicateLearnerKey`, `keyMismatch`...
    pub fn name(self) -> &'static str {
        match self {
            ConflictKind::DuplicateLearnerKey => "duplicateLearnerKey",
            ConflictKind::DuplicatePlatformKey => "duplicatePlatformKey",
            ConflictKind::MultipleMatches => "multipleMatches",
            ConflictKind::SharedUser => "sharedUser",
            ConflictKind::KeyMismatch => "keyMismatch",
            ConflictKind::KeyTaken => "keyTaken",
            ConflictKind::SharedPlatformKey => "sharedPlatformKey",
            ConflictKind::ListedTwice => "listedTwice",
        }
    }
}

/// One field's change.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Change<T> {
    pub from: Option<T>,
    pub to: Option<T>,
}

/// Field values, each present or absent; used for changes, created users and orphans.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", bound(deserialize = "T: Deserialize<'de>, B: Deserialize<'de>"))]
pub struct FieldMap<T, B> {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sso_id: Option<T>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub employee_id: Option<T>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub student_id: Option<T>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<T>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_name: Option<T>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_name: Option<T>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub active: Option<B>,
}

impl<T, B> Default for FieldMap<T, B> {
    fn default() -> Self {
        FieldMap {
            sso_id: None,
            employee_id: None,
            student_id: None,
            email: None,
            first_name: None,
            last_name: None,
            active: None,
        }
    }
}

impl<T, B> FieldMap<T, B> {
    pub fn get(&self, f: Field) -> Option<&T> {
        self.slot_ref(f).as_ref()
    }
    pub fn set(&mut self, f: Field, v: T) {
        *self.slot(f) = Some(v);
    }
    fn slot_ref(&self, f: Field) -> &Option<T> {
        match f {
            Field::SsoId => &self.sso_id,
            Field::EmployeeId => &self.employee_id,
            Field::StudentId => &self.student_id,
            Field::Email => &self.email,
            Field::FirstName => &self.first_name,
            Field::LastName => &self.last_name,
        }
    }
    fn slot(&mut self, f: Field) -> &mut Option<T> {
        match f {
            Field::SsoId => &mut self.sso_id,
            Field::EmployeeId => &mut self.employee_id,
            Field::StudentId => &mut self.student_id,
            Field::Email => &mut self.email,
            Field::FirstName => &mut self.first_name,
            Field::LastName => &mut self.last_name,
        }
    }
    /// Whether no field and no active value is set.
    pub fn is_empty(&self) -> bool {
        Field::ALL.iter().all(|f| self.get(*f).is_none()) && self.active.is_none()
    }
}

/// The fields an action writes: `{"lastName": {"from": "Smith", "to": "Smith-Evans"}}`.
pub type Changes<'a> = FieldMap<Change<Cow<'a, str>>, Change<bool>>;
/// Field values of a user: `{"ssoId": "686", "firstName": "Ellen", "active": true}`.
pub type Values<'a> = FieldMap<Cow<'a, str>, bool>;

/// A source row: the page's label and the row on it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RowRef<'a> {
    pub source: Cow<'a, str>,
    pub row: u32,
}

/// One thing a sync must do (or must not, with the reason).
///
/// The field maps (`changes`, `fields`, `user`) are boxed: an action has at most two of them,
/// and inline they made every action several hundred bytes (boxed: 118 in wasm), which a plan
/// of 100,000 learners holds, grows and sorts by the tens of thousands.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Action<'a> {
    pub action: ActionKind,
    /// The value of the primary matching key (the learner's, or the orphan's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<Cow<'a, str>>,
    /// The platform's user ID, for actions on an existing user.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform_id: Option<Cow<'a, str>>,
    /// The source page the learner came from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<Cow<'a, str>>,
    /// The learner's row on that page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub row: Option<u32>,
    /// For `link` (and a deactivation found the same way): the key that matched.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub matched_by: Option<Field>,
    /// The platform user has no learner.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub orphan: bool,
    /// For writes to an existing user: every field written, and only those.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub changes: Option<Box<Changes<'a>>>,
    /// For `create`: the new user's fields.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fields: Option<Box<Values<'a>>>,
    /// For orphans: what the platform holds, to help whoever reviews it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<Box<Values<'a>>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conflict: Option<ConflictKind>,
    /// For `invalid` and `conflict`: the field at fault.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<Cow<'a, str>>,
    /// For `invalid` and `conflict`: the value at fault.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<Cow<'a, str>>,
    /// For `conflict`: the learners involved.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rows: Vec<RowRef<'a>>,
    /// For `conflict`: the platform users involved.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub platform_ids: Vec<Cow<'a, str>>,
    /// Why, in words, for `invalid`, `conflict` and `review`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<Cow<'a, str>>,
    /// A deactivation or deletion the source-completeness guard withholds: not sent.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub withheld: bool,
}

fn own(c: Cow<'_, str>) -> Cow<'static, str> {
    Cow::Owned(c.into_owned())
}

fn own_change(c: Change<Cow<'_, str>>) -> Change<Cow<'static, str>> {
    Change { from: c.from.map(own), to: c.to.map(own) }
}

impl<T, B> FieldMap<T, B> {
    /// The same map with every value converted.
    pub fn map<U>(self, mut f: impl FnMut(T) -> U) -> FieldMap<U, B> {
        FieldMap {
            sso_id: self.sso_id.map(&mut f),
            employee_id: self.employee_id.map(&mut f),
            student_id: self.student_id.map(&mut f),
            email: self.email.map(&mut f),
            first_name: self.first_name.map(&mut f),
            last_name: self.last_name.map(&mut f),
            active: self.active,
        }
    }
}

impl<'a> Action<'a> {
    /// The action with all its text owned, free of the planner it came from.
    pub fn into_owned(self) -> Action<'static> {
        Action {
            action: self.action,
            key: self.key.map(own),
            platform_id: self.platform_id.map(own),
            source: self.source.map(own),
            row: self.row,
            matched_by: self.matched_by,
            orphan: self.orphan,
            changes: self.changes.map(|c| Box::new(c.map(own_change))),
            fields: self.fields.map(|v| Box::new(v.map(own))),
            user: self.user.map(|v| Box::new(v.map(own))),
            conflict: self.conflict,
            field: self.field.map(own),
            value: self.value.map(own),
            rows: self.rows.into_iter().map(|r| RowRef { source: own(r.source), row: r.row }).collect(),
            platform_ids: self.platform_ids.into_iter().map(own).collect(),
            reason: self.reason.map(own),
            withheld: self.withheld,
        }
    }

    /// An action of `kind` with nothing else set.
    pub fn new(kind: ActionKind) -> Self {
        Action {
            action: kind,
            key: None,
            platform_id: None,
            source: None,
            row: None,
            matched_by: None,
            orphan: false,
            changes: None,
            fields: None,
            user: None,
            conflict: None,
            field: None,
            value: None,
            rows: Vec::new(),
            platform_ids: Vec::new(),
            reason: None,
            withheld: false,
        }
    }
}

/// Counts per action, and of what needs no action.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Summary {
    pub create: u32,
    pub update: u32,
    pub deactivate: u32,
    pub reactivate: u32,
    pub link: u32,
    pub review: u32,
    pub delete: u32,
    pub conflict: u32,
    pub invalid: u32,
    /// Matched pairs with nothing to change.
    pub unchanged: u32,
    /// Records left alone for another reason: inactive learners with no user, inactive
    /// orphans, platform users of invalid rows.
    pub untouched: u32,
    /// Orphans that orphan handling may not touch (administrators, unmanaged users, the
    /// protect list).
    pub protected: u32,
    /// Usable learners read from the source.
    pub learners: u32,
    /// Users read from the platform.
    pub platform_users: u32,
    /// Deactivations and deletions withheld by the source-completeness guard (not counted in
    /// `deactivate` or `delete`).
    #[serde(default)]
    pub withheld: u32,
}

impl Summary {
    pub(crate) fn count(&mut self, kind: ActionKind) {
        let slot = match kind {
            ActionKind::Invalid => &mut self.invalid,
            ActionKind::Conflict => &mut self.conflict,
            ActionKind::Create => &mut self.create,
            ActionKind::Link => &mut self.link,
            ActionKind::Update => &mut self.update,
            ActionKind::Reactivate => &mut self.reactivate,
            ActionKind::Deactivate => &mut self.deactivate,
            ActionKind::Delete => &mut self.delete,
            ActionKind::Review => &mut self.review,
        };
        *slot += 1;
    }
}

/// Why a plan is not applied as it stands (the mass-change guard).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Held {
    pub reason: String,
    /// Deactivations and deletions planned.
    pub deactivations: u32,
    /// The most the guard allows.
    pub limit: u32,
    /// Managed platform users (administrators and unmanaged users left out).
    pub managed_users: u32,
    /// Pass this as `guards.approve` (CLI: `--approve`) to apply this plan.
    pub fingerprint: String,
}

/// Why deactivations were withheld (the source-completeness guard).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Withheld {
    pub reason: String,
    pub count: u32,
}

/// A plan: the actions, their counts, the options it was made with, and a fingerprint of the
/// platform state it was computed against.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Plan<'a> {
    pub actions: Vec<Action<'a>>,
    pub summary: Summary,
    pub options: PlanOptions,
    /// A hash of every platform user the plan saw (ID, fields, status, roles), independent of
    /// page order: the same platform state gives the same fingerprint.
    pub fingerprint: String,
    pub format: u32,
    /// Set when the mass-change guard holds the plan: nothing is applied without approval.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub held: Option<Held>,
    /// Set when the source-completeness guard withheld deactivations.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub withheld: Option<Withheld>,
}

impl Plan<'_> {
    /// The plan with all its text owned.
    pub fn into_owned(self) -> Plan<'static> {
        Plan {
            actions: self.actions.into_iter().map(Action::into_owned).collect(),
            summary: self.summary,
            options: self.options,
            fingerprint: self.fingerprint,
            format: self.format,
            held: self.held,
            withheld: self.withheld,
        }
    }

    /// The plan as JSON bytes.
    pub fn to_json(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.json_len_estimate());
        serde_json::to_writer(&mut out, self).expect("a plan always serialises");
        out
    }

    /// About the length of the plan's JSON, a little over: the length of every 16th action's
    /// JSON, scaled up, plus 1/8. Writing into a buffer of that size, rather than one doubled
    /// as it fills, keeps the buffer of a 4 MiB plan from growing to 8 MiB beside the 4 MiB
    /// it is copied from, the planner's peak memory. An estimate that falls short only means
    /// the buffer grows as before. (The sample is written to a `Vec` as the plan is, so the
    /// wasm holds one serialiser, not a second one for a byte counter.)
    fn json_len_estimate(&self) -> usize {
        const STEP: usize = 16;
        let mut scratch = Vec::new();
        let (mut sampled, mut sample_len) = (0, 0);
        for a in self.actions.iter().step_by(STEP) {
            scratch.clear();
            serde_json::to_writer(&mut scratch, a).expect("an action always serialises");
            sample_len += scratch.len();
            sampled += 1;
        }
        scratch.clear();
        serde_json::to_writer(&mut scratch, &self.options).expect("options always serialise");
        // Per action first: the product of the sample and the count overflows 32 bits.
        let actions = sample_len.div_ceil(sampled.max(1)) * self.actions.len();
        actions + actions / 8 + scratch.len() + 1024
    }
}
