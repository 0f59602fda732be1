//! The WebAssembly skin: the only code that knows about JavaScript. It converts bytes and
//! strings in, JSON text and small objects out, and turns core errors into JS `Error`s with a
//! stable `code`. The friendly JS API (`js/core.js`) wraps these exports.

mod errors;
pub mod planner;
pub mod redact;
pub mod sync;
