//! What a plan is made with: the platform, the matching keys in order of precedence, the
//! orphan policy, and how source columns map to fields. Options arrive as JSON (from the CLI,
//! a config file or a JS object) and are echoed in every plan.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::error::Error;
use crate::model::Field;

/// The learning platform a plan is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Platform {
    Foundry,
    Learnifier,
    Scim,
}

impl Platform {
    pub fn name(self) -> &'static str {
        match self {
            Platform::Foundry => "foundry",
            Platform::Learnifier => "learnifier",
            Platform::Scim => "scim",
        }
    }

    /// Whether the platform stores `field`. Foundry has a column for every field; Learnifier
    /// and SCIM keep the primary matching key in their external id and have no place for the
    /// other identifiers, so those are never compared or written there.
    pub fn stores(self, field: Field, primary: Field) -> bool {
        match self {
            Platform::Foundry => true,
            Platform::Learnifier | Platform::Scim => {
                field == primary || matches!(field, Field::Email | Field::FirstName | Field::LastName)
            }
        }
    }

    /// Whether users can be deleted (Foundry has no delete endpoint).
    pub fn supports_delete(self) -> bool {
        !matches!(self, Platform::Foundry)
    }

    /// Fields the platform requires to create a user.
    pub fn required_for_create(self) -> &'static [Field] {
        match self {
            Platform::Foundry => &[Field::FirstName, Field::LastName, Field::Email],
            // Learnifier users are found by primaryEmail; SCIM's userName is the email.
            Platform::Learnifier | Platform::Scim => &[Field::Email],
        }
    }
}

/// What happens to a platform user that no learner matches.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OrphanPolicy {
    /// List it for an administrator to review; change nothing (the default).
    #[default]
    Review,
    /// Deactivate it (on Learnifier: lock it with hardLock).
    Deactivate,
    /// Delete it (Learnifier and SCIM only).
    Delete,
}

/// How one field is read from the source: a column name, or for `active` a rule.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum ColumnRule {
    Column(String),
    #[serde(rename_all = "camelCase")]
    Rule {
        column: String,
        /// Values (compared trimmed, without case) that mean active.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        active_values: Option<Vec<String>>,
        /// Values that mean inactive. When both lists are given, any other value is invalid;
        /// with only `activeValues`, any other non-empty value means inactive.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        inactive_values: Option<Vec<String>>,
    },
}

impl ColumnRule {
    pub fn column(&self) -> &str {
        match self {
            ColumnRule::Column(c) | ColumnRule::Rule { column: c, .. } => c,
        }
    }
}

/// Which SCIM attribute holds the primary matching key.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum ScimKey {
    #[default]
    #[serde(rename = "externalId")]
    ExternalId,
    #[serde(rename = "userName")]
    UserName,
}

/// What SCIM's `userName` holds when it is not the key.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum ScimUserName {
    /// The email (the default).
    #[default]
    Email,
    /// The primary matching key's value.
    Key,
}

/// Where learner fields travel on a SCIM platform. Names always go in `name.givenName` /
/// `name.familyName` and the email in the primary `emails` entry.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ScimMapping {
    #[serde(default)]
    pub key: ScimKey,
    #[serde(default)]
    pub user_name: ScimUserName,
}

impl ScimMapping {
    fn is_default(&self) -> bool {
        *self == ScimMapping::default()
    }
}

/// Safety guards, on by default. See [`crate::planner::guards`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Guards {
    /// Hold a plan that deactivates or deletes more than this percentage of the managed
    /// platform users…
    #[serde(default = "default_percent")]
    pub max_deactivate_percent: f64,
    /// …or more than this many, whichever is larger.
    #[serde(default = "default_count")]
    pub max_deactivate_count: u32,
    /// The fingerprint of a held plan that an administrator approved: it goes through.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approve: Option<String>,
    /// The learners the last successful run read. A source with far fewer withholds every
    /// deactivation (creates and updates go ahead).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expected_learners: Option<u32>,
    /// How far below `expectedLearners` a source may fall (0.1: 10% fewer) before it counts
    /// as incomplete.
    #[serde(default = "default_tolerance")]
    pub source_tolerance: f64,
    /// The host says a source page failed to load: withhold every deactivation.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub source_incomplete: bool,
}

fn default_percent() -> f64 {
    5.0
}
fn default_count() -> u32 {
    50
}
fn default_tolerance() -> f64 {
    0.1
}

impl Default for Guards {
    fn default() -> Self {
        Guards {
            max_deactivate_percent: default_percent(),
            max_deactivate_count: default_count(),
            approve: None,
            expected_learners: None,
            source_tolerance: default_tolerance(),
            source_incomplete: false,
        }
    }
}

impl Guards {
    fn is_default(&self) -> bool {
        *self == Guards::default()
    }
}

/// Options for one plan.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PlanOptions {
    pub platform: Platform,
    /// Matching keys, most trusted first. The first is the primary key: the one a `link`
    /// writes onto a platform user found by a later key.
    #[serde(rename = "match", default = "default_match")]
    pub match_keys: Vec<Field>,
    #[serde(default)]
    pub orphans: OrphanPolicy,
    /// First sync: a learner that matches nobody by the `match` keys is linked to a platform
    /// user with no value of the primary key and the same email (the key is then written onto
    /// it), as if `email` were the last matching key. On by default (MISSION: link, never
    /// create again); `false` turns it off, and such a learner is then a `keyTaken` conflict
    /// rather than a create the platform would refuse.
    #[serde(default = "yes", skip_serializing_if = "is_true")]
    pub link_by_email: bool,
    /// Field name (or `active`) to source column. Unmapped fields use their own names.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub mapping: BTreeMap<String, ColumnRule>,
    /// Further role or rule-set names that mark a platform user as an administrator.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub admin_roles: Vec<String>,
    /// Keys or platform IDs that orphan handling must never touch.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub protect: Vec<String>,
    /// SCIM only: which attributes carry the key and the email.
    #[serde(default, skip_serializing_if = "ScimMapping::is_default")]
    pub scim: ScimMapping,
    #[serde(default, skip_serializing_if = "Guards::is_default")]
    pub guards: Guards,
}

fn yes() -> bool {
    true
}

fn is_true(b: &bool) -> bool {
    *b
}

fn default_match() -> Vec<Field> {
    vec![Field::SsoId]
}

impl PlanOptions {
    /// Options for `platform` with every default.
    pub fn new(platform: Platform) -> Self {
        PlanOptions {
            platform,
            match_keys: default_match(),
            orphans: OrphanPolicy::Review,
            link_by_email: true,
            mapping: BTreeMap::new(),
            admin_roles: Vec::new(),
            protect: Vec::new(),
            scim: ScimMapping::default(),
            guards: Guards::default(),
        }
    }

    /// Reads options from JSON and checks them.
    pub fn from_json(bytes: &[u8]) -> Result<Self, Error> {
        let opts: PlanOptions = serde_json::from_slice(bytes).map_err(|e| Error::InvalidOptions(e.to_string()))?;
        opts.validate()?;
        Ok(opts)
    }

    /// The primary matching key.
    pub fn primary(&self) -> Field {
        self.match_keys[0]
    }

    /// The keys matching tries, in order: `match`, then the email when linking by email is on
    /// and `match` does not name it.
    pub fn keys(&self) -> Vec<Field> {
        let mut keys = self.match_keys.clone();
        if self.link_by_email && !keys.contains(&Field::Email) {
            keys.push(Field::Email);
        }
        keys
    }

    /// Checks the combination of settings.
    pub fn validate(&self) -> Result<(), Error> {
        let bad = |m: String| Err(Error::InvalidOptions(m));
        if self.match_keys.is_empty() {
            return bad("match: at least one matching key is needed".into());
        }
        for (i, k) in self.match_keys.iter().enumerate() {
            if !k.is_key() {
                return bad(format!(
                    "match: {} cannot be a matching key (use ssoId, employeeId, studentId or email)",
                    k.name()
                ));
            }
            if self.match_keys[..i].contains(k) {
                return bad(format!("match: {} is listed twice", k.name()));
            }
        }
        if self.orphans == OrphanPolicy::Delete && !self.platform.supports_delete() {
            return bad(format!(
                "orphans: {} has no way to delete users; use \"deactivate\" or \"review\"",
                self.platform.name()
            ));
        }
        let g = &self.guards;
        if !(0.0..=100.0).contains(&g.max_deactivate_percent) || !(0.0..1.0).contains(&g.source_tolerance) {
            return bad("guards: maxDeactivatePercent must be in [0, 100] and sourceTolerance in [0, 1)".into());
        }
        for (field, rule) in &self.mapping {
            if field != "active" && field != "platformId" && Field::from_name(field).is_none() {
                return bad(format!("mapping: unknown field {field:?} (fields: ssoId, employeeId, studentId, email, firstName, lastName, active, platformId)"));
            }
            if rule.column().trim().is_empty() {
                return bad(format!("mapping.{field}: the column name is empty"));
            }
            if let ColumnRule::Rule { active_values, inactive_values, .. } = rule {
                if field != "active" && (active_values.is_some() || inactive_values.is_some()) {
                    return bad(format!("mapping.{field}: activeValues/inactiveValues only apply to active"));
                }
                if field == "active" && active_values.as_ref().is_none_or(|v| v.is_empty()) && inactive_values.is_some()
                {
                    return bad("mapping.active: inactiveValues needs activeValues too".into());
                }
            }
        }
        Ok(())
    }
}
