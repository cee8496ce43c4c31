//! Flow records on one line, written by hand: a report of 200,000 flows is 200 MB of JSON,
//! and serde_json escapes each of a record's 38 keys as if it could hold a quote. The bytes
//! are serde_json's, exactly (tests compare them on every bundled capture and on records
//! made to be awkward); the indented report still goes through serde.

use std::net::IpAddr;

use super::json::FlowRecord;

/// Appends `rec` as `serde_json::to_writer` writes it.
pub fn write(out: &mut Vec<u8>, rec: &FlowRecord<'_>) {
    let mut num = itoa::Buffer::new();
    let mut int = |out: &mut Vec<u8>, key: &[u8], v: u64| {
        out.extend_from_slice(key);
        out.extend_from_slice(num.format(v).as_bytes());
    };
    int(out, b"{\"id\":", u64::from(rec.id));
    out.extend_from_slice(b",\"proto\":");
    string(out, rec.proto);
    out.extend_from_slice(b",\"client\":");
    ip(out, rec.client);
    int(out, b",\"client_port\":", u64::from(rec.client_port));
    out.extend_from_slice(b",\"server\":");
    ip(out, rec.server);
    int(out, b",\"server_port\":", u64::from(rec.server_port));
    out.extend_from_slice(b",\"first_ts\":\"");
    rec.first_ts.write_to(out);
    out.extend_from_slice(b"\",\"last_ts\":\"");
    rec.last_ts.write_to(out);
    out.extend_from_slice(b"\",\"duration_s\":");
    float(out, rec.duration_s);
    int(out, b",\"first_frame\":", rec.first_frame);
    int(out, b",\"packets_up\":", rec.packets_up);
    int(out, b",\"packets_down\":", rec.packets_down);
    int(out, b",\"bytes_up\":", rec.bytes_up);
    int(out, b",\"bytes_down\":", rec.bytes_down);
    out.extend_from_slice(b",\"sni\":");
    opt_string(out, rec.sni);
    out.extend_from_slice(b",\"alpn\":");
    strings(out, rec.alpn.iter().map(String::as_str));
    out.extend_from_slice(b",\"tls_version\":");
    opt_string(out, rec.tls_version.as_deref());
    out.extend_from_slice(b",\"tls_offered_versions\":");
    strings(out, rec.tls_offered_versions.iter().map(|v| v.as_ref()));
    out.extend_from_slice(b",\"tls_server_version\":");
    opt_string(out, rec.tls_server_version.as_deref());
    out.extend_from_slice(b",\"tls_partial\":");
    boolean(out, rec.tls_partial);
    out.extend_from_slice(b",\"hostname\":");
    opt_string(out, rec.hostname);
    out.extend_from_slice(b",\"name_source\":");
    string(out, rec.name_source);
    out.extend_from_slice(b",\"dns_chain\":");
    strings(out, rec.dns_chain.iter().map(String::as_str));
    out.extend_from_slice(b",\"provider\":");
    opt_string(out, rec.provider);
    out.extend_from_slice(b",\"role\":");
    string(out, rec.role);
    out.extend_from_slice(b",\"registry\":");
    opt_string(out, rec.registry);
    out.extend_from_slice(b",\"region\":");
    opt_string(out, rec.region);
    out.extend_from_slice(b",\"account\":");
    opt_string(out, rec.account);
    out.extend_from_slice(b",\"via_private_link\":");
    boolean(out, rec.via_private_link);
    out.extend_from_slice(b",\"scope\":");
    string(out, rec.scope);
    out.extend_from_slice(b",\"well_known\":");
    opt_string(out, rec.well_known);
    out.extend_from_slice(b",\"service_tags\":");
    strings(out, rec.service_tags.iter().copied());
    out.extend_from_slice(b",\"client_by\":");
    string(out, rec.client_by.as_str());
    out.extend_from_slice(b",\"tcp_state\":");
    string(out, rec.tcp_state);
    out.extend_from_slice(b",\"truncated\":");
    boolean(out, rec.truncated);
    int(out, b",\"interface\":", u64::from(rec.interface));
    out.extend_from_slice(b",\"ifindex\":");
    match rec.ifindex {
        Some(i) => out.extend_from_slice(itoa::Buffer::new().format(i).as_bytes()),
        None => out.extend_from_slice(b"null"),
    }
    out.push(b'}');
}

fn boolean(out: &mut Vec<u8>, b: bool) {
    out.extend_from_slice(if b { b"true" } else { b"false" });
}

/// serde_json writes finite floats with ryu and the others as null.
fn float(out: &mut Vec<u8>, v: f64) {
    if v.is_finite() {
        out.extend_from_slice(ryu::Buffer::new().format_finite(v).as_bytes());
    } else {
        out.extend_from_slice(b"null");
    }
}

fn ip(out: &mut Vec<u8>, a: IpAddr) {
    out.push(b'"');
    match a {
        IpAddr::V4(v4) => {
            let mut num = itoa::Buffer::new();
            for (i, o) in v4.octets().into_iter().enumerate() {
                if i > 0 {
                    out.push(b'.');
                }
                out.extend_from_slice(num.format(o).as_bytes());
            }
        }
        // Rare enough to go through Display (which knows the shortest form).
        IpAddr::V6(v6) => {
            use std::io::Write;
            let _ = write!(out, "{v6}");
        }
    }
    out.push(b'"');
}

fn opt_string(out: &mut Vec<u8>, s: Option<&str>) {
    match s {
        Some(s) => string(out, s),
        None => out.extend_from_slice(b"null"),
    }
}

fn strings<'s>(out: &mut Vec<u8>, items: impl Iterator<Item = &'s str>) {
    out.push(b'[');
    for (i, s) in items.enumerate() {
        if i > 0 {
            out.push(b',');
        }
        string(out, s);
    }
    out.push(b']');
}

/// A JSON string escaped as serde_json escapes it: `"`, `\` and the control characters below
/// 0x20 (the usual ones by letter, the rest as `\u00XX`); everything else as it is.
fn string(out: &mut Vec<u8>, s: &str) {
    out.push(b'"');
    let bytes = s.as_bytes();
    // Names and versions almost never need escaping: check the whole string in one pass the
    // compiler can vectorise before going byte by byte.
    let plain = !bytes.iter().fold(false, |any, &b| any | (b < 0x20) | (b == b'"') | (b == b'\\'));
    if plain {
        out.extend_from_slice(bytes);
    } else {
        let mut start = 0;
        for (i, &b) in bytes.iter().enumerate() {
            let short: &[u8] = match b {
                b'"' => b"\\\"",
                b'\\' => b"\\\\",
                0x08 => b"\\b",
                0x0c => b"\\f",
                b'\n' => b"\\n",
                b'\r' => b"\\r",
                b'\t' => b"\\t",
                0..=0x1f => b"",
                _ => continue,
            };
            out.extend_from_slice(&bytes[start..i]);
            start = i + 1;
            if short.is_empty() {
                const HEX: &[u8; 16] = b"0123456789abcdef";
                out.extend_from_slice(&[b'\\', b'u', b'0', b'0', HEX[usize::from(b >> 4)], HEX[usize::from(b & 0xf)]]);
            } else {
                out.extend_from_slice(short);
            }
        }
        out.extend_from_slice(&bytes[start..]);
    }
    out.push(b'"');
}

#[cfg(test)]
mod tests {
    use std::borrow::Cow;

    use super::*;
    use crate::flow::ClientBy;
    use crate::output::time::Rfc3339Us;

    fn awkward_strings() -> Vec<String> {
        let mut v: Vec<String> = (0u8..0x20).map(|b| format!("a{}b", b as char)).collect();
        v.extend(
            [
                "",
                "\"",
                "\\",
                "\"quoted\\path\"",
                "\u{7f}",
                "é.example",
                "名前.jp",
                "\u{2028}",
                "x".repeat(300).as_str(),
            ]
            .map(String::from),
        );
        v
    }

    fn check(rec: &FlowRecord<'_>) {
        let mut got = Vec::new();
        write(&mut got, rec);
        let expected = serde_json::to_vec(rec).unwrap();
        assert!(
            got == expected,
            "\n got: {}\nwant: {}",
            String::from_utf8_lossy(&got),
            String::from_utf8_lossy(&expected)
        );
    }

    fn record<'a>(strings: &'a [String], chain: &'a [String]) -> FlowRecord<'a> {
        FlowRecord {
            id: u32::MAX,
            proto: "tcp",
            client: "10.0.0.1".parse().unwrap(),
            client_port: 0,
            server: "2001:db8::1".parse().unwrap(),
            server_port: u16::MAX,
            first_ts: Rfc3339Us(0),
            last_ts: Rfc3339Us(-1_000),
            duration_s: 0.1 + 0.2,
            first_frame: u64::MAX,
            packets_up: 1,
            packets_down: 0,
            bytes_up: 1 << 40,
            bytes_down: 7,
            sni: strings.first().map(String::as_str),
            alpn: strings,
            tls_version: Some(Cow::Borrowed("TLS 1.3")),
            tls_offered_versions: vec![Cow::Owned("0x7a7a".into()), Cow::Borrowed("TLS 1.2")],
            tls_server_version: None,
            tls_partial: true,
            hostname: strings.last().map(String::as_str),
            name_source: "sni",
            dns_chain: chain,
            provider: None,
            role: "acr-login",
            registry: Some("r\"eg"),
            region: None,
            account: Some(""),
            via_private_link: false,
            scope: "private",
            well_known: Some("Azure platform DNS"),
            service_tags: vec!["AzureContainerRegistry.WestEurope", "x\\y"],
            client_by: ClientBy::Port,
            tcp_state: "closed",
            truncated: false,
            interface: 3,
            ifindex: Some(7),
        }
    }

    #[test]
    fn awkward_records_match_serde_json() {
        let strings = awkward_strings();
        for s in &strings {
            let one = std::slice::from_ref(s);
            check(&record(one, one));
        }
        let mut rec = record(&strings, &strings);
        check(&rec);
        for (d, a, b) in [
            (f64::NAN, "::", "0.0.0.0"),
            (f64::INFINITY, "::ffff:1.2.3.4", "255.255.255.255"),
            (-0.0, "fe80::1", "1.2.3.4"),
        ] {
            rec.duration_s = d;
            rec.client = a.parse().unwrap();
            rec.server = b.parse().unwrap();
            rec.client_by = ClientBy::Handshake;
            rec.ifindex = None;
            rec.first_ts = Rfc3339Us(i64::MIN);
            rec.last_ts = Rfc3339Us(i64::MAX);
            check(&rec);
        }
        for ns in [1, 999, 1_000, 951_782_400_000_000_000, 4_102_444_800_000_000_000, -2_208_988_800_000_000_000] {
            rec.first_ts = Rfc3339Us(ns);
            rec.duration_s = ns as f64 / 1e9;
            check(&rec);
        }
    }
}
