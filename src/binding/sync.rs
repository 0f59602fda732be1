//! `SyncEngine` for JavaScript. Requests go out as plain objects whose body is a
//! `Uint8Array`; answers come back as status, header pairs and body bytes. The JS driver
//! (`js/sync.js`) owns fetch and timers; this only converts. `reportToCsv` turns a report's
//! JSON text into CSV text for a spreadsheet.

use js_sys::{Array, Object, Reflect, Uint8Array};
use wasm_bindgen::prelude::*;

use super::errors::{coded, to_js};
use crate::export;
use crate::options::PlanOptions;
use crate::planner::Plan;
use crate::sync::{Response, SyncEngine, SyncOptions, SyncReport, TransportError, Unreachable};

#[wasm_bindgen(js_name = RawSync)]
pub struct JsSync(SyncEngine);

fn set(obj: &Object, key: &str, value: &JsValue) {
    // Setting a property on a fresh plain object cannot fail.
    let _ = Reflect::set(obj, &JsValue::from_str(key), value);
}

type PlannedRun = fn(Plan<'static>, SyncOptions, &PlanOptions) -> Result<SyncEngine, crate::Error>;

/// A run over a plan given as JSON text (`with_plan` or `from_plan`), under the host's plan
/// options (their guards, protect list and administrator roles; JSON text).
fn planned(plan_json: &str, sync_options_json: &str, host_json: &str, make: PlannedRun) -> Result<JsSync, JsValue> {
    let plan: Plan = serde_json::from_slice(plan_json.as_bytes())
        .map_err(|e| coded("INVALID_INPUT", &format!("the plan is not a learner-sync plan: {e}")))?;
    let sync_options = SyncOptions::from_json(sync_options_json.as_bytes()).map_err(|e| to_js(&e))?;
    let host = PlanOptions::from_json(host_json.as_bytes()).map_err(|e| to_js(&e))?;
    make(plan.into_owned(), sync_options, &host).map(JsSync).map_err(|e| to_js(&e))
}

impl JsSync {
    /// `id` as the id of a request in flight, or `INVALID_INPUT`.
    fn answered(&self, id: f64) -> Result<u64, JsValue> {
        if id.fract() == 0.0 && (1.0..=9_007_199_254_740_991.0).contains(&id) && self.0.is_in_flight(id as u64) {
            Ok(id as u64)
        } else {
            Err(coded(
                "INVALID_INPUT",
                "an answer names a request id that is not in flight (not sent, or answered already)",
            ))
        }
    }
}

#[wasm_bindgen(js_class = RawSync)]
impl JsSync {
    /// A run from plan options and sync options, both as JSON text.
    #[wasm_bindgen(constructor)]
    pub fn new(plan_options_json: &str, sync_options_json: &str) -> Result<JsSync, JsValue> {
        let opts = PlanOptions::from_json(plan_options_json.as_bytes()).map_err(|e| to_js(&e))?;
        let sync_options = SyncOptions::from_json(sync_options_json.as_bytes()).map_err(|e| to_js(&e))?;
        SyncEngine::new(opts, sync_options).map(JsSync).map_err(|e| to_js(&e))
    }

    /// A run that applies a plan made earlier (JSON text), checking each action against the
    /// platform first. `host_options_json`: the host's plan options, whose guards (with
    /// `approve`, the held fingerprint of a held plan) apply instead of the file's.
    #[wasm_bindgen(js_name = withPlan)]
    pub fn with_plan(plan_json: &str, sync_options_json: &str, host_options_json: &str) -> Result<JsSync, JsValue> {
        planned(plan_json, sync_options_json, host_options_json, SyncEngine::with_plan)
    }

    /// A run that applies a plan (JSON text) as it stands, without listing the platform;
    /// `host_options_json` as for `withPlan`.
    #[wasm_bindgen(js_name = fromPlan)]
    pub fn from_plan(plan_json: &str, sync_options_json: &str, host_options_json: &str) -> Result<JsSync, JsValue> {
        planned(plan_json, sync_options_json, host_options_json, SyncEngine::from_plan)
    }

    /// A run carried on from a checkpoint. `sync_options_json`: this invocation's sync options
    /// (baseUrl, credentials, budget…); `options_json`: the plan options to check against, or empty.
    pub fn resume(checkpoint: &[u8], sync_options_json: &str, options_json: &str) -> Result<JsSync, JsValue> {
        let sync_options: serde_json::Value = serde_json::from_slice(sync_options_json.as_bytes())
            .map_err(|e| coded("INVALID_OPTIONS", &format!("the settings are not JSON: {e}")))?;
        let options = if options_json.is_empty() {
            None
        } else {
            Some(PlanOptions::from_json(options_json.as_bytes()).map_err(|e| to_js(&e))?)
        };
        SyncEngine::resume(checkpoint, &sync_options, options.as_ref()).map(JsSync).map_err(|e| to_js(&e))
    }

    /// Refuses a resumed run whose waits end far past `now` (`INVALID_CHECKPOINT`).
    #[wasm_bindgen(js_name = checkClock)]
    pub fn check_clock(&self, now: f64) -> Result<(), JsValue> {
        self.0.check_clock(now as u64).map_err(|e| to_js(&e))
    }

    /// The run as checkpoint JSON text.
    #[wasm_bindgen(js_name = checkpointJson)]
    pub fn checkpoint_json(&self) -> String {
        String::from_utf8(self.0.checkpoint()).expect("JSON is UTF-8")
    }

    /// Hands back every request in flight as lost.
    #[wasm_bindgen(js_name = abandonInFlight)]
    pub fn abandon_in_flight(&mut self, now: f64) {
        self.0.abandon_in_flight(now as u64);
    }

    /// Hands the run a token the host kept outside the checkpoint (`expiresAt`: epoch ms on
    /// the host's clock). Returns whether it will be used (not when expired, when the run
    /// fetches no token, or when the value could not go in a header).
    #[wasm_bindgen(js_name = useToken)]
    pub fn use_token(&mut self, value: &str, expires_at: f64, now: f64) -> bool {
        // A NaN or negative expiry reads as 0: expired.
        self.0.use_token(value, expires_at as u64, now as u64)
    }

    /// The token the run fetched since the last call, once: `{value, expiresAt}` for the
    /// host's cache, or undefined.
    #[wasm_bindgen(js_name = takeNewToken)]
    pub fn take_new_token(&mut self) -> JsValue {
        let Some((value, expires_at)) = self.0.take_new_token() else { return JsValue::UNDEFINED };
        let obj = Object::new();
        set(&obj, "value", &JsValue::from_str(&value));
        set(&obj, "expiresAt", &JsValue::from_f64(expires_at as f64));
        obj.into()
    }

    #[wasm_bindgen(js_name = isSuspended)]
    pub fn is_suspended(&self) -> bool {
        self.0.is_suspended()
    }

    /// Ends this invocation: the host's shared budget failed (`BUDGET_FAILED`, `message`).
    #[wasm_bindgen(js_name = suspendBudgetFailed)]
    pub fn suspend_budget_failed(&mut self, message: &str) {
        self.0.suspend_budget_failed(message);
    }

    #[wasm_bindgen(js_name = wantsCheckpoint)]
    pub fn wants_checkpoint(&self) -> bool {
        self.0.wants_checkpoint()
    }

    #[wasm_bindgen(js_name = checkpointSaved)]
    pub fn checkpoint_saved(&mut self) {
        self.0.checkpoint_saved();
    }

    #[wasm_bindgen(js_name = needsSource)]
    pub fn needs_source(&self) -> bool {
        self.0.needs_source()
    }

    #[wasm_bindgen(js_name = addSource)]
    pub fn add_source(
        &mut self,
        page: &[u8],
        format: &str,
        label: &str,
        delimiter: &str,
        encoding: &str,
    ) -> Result<JsValue, JsValue> {
        super::planner::add_page(format, delimiter, encoding, |format, text| {
            self.0.add_source_as(page, format, text, label)
        })
    }

    pub fn start(&mut self, now: f64) -> Result<(), JsValue> {
        self.0.start(now as u64).map_err(|e| to_js(&e))
    }

    /// The next request to send now: `{id, method, url, headers: [[name, value]], body}`.
    #[wasm_bindgen(js_name = pollTransmit)]
    pub fn poll_transmit(&mut self, now: f64) -> JsValue {
        let Some(req) = self.0.poll_transmit(now as u64) else { return JsValue::UNDEFINED };
        let obj = Object::new();
        set(&obj, "id", &JsValue::from_f64(req.id as f64));
        set(&obj, "method", &JsValue::from_str(req.method.as_str()));
        set(&obj, "url", &JsValue::from_str(&req.url));
        let headers = Array::new();
        for (k, v) in &req.headers {
            headers.push(&Array::of2(&JsValue::from_str(k), &JsValue::from_str(v)));
        }
        set(&obj, "headers", &headers);
        if !req.body.is_empty() {
            set(&obj, "body", &Uint8Array::from(req.body.as_slice()));
        }
        obj.into()
    }

    /// Hands back an answer. `headers` is an array of `[name, value]` pairs. An answer to a
    /// request not in flight, or a status that is not an integer in 100-599, is refused
    /// (`INVALID_INPUT`): taken as a u16, 65736 would read as 200.
    #[wasm_bindgen(js_name = handleResponse)]
    pub fn handle_response(
        &mut self,
        id: f64,
        now: f64,
        status: f64,
        headers: Array,
        body: &[u8],
    ) -> Result<(), JsValue> {
        let id = self.answered(id)?;
        if status.fract() != 0.0 || !(100.0..=599.0).contains(&status) {
            return Err(coded("INVALID_INPUT", &format!("the answer to request {id} has a status outside 100-599")));
        }
        let mut resp = Response::new(status as u16, body.to_vec());
        for pair in headers.iter() {
            let pair = Array::from(&pair);
            if let (Some(k), Some(v)) = (pair.get(0).as_string(), pair.get(1).as_string()) {
                resp = resp.with_header(&k, &v);
            }
        }
        self.0.handle_response(id, now as u64, Ok(resp));
        Ok(())
    }

    /// Says no answer came: `kind` is "timeout" or "network" ("dns", "refused" or "tls" when the
    /// platform could not be reached at all, the request never sent), "redirect" for a redirect the
    /// host's fetch did not follow and could not show (a browser's opaque redirect), or
    /// "tooLarge" for a body the host stopped reading past `maxResponseBytes()`.
    #[wasm_bindgen(js_name = handleFailure)]
    pub fn handle_failure(&mut self, id: f64, now: f64, kind: &str, message: &str) -> Result<(), JsValue> {
        let id = self.answered(id)?;
        let e = match kind {
            "timeout" => TransportError::Timeout,
            "redirect" => TransportError::Redirected,
            "tooLarge" => TransportError::TooLarge,
            other => match Unreachable::from_name(other) {
                Some(why) => TransportError::Unreachable(why, message.to_string()),
                None => TransportError::Network(message.to_string()),
            },
        };
        self.0.handle_response(id, now as u64, Err(e));
        Ok(())
    }

    /// When to poll again if nothing arrives (undefined: wait for answers only).
    #[wasm_bindgen(js_name = pollTimeout)]
    pub fn poll_timeout(&self, now: f64) -> Option<f64> {
        self.0.poll_timeout(now as u64).map(|t| t as f64)
    }

    /// The next event (`{type: "phase", phase}` or `{type: "progress", phase, done, total}`).
    #[wasm_bindgen(js_name = pollEvent)]
    pub fn poll_event(&mut self) -> JsValue {
        match self.0.poll_event() {
            Some(e) => serde_wasm_bindgen::to_value(&e).unwrap_or(JsValue::UNDEFINED),
            None => JsValue::UNDEFINED,
        }
    }

    /// The host was asked to stop: no new request; suspended once the answers in flight are in.
    pub fn interrupt(&mut self) {
        self.0.interrupt();
    }

    #[wasm_bindgen(js_name = isFinished)]
    pub fn is_finished(&self) -> bool {
        self.0.is_finished()
    }

    /// The report as JSON text.
    #[wasm_bindgen(js_name = reportJson)]
    pub fn report_json(&self, now: f64) -> String {
        serde_json::to_string(&self.0.report(now as u64)).expect("reports serialise")
    }

    /// The plan as JSON text, once made.
    #[wasm_bindgen(js_name = planJson)]
    pub fn plan_json(&self) -> Option<String> {
        self.0.plan().map(|p| String::from_utf8(p.to_json()).expect("JSON is UTF-8"))
    }
}

/// The longest answer body the engine takes, in bytes (the planner's page bound): a host
/// stops reading a body past it and hands back the failure "tooLarge".
#[wasm_bindgen(js_name = maxResponseBytes)]
pub fn max_response_bytes() -> f64 {
    crate::sync::MAX_RESPONSE_BYTES as f64
}

/// A sync report, as the JSON text `reportJson` gives, as CSV text: one row per outcome
/// (columns in `crate::export`). Text that is not a report is an `INVALID_INPUT` error.
#[wasm_bindgen(js_name = reportToCsv)]
pub fn report_to_csv(report_json: &str) -> Result<String, JsValue> {
    let report: SyncReport = serde_json::from_slice(report_json.as_bytes())
        .map_err(|e| coded("INVALID_INPUT", &format!("the report is not a learner-sync report: {e}")))?;
    // Every cell comes from UTF-8 text, so the CSV is UTF-8.
    Ok(String::from_utf8(export::report_to_csv(&report)).expect("CSV of text is UTF-8"))
}
