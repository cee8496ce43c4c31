//! What a probe saw, check by check: the data every view of a probe (text, JSON, findings)
//! reads. Filled by the checks, never changed after.

use std::net::IpAddr;

use serde::Serialize;

use crate::analysis::Finding;
use crate::classify::rules::Role;

/// One DNS question and its answer.
#[derive(Debug, Clone, Serialize)]
pub struct DnsAnswer {
    /// The name asked, as given.
    pub name: String,
    pub qtype: String,
    /// `dns`, or `/etc/hosts` when the name is listed there (the runtime asks no server then).
    pub source: &'static str,
    /// `NOERROR`, `NXDOMAIN`…; absent when no server answered.
    pub rcode: Option<&'static str>,
    /// The name asked, then each CNAME target in turn.
    pub chain: Vec<String>,
    pub addresses: Vec<IpAddr>,
    pub ms: f64,
    pub server: Option<IpAddr>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Not asked: the time (`--timeout`) ran out before.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub not_run: bool,
}

impl DnsAnswer {
    pub fn new(name: &str, qtype: String) -> DnsAnswer {
        DnsAnswer {
            name: name.trim_end_matches('.').to_ascii_lowercase(),
            qtype,
            source: "dns",
            rcode: None,
            chain: Vec::new(),
            addresses: Vec::new(),
            ms: 0.0,
            server: None,
            error: None,
            not_run: false,
        }
    }
}

/// How a step ended: `ok`, or what stopped it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Outcome {
    Ok,
    Timeout,
    Refused,
    Unreachable,
    /// The peer reset the connection (during TLS: after the ClientHello).
    Reset,
    /// The peer closed the connection without a word.
    Closed,
    /// The peer (or this probe) ended TLS with an alert.
    Alert,
    /// The certificate did not verify against the trusted roots.
    Untrusted,
    /// Not started: the time (`--timeout`) ran out before it.
    NotRun,
    Error,
}

impl Outcome {
    /// In words: `timed out`, `refused`, …
    pub fn word(self) -> &'static str {
        match self {
            Outcome::Ok => "ok",
            Outcome::Timeout => "timed out",
            Outcome::Refused => "refused",
            Outcome::Unreachable => "unreachable",
            Outcome::Reset => "reset",
            Outcome::Closed => "closed",
            Outcome::Alert => "alert",
            Outcome::Untrusted => "untrusted",
            Outcome::NotRun => "not run (the time ran out)",
            Outcome::Error => "failed",
        }
    }
}

/// TCP connect to one address (or to the proxy).
#[derive(Debug, Clone, Serialize)]
pub struct Connect {
    pub outcome: Outcome,
    pub ms: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Kernel's view of the connection once the probe is done with it (`TCP_INFO`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tcp: Option<TcpInfo>,
}

#[derive(Debug, Clone, Copy, Serialize)]
pub struct TcpInfo {
    pub rtt_ms: f64,
    pub rtt_var_ms: f64,
    /// Segments sent again, SYNs included.
    pub retransmits: u32,
    pub mss: u32,
}

/// `CONNECT host:port` through the proxy.
#[derive(Debug, Clone, Serialize)]
pub struct Tunnel {
    pub proxy: String,
    pub outcome: Outcome,
    pub ms: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status_line: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub proxy_authenticate: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// The server's certificate, as far as it could be read.
#[derive(Debug, Clone, Serialize)]
pub struct Cert {
    pub subject_cn: Option<String>,
    pub issuer: String,
    pub issuer_cn: Option<String>,
    pub issuer_o: Option<String>,
    pub san: Vec<String>,
    /// Whether the `[[issuer]]` rules expect this issuer for the host's provider; `None` when
    /// they list none for it.
    pub issuer_expected: Option<bool>,
}

/// One certificate of the chain: who it is and who signed it (distinguished names).
#[derive(Debug, Clone, Serialize)]
pub struct ChainCert {
    pub subject: String,
    pub issuer: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Tls {
    pub outcome: Outcome,
    pub ms: f64,
    pub version: Option<String>,
    pub alpn: Option<String>,
    /// Whether the chain verified against the platform's roots (and `--ca-file`).
    pub verified: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub verify_error: Option<String>,
    pub certificate: Option<Cert>,
    /// Every certificate the server sent, leaf first, as it sent them (verified or not).
    pub chain: Vec<ChainCert>,
    /// A fatal alert, by its name, and who sent it (`server` or `probe`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub alert: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// One HTTP request and what came back.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Http {
    pub request: String,
    pub status: Option<u16>,
    pub status_line: Option<String>,
    /// Time to the response's first byte.
    pub ms: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub server: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub www_authenticate: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// Everything tried against one address of an endpoint (through the proxy: the proxy's).
#[derive(Debug, Clone, Serialize)]
pub struct AddressCheck {
    pub address: IpAddr,
    pub port: u16,
    pub connect: Connect,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tunnel: Option<Tunnel>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tls: Option<Tls>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub http: Option<Http>,
}

impl AddressCheck {
    /// Whether a TLS session was set up with a certificate a runtime would accept.
    pub fn usable(&self) -> bool {
        self.tls.as_ref().is_some_and(|t| t.outcome == Outcome::Ok && t.verified)
    }
}

/// One host a pull needs, and every check of it.
#[derive(Debug, Clone, Serialize)]
pub struct EndpointCheck {
    pub host: String,
    pub role: Role,
    /// Why the probe looked at it: `login server`, `dedicated data endpoint`, …
    pub why: &'static str,
    pub registry: Option<String>,
    pub region: Option<String>,
    pub dns: Vec<DnsAnswer>,
    pub addresses: Vec<AddressCheck>,
    /// One line: `ok`, or what is wrong (the worst finding's gist).
    pub verdict: String,
    pub ok: bool,
}

impl EndpointCheck {
    /// Whether the time ran out before any of its checks began.
    pub fn not_run(&self) -> bool {
        self.dns.iter().all(|d| d.not_run) && self.addresses.iter().all(|a| a.connect.outcome == Outcome::NotRun)
    }

    /// The CNAME chain of the first answer that has one (A, then AAAA).
    pub fn chain(&self) -> &[String] {
        self.dns.iter().map(|d| d.chain.as_slice()).find(|c| c.len() > 1).unwrap_or(&[])
    }
}

/// `--image`: the manifest, its first layer, and where the layer came from.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ImageCheck {
    pub reference: String,
    pub token: Option<Http>,
    pub manifest: Option<Http>,
    pub layer_digest: Option<String>,
    pub blob: Option<Http>,
    /// The host the layer's 307 sent the client to.
    pub redirect_host: Option<String>,
    pub download: Option<Download>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// The bounded range of the first layer, downloaded.
#[derive(Debug, Clone, Serialize)]
pub struct Download {
    pub bytes: u64,
    pub ms_to_first_byte: f64,
    pub seconds: f64,
    pub mbit_per_s: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tcp: Option<TcpInfo>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// The whole probe (docs/json.md, "acrscope probe").
#[derive(Debug, Clone, Serialize)]
pub struct ProbeReport {
    pub registry: String,
    pub login_server: String,
    pub resolvers: Vec<std::net::SocketAddr>,
    pub proxy: Option<String>,
    pub timeout_s: f64,
    pub elapsed_s: f64,
    pub findings: Vec<Finding>,
    /// What the probe could not check, and why.
    pub notes: Vec<String>,
    pub endpoints: Vec<EndpointCheck>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub image: Option<ImageCheck>,
}
