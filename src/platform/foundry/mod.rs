//! Foundry (JSON:API): list pages in [`page`], requests in [`wire`].

mod page;
mod wire;

pub(crate) use page::read;
pub use page::ADMIN_RULE_SETS;
pub use wire::FoundryWire;
