//! The check-digit algorithms of the member states whose IDs are checked beyond their format
//! (AT, BE, DE, ES, FR, IT, NL, PL).

/// Runs the state's check-digit rule on a number that already has the state's format.
/// States without an implemented rule pass.
pub(super) fn check_digit_ok(state: &str, number: &str) -> bool {
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
pub(super) fn digits(value: &str) -> Vec<u32> {
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
pub(super) fn netherlands_11_test(d: &[u32]) -> bool {
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
pub(super) fn mod_97(value: &str) -> u32 {
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
