//! # learner-sync
//!
//! Keeps the learner records of a learning platform in step with an organisation's system of
//! record. This crate is the engine: it has no I/O of its own and no knowledge of JavaScript.
//!
//! The protocol of one planning run:
//!
//! 1. [`Planner::new`] takes [`PlanOptions`] (platform, matching keys, orphan policy, mapping).
//! 2. The host hands it pages as raw bytes, in any order and as they arrive:
//!    [`Planner::add_source`] for the system of record (CSV or JSON text),
//!    [`Planner::add_target`] for the platform (a Foundry JSON:API page, a Learnifier array, a
//!    SCIM ListResponse, or already-normalised JSON). Each page is parsed at once and only the
//!    fields the planner needs are kept.
//! 3. [`Planner::finish`] matches learners to platform users and returns the [`Plan`]: only what
//!    changes, with a summary and a fingerprint of the platform state it saw.
//!
//! [`export`] turns a plan or a sync report into CSV for a spreadsheet.
//!
//! The WebAssembly binding (`src/binding`, built only for `wasm32`) is a thin skin over this.

pub mod credentials;
pub mod error;
pub mod export;
pub mod http;
pub mod model;
pub mod normalise;
pub mod options;
pub mod planner;
pub mod platform;
pub mod source;
pub mod sync;

#[cfg(target_arch = "wasm32")]
pub mod binding;

pub use error::Error;
pub use model::Field;
pub use options::{OrphanPolicy, PlanOptions, Platform};
pub use planner::{Action, ActionKind, PageStats, Plan, Planner, Summary};
pub use platform::TargetFormat;
pub use source::SourceFormat;
