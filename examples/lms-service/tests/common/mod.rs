//! A fresh, migrated PostgreSQL database per test, dropped afterwards.
//!
//! `MIGRATION_DATABASE_URL` names the owner role (it may create databases), `DATABASE_URL` the
//! app role; `tests/pg.sh` starts a throw-away cluster and sets both.
#![allow(dead_code)]

use std::sync::atomic::{AtomicUsize, Ordering};

use lms_service::pg::{migrate, PgStore};

static NEXT: AtomicUsize = AtomicUsize::new(0);

fn env(name: &str) -> Result<postgres::Config, String> {
    let url = std::env::var(name).map_err(|_| format!("{name} is not set (run tests/pg.sh)"))?;
    url.parse().map_err(|e| format!("{name}: {e}"))
}

/// A database that exists while it lives.
pub struct TestDb {
    pub name: String,
    owner: postgres::Config,
    app: postgres::Config,
}

impl TestDb {
    pub fn create() -> Result<Self, String> {
        let owner = env("MIGRATION_DATABASE_URL")?;
        let app = env("DATABASE_URL")?;
        let name = format!("lms_test_{}_{}", std::process::id(), NEXT.fetch_add(1, Ordering::Relaxed));
        let mut admin = owner.connect(postgres::NoTls).map_err(|e| e.to_string())?;
        admin.batch_execute(&format!("CREATE DATABASE {name}")).map_err(|e| e.to_string())?;
        let db = Self { name, owner, app };
        migrate(&mut db.owner_config().connect(postgres::NoTls).map_err(|e| e.to_string())?)
            .map_err(|e| e.to_string())?;
        Ok(db)
    }

    pub fn owner_config(&self) -> postgres::Config {
        let mut c = self.owner.clone();
        c.dbname(&self.name);
        c
    }

    pub fn app_config(&self) -> postgres::Config {
        let mut c = self.app.clone();
        c.dbname(&self.name);
        c
    }

    pub fn store(&self) -> Result<PgStore, String> {
        PgStore::connect(self.app_config(), 8).map_err(|e| e.to_string())
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Ok(mut admin) = self.owner.connect(postgres::NoTls) {
            let _ = admin.batch_execute(&format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name));
        }
    }
}

/// A store on a fresh database, and the guard that drops the database.
pub fn fresh_store() -> Result<(PgStore, TestDb), String> {
    let db = TestDb::create()?;
    Ok((db.store()?, db))
}
