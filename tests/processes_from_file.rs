//! A pcapng that `live --write` made names each packet's process in its comment; `report`
//! and `replay` of the file give each flow that process back (issue 17).

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
        let before = session.facts.len();
        session.ingest(&frame);
        for id in before..session.facts.len() {
            session.facts[id].process = process_of(session.flows()[id].proto, id).map(Arc::new);
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
    assert!(s.facts.iter().all(|f| f.process.is_none()));
}
