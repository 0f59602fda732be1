//! HTTP as plain data: the executor emits [`Request`]s and is handed back [`Response`]s or
//! [`TransportError`]s. The host sends them however it likes (fetch in JS, a simulated platform
//! in tests).

use std::fmt;

/// Identifies a request so that its answer can be handed back.
pub type RequestId = u64;

/// HTTP methods the platforms need.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Method {
    Get,
    Post,
    Patch,
    Delete,
}

impl Method {
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Post => "POST",
            Method::Patch => "PATCH",
            Method::Delete => "DELETE",
        }
    }
}

/// A request for the host to send.
#[derive(Clone, PartialEq, Eq)]
pub struct Request {
    pub id: RequestId,
    pub method: Method,
    pub url: String,
    /// Header names in lower case. `authorization` carries a credential: never log it.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Request {
    pub(crate) fn new(method: Method, url: String) -> Self {
        Request { id: 0, method, url, headers: Vec::new(), body: Vec::new() }
    }

    pub(crate) fn header(mut self, name: &str, value: impl Into<String>) -> Self {
        self.headers.push((name.to_string(), value.into()));
        self
    }

    pub(crate) fn json(self, body: &serde_json::Value) -> Self {
        let mut r = self.header("content-type", "application/json");
        r.body = serde_json::to_vec(body).expect("JSON values serialise");
        r
    }

    /// The path and query, for reports (the base URL is known; credentials never are in it).
    pub fn describe(&self) -> String {
        format!("{} {}", self.method.as_str(), self.url)
    }
}

/// Shows everything but credentials.
impl fmt::Debug for Request {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let headers: Vec<(&str, &str)> = self
            .headers
            .iter()
            .map(|(k, v)| (k.as_str(), if k == "authorization" { "[redacted]" } else { v.as_str() }))
            .collect();
        let body = if self.url.ends_with("/oauth/token") {
            "[redacted]".to_string()
        } else {
            String::from_utf8_lossy(&self.body).into_owned()
        };
        f.debug_struct("Request")
            .field("id", &self.id)
            .field("method", &self.method)
            .field("url", &self.url)
            .field("headers", &headers)
            .field("body", &body)
            .finish()
    }
}

/// A response from the platform.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Response {
    pub status: u16,
    /// Header names in lower case.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Response {
    pub fn new(status: u16, body: impl Into<Vec<u8>>) -> Self {
        Response { status, headers: Vec::new(), body: body.into() }
    }

    pub fn with_header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_ascii_lowercase(), value.to_string()));
        self
    }

    /// A header's value (names compared without case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }
}

/// The longest answer the engine takes, in bytes (256 MiB): the planner's bound on a page
/// ([`LIMITS`](crate::planner::LIMITS)`.page_bytes`, checked equal), since a longer
/// list page could not be read anyway. Hosts stop reading a body past it and hand back
/// [`TransportError::TooLarge`]; a longer body handed back whole is taken as that too.
pub const MAX_RESPONSE_BYTES: usize = 256 << 20;

/// Why no response came.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TransportError {
    /// No answer in time. The request may or may not have taken effect.
    Timeout,
    /// The connection failed or was lost. The request may or may not have taken effect.
    Network(String),
    /// The host's fetch met a redirect, did not follow it, and cannot show its status or
    /// target (a browser's opaque redirect under `redirect: 'manual'`). Never retried: the
    /// run stops with `REDIRECTED`, as for a 3xx answer.
    Redirected,
    /// The answer's body was longer than [`MAX_RESPONSE_BYTES`] (a body that never ends): the
    /// host stopped reading it. Never retried: the run stops with `RESPONSE_TOO_LARGE`.
    TooLarge,
}

impl fmt::Display for TransportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TransportError::Timeout => f.write_str("timed out"),
            TransportError::Network(m) => write!(f, "network error: {m}"),
            TransportError::Redirected => f.write_str("redirected (not followed)"),
            TransportError::TooLarge => write!(f, "the answer was longer than {} MiB", MAX_RESPONSE_BYTES >> 20),
        }
    }
}
