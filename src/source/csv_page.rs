//! CSV source pages: a header row, then one learner a row.
//!
//! A quote left open swallows every row after it into one cell (the `csv` crate reads to the
//! end of the text looking for the closing quote): the learners of those rows would vanish and
//! a full sync would deactivate their users. So a page whose last record ends inside a quoted
//! field is refused as a whole, naming the row where the quote opened.
//!
//! The page comes here as UTF-8 bytes with its delimiter known (`text.rs` decodes it and
//! detects the delimiter). A mapped cell that is not UTF-8 refuses the page, naming its row
//! and column: it was written in another encoding, and every accented name would be misread.
//! A row with fewer cells than the header that holds another delimiter (a row written with
//! commas under a header split on semicolons) is invalid, naming the first field it lacks,
//! never read as one long key.

use std::borrow::Cow;

use super::text::{delimiter_name, DELIMITERS};
use super::{ActiveRaw, RowDraft, SourceRows, SourceSchema, Target};
use crate::error::Error;
use crate::model::{Origin, StrArena};

pub(super) fn read(
    bytes: &[u8],
    delimiter: u8,
    declared: bool,
    schema: &SourceSchema,
    page: u32,
    label: &str,
    arena: &mut StrArena,
) -> Result<SourceRows, Error> {
    let malformed = |detail: String| Error::MalformedSource { label: label.into(), detail };
    let not_utf8 = |row: u32, column: usize, name: &str| {
        let hint = if declared {
            "they are not valid in the encoding given".to_string()
        } else {
            "the file is probably in another encoding: say which with --encoding (e.g. windows-1252; the page's encoding option in the API)".to_string()
        };
        malformed(format!("row {row}, column {column} ({name:?}): bytes that are not UTF-8 text; {hint}"))
    };
    let mut reader = csv::ReaderBuilder::new().delimiter(delimiter).flexible(true).has_headers(true).from_reader(bytes);
    let headers = reader.byte_headers().map_err(|e| malformed(format!("cannot read the header row: {e}")))?.clone();
    if headers.is_empty() || headers.iter().all(|h| h.is_empty()) {
        return Err(malformed("no header row (expected column names such as ssoId, firstName, active)".into()));
    }
    let mut targets: Vec<Option<Target>> = Vec::with_capacity(headers.len());
    for (i, h) in headers.iter().enumerate() {
        let name = std::str::from_utf8(h).map_err(|_| not_utf8(1, i + 1, &String::from_utf8_lossy(h)))?;
        let t = schema.target_of(name);
        if t.is_some() && targets.contains(&t) {
            return Err(malformed(format!("two columns feed the same field (column {:?})", name.trim())));
        }
        targets.push(t);
    }
    let present: Vec<Target> = targets.iter().flatten().copied().collect();
    let has_active = schema.check_columns(label, &present)?;

    let mut out = SourceRows::default();
    // About one learner per 60 bytes: reserving up front avoids copying a growing vector.
    out.learners.reserve(bytes.len() / 60);
    let mut record = csv::ByteRecord::new();
    let mut index: u32 = 0;
    // Where the last record started (its byte offset in `bytes` and its spreadsheet row).
    let mut last: Option<(usize, u32)> = None;
    loop {
        match reader.read_byte_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {}
            Err(e) => return Err(malformed(format!("row {}: {e}", index + 2))),
        }
        index += 1;
        last = record.position().map(|p| (p.byte() as usize, index + 1));
        let mut draft = RowDraft::default();
        for (column, (cell, target)) in record.iter().zip(&targets).enumerate() {
            let Some(target) = target else { continue };
            let Ok(text) = std::str::from_utf8(cell).map(Cow::Borrowed) else {
                let header = String::from_utf8_lossy(&headers[column]).into_owned();
                return Err(not_utf8(index + 1, column + 1, header.trim()));
            };
            match target {
                Target::Field(f) => draft.set(*f, text),
                Target::Active => draft.set_active(ActiveRaw::Text(text)),
                Target::PlatformId => draft.set_platform_id(text),
            }
        }
        if record.len() < headers.len() {
            short_row(&record, &targets, delimiter, &mut draft);
        }
        // The header is spreadsheet row 1, so data row i is row i + 1.
        let origin = Origin { page, row: index + 1 };
        draft.finish(schema, has_active, origin, arena, &mut out);
    }
    // Only the last record can hold an open quote: it runs to the end of the text.
    // (With no data row, the header is that record: it starts the text.)
    let (start, row) = last.unwrap_or((0, 1));
    if ends_in_quote(bytes.get(start..).unwrap_or_default(), delimiter) {
        return Err(malformed(format!(
            "row {row}: a quote opens here and is never closed, so every row after it would be read as part of one cell; close the quote (a quote inside a quoted cell is written twice: \"\")"
        )));
    }
    Ok(out)
}

/// A row with fewer cells than the header: when one of its cells holds another delimiter,
/// it was written with that one, and its cells ran together: the first field it lacks is a
/// fault, so the row is invalid rather than a learner keyed by a whole line.
fn short_row(record: &csv::ByteRecord, targets: &[Option<Target>], delimiter: u8, draft: &mut RowDraft<'_>) {
    let Some(other) =
        DELIMITERS.iter().copied().find(|&d| d != delimiter && record.iter().any(|cell| cell.contains(&d)))
    else {
        return;
    };
    if let Some(missing) = targets[record.len()..].iter().flatten().next() {
        let reason = format!(
            "is missing: the row has {} cell(s) where the header has {}, and holds {} where the header is split by {}; write every row with the header's delimiter",
            record.len(),
            targets.len(),
            delimiter_name(other),
            delimiter_name(delimiter)
        );
        draft.fault(missing.name(), None, &reason);
    }
}

/// Whether a record that starts at `bytes[0]` (and runs to the end of the text) ends inside a
/// quoted field, as the `csv` crate reads quotes: a quote opens a quoted field only at the start
/// of a field, two quotes inside one are a literal quote, and text after the closing quote
/// carries on unquoted.
pub(super) fn ends_in_quote(bytes: &[u8], delimiter: u8) -> bool {
    #[derive(Clone, Copy, PartialEq)]
    enum At {
        FieldStart,
        Unquoted,
        Quoted,
        QuoteInQuoted,
    }
    let mut at = At::FieldStart;
    for &b in bytes {
        at = match (at, b) {
            (At::FieldStart, b'"') => At::Quoted,
            (At::FieldStart | At::Unquoted | At::QuoteInQuoted, b'\n' | b'\r') => At::FieldStart,
            (At::FieldStart | At::Unquoted | At::QuoteInQuoted, b) if b == delimiter => At::FieldStart,
            (At::FieldStart | At::Unquoted, _) => At::Unquoted,
            (At::Quoted, b'"') => At::QuoteInQuoted,
            (At::Quoted, _) => At::Quoted,
            (At::QuoteInQuoted, b'"') => At::Quoted,
            (At::QuoteInQuoted, _) => At::Unquoted,
        };
    }
    at == At::Quoted
}
