//! `mastery.MasteryError`: a real `Exception` subclass with `.code` and `.field`.

use pyo3::exceptions::PyException;
use pyo3::prelude::*;

pyo3::create_exception!(mastery, MasteryError, PyException, "Any failure of the mastery library; see `.code`.");

/// Maps the core error. Messages carry field names, never learner data.
pub fn to_py(py: Python<'_>, error: mastery_core::MasteryError) -> PyErr {
    let err = MasteryError::new_err(error.to_string());
    let value = err.value(py);
    // Setting attributes on a fresh exception instance cannot fail in practice; if it did, the
    // exception would still carry its message.
    let _ = value.setattr("code", error.code());
    let _ = value.setattr("field", error.field());
    err
}

/// `Result` with the core error, convertible with `?` inside a `Python` scope via [`IntoPyResult`].
pub trait IntoPyResult<T> {
    fn py_err(self, py: Python<'_>) -> PyResult<T>;
}

impl<T> IntoPyResult<T> for Result<T, mastery_core::MasteryError> {
    fn py_err(self, py: Python<'_>) -> PyResult<T> {
        self.map_err(|e| to_py(py, e))
    }
}
