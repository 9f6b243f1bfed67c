//! Micro-credentials: achievements, award rules over learner state, exactly-once issuance with an
//! outbox, Open Badges 3.0 credentials signed as VC-JWT or with Data Integrity proofs (Ed25519),
//! status lists, baking, certificates and the badge gallery.

mod awarding;
mod baking;
mod certificate;
mod gallery;
mod integrity;
mod issuer;
mod jwt;
mod keys;
mod ledger;
mod ob2;
mod ob3;
mod rules;
mod signed;
mod status;

pub use awarding::{AwardRecord, AwardRules};
pub use baking::{bake_png, bake_svg, unbake_png, unbake_svg, BadgeVersion};
pub use certificate::{certificate_pdf, certificate_svg, Certificate, CertificateTemplate};
pub use gallery::{badge_gallery, expire_with_decay, gallery_from_awards, BadgeStatus, GalleryItem, GalleryQuery};
pub use integrity::{
    canonicalize, did_web_document, did_web_url, keys_from_document, sign_data_integrity, CRYPTOSUITE,
};
pub use issuer::CredentialIssuer;
pub use jwt::{
    sign_vc_jwt, verify_credential, verify_credential_json, verify_vc_jwt, Check, Verification, VerifyOptions,
};
pub use keys::{did_key_from_public, public_key_from_did_key, public_key_from_multibase, IssuerKey};
pub use ledger::{Award, AwardScope, CredentialLedger, Notification, NotificationKind, RuleIndex};
pub use ob2::{ob2_assertion, ob2_badge_class, ob2_issuer, BadgeDocument, OB2_CONTEXT};
pub use ob3::{achievement_credential, Achievement, AchievementType, IssuerProfile, StatusEntry};
pub use rules::{AwardRule, LearnerFacts};
pub use status::{status_list_credential, StatusList};
