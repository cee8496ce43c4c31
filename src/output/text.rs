//! `report --format text` and `--format allowlist`: the same facts as the JSON, as tables.

use std::fmt::Write;

pub use crate::format::{human_bytes, sock};
use crate::format::{human_ms, human_rate, rcode_name};

use super::json::CaptureInfo;
use super::time::{rfc3339_us, secs};
use crate::analysis::{role_label, Analysis, Endpoint, FlowView};
use crate::session::{DnsAnswer, Session};

/// Left-aligned columns sized to their widest cell (cells are counted in chars).
pub fn table(head: &[&str], rows: &[Vec<String>]) -> String {
    let mut t = Table::new(head);
    for r in rows {
        t.row(r);
    }
    t.render()
}

/// A table filled cell by cell: the cells' text in one buffer, the column widths kept as cells
/// come, the lines laid out at the end. A report of hundreds of thousands of flows has millions
/// of cells: one buffer for all of them spares an allocation per cell, in time and memory.
pub struct Table {
    width: Vec<usize>,
    text: String,
    /// Where each cell ends in `text`, row after row.
    ends: Vec<usize>,
}

impl Table {
    pub fn new(head: &[&str]) -> Table {
        let mut t = Table { width: vec![0; head.len()], text: String::new(), ends: Vec::new() };
        t.row(head);
        t
    }

    /// A table without a head row, for rows made apart and then [`Table::append`]ed.
    pub fn headless(columns: usize) -> Table {
        Table { width: vec![0; columns], text: String::new(), ends: Vec::new() }
    }

    /// A table without a head row whose columns are at least `width` wide: rows laid out with
    /// the widths of a whole table measured beforehand (see [`Table::forget_rows`]).
    pub fn with_widths(width: &[usize]) -> Table {
        Table { width: width.to_vec(), text: String::new(), ends: Vec::new() }
    }

    /// Drops the rows made so far and keeps the widths they gave: a table too big to hold is
    /// measured row by row this way, then made again part by part with [`Table::with_widths`].
    pub fn forget_rows(&mut self) {
        debug_assert_eq!(self.ends.len() % self.width.len().max(1), 0, "forget_rows: a row is half made");
        self.text.clear();
        self.ends.clear();
    }

    /// The column widths so far.
    pub fn widths(&self) -> &[usize] {
        &self.width
    }

    /// `other`'s rows after this table's; the two have the same columns.
    pub fn append(&mut self, other: Table) {
        let base = self.text.len();
        for (w, o) in self.width.iter_mut().zip(&other.width) {
            *w = (*w).max(*o);
        }
        self.text.push_str(&other.text);
        self.ends.extend(other.ends.iter().map(|e| e + base));
    }

    /// The next cell, left to right, then on the next row.
    pub fn cell(&mut self, c: impl std::fmt::Display) -> &mut Table {
        let start = self.text.len();
        let _ = write!(self.text, "{c}");
        let col = self.ends.len() % self.width.len().max(1);
        if let Some(w) = self.width.get_mut(col) {
            *w = (*w).max(self.text[start..].chars().count());
        }
        self.ends.push(self.text.len());
        self
    }

    /// A whole row: missing cells at its end are empty, cells past the head's are left out.
    pub fn row<D: std::fmt::Display>(&mut self, cells: impl IntoIterator<Item = D>) {
        let n = self.width.len();
        let mut k = 0;
        for c in cells.into_iter().take(n) {
            self.cell(c);
            k += 1;
        }
        for _ in k..n {
            self.cell("");
        }
    }

    pub fn render(&self) -> String {
        let mut out = String::new();
        self.render_into(&mut out);
        out
    }

    /// The lines, added to `out`.
    pub fn render_into(&self, out: &mut String) {
        let n = self.width.len().max(1);
        out.reserve(self.text.len() + self.ends.len() * 3);
        let (mut start, mut line) = (0, 0);
        for (i, &end) in self.ends.iter().enumerate() {
            let (c, col) = (&self.text[start..end], i % n);
            start = end;
            if col == 0 {
                line = out.len();
            }
            out.push_str(c);
            if col + 1 < n {
                let pad = self.width[col].saturating_sub(c.chars().count()) + 2;
                out.extend(std::iter::repeat_n(' ', pad));
            } else {
                let kept = out[line..].trim_end().len();
                out.truncate(line + kept);
                out.push('\n');
            }
        }
    }
}

/// Items written one after the other with `sep` between them, without a string made first.
struct Joined<'a, T>(&'a [T], &'a str);

impl<T: std::fmt::Display> std::fmt::Display for Joined<'_, T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (i, x) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(self.1)?;
            }
            write!(f, "{x}")?;
        }
        Ok(())
    }
}

fn join<T: std::fmt::Display>(v: &[T]) -> String {
    Joined(v, ", ").to_string()
}

/// A row's host: its name, else what the address is known to be, else what it serves.
pub fn endpoint_label(e: &Endpoint) -> String {
    match (&e.hostname, e.well_known) {
        (Some(h), _) => h.clone(),
        (None, Some(w)) => format!("({w})"),
        (None, None) if e.role == "dns" => "(DNS server)".into(),
        (None, None) => "(no name)".into(),
    }
}

pub fn allowlist(rows: &[Endpoint]) -> String {
    let body: Vec<Vec<String>> = rows
        .iter()
        .map(|e| {
            vec![
                e.registry.clone().unwrap_or_else(|| "-".into()),
                e.role.to_string(),
                endpoint_label(e),
                format!("{}/{}", join(&e.proto), join(&e.ports)),
                join(&e.addresses),
                join(&e.scopes) + if e.via_private_link { " (private link)" } else { "" },
                if e.service_tags.is_empty() { "-".into() } else { join(&e.service_tags) },
                e.flows.to_string(),
                human_bytes(e.bytes),
            ]
        })
        .collect();
    table(&["REGISTRY", "ROLE", "HOST", "PORTS", "ADDRESSES", "SCOPE", "SERVICE TAGS", "FLOWS", "BYTES"], &body)
}

/// The text report: what was read, the findings, the endpoints, then the flows, what was seen
/// in clear, the DNS answers and the warnings, each as a table.
pub fn report(s: &Session, a: &Analysis, info: &CaptureInfo) -> String {
    let mut out = Vec::new();
    // Writing into memory fails only if memory does, which aborts anyway.
    let _ = write_report(&mut out, s, a, info);
    String::from_utf8(out).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

/// [`report`], written to `w` as it is made: the flows table, one row per flow, is never held
/// whole, so a capture of hundreds of thousands of flows costs its report no more than a
/// round of rows.
pub fn write_report(w: &mut impl std::io::Write, s: &Session, a: &Analysis, info: &CaptureInfo) -> std::io::Result<()> {
    let mut o = String::new();
    header(&mut o, s, info);
    findings(&mut o, a);
    pulls(&mut o, a);
    let _ = writeln!(o, "\nENDPOINTS (what a firewall must allow)");
    o.push_str(&allowlist(&a.endpoints));
    let _ = writeln!(o, "\nFLOWS by registry and role (DNS exchanges are summed in ENDPOINTS)");
    w.write_all(o.as_bytes())?;
    let order = flows(w, s, a)?;
    o.clear();
    in_clear(&mut o, s, &order);
    w.write_all(o.as_bytes())?;
    dns(w, s)?;
    o.clear();
    warnings(&mut o, &s.stats);
    w.write_all(o.as_bytes())
}

fn header(o: &mut String, s: &Session, info: &CaptureInfo) {
    let st = &s.stats;
    let _ = writeln!(o, "acrscope report: {} ({})", info.source, info.format);
    let _ = writeln!(
        o,
        "{} packets, {}, {} flows, {} DNS answers, {} TLS ClientHellos, {} warnings",
        st.packets,
        human_bytes(st.bytes),
        st.flows,
        st.dns_responses,
        st.tls_client_hellos,
        st.warning_count()
    );
    if st.quic_client_hellos + st.quic_undecryptable + st.http_requests + st.http_responses > 0 {
        let _ = writeln!(
            o,
            "{} QUIC ClientHellos ({} Initial packets not decrypted), {} plain HTTP requests, {} responses",
            st.quic_client_hellos, st.quic_undecryptable, st.http_requests, st.http_responses
        );
    }
    if let (Some(f), Some(l)) = (&info.first_ts, &info.last_ts) {
        let _ = writeln!(o, "from {f} to {l}");
    }
    if let Some(e) = &info.error {
        let _ = writeln!(o, "stopped early: {e}");
    }
}

fn findings(o: &mut String, a: &Analysis) {
    if !a.findings.is_empty() {
        let _ = writeln!(o, "\nFINDINGS");
        for f in &a.findings {
            let _ =
                writeln!(o, "- {:<7} [{}] {}", f.severity.as_str().to_ascii_uppercase(), f.kind().as_str(), f.message);
        }
    }
}

/// Where the time of each registry's pull went.
fn pulls(o: &mut String, a: &Analysis) {
    use crate::analysis::phases::Phase;
    if a.pulls.is_empty() {
        return;
    }
    let _ = writeln!(
        o,
        "\nWHERE THE TIME WENT (per registry, first DNS query to last byte; each moment counted once, for the \
         furthest step any flow had reached)"
    );
    let mut t = Table::new(&[
        "REGISTRY",
        "TOTAL",
        "RESOLVING",
        "CONNECTING",
        "TLS",
        "WAITING",
        "RECEIVING",
        "STALLED",
        "IDLE",
        "RECEIVED",
        "OVERALL",
        "BEST FLOW",
        "DOWNLOADS",
    ]);
    for p in &a.pulls {
        let total = p.duration_ns();
        let share = |ns: i64| {
            let pct = if total > 0 { (ns as f64 * 100.0 / total as f64).round() } else { 0.0 };
            format!("{}s {pct:.0}%", secs(ns))
        };
        t.cell(&p.registry).cell(format!("{}s", secs(total)));
        for ph in
            [Phase::Resolving, Phase::Connecting, Phase::Handshake, Phase::Waiting, Phase::Receiving, Phase::Stalled]
        {
            t.cell(share(p.time.of(ph)));
        }
        t.cell(share(p.time.idle_ns)).cell(human_bytes(p.bytes_down));
        t.cell(p.throughput_bps().map_or_else(|| "-".to_string(), human_rate));
        t.cell(p.best_flow_bps.map_or_else(|| "-".to_string(), human_rate));
        t.cell(format!("{} ({} at once)", p.layer_downloads, p.concurrent_downloads));
    }
    o.push_str(&t.render());
}

/// The flows table, written to `w`; returns its flows in the order shown.
fn flows<'a>(w: &mut impl std::io::Write, s: &Session, a: &'a Analysis) -> std::io::Result<Vec<&'a FlowView>> {
    // DNS exchanges are one flow per query: they are summed per server in ENDPOINTS instead.
    let shown = || a.flows.iter().enumerate().filter(|(_, v)| v.class.role != crate::classify::Role::Dns);
    // By registry (by name, flows of none last), role, start. The registry goes in the key as
    // its rank among the names: a key borrowing the name took twice the room, and a busy
    // capture has hundreds of thousands of flows to sort.
    let mut names: Vec<&str> = shown().filter_map(|(_, v)| v.class.registry.as_deref()).collect();
    names.sort_unstable();
    names.dedup();
    let rank: rustc_hash::FxHashMap<&str, u32> = names.iter().enumerate().map(|(i, n)| (*n, i as u32)).collect();
    let mut keys: Vec<(u32, u8, i64, u32)> = shown()
        .map(|(i, v)| {
            let registry = v.class.registry.as_deref().map_or(u32::MAX, |r| rank[r]);
            let role = crate::analysis::endpoints::role_order(v.class.role);
            (registry, role, s.flows()[v.id as usize].first_ns, i as u32)
        })
        .collect();
    // The index last makes the order stable.
    keys.sort_unstable();
    let order: Vec<&FlowView> = keys.iter().map(|k| &a.flows[k.3 as usize]).collect();
    drop(keys);
    let t0 = s.stats.first_ns.unwrap_or(0);
    const HEAD: [&str; 12] =
        ["REGISTRY", "ROLE", "HOST", "BY", "FLOW", "SCOPE", "START", "DURATION", "UP/DOWN", "RTT", "RATE↓", "OUTCOME"];
    // Widths do not depend on the order: measured in the flows' own order, a flow's record,
    // facts and transfer analysis are read where the previous one's ended, not from memory
    // the sort scattered them over.
    let by_id: Vec<&FlowView> = shown().map(|(_, v)| v).collect();
    write_streamed(w, &HEAD, Rows { measured: &by_id, shown: &order }, |t, v| flow_row(t, s, v, t0))?;
    Ok(order)
}

/// The items of a table: `shown` in the order of its rows, `measured` the same items in the
/// order cheapest to read.
struct Rows<'a, T> {
    measured: &'a [T],
    shown: &'a [T],
}

/// Writes a table of many rows without holding its text: the rows are made on every core
/// twice, once to measure the columns, keeping no text, then round by round, each round laid
/// out and written before the next is made. A busy capture has hundreds of thousands of flows
/// and tens of thousands of DNS answers; held whole, their text took more than the flows.
fn write_streamed<T: Sync>(
    w: &mut impl std::io::Write,
    head: &[&str],
    rows: Rows<T>,
    row: impl Fn(&mut Table, &T) + Sync,
) -> std::io::Result<()> {
    debug_assert_eq!(rows.measured.len(), rows.shown.len());
    let threads = crate::par::threads(8);
    let measured = crate::par::map_chunks(rows.measured, threads, ROWS_MEASURED_PER_PART, |part| {
        let mut t = Table::headless(head.len());
        for item in part {
            row(&mut t, item);
            t.forget_rows();
        }
        t
    });
    let mut head = Table::new(head);
    for part in measured {
        head.append(part);
    }
    let widths = head.widths().to_vec();
    w.write_all(head.render().as_bytes())?;
    let spare = crate::par::Spare::<(Table, String)>::new();
    let parts: Vec<&[T]> = rows.shown.chunks(ROWS_PER_PART).collect();
    let make = |part: &&[T]| {
        let taken = spare.take();
        let (mut t, mut lines) = taken.unwrap_or_else(|| (Table::with_widths(&widths), String::new()));
        for item in *part {
            row(&mut t, item);
        }
        t.render_into(&mut lines);
        t.forget_rows();
        (t, lines)
    };
    crate::par::make_in_order(&parts, threads, make, |_, (t, mut lines)| {
        w.write_all(lines.as_bytes())?;
        lines.clear();
        spare.give((t, lines));
        Ok(())
    })
}

/// Rows a thread measures at a time (keeping nothing), and lays out at a time: enough to be
/// worth a thread, few enough that a round of laid-out rows on every core stays a few MB.
const ROWS_MEASURED_PER_PART: usize = 8192;
const ROWS_PER_PART: usize = 1024;

fn flow_row(t: &mut Table, s: &Session, v: &FlowView, t0: i64) {
    let f = &s.flows()[v.id as usize];
    let transfer = s.flow(v.id).facts.transfer.as_deref().map(|t| &t.metrics);
    t.cell(v.class.registry.as_deref().unwrap_or("-"))
        .cell(role_label(v.class.role))
        .cell(v.naming.hostname.as_deref().unwrap_or("-"))
        .cell(v.naming.source.as_str())
        .cell(format_args!("{} {}:{} → {}", f.proto.as_str(), f.client, f.client_port, sock(f.server, f.server_port)))
        .cell(format_args!("{}{}", v.scope.as_str(), if v.via_private_link { "+pl" } else { "" }))
        .cell(format_args!("+{}s", secs(f.first_ns - t0)))
        .cell(format_args!("{}s", secs(f.last_ns - f.first_ns)))
        .cell(format_args!("{}/{}", human_bytes(f.bytes_up), human_bytes(f.bytes_down)))
        .cell(f.tcp.connect_rtt_ns().map_or_else(|| "-".to_string(), human_ms))
        .cell(transfer.and_then(|t| t.goodput_down_bps()).map_or_else(|| "-".to_string(), human_rate))
        .cell(v.outcome.as_str());
}

/// Plain HTTP and proxy CONNECTs of the flows shown, in their order.
fn in_clear(o: &mut String, s: &Session, order: &[&FlowView]) {
    let clear: Vec<Vec<String>> = order
        .iter()
        .filter(|v| {
            let facts = s.flow(v.id).facts;
            facts.http.is_some() || facts.quic.is_some()
        })
        .flat_map(|v| {
            let f = &s.flows()[v.id as usize];
            let facts = s.flow(v.id).facts;
            let flow = format!("{}:{} → {}", f.client, f.client_port, sock(f.server, f.server_port));
            clear_text_lines(facts, f).into_iter().filter(|(k, _)| *k != "quic").map(move |(k, t)| {
                vec![
                    v.naming.hostname.as_deref().map(str::to_string).unwrap_or_else(|| "-".into()),
                    flow.clone(),
                    k.to_string(),
                    t,
                ]
            })
        })
        .collect();
    if !clear.is_empty() {
        let _ = writeln!(o, "\nIN CLEAR: plain HTTP and proxy CONNECTs (paths without their query string)");
        o.push_str(&table(&["HOST", "FLOW", "WHAT", "REQUEST AND ANSWER"], &clear));
    }
}

fn dns(w: &mut impl std::io::Write, s: &Session) -> std::io::Result<()> {
    let t0 = s.stats.first_ns.unwrap_or(0);
    w.write_all(b"\nDNS ANSWERS\n")?;
    let answers: Vec<&DnsAnswer> = s.dns.iter().collect();
    write_streamed(
        w,
        &["TIME", "SERVER", "TYPE", "CHAIN", "ADDRESSES", "TTL"],
        Rows { measured: &answers, shown: &answers },
        |t, d| {
            t.cell(format_args!("+{}s", secs(d.ts_ns - t0)))
                .cell(d.server)
                .cell(d.msg.qtype.as_deref().unwrap_or_default())
                .cell(Joined(&d.msg.chain, " → "));
            if d.msg.addresses.is_empty() {
                t.cell(rcode_name(d.msg.rcode));
            } else {
                t.cell(Joined(&d.msg.addresses, ", "));
            }
            match d.msg.min_ttl {
                Some(ttl) => t.cell(ttl),
                None => t.cell("-"),
            };
        },
    )?;
    if !s.dns.unanswered().is_empty() {
        let rows: Vec<Vec<String>> = s
            .dns
            .unanswered()
            .iter()
            .map(|q| vec![rfc3339_us(q.ts_ns), q.server.to_string(), q.qtype.clone(), q.query.clone()])
            .collect();
        w.write_all(b"\nUNANSWERED QUERIES\n")?;
        w.write_all(table(&["TIME", "SERVER", "TYPE", "QUERY"], &rows).as_bytes())?;
    }
    Ok(())
}

fn warnings(o: &mut String, st: &crate::session::Stats) {
    if st.warning_count() > 0 {
        let _ = writeln!(o, "\nWARNINGS");
        for (k, n) in &st.warnings {
            let first = st.warning_samples.iter().find(|w| w.kind == *k);
            let _ =
                writeln!(o, "{n:>8}  {k}{}", first.map(|w| format!("  (first: {})", w.message)).unwrap_or_default());
        }
    }
}

/// A QUIC version as people name it: `v1`, `v2`, `draft-29`, else its number.
pub fn quic_version_name(v: u32) -> String {
    match v {
        crate::dissect::quic::VERSION_1 => "v1".into(),
        crate::dissect::quic::VERSION_2 => "v2".into(),
        0xff00_0000..=0xff00_00ff => format!("draft-{}", v & 0xff),
        _ => format!("0x{v:08x}"),
    }
}

/// What a flow showed in clear besides TLS, as (label, text) lines for the text report and the
/// UI details: its QUIC version, its plain HTTP exchange, its CONNECT through a proxy.
pub fn clear_text_lines(facts: &crate::session::FlowFacts, f: &crate::flow::Flow) -> Vec<(&'static str, String)> {
    let mut out = Vec::new();
    if let Some(v) = facts.quic.as_ref().and_then(|q| q.version) {
        out.push(("quic", format!("QUIC {} (ClientHello read from its Initial packets)", quic_version_name(v))));
    }
    let Some(h) = facts.http.as_deref() else { return out };
    let mut answer = String::new();
    if let Some(r) = &h.response {
        answer.push_str(&format!(" → {}", r.status_line));
        if let Some(l) = &r.location_host {
            answer.push_str(&format!(" · Location {l}"));
        }
        if let Some(sv) = &r.server {
            answer.push_str(&format!(" · Server {sv}"));
        }
        if let Some(a) = &r.proxy_authenticate {
            answer.push_str(&format!(" · Proxy-Authenticate {a}"));
        }
    }
    match &h.request {
        Some(q) if q.connect.is_some() => {
            out.push(("proxy", format!("CONNECT {} via {}{answer}", q.path, sock(f.server, f.server_port))))
        }
        Some(q) => out
            .push(("http", format!("{} {}{} (plain HTTP){answer}", q.method, q.host.as_deref().unwrap_or(""), q.path))),
        None if h.response.is_some() => out.push(("http", format!("(request not captured){answer}"))),
        None => {}
    }
    out
}

/// A flow's process in one line: `dockerd (pid 812, uid 0) · /usr/bin/dockerd · container 3f1c6a0d8a1e`.
pub fn process_line(p: &crate::procs::Process) -> String {
    let mut line = format!("{} (pid {}, uid {})", p.name, p.pid, p.uid);
    if let Some(exe) = &p.exe {
        line.push_str(&format!(" · {exe}"));
    }
    if let Some(c) = &p.container {
        // The short form docker and crictl show.
        line.push_str(&format!(" · container {}", c.get(..12).unwrap_or(c)));
    }
    if p.side == crate::procs::Side::Server {
        // It accepted the flow rather than opened it.
        line.push_str(" · server end");
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_made_apart_and_appended_make_the_same_table() {
        let rows = [["a", "wide cell", "1"], ["longer one", "b", "22"], ["c", "d", "333"]];
        let mut whole = Table::new(&["X", "Y", "Z"]);
        rows.iter().for_each(|r| whole.row(r));
        let mut joined = Table::new(&["X", "Y", "Z"]);
        for part in rows.chunks(2) {
            let mut t = Table::headless(3);
            part.iter().for_each(|r| t.row(r));
            joined.append(t);
        }
        assert_eq!(joined.render(), whole.render());
        assert!(whole.render().contains("longer one  b          22\n"), "{}", whole.render());
    }

    #[test]
    fn rows_measured_then_laid_out_in_parts_make_the_same_lines() {
        let rows = [["a", "wide cell", "1"], ["longer one", "b", "22"], ["c", "d", "333"]];
        let mut whole = Table::new(&["X", "Y", "Z"]);
        rows.iter().for_each(|r| whole.row(r));
        let mut measured = Table::new(&["X", "Y", "Z"]);
        for r in &rows {
            measured.row(r);
            measured.forget_rows();
        }
        assert_eq!(measured.widths(), [10, 9, 3]);
        let mut lines = String::new();
        let mut head = Table::with_widths(measured.widths());
        head.row(["X", "Y", "Z"]);
        lines.push_str(&head.render());
        for part in rows.chunks(2) {
            let mut t = Table::with_widths(measured.widths());
            part.iter().for_each(|r| t.row(r));
            t.render_into(&mut lines);
        }
        assert_eq!(lines, whole.render());
    }

    #[test]
    fn tables_pad_by_chars_trim_line_ends_and_keep_rows_apart() {
        let rows = vec![
            vec!["a→b".to_string(), "x".into(), "".into()],
            vec!["long cell".to_string()],
            vec!["1".to_string(), "2".into(), "3".into(), "past the head".into()],
        ];
        let t = table(&["ONE", "TWO", "THREE"], &rows);
        assert_eq!(t, "ONE        TWO  THREE\na→b        x\nlong cell\n1          2    3\n");
        let mut cells = Table::new(&["N", "WHAT"]);
        cells.cell(7).cell(format_args!("{}+{}", "x", 1)).cell("é").cell("");
        assert_eq!(cells.render(), "N  WHAT\n7  x+1\né\n");
    }

    #[test]
    fn a_process_reads_in_one_line() {
        let mut p = crate::procs::Process {
            pid: 812,
            name: "dockerd".into(),
            exe: Some("/usr/bin/dockerd".into()),
            uid: 0,
            container: None,
            side: crate::procs::Side::Client,
        };
        assert_eq!(process_line(&p), "dockerd (pid 812, uid 0) · /usr/bin/dockerd");
        p.exe = None;
        p.container = Some("3f1c6a0d8a1e4c4fb1b8f2d77c0e5e9a0b2d4c6e8f0a1b3c5d7e9f1a2b4c6d8e".into());
        assert_eq!(process_line(&p), "dockerd (pid 812, uid 0) · container 3f1c6a0d8a1e");
        p.side = crate::procs::Side::Server;
        assert!(process_line(&p).ends_with(" · server end"));
    }
}
