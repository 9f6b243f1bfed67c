//! The one error type. Messages name fields and formats, never learners.

/// Every failure the library reports. Match on [`MasteryError::code`] for a stable string.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum MasteryError {
    /// Input was readable but a field is missing or holds a bad value.
    #[error("invalid {field}: {reason}")]
    InvalidInput { field: String, reason: String },
    /// Input could not be read at all (not JSON, not CSV, truncated).
    #[error("cannot parse {format}: {reason}")]
    Parse { format: &'static str, reason: String },
    /// A document declares a version this library does not read.
    #[error("unsupported {what} version {version}")]
    UnsupportedVersion { what: &'static str, version: String },
    /// A prerequisite (`precedes`) or hierarchy cycle; names the competencies on it.
    #[error("cycle in {relation} through competencies {competencies:?}")]
    Cycle { relation: &'static str, competencies: Vec<String> },
    /// A record the caller asked for does not exist.
    #[error("{what} not found")]
    NotFound { what: &'static str },
    /// The access policy refused the call. Never returned as an empty success.
    #[error("access denied: {action}")]
    AccessDenied { action: String },
    /// The storage backend failed.
    #[error("store failure: {reason}")]
    Store { reason: String },
    /// A conditional write ([`crate::store::Store::apply_since`]) found a learner's records
    /// changed by another writer after the caller read them; nothing was written. The engine
    /// retries; a binding sees it only as `store_error`.
    #[error("store failure: records changed by another writer since they were read")]
    StoreConflict,
    /// A bug in this library caught at a binding boundary (a panic); the input may be fine.
    #[error("internal error: {reason}")]
    Internal { reason: String },
    /// The caller's progress callback asked to stop (see [`crate::progress`]).
    #[error("cancelled")]
    Cancelled,
}

impl MasteryError {
    /// A stable, machine-readable code; bindings expose it as `.code`.
    pub fn code(&self) -> &'static str {
        match self {
            Self::InvalidInput { .. } => "invalid_input",
            Self::Parse { .. } => "parse_error",
            Self::UnsupportedVersion { .. } => "unsupported_version",
            Self::Cycle { .. } => "cycle",
            Self::NotFound { .. } => "not_found",
            Self::AccessDenied { .. } => "access_denied",
            Self::Store { .. } | Self::StoreConflict => "store_error",
            Self::Internal { .. } => "internal",
            Self::Cancelled => "cancelled",
        }
    }

    /// The input field the error is about, when there is one.
    pub fn field(&self) -> Option<&str> {
        match self {
            Self::InvalidInput { field, .. } => Some(field),
            _ => None,
        }
    }

    pub(crate) fn invalid(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Self::InvalidInput { field: field.into(), reason: reason.into() }
    }

    pub(crate) fn parse(format: &'static str, reason: impl ToString) -> Self {
        Self::Parse { format, reason: reason.to_string() }
    }
}

/// A serde message without the values it quotes: `invalid type: string "alice", expected u32`
/// becomes `invalid type: string, expected u32`. Field and variant names (the schema) stay; the
/// offending value (it may be a learner id) goes. Bindings pass every shape error through this.
pub fn redact(message: &str) -> String {
    const VALUE_BEFORE: [&str; 6] =
        ["integer ", "floating point ", "boolean ", "character ", "unknown variant ", "invalid value: "];
    let mut out = String::with_capacity(message.len());
    let mut rest = message;
    while let Some(start) = rest.find(['"', '`']) {
        let quote = if rest.as_bytes()[start] == b'"' { '"' } else { '`' };
        let (before, after) = (&rest[..start], &rest[start + 1..]);
        let Some(end) = after.find(quote) else { break };
        if quote == '"' || VALUE_BEFORE.iter().any(|p| before.ends_with(p)) {
            out.push_str(before.trim_end());
        } else {
            out.push_str(before);
            out.push(quote);
            out.push_str(&after[..end]);
            out.push(quote);
        }
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    out.trim().to_owned()
}

/// Shorthand used throughout the crate.
pub type Result<T, E = MasteryError> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    #[test]
    fn serde_messages_lose_their_values() {
        use super::redact;
        assert_eq!(redact("invalid type: string \"alice\", expected u32"), "invalid type: string, expected u32");
        assert_eq!(
            redact("unknown variant `bob`, expected `daily` or `weekly`"),
            "unknown variant, expected `daily` or `weekly`"
        );
        assert_eq!(redact("missing field `id`"), "missing field `id`");
        assert_eq!(redact("invalid type: integer `42`, expected a string"), "invalid type: integer, expected a string");
    }
}
