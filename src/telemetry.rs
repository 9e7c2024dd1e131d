//! Logging: a tracing subscriber with pretty or JSON output. Every request runs inside a span
//! that carries its request id (see `http::middleware`), so every log line names it.
//!
//! `tokio_postgres` logs every statement with its bind parameters at `debug` — emails, card
//! references, idempotency keys — so it is capped at `info` whatever `LOG_LEVEL` says.

use tracing::{Level, Metadata};
use tracing_subscriber::EnvFilter;
use tracing_subscriber::filter::filter_fn;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

use crate::config::LogFormat;

/// Targets that log SQL bind parameters below `info`.
const PARAMETER_LOGGING_TARGETS: [&str; 1] = ["tokio_postgres"];

pub fn init(format: LogFormat, level: &str) {
    let filter = EnvFilter::try_new(filter_directives(level))
        .unwrap_or_else(|_| EnvFilter::new(filter_directives("info")));
    // The directives already cap these targets; this also covers span-scoped directives
    // (`[request]=debug`), which would otherwise enable them inside a span.
    let cap = filter_fn(|meta: &Metadata<'_>| !is_parameter_logging(meta.target(), *meta.level()));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    // `try_init` fails only when a subscriber is already installed (tests): keep that one.
    let _ = match format {
        LogFormat::Pretty => builder.with_target(false).finish().with(cap).try_init(),
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .finish()
            .with(cap)
            .try_init(),
    };
}

fn targets_parameter_logger(target: &str) -> bool {
    PARAMETER_LOGGING_TARGETS.iter().any(|quiet| {
        target == *quiet
            || target
                .strip_prefix(quiet)
                .is_some_and(|rest| rest.starts_with("::"))
    })
}

fn is_parameter_logging(target: &str, level: Level) -> bool {
    targets_parameter_logger(target) && level > Level::INFO
}

/// The `EnvFilter` directives for `LOG_LEVEL`: the operator's directives, except those that
/// would let `tokio_postgres` (or a module of it) log below `info`, followed by a cap of
/// `tokio_postgres=info`. A quieter setting for it (`tokio_postgres=warn`) is kept.
pub fn filter_directives(level: &str) -> String {
    let mut directives = Vec::new();
    let mut quieter_root = false;
    for directive in level.split(',').map(str::trim).filter(|d| !d.is_empty()) {
        let (selector, verbosity) = directive.rsplit_once('=').unwrap_or((directive, "trace"));
        let target = selector.split('[').next().unwrap_or(selector);
        if targets_parameter_logger(target) {
            let quiet = ["off", "error", "warn", "info"]
                .iter()
                .any(|q| verbosity.eq_ignore_ascii_case(q));
            if !quiet {
                continue;
            }
            quieter_root |= PARAMETER_LOGGING_TARGETS.contains(&target);
        }
        directives.push(directive.to_owned());
    }
    if !quieter_root {
        for target in PARAMETER_LOGGING_TARGETS {
            directives.push(format!("{target}=info"));
        }
    }
    directives.join(",")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokio_postgres_is_capped_at_info_whatever_the_level() {
        assert_eq!(filter_directives("debug"), "debug,tokio_postgres=info");
        assert_eq!(filter_directives("trace"), "trace,tokio_postgres=info");
        assert_eq!(filter_directives("info"), "info,tokio_postgres=info");
        assert_eq!(
            filter_directives("info,billing_center=debug,tokio_postgres=trace"),
            "info,billing_center=debug,tokio_postgres=info"
        );
        assert_eq!(
            filter_directives("debug,tokio_postgres::query=debug,tokio_postgres"),
            "debug,tokio_postgres=info"
        );
        assert_eq!(
            filter_directives("tokio_postgres::prepare[span]=trace"),
            "tokio_postgres=info"
        );
        // Quieter settings stay.
        assert_eq!(
            filter_directives("debug,tokio_postgres=warn"),
            "debug,tokio_postgres=warn"
        );
        assert_eq!(
            filter_directives("debug,tokio_postgres::query=error"),
            "debug,tokio_postgres::query=error,tokio_postgres=info"
        );
        // Similar names are not touched.
        assert_eq!(
            filter_directives("tokio_postgres_extra=debug"),
            "tokio_postgres_extra=debug,tokio_postgres=info"
        );
        for level in ["debug", "trace", "info,tokio_postgres::query=trace"] {
            assert!(
                EnvFilter::try_new(filter_directives(level)).is_ok(),
                "{level}"
            );
        }
    }

    #[test]
    fn the_cap_applies_to_every_tokio_postgres_module() {
        assert!(is_parameter_logging("tokio_postgres::query", Level::DEBUG));
        assert!(is_parameter_logging("tokio_postgres", Level::TRACE));
        assert!(!is_parameter_logging(
            "tokio_postgres::connection",
            Level::INFO
        ));
        assert!(!is_parameter_logging("tokio_postgres_extra", Level::DEBUG));
        assert!(!is_parameter_logging("billing_center", Level::DEBUG));
    }
}
