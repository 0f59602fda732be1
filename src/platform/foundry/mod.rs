//! Foundry (JSON:API): list pages in [`page`], requests in [`wire`].

use serde::{Deserialize, Serialize};

mod page;
mod wire;

pub(crate) use page::read;
pub use page::ADMIN_RULE_SETS;
pub use wire::FoundryWire;

/// Foundry specifics: the learner rule set and role new users are registered with.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FoundryConfig {
    pub rule_set: String,
    pub role: String,
}

impl Default for FoundryConfig {
    fn default() -> Self {
        FoundryConfig { rule_set: "cc_learner".into(), role: "default".into() }
    }
}
