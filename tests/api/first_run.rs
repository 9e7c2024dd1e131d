//! The first run (`scripts/dev`): a database that cannot be reached is named with the next
//! step to take, and `seed-demo --reset` starts the demo over, on a demo database only.

use std::process::{Command, Output};

use billing_center::{db, seed};
use diesel::prelude::*;
use diesel::sql_types::BigInt;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl, SimpleAsyncConnection};

use crate::db::{TestDatabase, server_url};

/// The binary, with no environment but `DATABASE_URL`: what a newcomer runs.
async fn billing_center(args: &[&str], database_url: &str) -> Output {
    let args: Vec<String> = args.iter().map(|a| (*a).to_owned()).collect();
    let database_url = database_url.to_owned();
    tokio::task::spawn_blocking(move || {
        Command::new(env!("CARGO_BIN_EXE_billing-center"))
            .args(&args)
            .env_clear()
            .env("DATABASE_URL", database_url)
            .env("LOG_LEVEL", "warn")
            .output()
            .expect("run billing-center")
    })
    .await
    .expect("join")
}

fn closed_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.local_addr().expect("local address").port()
}

#[actix_web::test]
async fn a_database_that_is_down_is_named_with_the_next_step() {
    let port = closed_port();
    let url = format!("postgres://postgres:not-to-be-shown@127.0.0.1:{port}/billing");
    let error = db::run_migrations(&url)
        .await
        .expect_err("nothing listens there")
        .to_string();
    assert!(
        error.contains(&format!(
            "cannot connect to PostgreSQL at 127.0.0.1:{port} (database \"billing\", user \"postgres\")"
        )),
        "{error}"
    );
    assert!(error.contains("next step"), "{error}");
    assert!(error.contains("scripts/ensure-postgres"), "{error}");
    assert!(!error.contains("not-to-be-shown"), "{error}");

    for command in ["migrate", "seed-demo", "serve"] {
        let output = billing_center(&[command], &url).await;
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(1), "{command}: {stderr}");
        assert!(
            stderr.contains(&format!("cannot connect to PostgreSQL at 127.0.0.1:{port}")),
            "{command}: {stderr}"
        );
        assert!(
            stderr.contains("scripts/ensure-postgres"),
            "{command}: {stderr}"
        );
        assert!(!stderr.contains("not-to-be-shown"), "{command}: {stderr}");
    }
}

#[actix_web::test]
async fn a_database_that_does_not_exist_is_named_with_the_next_step() {
    let url = format!(
        "{}/billing_missing_{}",
        server_url(),
        uuid::Uuid::new_v4().simple()
    );
    let output = billing_center(&["migrate"], &url).await;
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("does not exist"), "{stderr}");
    assert!(stderr.contains("createdb -h 127.0.0.1 -p 5432"), "{stderr}");
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    count: i64,
}

async fn count(url: &str, sql: &str) -> i64 {
    let mut conn = AsyncPgConnection::establish(url).await.expect("connect");
    diesel::sql_query(sql)
        .get_result::<Count>(&mut conn)
        .await
        .expect("count")
        .count
}

#[actix_web::test]
async fn reset_starts_the_demo_over() {
    let database = TestDatabase::create().await;
    let seeded = billing_center(&["seed-demo"], &database.url).await;
    assert!(seeded.status.success(), "{seeded:?}");
    // What a walk through the README's tour leaves behind.
    {
        let mut conn = AsyncPgConnection::establish(&database.url)
            .await
            .expect("connect");
        conn.batch_execute(&format!(
            "INSERT INTO users (id, account_id, name, email) VALUES \
             (gen_random_uuid(), '{}', 'Linus', 'linus@acme.example')",
            seed::DEMO_SELF_SERVICE
        ))
        .await
        .expect("add a user");
    }
    let tour_users = "SELECT count(*) AS count FROM users WHERE email = 'linus@acme.example'";
    assert_eq!(count(&database.url, tour_users).await, 1);

    let reset = billing_center(&["seed-demo", "--reset"], &database.url).await;
    assert!(reset.status.success(), "{reset:?}");
    assert!(String::from_utf8_lossy(&reset.stdout).contains("Demo accounts:"));
    assert_eq!(count(&database.url, tour_users).await, 0);
    assert_eq!(
        count(&database.url, "SELECT count(*) AS count FROM accounts").await,
        4
    );
}

#[actix_web::test]
async fn reset_never_drops_a_database_that_is_not_the_demo() {
    let database = TestDatabase::create().await;
    {
        let mut conn = AsyncPgConnection::establish(&database.url)
            .await
            .expect("connect");
        conn.batch_execute(
            "INSERT INTO accounts (id, kind, name, country, currency, billing_contact_name, \
             billing_contact_email) VALUES (gen_random_uuid(), 'self_service', 'A customer', \
             'IE', 'EUR', 'Customer', 'customer@example.com')",
        )
        .await
        .expect("a real account");
    }
    let error = seed::reset_demo_database(&database.url)
        .await
        .expect_err("not a demo database")
        .to_string();
    assert!(error.contains("refusing to reset"), "{error}");
    assert!(error.contains(&database.name), "{error}");
    assert_eq!(
        count(&database.url, "SELECT count(*) AS count FROM accounts").await,
        1
    );

    // A database that is not even ours: some other application's tables.
    let other = TestDatabase::create().await;
    {
        let mut conn = AsyncPgConnection::establish(&other.url)
            .await
            .expect("connect");
        conn.batch_execute("DROP TABLE accounts CASCADE")
            .await
            .expect("make it someone else's");
    }
    assert!(seed::reset_demo_database(&other.url).await.is_err());

    // An empty or missing database is fine to (re)create.
    let missing = format!(
        "{}/billing_reset_{}",
        server_url(),
        uuid::Uuid::new_v4().simple()
    );
    seed::reset_demo_database(&missing)
        .await
        .expect("created when missing");
    db::drop_database(&missing).await.expect("clean up");
}
