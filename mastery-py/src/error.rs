//! `mastery.MasteryError`: a real `Exception` subclass with `.code` and `.field`.

use std::panic::{catch_unwind, AssertUnwindSafe};

use pyo3::exceptions::PyException;
use pyo3::prelude::*;

pyo3::create_exception!(
    mastery,
    MasteryError,
    PyException,
    "Any failure of the mastery library: ``.code`` is a stable string (``invalid_input``,\n\
     ``not_found``, ``access_denied``, ...), ``.field`` names the bad argument or field.\n\n\
     Examples\n\
     --------\n\
     >>> import mastery\n\
     >>> try:\n\
     ...     mastery.proficiency_scale(\"nope\")\n\
     ... except mastery.MasteryError as e:\n\
     ...     print(e.code, e.field)\n\
     invalid_input name\n"
);

pyo3::create_exception!(
    mastery,
    StoreConflict,
    MasteryError,
    "Raised by a store's ``apply_since`` when another writer changed a learner of the batch after\n\
     the batch's ``read_version``: the engine reads the batch's state again and recomputes (after\n\
     two conflicts it calls the store's ``hold_writes``, when it has one). Its ``code`` is\n\
     ``store_error``.\n\n\
     Examples\n\
     --------\n\
     >>> import mastery\n\
     >>> issubclass(mastery.StoreConflict, mastery.MasteryError)\n\
     True\n"
);

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

/// An `invalid_input` MasteryError naming the argument.
pub fn invalid(py: Python<'_>, field: &str, reason: impl ToString) -> PyErr {
    to_py(py, mastery_core::MasteryError::InvalidInput { field: field.into(), reason: reason.to_string() })
}

/// An `internal` MasteryError: a bug of ours, reported instead of crashing the interpreter.
pub fn internal(py: Python<'_>, reason: impl ToString) -> PyErr {
    to_py(py, mastery_core::MasteryError::Internal { reason: reason.to_string() })
}

/// Runs a binding body; a panic in it becomes `MasteryError(code="internal")` instead of a
/// `PanicException` (which `except Exception` does not catch). The panic's own message is not
/// passed on: it could quote input.
pub fn guard<T>(py: Python<'_>, body: impl FnOnce() -> PyResult<T>) -> PyResult<T> {
    match catch_unwind(AssertUnwindSafe(body)) {
        Ok(result) => result,
        Err(_) => Err(internal(py, "the library panicked; please report this input")),
    }
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

/// A core error about a table's column: the message says "column" and `.field` names it (a
/// column name comes from the caller, so the message does not repeat it).
pub fn column_error(py: Python<'_>, error: mastery_core::MasteryError) -> PyErr {
    match error {
        mastery_core::MasteryError::InvalidInput { field, reason } => {
            let err = MasteryError::new_err(format!("invalid column: {reason}"));
            let value = err.value(py);
            let _ = value.setattr("code", "invalid_input");
            let _ = value.setattr("field", field);
            err
        }
        other => to_py(py, other),
    }
}
