//! Captures from anywhere (issue 18): standard input, files still being written, compressed
//! files; and results handed to other tools.

mod common;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use serde_json::Value;

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_acrscope"))
}

fn capture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/captures").join(name)
}

fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("acrscope-anywhere-{}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d.join(name)
}

/// The bundled captures, and a pcapng lab capture (several interfaces).
fn captures() -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = ["scenario-a-blob.pcap", "scenario-b-dedicated.pcap", "scenario-c-privatelink.pcap"]
        .iter()
        .map(|n| capture(n))
        .collect();
    let lab = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/lab");
    if let Some(p) = std::fs::read_dir(&lab)
        .ok()
        .into_iter()
        .flatten()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .find(|p| p.extension().is_some_and(|x| x == "pcapng"))
    {
        v.push(p);
    }
    v
}

fn json_of(o: &Output) -> Value {
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&o.stderr)))
}

fn report(path: &Path) -> Value {
    json_of(&bin().args(["report", "--format", "json"]).arg(path).output().unwrap())
}

/// `report --format json -` with `bytes` on standard input.
fn report_stdin(bytes: &[u8]) -> Value {
    let mut child = bin()
        .args(["report", "--format", "json", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let bytes = bytes.to_vec();
    let writer = std::thread::spawn(move || stdin.write_all(&bytes));
    let o = child.wait_with_output().unwrap();
    writer.join().unwrap().unwrap();
    json_of(&o)
}

/// The parts of two reports that must be equal: everything found (flows, DNS, findings,
/// endpoints, counters), not where it was read from.
fn assert_same_findings(a: &Value, b: &Value, what: &str) {
    for k in ["flows", "dns", "findings", "endpoints", "stats"] {
        assert!(!a[k].is_null(), "{what}: no {k}");
        assert_eq!(a[k], b[k], "{what}: {k} differ");
    }
    assert!(!a["flows"].as_array().unwrap().is_empty(), "{what}: no flows at all");
}

#[test]
fn report_from_standard_input_equals_report_from_the_file() {
    for p in captures() {
        let file = report(&p);
        let piped = report_stdin(&std::fs::read(&p).unwrap());
        assert_same_findings(&file, &piped, &p.display().to_string());
        assert_eq!(piped["capture"]["source"], "standard input");
    }
}

#[test]
fn standard_input_that_is_not_a_capture_exits_2_and_says_so() {
    let mut child = bin().args(["report", "-"]).stdin(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    child.stdin.take().unwrap().write_all(b"hello\n").unwrap();
    let o = child.wait_with_output().unwrap();
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("standard input: not a pcap or pcapng capture"), "{err}");
}

#[test]
fn snapshot_from_standard_input_equals_snapshot_of_the_file() {
    let p = capture("scenario-b-dedicated.pcap");
    let (a, b) = (tmp("file.txt"), tmp("stdin.txt"));
    let o = bin().args(["snapshot", "--size", "100x30", "-o"]).arg(&a).arg(&p).output().unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    let o = bin()
        .args(["snapshot", "--size", "100x30", "-o"])
        .arg(&b)
        .arg("-")
        .stdin(std::fs::File::open(&p).unwrap())
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    let (a, b) = (std::fs::read_to_string(a).unwrap(), std::fs::read_to_string(b).unwrap());
    assert!(a.contains("fabrikamreg.azurecr.io"), "{a}");
    // The header names the source; the rest of the screen is the same.
    let body = |s: &str| s.lines().skip(1).map(str::to_string).collect::<Vec<_>>();
    assert_eq!(body(&a), body(&b));
    assert!(b.lines().next().unwrap().contains("replay standard input (pcap)"), "{b}");
}

#[test]
fn replay_follow_reads_a_file_as_it_is_appended() {
    use acrscope::engine::Speed;
    use acrscope::session::Limits;
    let full = std::fs::read(capture("scenario-b-dedicated.pcap")).unwrap();
    let whole = report(&capture("scenario-b-dedicated.pcap"));
    let packets = whole["stats"]["packets"].as_u64().unwrap();
    let path = tmp("growing.pcap");
    // Cut inside a record: a file being written is not a cut file.
    let half = full.len() / 2 + 7;
    std::fs::write(&path, &full[..half]).unwrap();
    let source = acrscope::engine::Source::open(&path, Speed::Max, true).unwrap();
    let f = acrscope::engine::spawn(source, Limits::default(), false, Default::default(), ()).unwrap();
    let first = common::wait_for_progress(&f, "the first half", |p| p.packets > 0).packets;
    assert!(first < packets);
    let mut out = std::fs::OpenOptions::new().append(true).open(&path).unwrap();
    out.write_all(&full[half..]).unwrap();
    out.flush().unwrap();
    let all = common::wait_for_progress(&f, "every packet", |p| p.packets == packets);
    assert!(!all.status.finished, "a followed file has no end until the user quits");
    assert_eq!(all.warnings, 0);
    let g = f.finish().unwrap();
    assert!(g.status.finished);
    assert_eq!(g.session.stats.packets, packets);
    assert!(g.session.stats.warnings.is_empty(), "{:?}", g.session.stats.warnings);
    assert_eq!(g.status.error, None);
}

#[test]
fn gzip_and_zstd_captures_give_the_report_of_the_plain_file() {
    for p in captures() {
        let plain = std::fs::read(&p).unwrap();
        let name = p.file_name().unwrap().to_string_lossy().into_owned();
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        gz.write_all(&plain).unwrap();
        let gz_path = tmp(&format!("{name}.gz"));
        std::fs::write(&gz_path, gz.finish().unwrap()).unwrap();
        let zst_path = tmp(&format!("{name}.zst"));
        std::fs::write(&zst_path, zstd::encode_all(&plain[..], 3).unwrap()).unwrap();
        let want = report(&p);
        for (path, c) in [(&gz_path, "gzip"), (&zst_path, "zstd")] {
            let got = report(path);
            assert_same_findings(&want, &got, &path.display().to_string());
            let format = got["capture"]["format"].as_str().unwrap();
            assert!(format.ends_with(&format!(", {c}-compressed")), "{format}");
            assert!(format.starts_with(want["capture"]["format"].as_str().unwrap()), "{format}");
        }
        // Compressed and piped.
        let piped = report_stdin(&std::fs::read(&zst_path).unwrap());
        assert_same_findings(&want, &piped, "zstd on standard input");
    }
}

#[test]
fn a_cut_gzip_capture_keeps_what_came_before_and_says_offsets_are_decompressed() {
    let p = capture("scenario-a-blob.pcap");
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(&std::fs::read(&p).unwrap()).unwrap();
    let gz = gz.finish().unwrap();
    let path = tmp("cut.pcap.gz");
    std::fs::write(&path, &gz[..gz.len() / 2]).unwrap();
    let r = report(&path);
    let packets = r["stats"]["packets"].as_u64().unwrap();
    assert!(packets > 0 && packets < report(&p)["stats"]["packets"].as_u64().unwrap());
    let err = r["capture"]["error"].as_str().unwrap();
    assert!(err.contains("cut.pcap.gz (gzip; byte offsets are in the decompressed data)"), "{err}");
    assert_eq!(r["stats"]["warnings"]["truncated-file"], 1, "{}", r["stats"]["warnings"]);
}

#[test]
fn bash_accepts_the_completion_script_and_every_shell_gets_one() {
    let o = bin().args(["completions", "bash"]).output().unwrap();
    assert_eq!(o.status.code(), Some(0));
    let script = String::from_utf8(o.stdout).unwrap();
    for word in ["report", "replay", "snapshot", "--follow", "completions"] {
        assert!(script.contains(word), "{word} not in the bash completions");
    }
    let path = tmp("acrscope.bash");
    std::fs::write(&path, &script).unwrap();
    let check = Command::new("bash").arg("-n").arg(&path).output().expect("running bash");
    assert!(check.status.success(), "bash -n: {}", String::from_utf8_lossy(&check.stderr));
    assert!(check.stderr.is_empty(), "{}", String::from_utf8_lossy(&check.stderr));
    for shell in ["zsh", "fish", "elvish", "powershell"] {
        let o = bin().args(["completions", shell]).output().unwrap();
        assert_eq!(o.status.code(), Some(0), "{shell}");
        assert!(String::from_utf8(o.stdout).unwrap().contains("snapshot"), "{shell}");
    }
    assert_eq!(bin().args(["completions", "tcsh"]).output().unwrap().status.code(), Some(2));
}

#[test]
#[ignore = "needs man-db"]
fn the_man_page_renders_without_warnings() {
    let page = bin().arg("man").output().unwrap();
    assert_eq!(page.status.code(), Some(0));
    let mut man = Command::new("man")
        .args(["--warnings", "-l", "-"])
        .env("MANWIDTH", "100")
        .env("MANPAGER", "cat")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("running man (install man-db)");
    man.stdin.take().unwrap().write_all(&page.stdout).unwrap();
    let o = man.wait_with_output().unwrap();
    assert!(o.status.success());
    assert_eq!(String::from_utf8_lossy(&o.stderr), "", "man printed warnings");
    let text = String::from_utf8_lossy(&o.stdout);
    for part in ["ACRSCOPE REPORT", "ACRSCOPE REPLAY", "--follow", "ACRSCOPE SNAPSHOT", "ACRSCOPE COMPLETIONS"] {
        assert!(text.contains(part), "{part} not in the page:\n{text}");
    }
}

/// `report FILE --annotate OUT`: the report, and the annotated capture written.
fn annotate(input: &Path, out: &Path) -> Value {
    let _ = std::fs::remove_file(out);
    let o = bin().args(["report", "--format", "json", "--annotate"]).arg(out).arg(input).output().unwrap();
    json_of(&o)
}

fn annotated_inputs() -> Vec<PathBuf> {
    vec![
        capture("scenario-b-dedicated.pcap"),
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/lab/scenario-d-both-public.pcapng"),
    ]
}

#[test]
fn the_annotated_capture_reads_back_as_the_same_report() {
    for input in annotated_inputs() {
        let out = tmp(&format!("{}.annotated.pcapng", input.file_name().unwrap().to_string_lossy()));
        let original = annotate(&input, &out);
        let again = report(&out);
        assert_same_findings(&original, &again, &out.display().to_string());
        assert_eq!(again["capture"]["format"], "pcapng");
        assert_eq!(original["capture"]["first_ts"], again["capture"]["first_ts"]);
        assert_eq!(original["capture"]["last_ts"], again["capture"]["last_ts"]);
    }
}

#[test]
fn annotate_refuses_a_symbolic_link_and_standard_input() {
    let target = tmp("precious");
    std::fs::write(&target, "keep").unwrap();
    let link = tmp("link.pcapng");
    let _ = std::fs::remove_file(&link);
    std::os::unix::fs::symlink(&target, &link).unwrap();
    let o = bin().args(["report", "--annotate"]).arg(&link).arg(capture("scenario-b-dedicated.pcap")).output().unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("symbolic link"), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(std::fs::read_to_string(&target).unwrap(), "keep");
    let o = bin().args(["report", "--annotate"]).arg(tmp("x.pcapng")).arg("-").stdin(Stdio::null()).output().unwrap();
    assert_eq!(o.status.code(), Some(2));
}

fn tshark(path: &Path, fields: &[&str]) -> Vec<Vec<String>> {
    let mut cmd = Command::new("tshark");
    cmd.arg("-r").arg(path).args(["-T", "fields", "-E", "separator=|"]);
    for f in fields {
        cmd.args(["-e", f]);
    }
    let o = cmd.output().expect("running tshark");
    assert!(o.status.success(), "tshark: {}", String::from_utf8_lossy(&o.stderr));
    String::from_utf8(o.stdout).unwrap().lines().map(|l| l.split('|').map(str::to_string).collect()).collect()
}

#[test]
#[ignore = "needs tshark"]
fn tshark_sees_the_host_on_every_packet_of_an_sni_named_flow() {
    for input in annotated_inputs() {
        let out = tmp(&format!("{}.tshark.pcapng", input.file_name().unwrap().to_string_lossy()));
        let r = annotate(&input, &out);
        // Same packets at the same times, on interfaces of the same link types.
        let times = |p: &Path| tshark(p, &["frame.time_epoch", "frame.len", "frame.cap_len"]);
        let (a, b) = (times(&input), times(&out));
        assert_eq!(a.len() as u64, r["stats"]["packets"].as_u64().unwrap());
        assert_eq!(a, b, "{}: times or lengths differ", input.display());
        let rows =
            tshark(&out, &["ip.src", "ipv6.src", "tcp.srcport", "ip.dst", "ipv6.dst", "tcp.dstport", "frame.comment"]);
        let mut checked = 0;
        for f in r["flows"].as_array().unwrap().iter().filter(|f| f["proto"] == "tcp" && f["sni"].is_string()) {
            let (client, cport) = (f["client"].as_str().unwrap(), f["client_port"].to_string());
            let (server, sport) = (f["server"].as_str().unwrap(), f["server_port"].to_string());
            let host = format!("host={}", f["sni"].as_str().unwrap());
            let mut packets = 0;
            for row in &rows {
                let (src, dst) = (
                    if row[0].is_empty() { &row[1] } else { &row[0] },
                    if row[3].is_empty() { &row[4] } else { &row[3] },
                );
                let up = src == client && row[2] == cport && dst == server && row[5] == sport;
                let down = src == server && row[2] == sport && dst == client && row[5] == cport;
                if up || down {
                    packets += 1;
                    assert!(
                        row[6].contains(&host),
                        "{}: packet of {client}:{cport} without {host}: {:?}",
                        input.display(),
                        row[6]
                    );
                    assert!(row[6].contains(" role="), "{:?}", row[6]);
                }
            }
            let want = f["packets_up"].as_u64().unwrap() + f["packets_down"].as_u64().unwrap();
            assert_eq!(packets, want, "{}: packets of {client}:{cport}", input.display());
            checked += 1;
        }
        assert!(checked > 0, "{}: no SNI-named TCP flow", input.display());
    }
}

/// The screen a frame of the cast leaves: its text without escape sequences (every frame
/// repaints the whole screen from the top left), one line per row, trailing spaces trimmed,
/// as `snapshot -o X.txt` writes a screen.
fn cast_screen(frame: &str) -> Vec<String> {
    let re = regex::Regex::new(r"\x1b\[[0-9;?]*[A-Za-z]").unwrap();
    re.replace_all(frame, "").split("\r\n").map(|l| l.trim_end().to_string()).collect()
}

#[test]
fn the_cast_is_asciicast_v2_and_ends_on_the_snapshot_end_screen() {
    let input = capture("scenario-a-blob.pcap");
    for (speed, size) in [("1", "120x40"), ("4", "100x30")] {
        let cast = tmp(&format!("replay-{speed}.cast"));
        let o = bin()
            .args(["snapshot", "--size", size, "--speed", speed, "--cast"])
            .arg(&cast)
            .arg(&input)
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
        let text = std::fs::read_to_string(&cast).unwrap();
        let mut lines = text.lines();
        let header: Value = serde_json::from_str(lines.next().unwrap()).unwrap();
        let (w, h) = size.split_once('x').unwrap();
        assert_eq!(header["version"], 2);
        assert_eq!(header["width"].to_string(), w);
        assert_eq!(header["height"].to_string(), h);
        let frames: Vec<(f64, String)> = lines
            .map(|l| {
                let v: Value = serde_json::from_str(l).unwrap();
                assert_eq!(v[1], "o", "{l}");
                (v[0].as_f64().unwrap(), v[2].as_str().unwrap().to_string())
            })
            .collect();
        assert!(frames.len() >= 2, "{} frames", frames.len());
        assert!(frames.windows(2).all(|w| w[0].0 <= w[1].0), "frames out of time order");
        // The capture's span at that pace.
        let (session, _) = acrscope::pipeline::read_file(&input, Default::default(), |_| {}).unwrap();
        let span = (session.stats.last_ns.unwrap() - session.stats.first_ns.unwrap()) as f64 / 1e9;
        let want = span / speed.parse::<f64>().unwrap();
        let last = frames.last().unwrap();
        assert!((last.0 - want).abs() < 0.01, "last frame at {} s, capture span at that pace {want} s", last.0);
        for (_, f) in &frames {
            assert_eq!(cast_screen(f).len(), h.parse::<usize>().unwrap(), "every frame is a whole screen");
        }
        let txt = tmp(&format!("end-{speed}.txt"));
        let o = bin().args(["snapshot", "--end", "--size", size, "-o"]).arg(&txt).arg(&input).output().unwrap();
        assert_eq!(o.status.code(), Some(0));
        let end: Vec<String> = std::fs::read_to_string(&txt).unwrap().lines().map(str::to_string).collect();
        assert_eq!(cast_screen(&last.1), end, "the last frame is the --end screen");
        assert_ne!(cast_screen(&frames[0].1), end, "the first frame is not the end already");
    }
}
