//! Foundry list pages (`GET /v1/admin/users`): JSON:API `data[]` of users with `attributes`,
//! `links.next` null on the last page.

use serde::Deserialize;

use crate::model::{Field, StrArena};
use crate::platform::{json_error, ReadContext, TargetPage, UserDraft};
use crate::source::Scalar;

/// Foundry's rule sets that make a user an administrator.
pub const ADMIN_RULE_SETS: [&str; 5] = ["cc_admin", "he_admin", "fac_staff_admin", "at_work_manager", "event_manager"];

#[derive(Deserialize)]
struct Page<'a> {
    #[serde(borrow)]
    data: Vec<User<'a>>,
    #[serde(default, borrow)]
    links: Option<Links<'a>>,
    #[serde(default)]
    meta: Option<Meta>,
}

#[derive(Deserialize)]
struct Meta {
    #[serde(default)]
    total_count: Option<u64>,
}

#[derive(Deserialize)]
struct Links<'a> {
    #[serde(default, borrow)]
    next: Scalar<'a>,
}

#[derive(Deserialize)]
struct User<'a> {
    #[serde(default, borrow)]
    id: Scalar<'a>,
    #[serde(default, borrow)]
    attributes: Attributes<'a>,
}

#[derive(Deserialize, Default)]
struct Attributes<'a> {
    #[serde(default)]
    active: Option<bool>,
    #[serde(default, borrow)]
    email: Scalar<'a>,
    #[serde(default, borrow)]
    first_name: Scalar<'a>,
    #[serde(default, borrow)]
    last_name: Scalar<'a>,
    #[serde(default, borrow)]
    sso_id: Scalar<'a>,
    #[serde(default, borrow)]
    employee_id: Scalar<'a>,
    #[serde(default, borrow)]
    student_id: Scalar<'a>,
    #[serde(default, borrow)]
    user_rule_set_roles: Option<Vec<RuleSetRole<'a>>>,
}

#[derive(Deserialize)]
struct RuleSetRole<'a> {
    #[serde(default, borrow)]
    rule_set: Scalar<'a>,
}

pub(crate) fn read(bytes: &[u8], ctx: &ReadContext, arena: &mut StrArena) -> Result<TargetPage, String> {
    // The page is checked as UTF-8 once, and then read as text, which spares serde_json a
    // check of each string it reads (about 28 a user, short ones: an eighth of the planner's
    // time). A page that is not UTF-8 is read from the bytes, as before, so it meets the same
    // error, or none where the bad bytes are in a value skipped unread.
    let page: Result<Page, _> = match std::str::from_utf8(bytes) {
        Ok(text) => serde_json::from_str(text),
        Err(_) => serde_json::from_slice(bytes),
    };
    let page = page.map_err(|e| json_error("Foundry users page (JSON:API with data[])", e))?;
    let mut users = Vec::with_capacity(page.data.len());
    for (i, u) in page.data.into_iter().enumerate() {
        let a = u.attributes;
        let at = |name: &'static str| move || format!("data[{i}].attributes.{name}");
        let mut d = UserDraft::new();
        d.id = u.id.into_value(|| format!("data[{i}].id"))?;
        d.active = a.active.unwrap_or(true);
        d.set(Field::Email, a.email.into_value(at("email"))?);
        d.set(Field::FirstName, a.first_name.into_value(at("first_name"))?);
        d.set(Field::LastName, a.last_name.into_value(at("last_name"))?);
        d.set(Field::SsoId, a.sso_id.into_value(at("sso_id"))?);
        d.set(Field::EmployeeId, a.employee_id.into_value(at("employee_id"))?);
        d.set(Field::StudentId, a.student_id.into_value(at("student_id"))?);
        d.admin = a.user_rule_set_roles.iter().flatten().any(|r| match &r.rule_set {
            Scalar::Text(s) => ADMIN_RULE_SETS.contains(&s.as_ref()) || ctx.is_admin_role(s),
            _ => false,
        });
        users.push(d.finish(arena, || format!("data[{i}]"))?);
    }
    let has_more = page.links.map(|l| !matches!(l.next, Scalar::Null));
    let total = page.meta.and_then(|m| m.total_count);
    Ok(TargetPage { users, has_more, total })
}
