//! The timeline's lines for a capture of several registries (four lab pulls read into one
//! session), checked against what the lines promise, computed here the plain way: every flow
//! in exactly one row, rows in the documented order, a heading over each run of rows of one
//! registry, private link and group with their flow count, and column widths that fit.

mod common;

use std::collections::BTreeSet;
use std::net::Ipv4Addr;
use std::path::Path;

use acrscope::analysis::endpoints::role_order;
use acrscope::analysis::Analyzer;
use acrscope::capture::file::FileReader;
use acrscope::classify::Role;
use acrscope::engine::{Shared, SourceStatus};
use acrscope::session::{Limits, Session};
use acrscope::ui::model::{self, Builder, Built, Model};
use acrscope::ui::rows::{self, Group, Line};
use acrscope::ui::ViewKind;

const CAPTURES: [&str; 5] = [
    "tests/fixtures/lab-extra/variant-d-australiaeast.pcap",
    "tests/fixtures/lab-extra/variant-a-westeurope-v6.pcap",
    "assets/captures/scenario-c-privatelink.pcap",
    "tests/fixtures/lab-extra/variant-b-eastus2.pcap",
    "assets/captures/scenario-a-blob.pcap",
];

/// Reads the captures into one session, calling `each` every `every` frames and at the end.
fn read_all(every: u64, mut each: impl FnMut(&Shared)) -> Shared {
    let mut shared = Shared::new(Session::new(Limits::default()), SourceStatus::default());
    let mut n = 0u64;
    for name in CAPTURES {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(name);
        let mut reader = FileReader::open(&path).unwrap();
        while let Some(frame) = reader.next_frame().unwrap() {
            shared.session.ingest(&frame);
            n += 1;
            if n % every == 0 {
                each(&shared);
            }
        }
    }
    shared.session.finish();
    shared.status.finished = true;
    each(&shared);
    shared
}

/// Raw-IP packets of `n` TLS flows to the login servers and storage accounts of a few
/// registries, with their DNS answers, after `after_ns`: enough flows for a build on two threads.
fn many_flows(n: u32, after_ns: i64) -> Vec<(i64, Vec<u8>)> {
    let mut out = Vec::new();
    for i in 0..n {
        let t = after_ns + i64::from(i) * 1_000_000;
        let client = [10, 9, (i >> 8) as u8, i as u8];
        let reg = i % 7;
        let server = [20, 60, reg as u8, 1 + (i % 3) as u8];
        let login = format!("fabrikam{reg}.azurecr.io");
        let name = if i % 3 == 0 { login.clone() } else { format!("acct{reg}.blob.core.windows.net") };
        if i % 40 == 0 {
            let chain = [name.as_str(), "x.cloudapp.azure.com"];
            let msg = common::dns_response(i as u16, &chain, &[Ipv4Addr::from(server)], 60);
            out.push((t, common::udp([168, 63, 129, 16], 53, client, 5353, &msg)));
        }
        let port = 40_000 + (i % 20_000) as u16;
        out.push((t + 10, common::tcp(client, port, server, 443, 1, true, &[])));
        out.push((t + 20, common::tcp(client, port, server, 443, 2, false, &common::client_hello(&name))));
    }
    out
}

fn many_registries() -> Model {
    model::build(&read_all(u64::MAX, |_| {}), &Analyzer::default(), None)
}

#[test]
fn a_model_built_as_frames_arrive_ends_as_one_built_at_once() {
    // The builder keeps views between builds and renames only flows whose naming may have
    // changed, taking back the last build's inferences first; none of that may show.
    let analyzer = Analyzer::default();
    let builder = Builder::new(None);
    let mut stepwise = Built::default();
    let mut builds = 0;
    let shared = read_all(97, |s| {
        builder.update(&mut stepwise, s, &analyzer);
        builds += 1;
    });
    let whole = model::build(&shared, &analyzer, None);
    assert!(builds > 20, "{builds} builds");
    assert!(whole.views.iter().any(|v| v.registry_inferred), "the blob pull has inferred registries");
    assert_eq!(format!("{:?}", stepwise.views), format!("{:?}", whole.views));
    assert_eq!(format!("{:?}", stepwise.findings), format!("{:?}", whole.findings));
    for view in [ViewKind::Flows, ViewKind::Endpoints] {
        assert_eq!(format!("{:?}", stepwise.lines(view)), format!("{:?}", whole.lines(view)), "{view:?}");
        assert_eq!(stepwise.widths(view), whole.widths(view), "{view:?}");
    }
    assert_eq!(stepwise.flows.len(), whole.flows.len());
    for (a, b) in stepwise.flows.iter().zip(&whole.flows) {
        assert_eq!(
            (a.flow.packets(), a.hello.as_ref().map(|h| h.sni.clone())),
            (b.flow.packets(), b.hello.as_ref().map(|h| h.sni.clone()))
        );
    }
}

#[test]
fn a_large_build_on_two_threads_makes_what_one_thread_makes() {
    // From 4,096 flows a build runs as two chains handing each other their parts; built on
    // one thread, at once, it must come out the same, and so must builds made as frames came.
    let analyzer = Analyzer::default();
    let mut shared = read_all(u64::MAX, |_| {});
    let last = shared.session.stats.last_ns.unwrap_or(0);
    let extra = many_flows(6_000, last + 1_000_000);
    let two = Builder::new(None).threads(2);
    let mut stepwise = Built::default();
    for (n, (t, p)) in extra.iter().enumerate() {
        shared.session.ingest(&common::raw_frame(n as u64 + 1, *t, p));
        if n % 4_001 == 4_000 {
            two.update(&mut stepwise, &shared, &analyzer);
        }
    }
    shared.session.finish();
    shared.status.finished = true;
    two.update(&mut stepwise, &shared, &analyzer);
    let mut alone = Built::default();
    Builder::new(None).threads(1).update(&mut alone, &shared, &analyzer);

    assert!(alone.flows.len() > 6_000, "{} flows", alone.flows.len());
    assert!(alone.views.iter().any(|v| v.registry_inferred), "storage flows took a registry from a login");
    assert!(!alone.dns.is_empty() && !alone.findings.is_empty());
    assert_eq!(format!("{:?}", stepwise.views), format!("{:?}", alone.views));
    assert_eq!(format!("{:?}", stepwise.endpoints), format!("{:?}", alone.endpoints));
    assert_eq!(format!("{:?}", stepwise.findings), format!("{:?}", alone.findings));
    assert_eq!(format!("{:?}", stepwise.dns), format!("{:?}", alone.dns));
    assert_eq!(stepwise.dns_order, alone.dns_order);
    for view in [ViewKind::Flows, ViewKind::Endpoints] {
        assert_eq!(format!("{:?}", stepwise.lines(view)), format!("{:?}", alone.lines(view)), "{view:?}");
        assert_eq!(stepwise.widths(view), alone.widths(view), "{view:?}");
    }
}

#[test]
fn lines_of_many_registries_keep_their_order_headings_and_widths() {
    let m = many_registries();
    let registries: BTreeSet<&str> = m.views.iter().filter_map(|v| v.class.registry.as_deref()).collect();
    assert!(registries.len() >= 4, "the test needs several registries: {registries:?}");
    assert!(m.views.iter().any(|v| v.via_private_link), "and a private link");

    for view in [ViewKind::Flows, ViewKind::Endpoints] {
        let lines = m.lines(view);
        let mut seen: Vec<u32> = lines.iter().filter_map(Line::row).flat_map(|r| r.flows.iter().copied()).collect();
        seen.sort_unstable();
        assert_eq!(seen, (0..m.views.len() as u32).collect::<Vec<_>>(), "{view:?}: every flow in one row");

        // Named registries first, by name; then private link, role, group, first packet, flow.
        let key = |r: &rows::Row| {
            let reg = r.registry(&m.views);
            let order = role_order(match r.group {
                Group::Other => Role::Other,
                Group::Dns => Role::Dns,
                _ => r.role,
            });
            (reg.is_none(), reg.map(str::to_string), r.private_link, order, r.group, r.first_ns, r.flows[0])
        };
        let keys: Vec<_> = lines.iter().filter_map(Line::row).map(key).collect();
        assert!(keys.windows(2).all(|w| w[0] <= w[1]), "{view:?}: rows out of order");

        let mut headings = 0;
        let mut i = 0;
        let mut last = None;
        while i < lines.len() {
            let Line::Heading(h) = &lines[i] else { panic!("{view:?}: line {i} is a row without a heading") };
            headings += 1;
            let this = (h.registry.clone(), h.private_link, h.group);
            assert_ne!(last.as_ref(), Some(&this), "{view:?}: two headings in a row for {this:?}");
            let mut flows = 0;
            i += 1;
            let start = i;
            while let Some(Line::Row(r)) = lines.get(i) {
                assert_eq!(
                    (r.registry(&m.views).map(str::to_string), r.private_link, r.group),
                    this,
                    "{view:?}: a row under the wrong heading"
                );
                flows += r.flows.len();
                i += 1;
            }
            assert!(i > start, "{view:?}: heading {this:?} over no rows");
            assert_eq!(h.flows, flows, "{view:?}: the flow count of heading {this:?}");
            last = Some(this);
        }
        assert!(headings >= registries.len(), "{view:?}: {headings} headings");

        let w = m.widths(view);
        let label = lines
            .iter()
            .filter_map(Line::row)
            .map(|r| r.label(&m.views).chars().count() + 2 * usize::from(r.alias))
            .max()
            .unwrap();
        let addr = lines.iter().filter_map(Line::row).map(|r| r.addr_text().chars().count()).max().unwrap();
        assert_eq!((w.label, w.addr), (label, addr), "{view:?}: column widths");
    }
    // The IPv6 pull makes the widest address column.
    assert!(m.flow_rows.widths.addr > "255.255.255.255:65535".len(), "{:?}", m.flow_rows.widths);
}

#[test]
fn inferences_taken_back_leave_the_views_as_named() {
    let shared = read_all(u64::MAX, |_| {});
    let s = &shared.session;
    let ids: Vec<u32> = (0..s.flows().len() as u32).collect();
    let mut views = Analyzer::default().views(s, &ids);
    let named = format!("{views:?}");
    let inferred = acrscope::analysis::infer(s, &mut views);
    assert!(views.iter().any(|v| v.registry_inferred), "a storage flow's registry is inferred");
    assert!(format!("{views:?}") != named, "the inference filled something in");
    inferred.undo(&mut views);
    assert_eq!(format!("{views:?}"), named);
}
