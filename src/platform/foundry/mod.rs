//! Foundry (JSON:API): list pages in [`page`], requests in [`wire`].

mod page;
mod wire;

pub use page::ADMIN_RULE_SETS;
pub(crate) use page::read;
pub use wire::FoundryWire;
