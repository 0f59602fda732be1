//! Core errors as JS `Error` objects: `{name: "LearnerSyncError", code, message, label?}`.

use wasm_bindgen::JsValue;

use crate::error::Error;

fn set(obj: &JsValue, key: &str, value: &JsValue) {
    // Setting a property on a fresh Error object cannot fail.
    let _ = js_sys::Reflect::set(obj, &JsValue::from_str(key), value);
}

/// An `Error` with a code and message.
pub(crate) fn coded(code: &str, message: &str) -> JsValue {
    let err: JsValue = js_sys::Error::new(message).into();
    set(&err, "name", &JsValue::from_str("LearnerSyncError"));
    set(&err, "code", &JsValue::from_str(code));
    err
}

/// A core error as a JS `Error`.
pub(crate) fn to_js(e: &Error) -> JsValue {
    let err = coded(e.code(), &e.to_string());
    if let Some(label) = e.label() {
        set(&err, "label", &JsValue::from_str(label));
    }
    if let Error::MissingColumn { field, column, .. } = e {
        set(&err, "field", &JsValue::from_str(field));
        set(&err, "column", &JsValue::from_str(column));
    }
    err
}
