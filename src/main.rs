use std::process::ExitCode;

use anyhow::Context;
use clap::Parser;

use acrscope::analysis::Analyzer;
use acrscope::classify::rules::Rules;
use acrscope::classify::service_tags::ServiceTags;
use acrscope::cli::{AnalysisArgs, Cli, Command, ReportArgs, ReportFormat};
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

fn report(args: ReportArgs) -> anyhow::Result<()> {
    let analyzer = analyzer(&args.analysis)?;
    let limits = Limits { max_active_flows: args.analysis.max_flows };
    let (session, info) = pipeline::read_file(&args.file, limits, |_| {}).map_err(|e| InputError(e.to_string()))?;
    let analysis = analyzer.analyze(&session);
    let out = match args.format {
        ReportFormat::Json => {
            let doc = json::build(&session, &analysis, &info);
            serde_json::to_string_pretty(&doc).context("encoding the report")? + "\n"
        }
        ReportFormat::Text => text::report(&session, &analysis, &info),
        ReportFormat::Allowlist => text::allowlist(&analysis.endpoints),
    };
    use std::io::Write;
    let mut stdout = std::io::stdout().lock();
    if let Err(e) = stdout.write_all(out.as_bytes()).and_then(|_| stdout.flush()) {
        // A closed pipe (`| head`) is not a failure of ours.
        if e.kind() != std::io::ErrorKind::BrokenPipe {
            return Err(e).context("writing the report");
        }
    }
    if let Some(e) = &info.error {
        eprintln!("acrscope: warning: {e}");
    }
    Ok(())
}
