//! Demo data for a first look (SPEC §11): a self-service account in the middle of its
//! period, one whose trial has expired, a corporate account with its representative, and an
//! EU account without a VAT ID. Running it again changes nothing, except that a demo
//! subscription whose period has ended since is moved to a period that contains today;
//! `seed-demo --reset` ([`reset_demo_database`]) starts the demo over from an empty database.

use chrono::{Duration, NaiveDate};
use diesel::QueryableByName;
use diesel::sql_types::{Date, Integer, Nullable, Numeric, Text, Uuid as SqlUuid};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use rust_decimal::Decimal;
use uuid::Uuid;

use crate::db::{self, DbSetupError, ServerAddress};
use crate::domain::account::AccountKind;
use crate::domain::catalog::Catalog;
use crate::domain::money::{Currency, round_to_minor};
use crate::domain::period::{BillingFrequency, Period};

pub const DEMO_SELF_SERVICE: Uuid = Uuid::from_u128(0x0000_0000_0000_4000_8100_0000_0000_0001);
pub const DEMO_TRIAL_EXPIRED: Uuid = Uuid::from_u128(0x0000_0000_0000_4000_8100_0000_0000_0002);
pub const DEMO_CORPORATE: Uuid = Uuid::from_u128(0x0000_0000_0000_4000_8100_0000_0000_0003);
pub const DEMO_EU_NO_VAT: Uuid = Uuid::from_u128(0x0000_0000_0000_4000_8100_0000_0000_0004);
pub const DEMO_REPRESENTATIVE: &str = "rep-jane-doe";
/// Copied on the demo corporate account's mails.
pub const DEMO_REPRESENTATIVE_EMAIL: &str = "jane.doe@vendor.example";
/// The self-service account's subscription and its first user (the ids `seed_demo` derives).
pub const DEMO_SELF_SERVICE_SUBSCRIPTION: Uuid =
    Uuid::from_u128(DEMO_SELF_SERVICE.as_u128() + 0x1_0000);
pub const DEMO_SELF_SERVICE_USER: Uuid = Uuid::from_u128(DEMO_SELF_SERVICE.as_u128() + 0x2_0000);

struct DemoAccount {
    id: Uuid,
    kind: AccountKind,
    name: &'static str,
    country: &'static str,
    currency: Currency,
    contact: (&'static str, &'static str),
    representative: Option<&'static str>,
    card: bool,
    subscription: DemoSubscription,
    users: &'static [(&'static str, &'static str)],
}

enum DemoSubscription {
    Active {
        plan: &'static str,
        frequency: BillingFrequency,
        quantity: i32,
        days_into_period: i64,
    },
    TrialExpired {
        plan: &'static str,
        quantity: i32,
        days_since_end: i64,
    },
}

fn demo_accounts() -> Vec<DemoAccount> {
    vec![
        DemoAccount {
            id: DEMO_SELF_SERVICE,
            kind: AccountKind::SelfService,
            name: "Acme Remote Care",
            country: "US",
            currency: Currency::Usd,
            contact: ("Ada Lovelace", "ada@acme.example"),
            representative: None,
            card: true,
            subscription: DemoSubscription::Active {
                plan: "standard",
                frequency: BillingFrequency::Monthly,
                quantity: 5,
                days_into_period: 10,
            },
            users: &[
                ("Grace Hopper", "grace@acme.example"),
                ("Alan Turing", "alan@acme.example"),
            ],
        },
        DemoAccount {
            id: DEMO_TRIAL_EXPIRED,
            kind: AccountKind::SelfService,
            name: "Beta Helpdesk Ltd",
            country: "GB",
            currency: Currency::Gbp,
            contact: ("Brian Kernighan", "brian@beta.example"),
            representative: None,
            card: false,
            subscription: DemoSubscription::TrialExpired {
                plan: "premium",
                quantity: 5,
                days_since_end: 3,
            },
            users: &[],
        },
        DemoAccount {
            id: DEMO_CORPORATE,
            kind: AccountKind::Corporate,
            name: "Globex Corporation",
            country: "US",
            currency: Currency::Usd,
            contact: ("Hank Scorpio", "hank@globex.example"),
            representative: Some(DEMO_REPRESENTATIVE),
            card: false,
            subscription: DemoSubscription::Active {
                plan: "ultimate",
                frequency: BillingFrequency::Annual,
                quantity: 250,
                days_into_period: 60,
            },
            users: &[("Frank Grimes", "frank@globex.example")],
        },
        DemoAccount {
            id: DEMO_EU_NO_VAT,
            kind: AccountKind::SelfService,
            name: "Dupont Assistance SARL",
            country: "FR",
            currency: Currency::Eur,
            contact: ("Marie Dupont", "marie@dupont.example"),
            representative: None,
            card: true,
            subscription: DemoSubscription::Active {
                plan: "premium",
                frequency: BillingFrequency::Monthly,
                quantity: 10,
                days_into_period: 5,
            },
            users: &[],
        },
    ]
}

#[derive(Debug, thiserror::Error)]
pub enum SeedError {
    #[error("database: {0}")]
    Db(#[from] diesel::result::Error),
    #[error("catalog: {0}")]
    Catalog(String),
    #[error("{0}")]
    Setup(#[from] DbSetupError),
    #[error(
        "refusing to reset {0}: it holds accounts and none of them is the demo's, so it is not \
         a demo database. Point DATABASE_URL at the demo database, or drop this one yourself \
         if you mean it"
    )]
    NotADemoDatabase(ServerAddress),
}

/// Drops the database `database_url` names and creates it empty, for `seed-demo --reset`
/// (the demo data as on a first run, whatever a tour changed). Only a demo database is
/// dropped: one that holds no tables, or no accounts, or the demo accounts.
pub async fn reset_demo_database(database_url: &str) -> Result<(), SeedError> {
    if db::database_exists(database_url).await? {
        let mut conn = AsyncPgConnection::establish(database_url)
            .await
            .map_err(|e| DbSetupError::connect(database_url, e))?;
        let is_demo = is_demo_database(&mut conn).await?;
        drop(conn);
        if !is_demo {
            return Err(SeedError::NotADemoDatabase(ServerAddress::from_url(
                database_url,
            )));
        }
        db::drop_database(database_url).await?;
    }
    db::create_database_if_missing(database_url).await?;
    Ok(())
}

async fn is_demo_database(conn: &mut AsyncPgConnection) -> Result<bool, SeedError> {
    #[derive(QueryableByName)]
    struct Found {
        #[diesel(sql_type = diesel::sql_types::Bool)]
        found: bool,
    }
    let has_accounts_table: Found =
        diesel::sql_query("SELECT to_regclass('public.accounts') IS NOT NULL AS found")
            .get_result(conn)
            .await?;
    if !has_accounts_table.found {
        // Tables of anything else make it some other application's database.
        let has_tables: Found = diesel::sql_query(
            "SELECT EXISTS (SELECT 1 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
             WHERE c.relkind IN ('r', 'p') AND n.nspname NOT IN ('pg_catalog', 'information_schema') \
             AND n.nspname NOT LIKE 'pg\\_toast%' AND c.relname <> '__diesel_schema_migrations') AS found",
        )
        .get_result(conn)
        .await?;
        return Ok(!has_tables.found);
    }
    let demo_or_empty: Found = diesel::sql_query(
        "SELECT NOT EXISTS (SELECT 1 FROM accounts) OR EXISTS (SELECT 1 FROM accounts WHERE id = $1) AS found",
    )
    .bind::<SqlUuid, _>(DEMO_SELF_SERVICE)
    .get_result(conn)
    .await?;
    Ok(demo_or_empty.found)
}

/// Inserts the demo data; returns the demo account ids with their names.
pub async fn seed_demo(
    conn: &mut AsyncPgConnection,
    catalog: &Catalog,
    today: NaiveDate,
) -> Result<Vec<(Uuid, &'static str, AccountKind)>, SeedError> {
    let product = catalog
        .product_by_code("gotoassist-rs-v4")
        .ok_or_else(|| SeedError::Catalog("gotoassist-rs-v4 is missing".into()))?;
    let accounts = demo_accounts();
    let mut seeded = Vec::new();
    conn.transaction(async |conn| {
        for account in &accounts {
            insert_account(conn, account).await?;
            let (plan_code, frequency, quantity) = match account.subscription {
                DemoSubscription::Active { plan, frequency, quantity, .. } => (plan, frequency, quantity),
                DemoSubscription::TrialExpired { plan, quantity, .. } => (plan, BillingFrequency::Monthly, quantity),
            };
            let plan = product
                .plan_by_code(plan_code)
                .ok_or_else(|| SeedError::Catalog(format!("plan {plan_code} is missing")))?;
            let subscription_id = Uuid::from_u128(account.id.as_u128() + 0x1_0000);
            match account.subscription {
                DemoSubscription::Active { days_into_period, .. } => {
                    let period = Period::starting(today - Duration::days(days_into_period), frequency);
                    let price = plan
                        .price_on(frequency, account.currency, period.start)
                        .ok_or_else(|| SeedError::Catalog(format!("no price for {plan_code}")))?;
                    let amount = round_to_minor(price.amount * Decimal::from(quantity), account.currency);
                    diesel::sql_query(
                        "INSERT INTO subscriptions (id, account_id, product_id, plan_id, billing_frequency, quantity, \
                         status, current_period_start, current_period_end, period_amount, currency, billing_anchor_day) \
                         VALUES ($1, $2, $3, $4, $5, $6, 'active', $7, $8, $9, $10, extract(day FROM $7::date)) \
                         ON CONFLICT (id) DO UPDATE SET current_period_start = EXCLUDED.current_period_start, \
                           current_period_end = EXCLUDED.current_period_end, \
                           billing_anchor_day = EXCLUDED.billing_anchor_day \
                         WHERE subscriptions.current_period_end <= $11",
                    )
                    .bind::<SqlUuid, _>(subscription_id)
                    .bind::<SqlUuid, _>(account.id)
                    .bind::<SqlUuid, _>(product.id)
                    .bind::<SqlUuid, _>(plan.id)
                    .bind::<Text, _>(frequency.as_str())
                    .bind::<Integer, _>(quantity)
                    .bind::<Date, _>(period.start)
                    .bind::<Date, _>(period.end)
                    .bind::<Numeric, _>(amount)
                    .bind::<Text, _>(account.currency.code())
                    .bind::<Date, _>(today)
                    .execute(conn)
                    .await?;
                }
                DemoSubscription::TrialExpired { days_since_end, .. } => {
                    diesel::sql_query(
                        "INSERT INTO subscriptions (id, account_id, product_id, plan_id, billing_frequency, quantity, \
                         status, currency, trial_ends_on) \
                         VALUES ($1, $2, $3, $4, 'monthly', $5, 'trialing', $6, $7) ON CONFLICT (id) DO NOTHING",
                    )
                    .bind::<SqlUuid, _>(subscription_id)
                    .bind::<SqlUuid, _>(account.id)
                    .bind::<SqlUuid, _>(product.id)
                    .bind::<SqlUuid, _>(plan.id)
                    .bind::<Integer, _>(quantity)
                    .bind::<Text, _>(account.currency.code())
                    .bind::<Date, _>(today - Duration::days(days_since_end))
                    .execute(conn)
                    .await?;
                }
            }
            for (index, (name, email)) in account.users.iter().enumerate() {
                let user_id = Uuid::from_u128(account.id.as_u128() + 0x2_0000 + index as u128);
                diesel::sql_query(
                    "INSERT INTO users (id, account_id, name, email) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
                )
                .bind::<SqlUuid, _>(user_id)
                .bind::<SqlUuid, _>(account.id)
                .bind::<Text, _>(*name)
                .bind::<Text, _>(*email)
                .execute(conn)
                .await?;
            }
            seeded.push((account.id, account.name, account.kind));
        }
        Ok::<_, SeedError>(())
    })
    .await?;
    Ok(seeded)
}

async fn insert_account(
    conn: &mut AsyncPgConnection,
    account: &DemoAccount,
) -> Result<(), SeedError> {
    let (card_ref, brand, last4, month, year) = if account.card {
        (
            Some("card_test_visa_demo"),
            Some("visa"),
            Some("4242"),
            Some(12),
            Some(2030),
        )
    } else {
        (None, None, None, None, None)
    };
    diesel::sql_query(
        "INSERT INTO accounts (id, kind, name, country, currency, billing_contact_name, billing_contact_email, \
         representative_id, representative_email, payment_method_ref, card_brand, card_last4, \
         card_exp_month, card_exp_year) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) ON CONFLICT (id) DO NOTHING",
    )
    .bind::<SqlUuid, _>(account.id)
    .bind::<Text, _>(account.kind)
    .bind::<Text, _>(account.name)
    .bind::<Text, _>(account.country)
    .bind::<Text, _>(account.currency.code())
    .bind::<Text, _>(account.contact.0)
    .bind::<Text, _>(account.contact.1)
    .bind::<Nullable<Text>, _>(account.representative)
    .bind::<Nullable<Text>, _>(account.representative.map(|_| DEMO_REPRESENTATIVE_EMAIL))
    .bind::<Nullable<Text>, _>(card_ref)
    .bind::<Nullable<Text>, _>(brand)
    .bind::<Nullable<Text>, _>(last4)
    .bind::<Nullable<diesel::sql_types::SmallInt>, _>(month.map(|m: i16| m))
    .bind::<Nullable<diesel::sql_types::SmallInt>, _>(year.map(|y: i16| y))
    .execute(conn)
    .await?;
    Ok(())
}
