//! Plan options and sync options: accepted or refused with an error, never a panic.
#![no_main]

use learner_sync::sync::{SyncEngine, SyncOptions};
use learner_sync::{PlanOptions, Planner};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(options) = PlanOptions::from_json(data) {
        let _ = Planner::new(options.clone()).map(|p| p.finish().to_json());
        if let Ok(sync_options) = SyncOptions::from_json(data) {
            let _ = SyncEngine::new(options, sync_options);
        }
    }
    if let Ok(sync_options) = SyncOptions::from_json(data) {
        let _ = learner_sync::sync::options::check_base_url(&sync_options.base_url);
    }
});
