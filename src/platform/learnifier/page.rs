//! JSON arrays of users: Learnifier's `GET /users` body, and the normalised form any host can
//! produce. On Learnifier the primary matching key travels in `externalId` (case-sensitive);
//! users without one were created by hand and are not managed by the sync. A user is active
//! unless `hardLock` is set (the lock the sync itself uses to deactivate). A normalised user
//! with a key the form does not have is an error naming the element and the key, never a user
//! whose fields read as empty.

use std::fmt;

use serde::de::{IgnoredAny, MapAccess, Visitor};
use serde::{Deserialize, Deserializer};

use crate::model::{Field, StrArena};
use crate::normalise;
use crate::platform::{json_error, ReadContext, TargetPage, UserDraft};
use crate::source::Scalar;

/// One element, with the keys of both forms. An element with any key only Learnifier sends
/// (`externalId`, `primaryEmail`, `hardLock`, `backOfficeRoles`, `displayName`, `locale`,
/// `homeOrg`, `locked`, `clientRoles`) is read as Learnifier's, whose other keys are ignored;
/// any other element is a normalised user, and a key it does not know (`ssoid`, `Email`,
/// `sso_id`, a JSON:API record's `attributes`) is an error rather than a field read as empty.
#[derive(Default)]
struct User<'a> {
    id: Scalar<'a>,
    // Normalised keys.
    sso_id: Scalar<'a>,
    employee_id: Scalar<'a>,
    student_id: Scalar<'a>,
    email: Scalar<'a>,
    first_name: Scalar<'a>,
    last_name: Scalar<'a>,
    active: Scalar<'a>,
    admin: Option<bool>,
    managed: Option<bool>,
    // Learnifier keys.
    external_id: Option<Scalar<'a>>,
    primary_email: Option<Scalar<'a>>,
    hard_lock: Option<bool>,
    back_office_roles: Option<Vec<IgnoredAny>>,
    /// Another Learnifier key was present (read as nothing).
    learnifier_other: bool,
    /// The first key neither form knows.
    unknown: Option<String>,
}

/// The keys of an element, told apart without a copy of each.
enum Key {
    Id,
    SsoId,
    EmployeeId,
    StudentId,
    Email,
    FirstName,
    LastName,
    Active,
    Admin,
    Managed,
    ExternalId,
    PrimaryEmail,
    HardLock,
    BackOfficeRoles,
    LearnifierOther,
    Unknown(String),
}

impl Key {
    fn of(name: &str) -> Key {
        match name {
            "id" => Key::Id,
            "ssoId" => Key::SsoId,
            "employeeId" => Key::EmployeeId,
            "studentId" => Key::StudentId,
            "email" => Key::Email,
            "firstName" => Key::FirstName,
            "lastName" => Key::LastName,
            "active" => Key::Active,
            "admin" => Key::Admin,
            "managed" => Key::Managed,
            "externalId" => Key::ExternalId,
            "primaryEmail" => Key::PrimaryEmail,
            "hardLock" => Key::HardLock,
            "backOfficeRoles" => Key::BackOfficeRoles,
            "displayName" | "locale" | "homeOrg" | "locked" | "clientRoles" => Key::LearnifierOther,
            other => Key::Unknown(other.to_string()),
        }
    }
}

impl<'de> Deserialize<'de> for Key {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Key;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a key")
            }
            fn visit_str<E>(self, v: &str) -> Result<Key, E> {
                Ok(Key::of(v))
            }
        }
        d.deserialize_identifier(V)
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for User<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<'a>(std::marker::PhantomData<&'a ()>);
        impl<'de: 'a, 'a> Visitor<'de> for V<'a> {
            type Value = User<'a>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a user object")
            }
            fn visit_map<M: MapAccess<'de>>(self, mut m: M) -> Result<User<'a>, M::Error> {
                let mut u = User::default();
                while let Some(key) = m.next_key::<Key>()? {
                    match key {
                        Key::Id => u.id = m.next_value()?,
                        Key::SsoId => u.sso_id = m.next_value()?,
                        Key::EmployeeId => u.employee_id = m.next_value()?,
                        Key::StudentId => u.student_id = m.next_value()?,
                        Key::Email => u.email = m.next_value()?,
                        Key::FirstName => u.first_name = m.next_value()?,
                        Key::LastName => u.last_name = m.next_value()?,
                        Key::Active => u.active = m.next_value()?,
                        Key::Admin => u.admin = m.next_value()?,
                        Key::Managed => u.managed = m.next_value()?,
                        Key::ExternalId => u.external_id = Some(m.next_value()?),
                        Key::PrimaryEmail => u.primary_email = Some(m.next_value()?),
                        Key::HardLock => u.hard_lock = m.next_value()?,
                        Key::BackOfficeRoles => u.back_office_roles = m.next_value()?,
                        Key::LearnifierOther => {
                            u.learnifier_other = true;
                            m.next_value::<IgnoredAny>()?;
                        }
                        Key::Unknown(name) => {
                            u.unknown.get_or_insert(name);
                            m.next_value::<IgnoredAny>()?;
                        }
                    }
                }
                Ok(u)
            }
        }
        d.deserialize_map(V(std::marker::PhantomData))
    }
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
        let at = |name: &'static str| move || format!("[{i}].{name}");
        let wire = u.external_id.is_some()
            || u.primary_email.is_some()
            || u.hard_lock.is_some()
            || u.back_office_roles.is_some()
            || u.learnifier_other;
        if normalised_only && wire {
            return Err(format!(
                "{}: a Learnifier key (externalId, primaryEmail, hardLock, backOfficeRoles, displayName…) in a page given as normalised users; give it as a Learnifier page, or with the normalised keys",
                record()
            ));
        }
        if let (false, Some(name)) = (wire, &u.unknown) {
            let hint = match name.as_str() {
                "attributes" | "type" | "relationships" => {
                    " (a Foundry JSON:API record: give the whole page, {\"data\": [...], \"links\": ...})"
                }
                _ => " (the keys are id, ssoId, employeeId, studentId, email, firstName, lastName, active, admin, managed, in this case)",
            };
            return Err(format!("{}: unknown key {name:?}{hint}", record()));
        }
        let mut d = UserDraft::new();
        d.id = u.id.into_value(at("id"))?;
        if wire {
            let key = match u.external_id {
                Some(k) => k.into_value(at("externalId"))?.filter(|k| !k.trim().is_empty()),
                None => None,
            };
            d.managed = key.is_some();
            d.set(ctx.primary, key);
            let email = match u.primary_email {
                Some(e) => e.into_value(at("primaryEmail"))?,
                None => None,
            };
            d.set(Field::Email, email);
            d.set(Field::FirstName, u.first_name.into_value(at("firstName"))?);
            d.set(Field::LastName, u.last_name.into_value(at("lastName"))?);
            d.active = !u.hard_lock.unwrap_or(false);
            d.admin = u.back_office_roles.is_some_and(|r| !r.is_empty());
        } else {
            d.set(Field::SsoId, u.sso_id.into_value(at("ssoId"))?);
            d.set(Field::EmployeeId, u.employee_id.into_value(at("employeeId"))?);
            d.set(Field::StudentId, u.student_id.into_value(at("studentId"))?);
            d.set(Field::Email, u.email.into_value(at("email"))?);
            d.set(Field::FirstName, u.first_name.into_value(at("firstName"))?);
            d.set(Field::LastName, u.last_name.into_value(at("lastName"))?);
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
