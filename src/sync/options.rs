//! How a sync runs: where, as whom, how fast, how persistently. Read from JSON (the CLI, a
//! config file, a Worker's environment); credentials are never echoed back.

use std::borrow::Cow;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::redact::Redactor;
pub use crate::credentials::Credentials;
use crate::error::Error;
use crate::options::Platform;
pub use crate::platform::foundry::FoundryConfig;

/// Full reconciliation (list the platform, plan, apply) or delta (apply the changes the
/// system of record reports, by stored platform ID, without listing).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    #[default]
    Full,
    Delta,
}

/// Every string inside `v` (credentials given in a wrong shape are redacted all the same).
fn collect_strings(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::String(s) => out.push(s.clone()),
        Value::Number(n) => out.push(n.to_string()),
        Value::Array(a) => a.iter().for_each(|v| collect_strings(v, out)),
        Value::Object(o) => o.iter().for_each(|(k, v)| {
            out.push(k.clone());
            collect_strings(v, out)
        }),
        Value::Bool(_) | Value::Null => {}
    }
}

/// The platform's request budget, and this client's share of it.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RateConfig {
    /// Requests allowed in any window, for the whole organisation.
    pub limit: u32,
    pub window_ms: u64,
    /// The fraction of the budget this client may use when others share the organisation.
    #[serde(default = "one")]
    pub share: f64,
}

fn one() -> f64 {
    1.0
}

impl RateConfig {
    /// The platform's default: Foundry's documented 200 per rolling 60 s; none known elsewhere.
    pub fn default_for(platform: Platform) -> Option<RateConfig> {
        match platform {
            Platform::Foundry => Some(RateConfig { limit: 200, window_ms: 60_000, share: 1.0 }),
            Platform::Learnifier | Platform::Scim => None,
        }
    }

    /// Requests this client may send per window.
    pub fn effective_limit(&self) -> u32 {
        ((self.limit as f64) * self.share).floor().max(1.0) as u32
    }
}

/// How failed requests are retried. A field left out takes its default, so a config file can
/// say `{"maxAttempts": 3}` alone.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct RetryConfig {
    /// Attempts per request for 5xx and network failures, the first included.
    pub max_attempts: u32,
    /// 429s tolerated for one request before it is given up.
    pub max_rate_limited: u32,
    pub base_ms: u64,
    pub max_ms: u64,
    /// The longest pause a 429's `Retry-After` may impose within one invocation (15 minutes by
    /// default). A longer one ends the invocation, suspended with `RATE_LIMITED` and a
    /// checkpoint that resumes once the pause is over.
    pub max_wait_ms: u64,
}

impl Default for RetryConfig {
    fn default() -> Self {
        RetryConfig { max_attempts: 6, max_rate_limited: 20, base_ms: 1_000, max_ms: 60_000, max_wait_ms: 900_000 }
    }
}

/// How much one invocation may do before it stops and hands back a checkpoint (a Worker's
/// subrequest and time limits). Requests in flight when the budget runs out are answered first.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Budget {
    /// Requests this invocation may send.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requests: Option<u32>,
    /// Milliseconds from the invocation's start after which no request is sent, and no wait
    /// (a 429 pause, the rate bucket) is begun that would end past it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ms: Option<u64>,
}

/// Everything about a sync run but the plan options. Serialises without its credentials
/// (checkpoints carry the rest).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SyncOptions {
    /// The platform's API root, e.g. `https://api.fifoundry.net` or a SCIM base ending `/v2`.
    pub base_url: String,
    #[serde(default)]
    pub mode: Mode,
    #[serde(default, skip_serializing)]
    pub credentials: Credentials,
    /// The host signs every request itself (a low-code platform's connection): no
    /// `Authorization` header is added, no token fetched, and no credentials are needed.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub host_auth: bool,
    /// The request budget; the platform's default when absent.
    #[serde(default)]
    pub rate: Option<RateConfig>,
    /// Requests in flight at once.
    #[serde(default = "default_concurrency")]
    pub concurrency: u32,
    #[serde(default)]
    pub retry: RetryConfig,
    /// Users per list page; the platform's maximum when absent.
    #[serde(default)]
    pub page_size: Option<u32>,
    /// Read the platform and plan, but send no write.
    #[serde(default)]
    pub dry_run: bool,
    /// Seeds the retry jitter, so runs can be reproduced.
    #[serde(default)]
    pub seed: u64,
    #[serde(default)]
    pub foundry: FoundryConfig,
    /// Learnifier: let an update take an email another user holds, clearing it there
    /// (`autoClearEmail`). Off by default: the other user loses their email.
    #[serde(default)]
    pub auto_clear_email: bool,
    /// Stop at this budget and hand back a checkpoint (see `SyncEngine::checkpoint`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub budget: Option<Budget>,
    /// Durable checkpoints: before sending writes, claim the next this-many and wait for the
    /// host to save a checkpoint (`SyncEngine::wants_checkpoint`). A run killed before its
    /// next checkpoint is resumed from that one without creating anyone twice.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub claim_batch: Option<u32>,
}

fn default_concurrency() -> u32 {
    4
}

impl SyncOptions {
    /// Reads the settings. No error shows a credential's value: `credentials` is read apart
    /// (its errors name the key and the kind of value only), and an error about any other
    /// setting has every credential redacted from it (in case one was put in the wrong place).
    pub fn from_json(bytes: &[u8]) -> Result<Self, Error> {
        let bad = |m: String| Error::InvalidOptions(m);
        let mut v: Value = serde_json::from_slice(bytes).map_err(|e| bad(format!("the settings are not JSON: {e}")))?;
        let given = v.as_object_mut().and_then(|o| o.remove("credentials")).unwrap_or(Value::Null);
        let mut strings = Vec::new();
        collect_strings(&given, &mut strings);
        let credentials = Credentials::from_value(given);
        let mut config: SyncOptions = serde_json::from_value(v)
            .map_err(|e| bad(Redactor::new(strings.iter().map(String::as_str)).redact(&e.to_string())))?;
        config.credentials = credentials?;
        Ok(config)
    }

    /// Checks the settings against the platform.
    pub fn validate(&self, platform: Platform) -> Result<(), Error> {
        let bad = |m: String| Err(Error::InvalidOptions(m));
        check_base_url(&self.base_url)?;
        if self.concurrency == 0 {
            return bad("concurrency must be at least 1".into());
        }
        if let Some(r) = self.rate {
            if r.limit == 0 || r.window_ms == 0 || !(r.share > 0.0 && r.share <= 1.0) {
                return bad("rate: limit and windowMs must be positive and share in (0, 1]".into());
            }
        }
        if self.retry.max_attempts == 0 {
            return bad("retry.maxAttempts must be at least 1".into());
        }
        if self.claim_batch == Some(0) {
            return bad("claimBatch must be at least 1".into());
        }
        if self.host_auth {
            return Ok(());
        }
        let c = &self.credentials;
        let missing = match platform {
            Platform::Foundry if c.client_id.is_none() || c.client_secret.is_none() => {
                Some("Foundry needs credentials.clientId and credentials.clientSecret (FOUNDRY_CLIENT_ID, FOUNDRY_CLIENT_SECRET)")
            }
            Platform::Learnifier if c.key.is_none() || c.secret.is_none() => {
                Some("Learnifier needs credentials.key and credentials.secret (LEARNIFIER_KEY, LEARNIFIER_SECRET)")
            }
            Platform::Scim if c.token.is_none() => Some("SCIM needs credentials.token (SCIM_TOKEN)"),
            _ => None,
        };
        if let Some(m) = missing {
            return Err(Error::AuthFailed(m.into()));
        }
        Ok(())
    }

    /// The request budget in force.
    pub fn rate_for(&self, platform: Platform) -> Option<RateConfig> {
        self.rate.or_else(|| RateConfig::default_for(platform))
    }
}

/// A base URL must be https, except on the loopback interface (local simulators and tests),
/// and must be written so that no URL parser can read it two ways: every request appends a
/// path to it and carries a credential there.
///
/// - Plain ASCII only, no space or control character anywhere (the WHATWG parser drops tabs
///   and line breaks, and maps `127。0。0。1` to `127.0.0.1`).
/// - `https://`, or `http://` for the loopback interface only: an IPv4 literal in 127.0.0.0/8
///   written as four decimal numbers without leading zeros, `localhost`, or `[::1]`. A host
///   that merely starts with `127.` (`127.0.0.1.evil.example`) is a name like any other.
/// - No user information, query, fragment or backslash; a host of letters, digits, `.`, `-`
///   and `_` (or a bracketed IPv6 literal), a decimal port, no `.` or `..` path segment.
///
/// Errors show the URL without any user information, which may hold a password, and name a
/// refused character by its code point rather than echo it.
pub fn check_base_url(url: &str) -> Result<(), Error> {
    let bad = |m: &str| Err(Error::InvalidOptions(format!("baseUrl {}: {m}", shown(&without_userinfo(url)))));
    if let Some(c) = url.chars().find(|c| !c.is_ascii_graphic()) {
        let what = match c {
            ' ' => "a space",
            '\t' => "a tab",
            '\n' | '\r' => "a line break",
            c if c.is_control() => "a control character",
            _ => "a character that is not plain ASCII",
        };
        return bad(&format!("contains {what} (U+{:04X}): a base URL is plain ASCII text", c as u32));
    }
    let Some((scheme, rest)) = url.split_once("://") else { return bad("must start with https://") };
    let plain = if scheme.eq_ignore_ascii_case("https") {
        false
    } else if scheme.eq_ignore_ascii_case("http") {
        true
    } else {
        return bad("must start with https://");
    };
    if rest.contains(['?', '#']) {
        return bad("must not have a query or a fragment: each request appends its own path and query");
    }
    if rest.contains('\\') {
        return bad("must not contain a backslash");
    }
    let (authority, path) = rest.find('/').map_or((rest, ""), |i| rest.split_at(i));
    if authority.contains('@') {
        return bad("must not carry credentials; pass them in credentials");
    }
    let (host, port) = match authority.strip_prefix('[') {
        Some(r) => match r.split_once(']') {
            Some((ip, tail))
                if !ip.is_empty() && ip.bytes().all(|b| b.is_ascii_hexdigit() || b == b':' || b == b'.') =>
            {
                (&authority[..ip.len() + 2], tail)
            }
            _ => return bad("has an unreadable IPv6 address"),
        },
        None => authority.find(':').map_or((authority, ""), |i| authority.split_at(i)),
    };
    if host.is_empty() {
        return bad("has no host");
    }
    if !host.starts_with('[')
        && (host.split('.').any(str::is_empty)
            || !host.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_')))
    {
        return bad("has a host that is not a plain name (letters, digits, '.', '-', '_') or address");
    }
    if !port.is_empty() {
        let digits = &port[1..];
        if digits.is_empty() || digits.len() > 5 || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return bad("has a port that is not a number");
        }
        if digits.parse::<u32>().map_or(true, |p| p > 65_535) {
            return bad("has a port above 65535");
        }
    }
    if path.split('/').any(|seg| matches!(seg.to_ascii_lowercase().replace("%2e", ".").as_str(), "." | "..")) {
        return bad("must not have '.' or '..' path segments");
    }
    if plain && !is_loopback(host) {
        return bad(
            "must be https (plain http is allowed only on loopback: 127.x.y.z written as four decimal numbers, localhost, [::1])",
        );
    }
    Ok(())
}

/// The loopback interface, written one way only: `localhost`, `[::1]`, or an IPv4 literal in
/// 127.0.0.0/8 as four decimal numbers (no leading zeros, each at most 255).
fn is_loopback(host: &str) -> bool {
    let octet = |p: &str| {
        !p.is_empty()
            && p.len() <= 3
            && p.bytes().all(|b| b.is_ascii_digit())
            && (p.len() == 1 || !p.starts_with('0'))
            && p.parse::<u16>().is_ok_and(|n| n <= 255)
    };
    let parts: Vec<&str> = host.split('.').collect();
    host.eq_ignore_ascii_case("localhost")
        || host == "[::1]"
        || (parts.len() == 4 && parts[0] == "127" && parts.iter().all(|p| octet(p)))
}

/// Text for an error message: quoted, with anything but printable ASCII as `\u{…}`.
fn shown(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            ' '..='~' => out.push(c),
            c => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
        }
    }
    out.push('"');
    out
}

/// The URL with anything before an `@` in its authority replaced by `***`.
fn without_userinfo(url: &str) -> Cow<'_, str> {
    let (scheme, rest) = url.split_once("://").map_or(("", url), |(s, r)| (s, r));
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    match authority.rsplit_once('@') {
        Some((_, host)) => {
            let sep = if url.contains("://") { "://" } else { "" };
            Cow::Owned(format!("{scheme}{sep}***@{host}{}", &rest[authority.len()..]))
        }
        None => Cow::Borrowed(url),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_credential_of_the_wrong_type_is_refused_naming_the_key_never_the_value() {
        for (credentials, shown) in [
            (
                r#"{"clientId": "id", "clientSecret": 98765432109}"#,
                "credentials.clientSecret must be a string, not a number",
            ),
            (r#"{"secret": {"value": "objectsecret-5521"}}"#, "credentials.secret must be a string, not an object"),
            (r#"{"objectsecret-5521": "x"}"#, "credentials has a key that is not one of"),
            (r#""stringsecret-5521""#, "credentials must be an object"),
        ] {
            let json = format!(r#"{{"baseUrl": "https://api.example", "credentials": {credentials}}}"#);
            let e = SyncOptions::from_json(json.as_bytes()).unwrap_err();
            assert_eq!(e.code(), "INVALID_OPTIONS");
            let text = e.to_string();
            assert!(text.contains(shown), "{text}");
            for value in ["98765432109", "objectsecret", "stringsecret"] {
                assert!(!text.contains(value), "{text}");
            }
        }
    }

    #[test]
    fn a_credential_put_in_another_setting_is_redacted_from_its_error() {
        let json = br#"{"baseUrl": "https://api.example", "credentials": {"clientSecret": "misplaced-5521"}, "mode": "misplaced-5521"}"#;
        let text = SyncOptions::from_json(json).unwrap_err().to_string();
        assert!(text.contains("unknown variant") && !text.contains("misplaced-5521"), "{text}");
    }
}
