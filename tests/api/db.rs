//! A fresh PostgreSQL database per test, cloned from a migrated template. The template is
//! built once per migration set (named by a hash of `migrations/`) under an advisory lock,
//! so parallel test processes share it safely.

use std::path::Path;

use diesel::prelude::*;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl, SimpleAsyncConnection};
use sha2::{Digest, Sha256};

const TEMPLATE_LOCK: i64 = 0x7465_7374_646b;

pub fn server_url() -> String {
    std::env::var("TEST_DATABASE_SERVER")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432".to_owned())
}

fn migrations_hash() -> String {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations");
    let mut entries: Vec<_> = walk(&root);
    entries.sort();
    let mut hasher = Sha256::new();
    for path in entries {
        hasher.update(
            path.strip_prefix(&root)
                .map(|p| p.to_string_lossy().into_owned())
                .unwrap_or_default(),
        );
        hasher.update(std::fs::read(&path).unwrap_or_default());
    }
    hex::encode(&hasher.finalize()[..8])
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            files.extend(walk(&path));
        } else {
            files.push(path);
        }
    }
    files
}

#[derive(QueryableByName)]
struct Exists {
    #[diesel(sql_type = diesel::sql_types::Bool)]
    exists: bool,
}

async fn database_exists(conn: &mut AsyncPgConnection, name: &str) -> bool {
    diesel::sql_query("SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1) AS exists")
        .bind::<diesel::sql_types::Text, _>(name)
        .get_result::<Exists>(conn)
        .await
        .map(|e| e.exists)
        .expect("query pg_database")
}

async fn ensure_template(admin: &mut AsyncPgConnection) -> String {
    let template = format!("billing_test_tmpl_{}", migrations_hash());
    if database_exists(admin, &template).await {
        mark_used(admin, &template).await;
        return template;
    }
    admin
        .batch_execute(&format!("SELECT pg_advisory_lock({TEMPLATE_LOCK})"))
        .await
        .expect("advisory lock");
    if !database_exists(admin, &template).await {
        let building = format!("{template}_building");
        admin
            .batch_execute(&format!("DROP DATABASE IF EXISTS {building} WITH (FORCE)"))
            .await
            .expect("drop a half-built template");
        admin
            .batch_execute(&format!("CREATE DATABASE {building}"))
            .await
            .expect("create template database");
        billing_center::db::run_migrations(&format!("{}/{building}", server_url()))
            .await
            .expect("migrate template");
        // The rename makes the finished template appear at once, never half-migrated.
        admin
            .batch_execute(&format!("ALTER DATABASE {building} RENAME TO {template}"))
            .await
            .expect("rename template");
        drop_stale_templates(admin, &template).await;
    }
    mark_used(admin, &template).await;
    admin
        .batch_execute(&format!("SELECT pg_advisory_unlock({TEMPLATE_LOCK})"))
        .await
        .expect("advisory unlock");
    template
}

/// Stamps the template with the time a run last used it (its database comment), so that
/// another run on the same server with other migrations never drops it from under this one.
async fn mark_used(admin: &mut AsyncPgConnection, template: &str) {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let _ = admin
        .batch_execute(&format!("COMMENT ON DATABASE {template} IS 'used {now}'"))
        .await;
}

/// Templates of earlier migration sets that no run has used for an hour are of no further
/// use (a template another run still uses, with other migrations, is left alone).
async fn drop_stale_templates(admin: &mut AsyncPgConnection, current: &str) {
    #[derive(QueryableByName)]
    struct Name {
        #[diesel(sql_type = diesel::sql_types::Text)]
        datname: String,
    }
    let stale: Vec<Name> = diesel::sql_query(
        "SELECT datname FROM pg_database d WHERE datname LIKE 'billing\\_test\\_tmpl\\_%' AND datname <> $1 \
         AND coalesce(substring(shobj_description(d.oid, 'pg_database') FROM '^used ([0-9]+)$')::bigint, 0) \
             < extract(epoch FROM now())::bigint - 3600",
    )
    .bind::<diesel::sql_types::Text, _>(current)
    .load(admin)
    .await
    .unwrap_or_default();
    for Name { datname } in stale {
        let _ = admin
            .batch_execute(&format!("DROP DATABASE IF EXISTS {datname} WITH (FORCE)"))
            .await;
    }
}

/// A database that exists for one test and is dropped when the guard goes.
pub struct TestDatabase {
    pub name: String,
    pub url: String,
}

impl TestDatabase {
    pub async fn create() -> TestDatabase {
        let mut admin = AsyncPgConnection::establish(&format!("{}/postgres", server_url()))
            .await
            .expect("connect to PostgreSQL (is it running on 127.0.0.1:5432?)");
        let template = ensure_template(&mut admin).await;
        let name = format!("billing_test_{}", uuid::Uuid::new_v4().simple());
        let mut attempt = 0;
        loop {
            // A template that another process is cloning at this instant is briefly "in use".
            match admin
                .batch_execute(&format!("CREATE DATABASE {name} TEMPLATE {template}"))
                .await
            {
                Ok(()) => break,
                Err(e)
                    if attempt < 20 && e.to_string().contains("being accessed by other users") =>
                {
                    attempt += 1;
                    tokio::time::sleep(std::time::Duration::from_millis(50 * attempt)).await;
                }
                Err(e) => panic!("create test database: {e}"),
            }
        }
        let url = format!("{}/{name}", server_url());
        TestDatabase { name, url }
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let name = self.name.clone();
        // Drop runs outside any runtime guarantee: use a thread with its own small runtime.
        let _ = std::thread::spawn(move || {
            let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            else {
                return;
            };
            runtime.block_on(async move {
                if let Ok(mut admin) =
                    AsyncPgConnection::establish(&format!("{}/postgres", server_url())).await
                {
                    let _ = admin
                        .batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                        .await;
                }
            });
        })
        .join();
    }
}
