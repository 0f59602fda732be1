//! The WebAssembly skin: the only code that knows about JavaScript. It converts bytes and
//! strings in, JSON text and small objects out, and turns core errors into JS `Error`s with a
//! stable `code`. The friendly JS API (`js/core.js`) wraps these exports.

mod errors;
pub mod planner;
#[cfg(feature = "sync")]
pub mod redact;
#[cfg(feature = "sync")]
pub mod sync;
