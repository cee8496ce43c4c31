//! The timeline's lines: flows (or hosts, the `g` view) grouped by registry and role under
//! group headings, in the order a pull uses them, rows by first packet. Built when the model
//! changes, never per frame.

use std::collections::HashMap;
use std::net::IpAddr;

use crate::analysis::endpoints::role_order;
use crate::analysis::FlowView;
use crate::classify::{well_known, Role, Scope};
use crate::cli::ViewKind;
use crate::flow::L4;

use super::model::{AnswerRec, FlowRec};

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

/// One row of the timeline: a flow, or every flow to one host (or one DNS server).
#[derive(Debug, Clone)]
pub struct Row {
    /// Flow ids, by first packet.
    pub flows: Vec<u32>,
    pub group: Group,
    pub role: Role,
    pub registry: Option<String>,
    /// The server address is private and a privatelink alias led to it.
    pub private_link: bool,
    /// A privatelink alias is in the DNS chain, whatever the address.
    pub alias: bool,
    /// The name the flows were opened for.
    pub host: Option<String>,
    /// What the host column shows: the name, what the address is known to be, or `-`.
    pub label: String,
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
}

impl Row {
    /// `40.79.197.136:443`, or how many addresses a host row spans.
    pub fn addr_text(&self) -> String {
        if self.servers > 1 {
            format!("{} addresses", self.servers)
        } else {
            crate::output::text::sock(self.server, self.port)
        }
    }

    /// Case-insensitive match of an already lower-cased needle against what a user may type:
    /// host, address, role, badge, group, registry, scope.
    pub fn matches(&self, needle: &str) -> bool {
        if needle.is_empty() {
            return true;
        }
        let has = |s: &str| s.to_ascii_lowercase().contains(needle);
        has(&self.label)
            || self.host.as_deref().is_some_and(has)
            || has(&self.server.to_string())
            || has(self.role.as_str())
            || has(self.group.badge())
            || has(self.group.title())
            || self.registry.as_deref().is_some_and(has)
            || has(self.scope.as_str())
            || (self.private_link && "private link".contains(needle))
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

/// The widest host label and server address among a view's rows, so the columns do not
/// jump as the list scrolls.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Widths {
    pub label: usize,
    pub addr: usize,
}

pub fn widths(lines: &[Line]) -> Widths {
    let mut w = Widths::default();
    for r in lines.iter().filter_map(Line::row) {
        w.label = w.label.max(r.label.chars().count() + usize::from(r.alias) * 2);
        w.addr = w.addr.max(r.addr_text().chars().count());
    }
    w
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

/// Groups and orders the flows that began by `until` into lines for `view`. DNS exchanges are
/// one row per server in both views: a pull asks dozens of questions, one flow each, and a
/// row apiece would push the registry's rows off the screen while telling nothing more than
/// the marks on one row do.
pub fn build(
    view: ViewKind,
    views: &[FlowView],
    flows: &[FlowRec],
    answers: &[AnswerRec],
    until: Option<i64>,
) -> Vec<Line> {
    let until = until.unwrap_or(i64::MAX);
    let mut rows: Vec<Row> = Vec::new();
    let mut merged: HashMap<(Option<&str>, bool, Group, MergeKey<'_>), usize> = HashMap::new();
    for (v, rec) in views.iter().zip(flows) {
        let f = &rec.flow;
        if f.first_ns > until {
            continue;
        }
        let group = Group::of(v.class.role);
        let key = match (group, view, &v.naming.hostname) {
            (Group::Dns, ..) => Some(MergeKey::Addr(f.server)),
            (_, ViewKind::Flows, _) => None,
            (_, ViewKind::Endpoints, Some(h)) => Some(MergeKey::Host(h)),
            (_, ViewKind::Endpoints, None) => Some(MergeKey::Addr(f.server)),
        };
        let key = key.map(|k| (v.class.registry.as_deref(), v.via_private_link, group, k));
        if let Some(&i) = key.as_ref().and_then(|k| merged.get(k)) {
            add_flow(&mut rows[i], v, rec);
            continue;
        }
        if let Some(k) = key {
            merged.insert(k, rows.len());
        }
        rows.push(new_row(v, rec, group));
    }
    let mut by_server: HashMap<IpAddr, Vec<i64>> = HashMap::new();
    for a in answers.iter().filter(|a| a.ts_ns <= until) {
        by_server.entry(a.server).or_default().push(a.ts_ns);
    }
    for r in rows.iter_mut().filter(|r| r.group == Group::Dns) {
        r.dns_marks = by_server.remove(&r.server).unwrap_or_default();
    }
    rows.sort_by(|a, b| {
        (a.registry.is_none(), &a.registry, a.private_link, a.group.order(a.role), a.group, a.first_ns, a.flows[0]).cmp(
            &(
                b.registry.is_none(),
                &b.registry,
                b.private_link,
                b.group.order(b.role),
                b.group,
                b.first_ns,
                b.flows[0],
            ),
        )
    });
    with_headings(rows, views)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum MergeKey<'a> {
    Host(&'a str),
    Addr(IpAddr),
}

fn new_row(v: &FlowView, rec: &FlowRec, group: Group) -> Row {
    let f = &rec.flow;
    let label = match (&v.naming.hostname, well_known(f.server)) {
        (Some(h), _) => h.clone(),
        (None, Some(w)) => w.to_string(),
        (None, None) if group == Group::Dns => "DNS server".to_string(),
        (None, None) => "-".to_string(),
    };
    Row {
        flows: vec![v.id],
        group,
        role: v.class.role,
        registry: v.class.registry.clone(),
        private_link: v.via_private_link,
        alias: v.privatelink_alias,
        host: v.naming.hostname.clone(),
        label,
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
    }
}

fn add_flow(r: &mut Row, v: &FlowView, rec: &FlowRec) {
    let f = &rec.flow;
    r.flows.push(v.id);
    r.first_ns = r.first_ns.min(f.first_ns);
    r.last_ns = r.last_ns.max(f.last_ns);
    r.bytes += f.bytes();
    r.packets += f.packets();
    r.alias |= v.privatelink_alias;
    if f.server != r.server {
        // Counted roughly: a host behind a handful of addresses is what matters here.
        r.servers = r.servers.saturating_add(1);
    }
}

fn with_headings(rows: Vec<Row>, views: &[FlowView]) -> Vec<Line> {
    let mut out = Vec::with_capacity(rows.len() + 16);
    let mut last_registry: Option<String> = None;
    let mut rows = rows.into_iter().peekable();
    let mut pending: Vec<Row> = Vec::new();
    while let Some(first) = rows.next() {
        pending.clear();
        let same =
            |r: &Row| r.registry == first.registry && r.private_link == first.private_link && r.group == first.group;
        while let Some(r) = rows.next_if(|r| same(r)) {
            pending.push(r);
        }
        let meta = match &first.registry {
            Some(r) if last_registry.as_ref() != Some(r) => registry_meta(views, &first),
            _ => None,
        };
        last_registry = first.registry.clone();
        let flows = first.flows.len() + pending.iter().map(|r| r.flows.len()).sum::<usize>();
        out.push(Line::Heading(Heading {
            registry: first.registry.clone(),
            meta,
            group: first.group,
            private_link: first.private_link,
            flows,
        }));
        out.push(Line::Row(first));
        out.extend(pending.drain(..).map(Line::Row));
    }
    out
}

/// `ACR japaneast`: the provider and region the rules (or the chain) gave the registry.
fn registry_meta(views: &[FlowView], row: &Row) -> Option<String> {
    let v = row.flows.iter().filter_map(|&id| views.get(id as usize)).find(|v| v.class.provider.is_some())?;
    let provider = v.class.provider.as_deref().map(|p| p.to_ascii_uppercase())?;
    let region = row.flows.iter().filter_map(|&id| views.get(id as usize)?.class.region.clone()).next();
    Some(match region {
        Some(r) => format!("{provider} {r}"),
        None => provider,
    })
}
