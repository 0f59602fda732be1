//! What the executor needs from a platform's HTTP API: list pages, write requests for plan
//! actions, a lookup by key (to settle a create whose answer was lost), and how to read the
//! answers. Each platform implements [`Wire`] in its `wire.rs`.

use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use serde_json::Value;

use crate::credentials::Credentials;
use crate::http::{Request, Response};
use crate::model::Field;
use crate::normalise;
use crate::options::ScimMapping;
use crate::planner::Action;
use crate::platform::foundry::FoundryConfig;

/// Where a listing is: `pass` for platforms listed in more than one pass (Foundry lists
/// inactive users separately), `position` is the page number, offset or start index.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Cursor {
    pub pass: u8,
    pub position: u64,
}

/// The answer to a lookup by key, judged by the key of each user it lists (see [`judge_lookup`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Lookup {
    /// Exactly one user listed has the key: its platform ID.
    Found(String),
    /// No user listed (or the platform said 404): nobody has the key.
    Absent,
    /// Users were listed, none with the key: the platform ignored the filter, so the answer
    /// says nothing about whether a user with the key exists. Holds how many were listed.
    Unmatched(u32),
    /// More than one user listed has the key: which one is the learner's cannot be told.
    /// Holds how many.
    Ambiguous(u32),
    /// The answer could not be read (the text says why).
    Unreadable(String),
}

/// Judges the users a lookup answer listed, each as its ID and its value of the primary key
/// (`None` where the user has none). A user counts only if its key equals `key` after the
/// planner's normalisation (trimmed, NFC, [`match_form`](crate::normalise::match_form): emails
/// without case, identifiers exactly, so Learnifier's case-sensitive external id stays so):
/// a platform that ignores the filter lists other users, and taking the first of them would
/// report another learner's account as this one's.
pub fn judge_lookup<'v>(
    primary: Field,
    key: &str,
    listed: impl IntoIterator<Item = (Option<String>, Option<&'v Value>)>,
) -> Lookup {
    let wanted = normalise::clean(key);
    let wanted = normalise::match_form(primary, &wanted);
    let (mut listed_count, mut found) = (0u32, Vec::new());
    for (id, value) in listed {
        listed_count += 1;
        let Some(value) = value.and_then(scalar) else { continue };
        let value = normalise::clean(&value);
        if normalise::match_form(primary, &value) == wanted {
            found.push(id);
        }
    }
    match found.as_slice() {
        [] if listed_count == 0 => Lookup::Absent,
        [] => Lookup::Unmatched(listed_count),
        [Some(id)] if !id.trim().is_empty() => Lookup::Found(id.clone()),
        [_] => Lookup::Unreadable("the user the lookup found has no id".into()),
        many => Lookup::Ambiguous(many.len() as u32),
    }
}

/// How requests are signed.
#[derive(Clone, Debug)]
pub enum Auth {
    /// Foundry: a bearer token fetched with client credentials.
    OAuthClient,
    /// A fixed `Authorization` header value (HTTP Basic, or a SCIM bearer token).
    Fixed(String),
    /// The host signs requests itself (`hostAuth`).
    Host,
}

/// What every platform's wire format is given.
#[derive(Clone, Debug)]
pub struct WireContext {
    /// The base URL without a trailing slash.
    pub base: String,
    pub primary: Field,
    pub page_size: Option<u32>,
    pub foundry: FoundryConfig,
    pub scim: ScimMapping,
    /// Learnifier: send `autoClearEmail` with updates that set an email.
    pub auto_clear_email: bool,
}

/// One platform's HTTP API.
pub trait Wire {
    /// How requests are signed, from the credentials.
    fn auth(&self, credentials: &Credentials) -> Auth;
    /// The token request (OAuth platforms only).
    fn token_request(&self, _credentials: &Credentials) -> Option<Request> {
        None
    }
    /// Reads a token answer: the token and its lifetime in seconds.
    fn read_token(&self, _response: &Response) -> Option<(String, u64)> {
        None
    }
    /// Whether the platform counts token requests against the organisation's rate budget,
    /// so that they take a slot of the rate window as any request does. Where the platform's
    /// documentation is silent, the safe answer is yes: a token request left out of the
    /// window could be the one that meets a 429. (Platforms without token requests: unused.)
    fn token_requests_count_against_rate(&self) -> bool {
        true
    }
    fn first_page(&self) -> Cursor;
    fn list_request(&self, cursor: Cursor) -> Request;
    /// The page after `cursor`, given the answer and what the planner read from it.
    fn next_page(&self, cursor: Cursor, response: &Response, records: u32, has_more: Option<bool>) -> Option<Cursor>;
    /// The request that carries out a plan action (None for actions that send nothing).
    fn write_request(&self, action: &Action) -> Option<Request>;
    /// Whether a list answer says more pages follow (`has_more`: what the planner read in
    /// the body), for the paging-loop guard; platforms that say it in a header read it there.
    fn says_more(&self, _response: &Response, has_more: Option<bool>) -> bool {
        has_more == Some(true)
    }
    /// The new user's ID from a create's answer.
    fn created_id(&self, response: &Response) -> Option<String>;
    /// Looks a user up by the primary key's value.
    fn lookup_request(&self, key: &str) -> Request;
    /// Reads a lookup's answer for `key` (the value the lookup asked for): only a listed user
    /// whose primary key equals it counts (see [`judge_lookup`]).
    fn read_lookup(&self, response: &Response, key: &str) -> Lookup;
    /// The platform's error message from an error answer.
    fn error_detail(&self, response: &Response) -> String;
    /// Whether an error answer says a unique value (email, key) is already taken.
    fn is_uniqueness_error(&self, response: &Response) -> bool;
    /// Lets an update take an email another user holds, clearing it there (Learnifier's
    /// `autoClearEmail`); platforms without such a flag leave the request as it is.
    fn mark_auto_clear(&self, _request: &mut Request) {}
}

/// Characters left as they are in a query value (RFC 3986 unreserved).
const QUERY: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'.').remove(b'_').remove(b'~');

/// Percent-encodes a query or path value.
pub fn enc(value: &str) -> String {
    utf8_percent_encode(value, QUERY).to_string()
}

/// Characters of an error body kept for the executor, which redacts credentials from them
/// and only then cuts them to a report's length (a cut before redaction can leave half a
/// secret that no longer looks like one).
const BODY_CHARS: usize = 4_000;

/// An error body's text (up to [`BODY_CHARS`]), or the status alone.
pub(crate) fn body_excerpt(response: &Response) -> String {
    let text = String::from_utf8_lossy(&response.body[..response.body.len().min(BODY_CHARS * 4)]);
    let text = text.trim();
    if text.is_empty() {
        return format!("HTTP {}", response.status);
    }
    match text.char_indices().nth(BODY_CHARS) {
        Some((at, _)) => format!("{}…", &text[..at]),
        None => text.to_string(),
    }
}

/// A JSON string or number as text (IDs come as either).
pub(crate) fn scalar(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}
