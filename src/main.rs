use std::process::ExitCode;

use anyhow::Context;
use clap::Parser;

use acrscope::analysis::Analyzer;
use acrscope::capture::source::{CaptureReader, OpenOptions};
use acrscope::classify::rules::Rules;
use acrscope::classify::service_tags::ServiceTags;
use acrscope::output::progress::ProgressBar;
use acrscope::output::{json, text};
use acrscope::pipeline;
use acrscope::session::Limits;
// cli.rs names `crate::VERSION`: build.rs compiles it too, with a VERSION of its own.
use acrscope::VERSION;
use cli::{AnalysisArgs, Cli, Command, ReportArgs, ReportFormat};

/// The command line; a module of the binary only (build.rs makes the manual page from it), so
/// that the library never depends on it: its values become the library's types below.
mod cli;

/// Exit codes (README "Exit codes"): 0 success, warnings possible; 1 runtime failure;
/// 2 usage error or unreadable input; 3 `report --fail-on` found what it was told to fail on.
const EXIT_FAILURE: u8 = 1;
const EXIT_INPUT: u8 = 2;
const EXIT_FINDINGS: u8 = 3;

/// `report --fail-on`: the report was written, and it holds findings of that severity.
#[derive(Debug, thiserror::Error)]
#[error("{count} finding(s) of severity {severity} or worse (--fail-on {severity}): {kinds}")]
struct FindingsFailed {
    count: usize,
    severity: &'static str,
    kinds: String,
}

/// An error the user caused by what they gave us (a file that is not a capture, a bad rules file).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
struct InputError(String);

fn main() -> ExitCode {
    acrscope::malloc::fix_mmap_threshold();
    // The attribution helper, re-executed by `acrscope live` as root: before clap, so that it
    // is no subcommand a user sees.
    let mut argv = std::env::args();
    if argv.nth(1).as_deref() == Some(acrscope::procs::helper::SUBCOMMAND) {
        return ExitCode::from(acrscope::procs::helper::main(&argv.collect::<Vec<_>>()));
    }
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Report(args) => report(args),
        Command::Replay(args) => replay(args),
        Command::Snapshot(args) => snapshot(args),
        Command::Live(args) => live(args),
        Command::Interfaces => interfaces(),
        Command::Probe(args) => probe(args),
        Command::Completions { shell } => completions(shell),
        Command::Man => man(),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("acrscope: {e:#}");
            if e.downcast_ref::<InputError>().is_some() {
                ExitCode::from(EXIT_INPUT)
            } else if e.downcast_ref::<FindingsFailed>().is_some() {
                ExitCode::from(EXIT_FINDINGS)
            } else {
                ExitCode::from(EXIT_FAILURE)
            }
        }
    }
}

fn analyzer(a: &AnalysisArgs) -> anyhow::Result<Analyzer> {
    let rules = match &a.rules {
        Some(p) => Rules::from_file(p).map_err(|e| InputError(e.to_string()))?,
        None => Rules::builtin(),
    };
    let tags = match &a.service_tags {
        Some(p) => Some(ServiceTags::load(p).map_err(|e| InputError(e.to_string()))?),
        None => None,
    };
    Ok(Analyzer { rules, tags })
}

/// The session's bounds the options ask for.
fn limits(a: &AnalysisArgs) -> Limits {
    Limits { max_active_flows: a.max_flows, max_dns_answers: a.max_dns_answers }
}

impl From<cli::Speed> for acrscope::engine::Speed {
    fn from(s: cli::Speed) -> Self {
        match s {
            cli::Speed::Factor(f) => Self::Factor(f),
            cli::Speed::Max => Self::Max,
        }
    }
}

impl From<cli::ViewKind> for acrscope::ui::ViewKind {
    fn from(v: cli::ViewKind) -> Self {
        match v {
            cli::ViewKind::Flows => Self::Flows,
            cli::ViewKind::Endpoints => Self::Endpoints,
        }
    }
}

fn replay(args: cli::ReplayArgs) -> anyhow::Result<()> {
    use cli::Speed;
    let analyzer = analyzer(&args.analysis)?;
    let limits = limits(&args.analysis);
    if args.follow && args.file.as_os_str() == acrscope::capture::source::STDIN {
        return Err(InputError(
            "--follow reads a file as it grows; standard input is read as it arrives without it".into(),
        )
        .into());
    }
    let speed = args.speed.unwrap_or(if args.follow { Speed::Max } else { Speed::Factor(1.0) });
    let source =
        acrscope::engine::Source::open(&args.file, speed.into(), args.follow).map_err(|e| InputError(e.to_string()))?;
    let opts = acrscope::ui::UiOptions { quit_at_end: args.quit_at_end, ..ui_options() };
    let (mut publisher, models) = acrscope::ui::publish::Publisher::new(analyzer);
    publisher.only_processes(&args.process);
    let engine = acrscope::engine::spawn(source, limits, args.paused, Default::default(), publisher)
        .context("starting the capture thread")?;
    acrscope::ui::run(engine, models, opts)
}

/// `acrscope live`: opens the capture with the privilege, gives every privilege up, opens what
/// the user named with the user's rights, sandboxes itself, then reads (docs/security.md).
fn live(args: cli::LiveArgs) -> anyhow::Result<()> {
    use acrscope::capture::live::{LiveError, LiveOptions, LiveSource};
    use acrscope::capture::privileges::{self, Confinement};
    use acrscope::capture::sandbox::{self, Allowed};
    use acrscope::live::{run_headless, Output, Plan, StopWhen};
    let usage = |e: LiveError| match e {
        LiveError::Usage(m) => anyhow::Error::new(InputError(m)),
        other => anyhow::Error::new(other),
    };
    let limits = limits(&args.analysis);
    let duration = match args.duration {
        Some(d) if !(d.is_finite() && d > 0.0) => {
            return Err(InputError(format!("--duration {d}: give a number of seconds above 0")).into())
        }
        d => d.map(std::time::Duration::from_secs_f64),
    };
    if !args.process.is_empty() && matches!(args.format, Some(cli::LiveFormat::Json)) {
        // The report of --format json shows every flow, each with its process.
        return Err(InputError(
            "--process filters the events of --format ndjson and the timeline; the json report shows every flow's process"
                .into(),
        )
        .into());
    }
    if args.buffer_size <= 0 {
        return Err(InputError(format!("--buffer-size {}: give a size in bytes above 0", args.buffer_size)).into());
    }
    let switch = privileges::plan(args.user.as_deref()).map_err(usage)?;
    // Before the capture is open (the helper must not inherit its socket) and while root.
    let procs = start_attribution();
    let opts =
        LiveOptions { interface: args.interface.clone(), filter: args.filter.clone(), buffer_size: args.buffer_size };
    let mut src = LiveSource::open(&opts).map_err(usage)?;
    // Root named the file itself: opened as root (never through a link), before becoming nobody.
    let early = match &args.write {
        Some(p) if switch.opens_output_first() => Some(privileges::open_output(p, "root").map_err(usage)?),
        _ => None,
    };
    let dropped = switch.apply().map_err(usage)?;
    // From here on every path is opened with the rights of the user acrscope now is.
    let output = match (&args.write, early) {
        (Some(p), Some(f)) => Some((p, f)),
        (Some(p), None) => Some((p, privileges::open_output(p, &dropped.user).map_err(usage)?)),
        (None, _) => None,
    };
    let save = match output {
        Some((p, f)) => Some(src.savefile(f, p).map_err(usage)?),
        None => None,
    };
    let analyzer = analyzer(&args.analysis)?;
    let save = save.map(|f| acrscope::output::annotate::Recorder::new(f, &analyzer));
    let ui = ui_options();
    let allowed = if args.format.is_some() { Allowed::live_headless() } else { Allowed::live_ui(&ui.screenshot_dir) };

    let confinement = Confinement { sandbox: sandbox::confine(&allowed), dropped };
    src.confinement = Some(confinement.summary());
    let user = Some(confinement.dropped.user.clone());
    let stop_when = StopWhen { duration, count: args.count };
    let Some(format) = args.format else {
        let (mut publisher, models) = acrscope::ui::publish::Publisher::new(analyzer);
        publisher.only_processes(&args.process);
        let opts = acrscope::engine::Options { save, procs, stop_when };
        let engine = acrscope::engine::spawn(acrscope::engine::Source::Live(src), limits, false, opts, publisher)
            .context("starting the capture thread")?;
        return acrscope::ui::run(engine, models, ui);
    };
    let output = match format {
        cli::LiveFormat::Ndjson => Output::Ndjson,
        cli::LiveFormat::Json => Output::Json,
    };
    let interface = src.interface.clone();
    let plan = Plan {
        output,
        stop_when,
        limits,
        filter: args.filter.clone(),
        user,
        confinement: Some(confinement),
        processes: args.process.clone(),
    };
    let mut stdout = std::io::BufWriter::with_capacity(1 << 16, std::io::stdout().lock());
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().context("starting the event loop")?;
    let drops = rt.block_on(run_headless(src, save, &analyzer, &plan, procs, &mut stdout))?;
    if let Some(d) = drops {
        eprintln!(
            "acrscope: {interface}: {} packets received by the capture, {} dropped by the kernel, {} by the interface",
            d.received, d.kernel, d.interface
        );
    }
    Ok(())
}

/// Who holds each flow's socket: a helper process (src/procs/helper.rs) that, started by
/// root, keeps only the two capabilities reading other users' `/proc/<pid>/fd` takes, and
/// otherwise holds nothing and reads only the user's own processes. Says so once.
fn start_attribution() -> Option<acrscope::procs::Attributor> {
    use acrscope::procs::{helper, Attributor};
    use nix::unistd::{getegid, geteuid, User};
    let root = geteuid().is_root();
    let (uid, gid) = match User::from_name("nobody") {
        Ok(Some(u)) if root && !u.uid.is_root() => (u.uid.as_raw(), u.gid.as_raw()),
        _ if root => (65534, 65534),
        _ => (geteuid().as_raw(), getegid().as_raw()),
    };
    match helper::Client::spawn(uid, gid) {
        Ok(c) if c.privileged => Some(Attributor::Helper(c)),
        Ok(c) => {
            eprintln!(
                "acrscope: note: flows are attributed only to your own processes; \
                 run acrscope with sudo to name every process (reading them takes CAP_SYS_PTRACE)"
            );
            Some(Attributor::Helper(c))
        }
        Err(why) => {
            // Not in this process instead: its Landlock sandbox lets it see no other process.
            eprintln!("acrscope: warning: the process-attribution helper did not start ({why}); flows get no process");
            None
        }
    }
}

/// `acrscope snapshot FILE --cast OUT.cast`: the replay, recorded headless.
fn record_cast(args: &cli::SnapshotArgs, path: &std::path::Path, width: u16, height: u16) -> anyhow::Result<()> {
    use cli::Speed;
    use std::io::Write;
    let speed = match args.speed {
        Speed::Factor(f) => f,
        Speed::Max => {
            return Err(InputError("--speed max: a recording needs a pace; give a factor such as 10".into()).into())
        }
    };
    let analyzer = analyzer(&args.analysis)?;
    let limits = limits(&args.analysis);
    let reader = CaptureReader::open(&args.file, &OpenOptions::default()).map_err(|e| InputError(e.to_string()))?;
    let view = acrscope::snapshot::View { width, height, view: args.view.into(), select: args.select.clone() };
    let file = std::fs::File::create(path).with_context(|| format!("writing {}", path.display()))?;
    let mut out = std::io::BufWriter::new(file);
    let shared = acrscope::snapshot::cast::record(reader, &analyzer, &view, speed, limits, &mut out)
        .and_then(|s| out.flush().map(|_| s).map_err(Into::into))
        .with_context(|| format!("writing {}", path.display()))?;
    if let Some(e) = &shared.status.error {
        eprintln!("acrscope: warning: {e}");
    }
    Ok(())
}

/// `acrscope completions SHELL`: the completion script, from the same definitions as the parser.
fn completions(shell: clap_complete::Shell) -> anyhow::Result<()> {
    use clap::CommandFactory;
    let mut cmd = Cli::command();
    clap_complete::generate(shell, &mut cmd, "acrscope", &mut std::io::stdout().lock());
    Ok(())
}

/// `acrscope man`: the manual page.
fn man() -> anyhow::Result<()> {
    use clap::CommandFactory;
    use std::io::Write;
    let page = cli::man_page(Cli::command())?;
    std::io::stdout().lock().write_all(&page).context("writing the manual page")
}

/// `acrscope interfaces`: what can be captured on, with addresses and state.
fn interfaces() -> anyhow::Result<()> {
    use acrscope::capture::live;
    let list = live::interfaces()?;
    let default = live::default_route_interface();
    let width = list.iter().map(|i| i.name.len()).max().unwrap_or(4).max(9);
    println!("{:<width$}  {:<12}  ADDRESSES", "INTERFACE", "STATE");
    for i in &list {
        let state = match (i.up, i.running) {
            (true, true) => "up",
            (true, false) => "up, no link",
            _ => "down",
        };
        let mut addrs: Vec<String> = i.addresses.iter().map(|a| a.to_string()).collect();
        if addrs.is_empty() {
            addrs.push("-".into());
        }
        let mut notes = Vec::new();
        if default.as_deref() == Some(i.name.as_str()) {
            notes.push("default route".to_string());
        }
        if i.loopback {
            notes.push("loopback".into());
        }
        if let Some(d) = i.description.as_ref().filter(|d| !d.is_empty()) {
            notes.push(d.clone());
        }
        let notes = if notes.is_empty() { String::new() } else { format!("  ({})", notes.join("; ")) };
        println!("{:<width$}  {:<12}  {}{notes}", i.name, state, addrs.join(" "));
    }
    Ok(())
}

fn report(args: ReportArgs) -> anyhow::Result<()> {
    let analyzer = analyzer(&args.analysis)?;
    let limits = limits(&args.analysis);
    let reader = CaptureReader::open(&args.file, &OpenOptions::default()).map_err(|e| InputError(e.to_string()))?;
    // A pipe has no size to measure progress against.
    let mut bar = match reader.total_bytes() {
        Some(size) => ProgressBar::new(size, pipeline::PROGRESS_FRAMES),
        None => ProgressBar::hidden(),
    };
    // The annotated copy is written before the report, from a second reading of the file;
    // the first records which flow each frame went to.
    let out = match &args.annotate {
        Some(_) if args.file.as_os_str() == acrscope::capture::source::STDIN => {
            return Err(InputError(
                "--annotate reads the capture twice and cannot with standard input: save it to a file first (tee)"
                    .into(),
            )
            .into())
        }
        Some(p) => Some(acrscope::output::annotate::create_no_follow(p).map_err(|e| {
            let why = if e.raw_os_error() == Some(nix::libc::ELOOP) {
                "it is a symbolic link; give the path of a regular file".to_string()
            } else {
                e.to_string()
            };
            InputError(format!("{}: cannot write the annotated capture: {why}", p.display()))
        })?),
        None => None,
    };
    let mut frame_flows = acrscope::output::annotate::FrameFlows::default();
    let (session, info) = if out.is_some() {
        pipeline::read_all_with(reader, limits, |bytes| bar.update(bytes), |s, _| frame_flows.push(s))
    } else {
        pipeline::read_all(reader, limits, |bytes| bar.update(bytes))
    };
    bar.finish();
    // The allowlist prints the endpoints; only `--fail-on` would read its findings.
    let parts = match (args.format, args.fail_on) {
        (ReportFormat::Allowlist, None) => acrscope::analysis::Parts::EndpointsOnly,
        _ => acrscope::analysis::Parts::All,
    };
    let analysis = analyzer.analyze_parts(&session, parts);
    if let (Some(f), Some(path)) = (out, &args.annotate) {
        acrscope::output::annotate::write(&args.file, f, &session, &analysis, &frame_flows)
            .with_context(|| format!("writing {}", path.display()))?;
    }
    use std::io::Write;
    let mut stdout = std::io::BufWriter::with_capacity(1 << 16, report_out()?);
    // The JSON document and the text report are written as they are made: their flows are
    // never all in memory at once.
    let written = match args.format {
        ReportFormat::Json => json::write(&mut stdout, &json::build(&session, &analysis, &info), stdout_is_terminal()),
        ReportFormat::Text => text::write_report(&mut stdout, &session, &analysis, &info),
        ReportFormat::Allowlist => stdout.write_all(text::allowlist(&analysis.endpoints).as_bytes()),
    };
    if let Err(e) = written.and_then(|_| stdout.flush()) {
        // A closed pipe (`| head`) is not a failure of ours.
        if e.kind() != std::io::ErrorKind::BrokenPipe {
            return Err(e).context("writing the report");
        }
    }
    if let Some(e) = &info.error {
        eprintln!("acrscope: warning: {e}");
    }
    fail_on(args.fail_on, &analysis.findings)?;
    // The process ends here: freeing hundreds of thousands of flows one by one would only
    // delay the exit.
    std::mem::forget(analysis);
    std::mem::forget(session);
    Ok(())
}

/// `--fail-on`: an error (exit 3) when `findings` hold one of that severity or worse.
fn fail_on(fail_on: Option<cli::FailOn>, findings: &[acrscope::analysis::Finding]) -> anyhow::Result<()> {
    use acrscope::analysis::findings::Severity;
    let Some(fail_on) = fail_on else { return Ok(()) };
    let worst = match fail_on {
        cli::FailOn::Error => Severity::Error,
        cli::FailOn::Warning => Severity::Warning,
    };
    let hits: Vec<&str> = findings.iter().filter(|f| f.severity <= worst).map(|f| f.kind().as_str()).collect();
    if hits.is_empty() {
        return Ok(());
    }
    let mut kinds = hits.clone();
    kinds.dedup();
    Err(FindingsFailed { count: hits.len(), severity: worst.as_str(), kinds: kinds.join(", ") }.into())
}

/// `acrscope probe`: the checks, a progress line per check on a terminal, the report.
fn probe(args: cli::ProbeArgs) -> anyhow::Result<()> {
    use std::io::IsTerminal;
    let rules = match &args.rules {
        Some(p) => Rules::from_file(p).map_err(|e| InputError(e.to_string()))?,
        None => Rules::builtin(),
    };
    if !(args.timeout > 0.0 && args.timeout <= 3600.0) {
        return Err(InputError(format!("--timeout {}: give seconds between 0 and 3600", args.timeout)).into());
    }
    let resolvers = args
        .resolver
        .iter()
        .map(|r| acrscope::probe::dns::parse_server(r).map_err(InputError))
        .collect::<Result<Vec<_>, _>>()?;
    let target = acrscope::probe::login_target(&args.name).map_err(InputError)?;
    let credentials = match (&args.username, args.password_stdin) {
        (Some(u), true) => {
            let mut password = String::new();
            std::io::stdin().read_line(&mut password).context("reading the password from standard input")?;
            Some((u.clone(), password.trim_end_matches(['\r', '\n']).to_string()))
        }
        _ => args.image.as_ref().and_then(|_| acrscope::probe::image::docker_credentials(&target.host)),
    };
    let opts = acrscope::probe::Options {
        name: args.name.clone(),
        image: args.image.clone(),
        timeout: std::time::Duration::from_secs_f64(args.timeout),
        family: if args.ipv4 {
            Some(4)
        } else if args.ipv6 {
            Some(6)
        } else {
            None
        },
        ca_files: args.ca_file.clone(),
        resolvers,
        credentials,
    };
    let progress = ProgressLine::new(std::io::stderr().is_terminal());
    let report = acrscope::probe::run(&opts, &rules, &|line| progress.show(line)).map_err(InputError);
    progress.clear();
    let report = report?;
    let out = match args.format {
        cli::ProbeFormat::Text => acrscope::probe::text::report(&report),
        cli::ProbeFormat::Json if stdout_is_terminal() => serde_json::to_string_pretty(&report)? + "\n",
        cli::ProbeFormat::Json => serde_json::to_string(&report)? + "\n",
    };
    print!("{out}");
    fail_on(args.fail_on, &report.findings)
}

/// One line on standard error, rewritten as each check ends; nothing when it is no terminal.
struct ProgressLine {
    on: bool,
    lock: std::sync::Mutex<()>,
}

impl ProgressLine {
    fn new(on: bool) -> ProgressLine {
        ProgressLine { on, lock: std::sync::Mutex::new(()) }
    }

    fn show(&self, line: &str) {
        if self.on {
            let _guard = self.lock.lock();
            let line: String = line.chars().take(110).collect();
            eprint!("\r\x1b[2K{line}");
        }
    }

    fn clear(&self) {
        if self.on {
            eprint!("\r\x1b[2K");
        }
    }
}

/// Indent JSON for a person at a terminal; a pipe or a file gets it on one line.
/// Standard output as a file of its own: the report is written in blocks of 64 KiB, and
/// `std::io::Stdout` looks through each for a line end to flush at (a whole scan of a one-line
/// JSON document that can be hundreds of MB).
fn report_out() -> anyhow::Result<std::fs::File> {
    use std::os::fd::AsFd;
    let fd = std::io::stdout().as_fd().try_clone_to_owned().context("standard output")?;
    Ok(std::fs::File::from(fd))
}

fn stdout_is_terminal() -> bool {
    use std::io::IsTerminal;
    std::io::stdout().is_terminal()
}

/// `acrscope snapshot`: the timeline screen of a capture, headless, into an image or text file.
fn snapshot(args: cli::SnapshotArgs) -> anyhow::Result<()> {
    use acrscope::snapshot::{self, At, Format, View};
    let (width, height) = snapshot::parse_size(&args.size).map_err(InputError)?;
    if let Some(cast) = &args.cast {
        return record_cast(&args, cast, width, height);
    }
    let Some(output) = &args.output else {
        return Err(InputError("give an output file: -o OUT.{svg,png,html,txt,ansi}, or --cast OUT.cast".into()).into());
    };
    let format = Format::from_path(output).map_err(|e| InputError(e.to_string()))?;
    let at = match args.at {
        Some(s) if !(s.is_finite() && s >= 0.0) => {
            return Err(InputError(format!("--at {s}: give the seconds from the first packet, 0 or more")).into())
        }
        Some(s) => At::Seconds(s),
        None => At::End,
    };
    let analyzer = analyzer(&args.analysis)?;
    let limits = limits(&args.analysis);
    let shared = snapshot::load(&args.file, at, limits).map_err(|e| InputError(e.to_string()))?;
    let view = View { width, height, view: args.view.into(), select: args.select.clone() };
    let buf = snapshot::screen(&shared, &analyzer, &view);
    let bytes = snapshot::encode(&buf, format)?;
    std::fs::write(output, bytes).with_context(|| format!("writing {}", output.display()))?;
    if let Some(e) = &shared.status.error {
        eprintln!("acrscope: warning: {e}");
    }
    Ok(())
}

/// The UI's options, with `s` saving screenshots through the snapshot encoders.
fn ui_options() -> acrscope::ui::UiOptions {
    acrscope::ui::UiOptions { save_screen: Some(acrscope::snapshot::save_screen), ..acrscope::ui::UiOptions::default() }
}
