//! The timeline's lines for a capture of several registries (four lab pulls read into one
//! session), checked against what the lines promise, computed here the plain way: every flow
//! in exactly one row, rows in the documented order, a heading over each run of rows of one
//! registry, private link and group with their flow count, and column widths that fit.

use std::collections::BTreeSet;
use std::path::Path;

use acrscope::analysis::endpoints::role_order;
use acrscope::analysis::Analyzer;
use acrscope::capture::file::FileReader;
use acrscope::classify::Role;
use acrscope::cli::ViewKind;
use acrscope::engine::{Shared, SourceStatus};
use acrscope::session::{Limits, Session};
use acrscope::ui::model::{self, Model};
use acrscope::ui::rows::{self, Group, Line};

const CAPTURES: [&str; 5] = [
    "tests/fixtures/lab-extra/variant-d-australiaeast.pcap",
    "tests/fixtures/lab-extra/variant-a-westeurope-v6.pcap",
    "assets/captures/scenario-c-privatelink.pcap",
    "tests/fixtures/lab-extra/variant-b-eastus2.pcap",
    "assets/captures/scenario-a-blob.pcap",
];

fn many_registries() -> Model {
    let mut session = Session::new(Limits::default());
    for name in CAPTURES {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(name);
        let mut reader = FileReader::open(&path).unwrap();
        while let Some(frame) = reader.next_frame().unwrap() {
            session.ingest(&frame);
        }
    }
    session.finish();
    let status = SourceStatus { finished: true, ..SourceStatus::default() };
    model::build(&Shared { session, status }, &Analyzer::default(), None)
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
    assert!(m.flow_widths.addr > "255.255.255.255:65535".len(), "{:?}", m.flow_widths);
}
