//! Micro-credentials: achievements, award rules over learner state, exactly-once issuance with an
//! outbox, Open Badges 3.0 credentials, and VC-JWT (EdDSA / Ed25519) signing and verification.

mod baking;
mod integrity;
mod jwt;
mod keys;
mod ledger;
mod ob3;
mod rules;
mod status;

pub use baking::{bake_png, bake_svg, unbake_png, unbake_svg, BadgeVersion};
pub use integrity::{
    canonicalize, did_web_document, did_web_url, keys_from_document, sign_data_integrity, CRYPTOSUITE,
};
pub use jwt::{
    sign_vc_jwt, verify_credential, verify_credential_json, verify_vc_jwt, Check, Verification, VerifyOptions,
};
pub use keys::{did_key_from_public, public_key_from_did_key, public_key_from_multibase, IssuerKey};
pub use ledger::{Award, CredentialLedger, Notification, NotificationKind, RuleIndex};
pub use ob3::{achievement_credential, Achievement, AchievementType, IssuerProfile, StatusEntry};
pub use rules::{AwardRule, LearnerFacts};
pub use status::{status_list_credential, StatusList};
