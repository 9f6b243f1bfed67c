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

/// A `TypeError` for input of the wrong shape (not a core error).
pub fn type_error(message: impl std::fmt::Display) -> JsValue {
    let js = js_sys::TypeError::new(&message.to_string());
    let _ = js_sys::Reflect::set(&js, &JsValue::from_str("code"), &JsValue::from_str("invalid_input"));
    js.into()
}
