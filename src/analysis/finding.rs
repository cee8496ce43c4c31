//! What a finding is: its kind, how much it matters, what it is about, its words, and the
//! fields of its kind. Each kind is defined once, in the table of `kinds!`: its name and the
//! struct of its own fields; a finding's kind is the kind of its fields.
//!
//! Adding a kind: a line in the table, its fields struct here, and the function that finds it
//! (in `findings.rs` or `failures.rs`) and words its message.

use std::net::IpAddr;

use serde::{Serialize, Serializer};

/// Declares [`FindingKind`] (with its names), [`Fields`] (one variant per kind, holding the
/// kind's struct) and `From` each struct into [`Fields`].
macro_rules! kinds {
    ($($(#[$doc:meta])* $kind:ident = $name:literal;)*) => {
        /// What a finding is about; its name is the `kind` of the JSON and the text report.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum FindingKind {
            $($(#[$doc])* $kind,)*
        }

        impl FindingKind {
            /// Every kind, in order (findings of one severity come in this order).
            pub const ALL: &[FindingKind] = &[$(FindingKind::$kind,)*];

            /// Its name: `connect-timeout`.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(FindingKind::$kind => $name,)*
                }
            }
        }

        /// A finding's own fields, by kind: written after the fields every finding has.
        #[derive(Debug, Clone, PartialEq, Serialize)]
        #[serde(untagged)]
        pub enum Fields {
            $($kind($kind),)*
        }

        impl Fields {
            pub fn kind(&self) -> FindingKind {
                match self {
                    $(Fields::$kind(_) => FindingKind::$kind,)*
                }
            }
        }

        $(impl From<$kind> for Fields {
            fn from(f: $kind) -> Fields {
                Fields::$kind(f)
            }
        })*
    };
}

kinds! {
    /// Layer data came from a storage account (no dedicated data endpoint).
    DataViaStorageAccount = "data-via-storage-account";
    /// Layer data came from a dedicated data endpoint.
    DataViaDedicatedEndpoint = "data-via-dedicated-endpoint";
    PrivateLink = "private-link";
    /// A privatelink alias in the chain, but a public address.
    PrivateLinkResolvedPublicly = "private-link-resolved-publicly";
    UnnamedFlows = "unnamed-flows";
    UnusedDnsAnswers = "unused-dns-answers";
    ConnectTimeout = "connect-timeout";
    ConnectRefused = "connect-refused";
    Unreachable = "unreachable";
    ResetAfterClientHello = "reset-after-client-hello";
    TlsAlert = "tls-alert";
    DnsFailure = "dns-failure";
    PrivateLinkRecordMissing = "private-link-record-missing";
    ProxyRefused = "proxy-refused";
    ViaProxy = "via-proxy";
    TlsIntercepted = "tls-intercepted";
    PlainHttpRegistry = "plain-http-registry";
    /// A registry transfer stopped while the client waited, until the flow or capture ended.
    Stall = "stall";
    /// Full-size server segments never arrived, small ones did, no ICMP said why.
    MtuBlackHole = "mtu-black-hole";
    /// A ClientHello neither answered nor refused until the client gave up.
    TlsHandshakeTimeout = "tls-handshake-timeout";
    /// Layer data that took seconds, and what held it back.
    SlowDownload = "slow-download";
    /// A registry's hosts many milliseconds away.
    FarRegistry = "far-registry";
    /// Connections that connected only after retrying their SYN.
    ConnectRetries = "connect-retries";
    /// Connections over one address family unanswered, then the other family used.
    Ipv6Fallback = "ipv6-fallback";
    /// A registry name answered late, or only after the client asked again.
    DnsSlow = "dns-slow";
    /// A registry request answered with what no registry answers (a proxy's or firewall's
    /// page, a 403, a 404): `acrscope probe`.
    UnexpectedAnswer = "unexpected-answer";
}

impl Serialize for FindingKind {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

/// How much a finding matters to the pull: `error` broke it, `warning` may, `info` explains.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
    Info,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Info => "info",
        }
    }
}

/// What a finding is about: the registry, the hosts and addresses, the traffic summed up.
#[derive(Debug, Clone, Default)]
pub struct About {
    pub registry: Option<String>,
    /// Host names the finding is about.
    pub hosts: Vec<String>,
    pub addresses: Vec<IpAddr>,
    pub bytes: u64,
    pub flows: u64,
}

#[derive(Debug, Clone)]
pub struct Finding {
    pub severity: Severity,
    pub registry: Option<String>,
    pub message: String,
    /// Host names the finding is about.
    pub hosts: Vec<String>,
    pub addresses: Vec<IpAddr>,
    pub bytes: u64,
    pub flows: u64,
    /// Private: the kind is read from it, so it is set once, by [`Finding::new`].
    fields: Fields,
}

impl Finding {
    pub fn new(fields: impl Into<Fields>, severity: Severity, about: About, message: String) -> Finding {
        let About { registry, hosts, addresses, bytes, flows } = about;
        Finding { severity, registry, message, hosts, addresses, bytes, flows, fields: fields.into() }
    }

    pub fn kind(&self) -> FindingKind {
        self.fields.kind()
    }

    pub fn fields(&self) -> &Fields {
        &self.fields
    }
}

/// The JSON of a finding (docs/json.md): `kind` first, then the fields every finding has,
/// then its kind's own.
impl Serialize for Finding {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct Json<'a> {
            kind: FindingKind,
            severity: Severity,
            registry: &'a Option<String>,
            message: &'a str,
            hosts: &'a [String],
            addresses: &'a [IpAddr],
            bytes: u64,
            flows: u64,
            #[serde(flatten)]
            fields: &'a Fields,
        }
        Json {
            kind: self.kind(),
            severity: self.severity,
            registry: &self.registry,
            message: &self.message,
            hosts: &self.hosts,
            addresses: &self.addresses,
            bytes: self.bytes,
            flows: self.flows,
            fields: &self.fields,
        }
        .serialize(serializer)
    }
}

/// Kinds that carry no fields of their own: what they are about says it all.
macro_rules! no_fields {
    ($($kind:ident),*) => {
        $(#[derive(Debug, Clone, PartialEq, Serialize)]
        pub struct $kind;)*
    };
}

no_fields!(
    DataViaStorageAccount,
    DataViaDedicatedEndpoint,
    PrivateLink,
    PrivateLinkResolvedPublicly,
    UnnamedFlows,
    UnusedDnsAnswers,
    PlainHttpRegistry
);

// The failure kinds. A failure of registry traffic is one finding per host and says all it
// knows (`port` and the kind's own fields); failures of other traffic are summed up per kind
// and carry only what ICMP said (`icmp`), and for a timeout its SYNs.

/// The ICMP destination unreachable that came back for the flows: the message in words, its
/// type and code, who sent it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Icmp {
    pub icmp_type: u8,
    pub icmp_code: u8,
    pub icmp: &'static str,
    pub icmp_from: IpAddr,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ConnectTimeout {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
    /// SYNs sent in all, and the longest time one flow kept trying.
    pub syns: u64,
    pub syn_span_s: f64,
    #[serde(flatten)]
    pub icmp: Option<Icmp>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ConnectRefused {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
    #[serde(flatten)]
    pub icmp: Option<Icmp>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Unreachable {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
    #[serde(flatten)]
    pub icmp: Option<Icmp>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ResetAfterClientHello {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
    /// `rst` or `fin`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub closed_with: Option<&'static str>,
    #[serde(flatten)]
    pub icmp: Option<Icmp>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TlsAlert {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
    #[serde(flatten)]
    pub icmp: Option<Icmp>,
    /// The alert's description, and who sent it (`client` or `server`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub alert: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub alert_from: Option<&'static str>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ProxyRefused {
    /// The port of the CONNECT target.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
    #[serde(flatten)]
    pub icmp: Option<Icmp>,
    /// The proxy as `address:port`, and its answer.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub proxy: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status_line: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub proxy_authenticate: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TlsIntercepted {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
    #[serde(flatten)]
    pub icmp: Option<Icmp>,
    /// The certificate the gateway sent.
    #[serde(flatten)]
    pub certificate: Option<Certificate>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tls_version: Option<String>,
    /// The client's alert, if it refused the certificate.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_alert: Option<String>,
}

/// A certificate's names, as a finding quotes them.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Certificate {
    pub issuer: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub issuer_cn: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subject_cn: Option<String>,
    pub san: Vec<String>,
}

/// A tunnel a proxy opened: the proxy as `address:port` and the port asked for.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ViaProxy {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
    pub proxy: String,
}

/// A name that did not resolve. For a registry name: the answer (`NXDOMAIN`, `SERVFAIL`,
/// `REFUSED` or `no answer`), who gave it, the chain; for other names, summed up: the queries.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DnsFailure {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rcode: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dns_server: Option<IpAddr>,
    pub queries: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub chain: Option<Vec<String>>,
}

/// A chain into a private DNS zone that ended in NXDOMAIN: the zone lacks the record.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PrivateLinkRecordMissing {
    /// Always `NXDOMAIN`.
    pub rcode: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dns_server: Option<IpAddr>,
    pub queries: u64,
    pub chain: Vec<String>,
    /// The name the chain ended at, the private DNS zone, the record to add (relative to
    /// the zone).
    pub privatelink_name: String,
    pub zone: String,
    pub record: String,
}

// The kinds of a slow or hanging pull: each carries the evidence its message quotes.

/// The longest-stalled flow of a host: how long it was silent, what it had received, what ended
/// it, and what the client was waiting for.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Stall {
    pub port: u16,
    pub stalled_s: f64,
    pub bytes_before: u64,
    /// `client-fin`, `client-rst`, `server-fin`, `server-rst` or `capture-end`.
    pub ended_by: &'static str,
    /// `rest-of-body` (the server stopped inside a response) or `response` (a request went
    /// unanswered).
    pub waiting_for: &'static str,
    pub client_port: u16,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MtuBlackHole {
    pub port: u16,
    /// The client's MSS option, the largest server segment that arrived, the segments missing
    /// before what did, and an MSS every path carries.
    pub mss_up: Option<u16>,
    pub max_segment_down: u32,
    pub lost_segments_down: u64,
    pub suggested_mss: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TlsHandshakeTimeout {
    pub port: u16,
    /// Whether the server acknowledged the ClientHello (null without the client's SYN).
    pub hello_acked: Option<bool>,
    /// The longest a ClientHello waited, until the client closed or the capture ended.
    pub waited_s: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SlowDownload {
    /// `loss`, `receiver`, `latency` or `bandwidth`.
    pub limited_by: &'static str,
    /// The largest slow transfer: its data's span and goodput.
    pub seconds: f64,
    pub goodput_bps: f64,
    /// The evidence, summed over the host's slow transfers; the connect round trip's median.
    pub retransmissions_down: u64,
    pub lost_segments_down: u64,
    pub zero_windows_up: u64,
    pub window_full_down: u64,
    pub rtt_ms: Option<f64>,
    /// Live: packets the capture itself dropped while these transfers lasted.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub capture_drops: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FarRegistry {
    /// The median connect round trip of the host's flows, and the registry's region.
    pub rtt_ms: f64,
    pub region: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ConnectRetries {
    pub port: u16,
    /// Of `flows_total` connections to the host, `flows` (the finding's) retried; their SYNs,
    /// and the seconds the retries cost them together.
    pub flows_total: u64,
    pub syns: u64,
    pub delay_s: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Ipv6Fallback {
    pub port: u16,
    /// `ipv6` or `ipv4`: the family whose connections went unanswered (the finding's
    /// `addresses`), and the address of the other family the client then used.
    pub broken_family: &'static str,
    pub fallback_to: IpAddr,
    /// The seconds the failed attempts cost, together.
    pub delay_s: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DnsSlow {
    /// The slowest lookup of the name: its time, its queries, its type, who answered.
    pub latency_ms: f64,
    pub queries: u32,
    pub qtype: Option<String>,
    pub dns_server: IpAddr,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct UnexpectedAnswer {
    pub port: u16,
    /// `GET /v2/`.
    pub request: String,
    pub status: Option<u16>,
    pub status_line: Option<String>,
    /// The answer's `Server` header: often names the middlebox that answered.
    pub server: Option<String>,
    /// What a registry answers there.
    pub expected: &'static str,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every kind is listed in the JSON's documentation.
    #[test]
    fn every_kind_is_documented() {
        let doc = include_str!("../../docs/json.md");
        for k in FindingKind::ALL {
            assert!(doc.contains(&format!("`{}`", k.as_str())), "{} not in docs/json.md", k.as_str());
        }
    }

    #[test]
    fn a_finding_writes_its_kind_first_and_its_own_fields_last() {
        let about = About { registry: None, hosts: vec!["h".into()], addresses: Vec::new(), bytes: 1, flows: 1 };
        let f = Finding::new(
            ViaProxy { port: Some(443), proxy: "10.0.0.1:3128".into() },
            Severity::Info,
            about,
            "m".into(),
        );
        assert_eq!(f.kind(), FindingKind::ViaProxy);
        assert_eq!(
            serde_json::to_string(&f).unwrap(),
            r#"{"kind":"via-proxy","severity":"info","registry":null,"message":"m","hosts":["h"],"addresses":[],"bytes":1,"flows":1,"port":443,"proxy":"10.0.0.1:3128"}"#
        );
        let f = Finding::new(PrivateLink, Severity::Info, About::default(), String::new());
        assert!(serde_json::to_string(&f).unwrap().ends_with(r#""flows":0}"#));
    }
}
