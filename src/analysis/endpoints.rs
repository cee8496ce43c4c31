//! The firewall view: one row per host name the capture needed (or per server address when
//! nothing named it), with everything a network team asks for.

use std::net::IpAddr;

use rustc_hash::{FxHashMap, FxHashSet};

use serde::Serialize;

use super::{FlowView, HostKey};
use crate::classify::rules::Role;
use crate::session::Session;

#[derive(Debug, Clone, Serialize)]
pub struct Endpoint {
    /// The name the client asked for; null for flows nothing named.
    pub hostname: Option<String>,
    /// What the address is known to be, for rows without a name (e.g. "Azure platform DNS").
    pub well_known: Option<&'static str>,
    pub role: &'static str,
    pub provider: Option<String>,
    pub registry: Option<String>,
    pub region: Option<String>,
    pub proto: Vec<&'static str>,
    pub ports: Vec<u16>,
    pub addresses: Vec<IpAddr>,
    pub scopes: Vec<&'static str>,
    pub service_tags: Vec<String>,
    pub via_private_link: bool,
    /// The CNAME chain of the first flow that had one.
    pub dns_chain: Vec<String>,
    pub flows: u64,
    pub packets: u64,
    pub bytes: u64,
    #[serde(skip)]
    pub role_kind: Role,
    #[serde(skip)]
    pub first_ns: i64,
}

pub fn build(s: &Session, flows: &[FlowView]) -> Vec<Endpoint> {
    // Named flows group by name and role; unnamed ones by server address, so each stays
    // visible. Found through a hash index and deduplicated through sets: a capture of 200,000
    // flows to a few thousand addresses must not compare every address with every other.
    let mut index: FxHashMap<(HostKey<'_>, Role), usize> = FxHashMap::default();
    let mut out: Vec<Endpoint> = Vec::new();
    let mut seen_ports: FxHashSet<(usize, u16)> = FxHashSet::default();
    let mut seen_addrs: FxHashSet<(usize, IpAddr)> = FxHashSet::default();
    for v in flows {
        let f = &s.flows()[v.id as usize];
        let key = (v.host_key(f.server), v.class.role);
        let i = *index.entry(key).or_insert_with(|| {
            out.push(Endpoint {
                hostname: v.naming.hostname.as_deref().map(str::to_string),
                well_known: v.well_known.map(crate::classify::scope::WellKnown::name),
                role: v.class.role.as_str(),
                provider: v.class.provider.as_deref().map(str::to_string),
                registry: v.class.registry.as_deref().map(str::to_string),
                region: v.class.region.as_deref().map(str::to_string),
                proto: Vec::new(),
                ports: Vec::new(),
                addresses: Vec::new(),
                scopes: Vec::new(),
                service_tags: Vec::new(),
                via_private_link: false,
                dns_chain: Vec::new(),
                flows: 0,
                packets: 0,
                bytes: 0,
                role_kind: v.class.role,
                first_ns: f.first_ns,
            });
            out.len() - 1
        });
        let e = &mut out[i];
        push_unique(&mut e.proto, f.proto.as_str());
        if seen_ports.insert((i, f.server_port)) {
            e.ports.push(f.server_port);
        }
        if seen_addrs.insert((i, f.server)) {
            e.addresses.push(f.server);
        }
        push_unique(&mut e.scopes, v.scope.as_str());
        for t in &v.tags {
            if !e.service_tags.contains(&t.tag) {
                e.service_tags.push(t.tag.clone());
            }
        }
        e.via_private_link |= v.via_private_link;
        if e.dns_chain.is_empty() {
            e.dns_chain = v.chain(s).to_vec();
        }
        if e.registry.is_none() {
            e.registry = v.class.registry.as_deref().map(str::to_string);
        }
        e.flows += 1;
        e.packets += f.packets();
        e.bytes += f.bytes();
        e.first_ns = e.first_ns.min(f.first_ns);
    }
    for e in &mut out {
        e.ports.sort_unstable();
        e.addresses.sort_unstable();
    }
    // Rows that tie in the order below keep the order of (name, role, address text).
    struct Keyed {
        hostname: Option<String>,
        role: Role,
        /// The first address of an unnamed endpoint, as text; empty for a named one.
        address: String,
        endpoint: Endpoint,
    }
    let mut keyed: Vec<Keyed> = out
        .into_iter()
        .map(|e| {
            let address = if e.hostname.is_none() { e.addresses[0].to_string() } else { String::new() };
            Keyed { hostname: e.hostname.clone(), role: e.role_kind, address, endpoint: e }
        })
        .collect();
    keyed.sort_unstable_by(|a, b| (&a.hostname, a.role, &a.address).cmp(&(&b.hostname, b.role, &b.address)));
    let mut out: Vec<Endpoint> = keyed.into_iter().map(|k| k.endpoint).collect();
    // Registry rows first (by registry, then role), then the rest; time breaks ties.
    out.sort_by(|a, b| {
        (a.registry.is_none(), &a.registry, role_order(a.role_kind), a.first_ns, &a.hostname).cmp(&(
            b.registry.is_none(),
            &b.registry,
            role_order(b.role_kind),
            b.first_ns,
            &b.hostname,
        ))
    });
    out
}

/// The order in which a pull uses its endpoints.
pub fn role_order(r: Role) -> u8 {
    match r {
        Role::AcrLogin | Role::RegistryLogin => 0,
        Role::Auth | Role::RegistryAuth => 1,
        Role::AcrDataDedicated => 2,
        Role::AcrDataBlob | Role::RegistryData => 3,
        Role::Other => 4,
        Role::Dns => 5,
    }
}

fn push_unique<T: PartialEq>(v: &mut Vec<T>, x: T) {
    if !v.contains(&x) {
        v.push(x);
    }
}
