//! The sync executor: a sans-IO state machine that carries out a sync through HTTP the host
//! supplies. It never opens a connection and never reads a clock: the host passes the time to
//! every call, in ms since the Unix epoch (only an HTTP-date `Retry-After` needs the epoch; a
//! simulated clock may start anywhere else).
//!
//! ```text
//! let mut sync = SyncEngine::new(plan_options, sync_options)?;
//! sync.add_source(page, format, label)?;          // the system of record, any number of pages
//! sync.use_token(value, expires_at, now);         // optional: a token the host kept (engine/token.rs)
//! sync.start(now);
//! loop {
//!     while let Some(request) = sync.poll_transmit(now) { send(request) }   // the host's fetch
//!     while let Some(event) = sync.poll_event() { show(event) }
//!     if sync.is_finished() { break }
//!     wait for an answer or until sync.poll_timeout(now);
//!     sync.handle_response(id, now, answer_or_transport_error);
//!     if let Some((value, expires_at)) = sync.take_new_token() { keep(value, expires_at) }  // optional
//! }
//! let report = sync.report(now);
//! ```
//!
//! A full sync gets a token where the platform needs one (Foundry), lists every platform user
//! page by page (inactive ones too), plans, then sends one request per write action. A delta
//! sync plans from the changed rows and their stored platform IDs and sends only the writes.
//! Requests are spread by a token bucket whose rate adapts ([`pace::TokenBucket`]: down once
//! per run of 429s, back up about every second, learning from `RateLimit-*` headers), capped in
//! flight by `concurrency`; a 429 pauses everything (honouring `Retry-After`, else exponential backoff with jitter; a
//! pause past `retry.maxWaitMs` suspends the invocation, see `engine/rate_limit.rs`);
//! 5xx and transport failures are retried with backoff up to `retry.maxAttempts`. A create
//! whose answer was lost is never sent blindly again: the user is looked up by key first, and
//! only a listed user with the learner's key settles it. Every loop ends: tokens
//! (`engine/token.rs`), listings (`engine/paging.rs`) and answers (at
//! [`http::MAX_RESPONSE_BYTES`]) are bounded.
//! A redirect is never followed (the host sends with `redirect: 'manual'`): a 3xx stops the
//! run with `REDIRECTED` (see `engine/redirect.rs`).

mod engine;
mod moves;
pub mod options;
pub mod pace;
mod pinned;
pub mod redact;
pub mod report;

pub use engine::{Event, Phase, SyncEngine};
pub use options::{Budget, Credentials, Mode, RateConfig, RetryConfig, SyncOptions};
// The executor's HTTP vocabulary lives below the platforms (`crate::http`); `sync::http` is an
// alias inside the crate, and the types are re-exported for hosts that drive the engine.
use crate::http;
pub use crate::http::{Method, Request, RequestId, Response, TransportError, MAX_RESPONSE_BYTES};
pub use report::{Outcome, State, SyncReport};
