//! Core errors become real JS `Error` objects carrying `.code` and `.field`.

use wasm_bindgen::JsValue;

pub fn to_js(error: mastery_core::MasteryError) -> JsValue {
    let js = js_sys::Error::new(&error.to_string());
    js.set_name("MasteryError");
    let set = |key: &str, value: JsValue| {
        // Setting a property on a fresh Error object cannot fail.
        let _ = js_sys::Reflect::set(&js, &JsValue::from_str(key), &value);
    };
    set("code", JsValue::from_str(error.code()));
    set("field", error.field().map_or(JsValue::NULL, JsValue::from_str));
    js.into()
}

/// An `invalid_input` MasteryError naming the argument (a value of the wrong type or shape).
pub fn invalid(field: &str, reason: impl ToString) -> JsValue {
    to_js(mastery_core::MasteryError::InvalidInput { field: field.into(), reason: reason.to_string() })
}

/// An `internal` MasteryError: a result that could not be turned into JS (a bug of ours).
pub fn internal(reason: impl ToString) -> JsValue {
    to_js(mastery_core::MasteryError::Internal { reason: reason.to_string() })
}
