//! The first run (`scripts/dev`): a database that cannot be reached is named with the next
//! step to take.

use std::process::{Command, Output};

use billing_center::db;

use crate::db::server_url;

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
