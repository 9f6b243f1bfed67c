//! `cargo run -p lms-service`: the reference LMS service on 127.0.0.1:8080.
//!
//! Without `DATABASE_URL` it keeps its data in the embedded directory store (`LMS_DATA_DIR`,
//! default `target/lms-data`); with it, in PostgreSQL as that (app) role. `MIGRATION_DATABASE_URL`
//! (the owner role), when set, applies the migrations first. Other settings: `LMS_BIND`,
//! `LMS_JWT_SECRET`, `LMS_ISSUER_SEED` (64 hex digits), `LMS_PUBLIC_HOST` (the did:web host, a
//! port written `%3A`), `LMS_PG_POOL` (connections, default 16), `LMS_RETRAIN_SECS` (the
//! retraining job's interval, default 3600; 0 turns it off) and `LMS_TENANTS` (the tenants it
//! labels, comma-separated, default `t1`).

use std::error::Error;
use std::sync::Arc;

use lms_service::api::{router, Service};
use lms_service::catalog::Catalog;
use lms_service::pg::{migrate, PgStore};
use lms_service::AnyStore;
use mastery_core::MemoryStore;

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

fn seed() -> Result<[u8; 32], Box<dyn Error>> {
    let Some(hex) = env("LMS_ISSUER_SEED") else {
        eprintln!("lms-service: LMS_ISSUER_SEED is not set; signing with a fixed development key");
        return Ok([7; 32]);
    };
    let bytes: Vec<u8> = (0..hex.len())
        .step_by(2)
        .map(|i| hex.get(i..i + 2).and_then(|b| u8::from_str_radix(b, 16).ok()).ok_or("LMS_ISSUER_SEED is not hex"))
        .collect::<Result<_, _>>()?;
    Ok(bytes.try_into().map_err(|_| "LMS_ISSUER_SEED must be 32 bytes")?)
}

/// The retraining job: every `every`, the core's `RetrainPolicy` decides on the tenants' outcomes.
async fn retraining(service: Arc<Service>, tenants: Vec<String>, every: std::time::Duration) {
    let mut tick = tokio::time::interval(every);
    tick.tick().await;
    loop {
        tick.tick().await;
        let (s, t) = (service.clone(), tenants.clone());
        match tokio::task::spawn_blocking(move || s.retrain(&t)).await {
            // Reasons name counts and features, never a learner.
            Ok(Ok(d)) => eprintln!("lms-service: retraining: retrain={} {}", d.retrain, d.reasons.join("; ")),
            Ok(Err(e)) => eprintln!("lms-service: retraining failed: {}", e.code()),
            Err(_) => eprintln!("lms-service: retraining failed"),
        }
    }
}

fn main() -> Result<(), Box<dyn Error>> {
    // The blocking driver is set up before the async runtime exists.
    let store = match env("DATABASE_URL") {
        Some(url) => {
            if let Some(owner) = env("MIGRATION_DATABASE_URL") {
                migrate(&mut postgres::Client::connect(&owner, postgres::NoTls)?)?;
                eprintln!("lms-service: migrations applied");
            }
            let pool = env("LMS_PG_POOL").and_then(|n| n.parse().ok()).unwrap_or(16);
            eprintln!("lms-service: PostgreSQL store ({pool} connections)");
            AnyStore::Postgres(PgStore::connect(url.parse()?, pool)?)
        }
        None => {
            let dir = env("LMS_DATA_DIR").unwrap_or_else(|| "target/lms-data".into());
            eprintln!("lms-service: embedded directory store in {dir} (set DATABASE_URL for PostgreSQL)");
            AnyStore::Memory(MemoryStore::open(&dir)?)
        }
    };
    let secret = env("LMS_JWT_SECRET").unwrap_or_else(|| {
        eprintln!("lms-service: LMS_JWT_SECRET is not set; using a development secret");
        "development-secret".into()
    });
    let host = env("LMS_PUBLIC_HOST").unwrap_or_else(|| "localhost%3A8080".into());
    let started = chrono::Utc::now().fixed_offset();
    let service = Service::new(store, Catalog::demo()?, secret.into_bytes(), &seed()?, &host, started)?;
    let bind = env("LMS_BIND").unwrap_or_else(|| "127.0.0.1:8080".into());
    let service = Arc::new(service);
    tokio::runtime::Builder::new_multi_thread().enable_all().build()?.block_on(async move {
        let every = env("LMS_RETRAIN_SECS").and_then(|v| v.parse::<u64>().ok()).unwrap_or(3600);
        if every > 0 {
            let tenants: Vec<String> =
                env("LMS_TENANTS").unwrap_or_else(|| "t1".into()).split(',').map(|t| t.trim().to_owned()).collect();
            tokio::spawn(retraining(service.clone(), tenants, std::time::Duration::from_secs(every)));
        }
        let listener = tokio::net::TcpListener::bind(&bind).await?;
        eprintln!("lms-service: listening on http://{bind} (OpenAPI at /api/openapi.json)");
        axum::serve(listener, router(service))
            .with_graceful_shutdown(async {
                let _ = tokio::signal::ctrl_c().await;
            })
            .await?;
        Ok(())
    })
}
