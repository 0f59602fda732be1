//! A simulated Foundry for native executor tests: the wire facts of TARGET-APIS.md (OAuth
//! client credentials, JSON:API pages of at most 100, registration_sets, uniqueness of email
//! and SSO ID, a rolling request window answering 429), with faults to inject, on the
//! simulated clock the test drives.

use std::collections::VecDeque;

use learner_sync::sync::{Method, Request, Response, TransportError};
use percent_encoding::percent_decode_str;
use serde_json::{json, Value};

pub const BASE: &str = "https://foundry.test";

#[derive(Clone, Debug, PartialEq)]
pub struct SimUser {
    pub id: String,
    pub sso_id: Option<String>,
    pub email: String,
    pub first_name: String,
    pub last_name: String,
    pub active: bool,
    pub admin: bool,
}

/// Faults, each with a probability per request (drawn from a seeded generator).
#[derive(Clone, Debug, Default)]
pub struct Faults {
    pub error_5xx: f64,
    /// Apply a write, then lose the answer.
    pub drop_after_write: f64,
    /// Lose the request before it is applied.
    pub drop_before: f64,
    /// Answer a GET with a truncated body.
    pub malformed: f64,
    /// Send `Retry-After` (seconds) with 429s.
    pub retry_after: bool,
    /// Send `RateLimit-Limit`, `-Remaining`, `-Reset` (seconds until the oldest request in
    /// the window leaves it) and `RateLimit-Policy` (`limit;w=seconds`) with every answer.
    /// Foundry is not known to send them: this is for the engine's use of them.
    pub rate_limit_headers: bool,
}

#[derive(Clone, Debug, Default)]
pub struct Stats {
    pub requests: u32,
    pub accepted: u32,
    pub rate_limited: u32,
    pub creates: u32,
    pub patches: u32,
    pub lists: u32,
    pub faults: u32,
    pub last_request_at: u64,
}

/// Learner `i` as a platform user: ID `u{i}`, SSO ID `i`, email `p{i}@example.org`.
pub fn user(i: usize, last: &str, active: bool) -> SimUser {
    SimUser {
        id: format!("u{i}"),
        sso_id: Some(i.to_string()),
        email: format!("p{i}@example.org"),
        first_name: format!("F{i}"),
        last_name: last.to_string(),
        active,
        admin: false,
    }
}

pub struct FoundrySim {
    pub users: Vec<SimUser>,
    pub limit: u32,
    pub window_ms: u64,
    pub faults: Faults,
    pub stats: Stats,
    /// When accepted requests arrived, within the window.
    window: VecDeque<u64>,
    tokens: Vec<(String, u64)>,
    next_id: u64,
    rng: u64,
    /// Whether a list without filter[active] includes inactive users (unknown on the real one).
    pub lists_inactive_by_default: bool,
    /// A hostile platform: `filter[sso_id]` and `filter[email]` are ignored, so a lookup by key
    /// lists the first users of the listing.
    pub ignores_filter: bool,
    /// The `expires_in` token answers say, when not the token's real life (7200 s): a
    /// platform announcing short-lived tokens (0, 30).
    pub announced_token_ttl: Option<u64>,
    /// How long a token really lives (7,200,000 ms).
    pub token_life_ms: u64,
}

impl FoundrySim {
    pub fn new(users: Vec<SimUser>, seed: u64) -> Self {
        FoundrySim {
            users,
            limit: 200,
            window_ms: 60_000,
            faults: Faults::default(),
            stats: Stats::default(),
            window: VecDeque::new(),
            tokens: Vec::new(),
            next_id: 1,
            rng: seed | 1,
            lists_inactive_by_default: false,
            ignores_filter: false,
            announced_token_ttl: None,
            token_life_ms: 7_200_000,
        }
    }

    fn chance(&mut self, p: f64) -> bool {
        if p <= 0.0 {
            return false;
        }
        self.rng ^= self.rng << 13;
        self.rng ^= self.rng >> 7;
        self.rng ^= self.rng << 17;
        (self.rng % 1_000_000) as f64 / 1_000_000.0 < p
    }

    /// Issues a token at `now` as the token endpoint would (not counted as a request): its
    /// value and expiry, as a host's token cache keeps them.
    pub fn grant(&mut self, now: u64) -> (String, u64) {
        let token = format!("tok{}", self.tokens.len() + 1);
        self.tokens.push((token.clone(), now + self.token_life_ms));
        (token, now + self.token_life_ms)
    }

    /// Makes every issued token invalid (as if they expired).
    pub fn revoke_tokens(&mut self) {
        self.tokens.clear();
    }

    pub fn credentials() -> Value {
        json!({"clientId": "sim-client", "clientSecret": "sim-secret-3f9a"})
    }

    /// Counts a request arriving at `now` against the organisation's rolling window (`limit`
    /// and `window_ms`, which a test may change mid-run): taken, or the 429 to answer.
    fn admit(&mut self, now: u64) -> Result<(), Response> {
        while self.window.front().is_some_and(|&t| t + self.window_ms <= now) {
            self.window.pop_front();
        }
        if self.window.len() as u32 >= self.limit {
            let mut r = Response::new(429, r#"{"errors":[{"title":"Too many requests"}]}"#);
            if self.faults.retry_after {
                let wait = (self.window[0] + self.window_ms).saturating_sub(now).div_ceil(1000).max(1);
                r = r.with_header("Retry-After", &wait.to_string());
            }
            return Err(r);
        }
        self.window.push_back(now);
        Ok(())
    }

    /// A request from another client of the organisation (a third-party tool sharing the
    /// budget) arriving at `now`: it takes its place in the window and nothing else (it is not
    /// in `stats`). Whether it was accepted rather than answered 429.
    pub fn other_client_request(&mut self, now: u64) -> bool {
        self.admit(now).is_ok()
    }

    /// Handles one request arriving at `now`.
    pub fn handle(&mut self, req: &Request, now: u64) -> Result<Response, TransportError> {
        let answer = self.handle_counted(req, now);
        if !self.faults.rate_limit_headers {
            return answer;
        }
        answer.map(|r| {
            let remaining = self.limit.saturating_sub(self.window.len() as u32);
            let reset = self.window.front().map_or(0, |&t| (t + self.window_ms).saturating_sub(now).div_ceil(1000));
            r.with_header("RateLimit-Limit", &self.limit.to_string())
                .with_header("RateLimit-Remaining", &remaining.to_string())
                .with_header("RateLimit-Reset", &reset.to_string())
                .with_header("RateLimit-Policy", &format!("{};w={}", self.limit, self.window_ms / 1000))
        })
    }

    fn handle_counted(&mut self, req: &Request, now: u64) -> Result<Response, TransportError> {
        self.stats.requests += 1;
        self.stats.last_request_at = now;
        if let Err(refused) = self.admit(now) {
            self.stats.rate_limited += 1;
            return Ok(refused);
        }
        self.stats.accepted += 1;
        if self.chance(self.faults.drop_before) {
            self.stats.faults += 1;
            return Err(TransportError::Network("connection reset".into()));
        }
        if self.chance(self.faults.error_5xx) {
            self.stats.faults += 1;
            return Ok(Response::new(503, "Service Unavailable"));
        }
        let is_write = req.method != Method::Get;
        let resp = self.route(req, now);
        if is_write && resp.is_success() && self.chance(self.faults.drop_after_write) {
            self.stats.faults += 1;
            return Err(TransportError::Timeout);
        }
        if !is_write && resp.status == 200 && self.chance(self.faults.malformed) {
            self.stats.faults += 1;
            let cut = resp.body.len() / 2;
            return Ok(Response::new(200, resp.body[..cut].to_vec()));
        }
        Ok(resp)
    }

    fn route(&mut self, req: &Request, now: u64) -> Response {
        let path_query = req.url.strip_prefix(BASE).expect("requests go to the simulator");
        let (path, query) = path_query.split_once('?').unwrap_or((path_query, ""));
        let q: Vec<(String, String)> = query
            .split('&')
            .filter(|s| !s.is_empty())
            .map(|kv| {
                let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
                (
                    percent_decode_str(k).decode_utf8_lossy().into_owned(),
                    percent_decode_str(v).decode_utf8_lossy().into_owned(),
                )
            })
            .collect();
        let param = |name: &str| q.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str());
        if (req.method, path) == (Method::Post, "/oauth/token") {
            let body = String::from_utf8_lossy(&req.body);
            if body.contains("client_id=sim-client") && body.contains("client_secret=sim-secret-3f9a") {
                let token = format!("tok{}", self.tokens.len() + 1);
                self.tokens.push((token.clone(), now + self.token_life_ms));
                return Response::new(200, json!({"access_token": token, "token_type": "Bearer", "expires_in": self.announced_token_ttl.unwrap_or(7200), "created_at": now / 1000}).to_string());
            }
            return Response::new(401, r#"{"error":"invalid_client"}"#);
        }
        let bearer =
            req.headers.iter().find(|(k, _)| k == "authorization").and_then(|(_, v)| v.strip_prefix("Bearer "));
        if !bearer.is_some_and(|b| self.tokens.iter().any(|(t, exp)| t == b && *exp > now)) {
            return Response::new(401, r#"{"errors":[{"title":"Unauthorized"}]}"#);
        }
        match (req.method, path) {
            (Method::Get, "/v1/admin/users") => {
                self.stats.lists += 1;
                let page: usize = param("page[page]").and_then(|v| v.parse().ok()).unwrap_or(1).max(1);
                let per: usize = param("page[per_page]").and_then(|v| v.parse().ok()).unwrap_or(25).clamp(1, 100);
                let active = param("filter[active]").map(|v| v == "true");
                let matching: Vec<&SimUser> = self
                    .users
                    .iter()
                    .filter(|u| match active {
                        Some(a) => u.active == a,
                        None => self.lists_inactive_by_default || u.active,
                    })
                    .filter(|u| {
                        self.ignores_filter || param("filter[sso_id]").is_none_or(|s| u.sso_id.as_deref() == Some(s))
                    })
                    .filter(|u| {
                        self.ignores_filter || param("filter[email]").is_none_or(|e| u.email.eq_ignore_ascii_case(e))
                    })
                    .collect();
                let total = matching.len();
                let data: Vec<Value> = matching.iter().skip((page - 1) * per).take(per).map(|u| user_json(u)).collect();
                let last = total.div_ceil(per).max(1);
                let next = if page < last {
                    json!(format!("{BASE}/v1/admin/users?page[page]={}", page + 1))
                } else {
                    Value::Null
                };
                Response::new(
                    200,
                    json!({"data": data, "links": {"next": next}, "meta": {"total_count": total}}).to_string(),
                )
            }
            (Method::Post, "/v1/admin/registration_sets") => {
                let Some(reg) = user_registration(&req.body) else { return error(422, "registrations", "is invalid") };
                let email = reg.get("email").and_then(Value::as_str).unwrap_or_default().to_string();
                let sso = reg.get("sso_id").and_then(Value::as_str).map(str::to_string);
                for field in ["first_name", "last_name", "email"] {
                    if reg.get(field).and_then(Value::as_str).is_none_or(str::is_empty) {
                        return error(422, field, "can't be blank");
                    }
                }
                if let Some(e) = self.taken(None, Some(&email), sso.as_deref()) {
                    return e;
                }
                self.stats.creates += 1;
                let id = format!("f-{}", self.next_id);
                self.next_id += 1;
                let u = SimUser {
                    id,
                    sso_id: sso,
                    email,
                    first_name: reg["first_name"].as_str().unwrap_or_default().into(),
                    last_name: reg["last_name"].as_str().unwrap_or_default().into(),
                    active: true,
                    admin: false,
                };
                let body = json!({"data": user_json(&u)}).to_string();
                self.users.push(u);
                Response::new(201, body)
            }
            (Method::Patch, p) if p.starts_with("/v1/admin/registration_sets/") => {
                let id =
                    percent_decode_str(&p["/v1/admin/registration_sets/".len()..]).decode_utf8_lossy().into_owned();
                let Some(reg) = user_registration(&req.body) else { return error(422, "registrations", "is invalid") };
                let Some(at) = self.users.iter().position(|u| u.id == id) else { return error(404, "id", "not found") };
                let email = reg.get("email").and_then(Value::as_str);
                let sso = reg.get("sso_id").and_then(Value::as_str);
                if let Some(e) = self.taken(Some(&id), email, sso) {
                    return e;
                }
                self.stats.patches += 1;
                let u = &mut self.users[at];
                if let Some(e) = email {
                    u.email = e.into();
                }
                if let Some(s) = sso {
                    u.sso_id = Some(s.into());
                }
                if let Some(v) = reg.get("first_name").and_then(Value::as_str) {
                    u.first_name = v.into();
                }
                if let Some(v) = reg.get("last_name").and_then(Value::as_str) {
                    u.last_name = v.into();
                }
                if let Some(a) = reg.get("active").and_then(Value::as_bool) {
                    u.active = a;
                }
                Response::new(200, json!({"data": user_json(u)}).to_string())
            }
            _ => error(404, "path", "not found"),
        }
    }

    fn taken(&self, except: Option<&str>, email: Option<&str>, sso: Option<&str>) -> Option<Response> {
        for u in self.users.iter().filter(|u| Some(u.id.as_str()) != except) {
            if email.is_some_and(|e| u.email.eq_ignore_ascii_case(e)) {
                return Some(error(422, "email", "has already been taken"));
            }
            if sso.is_some() && u.sso_id.as_deref() == sso {
                return Some(error(422, "sso_id", "has already been taken"));
            }
        }
        None
    }
}

fn error(status: u16, field: &str, title: &str) -> Response {
    Response::new(status, json!({"errors": [{"title": title, "field_name": field}]}).to_string())
}

fn user_registration(body: &[u8]) -> Option<Value> {
    let v: Value = serde_json::from_slice(body).ok()?;
    let regs = v.get("data")?.get("attributes")?.get("registrations")?.as_array()?;
    regs.iter().find(|r| r.get("rule_set").and_then(Value::as_str) == Some("user_rule_set")).cloned()
}

fn user_json(u: &SimUser) -> Value {
    let rule_set = if u.admin { "cc_admin" } else { "cc_learner" };
    json!({"id": u.id, "type": "users", "attributes": {
        "active": u.active, "email": u.email, "first_name": u.first_name, "last_name": u.last_name,
        "sso_id": u.sso_id, "employee_id": null, "student_id": null, "location_id": null,
        "user_rule_set_roles": [{"rule_set": rule_set, "role": "default"}], "category_labels": [],
        "created_at": "2026-01-01T00:00:00Z", "updated_at": "2026-01-01T00:00:00Z", "last_sign_in_at": null}})
}
