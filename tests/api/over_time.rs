//! Helpers for tests of what happens over time: workers, instants, test clocks, and the
//! lists (invoices, subscriptions, events) those tests read back.

use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use uuid::Uuid;

use billing_center::services::engine::Engine;
use billing_center::services::jobs::worker::{WorkerOptions, run_due};

use crate::helpers::{TestApp, date};

/// A worker with a name of its own (it shows in `locked_by`) and a 60 s lease.
pub fn worker(name: &str) -> WorkerOptions {
    WorkerOptions {
        id: name.to_owned(),
        ..WorkerOptions::new(60)
    }
}

/// `hour`:00 UTC of `day`.
pub fn at(day: &str, hour: u32) -> DateTime<Utc> {
    date(day).and_hms_opt(hour, 0, 0).expect("time").and_utc()
}

impl TestApp {
    /// One worker named `name` runs everything due at the app's clock.
    pub async fn run_jobs(&self, name: &str) {
        run_due(&Engine::of(&self.state), &worker(name))
            .await
            .expect("jobs run");
    }

    /// The account's invoices, oldest first.
    pub async fn invoices(&self, account: Uuid) -> Vec<Value> {
        let list = self
            .get(
                &format!("/v1/accounts/{account}/invoices?limit=100"),
                &self.admin(),
            )
            .await;
        list.assert_status(200);
        let mut data = list.body["data"].as_array().expect("data").clone();
        data.reverse();
        data
    }

    pub async fn subscription(&self, account: Uuid, id: Uuid) -> Value {
        let response = self
            .get(
                &format!("/v1/accounts/{account}/subscriptions/{id}"),
                &self.admin(),
            )
            .await;
        response.assert_status(200);
        response.body
    }

    /// The account's events of one action, newest first.
    pub async fn events(&self, account: Uuid, action: &str) -> Vec<Value> {
        let list = self
            .get(
                &format!("/v1/accounts/{account}/events?limit=100"),
                &self.admin(),
            )
            .await;
        list.assert_status(200);
        list.body["data"]
            .as_array()
            .expect("data")
            .iter()
            .filter(|e| e["type"] == action)
            .cloned()
            .collect()
    }

    /// A test clock at `frozen_time` (the app must have test clocks enabled).
    pub async fn test_clock(&self, frozen_time: &str) -> Uuid {
        let created = self
            .post(
                "/v1/test-clocks",
                &self.admin(),
                json!({"name": "test", "frozen_time": frozen_time}),
            )
            .await;
        created.assert_status(201);
        assert_eq!(created.body["status"], "ready");
        created.body["id"]
            .as_str()
            .expect("id")
            .parse()
            .expect("uuid")
    }

    /// Starts an advance: 200 with the clock `advancing` to `to`.
    pub async fn start_advance(&self, clock: Uuid, to: &str) -> Value {
        let response = self
            .post(
                &format!("/v1/test-clocks/{clock}/advance"),
                &self.admin(),
                json!({"frozen_time": to}),
            )
            .await;
        response.assert_status(200);
        assert_eq!(response.body["status"], "advancing");
        assert_eq!(response.body["advancing_to"], to);
        response.body
    }

    pub async fn clock_view(&self, clock: Uuid) -> Value {
        let response = self
            .get(&format!("/v1/test-clocks/{clock}"), &self.admin())
            .await;
        response.assert_status(200);
        response.body
    }

    /// Advances the clock to `to` and lets a worker run it: `ready` there afterwards.
    pub async fn advance_through(&self, clock: Uuid, to: &str) {
        self.start_advance(clock, to).await;
        self.run_jobs("advancer").await;
        let clock = self.clock_view(clock).await;
        assert_eq!(clock["status"], "ready", "{clock}");
        assert_eq!(clock["frozen_time"], to);
    }
}

/// A self-service account on `clock` with `card`, and a monthly Standard × 5 subscription
/// imported with its period starting on `start` (145.00 a month).
pub async fn subscribed(app: &TestApp, clock: Uuid, card: &str, start: &str) -> (Uuid, Uuid) {
    let account = app
        .create_account(json!({
            "kind": "self_service", "name": "Acme", "country": "US", "currency": "USD",
            "billing_contact": {"name": "Ada", "email": "ada@acme.example"},
            "test_clock_id": clock
        }))
        .await;
    app.attach_card(account, card).await;
    let sub = app
        .import_active(account, "standard", "monthly", 5, start)
        .await;
    (account, sub)
}

/// Two users with a licence each.
pub async fn assign_two(app: &TestApp, account: Uuid, sub: Uuid) {
    for name in ["Grace", "Linus"] {
        let user = app
            .post(
                &format!("/v1/accounts/{account}/users"),
                &app.admin(),
                json!({"name": name, "email": format!("{}@acme.example", name.to_lowercase())}),
            )
            .await;
        user.assert_status(201);
        let user = user.body["id"].as_str().expect("text").to_owned();
        app.put(
            &format!("/v1/accounts/{account}/subscriptions/{sub}/assignments/{user}"),
            &app.admin(),
            json!(null),
        )
        .await
        .assert_status(201);
    }
}

pub async fn event_times(app: &TestApp, account: Uuid, action: &str) -> Vec<String> {
    let mut times: Vec<String> = app
        .events(account, action)
        .await
        .iter()
        .map(|e| e["created_at"].as_str().expect("text").to_owned())
        .collect();
    times.sort();
    times
}

pub fn actions(subscription: &Value) -> Vec<&str> {
    subscription["actions"]
        .as_array()
        .expect("text")
        .iter()
        .map(|a| a.as_str().expect("text"))
        .collect()
}
