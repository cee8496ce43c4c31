//! From named flows to what the user came for: each flow's role, registry and scope, the
//! endpoints a firewall must allow, and findings in plain words.

pub mod endpoints;
pub mod failures;
pub mod finding;
pub mod findings;
pub mod outcome;
pub mod phases;
pub mod pulls;
pub mod slow;

use std::net::IpAddr;
use std::sync::Arc;

use crate::classify::rules::{Classification, Role, Rules};
use crate::classify::scope::{scope, Scope};
use crate::classify::service_tags::{ServiceTags, TagMatch};
use crate::session::naming::Naming;
use crate::session::Session;

pub use endpoints::Endpoint;
pub use findings::Finding;

/// A flow as every view shows it: named, classified, scoped.
#[derive(Debug, Clone)]
pub struct FlowView {
    pub id: u32,
    pub naming: Naming,
    /// Shared by the views of flows classified alike (a busy capture names the same few hosts
    /// over and over); changed through [`Reclassify`].
    pub class: Arc<Classification>,
    /// The registry was inferred from the login flow that preceded this storage flow.
    pub registry_inferred: bool,
    pub via_private_link: bool,
    /// A privatelink alias is in the chain (whatever the address turned out to be).
    pub privatelink_alias: bool,
    pub scope: Scope,
    /// What the server address is when it is a fixed one of the platform (Azure's DNS,
    /// instance metadata), whatever the flow's name.
    pub well_known: Option<crate::classify::scope::WellKnown>,
    /// Boxed rather than a `Vec`: one view per flow, and most have no tag.
    pub tags: Box<[TagMatch]>,
    /// How the flow ended, or where it broke.
    pub outcome: outcome::Outcome,
}

impl FlowView {
    /// A view of no flow, to be overwritten: what a vector of views is made of before the
    /// views are written into it in place.
    fn blank() -> FlowView {
        FlowView {
            id: u32::MAX,
            naming: Naming { hostname: None, source: crate::session::naming::NameSource::None, answer: None },
            class: Arc::default(),
            registry_inferred: false,
            via_private_link: false,
            privatelink_alias: false,
            scope: Scope::Public,
            well_known: None,
            tags: Box::default(),
            outcome: outcome::Outcome::Ok,
        }
    }

    /// What flows are grouped by when shown per host (the report's endpoints, the UI's host
    /// view): the name, else the server address, so that each unnamed server stays visible.
    /// A DNS server is its address, whatever name it has.
    pub fn host_key(&self, server: IpAddr) -> HostKey<'_> {
        match &self.naming.hostname {
            Some(h) if self.class.role != Role::Dns => HostKey::Name(h),
            _ => HostKey::Addr(server),
        }
    }

    /// The CNAME chain that led to the server address (empty when no DNS answer did).
    pub fn chain<'s>(&self, s: &'s Session) -> &'s [String] {
        self.naming.answer.and_then(|i| s.dns.get(i as usize)).map_or(&[], |a| a.msg.chain.as_slice())
    }
}

/// See [`FlowView::host_key`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HostKey<'a> {
    Name(&'a str),
    Addr(IpAddr),
}

#[derive(Debug, Clone, Default)]
pub struct Analysis {
    pub flows: Vec<FlowView>,
    pub endpoints: Vec<Endpoint>,
    pub findings: Vec<Finding>,
    /// Where the time went, per registry.
    pub pulls: Vec<pulls::Pull>,
}

/// How much of an [`Analysis`] to make.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Parts {
    All,
    /// The flows and the endpoints, no findings and no pulls: for the allowlist, which prints
    /// only the endpoints (a fifth of the analysis on a busy capture).
    EndpointsOnly,
}

/// The rules and reference data that turn names and addresses into roles.
#[derive(Debug, Clone)]
pub struct Analyzer {
    pub rules: Rules,
    pub tags: Option<ServiceTags>,
}

impl Default for Analyzer {
    fn default() -> Self {
        Analyzer { rules: Rules::builtin(), tags: None }
    }
}

/// What the rules said about names already seen during one `analyze`: a capture of many flows
/// names the same few hosts over and over, and each answer costs a regex scan.
/// It also hands out one shared copy of each host name, rather than one per flow.
struct Memo {
    classes: rustc_hash::FxHashMap<String, Arc<Classification>>,
    aliases: rustc_hash::FxHashMap<Box<str>, bool>,
    names: rustc_hash::FxHashSet<Arc<str>>,
    /// The classes of DNS flows and of flows without a name.
    dns: Arc<Classification>,
    unnamed: Arc<Classification>,
    reclassify: Reclassify,
}

impl Memo {
    fn new() -> Self {
        Memo {
            classes: Default::default(),
            aliases: Default::default(),
            names: Default::default(),
            dns: Arc::new(Classification { role: Role::Dns, ..Classification::default() }),
            unnamed: Default::default(),
            reclassify: Default::default(),
        }
    }

    fn len(&self) -> usize {
        self.classes.len() + self.aliases.len() + self.names.len() + self.reclassify.done.len()
    }

    fn share(&mut self, name: Arc<str>) -> Arc<str> {
        if let Some(shared) = self.names.get(&name) {
            return shared.clone();
        }
        self.names.insert(name.clone());
        name
    }

    fn classify(&mut self, rules: &Rules, host: &str) -> Arc<Classification> {
        if let Some(c) = self.classes.get(host) {
            return c.clone();
        }
        let c = Arc::new(rules.classify(host));
        self.classes.insert(host.to_string(), c.clone());
        c
    }

    fn is_alias(&mut self, rules: &Rules, name: &str) -> bool {
        if let Some(&alias) = self.aliases.get(name) {
            return alias;
        }
        let alias = rules.is_privatelink_alias(name);
        self.aliases.insert(name.into(), alias);
        alias
    }
}

/// What the rules said about names, kept from one flow's view to the next by whoever asks for
/// views one flow at a time ([`Analyzer::view`]: the live events, the pcapng annotations). A
/// live capture names the same hosts over and over, and without it each flow would cost its
/// names' regex scans again. Forgotten whole past [`ViewCache::MAX`] entries, so a capture of
/// ever new names cannot grow it without bound.
#[derive(Default)]
pub struct ViewCache(Option<Memo>);

impl ViewCache {
    const MAX: usize = 1 << 16;

    fn memo(&mut self) -> &mut Memo {
        if self.0.as_ref().is_some_and(|m| m.len() > Self::MAX) {
            self.0 = None;
        }
        self.0.get_or_insert_with(Memo::new)
    }
}

/// Changes views' shared classifications: views that shared one and get the same registry and
/// region share the result, so that filling in a registry does not give each flow a copy.
#[derive(Default)]
struct Reclassify {
    /// By the address of the class changed (kept alive here, so that the address is not
    /// reused while the map lives) and the new registry and region.
    done: ChangedClasses,
}

type ChangedClasses =
    rustc_hash::FxHashMap<(usize, Option<Arc<str>>, Option<Arc<str>>), (Arc<Classification>, Arc<Classification>)>;

impl Reclassify {
    fn set(&mut self, class: &mut Arc<Classification>, registry: Option<Arc<str>>, region: Option<Arc<str>>) {
        if class.registry == registry && class.region == region {
            return;
        }
        let key = (Arc::as_ptr(class) as usize, registry.clone(), region.clone());
        let (_, changed) = self.done.entry(key).or_insert_with(|| {
            let changed = Classification { registry, region, ..Classification::clone(class) };
            (class.clone(), Arc::new(changed))
        });
        *class = changed.clone();
    }
}

impl Analyzer {
    /// The view of flow `id`, with what `cache` knows of its names.
    pub fn view(&self, s: &Session, id: u32, cache: &mut ViewCache) -> FlowView {
        self.view_memo(s, id, cache.memo())
    }

    fn view_memo(&self, s: &Session, id: u32, memo: &mut Memo) -> FlowView {
        let flow = &s.flows()[id as usize];
        let mut naming = s.name_flow(id);
        naming.hostname = naming.hostname.take().map(|h| memo.share(h));
        let mut class = match (&naming.hostname, s.flow(id).facts.dns) {
            (_, true) => memo.dns.clone(),
            (Some(h), false) => memo.classify(&self.rules, h),
            (None, false) => memo.unnamed.clone(),
        };
        let scope = scope(flow.server);
        let chain = naming.answer.and_then(|i| s.dns.get(i as usize)).map_or(&[][..], |a| a.msg.chain.as_slice());
        let alias = chain.iter().find(|n| memo.is_alias(&self.rules, n));
        let privatelink_alias = alias.is_some();
        let via_private_link = privatelink_alias && scope == Scope::Private;
        if class.registry.is_none() {
            // A client asking for the public name gets the registry from the alias.
            if let Some(alias) = alias {
                let c = memo.classify(&self.rules, alias);
                let region = class.region.clone().or_else(|| c.region.clone());
                memo.reclassify.set(&mut class, c.registry.clone(), region);
            }
        }
        let tags = self.tags.as_ref().map(|t| t.lookup(flow.server).into_boxed_slice()).unwrap_or_default();
        let outcome = self.outcome(s, id, &class);
        FlowView {
            id,
            naming,
            class,
            registry_inferred: false,
            via_private_link,
            privatelink_alias,
            scope,
            well_known: crate::classify::scope::WellKnown::of(flow.server),
            tags,
            outcome,
        }
    }

    /// How flow `id` ended, as of the last packet of the session.
    pub fn outcome(&self, s: &Session, id: u32, class: &Classification) -> outcome::Outcome {
        let flow = &s.flows()[id as usize];
        let facts = s.flow(id).facts;
        let seen = outcome::outcome(flow, facts, Self::now(s, flow));
        // A certificate from an issuer the rules do not expect for the provider is a gateway
        // reading the traffic, whether or not the client went on to trust it.
        if let (Some(provider), Some(cert)) = (class.provider.as_deref(), facts.tls.certificate.as_deref()) {
            let expected = self.rules.issuer_expected(provider, cert.issuer_cn.as_deref(), cert.issuer_org.as_deref());
            if expected == Some(false) && !matches!(seen, outcome::Outcome::ConnectTimeout) {
                return outcome::Outcome::TlsIntercepted;
            }
        }
        seen
    }

    /// Whether [`Self::outcome`] may say flow `id` failed, told from the flow's state alone,
    /// without naming and classifying it: only a certificate makes the class matter.
    pub fn may_have_failed(&self, s: &Session, id: u32) -> bool {
        let (flow, facts) = (&s.flows()[id as usize], s.flow(id).facts);
        facts.tls.certificate.is_some() || outcome::outcome(flow, facts, Self::now(s, flow)).failed()
    }

    /// The time a flow's outcome is judged at: the session's last packet.
    fn now(s: &Session, flow: &crate::flow::Flow) -> i64 {
        s.now_ns().unwrap_or(flow.last_ns)
    }

    /// The views of flows `ids`, in that order. Each flow is named and classified on its own,
    /// so they are spread over the cores.
    pub fn views(&self, s: &Session, ids: &[u32]) -> Vec<FlowView> {
        let mut views = vec![FlowView::blank(); ids.len()];
        crate::par::fill_chunks(ids, &mut views, crate::par::threads(8), 8192, |part, into| {
            let mut memo = Memo::new();
            for (&id, v) in part.iter().zip(into) {
                *v = self.view_memo(s, id, &mut memo);
            }
        });
        views
    }

    pub fn analyze(&self, s: &Session) -> Analysis {
        self.analyze_parts(s, Parts::All)
    }

    /// [`Analyzer::analyze`], leaving out what the caller's output does not read.
    pub fn analyze_parts(&self, s: &Session, parts: Parts) -> Analysis {
        /// Below this many flows a second thread costs more than it saves.
        const PARALLEL_FROM: usize = 8192;
        let ids: Vec<u32> = (0..s.flows().len() as u32).collect();
        let mut flows = self.views(s, &ids);
        // A busy capture's ids are a MB: the passes below reuse the room.
        drop(ids);
        infer(s, &mut flows);
        if parts == Parts::EndpointsOnly {
            let endpoints = endpoints::build(s, &flows);
            return Analysis { flows, endpoints, findings: Vec::new(), pulls: Vec::new() };
        }
        // The pulls and the findings read the same views and nothing of each other's.
        let parallel = flows.len() >= PARALLEL_FROM && crate::par::threads(2) > 1;
        let (pulls, (endpoints, findings)) = crate::par::join(
            parallel,
            || pulls::build(s, &flows),
            || {
                let endpoints = endpoints::build(s, &flows);
                let findings = findings::build(s, &flows, &endpoints, &self.rules);
                (endpoints, findings)
            },
        );
        Analysis { flows, endpoints, findings, pulls }
    }
}

/// The login server's name carries no region. Its CNAME chain usually does
/// (`*.<region>.cloudapp.azure.com`, the registry's front end), and a dedicated data endpoint
/// of the same registry names its region outright: fill ACR flows from those, in that order.
pub fn infer_regions(s: &Session, flows: &mut [FlowView]) {
    let mut by_registry: rustc_hash::FxHashMap<Arc<str>, Arc<str>> = rustc_hash::FxHashMap::default();
    for v in flows.iter().filter(|v| v.class.role == Role::AcrDataDedicated) {
        if let (Some(r), Some(g)) = (&v.class.registry, &v.class.region) {
            by_registry.entry(r.clone()).or_insert_with(|| g.clone());
        }
    }
    let mut reclassify = Reclassify::default();
    for v in flows.iter_mut().filter(|v| v.class.provider.as_deref() == Some("acr") && v.class.region.is_none()) {
        let from_chain = v.chain(s).iter().find_map(|n| cloudapp_region(n)).map(Arc::from);
        let region = from_chain.or_else(|| v.class.registry.as_ref().and_then(|r| by_registry.get(r).cloned()));
        let registry = v.class.registry.clone();
        reclassify.set(&mut v.class, registry, region);
    }
}

/// `d0223jpe.japaneast.cloudapp.azure.com` → `japaneast`.
pub fn cloudapp_region(name: &str) -> Option<String> {
    let rest = name.strip_suffix(".cloudapp.azure.com")?;
    let region = rest.rsplit('.').next()?;
    (rest.contains('.') && !region.is_empty() && region.bytes().all(|b| b.is_ascii_alphanumeric()))
        .then(|| region.to_ascii_lowercase())
}

/// ACR's managed storage accounts carry no registry name: the layers of a pull come from the
/// account the login server redirected to, so a storage flow belongs to the registry whose
/// login flow from the same client most recently began before it.
pub fn infer_blob_registries(s: &Session, flows: &mut [FlowView]) {
    /// A login flow: when it began, and the registry and region it named.
    struct Login {
        first_ns: i64,
        registry: Arc<str>,
        region: Option<Arc<str>>,
    }
    // Each client's logins by start time (a stable sort: of logins that began at the same
    // time, the later flow comes last and wins).
    let mut logins: rustc_hash::FxHashMap<std::net::IpAddr, Vec<Login>> = rustc_hash::FxHashMap::default();
    for v in flows.iter().filter(|v| v.class.role == Role::AcrLogin) {
        let f = &s.flows()[v.id as usize];
        if let Some(reg) = &v.class.registry {
            let login = Login { first_ns: f.first_ns, registry: reg.clone(), region: v.class.region.clone() };
            logins.entry(f.client).or_default().push(login);
        }
    }
    for l in logins.values_mut() {
        l.sort_by_key(|l| l.first_ns);
    }
    let mut reclassify = Reclassify::default();
    for v in flows.iter_mut().filter(|v| v.class.role == Role::AcrDataBlob && v.class.registry.is_none()) {
        let f = &s.flows()[v.id as usize];
        let best = logins.get(&f.client).and_then(|l| l[..l.partition_point(|l| l.first_ns <= f.first_ns)].last());
        if let Some(login) = best {
            let region = v.class.region.clone().or(login.region.clone());
            reclassify.set(&mut v.class, Some(login.registry.clone()), region);
            v.registry_inferred = true;
        }
    }
}

/// What [`infer`] filled in, so a model that keeps its views between builds can take it back
/// before the flows change and infer again. The inferences only fill what was empty (a region,
/// a storage flow's registry), so taking them back is emptying those again: nothing is copied.
#[derive(Debug, Clone, Default)]
pub struct Inferred {
    filled: Vec<Emptied>,
}

/// A view [`infer`] may fill: what was empty in it, and its `registry_inferred` before.
#[derive(Debug, Clone, Copy)]
struct Emptied {
    /// Index in the views.
    index: u32,
    region: bool,
    registry: bool,
    registry_inferred: bool,
}

/// [`infer_regions`] then [`infer_blob_registries`], as [`Analyzer::analyze`] does.
pub fn infer(s: &Session, flows: &mut [FlowView]) -> Inferred {
    let filled = flows
        .iter()
        .enumerate()
        .filter(|(_, v)| v.class.region.is_none() || v.class.registry.is_none())
        .map(|(i, v)| Emptied {
            index: i as u32,
            region: v.class.region.is_none(),
            registry: v.class.registry.is_none(),
            registry_inferred: v.registry_inferred,
        })
        .collect();
    infer_regions(s, flows);
    infer_blob_registries(s, flows);
    Inferred { filled }
}

impl Inferred {
    /// Puts `flows` back as they were before [`infer`].
    pub fn undo(self, flows: &mut [FlowView]) {
        let mut reclassify = Reclassify::default();
        for e in self.filled {
            let Some(v) = flows.get_mut(e.index as usize) else { continue };
            let region = if e.region { None } else { v.class.region.clone() };
            let registry = if e.registry { None } else { v.class.registry.clone() };
            reclassify.set(&mut v.class, registry, region);
            v.registry_inferred = e.registry_inferred;
        }
    }
}

/// Short labels for roles, as the text views and the UI show them.
pub fn role_label(role: Role) -> &'static str {
    match role {
        Role::AcrLogin => "login",
        Role::AcrDataDedicated => "data (dedicated endpoint)",
        Role::AcrDataBlob => "data (storage account)",
        Role::Auth => "auth",
        Role::RegistryLogin => "registry",
        Role::RegistryAuth => "registry auth",
        Role::RegistryData => "registry data",
        Role::Dns => "dns",
        Role::Other => "other",
    }
}

#[cfg(test)]
mod size_tests {
    /// One view per flow is held from the analysis to the last line of the report: growing it
    /// is a decision this test makes visible.
    #[test]
    fn a_flow_view_stays_within_its_size() {
        assert!(std::mem::size_of::<super::FlowView>() <= 72, "FlowView: {}", std::mem::size_of::<super::FlowView>());
    }
}
