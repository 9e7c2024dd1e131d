//! Dunning's calendar (SPEC §13): after a renewal's card is refused, automatic retries at
//! fixed days after the first failure (`DUNNING_RETRY_DAYS`, default 1, 3, 5, 7) for soft
//! declines only; a hard decline or no card waits for a new card. When the last retry fails,
//! or the last retry day passes with nothing retried, dunning ends: the invoice is
//! uncollectible and the subscription canceled.

use chrono::{DateTime, Duration, Utc};

/// The default retry days after the first failure.
pub const DEFAULT_RETRY_DAYS: [i64; 4] = [1, 3, 5, 7];

/// Whether a refusal may be retried automatically: a soft decline may succeed later; a card
/// reported expired, stolen or lost (or no card at all) will not.
pub fn is_soft(code: &str) -> bool {
    !matches!(
        code,
        "expired_card" | "stolen_card" | "lost_card" | "no_payment_method"
    )
}

/// What follows a refused attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AfterRefusal {
    /// The next automatic attempt; none after a hard decline or the last retry.
    pub next_attempt: Option<DateTime<Utc>>,
    /// When dunning ends if nothing is paid: the last retry day.
    pub ends_at: DateTime<Utc>,
    /// Dunning is over now: the last retry failed (or its day has passed).
    pub give_up: bool,
}

/// The schedule after a refusal at `now` of an invoice whose first failure was at
/// `first_failed` (`now` itself for the first one). `retry_days` are increasing.
pub fn after_refusal(
    retry_days: &[i64],
    first_failed: DateTime<Utc>,
    now: DateTime<Utc>,
    code: &str,
) -> AfterRefusal {
    let last_day = retry_days.last().copied().unwrap_or(0);
    let ends_at = first_failed + Duration::days(last_day);
    let next_attempt = retry_days
        .iter()
        .map(|days| first_failed + Duration::days(*days))
        .find(|at| *at > now);
    if is_soft(code) {
        AfterRefusal {
            next_attempt,
            ends_at,
            give_up: next_attempt.is_none(),
        }
    } else {
        AfterRefusal {
            next_attempt: None,
            ends_at,
            give_up: ends_at <= now,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(day: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2027, 3, day, 0, 0, 0).unwrap()
    }

    #[test]
    fn soft_declines_are_retried_on_days_one_three_five_seven_then_given_up() {
        let first = at(1);
        let days = DEFAULT_RETRY_DAYS;
        let mut now = first;
        let mut tries = Vec::new();
        loop {
            let next = after_refusal(&days, first, now, "card_declined");
            assert_eq!(next.ends_at, at(8));
            if next.give_up {
                break;
            }
            now = next.next_attempt.unwrap();
            tries.push(now);
        }
        assert_eq!(tries, [at(2), at(4), at(6), at(8)]);
        assert_eq!(now, at(8), "the last retry fails on day seven");
    }

    #[test]
    fn a_manual_attempt_between_retries_keeps_the_calendar() {
        let first = at(1);
        let after_manual = after_refusal(&DEFAULT_RETRY_DAYS, first, at(3), "insufficient_funds");
        assert_eq!(after_manual.next_attempt, Some(at(4)));
        assert!(!after_manual.give_up);
    }

    #[test]
    fn hard_declines_and_no_card_wait_for_a_new_card_until_the_last_day() {
        for code in [
            "stolen_card",
            "expired_card",
            "lost_card",
            "no_payment_method",
        ] {
            let first = after_refusal(&DEFAULT_RETRY_DAYS, at(1), at(1), code);
            assert_eq!(first.next_attempt, None, "{code}");
            assert_eq!(first.ends_at, at(8));
            assert!(!first.give_up);
            // A new card refused again on day 8 ends it.
            assert!(after_refusal(&DEFAULT_RETRY_DAYS, at(1), at(8), code).give_up);
        }
        assert!(is_soft("card_declined") && is_soft("insufficient_funds"));
    }
}
