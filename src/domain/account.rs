//! Accounts: their kind and the checks on the contact data they carry.

crate::stored_enum! {
    /// Who manages an account and how its orders are paid (SPEC §1).
    pub enum AccountKind {
        /// Managed by its billing contact in the Billing Center; pays by card at checkout.
        SelfService => "self_service",
        /// Managed with a representative in the Corporate Billing Portal; pays by invoice.
        Corporate => "corporate",
    }
}

/// A deliberately small email check: one `@`, something on both sides, a dot in the domain,
/// no spaces, at most 254 characters. Deliverability is the mail system's job.
pub fn is_plausible_email(email: &str) -> bool {
    if email.len() > 254 || email.chars().any(char::is_whitespace) {
        return false;
    }
    match email.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && !domain.contains('@')
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
        }
        None => false,
    }
}

/// An assigned ISO 3166-1 alpha-2 code in upper case (see `country`): the shape alone would
/// let `ZZ` through, a country without VAT.
pub fn is_country_code(country: &str) -> bool {
    super::country::is_assigned_country(country)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails() {
        assert!(is_plausible_email("ana@example.com"));
        assert!(!is_plausible_email("ana@example"));
        assert!(!is_plausible_email("ana example@x.com"));
        assert!(!is_plausible_email("@x.com"));
        assert!(!is_plausible_email("a@b@c.com"));
    }

    #[test]
    fn kinds_round_trip() {
        for kind in [AccountKind::SelfService, AccountKind::Corporate] {
            assert_eq!(kind.as_str().parse::<AccountKind>(), Ok(kind));
        }
        assert!("enterprise".parse::<AccountKind>().is_err());
        assert!(is_country_code("DE"));
        assert!(!is_country_code("de"));
    }
}
