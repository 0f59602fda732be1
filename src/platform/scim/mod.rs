//! SCIM 2.0: ListResponse pages in [`page`], requests in [`wire`].

mod page;
mod wire;

pub(crate) use page::read;
pub use wire::ScimWire;
