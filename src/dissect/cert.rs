//! The server's leaf certificate, as TLS 1.2 and older send it in clear: who it names, who
//! issued it, for how long. Read with x509-parser; nothing is verified (acrscope judges the
//! issuer against what the rules expect, not the signature).

use x509_parser::asn1_rs::Tag;
use x509_parser::extensions::GeneralName;
use x509_parser::prelude::{FromDer, X509Certificate, X509Name};
use x509_parser::x509::AttributeTypeAndValue;

/// Certificates are made by whoever sits on the path; what they say ends up on a terminal and in
/// reports, so each text is cut to this many characters.
const MAX_TEXT: usize = 1024;
/// SANs kept; a CDN certificate may list hundreds, the first ones are enough to recognise it.
const MAX_SANS: usize = 64;

/// What the leaf certificate says.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CertInfo {
    /// Distinguished name, as x509-parser writes it (`CN=..., O=...`, in certificate order).
    pub subject: String,
    pub subject_cn: Option<String>,
    pub issuer: String,
    pub issuer_cn: Option<String>,
    /// Organization (O) of the issuer: expected issuers are matched on it as well as on the CN.
    pub issuer_org: Option<String>,
    /// DNS names of the subjectAltName extension, in certificate order.
    pub san: Vec<String>,
    /// Validity, in seconds since the Unix epoch.
    pub not_before: i64,
    pub not_after: i64,
}

/// Reads one DER certificate. `None` when it is not one x509-parser can read.
pub fn parse_certificate(der: &[u8]) -> Option<CertInfo> {
    let (_, cert) = X509Certificate::from_der(der).ok()?;
    // A SAN extension that does not parse (or appears twice) leaves the list empty: the names
    // and the issuer are still worth reporting.
    let san = match cert.subject_alternative_name() {
        Ok(Some(ext)) => ext
            .value
            .general_names
            .iter()
            .filter_map(|g| match g {
                GeneralName::DNSName(n) => Some(clean(n)),
                _ => None,
            })
            .take(MAX_SANS)
            .collect(),
        _ => Vec::new(),
    };
    let validity = cert.validity();
    let issuer_org = cert.issuer().iter_organization().find_map(attr_text);
    Some(CertInfo {
        subject: clean(&cert.subject().to_string()),
        subject_cn: first_cn(cert.subject()),
        issuer: clean(&cert.issuer().to_string()),
        issuer_cn: first_cn(cert.issuer()),
        issuer_org,
        san,
        not_before: validity.not_before.timestamp(),
        not_after: validity.not_after.timestamp(),
    })
}

fn first_cn(name: &X509Name<'_>) -> Option<String> {
    name.iter_common_name().find_map(attr_text)
}

/// An attribute's text in any string type certificates use: x509-parser's `as_str` reads four
/// of them, and older CAs still write names as T61String or BMPString.
fn attr_text(a: &AttributeTypeAndValue<'_>) -> Option<String> {
    let raw = a.as_slice();
    let text = match a.attr_value().tag() {
        Tag::NumericString | Tag::PrintableString | Tag::Utf8String | Tag::Ia5String | Tag::VisibleString => {
            std::str::from_utf8(raw).ok()?.to_owned()
        }
        // Teletex read as Latin-1, as OpenSSL and tshark show it: in certificates it is that.
        Tag::T61String => raw.iter().map(|&b| char::from(b)).collect(),
        Tag::BmpString => {
            let units: Vec<u16> = raw.chunks_exact(2).map(|c| u16::from_be_bytes([c[0], c[1]])).collect();
            String::from_utf16_lossy(&units)
        }
        Tag::UniversalString => raw
            .chunks_exact(4)
            .map(|c| char::from_u32(u32::from_be_bytes([c[0], c[1], c[2], c[3]])).unwrap_or('\u{fffd}'))
            .collect(),
        _ => return None,
    };
    Some(clean(&text))
}

/// Control characters become U+FFFD, and the text is cut to [`MAX_TEXT`] characters.
fn clean(s: &str) -> String {
    s.chars().take(MAX_TEXT).map(|c| if c.is_control() { '\u{fffd}' } else { c }).collect()
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A leaf for fabrikamreg.azurecr.io issued by "Fabrikam Corp TLS Inspection CA" (made with
    /// `openssl`: CA `CN=Fabrikam Corp TLS Inspection CA, OU=IT Security, O=Fabrikam Corp`, leaf
    /// `CN=fabrikamreg.azurecr.io` with SANs fabrikamreg.azurecr.io, *.azurecr.io, azurecr.io).
    pub(crate) const LEAF: &[u8] = include_bytes!("../../tests/fixtures/tls/leaf.der");
    pub(crate) const CA: &[u8] = include_bytes!("../../tests/fixtures/tls/ca.der");

    #[test]
    fn leaf_names_and_issuer() {
        let c = parse_certificate(LEAF).unwrap();
        assert_eq!(c.subject_cn.as_deref(), Some("fabrikamreg.azurecr.io"));
        assert_eq!(c.subject, "CN=fabrikamreg.azurecr.io");
        assert_eq!(c.issuer_cn.as_deref(), Some("Fabrikam Corp TLS Inspection CA"));
        assert_eq!(c.issuer_org.as_deref(), Some("Fabrikam Corp"));
        assert!(c.issuer.contains("OU=IT Security"), "{}", c.issuer);
        assert_eq!(c.san, ["fabrikamreg.azurecr.io", "*.azurecr.io", "azurecr.io"]);
        assert!(c.not_before < c.not_after);
        // 2020-01-01 < not_before: made recently, valid for a year or so.
        assert!(c.not_before > 1_577_836_800, "{}", c.not_before);
    }

    #[test]
    fn ca_has_no_sans() {
        let c = parse_certificate(CA).unwrap();
        assert_eq!(c.subject_cn.as_deref(), Some("Fabrikam Corp TLS Inspection CA"));
        assert_eq!(c.subject, c.issuer);
        assert!(c.san.is_empty());
    }

    #[test]
    fn cut_or_corrupted_certificates_are_none_not_panics() {
        for n in 0..LEAF.len() {
            assert_eq!(parse_certificate(&LEAF[..n]), None, "prefix {n}");
        }
        let mut x = 0x1234_5678u32;
        for _ in 0..2000 {
            let mut der = LEAF.to_vec();
            for _ in 0..3 {
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                let at = x as usize % der.len();
                der[at] = (x >> 8) as u8;
            }
            let _ = parse_certificate(&der);
        }
    }

    #[test]
    fn names_in_older_string_types() {
        use x509_parser::asn1_rs::{Any, Oid};
        let text = |tag: Tag, data: &[u8]| {
            let any = Any::from_tag_and_data(tag, data);
            attr_text(&AttributeTypeAndValue::new(Oid::from(&[2, 5, 4, 3]).unwrap(), any))
        };
        assert_eq!(text(Tag::T61String, b"*.kakao.com").as_deref(), Some("*.kakao.com"));
        assert_eq!(text(Tag::T61String, &[0x4d, 0xfc, 0x6e]).as_deref(), Some("M\u{fc}n"));
        assert_eq!(text(Tag::BmpString, &[0, b'C', 0, b'A', 0x4e, 0x2d]).as_deref(), Some("CA\u{4e2d}"));
        assert_eq!(text(Tag::UniversalString, &[0, 0, 0, b'x']).as_deref(), Some("x"));
        assert_eq!(text(Tag::PrintableString, b"Fabrikam").as_deref(), Some("Fabrikam"));
        assert_eq!(text(Tag::Utf8String, &[0xff]), None);
        assert_eq!(text(Tag::Integer, &[1]), None);
    }

    #[test]
    fn control_characters_are_replaced_and_text_cut() {
        assert_eq!(clean("a\u{1b}[31mb"), "a\u{fffd}[31mb");
        assert_eq!(clean(&"x".repeat(5000)).len(), MAX_TEXT);
    }
}
