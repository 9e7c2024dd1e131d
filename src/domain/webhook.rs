//! Webhook delivery rules (SPEC §14) as plain functions: when to try again, and which
//! addresses a delivery may never reach.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use chrono::Duration;

crate::stored_enum! {
    /// Why an endpoint is disabled.
    pub enum DisabledReason {
        /// Disabled by an admin (`PATCH … {disabled: true}`).
        Requested => "requested",
        /// It answered 410 Gone.
        Gone => "gone",
        /// Its deliveries all failed for 5 days.
        Failing => "failing",
    }
}

crate::stored_enum! {
    /// Where a delivery stands.
    pub enum DeliveryStatus {
        /// Not yet delivered: due at `next_attempt_at`, or waiting for an earlier event.
        Pending => "pending",
        Succeeded => "succeeded",
        /// Every attempt failed (or the endpoint answered 410).
        Failed => "failed",
    }
}

/// The waits after the 1st, 2nd, … failed attempt; after the last, the delivery fails.
pub const RETRY_SCHEDULE_SECONDS: [i64; 7] = [5, 300, 1_800, 7_200, 18_000, 36_000, 36_000];

/// The longest `Retry-After` honoured.
pub const MAX_RETRY_AFTER_SECONDS: i64 = 3_600;

/// Days of failures, without one success, after which an endpoint is disabled.
pub const DISABLE_AFTER_FAILING_DAYS: i64 = 5;

/// The wait before the next attempt after `attempts` failed ones, `None` when the delivery
/// has failed for good. `jitter` in `[-1, 1]` moves the wait by up to ±20 %; a `Retry-After`
/// (capped at an hour) is never cut short.
pub fn retry_delay(attempts: i32, retry_after: Option<i64>, jitter: f64) -> Option<Duration> {
    let index = usize::try_from(attempts).ok()?.checked_sub(1)?;
    let base = *RETRY_SCHEDULE_SECONDS.get(index)?;
    // Milliseconds, so that the ±20 % of 5 s is not rounded away.
    let jittered_ms = (base as f64 * 1000.0 * (1.0 + 0.2 * jitter.clamp(-1.0, 1.0))).round() as i64;
    let asked_ms = retry_after
        .map(|s| s.clamp(0, MAX_RETRY_AFTER_SECONDS) * 1000)
        .unwrap_or(0);
    Some(Duration::milliseconds(jittered_ms.max(asked_ms)))
}

/// `Retry-After` as seconds from `now`: a number, or an HTTP date.
pub fn retry_after_seconds(value: &str, now: chrono::DateTime<chrono::Utc>) -> Option<i64> {
    if let Ok(seconds) = value.trim().parse::<i64>() {
        return Some(seconds.max(0));
    }
    let at = chrono::DateTime::parse_from_rfc2822(value.trim()).ok()?;
    Some((at.with_timezone(&chrono::Utc) - now).num_seconds().max(0))
}

/// Loopback, private, link-local, shared, unspecified, multicast or documentation
/// addresses: a webhook never goes there unless `WEBHOOKS_ALLOW_PRIVATE=true`.
pub fn is_internal(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_internal_v4(v4),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => is_internal_v4(v4),
            None => is_internal_v6(v6),
        },
    }
}

fn is_internal_v4(ip: Ipv4Addr) -> bool {
    let [a, b, ..] = ip.octets();
    ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_unspecified()
        || ip.is_broadcast()
        || ip.is_multicast()
        || ip.is_documentation()
        || a == 0
        // 100.64.0.0/10, carrier-grade NAT: private in all but name.
        || (a == 100 && (64..128).contains(&b))
}

fn is_internal_v6(ip: Ipv6Addr) -> bool {
    let first = ip.segments()[0];
    ip.is_loopback()
        || ip.is_unspecified()
        || ip.is_multicast()
        // fc00::/7 unique local, fe80::/10 link-local.
        || (first & 0xfe00) == 0xfc00
        || (first & 0xffc0) == 0xfe80
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_reads_seconds_and_dates() {
        let now = chrono::DateTime::parse_from_rfc3339("2015-10-21T07:27:00Z")
            .map(|t| t.with_timezone(&chrono::Utc))
            .unwrap_or_default();
        assert_eq!(retry_after_seconds("120", now), Some(120));
        assert_eq!(retry_after_seconds(" 0 ", now), Some(0));
        assert_eq!(
            retry_after_seconds("Wed, 21 Oct 2015 07:28:00 GMT", now),
            Some(60)
        );
        assert_eq!(
            retry_after_seconds("Wed, 21 Oct 2015 07:26:00 GMT", now),
            Some(0),
            "a date past is now"
        );
        assert_eq!(retry_after_seconds("soon", now), None);
    }

    #[test]
    fn the_schedule_then_failure() {
        let secs = |n| retry_delay(n, None, 0.0).map(|d| d.num_seconds());
        assert_eq!(secs(1), Some(5));
        assert_eq!(secs(2), Some(300));
        assert_eq!(secs(7), Some(36_000));
        assert_eq!(secs(8), None);
        assert_eq!(secs(0), None);
    }

    #[test]
    fn jitter_stays_within_a_fifth() {
        assert_eq!(
            retry_delay(1, None, 1.0),
            Some(Duration::milliseconds(6_000))
        );
        assert_eq!(
            retry_delay(1, None, -1.0),
            Some(Duration::milliseconds(4_000))
        );
        assert_eq!(retry_delay(3, None, 7.0), Some(Duration::seconds(2_160)));
    }

    #[test]
    fn retry_after_is_honoured_up_to_an_hour() {
        assert_eq!(retry_delay(1, Some(120), 0.0), Some(Duration::seconds(120)));
        assert_eq!(
            retry_delay(1, Some(90_000), 0.0),
            Some(Duration::seconds(3_600))
        );
        // Never sooner than the schedule says.
        assert_eq!(retry_delay(2, Some(1), 0.0), Some(Duration::seconds(300)));
    }

    #[test]
    fn internal_addresses() {
        for internal in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "0.0.0.0",
            "100.64.0.1",
            "::1",
            "fd00::1",
            "fe80::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
        ] {
            assert!(is_internal(internal.parse().unwrap()), "{internal}");
        }
        for public in ["93.184.216.34", "1.1.1.1", "2606:4700::1111", "100.128.0.1"] {
            assert!(!is_internal(public.parse().unwrap()), "{public}");
        }
    }
}
