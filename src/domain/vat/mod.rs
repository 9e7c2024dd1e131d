//! VAT identification numbers: normalisation, the format of each EU member state and, where
//! the check is implemented, the check digit.
//!
//! What a customer types is first normalised: upper case, without spaces, dots or dashes
//! (`"de 136.695-976"` becomes `"DE136695976"`). The normalised ID is what gets stored.
//!
//! For an account in an EU member state the ID must then:
//! - start with that state's VAT prefix, which is its ISO country code except for Greece
//!   (`EL`, not `GR`); an ID from another state is a prefix mismatch, not a foreign ID;
//! - have the state's format after the prefix (digits, letters, length);
//! - carry a correct check digit: for AT, BE, DE, ES, FR, IT, NL and PL by our own rules
//!   (`check_digits.rs`: stronger than the `vat_id_validator` crate for France's alphanumeric
//!   keys, and with the Dutch sole-proprietor variant); for the other 19 states by the
//!   `vat_id_validator` crate's — but only where the crate recognises the format we accept:
//!   where it does not, the ID passes on its format alone, since refusing a real ID over a
//!   rule we cannot vouch for is worse than missing a typo.
//!
//! The Netherlands has two check rules: the 11-test of the classic company number, and the
//! mod-97 check over the whole ID (`NL…B…`) of the sole-proprietor IDs issued since 2020.
//! Either one passing is enough.
//!
//! Outside the EU there is no reverse charge, so the ID only identifies the customer on its
//! invoices:
//! - `GB` needs `GB` and 9 or 12 digits (format only);
//! - any other country accepts 2 to 20 letters or digits, so a US EIN, a Swiss UID
//!   (`CHE…MWST`) or a Norwegian `…MVA` number all fit;
//! - except a complete, valid EU VAT ID on a non-EU account, which is rejected as
//!   [`VatIdError::NotEu`]: it means the account's country is wrong, and accepting it would
//!   silently bill an EU business as an untaxed foreign one.

use thiserror::Error;

mod check_digits;

use check_digits::check_digit_ok;

/// The 27 EU member states, ISO 3166-1 alpha-2.
const MEMBER_STATES: [&str; 27] = [
    "AT", "BE", "BG", "CY", "CZ", "DE", "DK", "EE", "ES", "FI", "FR", "GR", "HR", "HU", "IE", "IT",
    "LT", "LU", "LV", "MT", "NL", "PL", "PT", "RO", "SE", "SI", "SK",
];

/// The states whose check digits `check_digits.rs` verifies; the others use the crate's.
const OWN_CHECK_DIGITS: [&str; 8] = ["AT", "BE", "DE", "ES", "FR", "IT", "NL", "PL"];

/// Why a VAT ID was refused, worded so the customer knows what to change.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum VatIdError {
    #[error("the VAT ID must start with `{expected}`, the VAT prefix of the account's country")]
    PrefixMismatch { expected: &'static str },
    #[error("the VAT ID does not have the format used in {country}: expected {hint}")]
    BadFormat { country: String, hint: &'static str },
    #[error("the VAT ID's check digit does not match its number; please check it for a typo")]
    BadCheckDigit,
    #[error(
        "this is an EU VAT ID but the account's country is outside the EU; \
         set the account's country to the member state that issued the VAT ID"
    )]
    NotEu,
}

/// Whether `country` (ISO 3166-1 alpha-2, any case) is an EU member state.
pub fn is_eu(country: &str) -> bool {
    member_state(country).is_some()
}

/// The VAT prefix of an EU member state: its country code, except `EL` for Greece (`GR`).
/// `None` outside the EU.
pub fn vat_prefix(country: &str) -> Option<&'static str> {
    member_state(country).map(|state| if state == "GR" { "EL" } else { state })
}

/// Validates a VAT ID for an account in `country` and returns it normalised.
pub fn validate_vat_id(country: &str, raw: &str) -> Result<String, VatIdError> {
    let id = normalise(raw);
    match member_state(country) {
        Some(state) => validate_member_state_id(state, &id)?,
        None if country.eq_ignore_ascii_case("GB") => validate_gb(&id)?,
        None => validate_other(country, &id)?,
    }
    Ok(id)
}

fn member_state(country: &str) -> Option<&'static str> {
    MEMBER_STATES
        .iter()
        .copied()
        .find(|state| state.eq_ignore_ascii_case(country))
}

fn normalise(raw: &str) -> String {
    raw.chars()
        .filter(|c| !c.is_whitespace() && *c != '.' && *c != '-')
        .map(|c| c.to_ascii_uppercase())
        .collect()
}

fn validate_member_state_id(state: &'static str, id: &str) -> Result<(), VatIdError> {
    let expected = vat_prefix(state).unwrap_or(state);
    let number = id
        .strip_prefix(expected)
        .ok_or(VatIdError::PrefixMismatch { expected })?;
    let (has_format, hint) = format_rule(state);
    if !has_format(number) {
        return Err(VatIdError::BadFormat {
            country: state.to_owned(),
            hint,
        });
    }
    let check_digit_ok = if OWN_CHECK_DIGITS.contains(&state) {
        check_digit_ok(state, number)
    } else {
        let checked = vat_id_validator::check_vat_by_country(id, state);
        !checked.is_valid_format || checked.is_valid
    };
    if check_digit_ok {
        Ok(())
    } else {
        Err(VatIdError::BadCheckDigit)
    }
}

fn validate_gb(id: &str) -> Result<(), VatIdError> {
    let number = id
        .strip_prefix("GB")
        .ok_or(VatIdError::PrefixMismatch { expected: "GB" })?;
    if all_digits(number, 9, 9) || all_digits(number, 12, 12) {
        Ok(())
    } else {
        Err(VatIdError::BadFormat {
            country: "GB".to_owned(),
            hint: "GB + 9 or 12 digits",
        })
    }
}

fn validate_other(country: &str, id: &str) -> Result<(), VatIdError> {
    let issued_in_eu = MEMBER_STATES.iter().any(|&state| {
        vat_prefix(state).is_some_and(|prefix| id.starts_with(prefix))
            && validate_member_state_id(state, id).is_ok()
    });
    if issued_in_eu {
        return Err(VatIdError::NotEu);
    }
    let length = id.chars().count();
    if (2..=20).contains(&length) && id.chars().all(|c| c.is_ascii_alphanumeric()) {
        Ok(())
    } else {
        Err(VatIdError::BadFormat {
            country: country.to_ascii_uppercase(),
            hint: "2 to 20 letters or digits",
        })
    }
}

/// The shape of a member state's number after its prefix, and the hint shown when it does not
/// fit. Patterns: `#` a digit, `@` a letter, `?` a letter or digit, anything else itself.
fn format_rule(state: &str) -> (fn(&str) -> bool, &'static str) {
    match state {
        "AT" => (|n| pattern(n, "U########"), "ATU + 8 digits"),
        "BE" => (
            |n| pattern(n, "0#########") || pattern(n, "1#########"),
            "BE + 10 digits, starting with 0 or 1",
        ),
        "BG" => (|n| all_digits(n, 9, 10), "BG + 9 or 10 digits"),
        "CY" => (|n| pattern(n, "########@"), "CY + 8 digits + 1 letter"),
        "CZ" => (|n| all_digits(n, 8, 10), "CZ + 8, 9 or 10 digits"),
        "DE" => (|n| all_digits(n, 9, 9), "DE + 9 digits"),
        "DK" => (|n| all_digits(n, 8, 8), "DK + 8 digits"),
        "EE" => (
            |n| pattern(n, "10#######"),
            "EE + 9 digits, starting with 10",
        ),
        "ES" => (
            |n| {
                pattern(n, "########@")
                    || (pattern(n, "@#######?") && !n.starts_with(['I', 'O', 'T']))
            },
            "ES + 8 digits + 1 letter, or 1 letter + 7 digits + 1 letter or digit",
        ),
        "FI" => (|n| all_digits(n, 8, 8), "FI + 8 digits"),
        "FR" => (
            |n| pattern(n, "??#########") && !n.chars().take(2).any(|c| matches!(c, 'I' | 'O')),
            "FR + 2 digits or letters (not I or O) + 9 digits",
        ),
        "GR" => (|n| all_digits(n, 9, 9), "EL + 9 digits"),
        "HR" => (|n| all_digits(n, 11, 11), "HR + 11 digits"),
        "HU" => (|n| all_digits(n, 8, 8), "HU + 8 digits"),
        "IE" => (
            |n| {
                ["#######@", "#######@@", "#@#####@", "#+#####@", "#*#####@"]
                    .iter()
                    .any(|p| pattern(n, p))
            },
            "IE + 7 digits and 1 or 2 letters (or the older digit, letter, 5 digits, letter)",
        ),
        "IT" => (|n| all_digits(n, 11, 11), "IT + 11 digits"),
        "LT" => (
            |n| all_digits(n, 9, 9) || all_digits(n, 12, 12),
            "LT + 9 or 12 digits",
        ),
        "LU" => (|n| all_digits(n, 8, 8), "LU + 8 digits"),
        "LV" => (|n| all_digits(n, 11, 11), "LV + 11 digits"),
        "MT" => (|n| all_digits(n, 8, 8), "MT + 8 digits"),
        "NL" => (
            |n| pattern(n, "#########B##") && !n.ends_with("B00"),
            "NL + 9 digits + B + 2 digits (not B00)",
        ),
        "PL" => (|n| all_digits(n, 10, 10), "PL + 10 digits"),
        "PT" => (|n| all_digits(n, 9, 9), "PT + 9 digits"),
        "RO" => (|n| all_digits(n, 2, 10), "RO + 2 to 10 digits"),
        "SE" => (
            |n| pattern(n, "##########01"),
            "SE + 12 digits, ending in 01",
        ),
        "SI" => (|n| all_digits(n, 8, 8), "SI + 8 digits"),
        "SK" => (|n| all_digits(n, 10, 10), "SK + 10 digits"),
        _ => (|_| false, "a member state's VAT number"),
    }
}

fn pattern(value: &str, pattern: &str) -> bool {
    value.chars().count() == pattern.chars().count()
        && value.chars().zip(pattern.chars()).all(|(v, p)| match p {
            '#' => v.is_ascii_digit(),
            '@' => v.is_ascii_uppercase(),
            '?' => v.is_ascii_digit() || v.is_ascii_uppercase(),
            literal => v == literal,
        })
}

fn all_digits(value: &str, min_len: usize, max_len: usize) -> bool {
    (min_len..=max_len).contains(&value.len()) && value.bytes().all(|b| b.is_ascii_digit())
}

#[cfg(test)]
mod tests;
