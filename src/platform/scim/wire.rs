//! SCIM 2.0 (RFC 7644): `GET /Users?startIndex&count`, `POST /Users` (201), `PATCH /Users/{id}`
//! with a PatchOp (200 with the resource or 204), `DELETE /Users/{id}` (204), and
//! `filter=<key attribute> eq "…"` to look a user up. By default the primary key travels in
//! `externalId`, the email is `userName` and the primary work email, names in
//! `name.givenName`/`familyName`; `scim.key` and `scim.userName` in the options change that.

use serde_json::{json, Value};

use crate::credentials::Credentials;
use crate::http::{Method, Request, Response};
use crate::model::Field;
use crate::options::{ScimKey, ScimUserName};
use crate::planner::{Action, ActionKind};
use crate::platform::wire::{body_excerpt, enc, judge_lookup, scalar, Auth, Cursor, Lookup, Wire, WireContext};

const USER_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
const PATCH_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
const MEDIA: &str = "application/scim+json";

/// The page size asked for; servers may answer with fewer (`itemsPerPage`).
pub const PAGE: u32 = 100;

pub struct ScimWire {
    pub ctx: WireContext,
}

impl ScimWire {
    fn count(&self) -> u32 {
        self.ctx.page_size.unwrap_or(PAGE).max(1)
    }

    fn value<'a>(a: &'a Action, f: Field) -> Option<&'a str> {
        match (&a.fields, &a.changes) {
            (Some(v), _) => v.get(f).map(|s| s.as_ref()),
            (None, Some(c)) => c.get(f).and_then(|c| c.to.as_deref()),
            _ => None,
        }
    }

    /// The attribute holding the key, and whether `userName` holds the email.
    fn layout(&self) -> (&'static str, bool) {
        match (self.ctx.scim.key, self.ctx.scim.user_name) {
            (ScimKey::UserName, _) => ("userName", false),
            (ScimKey::ExternalId, ScimUserName::Email) => ("externalId", true),
            (ScimKey::ExternalId, ScimUserName::Key) => ("externalId", false),
        }
    }

    fn patch(&self, a: &Action) -> Value {
        let (key_attr, user_name_is_email) = self.layout();
        let mut ops = Vec::new();
        let mut replace = |path: &str, value: Value| ops.push(json!({"op": "replace", "path": path, "value": value}));
        if let Some(k) = Self::value(a, self.ctx.primary) {
            replace(key_attr, json!(k));
            if key_attr == "externalId" && !user_name_is_email {
                replace("userName", json!(k));
            }
        }
        if let Some(e) = Self::value(a, Field::Email) {
            if user_name_is_email {
                replace("userName", json!(e));
            }
            replace("emails", json!([{"value": e, "type": "work", "primary": true}]));
        }
        if let Some(v) = Self::value(a, Field::FirstName) {
            replace("name.givenName", json!(v));
        }
        if let Some(v) = Self::value(a, Field::LastName) {
            replace("name.familyName", json!(v));
        }
        if let Some(active) = a.changes.as_ref().and_then(|c| c.active.as_ref()).and_then(|c| c.to) {
            replace("active", json!(active));
        }
        json!({"schemas": [PATCH_SCHEMA], "Operations": ops})
    }

    fn resource(&self, a: &Action) -> Value {
        let (key_attr, user_name_is_email) = self.layout();
        let mut user = json!({"schemas": [USER_SCHEMA], "active": true});
        let o = user.as_object_mut().expect("an object");
        if let Some(k) = Self::value(a, self.ctx.primary) {
            o.insert(key_attr.into(), json!(k));
            if !user_name_is_email {
                o.insert("userName".into(), json!(k));
            }
        }
        if let Some(e) = Self::value(a, Field::Email) {
            if user_name_is_email {
                o.insert("userName".into(), json!(e));
            }
            o.insert("emails".into(), json!([{"value": e, "type": "work", "primary": true}]));
        }
        let mut name = serde_json::Map::new();
        if let Some(v) = Self::value(a, Field::FirstName) {
            name.insert("givenName".into(), json!(v));
        }
        if let Some(v) = Self::value(a, Field::LastName) {
            name.insert("familyName".into(), json!(v));
        }
        if !name.is_empty() {
            o.insert("name".into(), Value::Object(name));
        }
        user
    }
}

impl Wire for ScimWire {
    fn auth(&self, c: &Credentials) -> Auth {
        Auth::Fixed(format!("Bearer {}", c.token.as_deref().unwrap_or_default()))
    }

    fn first_page(&self) -> Cursor {
        Cursor { pass: 0, position: 1 }
    }

    fn list_request(&self, c: Cursor) -> Request {
        Request::new(Method::Get, format!("{}/Users?startIndex={}&count={}", self.ctx.base, c.position, self.count()))
            .header("accept", MEDIA)
    }

    fn next_page(&self, c: Cursor, _: &Response, records: u32, has_more: Option<bool>) -> Option<Cursor> {
        let more = has_more.unwrap_or(records >= self.count());
        (more && records > 0).then_some(Cursor { pass: 0, position: c.position + records as u64 })
    }

    fn write_request(&self, a: &Action) -> Option<Request> {
        let base = &self.ctx.base;
        let id = a.platform_id.as_deref().map(enc);
        let r = match (a.action, id) {
            (ActionKind::Create, _) => Request::new(Method::Post, format!("{base}/Users")).json(&self.resource(a)),
            (ActionKind::Update | ActionKind::Link | ActionKind::Reactivate | ActionKind::Deactivate, Some(id)) => {
                Request::new(Method::Patch, format!("{base}/Users/{id}")).json(&self.patch(a))
            }
            (ActionKind::Delete, Some(id)) => Request::new(Method::Delete, format!("{base}/Users/{id}")),
            _ => return None,
        };
        // SCIM's media type for bodies; `json()` set application/json first.
        let mut r = r.header("accept", MEDIA);
        for (k, v) in &mut r.headers {
            if k == "content-type" {
                *v = MEDIA.into();
            }
        }
        Some(r)
    }

    fn created_id(&self, response: &Response) -> Option<String> {
        let v: Value = serde_json::from_slice(&response.body).ok()?;
        v.get("id").and_then(scalar)
    }

    fn lookup_request(&self, key: &str) -> Request {
        let filter = format!("{} eq \"{}\"", self.layout().0, key.replace('\\', "\\\\").replace('"', "\\\""));
        Request::new(Method::Get, format!("{}/Users?filter={}", self.ctx.base, enc(&filter))).header("accept", MEDIA)
    }

    fn read_lookup(&self, response: &Response, key: &str) -> Lookup {
        let Ok(v) = serde_json::from_slice::<Value>(&response.body) else {
            return Lookup::Unreadable("the lookup answer is not JSON".into());
        };
        let attr = self.layout().0;
        match v.get("Resources").and_then(Value::as_array) {
            Some(list) => {
                let listed = list.iter().map(|u| (u.get("id").and_then(scalar), u.get(attr)));
                judge_lookup(self.ctx.primary, key, listed)
            }
            None if v.get("totalResults").and_then(Value::as_u64) == Some(0) => Lookup::Absent,
            None => Lookup::Unreadable("the lookup answer has no Resources".into()),
        }
    }

    fn error_detail(&self, response: &Response) -> String {
        let v: Option<Value> = serde_json::from_slice(&response.body).ok();
        let detail = v.as_ref().and_then(|v| v.get("detail")).and_then(Value::as_str);
        let kind = v.as_ref().and_then(|v| v.get("scimType")).and_then(Value::as_str);
        match (kind, detail) {
            (Some(k), Some(d)) => format!("{k}: {d}"),
            (None, Some(d)) => d.to_string(),
            (Some(k), None) => k.to_string(),
            _ => body_excerpt(response),
        }
    }

    fn is_uniqueness_error(&self, response: &Response) -> bool {
        response.status == 409
    }
}
