//! Plan options and sync settings: accepted or refused with an error, never a panic.
#![no_main]

use learner_sync::sync::{SyncConfig, SyncEngine};
use learner_sync::{PlanOptions, Planner};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(options) = PlanOptions::from_json(data) {
        let _ = Planner::new(options.clone()).map(|p| p.finish().to_json());
        if let Ok(config) = SyncConfig::from_json(data) {
            let _ = SyncEngine::new(options, config);
        }
    }
    if let Ok(config) = SyncConfig::from_json(data) {
        let _ = learner_sync::sync::config::check_base_url(&config.base_url);
    }
});
