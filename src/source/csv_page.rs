//! CSV source pages: a header row, then one learner a row.

use std::borrow::Cow;

use super::{ActiveRaw, RowDraft, SourceRows, SourceSchema, Target};
use crate::error::Error;
use crate::model::{Origin, StrArena};

pub(super) fn read(
    bytes: &[u8],
    schema: &SourceSchema,
    page: u32,
    label: &str,
    arena: &mut StrArena,
) -> Result<SourceRows, Error> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let malformed = |detail: String| Error::MalformedSource { label: label.into(), detail };
    let mut reader = csv::ReaderBuilder::new().flexible(true).has_headers(true).from_reader(bytes);
    let headers = reader.byte_headers().map_err(|e| malformed(format!("cannot read the header row: {e}")))?.clone();
    if headers.is_empty() || headers.iter().all(|h| h.is_empty()) {
        return Err(malformed("no header row (expected column names such as ssoId, firstName, active)".into()));
    }
    let mut targets: Vec<Option<Target>> = Vec::with_capacity(headers.len());
    for (i, h) in headers.iter().enumerate() {
        let name =
            std::str::from_utf8(h).map_err(|_| malformed(format!("header column {} is not UTF-8 text", i + 1)))?;
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
    loop {
        match reader.read_byte_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {}
            Err(e) => return Err(malformed(format!("row {}: {e}", index + 2))),
        }
        index += 1;
        let mut draft = RowDraft::default();
        for (cell, target) in record.iter().zip(&targets) {
            let Some(target) = target else { continue };
            let name = target.name();
            let text = match std::str::from_utf8(cell) {
                Ok(t) => Cow::Borrowed(t),
                Err(_) => {
                    draft.fault(name, Some(&String::from_utf8_lossy(cell)), "is not UTF-8 text");
                    continue;
                }
            };
            match target {
                Target::Field(f) => draft.set(*f, text),
                Target::Active => draft.set_active(ActiveRaw::Text(text)),
                Target::PlatformId => draft.set_platform_id(text),
            }
        }
        // The header is spreadsheet row 1, so data row i is row i + 1.
        let origin = Origin { page, row: index + 1 };
        draft.finish(schema, has_active, origin, arena, &mut out);
    }
    Ok(out)
}
