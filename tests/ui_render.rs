//! The timeline screens of the lab captures, drawn headless at 80x24 and 160x48 with the same
//! widgets the terminal shows, read back as text.

use std::path::Path;

use acrscope::analysis::Analyzer;
use acrscope::engine::{Shared, SourceStatus};
use acrscope::session::Limits;
use acrscope::ui::app::App;
use acrscope::ui::theme::Theme;
use acrscope::ui::ViewKind;
use acrscope::ui::{buffer_text, model, render_buffer, render_to_buffer, ViewOptions};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::style::Color;

const BLOCKS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];

fn shared(name: &str) -> Shared {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/captures").join(name);
    let (session, _) = acrscope::pipeline::read_file(&path, Limits::default(), |_| {}).unwrap();
    let status = SourceStatus {
        label: format!("replay {name}"),
        finished: true,
        start_ns: session.stats.first_ns,
        clock_ns: session.stats.last_ns,
        ..SourceStatus::default()
    };
    Shared::new(session, status)
}

fn opts(w: u16, h: u16) -> ViewOptions {
    ViewOptions {
        width: w,
        height: h,
        view: ViewKind::Flows,
        select: None,
        details: false,
        at_ns: None,
        color: false,
        processes: Vec::new(),
    }
}

fn screen(s: &Shared, o: &ViewOptions) -> String {
    buffer_text(&render_to_buffer(s, &Analyzer::default(), o))
}

/// Timeline rows (badge first) that mention `part`.
fn rows<'a>(text: &'a str, badge: &str, part: &str) -> Vec<&'a str> {
    text.lines().filter(|l| l.chars().skip(1).collect::<String>().starts_with(badge) && l.contains(part)).collect()
}

/// The time-axis part of a row: what follows the separator column of the axis line.
fn bar(text: &str, row: &str) -> String {
    let axis = text.lines().find(|l| l.starts_with(" ROLE")).expect("an axis line");
    let sep = axis.chars().position(|c| c == '│').expect("a separator on the axis line");
    row.chars().skip(sep + 1).collect()
}

fn assert_fits(text: &str, w: usize, h: usize) {
    assert_eq!(text.lines().count(), h, "{text}");
    for l in text.lines() {
        assert!(l.chars().count() <= w, "line wider than {w}: {l}");
    }
}

#[test]
fn storage_account_pull_at_160x48_shows_groups_hosts_bars_and_chain() {
    let s = shared("scenario-a-blob.pcap");
    let t = screen(&s, &opts(160, 48));
    assert_fits(&t, 160, 48);
    assert!(t.contains("─ fabrikamreg · Login · 11 flows · ACR japaneast"), "{t}");
    assert!(t.contains("─ fabrikamreg · Data: storage account · 4 flows"), "{t}");
    assert!(t.contains("─ DNS · 24 flows"), "{t}");
    let logins = rows(&t, "LOGIN", "fabrikamreg.azurecr.io");
    assert_eq!(logins.len(), 11, "one row per login flow:\n{t}");
    assert!(logins.iter().all(|l| l.contains("40.79.197.136:443") && l.contains(" pub ")), "{logins:#?}");
    let blobs = rows(&t, "BLOB", "jpeacrprod0st17.blob.core.windows.net");
    assert_eq!(blobs.len(), 4, "{t}");
    for b in &blobs {
        assert!(b.contains("20.60.172.36:443"), "{b}");
        let bar = bar(&t, b);
        assert!(bar.contains('▶'), "each data flow shows its ClientHello: {bar}");
        if b.contains(" kB│") && !b.contains(" 3.8 kB") || b.contains(" MB│") {
            assert!(bar.chars().any(|c| BLOCKS.contains(&c)), "each big data flow has a shaded bar: {bar}");
        }
    }
    // The 1.5 MB flow is the busiest on screen: full blocks, and the answer that named it.
    let big = blobs.iter().find(|l| l.contains("1.5 MB")).expect("the 1.5 MB flow");
    assert!(bar(&t, big).contains('█') && bar(&t, big).contains('◆'), "{big}");
    // The 3.8 kB flow at the end is short: a mark, no long bar.
    let small = blobs.iter().find(|l| l.contains("3.8 kB")).expect("the last, small flow");
    assert!(bar(&t, small).trim().chars().count() <= 3, "{small}");
    // Login rows are grouped before data rows, and data before DNS.
    let pos = |s: &str| t.find(s).unwrap();
    assert!(pos("Login · 11") < pos("Data: storage account") && pos("Data: storage account") < pos("DNS · 24"));
    // The DNS pane: the chain, the address, the TTL.
    assert!(t.contains("jpeacrprod0st17.blob.core.windows.net AAAA/A ×6"), "{t}");
    assert!(t.contains("→ blob.tyo22prdstr08a.store.core.windows.net"), "{t}");
    assert!(t.contains("= 20.60.172.36  ttl 60"), "{t}");
    assert!(t.contains("→ r0223jpe-2-az.japaneast.cloudapp.azure.com"), "{t}");
    // The finding line says where the layers came from.
    assert!(t.contains("✔ Layer data of registry fabrikamreg came from the storage account"), "{t}");
    // The selection starts on the first data row, and the details pane describes it.
    assert!(t.contains("›BLOB  jpeacrprod0st17"), "{t}");
    assert!(t.contains("Selected: jpeacrprod0st17.blob.core.windows.net"), "{t}");
    assert!(t.contains("data (storage account) · registry fabrikamreg"), "{t}");
    assert!(t.contains("tcp 10.1.0.4:42834 → 20.60.172.36:443 · public"), "{t}");
}

#[test]
fn storage_account_pull_at_80x24_keeps_the_data_rows_in_view() {
    let s = shared("scenario-a-blob.pcap");
    let t = screen(&s, &opts(80, 24));
    assert_fits(&t, 80, 24);
    assert!(t.lines().next().unwrap().contains("acrscope"), "{t}");
    assert!(t.contains("t=0.38s / 0.38s") && t.contains("■ end"), "the clock and the state fit: {t}");
    assert!(t.contains("─ fabrikamreg · Data: storage account · 4 flows"), "{t}");
    let blobs = rows(&t, "BLOB", "jpeacrprod0st17.blob");
    assert_eq!(blobs.len(), 4, "all the data flows are on the first screen:\n{t}");
    assert!(blobs.iter().any(|b| bar(&t, b).contains('█')), "{t}");
    assert!(!rows(&t, "LOGIN", "fabrikamreg.azurecr.io").is_empty(), "logins above them:\n{t}");
    assert!(t.contains("→ blob.tyo22prdstr08a.store.core.windows.net"), "{t}");
    assert!(t.contains("✔ Layer data of registry fabrikamreg came from the storage account"), "{t}");
    assert!(t.lines().last().unwrap().contains("q quit"), "{t}");
}

#[test]
fn host_view_is_one_row_per_host() {
    let s = shared("scenario-a-blob.pcap");
    for (w, h) in [(80, 24), (160, 48)] {
        let t = screen(&s, &ViewOptions { view: ViewKind::Endpoints, ..opts(w, h) });
        assert_fits(&t, w as usize, h as usize);
        assert_eq!(rows(&t, "LOGIN", "fabrikamreg.azurecr.io").len(), 1, "{t}");
        let blob = rows(&t, "BLOB", "jpeacrprod0st17.blob");
        assert_eq!(blob.len(), 1, "{t}");
        assert!(bar(&t, blob[0]).contains('█'), "{t}");
        assert_eq!(rows(&t, "DNS", "Azure platform DNS").len(), 1, "{t}");
        assert!(t.contains("─ fabrikamreg · Login · 11 flows"), "{t}");
    }
}

#[test]
fn dedicated_endpoint_pull_names_the_data_endpoint_and_its_chain() {
    let s = shared("scenario-b-dedicated.pcap");
    let t = screen(&s, &opts(160, 48));
    assert!(t.contains("─ fabrikamreg · Data: dedicated endpoint · 4 flows"), "{t}");
    let data = rows(&t, "DATA", "fabrikamreg.japaneast.data.azurecr.io");
    assert_eq!(data.len(), 4, "{t}");
    assert!(data.iter().all(|l| l.contains("40.79.197.128:443") && bar(&t, l).contains('▶')), "{data:#?}");
    assert!(rows(&t, "BLOB", "").is_empty(), "no storage account in this pull:\n{t}");
    assert!(t.contains("→ jpe-0.data.azcr.io"), "{t}");
    assert!(t.contains("→ d0223jpe.japaneast.cloudapp.azure.com"), "{t}");
    assert!(t.contains("✔ Layer data of registry fabrikamreg came from the dedicated data endpoint"), "{t}");
    let small = screen(&s, &opts(80, 24));
    assert_fits(&small, 80, 24);
    assert!(small.contains("→ jpe-0.data.azcr.io"), "the latest chain leads the DNS pane:\n{small}");
    assert_eq!(rows(&small, "DATA", "fabrikamreg.japaneast.da").len(), 4, "{small}");
}

#[test]
fn private_link_rows_are_marked_private() {
    let s = shared("scenario-c-privatelink.pcap");
    for (w, h) in [(80, 24), (160, 48)] {
        let t = screen(&s, &opts(w, h));
        assert_fits(&t, w as usize, h as usize);
        assert!(t.contains("fabrikamreg · Private link · Data: dedicated endpoint · 4 flows"), "{t}");
        let data = rows(&t, "DATA", "fabrikamreg.japaneast.");
        assert_eq!(data.len(), 4, "{t}");
        assert!(data.iter().all(|l| l.contains("192.168.0.73:443") && l.contains(" priv")), "{data:#?}");
        assert!(data.iter().all(|l| l.contains('◇')), "the privatelink alias mark: {data:#?}");
        assert!(rows(&t, "", " pub ").iter().all(|l| l.contains("DNS")), "only DNS is public:\n{t}");
        assert!(t.contains("→ fabrikamreg.japaneast.data.privatelink.azurecr.io ◇"), "{t}");
        assert!(t.contains("✔ Private link in use for registry fabrikamreg"), "{t}");
    }
    let t = screen(&s, &opts(160, 48));
    assert_eq!(rows(&t, "LOGIN", "fabrikamreg.azurecr.io ◇").len(), 11, "{t}");
    assert!(t.contains("─ fabrikamreg · Private link · Login · 11 flows"), "{t}");
    assert!(t.contains("· private (private link)"), "the details say it too:\n{t}");
}

#[test]
fn both_public_warns_that_private_link_was_bypassed() {
    let s = shared("scenario-d-both-public.pcap");
    let t = screen(&s, &opts(160, 48));
    assert!(t.contains("⚠ Private link is configured for registry fabrikamreg"), "{t}");
    let data = rows(&t, "DATA", "fabrikamreg.japaneast.data.azurecr.io ◇");
    assert_eq!(data.len(), 4, "alias in the chain, public address:\n{t}");
    assert!(data.iter().all(|l| l.contains(" pub ") && !l.contains("priv")), "{data:#?}");
    assert!(!t.contains("Private link ·"), "not grouped as private link: nothing went through it:\n{t}");
    assert!(rows(&t, "DNS", "DNS server").iter().any(|l| l.contains("192.168.1.1:53")), "{t}");
    // The warning leads the findings, so even 80x24 shows it.
    let small = screen(&s, &opts(80, 24));
    assert!(small.contains("⚠ Private link is configured for registry fabrikamreg"), "{small}");
}

#[test]
fn details_pane_tells_everything_about_the_selected_flow() {
    let s = shared("scenario-b-dedicated.pcap");
    let o = ViewOptions { select: Some("data.azurecr.io".into()), details: true, ..opts(160, 48) };
    let t = screen(&s, &o);
    assert!(t.contains("Selected: fabrikamreg.japaneast.data.azurecr.io"), "{t}");
    assert!(t.contains("›DATA  fabrikamreg.japaneast.data.azurecr.io"), "the selection is in view:\n{t}");
    assert!(t.contains("role      data (dedicated endpoint) · registry fabrikamreg · japaneast"), "{t}");
    assert!(t.contains("named by  TLS SNI, and the DNS answer at 0.021s"), "{t}");
    assert!(t.contains("chain     fabrikamreg.japaneast.data.azurecr.io → jpe-0.data.azcr.io →"), "{t}");
    assert!(t.contains("flow      tcp 10.1.0.4:50906 → 40.79.197.128:443 · public"), "{t}");
    assert!(t.contains("bytes     ↑ 793 B in 25 pkts · ↓ 253.2 kB in 27 pkts"), "{t}");
    assert!(t.contains("time      0.021s → 0.076s, 54 ms · reset (RST)"), "{t}");
    assert!(t.contains("tls       TLS 1.3 · SNI fabrikamreg.japaneast.data.azurecr.io"), "{t}");
    assert!(t.contains("finding   ✔ Layer data of registry fabrikamreg came from the dedicated data"), "{t}");
    // At 80 columns the details replace the DNS pane.
    let narrow = screen(&s, &ViewOptions { width: 80, height: 24, ..o });
    assert!(narrow.contains("Selected: fabrikamreg.japaneast.data.azurecr.io"), "{narrow}");
    assert!(!narrow.contains("DNS answers"), "{narrow}");
}

#[test]
fn an_earlier_moment_shows_only_what_had_happened() {
    let s = shared("scenario-a-blob.pcap");
    let start = s.session.stats.first_ns.unwrap();
    let t = screen(&s, &ViewOptions { at_ns: Some(start + 10_000_000), ..opts(160, 48) });
    assert!(t.contains("t=0.01s"), "{t}");
    assert!(!t.contains("Data: storage account"), "the data flows began at 18 ms:\n{t}");
    assert!(!rows(&t, "LOGIN", "fabrikamreg.azurecr.io").is_empty(), "{t}");
    assert!(!t.contains("jpeacrprod0st17.blob.core.windows.net AAAA"), "nor was the blob name resolved:\n{t}");
}

#[test]
fn no_color_draws_no_colour_and_colour_draws_roles() {
    let s = shared("scenario-a-blob.pcap");
    let plain = render_to_buffer(&s, &Analyzer::default(), &opts(120, 40));
    assert!(plain.content().iter().all(|c| c.fg == Color::Reset && c.bg == Color::Reset));
    let colored = render_to_buffer(&s, &Analyzer::default(), &ViewOptions { color: true, ..opts(120, 40) });
    let fgs: Vec<Color> = colored.content().iter().map(|c| c.fg).collect();
    for c in [Color::Cyan, Color::Yellow, Color::Blue] {
        assert!(fgs.contains(&c), "login, storage and DNS colours: {c:?}");
    }
    assert!(!fgs.iter().any(|c| matches!(c, Color::White | Color::Black)), "unreadable on one background");
    // The same text either way: badges and marks carry the meaning without colour.
    assert_eq!(buffer_text(&plain), buffer_text(&colored));
}

#[test]
fn typing_a_filter_keeps_only_matching_rows() {
    let s = shared("scenario-a-blob.pcap");
    let m = model::build(&s, &Analyzer::default(), None);
    let mut app = App::new(Theme::new(false), ViewKind::Flows);
    app.sync(&m);
    let key = |c: KeyCode| KeyEvent::new(c, KeyModifiers::NONE);
    app.on_key(key(KeyCode::Char('/')), &m);
    for c in "blob".chars() {
        app.on_key(key(KeyCode::Char(c)), &m);
    }
    app.on_key(key(KeyCode::Enter), &m);
    assert_eq!(app.filter, "blob");
    let t = buffer_text(&render_buffer(&app, &m, 120, 40));
    assert_eq!(rows(&t, "BLOB", "jpeacrprod0st17").len(), 4, "{t}");
    assert!(rows(&t, "LOGIN", "").is_empty() && rows(&t, "DNS", "").is_empty(), "{t}");
    assert!(t.contains("filter “blob”"), "{t}");
    // By address too; and a filter that matches nothing says so.
    app.on_key(key(KeyCode::Char('/')), &m);
    for _ in 0..4 {
        app.on_key(key(KeyCode::Backspace), &m);
    }
    for c in "168.63".chars() {
        app.on_key(key(KeyCode::Char(c)), &m);
    }
    app.on_key(key(KeyCode::Enter), &m);
    let t = buffer_text(&render_buffer(&app, &m, 120, 40));
    assert_eq!(rows(&t, "DNS", "168.63.129.16:53").len(), 1, "{t}");
    assert!(rows(&t, "BLOB", "").is_empty(), "{t}");
    app.on_key(key(KeyCode::Char('/')), &m);
    app.on_key(key(KeyCode::Char('x')), &m);
    app.on_key(key(KeyCode::Enter), &m);
    let t = buffer_text(&render_buffer(&app, &m, 120, 40));
    assert!(t.contains("no row matches “168.63x”"), "{t}");
}

#[test]
fn keys_move_the_selection_zoom_and_toggle_the_view() {
    let s = shared("scenario-b-dedicated.pcap");
    let m = model::build(&s, &Analyzer::default(), None);
    let mut app = App::new(Theme::new(false), ViewKind::Flows);
    app.sync(&m);
    let key = |c: KeyCode| KeyEvent::new(c, KeyModifiers::NONE);
    let t0 = buffer_text(&render_buffer(&app, &m, 120, 40));
    assert!(t0.contains("›DATA "), "{t0}");
    app.on_key(key(KeyCode::Home), &m);
    let t = buffer_text(&render_buffer(&app, &m, 120, 40));
    assert!(t.contains("›LOGIN fabrikamreg.azurecr.io"), "{t}");
    app.on_key(key(KeyCode::Down), &m);
    app.on_key(key(KeyCode::Char('j')), &m);
    let t = buffer_text(&render_buffer(&app, &m, 120, 40));
    let logins = rows(&t, "LOGIN", "");
    assert!(logins[2].starts_with('›') && !logins[0].starts_with('›'), "two rows down:\n{t}");
    app.on_key(key(KeyCode::Char('k')), &m);
    let first_flow = app.selected_row(&m).unwrap().flows[0] as usize;
    assert_eq!(m.flows[first_flow].flow.client_port, 48426, "the second login, by first packet");
    // Zoom halves the span: the axis labels get finer.
    let before = t.lines().find(|l| l.starts_with(" ROLE")).unwrap().to_string();
    app.on_key(key(KeyCode::Char('+')), &m);
    app.on_key(key(KeyCode::Char('+')), &m);
    let t = buffer_text(&render_buffer(&app, &m, 120, 40));
    let after = t.lines().find(|l| l.starts_with(" ROLE")).unwrap().to_string();
    assert_ne!(before, after);
    assert!(!after.contains(" 0s"), "zoomed onto the end, the start is out of view: {after}");
    app.on_key(key(KeyCode::Left), &m);
    assert!(!app.time.follow, "panning leaves follow mode");
    app.on_key(key(KeyCode::Char('f')), &m);
    assert!(app.time.follow);
    app.on_key(key(KeyCode::Char('g')), &m);
    let t = buffer_text(&render_buffer(&app, &m, 120, 40));
    assert_eq!(rows(&t, "LOGIN", "fabrikamreg.azurecr.io").len(), 1, "{t}");
    assert!(t.contains("one row per host"), "{t}");
    app.on_key(key(KeyCode::Char('?')), &m);
    let t = buffer_text(&render_buffer(&app, &m, 120, 40));
    assert!(t.contains("keys and legend") && t.contains("storage account (layers)"), "{t}");
    let small = buffer_text(&render_buffer(&app, &m, 80, 24));
    for part in [
        "q Esc",
        "quit",
        "LOGIN",
        "registry login server",
        "BLOB",
        "◆ DNS answer",
        "▶ TLS ClientHello",
        "█ the busiest",
    ] {
        assert!(small.contains(part), "the whole help fits 80x24, {part} too:\n{small}");
    }
    app.on_key(key(KeyCode::Esc), &m);
    assert!(!app.help, "any key closes the help");
    assert_eq!(app.on_key(key(KeyCode::Char('q')), &m), acrscope::ui::app::Action::Quit);
}

/// `s` with the flows' processes as a live capture would have them: TCP flows by dockerd, DNS
/// flows by the local resolver.
fn with_processes(mut s: Shared) -> Shared {
    use acrscope::flow::L4;
    use acrscope::procs::{Process, Side};
    for (i, f) in s.session.flows().to_vec().iter().enumerate() {
        let (pid, name) = match f.proto {
            L4::Tcp => (812, "dockerd"),
            L4::Udp => (301, "systemd-resolve"),
        };
        let p = Process { pid, name: name.into(), exe: None, uid: 0, container: None, side: Side::Client };
        s.session.set_process(i as u32, Some(std::sync::Arc::new(p)));
    }
    s
}

#[test]
fn processes_have_a_column_when_wide_and_join_the_host_when_narrow() {
    let s = with_processes(shared("scenario-a-blob.pcap"));
    let wide = screen(&s, &opts(160, 48));
    assert_fits(&wide, 160, 48);
    assert!(wide.lines().any(|l| l.starts_with(" ROLE") && l.contains("PROCESS")), "{wide}");
    let data = rows(&wide, "BLOB", "blob.core.windows.net");
    assert!(!data.is_empty() && data.iter().all(|r| r.contains("dockerd:812")), "{wide}");
    assert!(rows(&wide, "DNS", "").iter().all(|r| r.contains("systemd-resolve:301")), "{wide}");
    // The bars keep their columns' order: process between host and server.
    let r = data[0];
    assert!(r.find("blob.core.windows.net") < r.find("dockerd") && r.find("dockerd") < r.find(":443"), "{r}");

    let mid = screen(&s, &opts(128, 40));
    assert!(rows(&mid, "BLOB", "blob.core").iter().all(|r| r.contains("dockerd ") && !r.contains("dockerd:")), "{mid}");

    let narrow = screen(&s, &opts(100, 30));
    assert_fits(&narrow, 100, 30);
    assert!(!narrow.contains("PROCESS"), "{narrow}");
    let data = rows(&narrow, "BLOB", "(dockerd)");
    assert!(!data.is_empty(), "the name follows the host: {narrow}");

    // Without processes the screen has no trace of them.
    let plain = screen(&shared("scenario-a-blob.pcap"), &opts(160, 48));
    assert!(!plain.contains("PROCESS") && !plain.contains("dockerd"), "{plain}");
}

/// `with_processes`, but the login flows were made by curl.
fn login_by_curl(mut s: Shared) -> Shared {
    let login: std::net::IpAddr = "40.79.197.136".parse().unwrap();
    for (i, f) in s.session.flows().to_vec().iter().enumerate() {
        if f.server == login {
            let p = acrscope::procs::Process {
                pid: 4242,
                name: "curl".into(),
                exe: None,
                uid: 1000,
                container: None,
                side: acrscope::procs::Side::Client,
            };
            s.session.set_process(i as u32, Some(std::sync::Arc::new(p)));
        }
    }
    s
}

#[test]
fn process_filter_shows_those_flows_and_the_answers_they_used() {
    let s = login_by_curl(with_processes(shared("scenario-a-blob.pcap")));
    let only =
        |names: &[&str]| ViewOptions { processes: names.iter().map(|n| n.to_string()).collect(), ..opts(160, 48) };
    let total = s.session.flows().len();
    // The DNS flows that carried an answer holding the blob server's address.
    let blob: std::net::IpAddr = "20.60.172.36".parse().unwrap();
    let carried: std::collections::BTreeSet<u32> =
        s.session.dns.iter().filter(|a| a.msg.addresses.contains(&blob)).map(|a| a.flow).collect();
    assert!(!carried.is_empty());

    let text = screen(&s, &only(&["dockerd"]));
    assert_fits(&text, 160, 48);
    let header = text.lines().next().unwrap();
    let hidden = total - 4 - carried.len();
    assert!(header.contains(&format!("{hidden} flows hidden by --process")), "{header}");
    assert_eq!(rows(&text, "BLOB", "dockerd:812").len(), 4, "{text}");
    assert!(rows(&text, "LOGIN", "").is_empty(), "curl's flows are hidden: {text}");
    assert!(text.contains(&format!("─ DNS · {} flows", carried.len())), "the resolver's row, its answers used: {text}");
    assert!(text.contains("DNS answers · 1 names"), "{text}");
    assert!(!text.contains("fabrikamreg.azurecr.io AAAA"), "the login's answers are not shown: {text}");

    let text = screen(&s, &only(&["curl", "containerd"]));
    assert_eq!(rows(&text, "LOGIN", "curl:4242").len(), 11, "{text}");
    assert!(rows(&text, "BLOB", "").is_empty(), "{text}");
    assert!(text.contains("DNS answers · 1 names") && text.contains("fabrikamreg.azurecr.io AAAA"), "{text}");

    // A resolver named: every answer it asked, and its flows only.
    let text = screen(&s, &only(&["systemd-resolve"]));
    assert!(text.contains("DNS answers · 2 names"), "{text}");
    assert!(rows(&text, "LOGIN", "").is_empty() && rows(&text, "BLOB", "").is_empty(), "{text}");
    assert!(text.lines().next().unwrap().contains("15 flows hidden by --process"), "{text}");

    let text = screen(&s, &only(&["nothing-by-that-name"]));
    assert!(text.lines().next().unwrap().contains(&format!("{total} flows hidden by --process")), "{text}");
    assert!(text.contains(&format!("no flow of the processes of --process yet ({total} of others hidden)")), "{text}");

    // Without --process nothing is hidden, and the header does not mention it.
    let text = screen(&s, &opts(160, 48));
    assert!(!text.contains("hidden by --process"), "{text}");
    assert_eq!(rows(&text, "LOGIN", "curl:4242").len(), 11, "{text}");
}

#[test]
fn a_stalled_pull_says_where_the_time_went_after_the_error() {
    let s = shared("scenario-m-stall-mid-layer.pcap");
    let t = screen(&s, &opts(120, 40));
    let error = t.find(" ✖ A transfer from the dedicated data endpoint").expect(&t);
    let time = t.find(" ◷ fabrikamreg took 20.2s: stalled 19.9s (98%)").expect(&t);
    let answer = t.find(" ✔ Layer data of registry fabrikamreg").expect(&t);
    assert!(error < time && time < answer, "the headline, where the time went, then the rest:\n{t}");
}
