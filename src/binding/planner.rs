//! `Planner` for JavaScript: pages go in as bytes (`Uint8Array`), the plan comes out as JSON
//! text, so no learner ever crosses the boundary as a JS object. `planToCsv` turns that JSON
//! text into CSV text for a spreadsheet.

use wasm_bindgen::prelude::*;

use super::errors::{coded, to_js};
use crate::error::Error;
use crate::export;
use crate::options::PlanOptions;
use crate::planner::{PageStats, Plan, Planner};
use crate::platform::TargetFormat;
use crate::source::{SourceFormat, SourceText};

#[wasm_bindgen(js_name = RawPlanner)]
pub struct JsPlanner(Planner);

#[wasm_bindgen(js_class = RawPlanner)]
impl JsPlanner {
    /// Makes a planner from options as JSON text.
    #[wasm_bindgen(constructor)]
    pub fn new(options_json: &str) -> Result<JsPlanner, JsValue> {
        let opts = PlanOptions::from_json(options_json.as_bytes()).map_err(|e| to_js(&e))?;
        Planner::new(opts).map(JsPlanner).map_err(|e| to_js(&e))
    }

    /// Reads a source page; returns `{label, records, invalid}`.
    #[wasm_bindgen(js_name = addSource)]
    pub fn add_source(
        &mut self,
        page: &[u8],
        format: &str,
        label: &str,
        delimiter: &str,
        encoding: &str,
    ) -> Result<JsValue, JsValue> {
        add_page(format, delimiter, encoding, |format, text| self.0.add_source_as(page, format, text, label))
    }

    /// Reads a platform page; returns `{label, records, invalid, hasMore?}`.
    #[wasm_bindgen(js_name = addTarget)]
    pub fn add_target(&mut self, page: &[u8], format: &str, label: &str) -> Result<JsValue, JsValue> {
        let format = TargetFormat::from_name(format).ok_or_else(|| {
            coded(
                "INVALID_OPTIONS",
                &format!("unknown target format {format:?} (auto, foundry, learnifier, scim, normalised)"),
            )
        })?;
        let stats = self.0.add_target(page, format, label).map_err(|e| to_js(&e))?;
        serde_wasm_bindgen::to_value(&stats).map_err(|e| coded("INTERNAL", &e.to_string()))
    }

    /// The plan as JSON text.
    #[wasm_bindgen(js_name = finishJson)]
    pub fn finish_json(&self) -> String {
        let json = self.0.finish().to_json();
        // serde_json writes UTF-8 only.
        String::from_utf8(json).expect("JSON is UTF-8")
    }
}

/// A plan, as the JSON text `finishJson` gives, as CSV text: one row per action (columns in
/// `crate::export`). Text that is not a plan is an `INVALID_INPUT` error.
#[wasm_bindgen(js_name = planToCsv)]
pub fn plan_to_csv(plan_json: &str) -> Result<String, JsValue> {
    let plan: Plan = serde_json::from_slice(plan_json.as_bytes())
        .map_err(|e| coded("INVALID_INPUT", &format!("the plan is not a learner-sync plan: {e}")))?;
    // Every cell comes from UTF-8 text, so the CSV is UTF-8.
    Ok(String::from_utf8(export::plan_to_csv(&plan)).expect("CSV of text is UTF-8"))
}

/// Reads a source page through `add` (the planner's or a sync's `add_source_as`), with the
/// host's names for its format, delimiter and encoding; returns `{label, records, invalid}`.
pub(super) fn add_page(
    format: &str,
    delimiter: &str,
    encoding: &str,
    add: impl FnOnce(SourceFormat, &SourceText) -> Result<PageStats, Error>,
) -> Result<JsValue, JsValue> {
    let text = SourceText::from_names(delimiter, encoding).map_err(|e| to_js(&e))?;
    let format = SourceFormat::from_name(format)
        .ok_or_else(|| coded("INVALID_OPTIONS", &format!("unknown source format {format:?} (auto, csv, json)")))?;
    let stats = add(format, &text).map_err(|e| to_js(&e))?;
    serde_wasm_bindgen::to_value(&stats).map_err(|e| coded("INTERNAL", &e.to_string()))
}
