//! The plan as CSV: a header row, then one row per action in plan order.
//!
//! Every row has every column, empty where the action has nothing to say:
//!
//! | column | holds |
//! |---|---|
//! | `action` | `create`, `update`, `link`, `reactivate`, `deactivate`, `delete`, `review`, `conflict` or `invalid` |
//! | `key` | the primary matching key's value (the learner's, or the orphan's) |
//! | `platformId` | the platform user acted on |
//! | `email`, `firstName`, `lastName`, `ssoId`, `employeeId`, `studentId`, `active` | the user's values after the action, as far as the plan knows them: a create's fields; an orphan's values on the platform; for a write to a matched user, each changed field's new value and the user's own values for the rest |
//! | `changes` | every field written, old to new: `lastName: Smith → Smith‑Evans; active: true → false`; a missing value shows as `(none)`, and a value that would be ambiguous there (empty, `(none)`, with `;`, `→`, `"`, a line break, or spaces at either end) as a JSON string |
//! | `reason` | why, in words: an invalid row, a conflict, an orphan listed for review |
//! | `orphan` | `yes` for a platform user no learner matches |
//! | `withheld` | `yes` for a deactivation or deletion the source-completeness guard holds back |
//! | `matchedBy` | for a `link`: the later key that found the user |
//! | `conflict` | the conflict's kind (`duplicateLearnerKey`, `keyMismatch`…) |
//! | `field`, `value` | the field and the value at fault, for invalid rows and conflicts |
//! | `source`, `row` | the learner's source page and row (CSV: the spreadsheet row, the header being 1) |
//! | `rows` | a conflict's learners, `hr.csv:3, hr.csv:9` |
//! | `platformIds` | a conflict's platform users, comma-separated |
//! | `held` | `yes` for a write of a plan the mass-change guard holds: nothing of it is sent until approved |
//!
//! One column per field, holding the value after the action, lets a spreadsheet sort and
//! filter by email or name; the one `changes` column keeps every change with its old value
//! readable in a single cell. The plan's summary, fingerprint and guard verdicts are not rows:
//! they stay in the JSON plan.

use std::borrow::Cow;

use crate::model::Field;
use crate::planner::{Action, Change, Changes, Plan};

/// The header row.
pub const PLAN_COLUMNS: [&str; 23] = [
    "action",
    "key",
    "platformId",
    "email",
    "firstName",
    "lastName",
    "ssoId",
    "employeeId",
    "studentId",
    "active",
    "changes",
    "reason",
    "orphan",
    "withheld",
    "matchedBy",
    "conflict",
    "field",
    "value",
    "source",
    "row",
    "rows",
    "platformIds",
    "held",
];

/// The fields with a column of their own, in column order.
const VALUE_FIELDS: [Field; 6] =
    [Field::Email, Field::FirstName, Field::LastName, Field::SsoId, Field::EmployeeId, Field::StudentId];

/// The plan as CSV bytes (UTF-8): see the module documentation for the columns.
pub fn plan_to_csv(plan: &Plan<'_>) -> Vec<u8> {
    let mut w = super::writer();
    super::write_row(&mut w, PLAN_COLUMNS);
    let held = plan.held.is_some();
    for action in &plan.actions {
        let cells = action_cells(action, held);
        super::write_row(&mut w, cells.iter().map(|c| c.as_ref()));
    }
    super::finish(w)
}

fn action_cells<'a>(a: &'a Action<'_>, held: bool) -> [Cow<'a, str>; 23] {
    let text = |v: &'a Option<Cow<'_, str>>| Cow::Borrowed(v.as_deref().unwrap_or(""));
    let yes = |b: bool| Cow::Borrowed(if b { "yes" } else { "" });
    let [email, first_name, last_name, sso_id, employee_id, student_id] =
        VALUE_FIELDS.map(|f| Cow::Borrowed(value_after(a, f).unwrap_or("")));
    [
        Cow::Borrowed(a.action.name()),
        text(&a.key),
        text(&a.platform_id),
        email,
        first_name,
        last_name,
        sso_id,
        employee_id,
        student_id,
        Cow::Borrowed(active_after(a).map_or("", bool_name)),
        a.changes.as_ref().map_or(Cow::Borrowed(""), |c| Cow::Owned(describe_changes(c))),
        text(&a.reason),
        yes(a.orphan),
        yes(a.withheld),
        Cow::Borrowed(a.matched_by.map_or("", Field::name)),
        Cow::Borrowed(a.conflict.map_or("", |k| k.name())),
        text(&a.field),
        text(&a.value),
        text(&a.source),
        a.row.map_or(Cow::Borrowed(""), |r| Cow::Owned(r.to_string())),
        Cow::Owned(a.rows.iter().map(|r| format!("{}:{}", r.source, r.row)).collect::<Vec<_>>().join(", ")),
        Cow::Owned(a.platform_ids.join(", ")),
        yes(held && a.action.is_write() && !a.withheld),
    ]
}

/// A field's value after the action: the change's new value where the field changes, else
/// the create's fields or the orphan's values.
fn value_after<'a>(a: &'a Action<'_>, f: Field) -> Option<&'a str> {
    match a.changes.as_ref().and_then(|c| c.get(f)) {
        Some(change) => change.to.as_deref(),
        None => a.fields.as_ref().or(a.user.as_ref()).and_then(|v| v.get(f)).map(|v| v.as_ref()),
    }
}

fn active_after(a: &Action<'_>) -> Option<bool> {
    match a.changes.as_ref().and_then(|c| c.active.as_ref()) {
        Some(change) => change.to,
        None => a.fields.as_ref().or(a.user.as_ref()).and_then(|v| v.active),
    }
}

fn bool_name(b: bool) -> &'static str {
    if b {
        "true"
    } else {
        "false"
    }
}

/// `lastName: Smith → Smith‑Evans; active: true → false`, fields in plan order.
fn describe_changes(c: &Changes<'_>) -> String {
    let mut parts: Vec<String> =
        Field::ALL.into_iter().filter_map(|f| c.get(f).map(|ch| describe(f.name(), ch))).collect();
    if let Some(ch) = &c.active {
        let shown = |v: Option<bool>| v.map_or("(none)", bool_name);
        parts.push(format!("active: {} → {}", shown(ch.from), shown(ch.to)));
    }
    parts.join("; ")
}

fn describe(name: &str, ch: &Change<Cow<'_, str>>) -> String {
    format!("{name}: {} → {}", shown(ch.from.as_deref()), shown(ch.to.as_deref()))
}

/// A value in the `changes` column: as it is, unless it could be misread there.
fn shown(v: Option<&str>) -> Cow<'_, str> {
    let Some(s) = v else { return Cow::Borrowed("(none)") };
    let ambiguous = s.is_empty() || s == "(none)" || s.contains([';', '→', '"', '\n', '\r']) || s.trim() != s;
    if ambiguous {
        // A JSON string literal: quoted, with its quotes and line breaks escaped.
        Cow::Owned(serde_json::to_string(s).expect("a string serialises"))
    } else {
        Cow::Borrowed(s)
    }
}
