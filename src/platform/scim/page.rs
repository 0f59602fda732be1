//! SCIM 2.0 list pages (`GET /Users`): a ListResponse with `Resources[]`. The primary matching
//! key travels in `externalId` (or `userName`, by the options' `scim.key`), the email in the
//! primary entry of `emails` (else `userName` when it holds the email), names in
//! `name.givenName` / `name.familyName`.

use serde::Deserialize;

use crate::model::{Field, StrArena};
use crate::options::{ScimKey, ScimUserName};
use crate::platform::{json_error, ReadContext, TargetPage, UserDraft};
use crate::source::Scalar;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ListResponse<'a> {
    #[serde(default, rename = "Resources", borrow)]
    resources: Vec<User<'a>>,
    #[serde(default)]
    total_results: Option<u64>,
    #[serde(default)]
    start_index: Option<u64>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct User<'a> {
    #[serde(default, borrow)]
    id: Scalar<'a>,
    #[serde(default, borrow)]
    external_id: Scalar<'a>,
    #[serde(default, borrow)]
    user_name: Scalar<'a>,
    #[serde(default, borrow)]
    name: Option<Name<'a>>,
    #[serde(default, borrow)]
    emails: Vec<Email<'a>>,
    #[serde(default)]
    active: Option<bool>,
    #[serde(default, borrow)]
    roles: Vec<Role<'a>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Name<'a> {
    #[serde(default, borrow)]
    given_name: Scalar<'a>,
    #[serde(default, borrow)]
    family_name: Scalar<'a>,
}

#[derive(Deserialize)]
struct Email<'a> {
    #[serde(default, borrow)]
    value: Scalar<'a>,
    #[serde(default)]
    primary: Option<bool>,
}

#[derive(Deserialize)]
struct Role<'a> {
    #[serde(default, borrow)]
    value: Scalar<'a>,
}

pub(crate) fn read(bytes: &[u8], ctx: &ReadContext, arena: &mut StrArena) -> Result<TargetPage, String> {
    let page: ListResponse = serde_json::from_slice(bytes).map_err(|e| json_error("SCIM ListResponse", e))?;
    let count = page.resources.len() as u64;
    let mut users = Vec::with_capacity(page.resources.len());
    for (i, u) in page.resources.into_iter().enumerate() {
        let mut d = UserDraft::new();
        d.id = u.id.into_text();
        d.active = u.active.unwrap_or(true);
        let user_name = u.user_name.into_text();
        let (key, user_name) = match ctx.scim.key {
            ScimKey::ExternalId => (u.external_id.into_text(), user_name),
            ScimKey::UserName => (user_name, None),
        };
        d.managed = key.is_some();
        d.set(ctx.primary, key);
        let user_name = user_name.filter(|_| ctx.scim.user_name == ScimUserName::Email);
        let mut emails = u.emails;
        let primary_email = match emails.iter().position(|e| e.primary == Some(true)) {
            Some(p) => Some(emails.swap_remove(p)),
            None => emails.into_iter().next(),
        };
        let email = primary_email.and_then(|e| e.value.into_text()).or(user_name.filter(|n| n.contains('@')));
        d.set(Field::Email, email);
        if let Some(n) = u.name {
            d.set(Field::FirstName, n.given_name.into_text());
            d.set(Field::LastName, n.family_name.into_text());
        }
        d.admin = u.roles.iter().any(|r| matches!(&r.value, Scalar::Text(s) if ctx.is_admin_role(s)));
        users.push(d.finish(arena, || format!("Resources[{i}]"))?);
    }
    let has_more =
        page.total_results.map(|total| page.start_index.unwrap_or(1).saturating_sub(1) + count < total && count > 0);
    Ok(TargetPage { users, has_more, total: page.total_results })
}
