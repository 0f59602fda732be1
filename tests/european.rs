//! European exports (issue 14): Excel writes semicolon-delimited CSV in Windows-1252 in much of
//! Europe, and "Unicode text" as UTF-16 with a byte-order mark. The delimiter is detected from
//! the header row or declared; the encoding comes from a byte-order mark or is declared.
//! Hostile inputs first.

mod support;

use learner_sync::{SourceFormat, SourceText};
use support::plans::*;

/// Plans one source page written as `text` says; the plan as JSON.
fn plan_with(bytes: &[u8], text: SourceText) -> Result<serde_json::Value, learner_sync::Error> {
    let mut pl = planner(r#"{"platform":"foundry"}"#);
    pl.add_source_as(bytes, SourceFormat::Auto, &text, "hr.csv")?;
    Ok(serde_json::from_slice(&pl.finish().to_json()).unwrap())
}

fn detect(bytes: &[u8]) -> Result<serde_json::Value, learner_sync::Error> {
    plan_with(bytes, SourceText::default())
}

fn declared(delimiter: &str, encoding: &str) -> SourceText {
    SourceText::from_names(delimiter, encoding).unwrap()
}

/// (key, firstName, lastName) of each create.
fn creates(p: &serde_json::Value) -> Vec<(String, String, String)> {
    of_kind(p, "create")
        .iter()
        .map(|a| {
            let f = &a["fields"];
            let s = |v: &serde_json::Value| v.as_str().unwrap_or_default().to_string();
            (s(&a["key"]), s(&f["firstName"]), s(&f["lastName"]))
        })
        .collect()
}

fn windows_1252(text: &str) -> Vec<u8> {
    let (bytes, _, unmappable) = encoding_rs::WINDOWS_1252.encode(text);
    assert!(!unmappable);
    bytes.into_owned()
}

#[test]
fn a_row_written_with_commas_under_a_semicolon_header_is_invalid_not_a_learner_keyed_by_the_line() {
    let src = "ssoId;firstName;lastName;email\n33;Geoff;Smith;g@x.org\n44,Kate,Jones,k@x.org\n";
    let p = detect(src.as_bytes()).unwrap();
    assert_eq!(creates(&p), [("33".into(), "Geoff".into(), "Smith".into())]);
    let inv = of_kind(&p, "invalid");
    assert_eq!(inv.len(), 1, "{p}");
    assert_eq!((inv[0]["row"].as_u64(), inv[0]["field"].as_str()), (Some(3), Some("firstName")));
    let reason = inv[0]["reason"].as_str().unwrap();
    assert!(reason.contains("commas (,)") && reason.contains("semicolons (;)"), "{reason}");
}

#[test]
fn a_header_with_two_delimiters_is_ambiguous_and_asks_for_one() {
    let err = detect(b"ssoId;firstName,lastName;email\n33;Geoff,Smith;g@x.org\n").unwrap_err();
    assert_eq!(err.code(), "MALFORMED_SOURCE");
    let msg = err.to_string();
    assert!(msg.starts_with("hr.csv: row 1:") && msg.contains("--delimiter"), "{msg}");
    assert!(msg.contains("commas (,)") && msg.contains("semicolons (;)"), "{msg}");
    // A header that is only ambiguous to a guess is read once the delimiter is declared.
    let src = b"ssoId;firstName;lastName;email;Notes, misc\n33;Geoff;Smith;g@x.org;a, b\n";
    assert_eq!(detect(src).unwrap_err().code(), "MALFORMED_SOURCE");
    let p = plan_with(src, declared(";", "")).unwrap();
    assert_eq!(creates(&p), [("33".into(), "Geoff".into(), "Smith".into())]);
}

#[test]
fn a_delimiter_inside_quotes_neither_decides_nor_splits() {
    // The header's commas are inside quotes: the semicolon is the delimiter.
    let src =
        "ssoId;\"firstName\";\"lastName\";email;\"Note, free text\"\n33;\"Smith, Geoff\";\"Evans; Jr\";g@x.org;x\n";
    let p = detect(src.as_bytes()).unwrap();
    assert_eq!(creates(&p), [("33".into(), "Smith, Geoff".into(), "Evans; Jr".into())]);
    // A quote left open after a semicolon is still caught (the open-quote check knows the delimiter).
    let open = "ssoId;firstName;lastName;email\n33;\"Geoff;Smith;g@x.org\n44;Kate;Jones;k@x.org\n";
    let err = detect(open.as_bytes()).unwrap_err();
    assert_eq!(err.code(), "MALFORMED_SOURCE");
    assert!(err.to_string().contains("row 2: a quote opens here"), "{err}");
}

#[test]
fn a_byte_order_mark_then_semicolons_is_read() {
    let src = "\u{feff}ssoId;firstName;lastName;email\n33;Géoff;Smith‑Evans;g@x.org\n";
    let p = detect(src.as_bytes()).unwrap();
    assert_eq!(creates(&p), [("33".into(), "Géoff".into(), "Smith‑Evans".into())]);
}

#[test]
fn bytes_that_are_not_utf8_name_the_row_and_column_and_suggest_an_encoding() {
    let bytes = windows_1252("ssoId;firstName;lastName;email\n33;Geoff;Smith;g@x.org\n44;Kate;Müller;k@x.org\n");
    let err = detect(&bytes).unwrap_err();
    assert_eq!(err.code(), "MALFORMED_SOURCE");
    let msg = err.to_string();
    assert!(msg.starts_with("hr.csv: row 3, column 3 (\"lastName\"): bytes that are not UTF-8"), "{msg}");
    assert!(msg.contains("--encoding") && msg.contains("windows-1252"), "{msg}");
    // In the header too.
    let err = detect(&windows_1252("ssoId;Prénom\n33;Geoff\n")).unwrap_err();
    assert!(err.to_string().starts_with("hr.csv: row 1, column 2"), "{err}");
}

#[test]
fn bytes_invalid_in_the_declared_encoding_are_refused_naming_the_line() {
    // Declared UTF-8, but the file is Windows-1252: no suggestion to declare what was declared.
    let bytes = windows_1252("ssoId,firstName,lastName,email\n33,Geoff,Müller,g@x.org\n");
    let err = plan_with(&bytes, declared("", "utf-8")).unwrap_err();
    assert!(
        err.to_string().contains("row 2, column 3") && err.to_string().contains("not valid in the encoding given"),
        "{err}"
    );
    // UTF-16LE with an unpaired surrogate on line 2.
    let mut utf16: Vec<u8> = vec![0xFF, 0xFE];
    for u in "ssoId,firstName,lastName,email\n33,G".encode_utf16() {
        utf16.extend_from_slice(&u.to_le_bytes());
    }
    utf16.extend_from_slice(&0xD800u16.to_le_bytes());
    for u in "x,Smith,g@x.org\n".encode_utf16() {
        utf16.extend_from_slice(&u.to_le_bytes());
    }
    let err = detect(&utf16).unwrap_err();
    assert_eq!(err.code(), "MALFORMED_SOURCE");
    assert!(err.to_string().starts_with("hr.csv: line 2 (byte 72): bytes that are not valid UTF-16LE text"), "{err}");
}

#[test]
fn windows_1252_is_read_when_declared() {
    // Œ and the euro sign are where Windows-1252 differs from Latin-1 (0x8C, 0x80).
    let bytes = windows_1252("ssoId;firstName;lastName;email\n33;Zoë;Müller-Œ€;z@x.org\n");
    let p = plan_with(&bytes, declared("", "windows-1252")).unwrap();
    assert_eq!(creates(&p), [("33".into(), "Zoë".into(), "Müller-Œ€".into())]);
}

#[test]
fn utf16_with_a_byte_order_mark_and_tabs_is_read() {
    for (bom, le) in [([0xFF, 0xFE], true), ([0xFE, 0xFF], false)] {
        let mut bytes = bom.to_vec();
        for u in "ssoId\tfirstName\tlastName\temail\r\n33\tZoë\tMüller\tz@x.org\r\n".encode_utf16() {
            bytes.extend_from_slice(&if le { u.to_le_bytes() } else { u.to_be_bytes() });
        }
        let p = detect(&bytes).unwrap();
        assert_eq!(creates(&p), [("33".into(), "Zoë".into(), "Müller".into())]);
    }
}

#[test]
fn unknown_delimiters_and_encodings_are_refused_by_name() {
    let err = SourceText::from_names("|", "").unwrap_err();
    assert_eq!(err.code(), "INVALID_OPTIONS");
    assert!(err.to_string().contains("delimiter must be"), "{err}");
    let err = SourceText::from_names("", "klingon").unwrap_err();
    assert!(err.to_string().contains("unknown encoding \"klingon\""), "{err}");
    assert_eq!(declared("tab", "latin1"), declared("\t", "windows-1252"));
}

#[test]
fn windows_1252_is_decoded_as_encoding_rs_decodes_it_byte_for_byte() {
    let every: Vec<u8> = (0..=255).collect();
    let (theirs, _, _) = encoding_rs::WINDOWS_1252.decode(&every);
    assert_eq!(learner_sync::decode_windows_1252(&every), theirs);
    // Every WHATWG label read here names the encoding encoding_rs gives it.
    for label in ["latin1", "ISO-8859-1", " cp1252 ", "ascii", "utf-16", "UTF-16BE", "utf8", "unicodefeff"] {
        let ours = SourceText::from_names("", label).unwrap().encoding.unwrap();
        assert_eq!(ours.name(), encoding_rs::Encoding::for_label(label.trim().as_bytes()).unwrap().name(), "{label}");
    }
}

#[test]
fn an_encoding_not_read_here_is_refused_with_the_way_out() {
    for label in ["iso-8859-15", "windows-1250", "shift_jis"] {
        let err = SourceText::from_names("", label).unwrap_err();
        assert_eq!(err.code(), "INVALID_OPTIONS");
        assert!(err.to_string().contains("save the export as UTF-8"), "{err}");
    }
}
