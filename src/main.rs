use std::process::ExitCode;

use anyhow::Context;
use clap::Parser;

use acrscope::analysis::Analyzer;
use acrscope::classify::rules::Rules;
use acrscope::classify::service_tags::ServiceTags;
use acrscope::cli::{AnalysisArgs, Cli, Command, ReportArgs, ReportFormat};
use acrscope::output::progress::ProgressBar;
use acrscope::output::{json, text};
use acrscope::pipeline;
use acrscope::session::Limits;

/// Exit codes (README "Exit codes"): 0 success, warnings possible; 1 runtime failure;
/// 2 usage error or unreadable input.
const EXIT_FAILURE: u8 = 1;
const EXIT_INPUT: u8 = 2;

/// An error the user caused by what they gave us (a file that is not a capture, a bad rules file).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
struct InputError(String);

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Report(args) => report(args),
        Command::Replay(args) => replay(args),
        Command::Snapshot(args) => snapshot(args),
        other => Err(anyhow::anyhow!("{other:?}: this command is not built yet")),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("acrscope: {e:#}");
            if e.downcast_ref::<InputError>().is_some() {
                ExitCode::from(EXIT_INPUT)
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

fn replay(args: acrscope::cli::ReplayArgs) -> anyhow::Result<()> {
    let analyzer = analyzer(&args.analysis)?;
    let limits = Limits { max_active_flows: args.analysis.max_flows, max_dns_answers: args.analysis.max_dns_answers };
    let feeder = acrscope::engine::spawn_replay(&args.file, args.speed, args.paused, limits)
        .map_err(|e| InputError(e.to_string()))?;
    acrscope::ui::run(feeder, analyzer, acrscope::ui::UiOptions::default())
}

fn report(args: ReportArgs) -> anyhow::Result<()> {
    let analyzer = analyzer(&args.analysis)?;
    let limits = Limits { max_active_flows: args.analysis.max_flows, max_dns_answers: args.analysis.max_dns_answers };
    let size = std::fs::metadata(&args.file).map_or(0, |m| m.len());
    let mut bar = ProgressBar::new(size, pipeline::PROGRESS_FRAMES);
    let read = pipeline::read_file(&args.file, limits, |bytes| bar.update(bytes));
    bar.finish();
    let (session, info) = read.map_err(|e| InputError(e.to_string()))?;
    let analysis = analyzer.analyze(&session);
    use std::io::Write;
    let mut stdout = std::io::BufWriter::with_capacity(1 << 16, std::io::stdout().lock());
    // The JSON document is written as it is made: its flows are never all in memory at once.
    let written = match args.format {
        ReportFormat::Json => json::write(&mut stdout, &json::build(&session, &analysis, &info)),
        ReportFormat::Text => stdout.write_all(text::report(&session, &analysis, &info).as_bytes()),
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
    // The process ends here: freeing hundreds of thousands of flows one by one would only
    // delay the exit.
    std::mem::forget(analysis);
    std::mem::forget(session);
    Ok(())
}

/// `acrscope snapshot`: the timeline screen of a capture, headless, into an image or text file.
fn snapshot(args: acrscope::cli::SnapshotArgs) -> anyhow::Result<()> {
    use acrscope::snapshot::{self, At, Format, View};
    let format = Format::from_path(&args.output).map_err(|e| InputError(e.to_string()))?;
    let (width, height) = snapshot::parse_size(&args.size).map_err(InputError)?;
    let at = match args.at {
        Some(s) if !(s.is_finite() && s >= 0.0) => {
            return Err(InputError(format!("--at {s}: give the seconds from the first packet, 0 or more")).into())
        }
        Some(s) => At::Seconds(s),
        None => At::End,
    };
    let analyzer = analyzer(&args.analysis)?;
    let limits = Limits { max_active_flows: args.analysis.max_flows, max_dns_answers: args.analysis.max_dns_answers };
    let shared = snapshot::load(&args.file, at, limits).map_err(|e| InputError(e.to_string()))?;
    let view = View { width, height, view: args.view, select: args.select.clone() };
    let buf = snapshot::screen(&shared, &analyzer, &view);
    let bytes = snapshot::encode(&buf, format)?;
    std::fs::write(&args.output, bytes).with_context(|| format!("writing {}", args.output.display()))?;
    if let Some(e) = &shared.status.error {
        eprintln!("acrscope: warning: {e}");
    }
    Ok(())
}
