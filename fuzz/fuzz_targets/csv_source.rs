//! CSV source pages, with and without a mapping: rows read or made invalid, never a panic.
#![no_main]

use learner_sync::{PlanOptions, Planner, SourceFormat};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    for opts in [
        &br#"{"platform":"foundry","match":["ssoId","email"]}"#[..],
        br#"{"platform":"learnifier","mapping":{"ssoId":"id","active":{"column":"s","activeValues":["A"],"inactiveValues":["I"]}}}"#,
    ] {
        let mut planner = Planner::new(PlanOptions::from_json(opts).unwrap()).unwrap();
        let _ = planner.add_source(data, SourceFormat::Csv, "fuzz.csv");
        let _ = planner.add_target(b"[]", learner_sync::TargetFormat::Auto, "t");
        let _ = planner.finish().to_json();
        let _ = planner.finish_delta().to_json();
    }
});
