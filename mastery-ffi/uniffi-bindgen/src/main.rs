//! `cargo run -p uniffi-bindgen -- generate --library <libmastery_ffi.so> --language kotlin --out-dir ...`
fn main() {
    uniffi::uniffi_bindgen_main()
}
