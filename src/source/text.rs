//! How a source page's bytes are written: the text encoding and, for CSV, the delimiter.
//!
//! Excel in much of Europe saves "CSV" with semicolons and in Windows-1252, and its "Unicode
//! text" as UTF-16 with a byte-order mark and tabs. So before a page is parsed:
//!
//! 1. [`decode`]: a byte-order mark says the encoding (UTF-8, UTF-16LE, UTF-16BE) and is
//!    dropped; else the host's declared encoding (`windows-1252`, `utf-16le`, `utf-16be`,
//!    `utf-8`, by any of their WHATWG labels: `latin1`, `iso-8859-1`, `cp1252`…); else UTF-8.
//!    UTF-8 pages are read as they are (a cell that is not UTF-8 is an error naming its row and
//!    column, from the CSV reader); the others are decoded to UTF-8 first, and bytes that cannot
//!    be decoded are an error naming the line.
//! 2. [`detect_delimiter`] (CSV, when none is declared): the header row is read, outside
//!    quotes, for commas, semicolons and tabs; the one found is the delimiter (a comma when none
//!    is: a one-column file). A header with two of them is refused as ambiguous, asking for
//!    `--delimiter`, rather than guessed: a wrong guess reads every row as one cell.
//!
//! Why not every WHATWG encoding: `encoding_rs`'s `Decoder` dispatches over all of them, so
//! using it links every CJK index into the wasm (measured: 135 KB gzipped, a third of the
//! package). The encodings Excel writes for a European export are the three above; they are
//! decoded here with `encoding_rs::mem` (UTF-16 validation, Latin-1) and the 32-entry table by
//! which Windows-1252 differs from Latin-1, checked byte for byte against `encoding_rs`'s own
//! Windows-1252 decoder in `tests/european.rs`. Any other label is refused by name, with the way
//! out (save the export as UTF-8).

use std::borrow::Cow;

use crate::error::Error;

/// The delimiters a CSV page may use: comma, semicolon, tab.
pub const DELIMITERS: [u8; 3] = [b',', b';', b'\t'];

/// A text encoding a source page may be written in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Encoding {
    Utf8,
    Utf16Le,
    Utf16Be,
    /// Windows-1252, which WHATWG (and so every browser) also reads for `latin1`,
    /// `iso-8859-1` and `ascii`.
    Windows1252,
}

impl Encoding {
    /// From a WHATWG label (without case, trimmed); `None` for a label not read here.
    pub fn for_label(label: &str) -> Option<Self> {
        let label = label.trim().to_ascii_lowercase();
        Some(match label.as_str() {
            "utf-8" | "utf8" | "unicode-1-1-utf-8" | "unicode11utf8" | "unicode20utf8" | "x-unicode20utf8" => {
                Encoding::Utf8
            }
            "utf-16le" | "utf-16" | "unicode" | "ucs-2" | "csunicode" | "iso-10646-ucs-2" | "unicodefeff" => {
                Encoding::Utf16Le
            }
            "utf-16be" | "unicodefffe" => Encoding::Utf16Be,
            "windows-1252" | "cp1252" | "x-cp1252" | "latin1" | "l1" | "iso-8859-1" | "iso8859-1" | "iso88591"
            | "iso_8859-1" | "iso_8859-1:1987" | "iso-ir-100" | "csisolatin1" | "cp819" | "ibm819" | "ascii"
            | "us-ascii" | "ansi_x3.4-1968" => Encoding::Windows1252,
            _ => return None,
        })
    }

    /// Its WHATWG name.
    pub fn name(self) -> &'static str {
        match self {
            Encoding::Utf8 => "UTF-8",
            Encoding::Utf16Le => "UTF-16LE",
            Encoding::Utf16Be => "UTF-16BE",
            Encoding::Windows1252 => "windows-1252",
        }
    }
}

/// How a page's text is written, as the host declares it (`None`: detect).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SourceText {
    /// The CSV delimiter: `,`, `;` or a tab.
    pub delimiter: Option<u8>,
    /// The text encoding, when the page has no byte-order mark.
    pub encoding: Option<Encoding>,
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
            label => Some(Encoding::for_label(label).ok_or_else(|| {
                Error::InvalidOptions(format!(
                    "unknown encoding {:?}: source files are read as utf-8, utf-16le, utf-16be or windows-1252 (also called latin1); save the export as UTF-8 (Excel: \"CSV UTF-8\") for any other",
                    crate::normalise::excerpt(label)
                ))
            })?),
        };
        Ok(SourceText { delimiter, encoding })
    }
}

/// Where Windows-1252 differs from Latin-1: bytes 0x80-0x9F (WHATWG's index; the five bytes
/// it leaves undefined stand for the C1 controls of the same number).
const WINDOWS_1252_HIGH: [char; 32] = [
    '\u{20AC}', '\u{0081}', '\u{201A}', '\u{0192}', '\u{201E}', '\u{2026}', '\u{2020}', '\u{2021}', '\u{02C6}',
    '\u{2030}', '\u{0160}', '\u{2039}', '\u{0152}', '\u{008D}', '\u{017D}', '\u{008F}', '\u{0090}', '\u{2018}',
    '\u{2019}', '\u{201C}', '\u{201D}', '\u{2022}', '\u{2013}', '\u{2014}', '\u{02DC}', '\u{2122}', '\u{0161}',
    '\u{203A}', '\u{0153}', '\u{009D}', '\u{017E}', '\u{0178}',
];

/// Windows-1252 bytes as text (every byte is a character).
pub fn decode_windows_1252(bytes: &[u8]) -> Cow<'_, str> {
    if !bytes.iter().any(|b| (0x80..0xA0).contains(b)) {
        // Latin-1 where they agree, which is every byte but 0x80-0x9F.
        return encoding_rs::mem::decode_latin1(bytes);
    }
    bytes
        .iter()
        .map(|&b| match b {
            0x80..=0x9F => WINDOWS_1252_HIGH[usize::from(b - 0x80)],
            _ => char::from(b),
        })
        .collect::<String>()
        .into()
}

/// UTF-16 bytes as text, or the byte offset of the first code unit that is not valid (an
/// unpaired surrogate, or an odd byte at the end).
fn decode_utf16(bytes: &[u8], big_endian: bool) -> Result<String, usize> {
    let units: Vec<u16> = bytes
        .chunks_exact(2)
        .map(|p| if big_endian { u16::from_be_bytes([p[0], p[1]]) } else { u16::from_le_bytes([p[0], p[1]]) })
        .collect();
    let valid = encoding_rs::mem::utf16_valid_up_to(&units);
    if valid < units.len() {
        return Err(valid * 2);
    }
    if bytes.len() % 2 == 1 {
        return Err(bytes.len() - 1);
    }
    let mut text = String::with_capacity(units.len() * 3);
    text.extend(char::decode_utf16(units).map(|c| c.expect("validated above")));
    Ok(text)
}

/// The page as UTF-8 bytes (byte-order mark dropped), and whether the encoding was declared
/// or given by a byte-order mark (for the error on bytes that are not UTF-8).
pub(crate) fn decode<'a>(bytes: &'a [u8], text: &SourceText, label: &str) -> Result<(Cow<'a, [u8]>, bool), Error> {
    let (encoding, bom) = match bytes {
        [0xEF, 0xBB, 0xBF, ..] => (Encoding::Utf8, 3),
        [0xFF, 0xFE, ..] => (Encoding::Utf16Le, 2),
        [0xFE, 0xFF, ..] => (Encoding::Utf16Be, 2),
        _ => (text.encoding.unwrap_or(Encoding::Utf8), 0),
    };
    let declared = bom > 0 || text.encoding.is_some();
    let body = &bytes[bom..];
    let utf16 = |big_endian: bool| {
        decode_utf16(body, big_endian).map_err(|at| {
            let line = decode_utf16(&body[..at - at % 2], big_endian).map_or(1, |t| t.matches('\n').count() + 1);
            Error::MalformedSource {
                label: label.into(),
                detail: format!(
                    "line {line} (byte {}): bytes that are not valid {} text; check the file's encoding (--encoding, or the page's encoding option)",
                    at + bom,
                    encoding.name()
                ),
            }
        })
    };
    Ok(match encoding {
        Encoding::Utf8 => (Cow::Borrowed(body), declared),
        Encoding::Windows1252 => match decode_windows_1252(body) {
            Cow::Borrowed(text) => (Cow::Borrowed(text.as_bytes()), true),
            Cow::Owned(text) => (Cow::Owned(text.into_bytes()), true),
        },
        Encoding::Utf16Le => (Cow::Owned(utf16(false)?.into_bytes()), true),
        Encoding::Utf16Be => (Cow::Owned(utf16(true)?.into_bytes()), true),
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
