//! The credentials a platform is signed in with. They sit below the platforms (which build
//! the requests that carry them) and the executor (which holds them for a run): neither layer
//! owns them. `Debug` shows which are set, never their values, and no error shows one.

use std::fmt;

use serde::Deserialize;
use serde_json::Value;

use crate::error::Error;

/// Secrets. `Debug` shows which are set, never their values.
#[derive(Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Credentials {
    /// Foundry OAuth2 client credentials.
    pub client_id: Option<String>,
    pub client_secret: Option<String>,
    /// Learnifier Back Office key and secret (HTTP Basic).
    pub key: Option<String>,
    pub secret: Option<String>,
    /// SCIM bearer token.
    pub token: Option<String>,
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let set = |o: &Option<String>| if o.is_some() { "[set]" } else { "[unset]" };
        f.debug_struct("Credentials")
            .field("client_id", &set(&self.client_id))
            .field("client_secret", &set(&self.client_secret))
            .field("key", &set(&self.key))
            .field("secret", &set(&self.secret))
            .field("token", &set(&self.token))
            .finish()
    }
}

impl Credentials {
    /// The credentials from a JSON value: an object of strings (a key given `null` is unset).
    /// Errors name the key and the kind of value, never the value, nor a key that is not one
    /// of the credentials' names (it may be a secret pasted in the wrong place).
    pub fn from_value(v: Value) -> Result<Credentials, Error> {
        const NAMES: &str = "clientId, clientSecret, key, secret, token";
        let bad = |m: String| Err(Error::InvalidOptions(m));
        let map = match v {
            Value::Null => return Ok(Credentials::default()),
            Value::Object(map) => map,
            other => return bad(format!("credentials must be an object ({NAMES}), not {}", kind(&other))),
        };
        let mut c = Credentials::default();
        for (name, value) in map {
            let slot = match name.as_str() {
                "clientId" => &mut c.client_id,
                "clientSecret" => &mut c.client_secret,
                "key" => &mut c.key,
                "secret" => &mut c.secret,
                "token" => &mut c.token,
                _ => return bad(format!("credentials has a key that is not one of {NAMES} (not shown)")),
            };
            match value {
                Value::Null => {}
                Value::String(s) => *slot = Some(s),
                other => {
                    return bad(format!(
                        "credentials.{name} must be a string, not {} (the value is not shown)",
                        kind(&other)
                    ))
                }
            }
        }
        Ok(c)
    }
}

/// What kind of JSON value `v` is, for an error that must not show it.
fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}
