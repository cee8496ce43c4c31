//! The timeline's lines: flows (or hosts, the `g` view) grouped by registry and role under
//! group headings, in the order a pull uses them, rows by first packet. Built when the model
//! changes, never per frame.

use rustc_hash::FxHashMap;
use std::net::IpAddr;

use crate::analysis::endpoints::role_order;
use crate::analysis::{FlowView, HostKey};
use crate::classify::{Role, Scope};
use crate::flow::L4;
use crate::ui::ViewKind;

use super::recs::{AnswerRec, FlowRec};

/// Where a row belongs; the heading of a group says it in words.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Group {
    Login,
    Auth,
    DataDedicated,
    DataStorage,
    /// Layer data of a registry other than ACR.
    Data,
    Other,
    Dns,
}

impl Group {
    pub const ALL: [Group; 7] =
        [Group::Login, Group::Auth, Group::DataDedicated, Group::DataStorage, Group::Data, Group::Other, Group::Dns];

    pub fn of(role: Role) -> Group {
        match role {
            Role::AcrLogin | Role::RegistryLogin => Group::Login,
            Role::Auth | Role::RegistryAuth => Group::Auth,
            Role::AcrDataDedicated => Group::DataDedicated,
            Role::AcrDataBlob => Group::DataStorage,
            Role::RegistryData => Group::Data,
            Role::Dns => Group::Dns,
            Role::Other => Group::Other,
        }
    }

    /// Rows that carry a registry's layers: what a pull is mostly about.
    pub fn is_data(self) -> bool {
        matches!(self, Group::DataDedicated | Group::DataStorage | Group::Data)
    }

    pub fn title(self) -> &'static str {
        match self {
            Group::Login => "Login",
            Group::Auth => "Auth",
            Group::DataDedicated => "Data: dedicated endpoint",
            Group::DataStorage => "Data: storage account",
            Group::Data => "Data",
            Group::Other => "Other",
            Group::Dns => "DNS",
        }
    }

    /// Five chars at the start of each row, so roles read without colour.
    pub fn badge(self) -> &'static str {
        match self {
            Group::Login => "LOGIN",
            Group::Auth => "AUTH",
            Group::DataDedicated | Group::Data => "DATA",
            Group::DataStorage => "BLOB",
            Group::Other => "OTHER",
            Group::Dns => "DNS",
        }
    }

    fn order(self, role: Role) -> u8 {
        role_order(match self {
            Group::Other => Role::Other,
            Group::Dns => Role::Dns,
            _ => role,
        })
    }
}

/// One row of the timeline: a flow, or every flow to one host (or one DNS server). The
/// names (host, registry) are those of the first flow's view, read from the model's views
/// rather than copied: a capture of a million flows makes a million rows.
#[derive(Debug, Clone)]
pub struct Row {
    /// Flow ids, by first packet.
    pub flows: Vec<u32>,
    pub group: Group,
    pub role: Role,
    /// The server address is private and a privatelink alias led to it.
    pub private_link: bool,
    /// A privatelink alias is in the DNS chain, whatever the address.
    pub alias: bool,
    /// What the host column shows when no name is known: what the address is known to be,
    /// `DNS server`, or `-`.
    pub unnamed: &'static str,
    /// Chars in [`Row::label`], for the column widths without reading the views again.
    label_chars: u32,
    pub server: IpAddr,
    pub port: u16,
    pub proto: L4,
    /// Distinct server addresses behind the row (more than one only in the host view).
    pub servers: u32,
    pub scope: Scope,
    pub first_ns: i64,
    pub last_ns: i64,
    pub bytes: u64,
    pub packets: u64,
    /// For DNS rows: when each answer arrived.
    pub dns_marks: Vec<i64>,
    /// The first of the row's flows whose process is known (live, or a file that names them).
    pub process: Option<u32>,
    /// Another of its flows was opened by a process of another name.
    pub processes_differ: bool,
}

impl Row {
    fn view<'v>(&self, views: &'v [FlowView]) -> Option<&'v FlowView> {
        views.get(*self.flows.first()? as usize)
    }

    /// The name the flows were opened for.
    pub fn host<'v>(&self, views: &'v [FlowView]) -> Option<&'v str> {
        self.view(views)?.naming.hostname.as_deref()
    }

    pub fn registry<'v>(&self, views: &'v [FlowView]) -> Option<&'v str> {
        self.view(views)?.class.registry.as_deref()
    }

    /// What the host column shows: the name, what the address is known to be, or `-`.
    pub fn label<'a>(&'a self, views: &'a [FlowView]) -> &'a str {
        self.host(views).unwrap_or(self.unnamed)
    }

    /// The process column's text: `dockerd`, `dockerd:812` (`pid`), `dockerd+` when other
    /// processes opened some of the row's flows too; `None` when no flow's process is known.
    pub fn process_text(&self, flows: &[FlowRec], pid: bool) -> Option<String> {
        let p = flows.get(self.process? as usize)?.process.as_deref()?;
        Some(match (self.processes_differ, pid) {
            (true, _) => format!("{}+", p.name),
            (false, true) => format!("{}:{}", p.name, p.pid),
            (false, false) => p.name.clone(),
        })
    }

    /// `40.79.197.136:443`, or how many addresses a host row spans.
    pub fn addr_text(&self) -> String {
        let mut s = String::new();
        let _ = self.write_addr(&mut s);
        s
    }

    fn write_addr(&self, w: &mut impl std::fmt::Write) -> std::fmt::Result {
        if self.servers > 1 {
            write!(w, "{} addresses", self.servers)
        } else {
            write!(w, "{}", std::net::SocketAddr::new(self.server, self.port))
        }
    }

    /// The width of [`Row::addr_text`], without building it.
    fn addr_width(&self) -> usize {
        match self.server {
            IpAddr::V4(a) if self.servers <= 1 => {
                // Four numbers, three dots, a colon and the port: the common case, counted.
                a.octets().iter().map(|&o| digits(u64::from(o))).sum::<usize>() + 4 + digits(u64::from(self.port))
            }
            _ => {
                let mut n = Width(0);
                let _ = self.write_addr(&mut n);
                n.0
            }
        }
    }

    /// Case-insensitive match of an already lower-cased needle against what a user may type:
    /// host, address, role, badge, group, registry, scope, and (live) the name of a process
    /// that opened one of the row's flows.
    pub fn matches(&self, needle: &str, views: &[FlowView], flows: &[FlowRec]) -> bool {
        if needle.is_empty() {
            return true;
        }
        let has = |s: &str| s.to_ascii_lowercase().contains(needle);
        has(self.label(views))
            || has(&self.server.to_string())
            || has(self.role.as_str())
            || has(self.group.badge())
            || has(self.group.title())
            || self.registry(views).is_some_and(has)
            || has(self.scope.as_str())
            || (self.private_link && "private link".contains(needle))
            || self.flows.iter().filter_map(|&id| flows.get(id as usize)?.process.as_deref()).any(|p| has(&p.name))
    }
}

#[derive(Debug, Clone)]
pub struct Heading {
    pub registry: Option<String>,
    /// Provider and region, on the first heading of a registry.
    pub meta: Option<String>,
    pub group: Group,
    pub private_link: bool,
    pub flows: usize,
}

impl Heading {
    pub fn text(&self) -> String {
        let mut s = String::new();
        if let Some(r) = &self.registry {
            s.push_str(r);
            s.push_str(" · ");
        }
        if self.private_link {
            s.push_str("Private link · ");
        }
        s.push_str(self.group.title());
        s.push_str(&format!(" · {} flow{}", self.flows, if self.flows == 1 { "" } else { "s" }));
        if let Some(m) = &self.meta {
            s.push_str(" · ");
            s.push_str(m);
        }
        s
    }
}

/// The lines of one view, and the widths of their columns.
#[derive(Debug, Clone, Default)]
pub struct ViewLines {
    pub lines: Vec<Line>,
    pub widths: Widths,
}

/// The widest host label, server address and process among a view's rows, so the columns do
/// not jump as the list scrolls.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Widths {
    pub label: usize,
    pub addr: usize,
    /// The process column without pids and with them; 0 when no flow's process is known (no
    /// column then, and the screen is as it would be without attribution).
    pub process: usize,
    pub process_pid: usize,
    /// The host label followed by ` (process)`, for screens too narrow for the column.
    pub label_process: usize,
}

pub fn widths(lines: &[Line], flows: &[FlowRec]) -> Widths {
    let mut w = Widths::default();
    for r in lines.iter().filter_map(Line::row) {
        let label = r.label_chars as usize + usize::from(r.alias) * 2;
        w.label = w.label.max(label);
        w.addr = w.addr.max(r.addr_width());
        if let Some(p) = r.process.and_then(|id| flows.get(id as usize)?.process.as_deref()) {
            let name = p.name.chars().count() + usize::from(r.processes_differ);
            let pid = if r.processes_differ { 0 } else { 1 + digits(u64::from(p.pid)) };
            w.process = w.process.max(name);
            w.process_pid = w.process_pid.max(name + pid);
            w.label_process = w.label_process.max(label + name + 3);
        } else {
            w.label_process = w.label_process.max(label);
        }
    }
    w
}

fn digits(n: u64) -> usize {
    n.checked_ilog10().map_or(1, |d| d as usize + 1)
}

/// Counts the chars written to it.
struct Width(usize);

impl std::fmt::Write for Width {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        self.0 += s.chars().count();
        Ok(())
    }
}

#[derive(Debug, Clone)]
pub enum Line {
    Heading(Heading),
    Row(Row),
}

impl Line {
    pub fn row(&self) -> Option<&Row> {
        match self {
            Line::Row(r) => Some(r),
            Line::Heading(_) => None,
        }
    }
}

/// `--process NAMES`: the flows and DNS answers the rows show, by id and by index.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Shown {
    pub flows: Vec<bool>,
    pub answers: Vec<bool>,
    /// Flows that began by the build's time and are not shown.
    pub hidden: usize,
}

impl Shown {
    /// The flows the processes `names` opened, and the DNS answers they used: those whose
    /// addresses are the server of such a flow, or that such a process asked for. The resolver
    /// flows that carried those answers are shown too (their rows hold the answers' marks).
    pub fn of(names: &[String], flows: &[FlowRec], answers: &[AnswerRec], until: Option<i64>) -> Shown {
        let by = |rec: &FlowRec| rec.process.as_deref().is_some_and(|p| p.is_one_of(names));
        let mut shown: Vec<bool> = flows.iter().map(by).collect();
        let servers: rustc_hash::FxHashSet<IpAddr> =
            flows.iter().zip(&shown).filter(|(_, &s)| s).map(|(r, _)| r.flow.server).collect();
        let used: Vec<bool> = answers
            .iter()
            .map(|a| a.addresses.iter().any(|x| servers.contains(x)) || flows.get(a.flow as usize).is_some_and(by))
            .collect();
        for (a, _) in answers.iter().zip(&used).filter(|(_, &u)| u) {
            if let Some(s) = shown.get_mut(a.flow as usize) {
                *s = true;
            }
        }
        let until = until.unwrap_or(i64::MAX);
        let hidden = flows.iter().zip(&shown).filter(|(r, &s)| !s && r.flow.first_ns <= until).count();
        Shown { flows: shown, answers: used, hidden }
    }
}

/// Groups and orders the flows that began by `until` into lines for `view` (only those of
/// `shown`, when given). DNS exchanges are one row per server in both views: a pull asks
/// dozens of questions, one flow each, and a row apiece would push the registry's rows off
/// the screen while telling nothing more than the marks on one row do.
pub fn build(
    view: ViewKind,
    views: &[FlowView],
    flows: &[FlowRec],
    answers: &[AnswerRec],
    until: Option<i64>,
    shown: Option<&Shown>,
) -> Vec<Line> {
    let until = until.unwrap_or(i64::MAX);
    // Taken out in sorted order at the end (a row moves once more, not twice).
    let mut rows: Vec<Option<Row>> = Vec::with_capacity(match view {
        ViewKind::Flows => views.len(),
        ViewKind::Endpoints => 0,
    });
    // Per row, made while its view is at hand: rows are many, and reading the views again
    // in sorted order would chase a pointer per row.
    let mut registry_of: Vec<u32> = Vec::new();
    let mut registries = Registries::default();
    let mut merged: FxHashMap<MergeKey<'_>, usize> = FxHashMap::default();
    for (i, (v, rec)) in views.iter().zip(flows).enumerate() {
        let f = &rec.flow;
        if f.first_ns > until || shown.is_some_and(|s| !s.flows.get(i).copied().unwrap_or(false)) {
            continue;
        }
        let group = Group::of(v.class.role);
        // DNS exchanges are one row per server in both views.
        let key = match (group, view) {
            (Group::Dns, _) | (_, ViewKind::Endpoints) => Some(v.host_key(f.server)),
            (_, ViewKind::Flows) => None,
        };
        let key = key.map(|host| MergeKey {
            registry: v.class.registry.as_deref(),
            private_link: v.via_private_link,
            group,
            host,
        });
        if let Some(r) = key.as_ref().and_then(|k| merged.get(k)).and_then(|&i| rows[i].as_mut()) {
            add_flow(r, v, rec, flows);
            continue;
        }
        if let Some(k) = key {
            merged.insert(k, rows.len());
        }
        registry_of.push(registries.id(v.class.registry.as_deref()));
        rows.push(Some(new_row(v, rec, group)));
    }
    let mut by_server: FxHashMap<IpAddr, Vec<i64>> = FxHashMap::default();
    for (_, a) in answers
        .iter()
        .enumerate()
        .filter(|(i, a)| a.ts_ns <= until && shown.is_none_or(|s| s.answers.get(*i).copied().unwrap_or(false)))
    {
        by_server.entry(a.server).or_default().push(a.ts_ns);
    }
    for r in rows.iter_mut().flatten().filter(|r| r.group == Group::Dns) {
        r.dns_marks = by_server.remove(&r.server).unwrap_or_default();
    }
    let rank = registries.ranks();
    let mut keys: Vec<SortKey> = rows
        .iter()
        .flatten()
        .zip(&registry_of)
        .enumerate()
        .map(|(i, (r, &reg))| SortKey {
            registry: rank[reg as usize],
            private_link: r.private_link,
            role: r.group.order(r.role),
            group: r.group,
            first_ns: r.first_ns,
            first_flow: r.flows[0],
            index: i as u32,
        })
        .collect();
    keys.sort_unstable();
    with_headings(keys, rows, views)
}

/// The flows that make one row when merged (a DNS server's exchanges; a host in the host
/// view): the row's heading, and the host.
#[derive(PartialEq, Eq, Hash)]
struct MergeKey<'v> {
    registry: Option<&'v str>,
    private_link: bool,
    group: Group,
    host: HostKey<'v>,
}

/// Where a row sorts, field by field. Rows are sorted by this small key, made once per row:
/// sorting hundreds of thousands of rows then moves small keys, not rows, and compares no
/// strings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct SortKey {
    /// Named registries first, by name.
    registry: u32,
    private_link: bool,
    /// Where the role comes in a pull.
    role: u8,
    group: Group,
    first_ns: i64,
    first_flow: u32,
    /// The row's index before sorting.
    index: u32,
}

impl SortKey {
    /// Registry (by rank), private link and group make a heading.
    fn same_heading(&self, other: &SortKey) -> bool {
        (self.registry, self.private_link, self.group) == (other.registry, other.private_link, other.group)
    }
}

/// The registries of one build, numbered as first seen; no registry is number 0.
#[derive(Default)]
struct Registries<'v> {
    ids: FxHashMap<&'v str, u32>,
    names: Vec<&'v str>,
}

impl<'v> Registries<'v> {
    fn id(&mut self, name: Option<&'v str>) -> u32 {
        let Some(name) = name else { return 0 };
        *self.ids.entry(name).or_insert_with(|| {
            self.names.push(name);
            self.names.len() as u32
        })
    }

    /// By id: where the registry sorts (by name; rows of no registry last).
    fn ranks(&self) -> Vec<u32> {
        let mut by_name: Vec<u32> = (0..self.names.len() as u32).collect();
        by_name.sort_unstable_by_key(|&i| self.names[i as usize]);
        let mut rank = vec![u32::MAX; self.names.len() + 1];
        for (r, &i) in by_name.iter().enumerate() {
            rank[i as usize + 1] = r as u32;
        }
        rank
    }
}

fn new_row(v: &FlowView, rec: &FlowRec, group: Group) -> Row {
    let f = &rec.flow;
    let unnamed = match v.well_known {
        Some(w) => w.name(),
        None if group == Group::Dns => "DNS server",
        None => "-",
    };
    let label_chars = v.naming.hostname.as_deref().unwrap_or(unnamed).chars().count();
    Row {
        flows: vec![v.id],
        group,
        role: v.class.role,
        private_link: v.via_private_link,
        alias: v.privatelink_alias,
        unnamed,
        label_chars: u32::try_from(label_chars).unwrap_or(u32::MAX),
        server: f.server,
        port: f.server_port,
        proto: f.proto,
        servers: 1,
        scope: v.scope,
        first_ns: f.first_ns,
        last_ns: f.last_ns,
        bytes: f.bytes(),
        packets: f.packets(),
        dns_marks: Vec::new(),
        process: rec.process.is_some().then_some(v.id),
        processes_differ: false,
    }
}

fn add_flow(r: &mut Row, v: &FlowView, rec: &FlowRec, flows: &[FlowRec]) {
    let f = &rec.flow;
    r.flows.push(v.id);
    r.first_ns = r.first_ns.min(f.first_ns);
    r.last_ns = r.last_ns.max(f.last_ns);
    r.bytes += f.bytes();
    r.packets += f.packets();
    r.alias |= v.privatelink_alias;
    if let Some(p) = rec.process.as_deref() {
        match r.process.and_then(|id| flows.get(id as usize)?.process.as_deref()) {
            None => r.process = Some(v.id),
            Some(first) => r.processes_differ |= first.name != p.name,
        }
    }
    if f.server != r.server {
        // Counted roughly: a host behind a handful of addresses is what matters here.
        r.servers = r.servers.saturating_add(1);
    }
}

fn with_headings(keys: Vec<SortKey>, mut slots: Vec<Option<Row>>, views: &[FlowView]) -> Vec<Line> {
    let mut out = Vec::with_capacity(slots.len() + 16);
    let mut last_registry: Option<u32> = None;
    let mut rows = keys.into_iter().filter_map(|k| Some((k, slots[k.index as usize].take()?))).peekable();
    while let Some((key, first)) = rows.next() {
        let registry = first.registry(views);
        let meta = match registry {
            Some(_) if last_registry != Some(key.registry) => registry_meta(views, &first),
            _ => None,
        };
        last_registry = registry.map(|_| key.registry);
        let heading = out.len();
        out.push(Line::Heading(Heading {
            registry: registry.map(str::to_string),
            meta,
            group: first.group,
            private_link: first.private_link,
            flows: 0,
        }));
        let mut flows = first.flows.len();
        out.push(Line::Row(first));
        while let Some((_, r)) = rows.next_if(|(k, _)| k.same_heading(&key)) {
            flows += r.flows.len();
            out.push(Line::Row(r));
        }
        if let Some(Line::Heading(h)) = out.get_mut(heading) {
            h.flows = flows;
        }
    }
    out
}

/// `ACR japaneast`: the provider and region the rules (or the chain) gave the registry.
fn registry_meta(views: &[FlowView], row: &Row) -> Option<String> {
    let v = row.flows.iter().filter_map(|&id| views.get(id as usize)).find(|v| v.class.provider.is_some())?;
    let provider = v.class.provider.as_deref().map(|p| p.to_ascii_uppercase())?;
    let region =
        row.flows.iter().filter_map(|&id| views.get(id as usize)?.class.region.as_deref().map(str::to_string)).next();
    Some(match region {
        Some(r) => format!("{provider} {r}"),
        None => provider,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(server: &str, port: u16, servers: u32) -> Row {
        Row {
            flows: vec![0],
            group: Group::Login,
            role: Role::AcrLogin,
            private_link: false,
            alias: false,
            unnamed: "-",
            label_chars: 1,
            server: server.parse().unwrap(),
            port,
            proto: L4::Tcp,
            servers,
            scope: Scope::Public,
            first_ns: 0,
            last_ns: 0,
            bytes: 0,
            packets: 0,
            dns_marks: Vec::new(),
            process: None,
            processes_differ: false,
        }
    }

    #[test]
    fn address_width_is_the_width_of_the_address_text() {
        let cases = [
            ("0.0.0.0", 0, 1),
            ("1.2.3.4", 9, 1),
            ("10.20.30.40", 80, 1),
            ("100.200.250.199", 443, 1),
            ("255.255.255.255", 65535, 1),
            ("9.99.100.1", 10000, 1),
            ("::1", 53, 1),
            ("2001:db8::10", 443, 1),
            ("fe80::1:2:3:4", 65535, 1),
            ("::ffff:1.2.3.4", 443, 1),
            ("40.79.197.136", 443, 2),
            ("2001:db8::1", 443, 1234),
        ];
        for (ip, port, servers) in cases {
            let r = row(ip, port, servers);
            assert_eq!(r.addr_width(), r.addr_text().chars().count(), "{}", r.addr_text());
        }
    }
}
