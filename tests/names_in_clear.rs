//! Names read in clear besides TLS over TCP: the ClientHello of QUIC Initial packets, the Host
//! of plain HTTP, the target of a CONNECT to a proxy; through the session, the naming, the
//! analysis and both reports.

mod common;

use acrscope::analysis::{findings::FindingKind, Analysis, Analyzer};
use acrscope::output::{json, text};
use acrscope::session::naming::NameSource;
use acrscope::session::Session;
use common::{session_of, tcp, udp};

const CLIENT: [u8; 4] = [10, 1, 0, 4];
const SERVER: [u8; 4] = [40, 79, 197, 136];
const PROXY: [u8; 4] = [10, 0, 0, 10];

fn unhex(s: &str) -> Vec<u8> {
    let s: String = s.chars().filter(|c| c.is_ascii_hexdigit()).collect();
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect()
}

/// Both reports of a session, as text.
fn reports(s: &Session) -> (Analysis, String, serde_json::Value) {
    let a = Analyzer::default().analyze(s);
    let info = json::CaptureInfo::default();
    let t = text::report(s, &a, &info);
    let mut out = Vec::new();
    json::write(&mut out, &json::build(s, &a, &info), false).unwrap();
    let raw = String::from_utf8(out).unwrap();
    let doc: serde_json::Value = serde_json::from_str(&raw).unwrap();
    (a, t + &raw, doc)
}

#[test]
fn quic_v1_initial_names_the_flow() {
    let initial = unhex(include_str!("../src/dissect/testdata/rfc9001-a2-client-initial.hex"));
    let s = session_of(&[(0.0, udp(CLIENT, 50000, SERVER, 443, &initial))]);
    assert_eq!(s.stats.quic_client_hellos, 1);
    assert_eq!(s.stats.tls_client_hellos, 0);
    let n = s.name_flow(0);
    assert_eq!((n.hostname.as_deref(), n.source), (Some("example.com"), NameSource::QuicSni));
    let (_, _, doc) = reports(&s);
    let f = &doc["flows"][0];
    assert_eq!(f["sni"], "example.com");
    assert_eq!(f["name_source"], "quic-sni");
    assert_eq!(f["quic_version"], "0x00000001");
    assert_eq!(f["alpn"][0], "alpn");
}

#[test]
fn undecryptable_quic_initial_is_counted_not_named() {
    let mut initial = unhex(include_str!("../src/dissect/testdata/rfc9001-a2-client-initial.hex"));
    initial[700] ^= 0x55;
    let s = session_of(&[(0.0, udp(CLIENT, 50000, SERVER, 443, &initial))]);
    assert_eq!(s.stats.quic_undecryptable, 1);
    assert_eq!(s.stats.warnings.get("quic-undecryptable"), Some(&1));
    assert_eq!(s.name_flow(0).source, NameSource::None);
}

#[test]
fn plain_http_request_over_three_segments_names_the_flow() {
    let req: &[u8] = b"GET /v2/ HTTP/1.1\r\nHost: Registry.Example:5000\r\nUser-Agent: docker/27\r\n\r\n";
    let p = vec![
        (0.0, tcp(CLIENT, 40000, SERVER, 5000, 100, true, &[])),
        (0.1, tcp(CLIENT, 40000, SERVER, 5000, 101, false, &req[..7])),
        (0.2, tcp(CLIENT, 40000, SERVER, 5000, 108, false, &req[7..30])),
        (0.3, tcp(CLIENT, 40000, SERVER, 5000, 131, false, &req[30..])),
        (0.4, tcp(SERVER, 5000, CLIENT, 40000, 9000, false, b"HTTP/1.1 401 Unauthorized\r\nServer: registry\r\n\r\n")),
    ];
    let s = session_of(&p);
    let n = s.name_flow(0);
    assert_eq!((n.hostname.as_deref(), n.source), (Some("registry.example"), NameSource::HttpHost));
    let (a, _, doc) = reports(&s);
    let f = &doc["flows"][0];
    assert_eq!(f["http_host"], "registry.example");
    assert_eq!(f["http_method"], "GET");
    assert_eq!(f["http_path"], "/v2/");
    assert_eq!(f["http_status"], 401);
    assert_eq!(f["http_connect"], serde_json::Value::Null);
    assert_eq!(f["proxy"], serde_json::Value::Null);
    // The registry API in clear, under a name no rule knows: still a registry in plain HTTP.
    let w = a.findings.iter().find(|f| f.kind() == FindingKind::PlainHttpRegistry).expect("plain-http-registry");
    assert_eq!(w.hosts, ["registry.example"]);
}

/// A registry's 307 to its storage account, with a SAS token in the Location and in the next
/// request's query: the token appears nowhere in either report.
#[test]
fn sas_tokens_never_reach_a_report() {
    let req: &[u8] =
        b"GET /v2/hello/blobs/sha256:abcd?sig=SECRETREQ HTTP/1.1\r\nHost: fabrikamreg.azurecr.io\r\nAuthorization: Bearer SECRETBEARER\r\n\r\n";
    let resp: &[u8] = b"HTTP/1.1 307 Temporary Redirect\r\nLocation: https://jpeacrprod0st17.blob.core.windows.net/docker/registry/v2/blobs/data?sv=2020-04-08&se=2026-12-01&sr=b&sp=r&sig=SECRET%2Bsig%3D\r\nServer: nginx\r\n\r\n";
    let p = vec![
        (0.0, tcp(CLIENT, 40001, SERVER, 80, 500, true, &[])),
        (0.1, tcp(CLIENT, 40001, SERVER, 80, 501, false, req)),
        (0.2, tcp(SERVER, 80, CLIENT, 40001, 7000, false, resp)),
    ];
    let s = session_of(&p);
    let (a, all, doc) = reports(&s);
    for secret in ["SECRET", "sig=", "Bearer"] {
        assert!(!all.contains(secret), "{secret} in a report:\n{all}");
    }
    let f = &doc["flows"][0];
    assert_eq!(f["http_path"], "/v2/hello/blobs/sha256:abcd");
    assert_eq!(f["http_status"], 307);
    assert_eq!(f["http_location_host"], "jpeacrprod0st17.blob.core.windows.net");
    assert_eq!(f["name_source"], "http-host");
    // Classified like its TLS twin.
    assert_eq!(f["role"], "acr-login");
    assert_eq!(f["registry"], "fabrikamreg");
    let w = a.findings.iter().find(|f| f.kind() == FindingKind::PlainHttpRegistry).expect("plain-http-registry");
    assert_eq!(w.registry.as_deref(), Some("fabrikamreg"));
    assert!(w.message.contains("in clear"), "{}", w.message);
}

/// A CONNECT split over two segments to a proxy on a port of its own, answered 407 with
/// Proxy-Authenticate: named by the target, classified by it, the proxy recorded.
#[test]
fn connect_split_over_two_segments_and_407() {
    let req: &[u8] = b"CONNECT fabrikamreg.azurecr.io:443 HTTP/1.1\r\nHost: fabrikamreg.azurecr.io:443\r\n\r\n";
    let resp: &[u8] = b"HTTP/1.1 407 Proxy Authentication Required\r\nServer: squid/5.7\r\nProxy-Authenticate: Basic realm=\"corp proxy\"\r\nContent-Length: 0\r\n\r\n";
    let p = vec![
        (0.0, tcp(CLIENT, 40002, PROXY, 8080, 1, true, &[])),
        (0.1, tcp(CLIENT, 40002, PROXY, 8080, 2, false, &req[..20])),
        (0.2, tcp(CLIENT, 40002, PROXY, 8080, 22, false, &req[20..])),
        (0.3, tcp(PROXY, 8080, CLIENT, 40002, 3000, false, resp)),
    ];
    let s = session_of(&p);
    let n = s.name_flow(0);
    assert_eq!((n.hostname.as_deref(), n.source), (Some("fabrikamreg.azurecr.io"), NameSource::HttpConnect));
    let (a, all, doc) = reports(&s);
    let f = &doc["flows"][0];
    assert_eq!(f["role"], "acr-login");
    assert_eq!(f["proxy"], "10.0.0.10:8080");
    let c = &f["http_connect"];
    assert_eq!(c["target"], "fabrikamreg.azurecr.io:443");
    assert_eq!(c["status"], 407);
    assert_eq!(c["status_line"], "HTTP/1.1 407 Proxy Authentication Required");
    assert_eq!(c["proxy_authenticate"], "Basic realm=\"corp proxy\"");
    assert_eq!(c["proxy_server"], "squid/5.7");
    assert!(all.contains("CONNECT fabrikamreg.azurecr.io:443 via 10.0.0.10:8080"), "{all}");
    // A CONNECT is not the registry in clear: TLS runs inside the tunnel.
    assert!(a.findings.iter().all(|f| f.kind() != FindingKind::PlainHttpRegistry));
}

/// After `200 Connection established` the tunnel carries TLS: the ClientHello is read.
#[test]
fn connect_tunnel_client_hello_is_read() {
    let req: &[u8] = b"CONNECT Fabrikamreg.AzureCR.io:443 HTTP/1.1\r\nHost: fabrikamreg.azurecr.io:443\r\n\r\n";
    let ok: &[u8] = b"HTTP/1.1 200 Connection established\r\n\r\n";
    let hello = common::client_hello("fabrikamreg.azurecr.io");
    let p = vec![
        (0.0, tcp(CLIENT, 40003, PROXY, 3128, 10, true, &[])),
        (0.1, tcp(CLIENT, 40003, PROXY, 3128, 11, false, req)),
        (0.2, tcp(PROXY, 3128, CLIENT, 40003, 5000, false, ok)),
        (0.3, tcp(CLIENT, 40003, PROXY, 3128, 11 + req.len() as u32, false, &hello)),
    ];
    let s = session_of(&p);
    assert_eq!(s.stats.tls_client_hellos, 1);
    let (_, _, doc) = reports(&s);
    let f = &doc["flows"][0];
    assert_eq!(f["sni"], "fabrikamreg.azurecr.io");
    assert_eq!(f["hostname"], "fabrikamreg.azurecr.io");
    assert_eq!(f["name_source"], "http-connect");
    assert_eq!(f["http_connect"]["status"], 200);
    assert_eq!(f["role"], "acr-login");
}

/// TLS flows never start an HTTP reader.
#[test]
fn tls_flow_has_no_http_facts() {
    let hello = common::client_hello("example.org");
    let p = vec![
        (0.0, tcp(CLIENT, 40004, SERVER, 443, 10, true, &[])),
        (0.1, tcp(CLIENT, 40004, SERVER, 443, 11, false, &hello)),
        (0.2, tcp(CLIENT, 40004, SERVER, 443, 11 + hello.len() as u32, false, b"GET / HTTP/1.1\r\n\r\n")),
    ];
    let s = session_of(&p);
    assert!(s.flow(0).facts.http.is_none());
    assert_eq!(s.name_flow(0).source, NameSource::Sni);
}

/// The details pane says how a CONNECT flow was named and what the proxy answered.
#[test]
fn details_pane_shows_the_connect_and_the_proxy_answer() {
    use acrscope::engine::{Shared, SourceStatus};
    use acrscope::ui::ViewKind;
    use acrscope::ui::{buffer_text, render_to_buffer, ViewOptions};
    let req: &[u8] = b"CONNECT jpeacrprod0st17.blob.core.windows.net:443 HTTP/1.1\r\n\r\n";
    let resp: &[u8] = b"HTTP/1.1 403 Forbidden\r\nServer: squid/5.7\r\n\r\n";
    let session = session_of(&[
        (0.0, tcp(CLIENT, 40005, PROXY, 3128, 1, true, &[])),
        (0.1, tcp(CLIENT, 40005, PROXY, 3128, 2, false, req)),
        (0.2, tcp(PROXY, 3128, CLIENT, 40005, 900, false, resp)),
    ]);
    let status = SourceStatus {
        label: "synthetic".into(),
        finished: true,
        start_ns: session.stats.first_ns,
        clock_ns: session.stats.last_ns,
        ..SourceStatus::default()
    };
    let shared = Shared::new(session, status);
    let o = ViewOptions {
        width: 160,
        height: 48,
        view: ViewKind::Flows,
        select: Some("blob.core.windows.net".into()),
        details: true,
        at_ns: None,
        color: false,
        processes: Vec::new(),
    };
    let t = buffer_text(&render_to_buffer(&shared, &Analyzer::default(), &o));
    assert!(t.contains("named by  CONNECT target"), "{t}");
    assert!(t.contains("proxy     CONNECT jpeacrprod0st17.blob.core.windows.net:443 via 10.0.0.10:3128 →"), "{t}");
    assert!(t.contains("HTTP/1.1 403 Forbidden · Server squid/5.7"), "{t}");
}

/// A proxy asks for credentials (407, with a body) and the client asks again on the same
/// connection: the proxy's last answer counts, and the tunnel's ClientHello is read.
#[test]
fn connect_again_after_407_on_the_same_connection() {
    let first: &[u8] = b"CONNECT fabrikamreg.azurecr.io:443 HTTP/1.1\r\nHost: fabrikamreg.azurecr.io:443\r\n\r\n";
    let refused: &[u8] = b"HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm=\"corp\"\r\nContent-Length: 5\r\n\r\ndenied";
    let refused = &refused[..refused.len() - 1];
    let again: &[u8] = b"CONNECT fabrikamreg.azurecr.io:443 HTTP/1.1\r\nProxy-Authorization: Basic U0VDUkVU\r\n\r\n";
    let ok: &[u8] = b"HTTP/1.1 200 Connection established\r\n\r\n";
    let hello = common::client_hello("fabrikamreg.azurecr.io");
    let c0 = 101u32;
    let s0 = 7001u32;
    let p = vec![
        (0.0, tcp(CLIENT, 40006, PROXY, 3128, 100, true, &[])),
        (0.1, tcp(CLIENT, 40006, PROXY, 3128, c0, false, first)),
        (0.2, tcp(PROXY, 3128, CLIENT, 40006, s0, false, refused)),
        (0.3, tcp(CLIENT, 40006, PROXY, 3128, c0 + first.len() as u32, false, again)),
        (0.4, tcp(PROXY, 3128, CLIENT, 40006, s0 + refused.len() as u32, false, ok)),
        (0.5, tcp(CLIENT, 40006, PROXY, 3128, c0 + (first.len() + again.len()) as u32, false, &hello)),
    ];
    let s = session_of(&p);
    let (_, all, doc) = reports(&s);
    let f = &doc["flows"][0];
    assert_eq!(f["http_connect"]["status"], 200, "{f}");
    assert_eq!(f["http_connect"]["status_line"], "HTTP/1.1 200 Connection established");
    assert_eq!(f["sni"], "fabrikamreg.azurecr.io");
    assert_eq!(f["name_source"], "http-connect");
    assert!(!all.contains("U0VDUkVU"), "credentials in a report");
}
