//! The errors the core returns. Each has a stable `code` that the binding hands to JavaScript,
//! so callers branch on the code, never on the prose.

use thiserror::Error;

/// Why a page or the options were refused as a whole. Problems with a single record never
/// become an `Error`: they become an `invalid` action in the plan and nothing else is lost.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum Error {
    /// The options could not be read, or name a platform, key, policy or field that does not
    /// exist, or combine settings the platform cannot honour (e.g. deleting users on Foundry).
    #[error("invalid options: {0}")]
    InvalidOptions(String),

    /// A platform page is not valid JSON, or not the shape of any platform's list response.
    #[error("{label}: {detail}")]
    MalformedPage { label: String, detail: String },

    /// A source page could not be read at all (not CSV or JSON, unreadable header row).
    #[error("{label}: {detail}")]
    MalformedSource { label: String, detail: String },

    /// A page, or all the records together, exceed a bound (see [`crate::planner::LIMITS`]).
    #[error("{label}: {detail}")]
    TooLarge { label: String, detail: String },

    /// The platform refused the credentials, or none were given for it.
    #[error("authentication failed: {0}")]
    AuthFailed(String),

    /// The input as a whole cannot be used: a full sync given no source pages (it would
    /// plan to deactivate everyone), or a plan that is not a learner-sync plan.
    #[error("{0}")]
    InvalidInput(String),

    /// A checkpoint cannot be read (not a learner-sync checkpoint, another format version,
    /// damaged), or cannot be resumed as it is (a run resumed while listing with no source).
    #[error("invalid checkpoint: {0}")]
    InvalidCheckpoint(String),

    /// A checkpoint was made for another run: other plan options or another platform
    /// address, mode or paging. Start a new run (a full sync lists the platform afresh).
    #[error("the checkpoint belongs to another run: {0}")]
    CheckpointMismatch(String),

    /// A plan given to apply (`sync --plan FILE`, `withPlan`, `fromPlan`) asks for what the
    /// planner never plans: its held fingerprint does not match its own actions, or it
    /// deactivates or deletes an administrator, an unmanaged or a protected user as an orphan,
    /// or orphans against its own policy. Nothing of it is sent.
    #[error("the plan was refused: {0}")]
    PlanRefused(String),

    /// A source page has no column for a field the mapping (or matching) requires.
    #[error("{label}: no column {column:?} for field {field}")]
    MissingColumn { label: String, field: String, column: String },
}

impl Error {
    /// A stable code for callers to branch on.
    pub fn code(&self) -> &'static str {
        match self {
            Error::InvalidOptions(_) => "INVALID_OPTIONS",
            Error::MalformedPage { .. } => "MALFORMED_PAGE",
            Error::MalformedSource { .. } => "MALFORMED_SOURCE",
            Error::MissingColumn { .. } => "MISSING_COLUMN",
            Error::AuthFailed(_) => "AUTH_FAILED",
            Error::TooLarge { .. } => "TOO_LARGE",
            Error::InvalidInput(_) => "INVALID_INPUT",
            Error::InvalidCheckpoint(_) => "INVALID_CHECKPOINT",
            Error::CheckpointMismatch(_) => "CHECKPOINT_MISMATCH",
            Error::PlanRefused(_) => "PLAN_REFUSED",
        }
    }

    /// The page label the error is about, if any.
    pub fn label(&self) -> Option<&str> {
        match self {
            Error::InvalidOptions(_)
            | Error::AuthFailed(_)
            | Error::InvalidInput(_)
            | Error::InvalidCheckpoint(_)
            | Error::CheckpointMismatch(_)
            | Error::PlanRefused(_) => None,
            Error::MalformedPage { label, .. }
            | Error::TooLarge { label, .. }
            | Error::MalformedSource { label, .. }
            | Error::MissingColumn { label, .. } => Some(label),
        }
    }
}
