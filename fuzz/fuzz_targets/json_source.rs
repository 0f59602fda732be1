//! JSON source pages: never a panic.
#![no_main]

use learner_sync::{PlanOptions, Planner, SourceFormat};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut planner =
        Planner::new(PlanOptions::from_json(br#"{"platform":"scim","match":["ssoId","email"]}"#).unwrap()).unwrap();
    let _ = planner.add_source(data, SourceFormat::Json, "fuzz.json");
    let _ = planner.finish().to_json();
});
