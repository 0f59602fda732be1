//! Plans and reports as CSV, for an administrator who opens them in a spreadsheet.
//!
//! ```text
//! plan_to_csv(&plan)      -> bytes: a header row, then one row per action, in plan order
//! report_to_csv(&report)  -> bytes: a header row, then one row per outcome, in plan order
//! ```
//!
//! Both are RFC 4180 CSV (comma, `"` quoting where needed, CRLF line ends) in UTF-8 without a
//! byte-order mark: whoever saves a file for Excel adds one if they want Excel to guess UTF-8.
//! The output is deterministic: the same plan gives the same bytes.
//!
//! Source data is hostile input, and a spreadsheet runs a cell that starts with `=`, `+`, `-`
//! or `@` as a formula. Every cell goes through [`inert`]: a cell that a spreadsheet could take
//! as a formula gets a leading `'`, which spreadsheets read as "this is text". So the CSV is a
//! view for people; the JSON plan or report stays the exact record.

mod plan_csv;
mod report_csv;

pub use plan_csv::{plan_to_csv, PLAN_COLUMNS};
pub use report_csv::{report_to_csv, REPORT_COLUMNS};

use std::borrow::Cow;

/// Characters that make a spreadsheet read a cell as a formula when they come first, with
/// their full-width forms (which some spreadsheets in East Asian locales also accept).
const FORMULA_STARTS: [char; 8] = ['=', '+', '-', '@', '\u{FF1D}', '\u{FF0B}', '\u{FF0D}', '\u{FF20}'];

/// The cell as a spreadsheet may safely show it: prefixed with `'` when it starts with a tab,
/// a carriage return or a line feed, or when (after any leading spaces) it starts with `=`,
/// `+`, `-` or `@` (or their full-width forms), unless it is a plain decimal number such as
/// `-5`, `+44` or `-0.5`. Such a number is read as a number, never as a formula, and
/// identifiers like `-5` are legitimate; `-5+A1`, `-cmd` or `+44 20` are prefixed.
pub fn inert(cell: &str) -> Cow<'_, str> {
    let starts_with_break = cell.starts_with(['\t', '\r', '\n']);
    let rest = cell.trim_start_matches(' ');
    let formula_like = rest.starts_with(FORMULA_STARTS) && !is_plain_number(rest);
    if starts_with_break || formula_like {
        Cow::Owned(format!("'{cell}"))
    } else {
        Cow::Borrowed(cell)
    }
}

/// An optional sign, ASCII digits, and optionally a point and more digits: `-5`, `+1.25`.
fn is_plain_number(s: &str) -> bool {
    let digits = s.strip_prefix(['+', '-']).unwrap_or(s);
    let (whole, fraction) = match digits.split_once('.') {
        Some((w, f)) => (w, Some(f)),
        None => (digits, None),
    };
    let all_digits = |p: &str| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit());
    all_digits(whole) && fraction.is_none_or(all_digits)
}

/// A CSV writer into memory with the settings both exports share.
fn writer() -> csv::Writer<Vec<u8>> {
    csv::WriterBuilder::new().terminator(csv::Terminator::CRLF).from_writer(Vec::new())
}

/// Writes one row, every cell made inert.
fn write_row<'c>(w: &mut csv::Writer<Vec<u8>>, cells: impl IntoIterator<Item = &'c str>) {
    // Writing into a Vec cannot fail, and every row has the header's width.
    for cell in cells {
        w.write_field(inert(cell).as_bytes()).expect("CSV into memory");
    }
    w.write_record(None::<&[u8]>).expect("CSV into memory");
}

/// The finished bytes.
fn finish(w: csv::Writer<Vec<u8>>) -> Vec<u8> {
    w.into_inner().expect("CSV into memory")
}
