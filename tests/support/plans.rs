//! Planning from text, and looking at the plan as JSON.

use learner_sync::{PlanOptions, Planner, SourceFormat, TargetFormat};
use serde_json::Value;

/// Plans from options JSON, source pages and target pages; returns the plan as JSON.
pub fn plan(options: &str, sources: &[&str], targets: &[&str]) -> Value {
    let mut p = planner(options);
    for (i, s) in sources.iter().enumerate() {
        p.add_source(s.as_bytes(), SourceFormat::Auto, &format!("source{}", i + 1)).expect("source page");
    }
    for (i, t) in targets.iter().enumerate() {
        p.add_target(t.as_bytes(), TargetFormat::Auto, &format!("target{}", i + 1)).expect("target page");
    }
    serde_json::from_slice(&p.finish().to_json()).unwrap()
}

pub fn planner(options: &str) -> Planner {
    Planner::new(PlanOptions::from_json(options.as_bytes()).expect("options")).expect("planner")
}

/// The actions of a plan whose `action` is `kind`.
pub fn of_kind<'a>(plan: &'a Value, kind: &str) -> Vec<&'a Value> {
    plan["actions"].as_array().unwrap().iter().filter(|a| a["action"] == kind).collect()
}

/// A normalised platform user as JSON.
pub fn user(id: &str, sso: &str, first: &str, last: &str, email: &str, active: bool) -> String {
    format!(
        r#"{{"id":"{id}","ssoId":"{sso}","firstName":"{first}","lastName":"{last}","email":"{email}","active":{active}}}"#
    )
}

pub fn users(list: &[String]) -> String {
    format!("[{}]", list.join(","))
}
