//! Redaction: every credential, in every encoding a platform might echo it back in, is removed
//! from a text before it reaches a report, an error, an event or a terminal.
//!
//! ```text
//! let redactor = Redactor::for_credentials(&config.credentials).with_secret(access_token);
//! let safe = redactor.excerpt(&platform_error_text, MAX_CHARS);   // redact, then cut
//! ```
//!
//! A platform's error answer may reflect what it was sent: the `Authorization` header (a
//! bearer token, or `Basic` with base64 of `key:secret`), the token request's form body (the
//! client secret URL-encoded), either of them URL-encoded again or JSON-escaped. So each secret
//! is searched for as its **encodings** ([`encodings`]): raw; URL-encoded the RFC 3986 way,
//! the `encodeURIComponent` way and every-symbol way, with a space as `%20` or `+`, and twice; JSON-escaped (with `\/`
//! and `\uXXXX` forms); base64 and base64url at each of the three byte alignments (so a secret
//! inside base64 of `key:secret` or of `Bearer token` is found too). Matching ignores ASCII
//! case, so `%2b` and `%2B` are one.
//!
//! Three rules remove them, and the text is only cut after them (a cut that came first could
//! leave half a secret no rule recognises):
//! - every run of [`WINDOW`] or more characters of an encoding, anywhere in the text, whole or
//!   a fragment;
//! - an encoding shorter than [`WINDOW`] when it appears whole;
//! - at a cut (the end of the text, or an ellipsis `…` or `...` someone else cut at) any prefix
//!   of at least [`AT_CUT`] characters of an encoding, and at the start of the text, or just
//!   after such a cut, any suffix of that length.
//!
//! So no [`WINDOW`] characters of a secret's encoding survive anywhere, and no [`AT_CUT`] at a
//! cut. Identifiers sent beside a secret (a client ID, a Learnifier key) are often readable
//! names that ordinary text shares parts of (an email's domain, a path): they are removed whole
//! and at cuts, not by the run rule; `id:secret` pairs are searched for in their base64 forms.
//! Secrets shorter than [`MIN_SECRET`] characters are not searched for (they would blank
//! ordinary words).

use base64::engine::general_purpose::{STANDARD_NO_PAD, URL_SAFE_NO_PAD};
use base64::Engine as _;
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use rustc_hash::FxHashSet;

use crate::credentials::Credentials;

/// What a removed secret is replaced with.
pub const MARK: &str = "[redacted]";
/// Runs of this many characters of a secret's encoding are removed wherever they are.
pub const WINDOW: usize = 8;
/// At a cut, a prefix (or suffix) of this many characters of an encoding is removed.
pub const AT_CUT: usize = 4;
/// An error or reason in a report is cut to this many characters, after redaction.
pub const REPORT_TEXT_CHARS: usize = 300;
/// Secrets shorter than this are not searched for.
pub const MIN_SECRET: usize = 4;

/// RFC 3986 unreserved characters stay; everything else is `%XX`.
const STRICT: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'.').remove(b'_').remove(b'~');
/// What JavaScript's `encodeURIComponent` leaves alone.
const URI_COMPONENT: &AsciiSet = &STRICT.remove(b'!').remove(b'*').remove(b'\'').remove(b'(').remove(b')');

/// Removes credentials from text. Build one per text or per run: it holds the searched forms.
#[derive(Clone, Debug, Default)]
pub struct Redactor {
    /// Every [`WINDOW`]-byte run of every secret's encoding, lower-cased.
    windows: FxHashSet<Vec<u8>>,
    /// Every encoding, lower-cased (for the rules at a cut), and whether it is only found
    /// whole (an identifier's, or one shorter than [`WINDOW`]).
    needles: Vec<(Vec<u8>, bool)>,
}

/// How much of a credential is secret.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// A secret or a token: any run of [`WINDOW`] characters of any encoding goes.
    Secret,
    /// An identifier sent beside a secret (a client ID, a Basic key): often a readable name
    /// that ordinary text (an email domain, a path) shares parts of, so it goes only whole,
    /// or cut at a cut.
    Identifier,
    /// `id:secret` as HTTP Basic sends it: its base64 forms, as a secret (the raw pair is
    /// the identifier and the secret, each found on its own).
    Pair,
}

impl Redactor {
    /// A redactor for these secrets (values shorter than [`MIN_SECRET`] are left out).
    pub fn new<'a>(secrets: impl IntoIterator<Item = &'a str>) -> Self {
        let mut r = Redactor::default();
        for s in secrets {
            r.add(s, Kind::Secret);
        }
        r
    }

    /// A redactor for every credential: the secrets and the token, the IDs (whole), and the
    /// `id:secret` pairs that HTTP Basic encodes.
    pub fn for_credentials(c: &Credentials) -> Self {
        let mut r = Redactor::new([&c.client_secret, &c.secret, &c.token].into_iter().flatten().map(String::as_str));
        for id in [&c.client_id, &c.key].into_iter().flatten() {
            r.add(id, Kind::Identifier);
        }
        for (id, secret) in [(&c.key, &c.secret), (&c.client_id, &c.client_secret)] {
            if let (Some(id), Some(secret)) = (id, secret) {
                r.add(&format!("{id}:{secret}"), Kind::Pair);
            }
        }
        r
    }

    /// The same redactor, searching for `secret` too (an access token).
    pub fn with_secret(mut self, secret: Option<&str>) -> Self {
        if let Some(s) = secret {
            self.add(s, Kind::Secret);
        }
        self
    }

    fn add(&mut self, credential: &str, kind: Kind) {
        if credential.chars().count() < MIN_SECRET {
            return;
        }
        let forms = match kind {
            Kind::Pair => base64_forms(credential),
            Kind::Secret | Kind::Identifier => encodings(credential),
        };
        for e in forms {
            let lower = e.to_ascii_lowercase().into_bytes();
            let whole = kind == Kind::Identifier || lower.len() < WINDOW;
            if !whole {
                for w in lower.windows(WINDOW) {
                    self.windows.insert(w.to_vec());
                }
            }
            match self.needles.iter_mut().find(|(n, _)| *n == lower) {
                Some(known) => known.1 &= whole,
                None => self.needles.push((lower, whole)),
            }
        }
    }

    /// Whether there is nothing to search for.
    pub fn is_empty(&self) -> bool {
        self.needles.is_empty()
    }

    /// `text` with every credential replaced by [`MARK`].
    pub fn redact(&self, text: &str) -> String {
        if self.is_empty() || text.is_empty() {
            return text.to_string();
        }
        let ranges = self.find(text);
        if ranges.is_empty() {
            return text.to_string();
        }
        let mut out = String::with_capacity(text.len());
        let mut at = 0;
        for (start, end) in ranges {
            out.push_str(&text[at..start]);
            out.push_str(MARK);
            at = end;
        }
        out.push_str(&text[at..]);
        out
    }

    /// `text` redacted, then cut to `max_chars` characters (and an ellipsis), never inside a
    /// [`MARK`].
    pub fn excerpt(&self, text: &str, max_chars: usize) -> String {
        let clean = self.redact(text);
        let Some((mut cut, _)) = clean.char_indices().nth(max_chars) else { return clean };
        // Back off to the start of a mark the cut would split.
        let mut from = 0;
        while let Some(i) = clean[from..].find(MARK).map(|i| i + from) {
            if i >= cut {
                break;
            }
            if i + MARK.len() > cut {
                cut = i;
                break;
            }
            from = i + MARK.len();
        }
        format!("{}…", &clean[..cut])
    }

    /// The byte ranges to remove, sorted, merged, on character boundaries.
    fn find(&self, text: &str) -> Vec<(usize, usize)> {
        let lower = text.to_ascii_lowercase().into_bytes();
        let mut hits: Vec<(usize, usize)> = Vec::new();
        // Runs of WINDOW or more anywhere (a whole long encoding is a chain of them).
        if lower.len() >= WINDOW {
            for (i, w) in lower.windows(WINDOW).enumerate() {
                if self.windows.contains(w) {
                    hits.push((i, i + WINDOW));
                }
            }
        }
        for (n, whole) in &self.needles {
            // Identifiers and short encodings, whole.
            if *whole {
                let mut from = 0;
                while let Some(i) = find_bytes(&lower[from..], n) {
                    hits.push((from + i, from + i + n.len()));
                    from += i + 1;
                }
            }
        }
        // Cuts: the end, the start, and each ellipsis.
        let mut cuts_before = vec![lower.len()];
        let mut cuts_after = vec![0];
        for mark in ["…".as_bytes(), b"..."] {
            let mut from = 0;
            while let Some(i) = find_bytes(&lower[from..], mark) {
                cuts_before.push(from + i);
                cuts_after.push(from + i + mark.len());
                from += i + mark.len();
            }
        }
        for (n, _) in &self.needles {
            for &end in &cuts_before {
                // Longer prefixes are runs of WINDOW, found above.
                let longest = n.len().min(end).min(WINDOW - 1);
                if let Some(k) = (AT_CUT..=longest).rev().find(|&k| lower[end - k..end] == n[..k]) {
                    hits.push((end - k, end));
                }
            }
            for &start in &cuts_after {
                let longest = n.len().min(lower.len() - start).min(WINDOW - 1);
                if let Some(k) = (AT_CUT..=longest).rev().find(|&k| lower[start..start + k] == n[n.len() - k..]) {
                    hits.push((start, start + k));
                }
            }
        }
        hits.sort_unstable();
        let mut merged: Vec<(usize, usize)> = Vec::new();
        for (s, e) in hits {
            // Widen to character boundaries (a window may start inside a multi-byte character).
            let s = (0..=s).rev().find(|&i| text.is_char_boundary(i)).unwrap_or(0);
            let e = (e..=text.len()).find(|&i| text.is_char_boundary(i)).unwrap_or(text.len());
            match merged.last_mut() {
                Some(last) if s <= last.1 => last.1 = last.1.max(e),
                _ => merged.push((s, e)),
            }
        }
        merged
    }
}

fn find_bytes(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.is_empty() || needle.len() > haystack.len() {
        return None;
    }
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// The forms a platform may echo `secret` in (see the module docs). Base64 forms are the
/// characters that depend on the secret alone, at each alignment in a longer encoded text.
pub fn encodings(secret: &str) -> Vec<String> {
    let mut out = vec![secret.to_string()];
    for set in [STRICT, URI_COMPONENT, NON_ALPHANUMERIC] {
        let once = utf8_percent_encode(secret, set).to_string();
        out.push(once.replace("%20", "+"));
        out.push(utf8_percent_encode(&once, set).to_string());
        out.push(once);
    }
    let json = serde_json::to_string(secret).expect("strings serialise");
    let json = json[1..json.len() - 1].to_string();
    out.push(json.replace('/', "\\/"));
    let mut ascii = String::new();
    for c in json.chars() {
        if c.is_ascii() {
            ascii.push(c);
        } else {
            let mut units = [0u16; 2];
            for u in c.encode_utf16(&mut units) {
                ascii.push_str(&format!("\\u{u:04x}"));
            }
        }
    }
    out.push(ascii);
    out.push(json);
    out.extend(base64_forms(secret));
    out.retain(|e| !e.is_empty());
    out.sort();
    out.dedup();
    out
}

/// The characters of `secret`'s base64 and base64url that depend on the secret alone, at each
/// of the three byte alignments it may have inside a longer encoded text.
pub fn base64_forms(secret: &str) -> Vec<String> {
    let mut out = Vec::new();
    let bytes = secret.as_bytes();
    for lead in 0..3usize {
        // `lead` bytes before the secret: the first characters mix them in, the last may
        // mix in what follows. Keep the characters made of the secret's bits only.
        let mut padded = vec![0u8; lead];
        padded.extend_from_slice(bytes);
        let skip = [0, 2, 3][lead];
        let whole = (lead + bytes.len()) / 3 * 4;
        for engine in [&STANDARD_NO_PAD, &URL_SAFE_NO_PAD] {
            let text = engine.encode(&padded);
            if whole > skip {
                out.push(text[skip..whole].to_string());
            }
        }
    }
    out.retain(|e| !e.is_empty());
    out.sort();
    out.dedup();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "Zq+9/Kx=SECRETVALUE-42";

    fn leaks(text: &str, secret: &str) -> Option<String> {
        let lower = text.to_ascii_lowercase();
        for e in encodings(secret) {
            let e = e.to_ascii_lowercase();
            for w in e.as_bytes().windows(WINDOW.min(e.len())) {
                let w = String::from_utf8_lossy(w);
                if lower.contains(w.as_ref()) {
                    return Some(format!("{w:?} of {e:?}"));
                }
            }
        }
        None
    }

    #[test]
    fn a_secret_is_removed_raw_url_encoded_json_escaped_and_in_base64_of_key_colon_secret() {
        let c = Credentials { key: Some("acme-key".into()), secret: Some(SECRET.into()), ..Credentials::default() };
        let r = Redactor::for_credentials(&c);
        let basic = STANDARD_NO_PAD.encode(format!("acme-key:{SECRET}"));
        for text in [
            format!("bad {SECRET} here"),
            "client_secret=Zq%2B9%2FKx%3DSECRETVALUE-42&x".to_string(),
            "client_secret=zq%2b9%2fkx%3dSECRETVALUE-42".to_string(),
            "client_secret%3DZq%252B9%252FKx%253DSECRETVALUE-42".to_string(),
            format!("{{\"s\":{}}}", serde_json::to_string(SECRET).unwrap()),
            format!("Authorization: Basic {basic}="),
            format!("Basic {}", URL_SAFE_NO_PAD.encode(format!("acme-key:{SECRET}"))),
            format!("b64 {}", STANDARD_NO_PAD.encode(SECRET)),
        ] {
            let out = r.redact(&text);
            assert!(out.contains(MARK), "{out}");
            assert_eq!(leaks(&out, SECRET), None, "{out}");
        }
    }

    #[test]
    fn a_secret_cut_at_an_ellipsis_or_at_the_end_leaves_no_prefix() {
        let r = Redactor::new(["S3CR3T-XYZZY-PLUGH"]);
        assert_eq!(r.redact("refused S3CR3T-X…"), "refused [redacted]…");
        assert_eq!(r.redact("refused S3CR..."), "refused [redacted]...");
        assert_eq!(r.redact("refused S3CR3"), "refused [redacted]");
        assert_eq!(r.redact("…PLUGH was refused"), "…[redacted] was refused");
        // Short fragments elsewhere are ordinary text.
        assert_eq!(r.redact("S3C is fine"), "S3C is fine");
    }

    #[test]
    fn an_excerpt_is_redacted_before_it_is_cut() {
        let r = Redactor::new([SECRET]);
        let text = format!("{}{SECRET}", "x".repeat(95));
        let out = r.excerpt(&text, 100);
        assert_eq!(leaks(&out, SECRET), None, "{out}");
        assert_eq!(out, format!("{}…", "x".repeat(95)), "a mark the cut would split goes whole");
        assert_eq!(r.excerpt("short", 100), "short");
    }

    #[test]
    fn ordinary_text_and_short_secrets_are_left_alone() {
        let r = Redactor::new(["abc", "a-long-secret-value"]);
        assert_eq!(r.redact("abc: HTTP 500: server error…"), "abc: HTTP 500: server error…");
        assert!(Redactor::new(["abc"]).is_empty());
    }

    #[test]
    fn multi_byte_text_around_a_secret_stays_whole() {
        let r = Redactor::new(["ünïcödé-sécret-välue"]);
        let out = r.redact("fehlgeschlagen: ünïcödé-sécret-välue — ok");
        assert_eq!(out, "fehlgeschlagen: [redacted] — ok");
        let json = serde_json::to_string("ünïcödé-sécret-välue").unwrap();
        assert!(r.redact(&json).contains(MARK));
    }

    mod properties {
        use super::*;
        use proptest::prelude::*;

        fn encoded(secret: &str, how: u8, key: &str) -> String {
            match how % 8 {
                0 => secret.to_string(),
                1 => utf8_percent_encode(secret, STRICT).to_string(),
                2 => utf8_percent_encode(secret, URI_COMPONENT).to_string().to_ascii_lowercase(),
                3 => serde_json::to_string(secret).unwrap(),
                4 => format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(format!("{key}:{secret}"))),
                5 => URL_SAFE_NO_PAD.encode(secret),
                6 => utf8_percent_encode(secret, NON_ALPHANUMERIC).to_string(),
                _ => utf8_percent_encode(&utf8_percent_encode(secret, URI_COMPONENT).to_string(), URI_COMPONENT)
                    .to_string(),
            }
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(400))]

            /// Any secret, in any encoding, in any message, cut anywhere and then redacted (or
            /// redacted and then cut), never leaves WINDOW characters of an encoding, nor
            /// AT_CUT of its start at the cut.
            #[test]
            fn no_encoding_of_a_secret_survives_anywhere_or_at_any_cut(
                secret in "[ -~]{8,40}",
                before in "[ -~]{0,60}",
                after in "[ -~]{0,60}",
                how in 0u8..8,
                cut in 0usize..400,
            ) {
                let key = "k3y-id";
                let c = Credentials { key: Some(key.into()), secret: Some(secret.clone()), ..Credentials::default() };
                let r = Redactor::for_credentials(&c);
                let text = format!("{before}{}{after}", encoded(&secret, how, key));
                let whole = r.redact(&text);
                prop_assert_eq!(leaks(&whole, &secret), None, "{}", whole);
                let excerpt = r.excerpt(&text, cut);
                prop_assert_eq!(leaks(&excerpt, &secret), None, "{}", excerpt);
                // Cut first (as a platform or an old excerpt might), then redact.
                let at = text.char_indices().nth(cut).map_or(text.len(), |(i, _)| i);
                let cut_first = r.redact(&format!("{}…", &text[..at]));
                prop_assert_eq!(leaks(&cut_first, &secret), None, "{}", cut_first);
                let tail = cut_first.trim_end_matches('…');
                for e in encodings(&secret) {
                    let e = e.to_ascii_lowercase();
                    let t = tail.to_ascii_lowercase();
                    for k in AT_CUT..=e.len().min(t.len()) {
                        prop_assert!(!t.ends_with(&e[..k]), "{} ends with {:?}", cut_first, &e[..k]);
                    }
                }
            }
        }
    }
}
