//! Learnifier's Public API: HTTP Basic, `GET /users?limit&offset` with `X-More`, `POST /users`
//! (200 `{userId}`), `PATCH /users/{id}` (201; deactivation is `hardLock: true`),
//! `DELETE /users/{id}`, `GET /extuser?extid=` to look a user up by external id.

use base64::Engine as _;
use serde_json::{json, Map, Value};

use crate::credentials::Credentials;
use crate::http::{Method, Request, Response};
use crate::model::Field;
use crate::planner::{Action, ActionKind};
use crate::platform::wire::{body_excerpt, enc, judge_lookup, scalar, Auth, Cursor, Lookup, Wire, WireContext};

/// Learnifier's documented default page size (no larger maximum is documented).
pub const PAGE: u32 = 5000;

pub struct LearnifierWire {
    pub ctx: WireContext,
}

impl LearnifierWire {
    fn limit(&self) -> u32 {
        self.ctx.page_size.unwrap_or(PAGE).max(1)
    }

    /// Learnifier's keys for a field: the primary matching key travels in `externalId`, and an
    /// email is `primaryEmail` too when it is that key (Learnifier requires `primaryEmail`).
    fn keys_for(&self, f: Field) -> &'static [&'static str] {
        match (f == self.ctx.primary, f) {
            (true, Field::Email) => &["externalId", "primaryEmail"],
            (true, _) => &["externalId"],
            (false, Field::Email) => &["primaryEmail"],
            (false, Field::FirstName) => &["firstName"],
            (false, Field::LastName) => &["lastName"],
            (false, _) => &[],
        }
    }

    fn body(&self, a: &Action) -> Map<String, Value> {
        let mut body = Map::new();
        for f in Field::ALL {
            let value = match (&a.fields, &a.changes) {
                (Some(v), _) => v.get(f).map(|s| s.as_ref()),
                (None, Some(c)) => c.get(f).and_then(|c| c.to.as_deref()),
                _ => None,
            };
            if let Some(v) = value {
                for &k in self.keys_for(f) {
                    body.insert(k.into(), json!(v));
                }
            }
        }
        if let Some(active) = a.changes.as_ref().and_then(|c| c.active.as_ref()).and_then(|c| c.to) {
            body.insert("hardLock".into(), json!(!active));
        }
        body
    }
}

impl Wire for LearnifierWire {
    fn auth(&self, c: &Credentials) -> Auth {
        let pair = format!("{}:{}", c.key.as_deref().unwrap_or_default(), c.secret.as_deref().unwrap_or_default());
        Auth::Fixed(format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(pair)))
    }

    fn first_page(&self) -> Cursor {
        Cursor { pass: 0, position: 0 }
    }

    fn list_request(&self, c: Cursor) -> Request {
        Request::new(Method::Get, format!("{}/users?limit={}&offset={}", self.ctx.base, self.limit(), c.position))
            .header("accept", "application/json")
    }

    fn next_page(&self, c: Cursor, response: &Response, records: u32, _: Option<bool>) -> Option<Cursor> {
        // Paging state is in the headers; without X-More, a full page means there may be more.
        let more = match response.header("x-more") {
            Some(v) => v.trim().eq_ignore_ascii_case("true"),
            None => records >= self.limit(),
        };
        (more && records > 0).then_some(Cursor { pass: 0, position: c.position + records as u64 })
    }

    fn says_more(&self, response: &Response, _: Option<bool>) -> bool {
        response.header("x-more").is_some_and(|v| v.trim().eq_ignore_ascii_case("true"))
    }

    fn write_request(&self, a: &Action) -> Option<Request> {
        let base = &self.ctx.base;
        let id = a.platform_id.as_deref().map(enc);
        let r = match (a.action, id) {
            (ActionKind::Create, _) => {
                Request::new(Method::Post, format!("{base}/users")).json(&Value::Object(self.body(a)))
            }
            (ActionKind::Update | ActionKind::Link | ActionKind::Reactivate | ActionKind::Deactivate, Some(id)) => {
                let body = self.body(a);
                let clear = self.ctx.auto_clear_email && body.contains_key("primaryEmail");
                let mut r = Request::new(Method::Patch, format!("{base}/users/{id}")).json(&Value::Object(body));
                if clear {
                    self.mark_auto_clear(&mut r);
                }
                r
            }
            (ActionKind::Delete, Some(id)) => Request::new(Method::Delete, format!("{base}/users/{id}")),
            _ => return None,
        };
        Some(r.header("accept", "application/json"))
    }

    fn created_id(&self, response: &Response) -> Option<String> {
        let v: Value = serde_json::from_slice(&response.body).ok()?;
        v.get("userId").or_else(|| v.get("id")).and_then(scalar)
    }

    fn lookup_request(&self, key: &str) -> Request {
        Request::new(Method::Get, format!("{}/extuser?extid={}", self.ctx.base, enc(key)))
            .header("accept", "application/json")
    }

    fn read_lookup(&self, response: &Response, key: &str) -> Lookup {
        if response.status == 404 {
            return Lookup::Absent;
        }
        // One user object; an array (a platform that answers with a listing) is judged the same.
        let listed = match serde_json::from_slice::<Value>(&response.body) {
            Ok(Value::Array(list)) => list,
            Ok(user @ Value::Object(_)) => vec![user],
            _ => return Lookup::Unreadable("the lookup answer is not a user".into()),
        };
        // The key travels in the case-sensitive `externalId`, compared as the planner does.
        let listed = listed.iter().map(|u| (u.get("id").and_then(scalar), u.get("externalId")));
        judge_lookup(self.ctx.primary, key, listed)
    }

    fn error_detail(&self, response: &Response) -> String {
        let v: Option<Value> = serde_json::from_slice(&response.body).ok();
        let msg = v.as_ref().and_then(|v| v.get("message")).and_then(Value::as_str);
        let field = v.as_ref().and_then(|v| v.get("field")).and_then(Value::as_str);
        match (field, msg) {
            (Some(f), Some(m)) => format!("{f}: {m}"),
            (None, Some(m)) => m.to_string(),
            _ => body_excerpt(response),
        }
    }

    fn is_uniqueness_error(&self, response: &Response) -> bool {
        response.status == 409
    }

    /// Whether the flag is a query parameter or a body field is unknown: both are sent.
    fn mark_auto_clear(&self, r: &mut Request) {
        if r.method != Method::Patch || r.url.contains("autoClearEmail=") {
            return;
        }
        r.url.push_str(if r.url.contains('?') { "&autoClearEmail=true" } else { "?autoClearEmail=true" });
        if let Ok(Value::Object(mut body)) = serde_json::from_slice::<Value>(&r.body) {
            body.insert("autoClearEmail".into(), json!(true));
            r.body = serde_json::to_vec(&Value::Object(body)).expect("JSON values serialise");
        }
    }
}
