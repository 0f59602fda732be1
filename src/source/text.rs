//! How a source page's bytes are written: the text encoding and, for CSV, the delimiter.
//!
//! Excel in much of Europe saves "CSV" with semicolons and in Windows-1252, and its "Unicode
//! text" as UTF-16 with tabs. So before a page is parsed:
//!
//! 1. [`decode`]: a byte-order mark says the encoding (UTF-8, UTF-16LE, UTF-16BE) and is
//!    dropped; else the host's declared encoding (any WHATWG label `encoding_rs` knows, e.g.
//!    `windows-1252`, `latin1`, `utf-16le`); else UTF-8. UTF-8 pages are read as they are (a
//!    cell that is not UTF-8 is an error naming its row and column, from the CSV reader);
//!    any other encoding is decoded to UTF-8 first, and bytes it cannot decode are an error
//!    naming the line.
//! 2. [`detect_delimiter`] (CSV, when none is declared): the header row is read, outside
//!    quotes, for commas, semicolons and tabs; the one found is the delimiter (a comma when none
//!    is: a one-column file). A header with two of them is refused as ambiguous, asking for
//!    `--delimiter`, rather than guessed: a wrong guess reads every row as one cell.

use std::borrow::Cow;

use encoding_rs::{DecoderResult, Encoding, UTF_8};

use crate::error::Error;

/// The delimiters a CSV page may use: comma, semicolon, tab.
pub const DELIMITERS: [u8; 3] = [b',', b';', b'\t'];

/// How a page's text is written, as the host declares it (`None`: detect).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SourceText {
    /// The CSV delimiter: `,`, `;` or a tab.
    pub delimiter: Option<u8>,
    /// The text encoding, when the page has no byte-order mark.
    pub encoding: Option<&'static Encoding>,
}

impl SourceText {
    /// From the host's names: a delimiter `,` `;` `\t` (or `comma`, `semicolon`, `tab`), an
    /// encoding label (`utf-8`, `windows-1252`, `utf-16le`…); empty means detect.
    pub fn from_names(delimiter: &str, encoding: &str) -> Result<Self, Error> {
        let delimiter = match delimiter {
            "" => None,
            "," | "comma" => Some(b','),
            ";" | "semicolon" => Some(b';'),
            "\t" | "tab" | "\\t" => Some(b'\t'),
            other => {
                return Err(Error::InvalidOptions(format!(
                    "delimiter must be \",\", \";\" or a tab (\"comma\", \"semicolon\", \"tab\"), not {:?}",
                    crate::normalise::excerpt(other)
                )))
            }
        };
        let encoding = match encoding {
            "" => None,
            label => Some(Encoding::for_label(label.trim().as_bytes()).ok_or_else(|| {
                Error::InvalidOptions(format!(
                    "unknown encoding {:?} (utf-8, windows-1252, utf-16le, utf-16be, or another WHATWG label)",
                    crate::normalise::excerpt(label)
                ))
            })?),
        };
        Ok(SourceText { delimiter, encoding })
    }
}

/// The page as UTF-8 bytes (byte-order mark dropped), and whether the encoding was declared
/// or given by a byte-order mark (for the error on bytes that are not UTF-8).
pub(crate) fn decode<'a>(bytes: &'a [u8], text: &SourceText, label: &str) -> Result<(Cow<'a, [u8]>, bool), Error> {
    let (encoding, body, declared) = match Encoding::for_bom(bytes) {
        Some((enc, bom)) => (enc, &bytes[bom..], true),
        None => (text.encoding.unwrap_or(UTF_8), bytes, text.encoding.is_some()),
    };
    if encoding == UTF_8 {
        return Ok((Cow::Borrowed(body), declared));
    }
    if let Some(decoded) = encoding.decode_without_bom_handling_and_without_replacement(body) {
        return Ok((Cow::Owned(decoded.into_owned().into_bytes()), true));
    }
    // Where the first malformed sequence is, for the error.
    let mut decoder = encoding.new_decoder_without_bom_handling();
    let mut out = String::with_capacity(body.len() * 2 + 16);
    let (result, read) = decoder.decode_to_string_without_replacement(body, &mut out, true);
    let at = match result {
        DecoderResult::Malformed(bad, _) => read.saturating_sub(bad as usize),
        _ => read,
    };
    let line = out.matches('\n').count() + 1;
    Err(Error::MalformedSource {
        label: label.into(),
        detail: format!(
            "line {line} (byte {}): bytes that are not valid {} text; check the file's encoding (--encoding, or the page's encoding option)",
            at + bytes.len() - body.len(),
            encoding.name()
        ),
    })
}

/// The delimiter of a CSV page, from its header row (see the module docs).
pub(crate) fn detect_delimiter(bytes: &[u8], label: &str) -> Result<u8, Error> {
    let mut seen = [0usize; DELIMITERS.len()];
    let mut quoted = false;
    for &b in bytes {
        match b {
            b'"' => quoted = !quoted,
            b'\n' | b'\r' if !quoted => break,
            _ if !quoted => {
                if let Some(i) = DELIMITERS.iter().position(|&d| d == b) {
                    seen[i] += 1;
                }
            }
            _ => {}
        }
    }
    let found: Vec<u8> = DELIMITERS.iter().zip(seen).filter(|(_, n)| *n > 0).map(|(d, _)| *d).collect();
    match found[..] {
        [] => Ok(b','),
        [one] => Ok(one),
        _ => Err(Error::MalformedSource {
            label: label.into(),
            detail: format!(
                "row 1: the header row holds {} outside quotes, so which one separates the columns is ambiguous; say which with --delimiter (\",\", \";\" or \"tab\"; the page's delimiter option in the API)",
                found.iter().map(|&d| delimiter_name(d)).collect::<Vec<_>>().join(" and ")
            ),
        }),
    }
}

/// A delimiter as a reader sees it in a message.
pub(crate) fn delimiter_name(d: u8) -> &'static str {
    match d {
        b',' => "commas (,)",
        b';' => "semicolons (;)",
        _ => "tabs",
    }
}
