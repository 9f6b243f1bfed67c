//! The uniffi error enum: one variant per stable code (Kotlin `MasteryException.InvalidInput`, ...).

/// Every failure of the library, by its stable code.
#[derive(Debug, thiserror::Error, uniffi::Error)]
#[non_exhaustive]
pub enum MasteryError {
    #[error("{detail}")]
    InvalidInput { field: String, detail: String },
    #[error("{detail}")]
    Parse { detail: String },
    #[error("{detail}")]
    UnsupportedVersion { detail: String },
    #[error("{detail}")]
    Cycle { competencies: Vec<String>, detail: String },
    #[error("{detail}")]
    NotFound { detail: String },
    #[error("{detail}")]
    AccessDenied { detail: String },
    #[error("{detail}")]
    Store { detail: String },
    /// Something the library did not anticipate; reported instead of crashing the app.
    #[error("{detail}")]
    Internal { detail: String },
}

impl From<mastery_core::MasteryError> for MasteryError {
    fn from(e: mastery_core::MasteryError) -> Self {
        let detail = e.to_string();
        match e {
            mastery_core::MasteryError::InvalidInput { field, .. } => Self::InvalidInput { field, detail },
            mastery_core::MasteryError::Parse { .. } => Self::Parse { detail },
            mastery_core::MasteryError::UnsupportedVersion { .. } => Self::UnsupportedVersion { detail },
            mastery_core::MasteryError::Cycle { competencies, .. } => Self::Cycle { competencies, detail },
            mastery_core::MasteryError::NotFound { .. } => Self::NotFound { detail },
            mastery_core::MasteryError::AccessDenied { .. } => Self::AccessDenied { detail },
            mastery_core::MasteryError::Store { .. } | mastery_core::MasteryError::StoreConflict => {
                Self::Store { detail }
            }
            // Internal, and any code a newer core adds: never reported as a store failure.
            _ => Self::Internal { detail },
        }
    }
}

impl From<uniffi::UnexpectedUniFFICallbackError> for MasteryError {
    fn from(e: uniffi::UnexpectedUniFFICallbackError) -> Self {
        Self::Internal { detail: e.reason }
    }
}

/// Runs an exported body; a panic in it becomes `MasteryError::Internal` (Kotlin
/// `MasteryException.Internal`) instead of uniffi's generic `InternalException`. The panic's own
/// message is not passed on: it could quote input.
pub(crate) fn guard<T>(body: impl FnOnce() -> Result<T, MasteryError>) -> Result<T, MasteryError> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(body)).unwrap_or_else(|_| {
        Err(MasteryError::Internal { detail: "the library panicked; please report this input".into() })
    })
}
