//! String newtype identifiers. Ids cross every binding as plain strings.
//!
//! Each id is a [`SmolStr`]: ids of up to 23 bytes (most learner, course and skill ids) live
//! inline, longer ones behind a shared pointer, so the engine's keys and stored records copy ids
//! without allocating.

use serde::{Deserialize, Serialize};
use smol_str::SmolStr;

macro_rules! string_id {
    ($(#[$doc:meta])* $name:ident, redacted = $redacted:literal) => {
        $(#[$doc])*
        #[derive(Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(SmolStr);

        impl $name {
            /// Wraps an identifier string.
            pub fn new(id: impl AsRef<str>) -> Self {
                Self(SmolStr::new(id))
            }
            /// The identifier as a string slice.
            pub fn as_str(&self) -> &str {
                &self.0
            }
            /// The identifier as the shared string it is kept in (cloning it never allocates).
            pub fn as_smol_str(&self) -> &SmolStr {
                &self.0
            }
        }

        impl std::fmt::Debug for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                if $redacted {
                    write!(f, concat!(stringify!($name), "(<redacted>)"))
                } else {
                    write!(f, concat!(stringify!($name), "({:?})"), self.0)
                }
            }
        }

        impl From<&str> for $name {
            fn from(id: &str) -> Self {
                Self(SmolStr::new(id))
            }
        }

        impl From<String> for $name {
            fn from(id: String) -> Self {
                Self(SmolStr::from(id))
            }
        }
    };
}

string_id!(
    /// A tenant (institution) boundary; nothing crosses it.
    TenantId, redacted = false);
string_id!(
    /// A person: learner, instructor or admin. Redacted in `Debug` so it never reaches a log.
    UserId, redacted = true);
string_id!(
    /// A course (or course section) that scopes instructors' access.
    CourseId, redacted = false);
string_id!(
    /// A competency: a CASE `CFItem` identifier or a host's own skill name.
    CompetencyId, redacted = false);
string_id!(
    /// An evidence record's idempotency key, unique per learner. Redacted in `Debug`: hosts often
    /// build it from the learner's id (`csv:{user}:…`).
    EvidenceId, redacted = true);

/// Stands in for a learner id (or anything derived from one) in `Debug` output.
pub(crate) struct Redacted;

impl std::fmt::Debug for Redacted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("<redacted>")
    }
}

/// The one [`Redacted`] value.
pub(crate) const REDACTED: Redacted = Redacted;
