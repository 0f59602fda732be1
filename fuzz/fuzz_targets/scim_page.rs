//! scim list pages: read or refused, never a panic; a plan always comes out.
#![no_main]

use learner_sync::{PlanOptions, Planner, TargetFormat};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let options =
        PlanOptions::from_json(br#"{"platform":"scim","match":["ssoId","email"],"orphans":"deactivate"}"#).unwrap();
    let mut planner = Planner::new(options).unwrap();
    let _ = planner.add_source(
        b"ssoId,firstName,lastName,email,active\n1,A,B,a@x.org,true\n",
        learner_sync::SourceFormat::Csv,
        "s",
    );
    let _ = planner.add_target(data, TargetFormat::Auto, "fuzz");
    let _ = planner.add_target(data, TargetFormat::Normalised, "fuzz");
    let _ = planner.finish().to_json();
});
