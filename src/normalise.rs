//! How values are compared: surrounding whitespace trimmed, Unicode NFC, emails without case,
//! identifiers exactly.

use std::borrow::Cow;

use unicode_normalization::char::{canonical_combining_class, compose, decompose_canonical};
use unicode_normalization::{is_nfc_quick, IsNormalized};

use crate::model::Field;

/// The longest value accepted in any field, in characters (Learnifier's external id limit,
/// and longer than any valid email address).
pub const MAX_FIELD_CHARS: usize = 255;

/// `str::trim`, with a shortcut for the common value that starts and ends with a visible
/// ASCII character (nothing to trim; `trim` would decode a char at each end to find that out).
pub fn trim(raw: &str) -> &str {
    let visible = |b: &u8| (b'!'..=b'~').contains(b);
    match raw.as_bytes() {
        [first, .., last] if visible(first) && visible(last) => raw,
        [only] if visible(only) => raw,
        _ => raw.trim(),
    }
}

/// Trims and NFC-normalises a raw value. Plain ASCII (the common case) is never copied.
pub fn clean(raw: &str) -> Cow<'_, str> {
    let t = trim(raw);
    if t.is_ascii() {
        return Cow::Borrowed(t);
    }
    match is_nfc_quick(t.chars()) {
        IsNormalized::Yes => Cow::Borrowed(t),
        _ => Cow::Owned(nfc(t)),
    }
}

/// Unicode NFC (UAX #15): canonical decomposition, canonical ordering, canonical composition.
///
/// Built from the `unicode-normalization` crate's per-character functions rather than its
/// `nfc()` iterator, because that iterator also links the compatibility (NFKD) tables, which
/// cost about 60 KB of the gzipped wasm; tests check this function against `nfc()`.
pub fn nfc(s: &str) -> String {
    // 1. Decompose, then put each run of combining marks in canonical order (a stable sort by
    //    combining class keeps marks of equal class in their original order).
    let mut chars: Vec<(char, u8)> = Vec::with_capacity(s.len());
    for c in s.chars() {
        decompose_canonical(c, |d| chars.push((d, canonical_combining_class(d))));
    }
    let mut i = 0;
    while i < chars.len() {
        if chars[i].1 == 0 {
            i += 1;
            continue;
        }
        let start = i;
        while i < chars.len() && chars[i].1 != 0 {
            i += 1;
        }
        // Runs of marks are a few characters long: an insertion sort (stable, as the
        // canonical ordering needs) keeps a general sort out of the wasm.
        for j in start + 1..i {
            let mut k = j;
            while k > start && chars[k - 1].1 > chars[k].1 {
                chars.swap(k - 1, k);
                k -= 1;
            }
        }
    }
    // 2. Compose: each character joins the last starter unless a character between them
    //    blocks it (one with the same or a higher combining class, or a starter).
    let mut out: Vec<(char, u8)> = Vec::with_capacity(chars.len());
    let mut starter: Option<usize> = None;
    for (c, ccc) in chars {
        if let Some(si) = starter {
            let last_ccc = out.last().map_or(0, |&(_, k)| k);
            let blocked = out.len() - 1 > si && (last_ccc == 0 || last_ccc >= ccc);
            if !blocked {
                if let Some(composed) = compose(out[si].0, c) {
                    out[si].0 = composed;
                    continue;
                }
            }
        }
        if ccc == 0 {
            starter = Some(out.len());
        }
        out.push((c, ccc));
    }
    out.into_iter().map(|(c, _)| c).collect()
}

/// Checks a cleaned, non-empty value for `field`; the error says what is wrong.
pub fn check(field: Field, value: &str) -> Result<(), String> {
    if value.len() > MAX_FIELD_CHARS && value.chars().count() > MAX_FIELD_CHARS {
        return Err(format!("longer than {MAX_FIELD_CHARS} characters"));
    }
    let ascii = value.is_ascii();
    let control = if ascii { value.bytes().any(|b| b.is_ascii_control()) } else { value.chars().any(char::is_control) };
    if control {
        return Err("contains a control character".into());
    }
    if !ascii && field != Field::FirstName && field != Field::LastName {
        // An email or key that looks the same as another but is not: refused, not matched.
        // (Names keep them: joiners are part of the spelling in several scripts.)
        if let Some(c) = value.chars().find(|&c| is_invisible(c)) {
            let kind = if is_bidi_control(c) { "a bidi control character" } else { "a zero-width character" };
            return Err(format!("contains {kind} (U+{:04X}), invisible where it is shown", c as u32));
        }
    }
    if field == Field::Email {
        // One `@`, with text before and after it, and no white space. (`@` is one byte in
        // UTF-8 that no other character contains, so it is looked for among the bytes.)
        let at = value.bytes().position(|b| b == b'@');
        let space = if ascii {
            // The ASCII characters `char::is_whitespace` takes: tab to carriage return, space.
            value.bytes().any(|b| matches!(b, b'\t'..=b'\r' | b' '))
        } else {
            value.chars().any(char::is_whitespace)
        };
        let ok = matches!(at, Some(i) if i > 0 && i + 1 < value.len() && !value[i + 1..].contains('@')) && !space;
        if !ok {
            return Err("is not an email address".into());
        }
    }
    Ok(())
}

/// Bidirectional formatting characters: embeddings and overrides (U+202A–U+202E), isolates
/// (U+2066–U+2069), the left-to-right and right-to-left marks (U+200E, U+200F) and the Arabic
/// letter mark (U+061C). They reorder or hide how text is shown.
pub fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{200E}' | '\u{200F}' | '\u{061C}')
}

/// Characters that show as nothing: zero-width space, non-joiner and joiner (U+200B–U+200D),
/// the word joiner (U+2060), the zero-width no-break space (U+FEFF), and the bidi controls.
/// None of them belongs in an email address or an identifier.
pub fn is_invisible(c: char) -> bool {
    matches!(c, '\u{200B}'..='\u{200D}' | '\u{2060}' | '\u{FEFF}') || is_bidi_control(c)
}

/// The form of a value used to match and compare: emails lower-cased, everything else as is.
pub fn match_form(field: Field, value: &str) -> Cow<'_, str> {
    if field != Field::Email {
        return Cow::Borrowed(value);
    }
    if value.is_ascii() {
        if value.bytes().any(|b| b.is_ascii_uppercase()) {
            Cow::Owned(value.to_ascii_lowercase())
        } else {
            Cow::Borrowed(value)
        }
    } else {
        Cow::Owned(value.to_lowercase())
    }
}

/// Whether two cleaned values of `field` are the same.
pub fn same(field: Field, a: &str, b: &str) -> bool {
    if field == Field::Email {
        a.eq_ignore_ascii_case(b) || (!a.is_ascii() && a.to_lowercase() == b.to_lowercase())
    } else {
        a == b
    }
}

/// Reads a true/false cell: true/false, t/f, yes/no, y/n, 1/0, active/inactive, in any case.
pub fn parse_bool(raw: &str) -> Option<bool> {
    let v = trim(raw);
    const TRUE: [&str; 6] = ["true", "t", "yes", "y", "1", "active"];
    const FALSE: [&str; 6] = ["false", "f", "no", "n", "0", "inactive"];
    if TRUE.iter().any(|t| v.eq_ignore_ascii_case(t)) {
        Some(true)
    } else if FALSE.iter().any(|t| v.eq_ignore_ascii_case(t)) {
        Some(false)
    } else {
        None
    }
}

/// Cuts a value for quoting in an error or plan (at most 100 characters).
pub fn excerpt(value: &str) -> String {
    match value.char_indices().nth(100) {
        Some((at, _)) => format!("{}…", &value[..at]),
        None => value.to_string(),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_email_check_is_the_split_on_at() {
        let by_split = |value: &str| {
            let mut parts = value.split('@');
            let (local, domain) = (parts.next(), parts.next());
            matches!((local, domain, parts.next()), (Some(l), Some(d), None)
                if !l.is_empty() && !d.is_empty() && !value.chars().any(char::is_whitespace))
        };
        for v in
            ["a@b", "@b", "a@", "a@b@c", "ab", "a b@c", "a@b\u{a0}", "é@ü", "a@@b", "@", "a\u{1c}@b", "a\u{3000}b@c"]
        {
            assert_eq!(
                super::check(super::Field::Email, v).is_ok(),
                by_split(v) && !v.chars().any(char::is_control),
                "{v:?}"
            );
        }
        for b in 0u8..128 {
            assert_eq!(matches!(b, b'\t'..=b'\r' | b' '), (b as char).is_whitespace(), "{b}");
        }
    }

    #[test]
    fn trim_is_str_trim() {
        for s in [
            "",
            " ",
            "a",
            " a",
            "a ",
            "\ta\n",
            "ab",
            "a b",
            "\u{a0}a",
            "a\u{2003}",
            "\u{1c}a",
            "é",
            " é ",
            "~!",
            "\x7f",
        ] {
            assert_eq!(super::trim(s), s.trim(), "{s:?}");
        }
    }
}
