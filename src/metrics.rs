//! Prometheus metrics, in the Prometheus text format (0.0.4) that every scraper and parser
//! reads: HTTP requests and latency by route, the process (CPU, memory, file descriptors),
//! the database pool and the statements it sent, and the business — orders placed and the
//! outcome of every checkout and quote acceptance.
//!
//! One registry per application state (not the crate's global one), so two apps in one
//! process — tests — count apart. Counters are atomics; what the pool knows is read at
//! scrape time by a collector instead of being copied on every request.

use prometheus::core::{Collector, Desc};
use prometheus::proto::MetricFamily;
use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge, Opts, Registry,
    TextEncoder, exponential_buckets,
};

use crate::db::DbPool;

/// The content type of [`Metrics::render`].
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

pub struct Metrics {
    registry: Registry,
    requests: IntCounterVec,
    latency: HistogramVec,
    orders_placed: IntCounterVec,
    order_outcomes: IntCounterVec,
    rate_limited: IntCounter,
    job_runs: IntCounterVec,
    jobs_due: IntGauge,
    jobs_running: IntGauge,
    jobs_failed: IntGauge,
    jobs_oldest_due: prometheus::Gauge,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

/// A metric the code defines statically; its options are valid by construction.
fn must<T>(result: prometheus::Result<T>, what: &str) -> T {
    match result {
        Ok(value) => value,
        // Only reachable by a malformed name or label set written in this file, which the
        // unit tests below exercise.
        Err(e) => panic!("metric {what}: {e}"),
    }
}

impl Metrics {
    pub fn new() -> Metrics {
        let registry = Registry::new();
        let requests = must(
            IntCounterVec::new(
                Opts::new("http_requests_total", "HTTP requests answered"),
                &["method", "route", "status"],
            ),
            "http_requests_total",
        );
        // 0.25 ms … ~4 s
        let buckets = must(exponential_buckets(0.000_25, 2.0, 15), "buckets");
        let latency = must(
            HistogramVec::new(
                HistogramOpts::new(
                    "http_request_duration_seconds",
                    "Time to answer an HTTP request",
                )
                .buckets(buckets),
                &["method", "route"],
            ),
            "http_request_duration_seconds",
        );
        let orders_placed = must(
            IntCounterVec::new(
                Opts::new(
                    "billing_orders_placed_total",
                    "Orders completed, by how they settle (card or invoice) and where they come from",
                ),
                &["settlement", "source"],
            ),
            "billing_orders_placed_total",
        );
        let order_outcomes = must(
            IntCounterVec::new(
                Opts::new(
                    "billing_order_requests_total",
                    "Requests that place an order (checkout, quote acceptance) by outcome: \
                     placed, replayed, or the problem code that refused them",
                ),
                &["operation", "outcome"],
            ),
            "billing_order_requests_total",
        );
        let rate_limited = must(
            IntCounter::new(
                "http_rate_limited_total",
                "Requests refused with 429 because their token used up its rate",
            ),
            "http_rate_limited_total",
        );
        let job_runs = must(
            IntCounterVec::new(
                Opts::new(
                    "billing_job_runs_total",
                    "Background jobs run by this instance, by kind and outcome",
                ),
                &["kind", "outcome"],
            ),
            "billing_job_runs_total",
        );
        let gauge = |name: &str, help: &str| must(IntGauge::new(name, help), name);
        let jobs_due = gauge(
            "billing_jobs_due",
            "Jobs due now and not yet claimed (all instances)",
        );
        let jobs_running = gauge(
            "billing_jobs_running",
            "Jobs claimed under a lease (all instances)",
        );
        let jobs_failed = gauge(
            "billing_jobs_failed",
            "Jobs parked as failed after their last attempt (all instances)",
        );
        let jobs_oldest_due = must(
            prometheus::Gauge::new(
                "billing_jobs_oldest_due_age_seconds",
                "How long the oldest due job has waited",
            ),
            "billing_jobs_oldest_due_age_seconds",
        );
        for collector in [
            Box::new(job_runs.clone()) as Box<dyn Collector>,
            Box::new(jobs_due.clone()),
            Box::new(jobs_running.clone()),
            Box::new(jobs_failed.clone()),
            Box::new(jobs_oldest_due.clone()),
            Box::new(requests.clone()),
            Box::new(latency.clone()),
            Box::new(orders_placed.clone()),
            Box::new(order_outcomes.clone()),
            Box::new(rate_limited.clone()),
            Box::new(prometheus::process_collector::ProcessCollector::for_self()),
        ] {
            must(registry.register(collector), "registration");
        }
        Metrics {
            registry,
            requests,
            latency,
            orders_placed,
            order_outcomes,
            rate_limited,
            job_runs,
            jobs_due,
            jobs_running,
            jobs_failed,
            jobs_oldest_due,
        }
    }

    /// A background job ran (`outcome`: `succeeded`, `failed`).
    pub fn job_run(&self, kind: &str, outcome: &str) {
        self.job_runs.with_label_values(&[kind, outcome]).inc();
    }

    /// The jobs table as the worker last read it.
    pub fn set_jobs(&self, stats: &crate::services::jobs::JobStats) {
        self.jobs_due.set(stats.due);
        self.jobs_running.set(stats.running);
        self.jobs_failed.set(stats.failed);
        self.jobs_oldest_due.set(stats.oldest_due_seconds);
    }

    /// Exports the database pool: its connections (open, idle, max), the requests waiting
    /// for one, and the statements and transactions its connections have sent.
    pub fn with_pool(self, pool: DbPool) -> Metrics {
        must(
            self.registry.register(Box::new(PoolCollector::new(pool))),
            "pool collector",
        );
        self
    }

    pub fn observe(&self, method: &str, route: &str, status: u16, seconds: f64) {
        self.requests
            .with_label_values(&[method, route, &status.to_string()])
            .inc();
        self.latency
            .with_label_values(&[method, route])
            .observe(seconds);
    }

    /// An order completed (`source`: `cart`, `quote`, `recovery`).
    pub fn order_placed(&self, settlement: &str, source: &str) {
        self.orders_placed
            .with_label_values(&[settlement, source])
            .inc();
    }

    /// How a request that places an order ended (`operation`: `checkout`,
    /// `quote_acceptance`; `outcome`: `placed`, `replayed` or a problem code).
    pub fn order_request(&self, operation: &str, outcome: &str) {
        self.order_outcomes
            .with_label_values(&[operation, outcome])
            .inc();
    }

    pub fn rate_limited(&self) {
        self.rate_limited.inc();
    }

    /// The text exposition.
    pub fn render(&self) -> String {
        let mut out = Vec::new();
        if TextEncoder::new()
            .encode(&self.registry.gather(), &mut out)
            .is_err()
        {
            out.clear();
        }
        String::from_utf8(out).unwrap_or_default()
    }
}

/// Reads the pool at each scrape; counting statements stays one atomic increment each.
struct PoolCollector {
    pool: DbPool,
    descs: Vec<Desc>,
}

const POOL_METRICS: [(&str, &str, bool); 6] = [
    (
        "db_statements_total",
        "SQL statements sent to the database, not counting BEGIN/COMMIT/ROLLBACK",
        true,
    ),
    ("db_transactions_total", "Database transactions begun", true),
    (
        "db_pool_connections",
        "Connections the pool holds open (idle or in use)",
        false,
    ),
    (
        "db_pool_idle_connections",
        "Open connections not in use",
        false,
    ),
    ("db_pool_max_connections", "The pool's size limit", false),
    (
        "db_pool_waiting_requests",
        "Tasks waiting for a connection",
        false,
    ),
];

impl PoolCollector {
    fn new(pool: DbPool) -> PoolCollector {
        let descs = POOL_METRICS
            .iter()
            .map(|(name, help, _)| {
                must(
                    Desc::new(
                        (*name).to_owned(),
                        (*help).to_owned(),
                        vec![],
                        Default::default(),
                    ),
                    name,
                )
            })
            .collect();
        PoolCollector { pool, descs }
    }
}

impl Collector for PoolCollector {
    fn desc(&self) -> Vec<&Desc> {
        self.descs.iter().collect()
    }

    fn collect(&self) -> Vec<MetricFamily> {
        let counts = self.pool.queries().counts();
        let status = self.pool.status();
        let values: [i64; 6] = [
            i64::try_from(counts.statements).unwrap_or(i64::MAX),
            i64::try_from(counts.transactions).unwrap_or(i64::MAX),
            i64::try_from(status.size).unwrap_or(i64::MAX),
            i64::try_from(status.available).unwrap_or(i64::MAX),
            i64::try_from(status.max_size).unwrap_or(i64::MAX),
            i64::try_from(status.waiting).unwrap_or(i64::MAX),
        ];
        POOL_METRICS
            .iter()
            .zip(values)
            .flat_map(|((name, help, counter), value)| {
                if *counter {
                    let metric = must(IntCounter::new(*name, *help), name);
                    metric.inc_by(u64::try_from(value).unwrap_or(0));
                    metric.collect()
                } else {
                    let metric = must(IntGauge::new(*name, *help), name);
                    metric.set(value);
                    metric.collect()
                }
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_exposition_types_every_family_and_counts_under_its_own_name() {
        let metrics = Metrics::new();
        metrics.observe("GET", "/v1/accounts/{account_id}", 200, 0.002);
        metrics.order_placed("card", "cart");
        metrics.order_request("checkout", "card-declined");
        let text = metrics.render();
        for family in [
            "http_requests_total counter",
            "http_request_duration_seconds histogram",
            "billing_orders_placed_total counter",
            "billing_order_requests_total counter",
            "http_rate_limited_total counter",
        ] {
            assert!(
                text.contains(&format!("# TYPE {family}\n")),
                "{family}: {text}"
            );
        }
        assert!(
            text.contains(
                "http_requests_total{method=\"GET\",route=\"/v1/accounts/{account_id}\",status=\"200\"} 1\n"
            ),
            "{text}"
        );
        assert!(
            text.contains(
                "billing_order_requests_total{operation=\"checkout\",outcome=\"card-declined\"} 1\n"
            ),
            "{text}"
        );
        assert!(text.contains("process_cpu_seconds_total"), "{text}");
        assert!(
            !text.contains("# EOF"),
            "0.0.4 text has no OpenMetrics trailer"
        );
    }
}
