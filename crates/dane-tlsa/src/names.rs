//! Checking the leaf certificate's names against reference identifiers (RFC 7671 5.2 for
//! DANE-TA, following RFC 6125 6.4): DNS subject alternative names; a wildcard only as the
//! whole leftmost label; the subject common name only when there is no DNS SAN.

use x509_parser::certificate::X509Certificate;
use x509_parser::extensions::GeneralName;

/// The names a certificate presents for DNS matching, lowercased, without trailing dots.
pub(crate) fn presented_names(cert: &X509Certificate<'_>) -> Result<Vec<String>, String> {
    let san = cert
        .subject_alternative_name()
        .map_err(|e| format!("subjectAltName does not parse: {e}"))?;
    let dns: Vec<String> = san
        .map(|ext| {
            ext.value
                .general_names
                .iter()
                .filter_map(|g| match g {
                    GeneralName::DNSName(n) => Some(clean(n)),
                    _ => None,
                })
                .collect()
        })
        .unwrap_or_default();
    if !dns.is_empty() {
        return Ok(dns);
    }
    // RFC 6125 6.4.4: the CN is a fallback only when no DNS SAN is present.
    Ok(cert
        .subject()
        .iter_common_name()
        .filter_map(|cn| cn.as_str().ok())
        .map(clean)
        .collect())
}

fn clean(name: &str) -> String {
    name.strip_suffix('.').unwrap_or(name).to_ascii_lowercase()
}

/// Whether a presented name matches one (normalised) reference identifier.
pub(crate) fn name_matches(presented: &str, reference: &str) -> bool {
    if let Some(rest) = presented.strip_prefix("*.") {
        // RFC 6125 6.4.3: the wildcard is the entire leftmost label and matches exactly one
        // label; like OpenSSL, demand at least two labels after it (no `*.com`).
        if rest.contains('*') || rest.split('.').count() < 2 || rest.split('.').any(str::is_empty) {
            return false;
        }
        return match reference.split_once('.') {
            Some((first, parent)) => !first.is_empty() && parent == rest,
            None => false,
        };
    }
    !presented.contains('*') && presented == reference
}

#[cfg(test)]
mod tests {
    use super::name_matches;

    #[test]
    fn matching_rules() {
        fn check(presented: &str, reference: &str, expected: bool) {
            assert_eq!(
                name_matches(presented, reference),
                expected,
                "{presented} vs {reference}"
            );
        }
        check("mx1.example.test", "mx1.example.test", true);
        check("mx1.example.test", "mx2.example.test", false);
        check("*.mail.example.test", "a.mail.example.test", true);
        check("*.mail.example.test", "mail.example.test", false);
        check("*.mail.example.test", "a.b.mail.example.test", false);
        check("*.example", "a.example", false);
        check("f*.example.test", "foo.example.test", false);
        check("*foo.example.test", "afoo.example.test", false);
        check("a.*.example.test", "a.b.example.test", false);
        check("*.*.example.test", "a.b.example.test", false);
        check("*.example.test", "*.example.test", true);
        check("*.example.test", ".example.test", false);
    }
}
