//! Reading the platform's users from the raw bodies of its list calls.
//!
//! Each platform module turns one page into [`PlatformUser`]s: [`foundry`] (JSON:API pages),
//! [`learnifier`] (bare arrays; also the normalised array form), [`scim`] (ListResponse).
//! With [`TargetFormat::Auto`], a JSON object is read as the configured platform's list
//! response and a JSON array as Learnifier users or normalised users, element by element.

pub mod foundry;
pub mod learnifier;
pub mod scim;
pub mod wire;

use std::borrow::Cow;

use crate::error::Error;
use crate::model::{Field, Fields, PlatformUser, StrArena};
use crate::normalise;
use crate::options::{PlanOptions, Platform, ScimMapping};

/// The format of a target page.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TargetFormat {
    Auto,
    Foundry,
    Learnifier,
    Scim,
    /// An array of `{id, ssoId, employeeId, studentId, email, firstName, lastName, active,
    /// admin, managed}` objects.
    Normalised,
}

impl TargetFormat {
    pub fn from_name(name: &str) -> Option<Self> {
        Some(match name {
            "auto" | "" => TargetFormat::Auto,
            "foundry" => TargetFormat::Foundry,
            "learnifier" => TargetFormat::Learnifier,
            "scim" => TargetFormat::Scim,
            "normalised" | "normalized" => TargetFormat::Normalised,
            _ => return None,
        })
    }
}

/// What a page parser needs to know.
pub(crate) struct ReadContext<'o> {
    pub platform: Platform,
    pub primary: Field,
    pub admin_roles: &'o [String],
    pub scim: ScimMapping,
}

impl<'o> ReadContext<'o> {
    pub(crate) fn new(opts: &'o PlanOptions) -> Self {
        ReadContext {
            platform: opts.platform,
            primary: opts.primary(),
            admin_roles: &opts.admin_roles,
            scim: opts.scim,
        }
    }

    /// Whether a role or rule-set name marks an administrator: one the options list, or (by
    /// default) one whose name says admin or manager.
    pub(crate) fn is_admin_role(&self, name: &str) -> bool {
        let n = name.trim();
        if self.admin_roles.iter().any(|r| r.eq_ignore_ascii_case(n)) {
            return true;
        }
        // Without case, as lower-casing the name would, but without a copy per user.
        let n = n.as_bytes();
        n.windows(5).any(|w| w.eq_ignore_ascii_case(b"admin"))
            || n.len() >= 8 && n[n.len() - 8..].eq_ignore_ascii_case(b"_manager")
            || n.eq_ignore_ascii_case(b"manager")
    }
}

/// One user as read from a page, before it is stored.
#[derive(Default)]
pub(crate) struct UserDraft<'a> {
    pub id: Option<Cow<'a, str>>,
    pub values: [Option<Cow<'a, str>>; 6],
    pub active: bool,
    pub admin: bool,
    pub managed: bool,
}

impl<'a> UserDraft<'a> {
    pub(crate) fn new() -> Self {
        UserDraft { active: true, managed: true, ..Default::default() }
    }

    pub(crate) fn set(&mut self, f: Field, v: Option<Cow<'a, str>>) {
        if v.is_some() {
            self.values[f.index()] = v;
        }
    }

    /// Stores the user. Platform values are kept as the platform has them (cleaned, not
    /// judged); only a missing ID makes the page unusable.
    /// `record` names the user in an error (`data[3]`); it is only called on error.
    pub(crate) fn finish(self, arena: &mut StrArena, record: impl FnOnce() -> String) -> Result<PlatformUser, String> {
        let id = self.id.as_deref().map(normalise::clean).filter(|id| !id.is_empty());
        let Some(id) = id else {
            return Err(format!("{}: the user has no id", record()));
        };
        let id = arena.push(&id);
        let mut fields = Fields::default();
        for f in Field::ALL {
            if let Some(v) = &self.values[f.index()] {
                fields.set(f, arena.push(&normalise::clean(v)));
            }
        }
        Ok(PlatformUser { id, fields, active: self.active, admin: self.admin, managed: self.managed })
    }
}

/// The users of one page and what it says about paging.
pub(crate) struct TargetPage {
    pub users: Vec<PlatformUser>,
    /// Whether the platform says more pages follow (None where the body does not say:
    /// Learnifier puts it in the `X-More` header).
    pub has_more: Option<bool>,
    /// How many users the platform says it has in all, where the page says.
    pub total: Option<u64>,
}

/// Reads one page.
pub(crate) fn read_page(
    bytes: &[u8],
    format: TargetFormat,
    ctx: &ReadContext,
    label: &str,
    arena: &mut StrArena,
) -> Result<TargetPage, Error> {
    let first = bytes.iter().find(|b| !b.is_ascii_whitespace()).copied();
    let format = match (format, first) {
        (TargetFormat::Auto, Some(b'[')) => TargetFormat::Learnifier,
        (TargetFormat::Auto, _) => match ctx.platform {
            Platform::Foundry => TargetFormat::Foundry,
            Platform::Learnifier => TargetFormat::Learnifier,
            Platform::Scim => TargetFormat::Scim,
        },
        (f, _) => f,
    };
    let result = match format {
        TargetFormat::Foundry => foundry::read(bytes, ctx, arena),
        TargetFormat::Scim => scim::read(bytes, ctx, arena),
        TargetFormat::Learnifier => learnifier::read(bytes, ctx, arena, false),
        TargetFormat::Normalised => learnifier::read(bytes, ctx, arena, true),
        TargetFormat::Auto => unreachable!("auto was resolved above"),
    };
    result.map_err(|detail| Error::MalformedPage { label: label.into(), detail })
}

/// Turns a JSON error into a message for a page error.
pub(crate) fn json_error(what: &str, e: serde_json::Error) -> String {
    format!("not a {what}: {e}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn admin_roles_are_told_as_a_lower_cased_copy_would_tell_them() {
        let opts = PlanOptions::new(Platform::Foundry);
        let ctx = ReadContext::new(&opts);
        let by_copy = |n: &str| {
            let lower = n.trim().to_ascii_lowercase();
            lower.contains("admin") || lower.ends_with("_manager") || lower == "manager"
        };
        for n in [
            "cc_learner",
            "ADMIN",
            "SuperAdmin",
            "adm",
            "_manager",
            "Event_Manager",
            "manager",
            " Manager ",
            "managers",
            "mänager",
            "x_MANAGER",
            "admin_é",
            "",
        ] {
            assert_eq!(ctx.is_admin_role(n), by_copy(n), "{n:?}");
        }
    }
}
