//! The real terminal UI, driven in tmux: `acrscope replay` runs in a shell inside a detached
//! tmux session of a fixed size, keys are sent with `send-keys`, and the screen is read back
//! with `capture-pane`. Besides what the screen shows, every way out (q, Esc, Ctrl-C,
//! SIGTERM) must give the terminal back: main screen, no mouse reporting, a visible cursor
//! and the line discipline as it was (`stty -g` before and after).
//!
//! Each test has its own tmux server (`tmux -L <socket>`) and its own working directory.
//! Every test is `#[ignore = "needs tmux"]` and fails, saying so, when run without tmux.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

/// Longest wait for the screen to show what a step expects.
const DEADLINE: Duration = Duration::from_secs(15);
/// Pause between two looks at the screen.
const POLL: Duration = Duration::from_millis(50);
/// The shell prompt (`capture-pane` drops its trailing space).
const PROMPT: &str = "READY$";

const LOGIN_HOST: &str = "fabrikamreg.azurecr.io";
const DATA_HOST: &str = "fabrikamreg.japaneast.data.azurecr.io";
const DEDICATED: &str = "scenario-b-dedicated.pcap";
const PRIVATE_LINK: &str = "scenario-c-privatelink.pcap";
/// The header's replay state once the whole file is read (src/ui/header.rs).
const END: &str = "■ end";

/// `#{alternate_on} #{mouse_any_flag} #{cursor_flag} #{mouse_sgr_flag}` while the UI owns
/// the terminal, and once it gave it back.
const FLAGS_UI: &str = "1 1 0 1";
const FLAGS_RESTORED: &str = "0 0 1 0";

fn tmux_installed() -> bool {
    Command::new("tmux").arg("-V").output().is_ok_and(|o| o.status.success())
}

/// A detached tmux session running `sh` in a directory of its own.
struct Session {
    socket: String,
    dir: PathBuf,
    /// The server's socket file, removed at the end (`kill-server` leaves it behind).
    socket_path: Option<PathBuf>,
}

impl Session {
    /// Fails the test, saying what to install, when tmux is missing: these tests are
    /// `#[ignore = "needs tmux"]`, so running them is asking for tmux.
    fn start(name: &str, width: u16, height: u16) -> Session {
        assert!(tmux_installed(), "`tmux` is not on PATH: install tmux to run the UI tests");
        let socket = format!("acrscope-ui-{}-{name}", std::process::id());
        let dir = std::env::temp_dir().join(&socket);
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("creating the test directory");
        let mut s = Session { socket, dir, socket_path: None };
        let (w, h) = (width.to_string(), height.to_string());
        let dir = s.dir.to_str().expect("a UTF-8 temp dir").to_string();
        s.tmux(&["new-session", "-d", "-x", &w, "-y", &h, "-c", &dir, "env -u ENV PS1='READY$ ' sh"]);
        s.socket_path = Some(PathBuf::from(s.display("#{socket_path}")));
        assert_eq!(
            s.display("#{pane_width}x#{pane_height}"),
            format!("{width}x{height}"),
            "the pane must have the size asked for"
        );
        s.wait_for("the shell prompt", |t| last_line(t) == PROMPT);
        s
    }

    fn run(&self, args: &[&str]) -> Output {
        Command::new("tmux")
            .args(["-L", &self.socket, "-f", "/dev/null"])
            .args(args)
            .env_remove("TMUX")
            .output()
            .expect("running tmux")
    }

    /// Runs a tmux command that must succeed; returns its output.
    fn tmux(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(out.status.success(), "tmux {args:?} failed: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).expect("tmux output in UTF-8")
    }

    fn display(&self, format: &str) -> String {
        self.tmux(&["display-message", "-p", "-t", "=0:", format]).trim_end().to_string()
    }

    /// Alternate screen, mouse reporting (any mode), cursor visible, SGR mouse encoding.
    fn flags(&self) -> String {
        self.display("#{alternate_on} #{mouse_any_flag} #{cursor_flag} #{mouse_sgr_flag}")
    }

    /// Keys by tmux name (`q`, `C-c`, `Escape`, `Space`, `Enter`).
    fn keys(&self, keys: &[&str]) {
        let mut args = vec!["send-keys", "-t", "=0:"];
        args.extend_from_slice(keys);
        self.tmux(&args);
    }

    /// Types `text` literally, then Enter.
    fn type_line(&self, text: &str) {
        self.tmux(&["send-keys", "-t", "=0:", "-l", text]);
        self.keys(&["Enter"]);
    }

    /// The visible pane, trailing spaces trimmed; `joined` undoes the wrapping of long lines.
    fn capture(&self, joined: bool) -> String {
        let mut args = vec!["capture-pane", "-p", "-t", "=0:"];
        if joined {
            args.push("-J");
        }
        self.tmux(&args).lines().map(str::trim_end).collect::<Vec<_>>().join("\n")
    }

    fn screen(&self) -> String {
        self.capture(false)
    }

    /// Polls the screen until `ok` holds; fails the test with the last screen after the deadline.
    fn wait_for(&self, what: &str, ok: impl Fn(&str) -> bool) -> String {
        let started = Instant::now();
        loop {
            let screen = self.screen();
            if ok(&screen) {
                return screen;
            }
            if started.elapsed() > DEADLINE {
                panic!("waited {DEADLINE:?} for {what}; the screen shows:\n{screen}");
            }
            std::thread::sleep(POLL);
        }
    }

    /// Starts `acrscope replay` from the shell, with the line discipline saved before and after
    /// and the exit status printed; returns the line typed.
    fn launch(&self, capture: &str, args: &str) -> String {
        let bin = quote(env!("CARGO_BIN_EXE_acrscope"));
        let file = quote(&capture_path(capture));
        let line = format!("stty -g > stty.before; {bin} replay {file} {args}; echo \"EXIT=$?\"; stty -g > stty.after");
        self.type_line(&line);
        line
    }

    /// Waits for the screen of a finished replay of the dedicated-endpoint capture.
    fn wait_for_dedicated_end(&self) -> String {
        let screen = self.wait_for("the end of the replay with both hosts", |t| {
            header(t).contains(END) && count_rows(t, "LOGIN", LOGIN_HOST) > 0 && count_rows(t, "DATA", DATA_HOST) > 0
        });
        let head = header(&screen);
        assert!(head.contains("replay scenario-b-dedicated.pcap (pcap)"), "header: {head}");
        assert!(head.contains("t=0.38s / 0.38s"), "header: {head}");
        assert!(head.contains("590 pkts  2.5 MB"), "header: {head}");
        assert!(head.ends_with("? help"), "header: {head}");
        assert!(screen.contains("─ fabrikamreg · Login · 11 flows · ACR japaneast"), "{screen}");
        assert!(screen.contains("─ fabrikamreg · Data: dedicated endpoint · 4 flows"), "{screen}");
        assert_eq!(count_rows(&screen, "LOGIN", LOGIN_HOST), 11, "one LOGIN row per flow:\n{screen}");
        assert_eq!(count_rows(&screen, "DATA", DATA_HOST), 4, "one DATA row per flow:\n{screen}");
        assert!(footer(&screen).ends_with("q quit"), "footer: {}", footer(&screen));
        screen
    }

    /// After acrscope exited: the prompt is back under the exit status, the main screen shows
    /// the command line (not the UI), the terminal modes are undone. Returns the exit status.
    fn assert_restored(&self, typed: &str) -> String {
        let started = Instant::now();
        let screen = loop {
            let s = self.capture(true);
            if s.contains("EXIT=") && last_line(&s) == PROMPT {
                break s;
            }
            if started.elapsed() > DEADLINE {
                panic!("acrscope did not give the prompt back within {DEADLINE:?}; the screen shows:\n{s}");
            }
            std::thread::sleep(POLL);
        };
        assert_eq!(self.flags(), FLAGS_RESTORED, "alternate screen off, mouse off, cursor visible:\n{screen}");
        assert!(
            screen.lines().any(|l| l == format!("{PROMPT} {typed}")),
            "the main screen must show the command line typed:\n{screen}"
        );
        for ui in [END, "? help", "q quit", "ROLE  HOST"] {
            assert!(!screen.contains(ui), "the UI ({ui:?}) must be gone:\n{screen}");
        }
        let before = std::fs::read_to_string(self.dir.join("stty.before")).expect("stty.before");
        let after = std::fs::read_to_string(self.dir.join("stty.after")).expect("stty.after");
        assert!(!before.trim().is_empty());
        assert_eq!(before, after, "the terminal's line settings (stty -g) must be as before");
        let status = screen.lines().find_map(|l| l.strip_prefix("EXIT=")).expect("the exit status line");
        status.to_string()
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        let _ = self.run(&["kill-server"]);
        if let Some(p) = &self.socket_path {
            let _ = std::fs::remove_file(p);
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn capture_path(name: &str) -> String {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/captures").join(name);
    p.to_str().expect("a UTF-8 path").to_string()
}

/// Single-quotes `s` for sh.
fn quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

fn last_line(screen: &str) -> &str {
    screen.lines().rfind(|l| !l.is_empty()).unwrap_or("")
}

fn header(screen: &str) -> &str {
    screen.lines().next().unwrap_or("")
}

/// The bottom line of the UI, without the blank first column.
fn footer(screen: &str) -> &str {
    last_line(screen).trim_start()
}

/// Timeline rows with role badge `badge` whose host column is `host`: the row starts with a
/// space or the selection mark, then the badge, then the host.
fn rows<'a>(screen: &'a str, badge: &str, host: &str) -> Vec<&'a str> {
    screen
        .lines()
        .filter(|l| {
            let Some(rest) = l.strip_prefix(' ').or_else(|| l.strip_prefix('›')) else { return false };
            let mut words = rest.split_whitespace();
            words.next() == Some(badge) && words.next() == Some(host)
        })
        .collect()
}

fn count_rows(screen: &str, badge: &str, host: &str) -> usize {
    rows(screen, badge, host).len()
}

/// Timeline rows with role badge `badge`, whatever the host.
fn count_badge(screen: &str, badge: &str) -> usize {
    screen
        .lines()
        .filter_map(|l| l.strip_prefix(' ').or_else(|| l.strip_prefix('›')))
        .filter(|l| l.split_whitespace().next() == Some(badge) && l.contains('│'))
        .count()
}

/// The pid of the `acrscope` process the pane's shell started (from /proc).
fn acrscope_pid(s: &Session) -> u32 {
    let shell: u32 = s.display("#{pane_pid}").parse().expect("pane_pid");
    let started = Instant::now();
    loop {
        let found = std::fs::read_dir("/proc").expect("/proc").flatten().find_map(|e| {
            let pid: u32 = e.file_name().to_str()?.parse().ok()?;
            let stat = std::fs::read_to_string(e.path().join("stat")).ok()?;
            // `pid (comm) state ppid ...`; comm may hold spaces and parentheses.
            let (head, rest) = stat.rsplit_once(") ")?;
            let comm = head.split_once(" (")?.1;
            let ppid: u32 = rest.split_whitespace().nth(1)?.parse().ok()?;
            (ppid == shell && comm == "acrscope").then_some(pid)
        });
        if let Some(pid) = found {
            return pid;
        }
        assert!(started.elapsed() < DEADLINE, "no acrscope process under the pane's shell {shell}");
        std::thread::sleep(POLL);
    }
}

#[derive(Debug, Clone, Copy)]
enum Exit {
    Key(&'static str),
    Term,
}

/// Replays the dedicated-endpoint capture at full speed, checks the final screen, leaves the
/// way `exit` says and checks the terminal came back whole.
fn replay_and_leave(name: &str, exit: Exit) {
    let s = Session::start(name, 120, 40);
    let typed = s.launch(DEDICATED, "--speed max");
    s.wait_for_dedicated_end();
    assert_eq!(s.flags(), FLAGS_UI, "while the UI runs: alternate screen, mouse reporting, hidden cursor");
    let pid = acrscope_pid(&s);
    match exit {
        Exit::Key(k) => s.keys(&[k]),
        Exit::Term => {
            let out = Command::new("kill").args(["-TERM", &pid.to_string()]).output().expect("running kill");
            assert!(out.status.success(), "kill -TERM {pid}: {}", String::from_utf8_lossy(&out.stderr));
        }
    }
    let status = s.assert_restored(&typed);
    // Quitting, Ctrl-C (a key in raw mode) and SIGTERM all end the loop normally (src/ui/run.rs).
    assert_eq!(status, "0", "exit status after {exit:?}");
    assert!(!Path::new(&format!("/proc/{pid}")).exists(), "acrscope (pid {pid}) is gone");
}

#[test]
#[ignore = "needs tmux"]
fn q_quits_from_the_final_screen_and_restores_the_terminal() {
    replay_and_leave("quit-q", Exit::Key("q"));
}

#[test]
#[ignore = "needs tmux"]
fn ctrl_c_restores_the_terminal() {
    replay_and_leave("quit-ctrl-c", Exit::Key("C-c"));
}

#[test]
#[ignore = "needs tmux"]
fn sigterm_restores_the_terminal() {
    replay_and_leave("quit-sigterm", Exit::Term);
}

#[test]
#[ignore = "needs tmux"]
fn quit_at_end_leaves_by_itself_once_the_end_is_drawn() {
    // What benches/ui_load.sh times: no key is sent, the UI quits after its final frame.
    let s = Session::start("quit-at-end", 120, 40);
    let typed = s.launch(DEDICATED, "--speed max --quit-at-end");
    assert_eq!(s.assert_restored(&typed), "0");
}

#[test]
#[ignore = "needs tmux"]
fn g_switches_between_one_row_per_flow_and_one_row_per_host() {
    let s = Session::start("toggle-g", 120, 40);
    let typed = s.launch(DEDICATED, "--speed max");
    s.wait_for_dedicated_end();

    s.keys(&["g"]);
    let hosts = s.wait_for("one row per host", |t| footer(t).starts_with("one row per host"));
    assert_eq!(count_rows(&hosts, "LOGIN", LOGIN_HOST), 1, "one LOGIN row for the login host:\n{hosts}");
    assert_eq!(count_rows(&hosts, "DATA", DATA_HOST), 1, "one DATA row for the data host:\n{hosts}");
    assert!(hosts.contains("─ fabrikamreg · Login · 11 flows"), "the heading still counts flows:\n{hosts}");
    assert!(hosts.contains("─ fabrikamreg · Data: dedicated endpoint · 4 flows"), "{hosts}");

    s.keys(&["g"]);
    let flows = s.wait_for("one row per flow", |t| footer(t).starts_with("one row per flow"));
    assert_eq!(count_rows(&flows, "LOGIN", LOGIN_HOST), 11, "back to one row per flow:\n{flows}");
    assert_eq!(count_rows(&flows, "DATA", DATA_HOST), 4, "{flows}");

    s.keys(&["q"]);
    assert_eq!(s.assert_restored(&typed), "0");
}

#[test]
#[ignore = "needs tmux"]
fn filter_keeps_only_the_matching_rows() {
    let s = Session::start("filter", 120, 40);
    let typed = s.launch(DEDICATED, "--speed max");
    s.wait_for_dedicated_end();

    s.keys(&["/"]);
    s.wait_for("the filter prompt", |t| footer(t).starts_with("filter: ▏"));
    s.tmux(&["send-keys", "-t", "=0:", "-l", "data"]);
    s.wait_for("the typed filter", |t| footer(t).starts_with("filter: data▏"));
    s.keys(&["Enter"]);
    let screen = s.wait_for("the applied filter", |t| footer(t).starts_with("filter “data”"));

    assert_eq!(count_rows(&screen, "DATA", DATA_HOST), 4, "every data flow stays:\n{screen}");
    assert_eq!(count_badge(&screen, "DATA"), 4, "{screen}");
    assert_eq!(count_badge(&screen, "LOGIN"), 0, "no login row is left:\n{screen}");
    assert_eq!(count_badge(&screen, "DNS"), 0, "no DNS row is left:\n{screen}");
    assert!(screen.contains("─ fabrikamreg · Data: dedicated endpoint · 4 flows"), "{screen}");
    assert!(!screen.contains("· Login ·"), "the Login heading goes with its rows:\n{screen}");
    assert!(!screen.contains("─ DNS · 24 flows"), "the DNS heading goes with its rows:\n{screen}");

    s.keys(&["q"]);
    assert_eq!(s.assert_restored(&typed), "0");
}

#[test]
#[ignore = "needs tmux"]
fn s_saves_the_screen_as_svg_and_text_in_the_working_directory() {
    let s = Session::start("screenshot", 120, 40);
    let typed = s.launch(DEDICATED, "--speed max");
    let before = s.wait_for_dedicated_end();

    s.keys(&["s"]);
    let screen = s.wait_for("the screenshot message", |t| footer(t).starts_with("screen saved to "));
    let status = footer(&screen);

    let mut saved: Vec<String> = std::fs::read_dir(&s.dir)
        .expect("the working directory")
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("acrscope-"))
        .collect();
    saved.sort();
    assert_eq!(saved.len(), 2, "one .svg and one .txt: {saved:?}");
    let (svg_name, txt_name) = (&saved[0], &saved[1]);
    assert!(svg_name.ends_with(".svg") && txt_name.ends_with(".txt"), "{saved:?}");
    assert_eq!(svg_name.trim_end_matches(".svg"), txt_name.trim_end_matches(".txt"), "one stem for both");
    assert!(!svg_name.contains(':'), "no colon in the name: {svg_name}");
    assert!(
        status.contains(&format!("{svg_name} and ")) && status.contains(txt_name.as_str()),
        "the status line says where: {status}"
    );

    let txt = std::fs::read_to_string(s.dir.join(txt_name)).expect("the text screenshot");
    assert_eq!(txt.lines().count(), 40, "one line per screen row:\n{txt}");
    assert_eq!(header(&txt), header(&before), "the text is the screen as shown");
    assert_eq!(count_rows(&txt, "LOGIN", LOGIN_HOST), 11, "{txt}");
    assert_eq!(count_rows(&txt, "DATA", DATA_HOST), 4, "{txt}");
    let svg = std::fs::read_to_string(s.dir.join(svg_name)).expect("the SVG screenshot");
    assert!(svg.starts_with("<svg "), "{}", &svg[..svg.len().min(200)]);
    assert!(svg.contains(r#"data-cols="120""#) && svg.contains(r#"data-rows="40""#), "the screen's size");
    assert!(svg.contains(LOGIN_HOST) && svg.contains(DATA_HOST), "the SVG holds the host names");
    assert!(svg.trim_end().ends_with("</svg>"), "a whole SVG document");

    s.keys(&["q"]);
    assert_eq!(s.assert_restored(&typed), "0");
}

#[test]
#[ignore = "needs tmux"]
fn private_link_fits_a_small_terminal() {
    let s = Session::start("small-privatelink", 80, 24);
    let typed = s.launch(PRIVATE_LINK, "--speed max");
    let screen = s.wait_for("the end of the private-link replay", |t| {
        header(t).contains(END) && count_rows(t, "LOGIN", LOGIN_HOST) > 0
    });
    assert_eq!(screen.lines().count(), 24, "{screen}");
    assert!(screen.lines().all(|l| l.chars().count() <= 80), "{screen}");
    let head = header(&screen);
    assert!(head.contains("574 pkts  2.4 MB") && head.ends_with("? help"), "header: {head}");
    // At 80 columns the host column keeps the login host whole, with the alias mark ◇, and
    // the scope column says the address is private.
    let login = rows(&screen, "LOGIN", LOGIN_HOST);
    assert!(!login.is_empty(), "{screen}");
    for row in &login {
        assert!(row.contains("fabrikamreg.azurecr.io ◇") && row.contains("192.168.0.72:443 priv"), "row: {row}");
    }
    assert!(screen.contains("─ fabrikamreg · Private link · Data: dedicated endpoint · 4 flows"), "{screen}");
    assert!(screen.contains("→ fabrikamreg.privatelink.azurecr.io ◇"), "the DNS pane shows the alias:\n{screen}");
    assert!(footer(&screen).ends_with("q quit"), "footer: {}", footer(&screen));

    s.keys(&["Escape"]);
    assert_eq!(s.assert_restored(&typed), "0");
}

#[test]
#[ignore = "needs tmux"]
fn paused_start_waits_for_space() {
    let s = Session::start("paused", 120, 40);
    let typed = s.launch(DEDICATED, "--paused");
    let paused = s.wait_for("the paused header", |t| header(t).contains("❚❚ paused (space)"));
    assert!(header(&paused).contains("0 pkts  0 B"), "nothing read while paused: {}", header(&paused));
    assert!(paused.contains("paused before the first packet: space starts the replay"), "{paused}");
    // Still paused a moment later: the replay does not start by itself.
    std::thread::sleep(Duration::from_millis(500));
    let still = s.screen();
    assert!(header(&still).contains("❚❚ paused (space)") && header(&still).contains("0 pkts"), "{still}");

    s.keys(&["Space"]);
    s.wait_for("the playing status", |t| footer(t).starts_with("playing") && !header(t).contains("paused"));
    // At the recorded pace the 0.38 s capture ends quickly.
    let end = s.wait_for("the end of the replay", |t| header(t).contains(END) && header(t).contains("590 pkts"));
    assert_eq!(count_rows(&end, "DATA", DATA_HOST), 4, "{end}");
    assert_eq!(count_rows(&end, "LOGIN", LOGIN_HOST), 11, "{end}");

    s.keys(&["q"]);
    assert_eq!(s.assert_restored(&typed), "0");
}

/// `tcpdump -w - | acrscope replay -`: the screen shows the flows of a stream as they arrive,
/// before the writer has ended, and keeps its keys (read from the terminal, not stdin).
#[test]
#[ignore = "needs tmux"]
fn replay_from_standard_input_shows_flows_before_the_writer_ends() {
    use std::io::Write;
    let s = Session::start("stdin", 120, 40);
    let fifo = s.dir.join("capture.fifo");
    let made = Command::new("mkfifo").arg(&fifo).output().expect("running mkfifo");
    assert!(made.status.success(), "mkfifo: {}", String::from_utf8_lossy(&made.stderr));
    let bytes = std::fs::read(capture_path(DEDICATED)).unwrap();
    let (tx, rx) = std::sync::mpsc::channel::<()>();
    let writer = {
        let (fifo, bytes) = (fifo.clone(), bytes.clone());
        std::thread::spawn(move || {
            let mut out = std::fs::OpenOptions::new().write(true).open(&fifo).expect("opening the fifo");
            // Two thirds of the capture, in chunks with pauses between, as tcpdump -U writes.
            let cut = bytes.len() * 2 / 3;
            for chunk in bytes[..cut].chunks(8192) {
                out.write_all(chunk).unwrap();
                out.flush().unwrap();
                std::thread::sleep(Duration::from_millis(20));
            }
            // The rest only once the test has seen the first flows on the screen.
            rx.recv().expect("the test ended early");
            out.write_all(&bytes[cut..]).unwrap();
        })
    };
    let bin = quote(env!("CARGO_BIN_EXE_acrscope"));
    let typed = format!("stty -g > stty.before; {bin} replay - < capture.fifo; echo \"EXIT=$?\"; stty -g > stty.after");
    s.type_line(&typed);
    let early = s.wait_for("the first flows from the pipe", |t| count_rows(t, "LOGIN", LOGIN_HOST) > 0);
    assert!(!header(&early).contains(END), "the writer has not ended: {}", header(&early));
    assert!(header(&early).contains("replay standard input (pcap)"), "{}", header(&early));
    // The keys work while stdin is the pipe: `g` groups by host.
    s.keys(&["g"]);
    s.wait_for("one row per host", |t| footer(t).starts_with("one row per host"));
    s.keys(&["g"]);
    s.wait_for("one row per flow", |t| footer(t).starts_with("one row per flow"));
    tx.send(()).unwrap();
    writer.join().unwrap();
    // Every data flow on the screen once the stream has ended.
    let end = s.wait_for("the end of the stream with every data flow", |t| {
        header(t).contains(END) && header(t).contains("590 pkts") && count_rows(t, "DATA", DATA_HOST) == 4
    });
    assert_eq!(count_rows(&end, "LOGIN", LOGIN_HOST), 11, "{end}");
    s.keys(&["q"]);
    assert_eq!(s.assert_restored(&typed), "0");
}

/// `replay FILE --follow`: a file still being written is shown as it grows, has no end of its
/// own, and q leaves (the reader waiting for more is no obstacle).
#[test]
#[ignore = "needs tmux"]
fn replay_follow_shows_a_growing_file_and_q_leaves() {
    use std::io::Write;
    let s = Session::start("follow", 120, 40);
    let bytes = std::fs::read(capture_path(DEDICATED)).unwrap();
    let path = s.dir.join("growing.pcap");
    // Cut inside a record: the half-written record is waited for, not called a cut file.
    let cut = bytes.len() / 2 + 5;
    std::fs::write(&path, &bytes[..cut]).unwrap();
    let bin = quote(env!("CARGO_BIN_EXE_acrscope"));
    let typed =
        format!("stty -g > stty.before; {bin} replay growing.pcap --follow; echo \"EXIT=$?\"; stty -g > stty.after");
    s.type_line(&typed);
    let first = s.wait_for("the first half", |t| count_rows(t, "LOGIN", LOGIN_HOST) > 0 && header(t).contains(" pkts"));
    assert!(!header(&first).contains("590 pkts"), "{}", header(&first));
    let mut out = std::fs::OpenOptions::new().append(true).open(&path).unwrap();
    out.write_all(&bytes[cut..]).unwrap();
    out.flush().unwrap();
    let all = s.wait_for("every packet", |t| header(t).contains("590 pkts") && count_rows(t, "DATA", DATA_HOST) == 4);
    assert!(!header(&all).contains(END), "a followed file does not end by itself: {}", header(&all));
    assert!(!all.contains("truncated") && !all.contains("cut short"), "{all}");
    s.keys(&["q"]);
    assert_eq!(s.assert_restored(&typed), "0");
}

/// Live, space freezes the view while the capture goes on (a capture cannot pause without
/// losing packets), and resuming catches up with everything captured meanwhile. The `--write`
/// file tells when the capture has taken the flows made during the pause: the capture side
/// writes each packet once it has ingested it.
#[test]
#[ignore = "needs root and tmux"]
fn live_pause_freezes_the_view_while_the_capture_goes_on() {
    assert!(nix::unistd::geteuid().is_root(), "this test captures on lo: run it as root");
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for c in listener.incoming() {
            drop(c);
        }
    });
    let connect = |n: usize| {
        for _ in 0..n {
            drop(std::net::TcpStream::connect(("127.0.0.1", port)).unwrap());
        }
    };
    let s = Session::start("live-pause", 140, 40);
    let bin = quote(env!("CARGO_BIN_EXE_acrscope"));
    let written = s.dir.join("w.pcap");
    let typed = format!(
        "stty -g > stty.before; {bin} live -i lo --filter 'tcp port {port}' --write {}; echo \"EXIT=$?\"; stty -g > stty.after",
        quote(written.to_str().unwrap())
    );
    s.type_line(&typed);
    s.wait_for("the live header", |t| header(t).contains("● live"));
    connect(3);
    s.wait_for("three flows", |t| t.contains("Other · 3 flows"));

    s.keys(&["Space"]);
    s.wait_for("the paused view", |t| header(t).contains("❚❚ paused") && footer(t).starts_with("view paused"));
    connect(5);
    // The capture side has ingested the five new flows once it has written them.
    let flows_written = || {
        let out = Command::new(env!("CARGO_BIN_EXE_acrscope"))
            .args(["report", "--format", "json"])
            .arg(&written)
            .output()
            .unwrap();
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
        v["flows"].as_array().map_or(0, Vec::len)
    };
    let started = Instant::now();
    while flows_written() < 8 {
        assert!(started.elapsed() < DEADLINE, "the capture did not write 8 flows while the view was paused");
        std::thread::sleep(POLL);
    }
    let frozen = s.screen();
    assert!(frozen.contains("Other · 3 flows"), "the paused view stands still:\n{frozen}");
    assert!(header(&frozen).contains("❚❚ paused"), "{frozen}");

    s.keys(&["Space"]);
    // The rows and the footer of the resumed view are both waited for: a pane read while a
    // terminal takes in a frame may hold new rows over the old footer.
    let resumed =
        s.wait_for("the view caught up", |t| t.contains("Other · 8 flows") && footer(t).starts_with("resumed"));
    assert!(header(&resumed).contains("● live"), "{resumed}");

    s.keys(&["q"]);
    assert_eq!(s.assert_restored(&typed), "0");
}

/// Writes `capture` again as `live --write OUT.pcapng` would have, its flows attributed as
/// they open: TCP to the login host by curl, other TCP by dockerd, DNS by the resolver.
fn record_with_processes(capture: &str, out: &Path) {
    use acrscope::capture::savefile::{SaveFormat, Savefile};
    use acrscope::procs::{Process, Side};
    let mut reader = acrscope::capture::file::FileReader::open(Path::new(&capture_path(capture))).unwrap();
    let analyzer = acrscope::analysis::Analyzer::default();
    let mut session = acrscope::session::Session::default();
    let mut rec: Option<acrscope::output::annotate::Recorder> = None;
    while let Some(frame) = reader.next_frame().unwrap() {
        let rec = rec.get_or_insert_with(|| {
            let f = std::fs::File::create(out).unwrap();
            let file = Savefile::new(f, SaveFormat::Pcapng, frame.link_type, 262_144, 9).unwrap();
            acrscope::output::annotate::Recorder::new(file, &analyzer)
        });
        let before = session.flows().len();
        session.ingest(&frame);
        for id in before..session.flows().len() {
            let f = &session.flows()[id];
            let login = session
                .dns
                .iter()
                .any(|a| a.msg.chain.first().is_some_and(|n| n == LOGIN_HOST) && a.msg.addresses.contains(&f.server));
            let (pid, name) = match f.proto {
                acrscope::flow::L4::Udp => (301, "systemd-resolve"),
                _ if login => (4242, "curl"),
                _ => (812, "dockerd"),
            };
            let p = Process { pid, name: name.into(), exe: None, uid: 0, container: None, side: Side::Client };
            session.set_process(id as u32, Some(std::sync::Arc::new(p)));
        }
        rec.record(&session, &frame);
    }
    let mut rec = rec.unwrap();
    rec.flush();
    assert!(rec.error().is_none());
}

/// `replay --process` of a pcapng written by `live --write`: the processes come back from the
/// packets' comments, only dockerd's flows are drawn (with their process column), and the
/// header counts the others.
#[test]
#[ignore = "needs tmux"]
fn replay_of_a_recorded_pcapng_shows_only_the_processes_asked_for() {
    let s = Session::start("process", 150, 40);
    let file = s.dir.join("recorded.pcapng");
    record_with_processes(DEDICATED, &file);
    let typed = s.launch(file.to_str().unwrap(), "--speed max --process dockerd");
    let screen = s.wait_for("the end, dockerd's flows drawn", |t| {
        header(t).contains(END) && count_rows(t, "DATA", DATA_HOST) == 4
    });
    assert!(screen.contains("PROCESS"), "the process column:\n{screen}");
    assert!(rows(&screen, "DATA", DATA_HOST).iter().all(|r| r.contains("dockerd:812")), "{screen}");
    assert_eq!(count_badge(&screen, "LOGIN"), 0, "curl's login flows are hidden:\n{screen}");
    let hidden: usize = header(&screen)
        .split("  ")
        .find_map(|p| p.trim().strip_suffix(" flows hidden by --process")?.parse().ok())
        .unwrap_or_else(|| panic!("the header counts the hidden flows: {}", header(&screen)));
    assert!(hidden >= 11, "the 11 login flows at least: {}", header(&screen));
    s.keys(&["q"]);
    assert_eq!(s.assert_restored(&typed), "0");
}
