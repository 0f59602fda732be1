//! JSON arrays of users: Learnifier's `GET /users` body, and the normalised form any host can
//! produce. On Learnifier the primary matching key travels in `externalId` (case-sensitive);
//! users without one were created by hand and are not managed by the sync. A user is active
//! unless `hardLock` is set (the lock the sync itself uses to deactivate).

use serde::de::IgnoredAny;
use serde::Deserialize;

use crate::model::{Field, StrArena};
use crate::normalise;
use crate::platform::{json_error, ReadContext, TargetPage, UserDraft};
use crate::source::Scalar;

/// One element, with the keys of both forms. An element with any Learnifier key
/// (`externalId`, `primaryEmail`, `hardLock`, `backOfficeRoles`) is read as Learnifier's.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct User<'a> {
    #[serde(default, borrow)]
    id: Scalar<'a>,
    // Normalised keys.
    #[serde(default, borrow)]
    sso_id: Scalar<'a>,
    #[serde(default, borrow)]
    employee_id: Scalar<'a>,
    #[serde(default, borrow)]
    student_id: Scalar<'a>,
    #[serde(default, borrow)]
    email: Scalar<'a>,
    #[serde(default, borrow)]
    first_name: Scalar<'a>,
    #[serde(default, borrow)]
    last_name: Scalar<'a>,
    #[serde(default, borrow)]
    active: Scalar<'a>,
    #[serde(default)]
    admin: Option<bool>,
    #[serde(default)]
    managed: Option<bool>,
    // Learnifier keys.
    #[serde(default, borrow)]
    external_id: Option<Scalar<'a>>,
    #[serde(default, borrow)]
    primary_email: Option<Scalar<'a>>,
    #[serde(default)]
    hard_lock: Option<bool>,
    #[serde(default)]
    back_office_roles: Option<Vec<IgnoredAny>>,
}

pub(crate) fn read(
    bytes: &[u8],
    ctx: &ReadContext,
    arena: &mut StrArena,
    normalised_only: bool,
) -> Result<TargetPage, String> {
    let list: Vec<User> = serde_json::from_slice(bytes).map_err(|e| json_error("JSON array of users", e))?;
    let mut users = Vec::with_capacity(list.len());
    for (i, u) in list.into_iter().enumerate() {
        let record = || format!("[{i}]");
        let wire = !normalised_only
            && (u.external_id.is_some()
                || u.primary_email.is_some()
                || u.hard_lock.is_some()
                || u.back_office_roles.is_some());
        let mut d = UserDraft::new();
        d.id = u.id.into_text();
        if wire {
            let key = u.external_id.and_then(Scalar::into_text).filter(|k| !k.trim().is_empty());
            d.managed = key.is_some();
            d.set(ctx.primary, key);
            d.set(Field::Email, u.primary_email.and_then(Scalar::into_text));
            d.set(Field::FirstName, u.first_name.into_text());
            d.set(Field::LastName, u.last_name.into_text());
            d.active = !u.hard_lock.unwrap_or(false);
            d.admin = u.back_office_roles.is_some_and(|r| !r.is_empty());
        } else {
            d.set(Field::SsoId, u.sso_id.into_text());
            d.set(Field::EmployeeId, u.employee_id.into_text());
            d.set(Field::StudentId, u.student_id.into_text());
            d.set(Field::Email, u.email.into_text());
            d.set(Field::FirstName, u.first_name.into_text());
            d.set(Field::LastName, u.last_name.into_text());
            d.active = match u.active {
                Scalar::Null => true,
                Scalar::Bool(b) => b,
                Scalar::Text(t) => normalise::parse_bool(&t)
                    .ok_or_else(|| format!("{}.active: {t:?} is not true or false", record()))?,
                Scalar::Nested => return Err(format!("{}.active: is an object or array", record())),
            };
            d.admin = u.admin.unwrap_or(false);
            d.managed = u.managed.unwrap_or(true);
        }
        users.push(d.finish(arena, record)?);
    }
    Ok(TargetPage { users, has_more: None, total: None })
}
