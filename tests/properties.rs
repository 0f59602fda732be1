//! Properties of the planner over random learner sets and platform states (proptest):
//! applying a plan and planning again leaves nothing to do; plans are deterministic; a learner
//! yields at most one action; protected users are never deactivated or deleted; a plan with its
//! `held` key removed is held all the same.

mod support;

use std::collections::HashMap;

use proptest::prelude::*;
use serde_json::{json, Value};

#[derive(Clone, Debug)]
struct L {
    sso: u8,
    email: u8,
    first: u8,
    last: u8,
    active: bool,
}

#[derive(Clone, Debug)]
struct U {
    sso: Option<u8>,
    email: u8,
    first: u8,
    last: u8,
    active: bool,
    admin: bool,
}

fn learners() -> impl Strategy<Value = Vec<L>> {
    prop::collection::vec(
        (0u8..40, 0u8..60, 0u8..3, 0u8..3, any::<bool>()).prop_map(|(sso, email, first, last, active)| L {
            sso,
            email,
            first,
            last,
            active,
        }),
        0..30,
    )
}

fn users() -> impl Strategy<Value = Vec<U>> {
    prop::collection::vec(
        (prop::option::weighted(0.85, 0u8..40), 0u8..60, 0u8..3, 0u8..3, any::<bool>(), prop::bool::weighted(0.1))
            .prop_map(|(sso, email, first, last, active, admin)| U { sso, email, first, last, active, admin }),
        0..30,
    )
}

fn source_csv(ls: &[L]) -> String {
    let mut s = String::from("ssoId,firstName,lastName,email,active\n");
    for l in ls {
        s.push_str(&format!("{},F{},L{},e{}@x.org,{}\n", l.sso, l.first, l.last, l.email, l.active));
    }
    s
}

/// The platform as normalised users, keyed by ID.
fn platform(us: &[U]) -> Vec<Value> {
    us.iter()
        .enumerate()
        .map(|(i, u)| {
            json!({"id": format!("p{i}"), "ssoId": u.sso.map(|s| s.to_string()), "firstName": format!("F{}", u.first),
                   "lastName": format!("L{}", u.last), "email": format!("e{}@x.org", u.email), "active": u.active, "admin": u.admin})
        })
        .collect()
}

/// Applies every write of a plan to the platform, as a platform would.
fn apply(plan: &Value, users: &mut Vec<Value>) {
    let mut next = 0;
    for a in plan["actions"].as_array().unwrap() {
        let find = |users: &mut Vec<Value>, id: &Value| users.iter().position(|u| &u["id"] == id);
        match a["action"].as_str().unwrap() {
            "create" => {
                let mut u = a["fields"].clone();
                u["id"] = json!(format!("new{next}"));
                next += 1;
                users.push(u);
            }
            "update" | "link" | "reactivate" | "deactivate" => {
                let at = find(users, &a["platformId"]).expect("the user exists");
                for (k, c) in a["changes"].as_object().unwrap() {
                    users[at][k] = c["to"].clone();
                }
            }
            "delete" => {
                let at = find(users, &a["platformId"]).unwrap();
                users.remove(at);
            }
            _ => {}
        }
    }
}

const WRITES: [&str; 6] = ["create", "update", "link", "reactivate", "deactivate", "delete"];

fn writes(plan: &Value) -> usize {
    plan["actions"].as_array().unwrap().iter().filter(|a| WRITES.contains(&a["action"].as_str().unwrap())).count()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn a_second_plan_after_applying_the_first_has_nothing_to_do(
        ls in learners(), us in users(), orphans in prop::sample::select(vec!["review", "deactivate", "delete"]),
        with_email in any::<bool>()
    ) {
        let matching = if with_email { r#"["ssoId","email"]"# } else { r#"["ssoId"]"# };
        let options = format!(r#"{{"platform":"scim","match":{matching},"orphans":"{orphans}"}}"#);
        let src = source_csv(&ls);
        let mut state = platform(&us);
        let first = support::plans::plan(&options, &[&src], &[&Value::Array(state.clone()).to_string()]);
        apply(&first, &mut state);
        let second = support::plans::plan(&options, &[&src], &[&Value::Array(state.clone()).to_string()]);
        prop_assert_eq!(writes(&second), 0, "first: {}\nsecond: {}", first, second);
    }

    #[test]
    fn plans_are_deterministic_one_action_per_learner_and_protected_users_are_safe(
        ls in learners(), us in users()
    ) {
        let options = r#"{"platform":"scim","match":["ssoId","email"],"orphans":"delete"}"#;
        let src = source_csv(&ls);
        let tgt = Value::Array(platform(&us)).to_string();
        let a = support::plans::plan(options, &[&src], &[&tgt]);
        let b = support::plans::plan(options, &[&src], &[&tgt]);
        prop_assert_eq!(serde_json::to_string(&a).unwrap(), serde_json::to_string(&b).unwrap());

        let mut per_row: HashMap<u64, usize> = HashMap::new();
        let mut per_user: HashMap<String, usize> = HashMap::new();
        for act in a["actions"].as_array().unwrap() {
            if let Some(r) = act["row"].as_u64() {
                *per_row.entry(r).or_default() += 1;
            }
            for r in act["rows"].as_array().into_iter().flatten() {
                *per_row.entry(r["row"].as_u64().unwrap()).or_default() += 1;
            }
            if let Some(id) = act["platformId"].as_str() {
                *per_user.entry(id.to_string()).or_default() += 1;
            }
            // A shared key reported beside, and the holder of a taken key, name users that are
            // planned on their own.
            let beside = matches!(act["conflict"].as_str(), Some("sharedPlatformKey" | "keyTaken"));
            for id in act["platformIds"].as_array().into_iter().flatten().filter(|_| !beside) {
                *per_user.entry(id.as_str().unwrap().to_string()).or_default() += 1;
            }
            if matches!(act["action"].as_str(), Some("deactivate" | "delete")) && act["orphan"] == true {
                let i: usize = act["platformId"].as_str().unwrap()[1..].parse().unwrap();
                prop_assert!(!us[i].admin, "an administrator in orphan handling: {}", act);
            }
        }
        prop_assert!(per_row.values().all(|&n| n == 1), "a learner in two actions: {}", a);
        prop_assert!(per_user.values().all(|&n| n == 1), "a user in two actions: {}", a);
    }

    #[test]
    fn a_plan_with_its_held_key_removed_is_still_held_and_sends_nothing(ls in learners(), us in users()) {
        use learner_sync::sync::{SyncOptions, SyncEngine};
        // Any deactivation holds the plan, so most cases are held.
        let options = r#"{"platform":"scim","match":["ssoId","email"],"orphans":"deactivate",
            "guards":{"maxDeactivatePercent":0,"maxDeactivateCount":0}}"#;
        let made = support::plans::plan(options, &[&source_csv(&ls)], &[&Value::Array(platform(&us)).to_string()]);
        let mut edited = made.clone();
        edited.as_object_mut().unwrap().remove("held");
        edited["summary"]["deactivate"] = json!(0);
        let plan: learner_sync::Plan = serde_json::from_value(edited).unwrap();
        let host = learner_sync::PlanOptions::from_json(options.as_bytes()).unwrap();
        let config = SyncOptions::from_json(br#"{"baseUrl":"https://scim.example.org","credentials":{"token":"t"}}"#).unwrap();
        let mut engine = SyncEngine::from_plan(plan.into_owned(), config, &host).unwrap();
        engine.start(0).unwrap();
        let held = engine.report(0).held.map(|h| h.fingerprint);
        prop_assert_eq!(held.as_deref(), made["held"]["fingerprint"].as_str(), "{}", made);
        if held.is_some() {
            prop_assert!(engine.poll_transmit(0).is_none(), "a held plan sends nothing");
        }
    }
}
