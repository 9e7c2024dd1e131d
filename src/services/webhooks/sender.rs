//! The delivery worker (SPEC §14): claims due deliveries with `FOR UPDATE SKIP LOCKED` under a
//! lease, on every instance at once, and sends each as its own task, so a slow or dead
//! endpoint holds only its own share of the worker (`per_endpoint`) and never the others or
//! the API. For one (endpoint, subscription) — or (endpoint, account) — only the oldest
//! pending delivery is ever claimable: the next waits until it succeeds or fails.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use chrono::{DateTime, Utc};
use diesel::sql_query;
use diesel::sql_types::{Array, Integer, Nullable, Text, Timestamptz, Uuid as SqlUuid};
use diesel_async::{AsyncConnection, RunQueryDsl};
use tokio::task::JoinSet;
use uuid::Uuid;

mod queue;

use queue::{CLAIM, Claimed, Outcome, RECORD};

use super::signature;
use super::url_rules::{self, UrlPolicy};
use super::{DisabledReason, WebhookEndpoint, WebhookEndpointView};
use crate::clock::Clock;
use crate::db::DbPool;
use crate::db::models::EventRow;
use crate::domain::event::EventType;
use crate::domain::webhook::{DISABLE_AFTER_FAILING_DAYS, retry_after_seconds, retry_delay};
use crate::error::{ApiError, ApiResult, internal_error};
use crate::services::Caller;
use crate::services::audit::{self, Event, snapshot};
use crate::services::events::EventView;

#[derive(Debug, Clone)]
pub struct SenderOptions {
    /// Deliveries in flight at once in this process.
    pub concurrency: usize,
    /// Of which at most this many to one endpoint.
    pub per_endpoint: usize,
    /// How long a claimed delivery is this worker's (`JOB_LEASE_SECONDS`).
    pub lease_seconds: i64,
    /// How long to wait when nothing is due.
    pub idle_wait: std::time::Duration,
}

impl SenderOptions {
    pub fn new(lease_seconds: i64) -> SenderOptions {
        SenderOptions {
            concurrency: 64,
            per_endpoint: 16,
            lease_seconds,
            idle_wait: std::time::Duration::from_millis(250),
        }
    }
}

#[derive(Clone)]
pub struct Sender {
    pool: DbPool,
    client: reqwest::Client,
    policy: UrlPolicy,
    /// Real time: `webhook-timestamp` must verify, whatever clock an account is on.
    clock: Arc<dyn Clock>,
    options: Arc<SenderOptions>,
}

impl Sender {
    pub fn new(
        pool: DbPool,
        policy: UrlPolicy,
        clock: Arc<dyn Clock>,
        options: SenderOptions,
    ) -> Result<Sender, reqwest::Error> {
        Ok(Sender {
            pool,
            client: url_rules::client(policy)?,
            policy,
            clock,
            options: Arc::new(options),
        })
    }

    /// Sends until the process stops.
    pub async fn run_forever(self) {
        tracing::info!("webhooks: delivery worker started");
        loop {
            if let Err(error) = self.pump(false).await {
                tracing::warn!(error = %error, "webhooks: delivery round failed");
                tokio::time::sleep(self.options.idle_wait).await;
            }
        }
    }

    /// Sends everything due now, and what falls due while it does, then returns how many
    /// attempts it made (tests and the test clock's helpers).
    pub async fn deliver_due(&self) -> ApiResult<usize> {
        self.pump(true).await
    }

    async fn pump(&self, until_idle: bool) -> ApiResult<usize> {
        let mut tasks: JoinSet<(Uuid, ApiResult<()>)> = JoinSet::new();
        let mut in_flight: HashMap<Uuid, usize> = HashMap::new();
        let mut attempts = 0;
        loop {
            while let Some(done) = tasks.try_join_next() {
                self.finished(done, &mut in_flight);
            }
            let free = self.options.concurrency.saturating_sub(tasks.len());
            // Claim in batches (a quarter of the slots at least), not one slot at a time.
            let claimed = if free > 0 && (tasks.is_empty() || free >= self.options.concurrency / 4)
            {
                let saturated: Vec<Uuid> = in_flight
                    .iter()
                    .filter(|(_, n)| **n >= self.options.per_endpoint)
                    .map(|(id, _)| *id)
                    .collect();
                self.claim(free, saturated).await?
            } else {
                Vec::new()
            };
            if claimed.is_empty() {
                if tasks.is_empty() {
                    if until_idle {
                        return Ok(attempts);
                    }
                    tokio::time::sleep(self.options.idle_wait).await;
                    continue;
                }
                tokio::select! {
                    Some(done) = tasks.join_next() => self.finished(done, &mut in_flight),
                    () = tokio::time::sleep(self.options.idle_wait) => {}
                }
                continue;
            }
            // A batch may hold more for one endpoint than its share: those go back at once
            // (the next claim skips a saturated endpoint).
            let mut over = Vec::new();
            for delivery in claimed {
                let slots = in_flight.entry(delivery.endpoint_id).or_default();
                if *slots >= self.options.per_endpoint {
                    over.push((delivery.id, delivery.locked_until));
                    continue;
                }
                *slots += 1;
                attempts += 1;
                let sender = self.clone();
                tasks.spawn(async move {
                    let endpoint_id = delivery.endpoint_id;
                    (endpoint_id, sender.attempt(delivery).await)
                });
            }
            self.release(over).await?;
        }
    }

    async fn release(&self, deliveries: Vec<(Uuid, DateTime<Utc>)>) -> ApiResult<()> {
        if deliveries.is_empty() {
            return Ok(());
        }
        let (ids, leases): (Vec<Uuid>, Vec<DateTime<Utc>>) = deliveries.into_iter().unzip();
        let mut conn = self.pool.get().await?;
        sql_query(
            "UPDATE webhook_deliveries d SET locked_until = NULL \
             FROM unnest($1::uuid[], $2::timestamptz[]) AS r(id, lease) \
             WHERE d.id = r.id AND d.locked_until = r.lease",
        )
        .bind::<Array<SqlUuid>, _>(ids)
        .bind::<Array<Timestamptz>, _>(leases)
        .execute(&mut conn)
        .await?;
        Ok(())
    }

    fn finished(
        &self,
        done: Result<(Uuid, ApiResult<()>), tokio::task::JoinError>,
        in_flight: &mut HashMap<Uuid, usize>,
    ) {
        match done {
            Ok((endpoint_id, result)) => {
                if let Some(n) = in_flight.get_mut(&endpoint_id) {
                    *n = n.saturating_sub(1);
                }
                if let Err(error) = result {
                    // Its lease passes and it is tried again.
                    tracing::warn!(endpoint = %endpoint_id, error = %error, "webhooks: attempt not recorded");
                }
            }
            Err(error) => tracing::error!(error = %error, "webhooks: delivery task failed"),
        }
    }

    async fn claim(&self, limit: usize, saturated: Vec<Uuid>) -> ApiResult<Vec<Claimed>> {
        let now = self.clock.now();
        let mut conn = self.pool.get().await?;
        Ok(sql_query(CLAIM)
            .bind::<Timestamptz, _>(now)
            .bind::<Array<SqlUuid>, _>(saturated)
            .bind::<Integer, _>(i32::try_from(limit).unwrap_or(i32::MAX))
            .bind::<Timestamptz, _>(now + chrono::Duration::seconds(self.options.lease_seconds))
            .load(&mut conn)
            .await?)
    }

    async fn attempt(&self, claimed: Claimed) -> ApiResult<()> {
        let now = self.clock.now();
        let mut secrets = vec![claimed.secret.as_str()];
        secrets.extend(claimed.previous_secret.as_deref());
        let body = serde_json::to_vec(&EventView::from(EventRow {
            id: claimed.event_id,
            account_id: claimed.account_id,
            actor_sub: claimed.actor_sub.clone(),
            actor_role: claimed.actor_role,
            event_type: claimed.event_type,
            object: claimed.object.clone(),
            previous_attributes: claimed.previous_attributes.clone(),
            reason: claimed.reason.clone(),
            request_id: claimed.request_id.clone(),
            idempotency_key: claimed.idempotency_key.clone(),
            subscription_id: claimed.subscription_id,
            created_at: claimed.created_at,
        }))
        .map_err(|e| internal_error("webhook body", &e))?;
        let msg_id = claimed.event_id.to_string();
        let timestamp = now.timestamp();
        let started = Instant::now();
        let outcome = match self.policy.check_syntax(&claimed.url) {
            // The rules may have changed since the endpoint was saved.
            Err(refused) => Outcome::Failed {
                status: None,
                error: refused.detail,
                retry_after: None,
            },
            Ok(url) => {
                let request = self
                    .client
                    .post(url)
                    .header("content-type", "application/json")
                    .header("webhook-id", &msg_id)
                    .header("webhook-timestamp", timestamp.to_string())
                    .header(
                        "webhook-signature",
                        signature::header(&secrets, &msg_id, timestamp, &body),
                    )
                    .body(body);
                send(request, now).await
            }
        };
        let duration_ms = i32::try_from(started.elapsed().as_millis()).unwrap_or(i32::MAX);
        self.record(&claimed, now, duration_ms, outcome).await
    }

    async fn record(
        &self,
        claimed: &Claimed,
        at: DateTime<Utc>,
        duration_ms: i32,
        outcome: Outcome,
    ) -> ApiResult<()> {
        let attempts = claimed.attempts + 1;
        let (status, next, response, error, succeeded) = match &outcome {
            Outcome::Delivered { status } => ("succeeded", None, Some(*status), None, true),
            Outcome::Gone => (
                "failed",
                None,
                Some(410),
                Some("410 Gone: endpoint disabled".to_owned()),
                false,
            ),
            Outcome::Failed {
                status,
                error,
                retry_after,
            } => match retry_delay(attempts, *retry_after, rand::random::<f64>() * 2.0 - 1.0) {
                Some(delay) => (
                    "pending",
                    Some(at + delay),
                    *status,
                    Some(error.clone()),
                    false,
                ),
                None => ("failed", None, *status, Some(error.clone()), false),
            },
        };
        let mut conn = self.pool.get().await?;
        sql_query(RECORD)
            .bind::<SqlUuid, _>(claimed.id)
            .bind::<Text, _>(status)
            .bind::<Nullable<Timestamptz>, _>(next)
            .bind::<Timestamptz, _>(at)
            .bind::<Nullable<Integer>, _>(response.map(i32::from))
            .bind::<Integer, _>(duration_ms)
            .bind::<Nullable<Text>, _>(error)
            .bind::<Timestamptz, _>(claimed.locked_until)
            .bind::<diesel::sql_types::Bool, _>(succeeded)
            .execute(&mut conn)
            .await?;
        match outcome {
            Outcome::Delivered { .. } => Ok(()),
            Outcome::Gone => {
                disable(
                    &mut conn,
                    claimed.endpoint_id,
                    DisabledReason::Gone,
                    at,
                    None,
                )
                .await
            }
            Outcome::Failed { .. } => {
                let since = at - chrono::Duration::days(DISABLE_AFTER_FAILING_DAYS);
                disable(
                    &mut conn,
                    claimed.endpoint_id,
                    DisabledReason::Failing,
                    at,
                    Some(since),
                )
                .await
            }
        }
    }
}

/// One POST; the answer's body is read (so the connection is reused) and dropped.
async fn send(request: reqwest::RequestBuilder, now: DateTime<Utc>) -> Outcome {
    match request.send().await {
        Ok(response) => {
            let status = response.status();
            let retry_after = response
                .headers()
                .get("retry-after")
                .and_then(|v| v.to_str().ok())
                .and_then(|value| retry_after_seconds(value, now));
            let _ = response.bytes().await;
            if status.is_success() {
                Outcome::Delivered {
                    status: status.as_u16(),
                }
            } else if status == reqwest::StatusCode::GONE {
                Outcome::Gone
            } else {
                Outcome::Failed {
                    status: Some(status.as_u16()),
                    error: format!("HTTP {status}"),
                    retry_after,
                }
            }
        }
        Err(error) => Outcome::Failed {
            status: None,
            error: describe(&error),
            retry_after: None,
        },
    }
}

fn describe(error: &reqwest::Error) -> String {
    if error.is_timeout() {
        return "timed out after 15 s".to_owned();
    }
    let mut text = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// Disables the endpoint (a 410, or failing since before `failing_before`) and writes the
/// tenant event `webhook_endpoint.disabled`, once.
async fn disable(
    conn: &mut diesel_async::AsyncPgConnection,
    endpoint_id: Uuid,
    reason: DisabledReason,
    at: DateTime<Utc>,
    failing_before: Option<DateTime<Utc>>,
) -> ApiResult<()> {
    use crate::db::schema::webhook_endpoints as e;
    use diesel::{ExpressionMethods, OptionalExtension, QueryDsl, SelectableHelper};
    conn.transaction::<_, ApiError, _>(async |conn| {
        let mut query = diesel::update(e::table.find(endpoint_id))
            .filter(e::disabled.eq(false))
            .into_boxed();
        if let Some(before) = failing_before {
            query = query.filter(e::failing_since.le(before));
        }
        let disabled: Option<WebhookEndpoint> = query
            .set((
                e::disabled.eq(true),
                e::disabled_reason.eq(Some(reason)),
                e::updated_at.eq(at),
            ))
            .returning(WebhookEndpoint::as_returning())
            .get_result(conn)
            .await
            .optional()?;
        let Some(endpoint) = disabled else {
            return Ok(());
        };
        tracing::warn!(endpoint = %endpoint.id, reason = %reason, "webhooks: endpoint disabled");
        let caller = Caller::system(format!("webhooks-{}", Uuid::new_v4()), at);
        audit::record(
            conn,
            &caller,
            Event {
                account_id: None,
                event_type: EventType::WebhookEndpointDisabled,
                subject_type: "webhook_endpoint",
                subject_id: Some(endpoint.id),
                before: None,
                after: snapshot(&WebhookEndpointView::from(&endpoint)),
                reason: Some(match reason {
                    DisabledReason::Gone => "The endpoint answered 410 Gone.",
                    _ => "Every delivery failed for 5 days.",
                }),
                notify: None,
            },
        )
        .await
    })
    .await
}
