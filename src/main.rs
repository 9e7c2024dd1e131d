//! The `billing-center` binary: `serve` (default), `migrate`, `seed-demo`, `token`, `openapi`,
//! `worker`, `healthcheck`.

use std::process::ExitCode;
use std::sync::Arc;

use billing_center::auth::Role;
use billing_center::auth::jwt::JwtVerifier;
use billing_center::clock::{Clock, SystemClock};
use billing_center::config::Settings;
use billing_center::metrics::Metrics;
use billing_center::payments::TestGateway;
use billing_center::services::catalog::{self, CatalogCache};
use billing_center::services::jobs::worker::{self, WorkerOptions};
use billing_center::services::notifications::mailer::{Mailer, MailerOptions};
use billing_center::services::webhooks::sender::{Sender, SenderOptions};
use billing_center::{AppState, build_app, db, healthcheck, seed, telemetry};
use clap::{Parser, Subcommand};
use uuid::Uuid;

#[derive(Parser)]
#[command(name = "billing-center", version, about = "Billing Center API")]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Run migrations, then serve the API (the default).
    Serve,
    /// Apply pending database migrations and exit.
    Migrate,
    /// Insert the demo accounts (idempotent) and print a development token per role.
    SeedDemo {
        /// Drop the demo database and create it anew first: the demo as on a first run.
        #[arg(long)]
        reset: bool,
    },
    /// Print a development JWT signed with the configured HS256 secret, and nothing else.
    Token {
        #[arg(long)]
        role: String,
        /// The account of a contact role.
        #[arg(long)]
        account: Option<Uuid>,
        #[arg(long)]
        sub: Option<String>,
        #[arg(long, default_value_t = 3600)]
        ttl: u64,
    },
    /// Print the OpenAPI document.
    Openapi,
    /// Run only the background jobs (renewals, trials, housekeeping), no HTTP server.
    Worker,
    /// Exit 0 when the server at BIND_ADDR answers `/readyz` with 200, else 1 (the container's
    /// HEALTHCHECK; the image has no curl).
    Healthcheck {
        /// The server's listening address; `0.0.0.0` and `[::]` are probed on loopback.
        #[arg(long, env = "BIND_ADDR", default_value = "127.0.0.1:8080")]
        addr: String,
        /// Give up after this many milliseconds.
        #[arg(long, default_value_t = 2000)]
        timeout_ms: u64,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // The probe needs no settings: a configuration problem is the server's to report, and
    // Docker reads any exit code but 0 and 1 as a broken check rather than "unhealthy".
    if let Some(Command::Healthcheck { addr, timeout_ms }) = &cli.command {
        return run_healthcheck(addr, *timeout_ms);
    }
    let settings = match Settings::from_env() {
        Ok(settings) => settings,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    let command = cli.command.unwrap_or(Command::Serve);
    if matches!(command, Command::Serve)
        && let Err(e) = settings.check_serve()
    {
        eprintln!("{e}");
        return ExitCode::from(2);
    }
    let outcome = match command {
        Command::Openapi => print_openapi(),
        Command::Token {
            role,
            account,
            sub,
            ttl,
        } => print_token(&settings, &role, account, sub, ttl),
        Command::Serve => run_async(serve(settings)),
        Command::Migrate => run_async(migrate(settings)),
        Command::SeedDemo { reset } => run_async(seed_demo(settings, reset)),
        Command::Worker => run_async(worker(settings)),
        // Answered before the settings were read.
        Command::Healthcheck { .. } => Ok(()),
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}

fn run_healthcheck(addr: &str, timeout_ms: u64) -> ExitCode {
    let bind_addr = match addr.parse::<std::net::SocketAddr>() {
        Ok(bind_addr) => bind_addr,
        Err(e) => {
            eprintln!("not ready: BIND_ADDR {addr:?} is not a socket address: {e}");
            return ExitCode::FAILURE;
        }
    };
    let target = healthcheck::probe_target(bind_addr);
    let timeout = std::time::Duration::from_millis(timeout_ms);
    let probed = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())
        .and_then(|runtime| {
            runtime
                .block_on(healthcheck::probe_readyz(target, timeout))
                .map_err(|e| e.to_string())
        });
    match probed {
        Ok(()) => {
            println!("ready: http://{target}/readyz");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("not ready: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run_async(future: impl std::future::Future<Output = Result<(), String>>) -> Result<(), String> {
    actix_web::rt::System::new().block_on(future)
}

fn print_openapi() -> Result<(), String> {
    let json = serde_json::to_string_pretty(&billing_center::openapi_document())
        .map_err(|e| e.to_string())?;
    println!("{json}");
    Ok(())
}

fn print_token(
    settings: &Settings,
    role: &str,
    account: Option<Uuid>,
    sub: Option<String>,
    ttl: u64,
) -> Result<(), String> {
    let role: Role = role.parse()?;
    if role.is_contact() && account.is_none() {
        return Err(format!("--account is required for {role}"));
    }
    let verifier = JwtVerifier::from_settings(&settings.jwt).map_err(|e| e.to_string())?;
    let sub = sub.unwrap_or_else(|| format!("dev-{role}"));
    println!("{}", verifier.mint(role, &sub, account, ttl)?);
    Ok(())
}

async fn prepare_database(settings: &Settings) -> Result<(), String> {
    if settings.database_url_defaulted
        && db::create_database_if_missing(&settings.database_url)
            .await
            .map_err(|e| e.to_string())?
    {
        tracing::info!("created the local database");
    }
    let applied = db::run_migrations(&settings.database_url)
        .await
        .map_err(|e| e.to_string())?;
    for version in applied {
        tracing::info!(%version, "migration applied");
    }
    Ok(())
}

async fn migrate(settings: Settings) -> Result<(), String> {
    telemetry::init(settings.log_format, &settings.log_level);
    prepare_database(&settings).await
}

async fn seed_demo(settings: Settings, reset: bool) -> Result<(), String> {
    telemetry::init(settings.log_format, &settings.log_level);
    if reset {
        seed::reset_demo_database(&settings.database_url)
            .await
            .map_err(|e| e.to_string())?;
        tracing::info!("dropped the demo database and created it empty");
    }
    prepare_database(&settings).await?;
    let pool = db::build_pool(&settings.database_url, 2).map_err(|e| e.to_string())?;
    let mut conn = pool
        .get()
        .await
        .map_err(|e| db::DbSetupError::connect(&settings.database_url, e).to_string())?;
    let catalog = catalog::load(&mut conn).await.map_err(|e| e.to_string())?;
    let accounts = seed::seed_demo(&mut conn, &catalog, SystemClock.today())
        .await
        .map_err(|e| e.to_string())?;
    let verifier = JwtVerifier::from_settings(&settings.jwt).map_err(|e| e.to_string())?;
    let ttl = 8 * 3600;
    println!("Demo accounts:");
    for (id, name, kind) in &accounts {
        println!("  {id}  {kind:<12}  {name}");
    }
    println!("\nDevelopment tokens (valid 8 hours; paste into Swagger UI's Authorize):");
    let tokens = [
        (
            Role::BillingContact,
            "ada@acme.example",
            Some(seed::DEMO_SELF_SERVICE),
        ),
        (
            Role::CorporateContact,
            "hank@globex.example",
            Some(seed::DEMO_CORPORATE),
        ),
        (Role::Representative, seed::DEMO_REPRESENTATIVE, None),
        (Role::Support, "support-agent", None),
        (Role::Admin, "admin", None),
    ];
    for (role, sub, account) in tokens {
        println!("\n{role}:\n{}", verifier.mint(role, sub, account, ttl)?);
    }
    Ok(())
}

/// The application state both `serve` and `worker` run on.
async fn app_state(settings: &Settings) -> Result<AppState, String> {
    if settings.jwt.using_development_secret {
        tracing::warn!(
            addr = %settings.bind_addr,
            "using the public development HS256 secret: never expose this server"
        );
    }
    prepare_database(settings).await?;
    let pool = db::build_pool(&settings.database_url, settings.database_pool_size)
        .map_err(|e| e.to_string())?;
    let catalog = {
        let mut conn = pool
            .get()
            .await
            .map_err(|e| db::DbSetupError::connect(&settings.database_url, e).to_string())?;
        catalog::load(&mut conn).await.map_err(|e| e.to_string())?
    };
    let metrics = Arc::new(Metrics::new().with_pool(pool.clone()));
    let state = AppState {
        pool,
        jwt: Arc::new(JwtVerifier::from_settings(&settings.jwt).map_err(|e| e.to_string())?),
        clock: Arc::new(SystemClock),
        gateway: Arc::new(TestGateway::new()),
        metrics,
        catalog: CatalogCache::new(catalog),
        seller_country: settings.seller_country.clone(),
        http: Arc::new(billing_center::http::HttpPolicy {
            cors_allowed_origins: settings.cors_allowed_origins.clone(),
            rate_limiter: settings.rate_limit.map(|limit| {
                billing_center::http::rate_limit::CallerRateLimiter::new(
                    limit.per_second,
                    limit.burst,
                )
            }),
        }),
        test_clocks: settings.test_clocks_enabled,
        dunning_retry_days: settings.dunning_retry_days.clone().into(),
        webhook_urls: settings.webhook_urls,
    };
    // Orders whose request stopped half-way (a crash between payment and completion) are
    // finished, or given back, before new requests arrive; then every minute by a job.
    match billing_center::services::checkout::recover_pending_orders(&state).await {
        Ok(0) => {}
        Ok(settled) => tracing::info!(settled, "pending orders recovered"),
        Err(e) => tracing::warn!(error = %e, "pending order recovery failed"),
    }
    Ok(state)
}

fn spawn_worker(state: &AppState, settings: &Settings) {
    let engine = billing_center::services::engine::Engine::of(state);
    let options = WorkerOptions {
        concurrency: settings.job_concurrency,
        ..WorkerOptions::new(settings.job_lease_seconds)
    };
    actix_web::rt::spawn(worker::run_forever(
        engine,
        options,
        std::time::Duration::from_secs(1),
    ));
    // Webhook deliveries run beside the jobs, on their own connections and tasks: a slow
    // endpoint never holds a renewal back, nor the other way round.
    match Sender::new(
        state.pool.clone(),
        state.webhook_urls,
        Arc::new(SystemClock),
        SenderOptions::new(settings.job_lease_seconds),
    ) {
        Ok(sender) => {
            actix_web::rt::spawn(sender.run_forever());
        }
        Err(error) => tracing::error!(error = %error, "webhooks: no HTTP client, no deliveries"),
    }
    // Mails too: an SMTP server that hangs holds back neither jobs nor webhooks.
    match Mailer::new(
        state.pool.clone(),
        settings.mail.clone(),
        Arc::new(SystemClock),
        MailerOptions::new(settings.job_lease_seconds),
    ) {
        Ok(mailer) => {
            actix_web::rt::spawn(mailer.run_forever());
        }
        Err(error) => tracing::error!(error = %error, "mail: not configured, no mails sent"),
    }
}

/// Only the background jobs, until SIGINT or SIGTERM.
async fn worker(settings: Settings) -> Result<(), String> {
    telemetry::init(settings.log_format, &settings.log_level);
    let state = app_state(&settings).await?;
    spawn_worker(&state, &settings);
    let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .map_err(|e| e.to_string())?;
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = terminate.recv() => {}
    }
    tracing::info!("worker stopping; a job cut short is taken over when its lease passes");
    Ok(())
}

async fn serve(settings: Settings) -> Result<(), String> {
    telemetry::init(settings.log_format, &settings.log_level);
    let state = app_state(&settings).await?;
    if settings.jobs_enabled {
        spawn_worker(&state, &settings);
    } else {
        tracing::info!("JOBS=off: serving only; run `billing-center worker` for background jobs");
    }
    let addr = settings.bind_addr;
    let server = actix_web::HttpServer::new(move || build_app(state.clone()))
        .shutdown_timeout(15)
        .bind(addr)
        .map_err(|e| format!("cannot bind {addr}: {e}"))?;
    tracing::info!(%addr, "serving; Swagger UI at http://{addr}/swagger-ui/");
    // actix stops accepting on SIGINT/SIGTERM and lets running requests finish.
    server.run().await.map_err(|e| e.to_string())
}
