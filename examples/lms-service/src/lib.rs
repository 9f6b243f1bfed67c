//! A reference LMS back end on `mastery-core`: `/api/mastery`, `/api/credentials` and
//! `/api/risk` over PostgreSQL with row-level security, or over the embedded directory store.
//! See the README's "Reference LMS service" section.
#![forbid(unsafe_code)]

pub mod api;
pub mod auth;
pub mod cache;
pub mod catalog;
pub mod client;
pub mod durable;
pub mod error;
pub mod pg;
pub mod risk;
pub mod store;

pub use pg::PgStore;
pub use store::AnyStore;
