//! A fresh store per backend for store-level tests: SQLite always, PostgreSQL (a database of its
//! own, dropped afterwards) when `HBPC_TEST_DATABASE_URL` is set.

use hbpc_gateway::config::DatabaseSettings;
use hbpc_gateway::store::{self, SharedStore};
use sqlx::Connection;

pub struct TestStore {
    pub backend: &'static str,
    pub store: SharedStore,
    _dir: tempfile::TempDir,
    drop_database: Option<(String, String)>,
}

impl Drop for TestStore {
    fn drop(&mut self) {
        if let Some((admin, name)) = self.drop_database.take() {
            let _ = std::thread::spawn(move || {
                if let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                {
                    rt.block_on(admin_statement(
                        &admin,
                        &format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"),
                    ));
                }
            })
            .join();
        }
    }
}

async fn admin_statement(admin_url: &str, sql: &str) {
    let mut conn = sqlx::PgConnection::connect(admin_url)
        .await
        .expect("connect");
    sqlx::raw_sql(sql)
        .execute(&mut conn)
        .await
        .expect("admin statement");
}

/// `database_prefix` names the PostgreSQL databases, e.g. `hbpc_store`.
pub async fn stores(database_prefix: &str) -> Vec<TestStore> {
    let settings = DatabaseSettings::default();
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("hbpc.sqlite").display());
    let mut all = vec![TestStore {
        backend: "sqlite",
        store: store::open(&url, &settings).await.unwrap(),
        _dir: dir,
        drop_database: None,
    }];
    match std::env::var("HBPC_TEST_DATABASE_URL") {
        Ok(admin) if !admin.is_empty() => {
            let name = format!("{database_prefix}_{}", uuid::Uuid::new_v4().simple());
            admin_statement(&admin, &format!("CREATE DATABASE {name}")).await;
            let prefix = admin.rsplit_once('/').map_or(admin.as_str(), |(p, _)| p);
            all.push(TestStore {
                backend: "postgres",
                store: store::open(&format!("{prefix}/{name}"), &settings)
                    .await
                    .unwrap(),
                _dir: tempfile::tempdir().unwrap(),
                drop_database: Some((admin, name)),
            });
        }
        _ => eprintln!("SKIPPED (postgres): HBPC_TEST_DATABASE_URL is not set"),
    }
    all
}
