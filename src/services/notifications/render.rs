//! Mail bodies from the templates kept in the repository (`templates/email/`), rendered with
//! minijinja: a subject, a text and an HTML body per template. HTML escapes every value (by
//! the file name); the text and the subject do not. A value a template names but the context
//! lacks is an error, never an empty string in a customer's mail.

use std::sync::LazyLock;

use chrono::{DateTime, NaiveDate, Utc};
use minijinja::{Environment, Error, ErrorKind, UndefinedBehavior};
use rust_decimal::Decimal;

use crate::domain::notification::NotificationTemplate;

/// What a mail says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    pub subject: String,
    pub text: String,
    pub html: String,
}

macro_rules! sources {
    ($($name:ident),+ $(,)?) => {
        &[$(
            (
                concat!(stringify!($name), ".subject"),
                include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/templates/email/", stringify!($name), ".subject")),
            ),
            (
                concat!(stringify!($name), ".txt"),
                include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/templates/email/", stringify!($name), ".txt")),
            ),
            (
                concat!(stringify!($name), ".html"),
                include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/templates/email/", stringify!($name), ".html")),
            ),
        )+]
    };
}

/// Every template's three parts, compiled into the binary.
const SOURCES: &[(&str, &str)] = sources!(
    order_confirmation,
    renewal_invoice,
    renewal_receipt,
    payment_failed,
    trial_ending,
    cancellation_scheduled,
    subscription_canceled,
    change_request_submitted,
    change_request_withdrawn,
    change_request_quoted,
    change_request_declined,
);

static ENVIRONMENT: LazyLock<Result<Environment<'static>, String>> = LazyLock::new(|| {
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    env.add_filter("day", day);
    env.add_test("zero", zero);
    for (name, source) in SOURCES {
        env.add_template(name, source)
            .map_err(|e| format!("email template {name}: {e}"))?;
    }
    Ok(env)
});

/// Renders `template` with `context` (the account, the event's resource, links).
pub fn render(
    template: NotificationTemplate,
    context: &serde_json::Value,
) -> Result<Rendered, String> {
    let env = ENVIRONMENT.as_ref().map_err(Clone::clone)?;
    let part = |extension: &str| -> Result<String, String> {
        let name = format!("{}.{extension}", template.as_str());
        env.get_template(&name)
            .and_then(|t| t.render(context))
            .map_err(|e| format!("email template {name}: {e:#}"))
    };
    Ok(Rendered {
        // One line, whatever the template's line breaks.
        subject: part("subject")?
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" "),
        text: part("txt")?,
        html: part("html")?,
    })
}

/// `YYYY-MM-DD` of a date or of an RFC 3339 instant (SPEC §16: dates in mails).
fn day(value: String) -> Result<String, Error> {
    if let Ok(date) = value.parse::<NaiveDate>() {
        return Ok(date.format("%Y-%m-%d").to_string());
    }
    value
        .parse::<DateTime<Utc>>()
        .map(|instant| instant.format("%Y-%m-%d").to_string())
        .map_err(|_| Error::new(ErrorKind::InvalidOperation, format!("not a date: {value}")))
}

/// `is zero`: an amount (a decimal string, as the API shows money) that is nothing.
fn zero(value: String) -> bool {
    value
        .parse::<Decimal>()
        .is_ok_and(|amount| amount.is_zero())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn context(object: serde_json::Value, invoice: serde_json::Value) -> serde_json::Value {
        json!({
            "account": {
                "id": "0192f0c1-0000-7000-8000-000000000001",
                "name": "Globex <Corp>",
                "billing_contact_name": "Hank Scorpio",
            },
            "object": object,
            "invoice": invoice,
            "portal_url": "https://portal.example",
        })
    }

    fn order() -> serde_json::Value {
        json!({
            "number": "ORD-000042",
            "created_at": "2026-12-03T10:15:00Z",
            "currency": "EUR",
            "settlement": "invoice",
            "subtotal": "300.00", "tax": "57.00", "reverse_charge": false,
            "credit_applied": "0.00", "total_due": "357.00",
            "items": [{
                "product": "remote-support", "plan": "standard", "quantity": 10,
                "billing_frequency": "monthly",
                "period_start": "2026-12-03", "period_end": "2027-01-03",
                "lines": [{"description": "Standard × 10", "amount": "300.00"}],
            }],
        })
    }

    #[test]
    fn every_template_has_a_subject_a_text_and_an_html_part() {
        assert!(ENVIRONMENT.is_ok(), "{:?}", ENVIRONMENT.as_ref().err());
        let names: Vec<&str> = SOURCES.iter().map(|(name, _)| *name).collect();
        for template in NotificationTemplate::ALL {
            for extension in ["subject", "txt", "html"] {
                let name = format!("{}.{extension}", template.as_str());
                assert!(names.contains(&name.as_str()), "{name} is missing");
            }
        }
        assert_eq!(SOURCES.len(), NotificationTemplate::ALL.len() * 3);
    }

    #[test]
    fn an_order_on_terms_carries_its_invoice_due_date_and_po_number() {
        let invoice = json!({
            "number": "INV-000042-0001", "issued_on": "2026-12-03", "due_on": "2027-01-02",
            "po_number": "PO-7781",
        });
        let mail = render(
            NotificationTemplate::OrderConfirmation,
            &context(order(), invoice),
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            mail.subject,
            "Order ORD-000042 confirmed: invoice INV-000042-0001 due 2027-01-02"
        );
        assert!(mail.text.contains("Total: 357.00 EUR"), "{}", mail.text);
        assert!(mail.text.contains("is due on 2027-01-02"), "{}", mail.text);
        assert!(
            mail.text.contains("Purchase order: PO-7781"),
            "{}",
            mail.text
        );
        assert!(!mail.text.contains("Credit applied"), "{}", mail.text);
        assert!(
            mail.text.contains("of 2026-12-03 for Globex <Corp>"),
            "{}",
            mail.text
        );
        // HTML escapes what the customer typed; the text part shows it as it is.
        assert!(mail.html.contains("Globex &lt;Corp&gt;"), "{}", mail.html);
        assert!(
            mail.html.contains("<strong>2027-01-02</strong>"),
            "{}",
            mail.html
        );
    }

    #[test]
    fn a_card_order_says_it_was_paid() {
        let mut object = order();
        object["settlement"] = json!("card");
        object["credit_applied"] = json!("12.50");
        let mail = render(
            NotificationTemplate::OrderConfirmation,
            &context(object, json!(null)),
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(mail.subject, "Order ORD-000042 confirmed");
        assert!(mail.text.contains("Paid by card."), "{}", mail.text);
        assert!(
            mail.text.contains("Credit applied: 12.50 EUR"),
            "{}",
            mail.text
        );
    }

    #[test]
    fn a_missing_value_is_an_error_not_a_blank() {
        let mut object = order();
        object
            .as_object_mut()
            .map(|o| o.remove("total_due"))
            .unwrap_or_default();
        let error = render(
            NotificationTemplate::OrderConfirmation,
            &context(object, json!(null)),
        )
        .err()
        .unwrap_or_default();
        assert!(error.contains("order_confirmation"), "{error}");
    }

    #[test]
    fn dates_are_days() {
        assert_eq!(day("2026-12-03".into()).ok(), Some("2026-12-03".into()));
        assert_eq!(
            day("2027-01-05T23:59:59.5Z".into()).ok(),
            Some("2027-01-05".into())
        );
        assert!(day("soon".into()).is_err());
        assert!(zero("0".into()) && zero("0.00".into()) && !zero("0.01".into()));
    }
}
