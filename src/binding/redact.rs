//! The core's redaction for JavaScript: the CLI, the step API and the Worker pass every text
//! they print or throw through it, with the credentials they hold (see `crate::sync::redact`).

use std::cell::RefCell;

use wasm_bindgen::prelude::*;

use crate::sync::redact::Redactor;
use crate::sync::Credentials;

thread_local! {
    /// The redactor last built, with what it was built from: a host redacts line after line
    /// with the same credentials (the CLI's stderr), and building one costs tens of µs.
    static LAST: RefCell<Option<(String, Vec<String>, Redactor)>> = const { RefCell::new(None) };
}

/// `text` with every credential in `credentials` (`{clientId, clientSecret, key, secret,
/// token}`, JSON text) and every extra secret removed, in any encoding. Credentials that
/// cannot be read leave only the extra secrets to search for: redaction never throws.
#[wasm_bindgen(js_name = redactSecrets)]
pub fn redact_secrets(text: &str, credentials_json: &str, extra: Vec<String>) -> String {
    LAST.with_borrow_mut(|last| {
        let fresh = last.as_ref().is_none_or(|(c, e, _)| c != credentials_json || *e != extra);
        if fresh {
            let credentials = serde_json::from_str(credentials_json).ok().and_then(|v| Credentials::from_value(v).ok());
            let base = credentials.as_ref().map(Redactor::for_credentials).unwrap_or_default();
            let redactor = extra.iter().fold(base, |r, s| r.with_secret(Some(s)));
            *last = Some((credentials_json.to_string(), extra, redactor));
        }
        last.as_ref().expect("built above").2.redact(text)
    })
}
