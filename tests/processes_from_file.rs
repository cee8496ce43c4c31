//! A pcapng that `live --write` made names each packet's process in its comment; `report`
//! and `replay` of the file give each flow that process back (issue 17).

mod common;

use std::path::Path;
use std::process::Command;
use std::sync::Arc;

use acrscope::analysis::Analyzer;
use acrscope::capture::file::FileReader;
use acrscope::capture::savefile::{SaveFormat, Savefile};
use acrscope::flow::L4;
use acrscope::output::annotate::Recorder;
use acrscope::procs::{Process, Side};
use acrscope::session::Session;

/// What live attribution would have found: TCP flows by dockerd (in a container, to show the
/// id travels), DNS by the local resolver; the first flow by none.
fn process_of(proto: L4, id: usize) -> Option<Process> {
    let p = match proto {
        _ if id == 0 => return None,
        L4::Tcp => Process {
            pid: 812,
            name: "dockerd".into(),
            exe: Some("/usr/bin/my dockerd".into()),
            uid: 0,
            container: Some("3f1c6a0d8a1e4c4fb1b8f2d77c0e5e9a0b2d4c6e8f0a1b3c5d7e9f1a2b4c6d8e".into()),
            side: Side::Client,
        },
        L4::Udp => Process {
            pid: 301,
            name: "systemd-resolve".into(),
            exe: None,
            uid: 991,
            container: None,
            side: Side::Client,
        },
    };
    Some(p)
}

/// Writes `capture` again as `live --write OUT.pcapng` would have, with the processes of
/// [`process_of`] set as each flow opens (where live attribution sets them).
fn record(capture: &str, out: &Path) -> usize {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/captures").join(capture);
    let mut reader = FileReader::open(&path).unwrap();
    let analyzer = Analyzer::default();
    let mut session = Session::default();
    let mut rec: Option<Recorder> = None;
    while let Some(frame) = reader.next_frame().unwrap() {
        let rec = rec.get_or_insert_with(|| {
            let f = std::fs::File::create(out).unwrap();
            Recorder::new(Savefile::new(f, SaveFormat::Pcapng, frame.link_type, 262_144, 9).unwrap(), &analyzer)
        });
        let before = session.flows().len();
        session.ingest(&frame);
        for id in before..session.flows().len() {
            session.set_process(id as u32, process_of(session.flows()[id].proto, id).map(Arc::new));
        }
        rec.record(&session, &frame);
    }
    let mut rec = rec.unwrap();
    rec.flush();
    assert!(rec.error().is_none());
    session.flows().len()
}

#[test]
fn report_of_a_recorded_pcapng_gives_each_flow_its_process() {
    let out = std::env::temp_dir().join(format!("acrscope-procs-file-{}.pcapng", std::process::id()));
    let flows = record("scenario-a-blob.pcap", &out);
    let o = Command::new(env!("CARGO_BIN_EXE_acrscope"))
        .args(["report", "--format", "json", out.to_str().unwrap()])
        .output()
        .unwrap();
    let _ = std::fs::remove_file(&out);
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    let r: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let got = r["flows"].as_array().unwrap();
    assert_eq!(got.len(), flows);
    let mut named = 0;
    for f in got {
        let p = &f["process"];
        match f["proto"].as_str().unwrap() {
            _ if f["id"] == 0 => assert!(p.is_null(), "the flow recorded without a process has none: {f}"),
            "tcp" => {
                assert_eq!((p["name"].as_str(), p["pid"].as_u64()), (Some("dockerd"), Some(812)), "{f}");
                assert_eq!(p["exe"], "/usr/bin/my dockerd");
                assert_eq!(p["uid"], 0);
                assert_eq!(p["side"], "client");
                assert!(p["container"].as_str().is_some_and(|c| c.starts_with("3f1c6a0d")), "{p}");
                named += 1;
            }
            _ => assert_eq!(
                (p["name"].as_str(), p["pid"].as_u64(), p["uid"].as_u64()),
                (Some("systemd-resolve"), Some(301), Some(991))
            ),
        }
    }
    assert!(named >= 10, "{named}");
    // DNS answers name the process that asked, from the same comments.
    let answers = r["dns"].as_array().expect("dns answers");
    assert!(!answers.is_empty());
    for a in answers {
        // Flow 0, recorded without a process, is the first DNS exchange (frame 3).
        if a["frame"] == 3 {
            assert!(a["process"].is_null(), "{a}");
        } else {
            assert!(a["process"]["name"] == "systemd-resolve" && a["asked_by_resolver"] == true, "{a}");
        }
    }
}

#[test]
fn a_pcapng_without_processes_reads_as_before() {
    // The bundled captures have no comments: no flow gets a process.
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/captures/scenario-a-blob.pcap");
    let (s, _) = acrscope::pipeline::read_file(&path, acrscope::session::Limits::default(), |_| {}).unwrap();
    assert!(s.flow_refs().all(|f| f.facts.process.is_none()));
}

/// A paced replay holds a frame read ahead of its time: the held frame keeps its comment, so
/// a flow of one packet, which has no other, still gets its process.
#[test]
fn a_paced_replay_keeps_the_process_of_a_frame_it_held_back() {
    use acrscope::engine::Speed;
    use acrscope::engine::{spawn, Options, Source};
    let out = std::env::temp_dir().join(format!("acrscope-procs-paced-{}.pcapng", std::process::id()));
    // Two one-packet UDP flows 0.2 s apart: at the recorded pace the second is read before its
    // time and held.
    let packets = [
        (0.0, common::udp([10, 0, 0, 1], 40000, [10, 0, 0, 2], 9999, b"first")),
        (0.2, common::udp([10, 0, 0, 1], 40001, [10, 0, 0, 3], 9999, b"second")),
    ];
    let analyzer = Analyzer::default();
    let f = std::fs::File::create(&out).unwrap();
    let mut rec = Recorder::new(Savefile::new(f, SaveFormat::Pcapng, common::RAW, 262_144, 9).unwrap(), &analyzer);
    let mut session = Session::default();
    for (i, (t, data)) in packets.iter().enumerate() {
        let ts_ns = 1_700_000_000_000_000_000 + (*t * 1e9) as i64;
        let frame = common::raw_frame(i as u64 + 1, ts_ns, data);
        session.ingest(&frame);
        let p = Process { pid: 900 + i as u32, name: format!("client{i}"), ..process_of(L4::Tcp, 1).unwrap() };
        session.set_process(i as u32, Some(Arc::new(p)));
        rec.record(&session, &frame);
    }
    rec.flush();
    assert!(rec.error().is_none());
    let source = Source::open(&out, Speed::Factor(1.0), false).unwrap();
    let s = spawn(source, Default::default(), false, Options::default(), ()).unwrap().wait().unwrap();
    let _ = std::fs::remove_file(&out);
    let got: Vec<_> =
        s.session.flow_refs().map(|f| f.facts.process.as_ref().map(|p| (p.name.clone(), p.pid))).collect();
    assert_eq!(got, [Some(("client0".to_string(), 900)), Some(("client1".to_string(), 901))]);
}
