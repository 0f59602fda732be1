//! The report of a sync: every planned action in exactly one terminal state, with the
//! figures of the run. Nothing in it carries a credential.

use serde::{Deserialize, Serialize};

use crate::planner::{Action, ActionKind, Held, Summary, Withheld};
use crate::sync::options::Mode;

/// Where an action ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum State {
    /// The platform confirmed it.
    Done,
    /// It was tried and did not happen (`status` and `error` say why).
    Failed,
    /// Nothing was sent for it (`reason` says why: review, conflict, invalid, dry run…).
    Skipped,
}

/// What happened to one planned action.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Outcome {
    pub action: ActionKind,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    /// The user acted on; for a create, the new user's ID.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub row: Option<u32>,
    /// For `invalid` and `conflict`: the field at fault, as in the plan.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// For `invalid` and `conflict`: the value at fault, as in the plan.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    pub state: State,
    /// The last HTTP status, for failures.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    /// The platform's error, for failures.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Why it was skipped, or a note on how it was done (e.g. confirmed by a lookup).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Requests sent for it.
    pub attempts: u32,
}

impl Outcome {
    /// Action `a` ended in `state`: what the action says (its key, user, source row, and the
    /// field and value at fault), with nothing yet of how it ended.
    pub(crate) fn of(a: &Action<'_>, state: State, attempts: u32) -> Outcome {
        let own = |v: &Option<std::borrow::Cow<'_, str>>| v.as_deref().map(str::to_string);
        Outcome {
            action: a.action,
            key: own(&a.key),
            platform_id: own(&a.platform_id),
            source: own(&a.source),
            row: a.row,
            field: own(&a.field),
            value: own(&a.value),
            state,
            status: None,
            error: None,
            reason: None,
            attempts,
        }
    }
}

/// A user the sync created, for the host to store its platform ID; or one whose create was
/// refused because a user with the learner's key already exists (its outcome is `skipped`,
/// with that user's ID): the learner's account all the same.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Created {
    pub key: Option<String>,
    pub platform_id: String,
    pub source: Option<String>,
    pub row: Option<u32>,
}

/// Counts of terminal states.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counts {
    pub done: u32,
    pub failed: u32,
    pub skipped: u32,
}

/// Why a run stopped: the `code` of a report's `error`, one stable string each (documented
/// for JavaScript as `RunErrorCode` in `js/index.d.ts`, and in the README's "Run errors").
/// The run's actions not sent fail "not sent: …" with the message.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum RunErrorCode {
    /// The platform refused the credentials (HTTP 401), or every access token it issued.
    AuthFailed,
    /// No access token after every retry (5xx, network failures).
    PlatformUnavailable,
    /// Before anything answered, the platform could not be reached (its host name does not
    /// resolve, the connection was refused, TLS failed): stopped at once, naming the host and
    /// why.
    PlatformUnreachable,
    /// The token endpoint answered 429 more than `retry.maxRateLimited` times; or, in a
    /// suspended report, a `Retry-After` longer than `retry.maxWaitMs`: resume later.
    RateLimited,
    /// The platform's users could not all be read.
    ListingFailed,
    /// The listing does not end (a page seen before, an empty page that says more follow,
    /// more pages than the platform's total allows); nothing was written.
    PagingLoop,
    /// An answer past [`MAX_RESPONSE_BYTES`](crate::http::MAX_RESPONSE_BYTES).
    ResponseTooLarge,
    /// The platform answered a redirect, never followed: the base URL is wrong.
    Redirected,
    /// A plan given to apply would act on an administrator or unmanaged user the listing
    /// shows: nothing was sent.
    PlanRefused,
    /// A resumed listing finished and the run had no source pages given again: nothing was
    /// planned (planning against nothing would deactivate everyone).
    InvalidInput,
    /// In a suspended report: the host's shared budget (`host.sharedBudget`) could not be
    /// consulted; nothing more was sent; resume from the checkpoint once it can.
    BudgetFailed,
}

impl RunErrorCode {
    /// Every code, for documentation checks.
    pub const ALL: [RunErrorCode; 11] = [
        RunErrorCode::AuthFailed,
        RunErrorCode::PlatformUnavailable,
        RunErrorCode::PlatformUnreachable,
        RunErrorCode::RateLimited,
        RunErrorCode::ListingFailed,
        RunErrorCode::PagingLoop,
        RunErrorCode::ResponseTooLarge,
        RunErrorCode::Redirected,
        RunErrorCode::PlanRefused,
        RunErrorCode::InvalidInput,
        RunErrorCode::BudgetFailed,
    ];

    /// The code as JavaScript and the report show it (`AUTH_FAILED`).
    pub fn as_str(self) -> &'static str {
        match self {
            RunErrorCode::AuthFailed => "AUTH_FAILED",
            RunErrorCode::PlatformUnavailable => "PLATFORM_UNAVAILABLE",
            RunErrorCode::PlatformUnreachable => "PLATFORM_UNREACHABLE",
            RunErrorCode::RateLimited => "RATE_LIMITED",
            RunErrorCode::ListingFailed => "LISTING_FAILED",
            RunErrorCode::PagingLoop => "PAGING_LOOP",
            RunErrorCode::ResponseTooLarge => "RESPONSE_TOO_LARGE",
            RunErrorCode::Redirected => "REDIRECTED",
            RunErrorCode::PlanRefused => "PLAN_REFUSED",
            RunErrorCode::InvalidInput => "INVALID_INPUT",
            RunErrorCode::BudgetFailed => "BUDGET_FAILED",
        }
    }
}

/// A code equals the string it is shown as (`code == "AUTH_FAILED"`).
impl PartialEq<&str> for RunErrorCode {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl std::fmt::Display for RunErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A failure that stopped the run, or (in a suspended report) why this invocation stopped.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunError {
    pub code: RunErrorCode,
    pub message: String,
}

#[cfg(test)]
mod tests {
    use super::RunErrorCode;

    #[test]
    fn each_code_serialises_as_it_is_shown() {
        for code in RunErrorCode::ALL {
            assert_eq!(serde_json::to_value(code).unwrap(), code.as_str());
        }
    }
}

/// The report of one run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SyncReport {
    pub mode: Mode,
    pub dry_run: bool,
    /// Whether every action reached a terminal state (false while running or after a stop).
    pub finished: bool,
    /// This invocation stopped at its budget, or at a pause longer than `retry.maxWaitMs`
    /// (then `error` says `RATE_LIMITED`); resume from the checkpoint to go on.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub suspended: bool,
    /// Invocations the run took so far (resumed runs: more than one).
    #[serde(default)]
    pub invocations: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<RunError>,
    /// Suspended by a pause longer than `retry.maxWaitMs`: when it ends (ms since the Unix
    /// epoch). A run resumed before then suspends again with nothing sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resume_at: Option<u64>,
    /// The mass-change guard held the plan: no write was sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub held: Option<Held>,
    /// The source-completeness guard withheld deactivations.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub withheld: Option<Withheld>,
    pub counts: Counts,
    /// The plan's own counts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plan: Option<Summary>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub fingerprint: String,
    pub requests: u32,
    pub retries: u32,
    /// 429 answers seen.
    pub rate_limited: u32,
    pub pages_read: u32,
    pub elapsed_ms: u64,
    pub created: Vec<Created>,
    /// One per planned action, in plan order.
    pub outcomes: Vec<Outcome>,
}
