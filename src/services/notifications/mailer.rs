//! The mail worker (SPEC §16): claims due mails of the outbox with `FOR UPDATE SKIP LOCKED`
//! under a lease, on every instance at once, renders them from the event that caused them
//! (the resource as it was then) and sends them over SMTP. A transient failure (no
//! connection, a timeout, a 4xx reply) is tried again after 1 min, 5 min, 30 min, 2 h and
//! 6 h, then `failed`; a permanent one (a 5xx reply, an address no server takes) is `failed`
//! at once. Without `SMTP_URL` a mail is rendered and kept as `skipped`.
//!
//! A worker that dies after the server took a mail but before recording it leaves the lease
//! to pass: the mail is sent again with the same `Message-ID` (the outbox row's), so the
//! receiving side recognises the copy.

use std::sync::Arc;
use std::time::Duration as StdDuration;

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{Integer, Jsonb, Nullable, Text, Timestamptz, Uuid as SqlUuid};
use diesel::{QueryableByName, sql_query};
use diesel_async::RunQueryDsl;
use lettre::message::{Mailbox, MultiPart};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use serde_json::json;
use uuid::Uuid;

use super::render::{Rendered, render};
use crate::clock::Clock;
use crate::config::MailSettings;
use crate::db::DbPool;
use crate::db::schema::notifications;
use crate::domain::account::AccountKind;
use crate::domain::notification::{
    Audience, NotificationStatus, NotificationTemplate, message_id, retry_delay,
};
use crate::error::ApiResult;

/// How long one SMTP conversation may take; well inside the lease.
const SMTP_TIMEOUT: StdDuration = StdDuration::from_secs(15);

#[derive(Debug, Clone)]
pub struct MailerOptions {
    /// Mails claimed (and sent side by side) at once.
    pub batch: usize,
    /// How long a claimed mail is this worker's (`JOB_LEASE_SECONDS`).
    pub lease_seconds: i64,
    /// How long to wait when nothing is due.
    pub idle_wait: StdDuration,
}

impl MailerOptions {
    pub fn new(lease_seconds: i64) -> MailerOptions {
        MailerOptions {
            batch: 16,
            lease_seconds,
            idle_wait: StdDuration::from_secs(1),
        }
    }
}

#[derive(Clone)]
pub struct Mailer {
    pool: DbPool,
    /// `None` without `SMTP_URL`: mails are kept as `skipped`.
    transport: Option<AsyncSmtpTransport<Tokio1Executor>>,
    from: Mailbox,
    settings: Arc<MailSettings>,
    /// Real time: retries wait real minutes, whatever clock an account is on.
    clock: Arc<dyn Clock>,
    options: Arc<MailerOptions>,
}

#[derive(Debug, QueryableByName)]
struct Claimed {
    #[diesel(sql_type = SqlUuid)]
    id: Uuid,
    #[diesel(sql_type = Text)]
    template: NotificationTemplate,
    #[diesel(sql_type = Integer)]
    attempts: i32,
    #[diesel(sql_type = Timestamptz)]
    locked_until: DateTime<Utc>,
    #[diesel(sql_type = SqlUuid)]
    account_id: Uuid,
    #[diesel(sql_type = Text)]
    account_name: String,
    #[diesel(sql_type = Text)]
    account_kind: AccountKind,
    #[diesel(sql_type = Text)]
    billing_contact_name: String,
    #[diesel(sql_type = Text)]
    billing_contact_email: String,
    #[diesel(sql_type = Nullable<Text>)]
    representative_email: Option<String>,
    #[diesel(sql_type = Jsonb)]
    object: serde_json::Value,
    /// "GoToAssist Remote Support v4 Standard", for a subscription's mail.
    #[diesel(sql_type = Nullable<Text>)]
    subscription_name: Option<String>,
    /// An order's invoice as it was issued, for an order settled on terms.
    #[diesel(sql_type = Nullable<Jsonb>)]
    invoice: Option<serde_json::Value>,
}

const CLAIM: &str = "\
WITH due AS (
    SELECT id FROM notifications
    WHERE status = 'pending' AND next_attempt_at <= $1
      AND (locked_until IS NULL OR locked_until < $1)
    ORDER BY next_attempt_at, id
    LIMIT $2
    FOR UPDATE SKIP LOCKED)
UPDATE notifications n SET locked_until = $3
FROM due, events e, accounts a
WHERE n.id = due.id AND e.id = n.event_id AND a.id = n.account_id
RETURNING n.id, n.template, n.attempts, n.locked_until, n.account_id,
          a.name AS account_name, a.kind AS account_kind, a.billing_contact_name,
          a.billing_contact_email, a.representative_email, e.object,
          (SELECT p.name || ' ' || pl.name FROM products p JOIN plans pl ON pl.product_id = p.id
           WHERE e.subject_type = 'subscription' AND p.code = e.object ->> 'product'
             AND pl.code = e.object ->> 'plan') AS subscription_name,
          CASE WHEN e.type = 'order.placed' AND e.object ->> 'settlement' = 'invoice' THEN
              (SELECT i.object FROM events i
               WHERE i.account_id = n.account_id AND i.type = 'invoice.created'
                 AND i.subject_id = (e.object ->> 'invoice_id')::uuid
               LIMIT 1)
          END AS invoice";

/// What one attempt came to.
#[derive(Debug)]
enum Outcome {
    Sent,
    /// Not sent: no SMTP server, or (with why) no address to send it to.
    Skipped(Option<String>),
    Transient(String),
    Permanent(String),
}

/// The addresses and words of one mail.
struct Letter {
    /// `None`: a mail for the representative of an account without `representative_email`.
    to: Option<String>,
    cc: Vec<String>,
    rendered: Rendered,
}

impl Mailer {
    pub fn new(
        pool: DbPool,
        settings: MailSettings,
        clock: Arc<dyn Clock>,
        options: MailerOptions,
    ) -> Result<Mailer, String> {
        let transport = match &settings.smtp_url {
            None => None,
            Some(url) => Some(
                AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
                    .map_err(|e| format!("SMTP_URL: {e}"))?
                    .timeout(Some(SMTP_TIMEOUT))
                    .build(),
            ),
        };
        let from = settings
            .from
            .parse::<Mailbox>()
            .map_err(|e| format!("MAIL_FROM: {e}"))?;
        Ok(Mailer {
            pool,
            transport,
            from,
            settings: Arc::new(settings),
            clock,
            options: Arc::new(options),
        })
    }

    /// Sends until the process stops.
    pub async fn run_forever(self) {
        match &self.settings.smtp_url {
            Some(_) => tracing::info!("mail: worker started"),
            None => tracing::info!("mail: SMTP_URL unset, mails are kept as skipped"),
        }
        loop {
            match self.round().await {
                Ok(0) => tokio::time::sleep(self.options.idle_wait).await,
                Ok(_) => {}
                Err(error) => {
                    tracing::warn!(error = %error, "mail: round failed");
                    tokio::time::sleep(self.options.idle_wait).await;
                }
            }
        }
    }

    /// Sends every mail due now, then returns how many attempts it made (tests).
    pub async fn send_due(&self) -> ApiResult<usize> {
        let mut attempts = 0;
        loop {
            match self.round().await? {
                0 => return Ok(attempts),
                n => attempts += n,
            }
        }
    }

    /// One batch: claimed, then sent side by side (each within the SMTP timeout, so the
    /// batch ends well inside its lease).
    async fn round(&self) -> ApiResult<usize> {
        let claimed = self.claim().await?;
        let count = claimed.len();
        let attempts = claimed.into_iter().map(|mail| self.attempt(mail));
        for result in futures_util::future::join_all(attempts).await {
            if let Err(error) = result {
                // Its lease passes and it is tried again.
                tracing::warn!(error = %error, "mail: attempt not recorded");
            }
        }
        Ok(count)
    }

    async fn claim(&self) -> ApiResult<Vec<Claimed>> {
        let now = self.clock.now();
        let mut conn = self.pool.get().await?;
        Ok(sql_query(CLAIM)
            .bind::<Timestamptz, _>(now)
            .bind::<Integer, _>(i32::try_from(self.options.batch).unwrap_or(i32::MAX))
            .bind::<Timestamptz, _>(now + chrono::Duration::seconds(self.options.lease_seconds))
            .load(&mut conn)
            .await?)
    }

    async fn attempt(&self, mail: Claimed) -> ApiResult<()> {
        let letter = self.letter(&mail);
        let outcome = match (&letter, &self.transport) {
            (Err(error), _) => Outcome::Permanent(error.clone()),
            (Ok(Letter { to: None, .. }), _) => Outcome::Skipped(Some(
                "no recipient: the account has no representative_email".to_owned(),
            )),
            (Ok(_), None) => Outcome::Skipped(None),
            (Ok(letter), Some(transport)) => self.send(transport, mail.id, letter).await,
        };
        self.record(&mail, letter.ok(), outcome).await
    }

    fn letter(&self, mail: &Claimed) -> Result<Letter, String> {
        let context = json!({
            "account": {
                "id": mail.account_id,
                "name": mail.account_name,
                "kind": mail.account_kind,
                "billing_contact_name": mail.billing_contact_name,
            },
            "object": mail.object,
            "subscription_name": mail.subscription_name,
            "invoice": mail.invoice,
            "portal_url": self.settings.portal_url,
        });
        let rendered = render(mail.template, &context)?;
        let (to, cc) = match mail.template.audience() {
            // The representative is copied on a corporate account's mails.
            Audience::Contact => (
                Some(mail.billing_contact_email.clone()),
                match (mail.account_kind, &mail.representative_email) {
                    (AccountKind::Corporate, Some(email)) => vec![email.clone()],
                    _ => Vec::new(),
                },
            ),
            Audience::Representative => (mail.representative_email.clone(), Vec::new()),
        };
        Ok(Letter { to, cc, rendered })
    }

    async fn send(
        &self,
        transport: &AsyncSmtpTransport<Tokio1Executor>,
        id: Uuid,
        letter: &Letter,
    ) -> Outcome {
        let message = match self.message(id, letter) {
            Ok(message) => message,
            Err(error) => return Outcome::Permanent(error),
        };
        match transport.send(message).await {
            Ok(_) => Outcome::Sent,
            Err(error) if error.is_permanent() => Outcome::Permanent(error.to_string()),
            Err(error) => Outcome::Transient(error.to_string()),
        }
    }

    fn message(&self, id: Uuid, letter: &Letter) -> Result<Message, String> {
        let address = |a: &str| {
            a.parse::<Mailbox>()
                .map_err(|e| format!("address {a:?}: {e}"))
        };
        let to = letter.to.as_deref().ok_or("no recipient")?;
        let mut builder = Message::builder()
            .from(self.from.clone())
            .to(address(to)?)
            .subject(letter.rendered.subject.clone())
            .message_id(Some(format!(
                "<{}>",
                message_id(id, self.from.email.as_ref())
            )));
        for cc in &letter.cc {
            builder = builder.cc(address(cc)?);
        }
        builder
            .multipart(MultiPart::alternative_plain_html(
                letter.rendered.text.clone(),
                letter.rendered.html.clone(),
            ))
            .map_err(|e| e.to_string())
    }

    /// Records the attempt, if the lease is still this worker's.
    async fn record(
        &self,
        mail: &Claimed,
        letter: Option<Letter>,
        outcome: Outcome,
    ) -> ApiResult<()> {
        let now = self.clock.now();
        let attempts = mail.attempts + 1;
        let (status, next_attempt_at, error) = match outcome {
            Outcome::Sent => (NotificationStatus::Sent, None, None),
            Outcome::Skipped(why) => (NotificationStatus::Skipped, None, why),
            Outcome::Permanent(error) => (NotificationStatus::Failed, None, Some(error)),
            Outcome::Transient(error) => match retry_delay(attempts) {
                Some(wait) => (NotificationStatus::Pending, Some(now + wait), Some(error)),
                None => (NotificationStatus::Failed, None, Some(error)),
            },
        };
        match &error {
            Some(error) => {
                tracing::warn!(mail = %mail.id, template = %mail.template, %status, %error, "mail: not sent")
            }
            None => tracing::info!(mail = %mail.id, template = %mail.template, %status, "mail"),
        }
        let (to, cc, subject) = match letter {
            Some(l) => (l.to, l.cc, Some(l.rendered.subject)),
            None => (None, Vec::new(), None),
        };
        let mut conn = self.pool.get().await?;
        diesel::update(
            notifications::table
                .find(mail.id)
                .filter(notifications::locked_until.eq(Some(mail.locked_until))),
        )
        .set((
            notifications::status.eq(status),
            notifications::attempts.eq(attempts),
            notifications::next_attempt_at.eq(next_attempt_at),
            notifications::locked_until.eq(None::<DateTime<Utc>>),
            notifications::last_error.eq(error),
            notifications::to_address.eq(to),
            notifications::cc_addresses.eq(cc),
            notifications::subject.eq(subject),
            notifications::sent_at.eq((status == NotificationStatus::Sent).then_some(now)),
            notifications::updated_at.eq(now),
        ))
        .execute(&mut conn)
        .await?;
        Ok(())
    }
}
