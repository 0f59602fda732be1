//! Redirects are never followed. Every request carries a credential (a Bearer token, HTTP
//! Basic, or on the token request the client secret in the body), and a runtime that follows a
//! redirect may carry it to wherever the `Location` points (workerd keeps every header). So the
//! host sends each request with `redirect: 'manual'` and hands the 3xx answer back, and the
//! engine never sends anything to the target.
//!
//! A platform that redirects its API is telling us the base URL is wrong (a moved tenant, a
//! login page, an `http://` base sent to `https://`): a setting to fix, not a passing fault.
//! So a 3xx (or [`TransportError::Redirected`](crate::sync::TransportError::Redirected), a
//! redirect the host's fetch could not show) stops the run with `REDIRECTED`, whose message
//! names the status and the target's host only (never its path, query or user information,
//! which may hold a token). The write that met it was not processed by the platform (a 3xx
//! does nothing but point elsewhere) and fails with the status; every action not sent fails
//! "not sent", as for any stop.

use super::jobs::{Job, JobKind};
use super::SyncEngine;
use crate::sync::http::Response;
use crate::sync::report::State;

/// The longest host named in a message.
const MAX_HOST: usize = 255;

impl SyncEngine {
    /// A redirect answered `job`: `resp` is the 3xx answer, or `None` when the host's fetch
    /// could not show it.
    pub(super) fn on_redirect(&mut self, job: Job, resp: Option<&Response>, now: u64) {
        let what = match job.kind {
            JobKind::Token => "the token request",
            JobKind::List(_) => "a list request",
            JobKind::Write(_) | JobKind::Park(_) => "a write",
            JobKind::Lookup(_) => "a lookup",
        };
        let answer = match resp {
            Some(r) => format!(
                "HTTP {}, a redirect to {}",
                r.status,
                redirect_target(r.header("location"), &self.options.base_url)
            ),
            None => "a redirect (the host's fetch did not show its status or target)".to_string(),
        };
        let message = format!(
            "the platform answered {what} with {answer}; redirects are never followed, so that no credential \
             reaches another address: check baseUrl (the platform's API root)"
        );
        let status = resp.map(|r| r.status);
        if let JobKind::Write(i) | JobKind::Park(i) | JobKind::Lookup(i) = job.kind {
            let detail = if job.kind == JobKind::Lookup(i) && self.states[i].uncertain {
                format!("the lookup after a lost answer met {answer} (not followed): whether the user was created is unknown")
            } else {
                format!("not processed: the platform answered {answer} (not followed)")
            };
            self.settle(i, State::Failed, None, status, Some(detail), None);
        }
        if self.error.is_none() {
            self.stop("REDIRECTED", message, now);
        }
    }
}

/// Where a `Location` points, for a message: the host (and port) only, or what kind of
/// address it is. Nothing else of it is shown: its path and query may hold a token, its user
/// information a password, and any of it control characters meant for a terminal.
pub(crate) fn redirect_target(location: Option<&str>, base_url: &str) -> String {
    let Some(location) = location.map(str::trim) else { return "nowhere (no Location header)".into() };
    let scheme_len = location.find("://").filter(|&i| {
        i > 0 && location[..i].bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.'))
    });
    let authority = if let Some(rest) = location.strip_prefix("//") {
        rest
    } else if let Some(i) = scheme_len {
        let scheme = &location[..i];
        if !scheme.eq_ignore_ascii_case("https") && !scheme.eq_ignore_ascii_case("http") {
            return "an address that is not http(s)".into();
        }
        &location[i + 3..]
    } else if location.starts_with('/') || !location.contains(':') {
        let base_host = base_url.split_once("://").map_or("", |(_, r)| r.split('/').next().unwrap_or(""));
        return format!("another path on host {}", shown_host(base_host));
    } else {
        return "an address that is not http(s)".into();
    };
    let authority = authority.split(['/', '?', '#', '\\']).next().unwrap_or("");
    let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    format!("host {}", shown_host(host))
}

/// A host as it may appear in a message: a plain name or address and port, else a placeholder.
fn shown_host(host: &str) -> String {
    let plain = host.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_' | b':' | b'[' | b']'));
    if host.is_empty() || host.len() > MAX_HOST || !plain {
        "(a host that cannot be shown)".into()
    } else {
        host.to_ascii_lowercase()
    }
}
