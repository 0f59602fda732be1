//! Learnifier: user arrays (and the normalised array form) in [`page`], requests in [`wire`].

mod page;
mod wire;

pub(crate) use page::read;
pub use wire::LearnifierWire;
