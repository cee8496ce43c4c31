//! The firewall view: one row per host name the capture needed (or per server address when
//! nothing named it), with everything a network team asks for.

use std::collections::BTreeMap;
use std::net::IpAddr;

use serde::Serialize;

use super::FlowView;
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
    let mut by_key: BTreeMap<(Option<String>, Role, String), Endpoint> = BTreeMap::new();
    for v in flows {
        let f = &s.flows()[v.id as usize];
        // Unnamed flows group by address so each stays visible; named ones by name and role.
        let addr_key = if v.naming.hostname.is_none() { f.server.to_string() } else { String::new() };
        let key = (v.naming.hostname.clone(), v.class.role, addr_key);
        let e = by_key.entry(key).or_insert_with(|| Endpoint {
            hostname: v.naming.hostname.clone(),
            well_known: crate::classify::scope::well_known(f.server),
            role: v.class.role.as_str(),
            provider: v.class.provider.clone(),
            registry: v.class.registry.clone(),
            region: v.class.region.clone(),
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
        push_unique(&mut e.proto, f.proto.as_str());
        push_unique(&mut e.ports, f.server_port);
        push_unique(&mut e.addresses, f.server);
        push_unique(&mut e.scopes, v.scope.as_str());
        for t in &v.tags {
            push_unique(&mut e.service_tags, t.tag.clone());
        }
        e.via_private_link |= v.via_private_link;
        if e.dns_chain.is_empty() {
            e.dns_chain = v.chain(s).to_vec();
        }
        if e.registry.is_none() {
            e.registry = v.class.registry.clone();
        }
        e.flows += 1;
        e.packets += f.packets();
        e.bytes += f.bytes();
        e.first_ns = e.first_ns.min(f.first_ns);
    }
    let mut out: Vec<Endpoint> = by_key.into_values().collect();
    for e in &mut out {
        e.ports.sort_unstable();
        e.addresses.sort_unstable();
    }
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
