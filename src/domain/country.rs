//! Countries: the ISO 3166-1 alpha-2 codes assigned to a country or territory.
//!
//! Two upper-case letters are not enough: `ZZ` (user-assigned), `EU` (exceptionally
//! reserved) or `UK` would pass a shape check, and an unknown country is a country without
//! VAT. Only the 249 officially assigned codes are accepted.

/// The 249 officially assigned ISO 3166-1 alpha-2 codes, sorted.
pub const ASSIGNED_COUNTRY_CODES: [&str; 249] = [
    "AD", "AE", "AF", "AG", "AI", "AL", "AM", "AO", "AQ", "AR", "AS", "AT", "AU", "AW", "AX", "AZ",
    "BA", "BB", "BD", "BE", "BF", "BG", "BH", "BI", "BJ", "BL", "BM", "BN", "BO", "BQ", "BR", "BS",
    "BT", "BV", "BW", "BY", "BZ", "CA", "CC", "CD", "CF", "CG", "CH", "CI", "CK", "CL", "CM", "CN",
    "CO", "CR", "CU", "CV", "CW", "CX", "CY", "CZ", "DE", "DJ", "DK", "DM", "DO", "DZ", "EC", "EE",
    "EG", "EH", "ER", "ES", "ET", "FI", "FJ", "FK", "FM", "FO", "FR", "GA", "GB", "GD", "GE", "GF",
    "GG", "GH", "GI", "GL", "GM", "GN", "GP", "GQ", "GR", "GS", "GT", "GU", "GW", "GY", "HK", "HM",
    "HN", "HR", "HT", "HU", "ID", "IE", "IL", "IM", "IN", "IO", "IQ", "IR", "IS", "IT", "JE", "JM",
    "JO", "JP", "KE", "KG", "KH", "KI", "KM", "KN", "KP", "KR", "KW", "KY", "KZ", "LA", "LB", "LC",
    "LI", "LK", "LR", "LS", "LT", "LU", "LV", "LY", "MA", "MC", "MD", "ME", "MF", "MG", "MH", "MK",
    "ML", "MM", "MN", "MO", "MP", "MQ", "MR", "MS", "MT", "MU", "MV", "MW", "MX", "MY", "MZ", "NA",
    "NC", "NE", "NF", "NG", "NI", "NL", "NO", "NP", "NR", "NU", "NZ", "OM", "PA", "PE", "PF", "PG",
    "PH", "PK", "PL", "PM", "PN", "PR", "PS", "PT", "PW", "PY", "QA", "RE", "RO", "RS", "RU", "RW",
    "SA", "SB", "SC", "SD", "SE", "SG", "SH", "SI", "SJ", "SK", "SL", "SM", "SN", "SO", "SR", "SS",
    "ST", "SV", "SX", "SY", "SZ", "TC", "TD", "TF", "TG", "TH", "TJ", "TK", "TL", "TM", "TN", "TO",
    "TR", "TT", "TV", "TW", "TZ", "UA", "UG", "UM", "US", "UY", "UZ", "VA", "VC", "VE", "VG", "VI",
    "VN", "VU", "WF", "WS", "YE", "YT", "ZA", "ZM", "ZW",
];

/// Whether `code` is an assigned ISO 3166-1 alpha-2 code, in upper case (`DE`, not `de`).
pub fn is_assigned_country(code: &str) -> bool {
    ASSIGNED_COUNTRY_CODES.binary_search(&code).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_list_is_sorted_unique_and_well_formed() {
        assert!(
            ASSIGNED_COUNTRY_CODES.windows(2).all(|w| w[0] < w[1]),
            "sorted and without duplicates, so the binary search holds"
        );
        assert!(
            ASSIGNED_COUNTRY_CODES
                .iter()
                .all(|c| c.len() == 2 && c.bytes().all(|b| b.is_ascii_uppercase()))
        );
    }

    #[test]
    fn assigned_codes_pass() {
        for code in [
            "DE", "IE", "GR", "GB", "US", "AX", "SS", "BQ", "CW", "SX", "ZW", "AD",
        ] {
            assert!(is_assigned_country(code), "{code}");
        }
    }

    #[test]
    fn unassigned_reserved_and_malformed_codes_fail() {
        // User-assigned (ZZ, XK, AA, QM…), exceptionally reserved (EU, UK, EL as used for
        // Greek VAT IDs), transitionally reserved (AN, YU) and shapes that are not codes.
        for code in [
            "ZZ", "XK", "AA", "QM", "XA", "EU", "UK", "EL", "AN", "YU", "de", "D", "DEU", "", "D1",
        ] {
            assert!(!is_assigned_country(code), "{code}");
        }
    }
}
