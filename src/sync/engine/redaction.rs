//! Redaction in the engine: every text bound for a report (an action's error, the run's
//! error) goes through [`SyncEngine::redact`], which removes the run's credentials and every
//! access token it was given, in any encoding, and only then cuts the text (see
//! [`crate::sync::redact`]). The redactor is built once a run; each token is added to it as
//! [`SyncEngine::handle_response`] begins, before an answer can replace or drop the token, so
//! an error echoing a token since replaced is redacted too.

use super::SyncEngine;
use crate::sync::redact::{Redactor, REPORT_TEXT_CHARS};

impl SyncEngine {
    /// Adds the current access token to the redactor before an answer can replace or drop
    /// it: an error may echo a token that was since replaced.
    pub(super) fn note_token(&mut self) {
        let (generation, token) = self.token.as_ref().map_or((0, None), |t| (t.generation, Some(t.value.as_str())));
        match &mut self.redactor {
            None => {
                let r = Redactor::for_credentials(&self.options.credentials).with_secret(token);
                self.redactor = Some((generation, r));
            }
            Some((held, r)) if generation > *held => {
                *r = std::mem::take(r).with_secret(token);
                *held = generation;
            }
            Some(_) => {}
        }
    }

    /// Removes every credential and every access token of the run, in any encoding, from a
    /// text bound for a report, then cuts it (see [`super::redact`]).
    pub(super) fn redact(&mut self, text: &str) -> String {
        self.note_token();
        let (_, redactor) = self.redactor.as_ref().expect("noted above");
        redactor.excerpt(text, REPORT_TEXT_CHARS)
    }
}
