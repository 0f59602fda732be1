//! SCIM 2.0 list pages (`GET /Users`): a ListResponse with `Resources[]`. The primary matching
//! key travels in `externalId` (or `userName`, by the options' `scim.key`), the email in the
//! primary entry of `emails` (else `userName` when it holds the email), names in
//! `name.givenName` / `name.familyName`.

use serde::Deserialize;

use crate::model::{Field, StrArena};
use crate::normalise;
use crate::options::{ScimKey, ScimUserName};
use crate::platform::{json_error, ReadContext, TargetPage, UserDraft};
use crate::source::Scalar;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ListResponse<'a> {
    #[serde(default, rename = "Resources", borrow)]
    resources: Option<Vec<User<'a>>>,
    #[serde(default)]
    total_results: Option<u64>,
    #[serde(default)]
    start_index: Option<u64>,
    /// Names the message: a ListResponse, or an Error (`urn:...:Error`) answered in its place.
    #[serde(default, borrow)]
    schemas: Vec<Scalar<'a>>,
    #[serde(default, borrow)]
    status: Scalar<'a>,
    #[serde(default, borrow)]
    detail: Scalar<'a>,
}

const ERROR_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:Error";

/// Why a body is not a ListResponse page, if it is not: a SCIM Error document, or an object
/// without `totalResults` (which RFC 7644 §3.4.2 requires), or one whose `Resources` is
/// missing although `totalResults` says users remain from `startIndex` on. (`Resources` may be
/// left out when there is nothing to list: `totalResults` 0, or a page past the end.)
fn not_a_page(page: &ListResponse) -> Option<String> {
    if page.schemas.iter().any(|s| matches!(s, Scalar::Text(t) if t == ERROR_SCHEMA)) || page.detail.is_text() {
        let text = |s: &Scalar| match s {
            Scalar::Text(t) => normalise::excerpt(t),
            _ => "?".into(),
        };
        return Some(format!(
            "a SCIM Error, not a ListResponse (status {}: {})",
            text(&page.status),
            text(&page.detail)
        ));
    }
    let Some(total) = page.total_results else {
        return Some("not a SCIM ListResponse: no totalResults".into());
    };
    let past_end = page.start_index.unwrap_or(1).saturating_sub(1) >= total;
    if page.resources.is_none() && !past_end {
        return Some(format!("not a SCIM ListResponse: no Resources, yet totalResults is {total}"));
    }
    None
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
    if let Some(why) = not_a_page(&page) {
        return Err(why);
    }
    let resources = page.resources.unwrap_or_default();
    let count = resources.len() as u64;
    let mut users = Vec::with_capacity(resources.len());
    for (i, u) in resources.into_iter().enumerate() {
        let at = |name: &'static str| move || format!("Resources[{i}].{name}");
        let mut d = UserDraft::new();
        d.id = u.id.into_value(at("id"))?;
        d.active = u.active.unwrap_or(true);
        let user_name = u.user_name.into_value(at("userName"))?;
        let (key, user_name) = match ctx.scim.key {
            ScimKey::ExternalId => (u.external_id.into_value(at("externalId"))?, user_name),
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
        let email = match primary_email {
            Some(e) => e.value.into_value(at("emails.value"))?,
            None => None,
        };
        d.set(Field::Email, email.or(user_name.filter(|n| n.contains('@'))));
        if let Some(n) = u.name {
            d.set(Field::FirstName, n.given_name.into_value(at("name.givenName"))?);
            d.set(Field::LastName, n.family_name.into_value(at("name.familyName"))?);
        }
        d.admin = u.roles.iter().any(|r| matches!(&r.value, Scalar::Text(s) if ctx.is_admin_role(s)));
        users.push(d.finish(arena, || format!("Resources[{i}]"))?);
    }
    let has_more =
        page.total_results.map(|total| page.start_index.unwrap_or(1).saturating_sub(1) + count < total && count > 0);
    Ok(TargetPage { users, has_more, total: page.total_results })
}
