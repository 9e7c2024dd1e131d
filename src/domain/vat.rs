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
//! - carry a correct check digit for AT, BE, DE, ES, FR, IT, NL and PL. The other 19 states
//!   are checked for format only, so a typo in their check digit passes: better than refusing
//!   a real ID over a rule that is not implemented here.
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

/// The 27 EU member states, ISO 3166-1 alpha-2.
const MEMBER_STATES: [&str; 27] = [
    "AT", "BE", "BG", "CY", "CZ", "DE", "DK", "EE", "ES", "FI", "FR", "GR", "HR", "HU", "IE", "IT",
    "LT", "LU", "LV", "MT", "NL", "PL", "PT", "RO", "SE", "SI", "SK",
];

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
    if check_digit_ok(state, number) {
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

/// Runs the state's check-digit rule on a number that already has the state's format.
/// States without an implemented rule pass.
fn check_digit_ok(state: &str, number: &str) -> bool {
    let d = digits(number);
    match state {
        "AT" => austria(&d),
        "BE" => belgium(&d),
        "DE" => germany(&d),
        "ES" => spain(number),
        "FR" => france(number),
        "IT" => luhn_sum(&d).is_multiple_of(10),
        "NL" => netherlands_11_test(&d) || mod_97(&format!("NL{number}")) == 1,
        "PL" => poland(&d),
        _ => true,
    }
}

/// The decimal digits of a string, skipping anything else.
fn digits(value: &str) -> Vec<u32> {
    value.chars().filter_map(|c| c.to_digit(10)).collect()
}

fn to_number(digits: &[u32]) -> u64 {
    digits.iter().fold(0, |acc, &d| acc * 10 + u64::from(d))
}

/// Luhn: from the right, every second digit doubled (its digits summed), all added up.
fn luhn_sum(digits: &[u32]) -> u32 {
    digits
        .iter()
        .rev()
        .enumerate()
        .map(|(i, &d)| if i % 2 == 1 { luhn_double(d) } else { d })
        .sum()
}

fn luhn_double(digit: u32) -> u32 {
    let doubled = digit * 2;
    if doubled > 9 { doubled - 9 } else { doubled }
}

/// `U` + 7 digits + check: Luhn over the 7 digits, check = (96 − sum) mod 10.
fn austria(d: &[u32]) -> bool {
    match d.split_last() {
        Some((&check, body)) => (96 - (luhn_sum(body) % 10)) % 10 == check,
        None => false,
    }
}

/// 8 digits + 2 check digits = 97 − (the 8 digits mod 97).
fn belgium(d: &[u32]) -> bool {
    let (body, check) = d.split_at(d.len().saturating_sub(2));
    97 - (to_number(body) % 97) == to_number(check)
}

/// ISO 7064 MOD 11,10 over the first 8 digits.
fn germany(d: &[u32]) -> bool {
    let Some((&check, body)) = d.split_last() else {
        return false;
    };
    let product = body.iter().fold(10, |product, &digit| {
        let sum = match (digit + product) % 10 {
            0 => 10,
            sum => sum,
        };
        (2 * sum) % 11
    });
    (11 - product) % 10 == check
}

/// NIF: DNI (8 digits + letter), NIE (X/Y/Z + 7 digits + letter, X/Y/Z read as 0/1/2),
/// K/L/M (7 digits + letter, as DNI), or a company CIF whose last character is the Luhn check
/// of the 7 middle digits, as a digit or as the letter at that position of `JABCDEFGHI`.
fn spain(number: &str) -> bool {
    const DNI_LETTERS: &str = "TRWAGMYFPDXBNJZSQVHLCKE";
    const CIF_LETTERS: &str = "JABCDEFGHI";
    let (Some(first), Some(last)) = (number.chars().next(), number.chars().last()) else {
        return false;
    };
    let middle = digits(number.get(1..8).unwrap_or_default());
    let dni_letter = |n: u64| nth_char(DNI_LETTERS, n % 23);
    if first.is_ascii_digit() {
        return dni_letter(to_number(&digits(number))) == Some(last);
    }
    if let Some(leading) = position("XYZ", first) {
        return dni_letter(leading * 10_000_000 + to_number(&middle)) == Some(last);
    }
    if matches!(first, 'K' | 'L' | 'M') {
        return dni_letter(to_number(&middle)) == Some(last);
    }
    let check = (10 - luhn_sum(&[middle.as_slice(), &[0]].concat()) % 10) % 10;
    char::from_digit(check, 10) == Some(last)
        || nth_char(CIF_LETTERS, u64::from(check)) == Some(last)
}

/// Key (2 characters) + SIREN (9 digits). A numeric key is (12 + 3 × (SIREN mod 97)) mod 97;
/// an alphanumeric key (newer IDs) encodes a mod-11 check over the alphabet `0-9A-Z` without
/// I and O. The SIREN's own Luhn digit is not checked (Monaco's `000…` numbers have none).
fn france(number: &str) -> bool {
    const KEY_ALPHABET: &str = "0123456789ABCDEFGHJKLMNPQRSTUVWXYZ";
    let Some((key, siren)) = number.split_at_checked(2) else {
        return false;
    };
    let siren = to_number(&digits(siren));
    if let Ok(key) = key.parse::<u64>() {
        return key == (12 + 3 * (siren % 97)) % 97;
    }
    let mut key = key.chars().map(|c| position(KEY_ALPHABET, c));
    let (Some(Some(first)), Some(Some(second))) = (key.next(), key.next()) else {
        return false;
    };
    // A digit key character is followed by a letter here (else the key is numeric), so
    // `second ≥ 10` and neither subtraction can underflow.
    let check = if first < 10 {
        first * 24 + second - 10
    } else {
        first * 34 + second - 100
    };
    (siren + 1 + check / 11) % 11 == check % 11
}

fn position(alphabet: &str, c: char) -> Option<u64> {
    alphabet
        .chars()
        .zip(0_u64..)
        .find(|&(a, _)| a == c)
        .map(|(_, i)| i)
}

fn nth_char(alphabet: &str, n: u64) -> Option<char> {
    alphabet
        .chars()
        .zip(0_u64..)
        .find(|&(_, i)| i == n)
        .map(|(c, _)| c)
}

/// The 11-test: 9 digits weighted 9, 8, …, 2, −1 sum to a multiple of 11.
fn netherlands_11_test(d: &[u32]) -> bool {
    let Some(body) = d.get(..9) else { return false };
    let weighted: u32 = body
        .iter()
        .take(8)
        .zip((2..=9).rev())
        .map(|(&x, w)| x * w)
        .sum();
    body.get(8).is_some_and(|&last| weighted % 11 == last)
}

/// ISO 7064 MOD 97-10 over letters (A = 10 … Z = 35) and digits.
fn mod_97(value: &str) -> u32 {
    value
        .chars()
        .filter_map(|c| c.to_digit(36))
        .fold(0, |rem, v| {
            let shift = if v >= 10 { 100 } else { 10 };
            (rem * shift + v) % 97
        })
}

/// Weights 6, 5, 7, 2, 3, 4, 5, 6, 7 over the first 9 digits; the sum mod 11 is the 10th.
fn poland(d: &[u32]) -> bool {
    const WEIGHTS: [u32; 9] = [6, 5, 7, 2, 3, 4, 5, 6, 7];
    let Some((&check, body)) = d.split_last() else {
        return false;
    };
    body.iter().zip(WEIGHTS).map(|(&x, w)| x * w).sum::<u32>() % 11 == check
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Published, valid VAT IDs of companies, per country with a check digit.
    const VALID_CHECKED: &[(&str, &str)] = &[
        ("AT", "ATU13585627"),
        ("AT", "ATU46080404"),
        ("AT", "ATU61195628"),
        ("BE", "BE0202239951"),
        ("BE", "BE0428759497"),
        ("BE", "BE0897290877"),
        ("DE", "DE136695976"),
        ("DE", "DE811363057"),
        ("DE", "DE812847601"),
        ("ES", "ESA28184661"),
        ("ES", "ESB58378431"),
        ("ES", "ESQ2818015F"),
        ("ES", "ES54362315K"),
        ("ES", "ESX5253868R"),
        ("ES", "ESZ5277343K"),
        ("FR", "FR40303265045"),
        ("FR", "FR23334175221"),
        ("FR", "FRK7399859412"),
        ("FR", "FR4Z123456782"),
        ("FR", "FR32000000330"),
        ("IT", "IT00743110157"),
        ("IT", "IT12920760159"),
        ("IT", "IT00118439991"),
        ("NL", "NL004495445B01"),
        ("NL", "NL802003217B01"),
        ("NL", "NL001452330B47"),
        ("PL", "PL5261025421"),
        ("PL", "PL7010098470"),
        ("PL", "PL8992708633"),
    ];

    /// Valid-format IDs of the member states checked for format only.
    const VALID_FORMAT_ONLY: &[(&str, &str)] = &[
        ("BG", "BG175074752"),
        ("BG", "BG7523169263"),
        ("CY", "CY10259033P"),
        ("CZ", "CZ25123891"),
        ("CZ", "CZ6956220612"),
        ("DK", "DK10503280"),
        ("EE", "EE100931558"),
        ("FI", "FI02459042"),
        ("GR", "EL094279805"),
        ("HR", "HR33392005961"),
        ("HU", "HU10672101"),
        ("IE", "IE6433435IH"),
        ("IE", "IE8D79739I"),
        ("IE", "IE0005306C"),
        ("LT", "LT119511515"),
        ("LT", "LT100001354118"),
        ("LU", "LU10059929"),
        ("LV", "LV40003521600"),
        ("MT", "MT17025737"),
        ("PT", "PT500019720"),
        ("RO", "RO573768"),
        ("SE", "SE202100500001"),
        ("SI", "SI26808498"),
        ("SK", "SK1078449064"),
    ];

    #[test]
    fn member_states_and_prefixes() {
        assert_eq!(MEMBER_STATES.len(), 27);
        for state in MEMBER_STATES {
            assert!(is_eu(state));
            assert!(is_eu(&state.to_ascii_lowercase()));
            assert_ne!(
                format_rule(state).1,
                "a member state's VAT number",
                "{state}"
            );
        }
        assert_eq!(vat_prefix("GR"), Some("EL"));
        assert_eq!(vat_prefix("de"), Some("DE"));
        for country in ["GB", "US", "CH", "NO", "EL", "XI", "", "D"] {
            assert!(!is_eu(country), "{country}");
            assert_eq!(vat_prefix(country), None, "{country}");
        }
    }

    #[test]
    fn accepts_published_ids_and_returns_them_normalised() {
        for &(country, id) in VALID_CHECKED.iter().chain(VALID_FORMAT_ONLY) {
            assert_eq!(validate_vat_id(country, id), Ok(id.to_owned()), "{id}");
        }
        assert_eq!(
            validate_vat_id("DE", " de 136.695-976 "),
            Ok("DE136695976".to_owned())
        );
        assert_eq!(
            validate_vat_id("es", "es-x-5253868-r"),
            Ok("ESX5253868R".to_owned())
        );
        assert_eq!(
            validate_vat_id("NL", "NL.0044.95.445.b.01"),
            Ok("NL004495445B01".to_owned())
        );
    }

    #[test]
    fn any_changed_digit_breaks_the_check() {
        // A Dutch ID passes with either rule, so a changed digit in a mod-97 ID may well make a
        // valid 11-test number (NL001452330B47 → NL101452330B47); only the 11-test IDs count.
        let single_rule = VALID_CHECKED
            .iter()
            .filter(|(_, id)| *id != "NL001452330B47");
        for &(country, id) in single_rule {
            // The classic Dutch 11-test covers the 9 digits, not the `B01` branch suffix.
            let checked_len = if country == "NL" { 11 } else { id.len() };
            let checked =
                |(i, c): &(usize, char)| (2..checked_len).contains(i) && c.is_ascii_digit();
            for (i, c) in id.char_indices().filter(checked) {
                let bumped = char::from_digit((c.to_digit(10).unwrap_or(0) + 1) % 10, 10);
                let mutated: String = id
                    .char_indices()
                    .map(|(j, original)| {
                        if j == i {
                            bumped.unwrap_or(original)
                        } else {
                            original
                        }
                    })
                    .collect();
                assert!(
                    validate_vat_id(country, &mutated).is_err(),
                    "{mutated} was accepted"
                );
            }
        }
    }

    #[test]
    fn wrong_check_digits_are_reported_as_such() {
        let mangled = [
            ("AT", "ATU13585628"),
            ("BE", "BE0202239952"),
            ("DE", "DE136695977"),
            ("ES", "ESA28184662"),
            ("ES", "ES54362315J"),
            ("ES", "ESX5253868S"),
            ("FR", "FR41303265045"),
            ("FR", "FRL7399859412"),
            ("IT", "IT00743110158"),
            ("NL", "NL004495446B01"),
            ("PL", "PL5261025422"),
        ];
        for (country, id) in mangled {
            assert_eq!(
                validate_vat_id(country, id),
                Err(VatIdError::BadCheckDigit),
                "{id}"
            );
        }
    }

    #[test]
    fn netherlands_accepts_the_sole_proprietor_mod_97_variant() {
        // Fails the 11-test, passes mod 97 over the whole ID.
        let sole_proprietor = "001452330B47";
        assert!(!netherlands_11_test(&digits(&sole_proprietor[..9])));
        assert_eq!(mod_97(&format!("NL{sole_proprietor}")), 1);
        // Passes the 11-test, not mod 97.
        assert!(netherlands_11_test(&digits("004495445")));
        assert_ne!(mod_97("NL004495445B01"), 1);
        assert_eq!(
            validate_vat_id("NL", "NL000099998B57"),
            Ok("NL000099998B57".to_owned())
        );
    }

    #[test]
    fn the_prefix_must_be_the_accounts_country() {
        let mismatch = |expected| Err(VatIdError::PrefixMismatch { expected });
        assert_eq!(validate_vat_id("DE", "136695976"), mismatch("DE"));
        assert_eq!(validate_vat_id("DE", "ATU13585627"), mismatch("DE"));
        assert_eq!(validate_vat_id("GR", "GR094279805"), mismatch("EL"));
        assert_eq!(
            validate_vat_id("AT", "AT13585627").map(|_| ()),
            Err(VatIdError::BadFormat {
                country: "AT".to_owned(),
                hint: "ATU + 8 digits",
            })
        );
        assert_eq!(validate_vat_id("GB", "123456789"), mismatch("GB"));
        let message = validate_vat_id("GR", "094279805").map_err(|e| e.to_string());
        assert_eq!(
            message,
            Err(
                "the VAT ID must start with `EL`, the VAT prefix of the account's country"
                    .to_owned()
            )
        );
    }

    #[test]
    fn bad_formats_name_the_expected_format() {
        let bad = [
            ("DE", "DE13669597", "DE + 9 digits"),
            ("DE", "DE13669597A", "DE + 9 digits"),
            ("BE", "BE2202239951", "BE + 10 digits, starting with 0 or 1"),
            (
                "NL",
                "NL004495445B00",
                "NL + 9 digits + B + 2 digits (not B00)",
            ),
            (
                "NL",
                "NL004495445X01",
                "NL + 9 digits + B + 2 digits (not B00)",
            ),
            (
                "FR",
                "FRIO334175221",
                "FR + 2 digits or letters (not I or O) + 9 digits",
            ),
            ("EE", "EE200931558", "EE + 9 digits, starting with 10"),
            ("SE", "SE202100500002", "SE + 12 digits, ending in 01"),
            ("GR", "EL09427980", "EL + 9 digits"),
            (
                "IE",
                "IE64334351",
                "IE + 7 digits and 1 or 2 letters (or the older digit, letter, 5 digits, letter)",
            ),
            ("RO", "RO12345678901", "RO + 2 to 10 digits"),
            ("DE", "DE1366959₇6", "DE + 9 digits"),
        ];
        for (country, id, hint) in bad {
            let expected = VatIdError::BadFormat {
                country: country.to_owned(),
                hint,
            };
            assert_eq!(validate_vat_id(country, id), Err(expected.clone()), "{id}");
            assert!(expected.to_string().ends_with(hint));
        }
        let spanish = validate_vat_id("ES", "ES123456789");
        assert!(
            matches!(spanish, Err(VatIdError::BadFormat { .. })),
            "{spanish:?}"
        );
        let spanish = validate_vat_id("ES", "EST2818015F");
        assert!(
            matches!(spanish, Err(VatIdError::BadFormat { .. })),
            "{spanish:?}"
        );
    }

    #[test]
    fn great_britain_needs_gb_and_9_or_12_digits() {
        assert_eq!(
            validate_vat_id("GB", "GB 123 4567 89"),
            Ok("GB123456789".to_owned())
        );
        assert_eq!(
            validate_vat_id("gb", "gb123456789012"),
            Ok("GB123456789012".to_owned())
        );
        for id in ["GB12345678", "GB1234567890", "GBGD001"] {
            assert_eq!(
                validate_vat_id("GB", id),
                Err(VatIdError::BadFormat {
                    country: "GB".to_owned(),
                    hint: "GB + 9 or 12 digits"
                }),
                "{id}"
            );
        }
    }

    #[test]
    fn other_countries_accept_any_short_alphanumeric_tax_id() {
        assert_eq!(
            validate_vat_id("US", "12-3456789"),
            Ok("123456789".to_owned())
        );
        assert_eq!(
            validate_vat_id("CH", "CHE-123.456.789 MWST"),
            Ok("CHE123456789MWST".to_owned())
        );
        assert_eq!(
            validate_vat_id("NO", "no 923 609 016 mva"),
            Ok("NO923609016MVA".to_owned())
        );
        // Starts like a German ID but is not one: just a foreign tax ID.
        assert_eq!(
            validate_vat_id("US", "DE136695977"),
            Ok("DE136695977".to_owned())
        );
        let too_long = "1".repeat(21);
        for id in ["1", "", "12/345", too_long.as_str()] {
            assert_eq!(
                validate_vat_id("us", id),
                Err(VatIdError::BadFormat {
                    country: "US".to_owned(),
                    hint: "2 to 20 letters or digits"
                }),
                "{id}"
            );
        }
    }

    #[test]
    fn a_valid_eu_id_on_a_non_eu_account_points_at_the_country() {
        assert_eq!(validate_vat_id("US", "DE136695976"), Err(VatIdError::NotEu));
        assert_eq!(validate_vat_id("CH", "EL094279805"), Err(VatIdError::NotEu));
        assert!(VatIdError::NotEu.to_string().contains("account's country"));
    }
}
