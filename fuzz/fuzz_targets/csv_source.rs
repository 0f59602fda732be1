//! CSV source pages, with and without a mapping: rows read or made invalid, never a panic;
//! also with the delimiter detected or declared and in other encodings (UTF-16, Windows-1252).
#![no_main]

use learner_sync::{PlanOptions, Planner, SourceFormat, SourceText};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    for opts in [
        &br#"{"platform":"foundry","match":["ssoId","email"]}"#[..],
        br#"{"platform":"learnifier","mapping":{"ssoId":"id","active":{"column":"s","activeValues":["A"],"inactiveValues":["I"]}}}"#,
    ] {
        let mut planner = Planner::new(PlanOptions::from_json(opts).unwrap()).unwrap();
        let _ = planner.add_source(data, SourceFormat::Csv, "fuzz.csv");
        // The first byte picks how the rest is declared to be written.
        if let Some((&pick, rest)) = data.split_first() {
            let delimiter = ["", ",", ";", "tab"][usize::from(pick & 3)];
            let encoding = ["", "utf-8", "windows-1252", "utf-16le"][usize::from(pick >> 2 & 3)];
            let text = SourceText::from_names(delimiter, encoding).unwrap();
            let _ = planner.add_source_as(rest, SourceFormat::Csv, &text, "fuzz-declared.csv");
        }
        let _ = planner.add_target(b"[]", learner_sync::TargetFormat::Auto, "t");
        let _ = planner.finish().to_json();
        let _ = planner.finish_delta().to_json();
    }
});
