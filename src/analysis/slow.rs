//! Findings for a pull that is slow or hangs: transfers that stalled, handshakes that timed out
//! (an MTU black hole among them), downloads that took seconds and what held them back, a far
//! registry, connections that needed SYN retries or another address family, and slow DNS. Each
//! is about registry traffic only, one finding per registry host, and says what to do. The
//! thresholds are the README's ("When a pull is slow or hangs").

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::net::IpAddr;

use rustc_hash::{FxHashMap, FxHashSet};

use super::failures::{is_registry_role, is_registry_traffic, list, plural, round1};
use super::finding::{self as kind, About, Finding, Severity};
use super::outcome::{ms, stalled, Outcome};
use super::FlowView;
use crate::classify::rules::{Role, Rules};
use crate::flow::{Flow, L4};
use crate::format::{human_bytes, human_ms, human_rate};
use crate::session::Session;

/// A data transfer is slow when its data took this long...
pub const SLOW_SECONDS_NS: i64 = 2_000_000_000;
/// ... and came slower than this (bits per second), or loss or the receiver held it back.
pub const SLOW_RATE_BPS: f64 = 25e6;
/// A transfer lost this share of its segments (or more) was limited by loss.
const LOSS_SHARE: f64 = 0.01;
/// A registry whose connect round trip is this long (median) is far away.
pub const FAR_RTT_NS: i64 = 100_000_000;
/// A lookup that took this long is slow; a retried one that took a quarter of it too.
pub const DNS_SLOW_NS: i64 = 1_000_000_000;
const DNS_RETRIED_NS: i64 = DNS_SLOW_NS / 4;
/// An attempt over one family counts as fallen back from when the other family's connection
/// to the same host came within this long.
const FALLBACK_WINDOW_NS: i64 = 30_000_000_000;
/// An MSS every path carries: a 1280-byte IPv6 minimum MTU less the headers.
const SAFE_MSS_V4: u32 = 1240;
const SAFE_MSS_V6: u32 = 1220;

/// Every slow-pull finding. `fallback` are the flows [`ipv6_fallbacks`] explained, which the
/// connect failures leave out.
pub fn build(s: &Session, flows: &[FlowView], rules: &Rules, fallback: &FxHashSet<u32>, out: &mut Vec<Finding>) {
    let g = Grouping::new(s, flows);
    stalls(s, &g, out);
    handshake_timeouts(s, &g, out);
    slow_downloads(s, &g, out);
    far_registries(s, &g, out);
    connect_retries(s, &g, out);
    ipv6_fallback_findings(s, flows, &g, fallback, out);
    dns_slow(s, flows, rules, out);
}

/// Registry flows grouped per registry and host, hosts in order of their first flow.
struct Host<'a> {
    registry: Option<String>,
    host: String,
    views: Vec<&'a FlowView>,
}

impl Host<'_> {
    /// What a finding about `views` (some of this host's flows) is about.
    fn about(&self, s: &Session, views: &[&FlowView]) -> About {
        let mut addresses: Vec<IpAddr> = Vec::new();
        let (mut bytes, mut n) = (0, 0);
        for v in views {
            let f = flow(s, v);
            if !addresses.contains(&f.server) {
                addresses.push(f.server);
            }
            bytes += f.bytes();
            n += 1;
        }
        About { registry: self.registry.clone(), hosts: vec![self.host.clone()], addresses, bytes, flows: n }
    }

    fn port(&self, s: &Session) -> u16 {
        self.views.first().map_or(0, |v| flow(s, v).server_port)
    }

    /// "the data endpoint fabrikamreg.japaneast.data.azurecr.io of registry fabrikamreg".
    fn named(&self) -> String {
        let what = match self.views.first().map(|v| v.class.role) {
            Some(Role::AcrLogin | Role::RegistryLogin) => "the login server ",
            Some(Role::AcrDataDedicated) => "the dedicated data endpoint ",
            Some(Role::AcrDataBlob) => "the storage account ",
            Some(Role::RegistryData) => "the data host ",
            Some(Role::RegistryAuth | Role::Auth) => "the token server ",
            _ => "",
        };
        let of = self.registry.as_deref().map(|r| format!(" of registry {r}")).unwrap_or_default();
        format!("{what}{}{of}", self.host)
    }
}

fn flow<'s>(s: &'s Session, v: &FlowView) -> &'s Flow {
    &s.flows()[v.id as usize]
}

fn host_of<'a>(s: &Session, v: &'a FlowView) -> Cow<'a, str> {
    match v.naming.hostname.as_deref() {
        Some(name) => Cow::Borrowed(name),
        None => Cow::Owned(flow(s, v).server.to_string()),
    }
}

/// The registry TCP flows of a report grouped by registry and host once: each finding keeps
/// some of them, and hashing every flow's names again for each would cost a pass per finding.
struct Grouping<'a> {
    flows: &'a [FlowView],
    keys: Vec<(Option<&'a str>, Cow<'a, str>)>,
    /// Per flow, its index in `keys`; [`Grouping::NONE`] for flows no finding is about.
    of: Vec<u32>,
}

impl<'a> Grouping<'a> {
    const NONE: u32 = u32::MAX;

    fn new(s: &Session, flows: &'a [FlowView]) -> Grouping<'a> {
        let mut index: FxHashMap<(Option<&'a str>, Cow<'a, str>), u32> = FxHashMap::default();
        let mut keys = Vec::new();
        let of = flows
            .iter()
            .map(|v| {
                if !is_registry_traffic(v) || flow(s, v).proto != L4::Tcp {
                    return Self::NONE;
                }
                *index.entry((v.class.registry.as_deref(), host_of(s, v))).or_insert_with_key(|k| {
                    keys.push(k.clone());
                    keys.len() as u32 - 1
                })
            })
            .collect();
        Grouping { flows, keys, of }
    }

    /// The flows that `keep` accepts, per registry and host, hosts in order of their first
    /// flow kept.
    fn hosts(&self, s: &Session, keep: impl Fn(&FlowView, &Flow) -> bool) -> Vec<Host<'a>> {
        let mut slot = vec![Self::NONE; self.keys.len()];
        let mut out: Vec<Host<'a>> = Vec::new();
        for (v, &k) in self.flows.iter().zip(&self.of) {
            if k == Self::NONE || !keep(v, flow(s, v)) {
                continue;
            }
            let i = &mut slot[k as usize];
            if *i == Self::NONE {
                *i = out.len() as u32;
                let (registry, host) = &self.keys[k as usize];
                out.push(Host { registry: registry.map(str::to_string), host: host.to_string(), views: Vec::new() });
            }
            out[*i as usize].views.push(v);
        }
        out
    }
}

fn seconds(ns: i64) -> f64 {
    (ns as f64 / 1e6).round() / 1e3
}

/// The findings of single flows that went wrong slowly: a stall, a handshake timeout (or the
/// MTU black hole behind it). Live captures announce them flow by flow.
pub fn flow_findings(s: &Session, flows: &[FlowView], out: &mut Vec<Finding>) {
    let g = Grouping::new(s, flows);
    stalls(s, &g, out);
    handshake_timeouts(s, &g, out);
}

fn stalls(s: &Session, g: &Grouping<'_>, out: &mut Vec<Finding>) {
    let now = s.now_ns().unwrap_or(0);
    for h in g.hosts(s, |v, _| v.outcome == Outcome::Stalled) {
        let worst = h
            .views
            .iter()
            .filter_map(|v| Some((*v, stalled(flow(s, v), s.flow(v.id).facts, now)?)))
            .max_by_key(|(_, st)| st.end_ns - st.since_ns);
        let Some((v, st)) = worst else { continue };
        let f = flow(s, v);
        let silent = st.end_ns - st.since_ns;
        let fields = kind::Stall {
            port: f.server_port,
            stalled_s: seconds(silent),
            bytes_before: f.bytes_down,
            ended_by: st.ended_by.as_str(),
            waiting_for: if st.mid_body { "rest-of-body" } else { "response" },
            client_port: f.client_port,
        };
        let how = match st.ended_by {
            super::outcome::StallEnd::CaptureEnd => "was still silent when the capture ended".to_string(),
            e if e.as_str().starts_with("client") => "then the client gave up and closed it".to_string(),
            _ => "then the server closed it".to_string(),
        };
        let waiting = if st.mid_body { "in the middle of a response" } else { "with a request unanswered" };
        let others = match h.views.len() {
            1 => String::new(),
            n => format!(" ({n} flows to this host stalled; this is the longest)"),
        };
        let message = format!(
            "A transfer from {} stalled {waiting}: after {} it received nothing for {} s{others}, and {how}. The \
             client reports this as \"context deadline exceeded\", \"unexpected EOF\" or containerd's \"no progress\" \
             after its deadline. Nothing came back at all, not even a retransmission: the path lost the flow (a \
             firewall, NAT or load balancer that dropped its state, or an idle timeout) more likely than a busy \
             server. Retry the pull; if it recurs, look at the devices on the path to {} and their idle timeouts.",
            h.named(),
            human_bytes(f.bytes_down),
            round1(silent),
            h.host,
        );
        out.push(Finding::new(fields, Severity::Error, h.about(s, &h.views), message));
    }
}

/// Whether a flow that timed out lost full-size server segments while small ones came through,
/// with no ICMP "fragmentation needed" to say why: the MTU black hole's signature.
fn mtu_black_hole(s: &Session, v: &FlowView) -> bool {
    let f = flow(s, v);
    let Some(t) = s.flow(v.id).facts.transfer.as_deref() else { return false };
    let m = &t.metrics;
    let mss = match (m.mss_up(), m.mss_down()) {
        (Some(a), Some(b)) => u32::from(a.min(b)),
        (Some(a), None) | (None, Some(a)) => u32::from(a),
        (None, None) => return false,
    };
    let frag_needed = f.icmp().is_some_and(|i| !i.error.v6 && i.error.icmp_type == 3 && i.error.code == 4);
    m.lost_segments_down > 0 && m.max_segment_down + 64 < mss && !frag_needed
}

fn handshake_timeouts(s: &Session, g: &Grouping<'_>, out: &mut Vec<Finding>) {
    let timed_out = |v: &FlowView, _: &Flow| v.outcome == Outcome::HandshakeTimeout;
    for h in g.hosts(s, timed_out) {
        let (mtu, plain): (Vec<&FlowView>, Vec<&FlowView>) = h.views.iter().partition(|v| mtu_black_hole(s, v));
        if !mtu.is_empty() {
            out.push(mtu_finding(s, &h, &mtu));
        }
        if !plain.is_empty() {
            out.push(handshake_timeout_finding(s, &h, &plain));
        }
    }
}

fn mtu_finding(s: &Session, h: &Host<'_>, views: &[&FlowView]) -> Finding {
    let metrics = |v: &&FlowView| s.flow(v.id).facts.transfer.as_deref().map(|t| t.metrics);
    let all: Vec<_> = views.iter().filter_map(metrics).collect();
    let mss_up = all.iter().find_map(|m| m.mss_up());
    let max_segment_down = all.iter().map(|m| m.max_segment_down).max().unwrap_or(0);
    let v6 = views.first().is_some_and(|v| flow(s, v).server.is_ipv6());
    let suggested_mss = max_segment_down.max(if v6 { SAFE_MSS_V6 } else { SAFE_MSS_V4 });
    let fields = kind::MtuBlackHole {
        port: h.port(s),
        mss_up,
        max_segment_down,
        lost_segments_down: all.iter().map(|m| u64::from(m.lost_segments_down)).sum(),
        suggested_mss,
    };
    let icmp = if v6 { "ICMPv6 type 2 (packet too big)" } else { "ICMP type 3 code 4 (fragmentation needed)" };
    let message = format!(
        "The TLS handshake with {} never finished ({}): the client announced an MSS of {}, but no server segment \
         larger than {} bytes arrived while segments before them went missing, and no ICMP said why. Full-size \
         packets are dropped on the way back (an MTU black hole: a VPN, tunnel or ExpressRoute with a smaller MTU \
         whose ICMP is filtered); the client reports \"TLS handshake timeout\". Clamp the TCP MSS on the tunnel or \
         the client to {suggested_mss} (or lower the interface MTU), or allow {icmp} through the firewalls.",
        h.named(),
        plural(views.len() as u64, "flow"),
        mss_up.map_or_else(|| "unknown".to_string(), |m| m.to_string()),
        max_segment_down,
    );
    Finding::new(fields, Severity::Error, h.about(s, views), message)
}

fn handshake_timeout_finding(s: &Session, h: &Host<'_>, views: &[&FlowView]) -> Finding {
    let now = s.now_ns().unwrap_or(0);
    let mut acked = None;
    let mut waited = 0;
    for v in views {
        let f = flow(s, v);
        let facts = s.flow(v.id).facts;
        if let Some(a) = facts.transfer.as_deref().and_then(|t| t.client_data_acked()) {
            acked = Some(acked.unwrap_or(false) || a);
        }
        if let Some(ch) = facts.tls.client_hello_ns.get() {
            waited = waited.max(f.tcp.client_close().map_or(now, |c| c.ts_ns) - ch);
        }
    }
    let why = match acked {
        Some(false) => {
            "The server never acknowledged the ClientHello: something on the path drops it silently \
                        (a firewall that filters on the TLS server name), or the server is gone."
        }
        Some(true) => {
            "The server acknowledged the ClientHello but never answered it: a device that inspects TLS \
                       held it, or the server is overloaded."
        }
        None => "Whether the server even received the ClientHello is not in the capture.",
    };
    let fields = kind::TlsHandshakeTimeout { port: h.port(s), hello_acked: acked, waited_s: round1(waited) };
    let message = format!(
        "The TLS handshake with {} timed out ({}): the ClientHello waited {} s with no answer and no refusal, and the \
         client reports \"TLS handshake timeout\". {why} Allow {} on TCP {} by name in the firewall's TLS rules.",
        h.named(),
        plural(views.len() as u64, "flow"),
        fields.waited_s,
        h.host,
        fields.port,
    );
    Finding::new(fields, Severity::Error, h.about(s, views), message)
}

/// What held one data transfer back, from its own evidence. Segments missing while the capture
/// itself dropped packets (`capture_drops`) may be the capture's: only the retransmissions, which
/// the sender made, count as the path's loss then.
fn limited_by(f: &Flow, m: &crate::session::transfer::TransferMetrics, capture_drops: u64) -> &'static str {
    let segments = m.good_bytes_down / u64::from(m.max_segment_down.max(1)) + u64::from(m.retransmissions_down);
    let missing = if capture_drops > 0 { 0 } else { u64::from(m.lost_segments_down) };
    let lost = missing + u64::from(m.retransmissions_down);
    if m.zero_windows_up > 0 {
        "receiver"
    } else if lost >= 3 && lost as f64 >= LOSS_SHARE * segments as f64 {
        "loss"
    } else if f.tcp.connect_rtt_ns().is_some_and(|r| r >= FAR_RTT_NS) {
        "latency"
    } else {
        "bandwidth"
    }
}

/// A registry data transfer slow by the README's measure: its span, goodput and cause.
fn slow_transfer(s: &Session, v: &FlowView) -> Option<(i64, f64, &'static str)> {
    if !matches!(v.class.role, Role::AcrDataBlob | Role::AcrDataDedicated | Role::RegistryData) {
        return None;
    }
    let f = flow(s, v);
    let m = s.flow(v.id).facts.transfer.as_deref()?.metrics;
    let span = m.data_span_ns().filter(|&d| d >= SLOW_SECONDS_NS)?;
    let goodput = m.goodput_down_bps()?;
    let cause = limited_by(f, &m, s.capture_drops_of(v.id).unwrap_or(0));
    (goodput < SLOW_RATE_BPS || matches!(cause, "loss" | "receiver")).then_some((span, goodput, cause))
}

fn slow_downloads(s: &Session, g: &Grouping<'_>, out: &mut Vec<Finding>) {
    for h in g.hosts(s, |v, _| slow_transfer(s, v).is_some()) {
        let Some(big) = h.views.iter().copied().max_by_key(|v| flow(s, v).bytes_down) else { continue };
        let Some((span, goodput, cause)) = slow_transfer(s, big) else { continue };
        let mut sum = [0u64; 4];
        for v in &h.views {
            if let Some(t) = s.flow(v.id).facts.transfer.as_deref() {
                let m = &t.metrics;
                let add = [m.retransmissions_down, m.lost_segments_down, m.zero_windows_up, m.window_full_down];
                for (a, b) in sum.iter_mut().zip(add) {
                    *a += u64::from(b);
                }
            }
        }
        let rtts: Vec<i64> = h.views.iter().filter_map(|v| flow(s, v).tcp.connect_rtt_ns()).collect();
        let rtt = median(rtts).map(ms);
        let drops = h.views.iter().filter_map(|v| s.capture_drops_of(v.id)).reduce(|a, b| a + b);
        let fields = kind::SlowDownload {
            limited_by: cause,
            seconds: seconds(span),
            goodput_bps: goodput.round(),
            retransmissions_down: sum[0],
            lost_segments_down: sum[1],
            zero_windows_up: sum[2],
            window_full_down: sum[3],
            rtt_ms: rtt,
            capture_drops: drops,
        };
        let message = slow_message(&h, &fields, flow(s, big).bytes_down);
        out.push(Finding::new(fields, Severity::Warning, h.about(s, &h.views), message));
    }
}

fn slow_message(h: &Host<'_>, f: &kind::SlowDownload, bytes: u64) -> String {
    let why = match f.limited_by {
        "loss" => format!(
            "packets were lost on the way ({} retransmitted and {} missing segments), and each loss halves the \
             sender's rate. The path loses packets: an overloaded Wi-Fi, link or peering; test the path to {} \
             (mtr) and fix or avoid the lossy hop.",
            f.retransmissions_down, f.lost_segments_down, h.host
        ),
        "receiver" => format!(
            "the client read too slowly: it advertised a zero receive window {} times, so the server had to wait for \
             it. The network is not the limit: look at the client's disk, CPU or anything rate-limiting the \
             download.",
            f.zero_windows_up
        ),
        "latency" => format!(
            "each round trip takes {} ms, and a TCP window per round trip caps the rate. Pull from a geo-replica \
             in the client's region.",
            f.rtt_ms.unwrap_or(0.0)
        ),
        _ => "the window stayed open and nothing was lost, yet the rate stayed low and steady: a narrow link or a \
              throttle (a shaper, a proxy or firewall rate limit, a metered uplink) sets it. Find the bottleneck \
              on the path, or pull during quieter hours."
            .to_string(),
    };
    let capture = match f.capture_drops.filter(|&n| n > 0) {
        Some(n) => format!(
            " The capture itself dropped {} during these transfers (its buffer was full): their missing \
             segments are not counted as the path's loss. Raise --buffer-size or narrow --filter.",
            plural(n, "packet")
        ),
        None => String::new(),
    };
    format!(
        "Layers from {} came slowly: the largest transfer moved {} in {} s ({}), limited by {}: {why}{capture}",
        h.named(),
        human_bytes(bytes),
        f.seconds,
        human_rate(f.goodput_bps),
        f.limited_by,
    )
}

fn median(mut v: Vec<i64>) -> Option<i64> {
    v.sort_unstable();
    let n = v.len();
    match n {
        0 => None,
        _ if n % 2 == 1 => Some(v[n / 2]),
        _ => Some((v[n / 2 - 1] + v[n / 2]) / 2),
    }
}

fn far_registries(s: &Session, g: &Grouping<'_>, out: &mut Vec<Finding>) {
    for h in g.hosts(s, |_, f| f.tcp.connect_rtt_ns().is_some()) {
        let rtts: Vec<i64> = h.views.iter().filter_map(|v| flow(s, v).tcp.connect_rtt_ns()).collect();
        let Some(rtt) = median(rtts).filter(|&r| r >= FAR_RTT_NS) else { continue };
        let region = h.views.iter().find_map(|v| v.class.region.as_deref().map(str::to_string));
        let fields = kind::FarRegistry { rtt_ms: (ms(rtt) * 10.0).round() / 10.0, region };
        let in_region = fields.region.as_deref().map(|r| format!(" (in {r})")).unwrap_or_default();
        let message = format!(
            "{}{in_region} is far from this client: its connections take {} per round trip (median of {}), and \
             every request, handshake and window of data pays it. Add a geo-replica of the registry in the client's \
             region (Premium tier), or pull from a machine near the registry.",
            capitalize(&h.named()),
            human_ms(rtt),
            plural(h.views.len() as u64, "connection"),
        );
        out.push(Finding::new(fields, Severity::Warning, h.about(s, &h.views), message));
    }
}

fn capitalize(s: &str) -> String {
    let mut c = s.chars();
    c.next().map_or_else(String::new, |f| f.to_uppercase().chain(c).collect())
}

fn connect_retries(s: &Session, g: &Grouping<'_>, out: &mut Vec<Finding>) {
    for h in g.hosts(s, |_, f| f.tcp.saw_syn_ack() && f.tcp.saw_syn()) {
        let retried: Vec<&FlowView> = h.views.iter().copied().filter(|v| flow(s, v).tcp.syns() >= 2).collect();
        if retried.is_empty() {
            continue;
        }
        let syns: u64 = retried.iter().map(|v| u64::from(flow(s, v).tcp.syns())).sum();
        let delay: i64 = retried.iter().map(|v| super::outcome::syn_span_ns(flow(s, v))).sum();
        let addresses: FxHashSet<IpAddr> = retried.iter().map(|v| flow(s, v).server).collect();
        let fields =
            kind::ConnectRetries { port: h.port(s), flows_total: h.views.len() as u64, syns, delay_s: round1(delay) };
        let pattern = if retried.len() >= 2 && addresses.len() == 1 {
            "Several to one address: a NAT gateway, load balancer or firewall short of ports (SNAT port exhaustion) \
             drops new connections; spread them over more outbound addresses or reuse connections."
        } else {
            "The path or a device on it drops some SYNs: look at the firewall's or NAT's connection limits and the \
             path's loss."
        };
        let message = format!(
            "{} of {} connections to {} connected only after retrying their SYN ({} in all), losing {} s: {pattern}",
            retried.len(),
            h.views.len(),
            h.named(),
            plural(syns, "SYN"),
            fields.delay_s,
        );
        out.push(Finding::new(fields, Severity::Warning, h.about(s, &retried), message));
    }
}

/// A failed attempt over one family and the other family's connection the client then made.
struct Fallback<'a> {
    failed: &'a FlowView,
    to: IpAddr,
    delay_ns: i64,
}

/// Registry connections over one address family that got no SYN-ACK, followed within
/// [`FALLBACK_WINDOW_NS`] by a connection from the same client to the same host over the other
/// family that connected.
fn fallbacks<'a>(s: &Session, flows: &'a [FlowView]) -> Vec<Fallback<'a>> {
    // The connect failures first: few captures have any, and only their hosts' connections
    // need remembering.
    let failed: Vec<(&FlowView, &str)> = flows
        .iter()
        .filter(|v| is_registry_traffic(v))
        .filter_map(|v| Some((v, v.naming.hostname.as_deref()?)))
        .filter(|(v, _)| {
            let f = flow(s, v);
            f.proto == L4::Tcp && f.tcp.syn_unanswered() && f.icmp().is_none()
        })
        .collect();
    if failed.is_empty() {
        return Vec::new();
    }
    // By host alone: a dual-stack client has an address per family.
    let mut connected: FxHashMap<&str, Vec<(i64, IpAddr)>> = failed.iter().map(|&(_, h)| (h, Vec::new())).collect();
    for v in flows.iter().filter(|v| is_registry_traffic(v)) {
        let (f, Some(h)) = (flow(s, v), v.naming.hostname.as_deref()) else { continue };
        if let (true, Some(list)) = (f.tcp.saw_syn_ack(), connected.get_mut(h)) {
            list.push((f.first_ns, f.server));
        }
    }
    let mut out = Vec::new();
    for (v, h) in failed {
        let f = flow(s, v);
        let Some(list) = connected.get(h) else { continue };
        let next = list.iter().find(|(t, a)| {
            a.is_ipv6() != f.server.is_ipv6() && *t >= f.first_ns && *t - f.first_ns <= FALLBACK_WINDOW_NS
        });
        if let Some(&(t, to)) = next {
            out.push(Fallback { failed: v, to, delay_ns: t - f.first_ns });
        }
    }
    out
}

/// The flows an `ipv6-fallback` finding explains: their connect failures are not reported again.
pub fn fallback_flows(s: &Session, flows: &[FlowView]) -> FxHashSet<u32> {
    fallbacks(s, flows).iter().map(|f| f.failed.id).collect()
}

fn ipv6_fallback_findings(
    s: &Session,
    flows: &[FlowView],
    g: &Grouping<'_>,
    fallback: &FxHashSet<u32>,
    out: &mut Vec<Finding>,
) {
    let all = fallbacks(s, flows);
    for h in g.hosts(s, |v, _| fallback.contains(&v.id)) {
        let mine: Vec<&Fallback<'_>> = all.iter().filter(|f| h.views.iter().any(|v| v.id == f.failed.id)).collect();
        let Some(first) = mine.first() else { continue };
        let v6 = flow(s, first.failed).server.is_ipv6();
        let (broken, other) = if v6 { ("ipv6", "IPv4") } else { ("ipv4", "IPv6") };
        let delay: i64 = mine.iter().map(|f| f.delay_ns).sum();
        let fields = kind::Ipv6Fallback {
            port: h.port(s),
            broken_family: broken,
            fallback_to: first.to,
            delay_s: round1(delay),
        };
        let about = h.about(s, &h.views);
        let fix = if v6 {
            "Fix IPv6 routing or the IPv6 firewall rules to it, or make the client prefer IPv4 (on Linux, \
             `precedence ::ffff:0:0/96 100` in /etc/gai.conf; Docker: no IPv6 address on the host)"
        } else {
            "Fix IPv4 to it, or let the client prefer IPv6"
        };
        let message = format!(
            "{} could not be reached over {}: {} to {} got no answer, then the client fell back to {} {} ({} s lost \
             in all). The pull works, slower, and breaks where the fallback is not tried. {fix}.",
            capitalize(&h.named()),
            if v6 { "IPv6" } else { "IPv4" },
            plural(about.flows, "connection"),
            list(&about.addresses.iter().map(|a| a.to_string()).collect::<Vec<_>>()),
            other,
            first.to,
            fields.delay_s,
        );
        out.push(Finding::new(fields, Severity::Warning, about, message));
    }
}

/// Registry names whose lookup was slow or retried: the slowest lookup of each. Whether a name
/// is the registry's: a flow its answer named says, else the rules.
fn dns_slow(s: &Session, flows: &[FlowView], rules: &Rules, out: &mut Vec<Finding>) {
    let slow: Vec<(usize, i64)> = (s.dns.iter().enumerate())
        .filter_map(|(i, a)| Some((i, a.latency_ns()?)))
        .filter(|&(i, lat)| lat >= DNS_SLOW_NS || s.dns[i].queries >= 2 && lat >= DNS_RETRIED_NS)
        .collect();
    // The flow an answer named is looked up only for slow answers, which few captures have.
    let mut named: FxHashMap<u32, &FlowView> = FxHashMap::default();
    if !slow.is_empty() {
        for v in flows {
            if let Some(i) = v.naming.answer {
                named.entry(i).or_insert(v);
            }
        }
    }
    // The slowest lookup per name, with its registry (a registry's name may not say which).
    let mut worst: BTreeMap<String, (usize, i64, Option<String>)> = BTreeMap::new();
    for (i, lat) in slow {
        let a = &s.dns[i];
        let name = crate::session::naming::normalize(a.query());
        // Outer `None`: not a registry's name at all.
        let registry: Option<Option<String>> = match named.get(&(i as u32)) {
            Some(v) if is_registry_traffic(v) => Some(v.class.registry.as_deref().map(str::to_string)),
            _ => {
                let c = rules.classify(&name);
                (c.registry.is_some() || is_registry_role(c.role)).then(|| c.registry.as_deref().map(str::to_string))
            }
        };
        let Some(registry) = registry else { continue };
        let e = worst.entry(name).or_insert((i, lat, registry));
        if lat > e.1 {
            e.0 = i;
            e.1 = lat;
        }
    }
    let mut found: Vec<(usize, String, i64, Option<String>)> =
        worst.into_iter().map(|(n, (i, lat, r))| (i, n, lat, r)).collect();
    found.sort_by_key(|f| f.0);
    for (i, name, lat, registry) in found {
        let Some(a) = s.dns.get(i) else { continue };
        let fields =
            kind::DnsSlow { latency_ms: ms(lat), queries: a.queries, qtype: a.msg.qtype.clone(), dns_server: a.server };
        let retried = if a.queries >= 2 {
            format!(
                " and only after the client asked {} times: the first queries or their answers were lost",
                a.queries
            )
        } else {
            String::new()
        };
        let message = format!(
            "Resolving {name} took {} s{retried}. Each lookup that waits holds up the pull. Check the path to the DNS \
             server {} and its load; on Linux nodes parallel A and AAAA queries from one socket can be dropped by a \
             conntrack race: `options single-request-reopen` (or `use-vc`) in /etc/resolv.conf avoids it.",
            (fields.latency_ms / 100.0).round() / 10.0,
            a.server,
        );
        let about = About { registry, hosts: vec![name], addresses: a.msg.addresses.clone(), bytes: 0, flows: 0 };
        out.push(Finding::new(fields, Severity::Warning, about, message));
    }
}
