//! Foundry's API: OAuth2 client credentials, `GET /v1/admin/users` pages of 100 (listed twice:
//! as the platform lists by default, then `filter[active]=false`, since whether inactive users
//! are listed by default is unknown; the planner drops the users seen twice), and
//! `registration_sets` to create (POST) and to update or deactivate (PATCH).

use serde_json::{json, Map, Value};

use crate::credentials::Credentials;
use crate::http::{Method, Request, Response};
use crate::model::Field;
use crate::planner::{Action, ActionKind};
use crate::platform::wire::{body_excerpt, enc, judge_lookup, scalar, Auth, Cursor, Lookup, Wire, WireContext};

/// Foundry's largest page.
pub const MAX_PAGE: u32 = 100;

pub struct FoundryWire {
    pub ctx: WireContext,
}

/// Foundry's attribute for a field.
pub fn attribute(f: Field) -> &'static str {
    match f {
        Field::SsoId => "sso_id",
        Field::EmployeeId => "employee_id",
        Field::StudentId => "student_id",
        Field::Email => "email",
        Field::FirstName => "first_name",
        Field::LastName => "last_name",
    }
}

impl FoundryWire {
    fn per_page(&self) -> u32 {
        self.ctx.page_size.unwrap_or(MAX_PAGE).clamp(1, MAX_PAGE)
    }

    /// The `user_rule_set` registration carrying what an action writes.
    fn user_registration(action: &Action) -> Map<String, Value> {
        let mut reg = Map::new();
        reg.insert("rule_set".into(), json!("user_rule_set"));
        for f in Field::ALL {
            let value = match (&action.fields, &action.changes) {
                (Some(v), _) => v.get(f).map(|s| s.as_ref()),
                (None, Some(c)) => c.get(f).and_then(|c| c.to.as_deref()),
                _ => None,
            };
            if let Some(v) = value {
                reg.insert(attribute(f).into(), json!(v));
            }
        }
        let active = match (&action.fields, &action.changes) {
            (_, Some(c)) => c.active.as_ref().and_then(|a| a.to),
            _ => None,
        };
        if let Some(a) = active {
            reg.insert("active".into(), json!(a));
        }
        reg
    }
}

impl Wire for FoundryWire {
    fn auth(&self, _: &Credentials) -> Auth {
        Auth::OAuthClient
    }

    /// TARGET-APIS.md gives the budget (200 requests per rolling 60 s for the whole
    /// organisation) without saying whether `POST /oauth/token` is in it: counted, the safe
    /// answer (it costs at most one slot per token; left out, it could meet a 429).
    fn token_requests_count_against_rate(&self) -> bool {
        true
    }

    fn token_request(&self, c: &Credentials) -> Option<Request> {
        let body = format!(
            "grant_type=client_credentials&client_id={}&client_secret={}",
            enc(c.client_id.as_deref().unwrap_or_default()),
            enc(c.client_secret.as_deref().unwrap_or_default())
        );
        let mut r = Request::new(Method::Post, format!("{}/oauth/token", self.ctx.base))
            .header("content-type", "application/x-www-form-urlencoded");
        r.body = body.into_bytes();
        Some(r)
    }

    fn read_token(&self, response: &Response) -> Option<(String, u64)> {
        let v: Value = serde_json::from_slice(&response.body).ok()?;
        let token = v.get("access_token")?.as_str()?.to_string();
        let ttl = v.get("expires_in").and_then(Value::as_u64).unwrap_or(7200);
        Some((token, ttl))
    }

    fn first_page(&self) -> Cursor {
        Cursor { pass: 0, position: 1 }
    }

    fn list_request(&self, c: Cursor) -> Request {
        let filter = if c.pass == 1 { "&filter[active]=false" } else { "" };
        let url = format!(
            "{}/v1/admin/users?page[page]={}&page[per_page]={}{filter}",
            self.ctx.base,
            c.position,
            self.per_page()
        );
        Request::new(Method::Get, url).header("accept", "application/vnd.api+json, application/json")
    }

    fn next_page(&self, c: Cursor, _: &Response, records: u32, has_more: Option<bool>) -> Option<Cursor> {
        // `links.next` decides; without links, a full page means there may be more.
        let more = has_more.unwrap_or(records >= self.per_page());
        match (more, c.pass) {
            (true, _) => Some(Cursor { pass: c.pass, position: c.position + 1 }),
            (false, 0) => Some(Cursor { pass: 1, position: 1 }),
            (false, _) => None,
        }
    }

    fn write_request(&self, a: &Action) -> Option<Request> {
        let base = &self.ctx.base;
        match a.action {
            ActionKind::Create => {
                let user = Value::Object(Self::user_registration(a));
                let role = json!({"rule_set": self.ctx.foundry.rule_set, "role": self.ctx.foundry.role});
                let body =
                    json!({"data": {"type": "registration_sets", "attributes": {"registrations": [user, role]}}});
                Some(Request::new(Method::Post, format!("{base}/v1/admin/registration_sets")).json(&body))
            }
            ActionKind::Update | ActionKind::Link | ActionKind::Reactivate | ActionKind::Deactivate => {
                let id = a.platform_id.as_deref()?;
                let user = Value::Object(Self::user_registration(a));
                let body =
                    json!({"data": {"type": "registration_sets", "id": id, "attributes": {"registrations": [user]}}});
                Some(Request::new(Method::Patch, format!("{base}/v1/admin/registration_sets/{}", enc(id))).json(&body))
            }
            // Foundry has no user delete; options refuse the delete policy on Foundry.
            ActionKind::Delete | ActionKind::Review | ActionKind::Conflict | ActionKind::Invalid => None,
        }
    }

    fn created_id(&self, response: &Response) -> Option<String> {
        let v: Value = serde_json::from_slice(&response.body).ok()?;
        scalar(v.get("data")?.get("id")?)
    }

    fn lookup_request(&self, key: &str) -> Request {
        let url = format!(
            "{}/v1/admin/users?filter[{}]={}&page[page]=1&page[per_page]=2",
            self.ctx.base,
            attribute(self.ctx.primary),
            enc(key)
        );
        Request::new(Method::Get, url).header("accept", "application/vnd.api+json, application/json")
    }

    fn read_lookup(&self, response: &Response, key: &str) -> Lookup {
        let Ok(v) = serde_json::from_slice::<Value>(&response.body) else {
            return Lookup::Unreadable("the lookup answer is not JSON".into());
        };
        let Some(list) = v.get("data").and_then(Value::as_array) else {
            return Lookup::Unreadable("the lookup answer has no data".into());
        };
        let attr = attribute(self.ctx.primary);
        let listed = list.iter().map(|u| (u.get("id").and_then(scalar), u.get("attributes").and_then(|a| a.get(attr))));
        judge_lookup(self.ctx.primary, key, listed)
    }

    fn error_detail(&self, response: &Response) -> String {
        let parsed: Option<Vec<String>> = serde_json::from_slice::<Value>(&response.body).ok().and_then(|v| {
            let errors = v.get("errors")?.as_array()?;
            Some(
                errors
                    .iter()
                    .map(|e| {
                        let msg =
                            e.get("title").or_else(|| e.get("message")).and_then(Value::as_str).unwrap_or("error");
                        match e.get("field_name").and_then(Value::as_str) {
                            Some(f) => format!("{f}: {msg}"),
                            None => msg.to_string(),
                        }
                    })
                    .collect(),
            )
        });
        match parsed {
            Some(list) if !list.is_empty() => list.join("; "),
            _ => body_excerpt(response),
        }
    }

    fn is_uniqueness_error(&self, response: &Response) -> bool {
        matches!(response.status, 409 | 422) && self.error_detail(response).contains("already been taken")
    }
}
