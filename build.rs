//! Two things only a build can know: the commit the binary comes from (for `--version`, the
//! ndjson `start` event and the JSON report), and the manual page and shell completions made
//! from the same clap definitions as the parser, for the Debian package (`cargo deb`).

use std::path::{Path, PathBuf};
use std::process::Command;

#[allow(dead_code)]
#[path = "src/cli.rs"]
mod cli;

/// What `crate::VERSION` is inside cli.rs here; the binary's own carries the commit.
const VERSION: &str = env!("CARGO_PKG_VERSION");

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-changed=src/cli.rs");
    println!("cargo:rustc-env=ACRSCOPE_VERSION={}", version());
    if let Err(e) = write_docs() {
        // A missing page only matters to `cargo deb`, which then fails naming the file.
        println!("cargo:warning=manual page and completions not written: {e}");
    }
}

/// `0.2.0 (a1b2c3d 2026-12-05)` from git, or `0.2.0 (no git commit)` outside a checkout.
fn version() -> String {
    let pkg = std::env::var("CARGO_PKG_VERSION").unwrap_or_default();
    let git = |args: &[&str]| -> Option<String> {
        let out = Command::new("git").args(args).output().ok()?;
        let s = String::from_utf8(out.stdout).ok()?.trim().to_string();
        (out.status.success() && !s.is_empty()).then_some(s)
    };
    if let Some(dir) = git(&["rev-parse", "--git-dir"]) {
        // Rebuild when HEAD moves; only files that exist, or cargo would rerun this every build.
        let dir = PathBuf::from(dir);
        let mut watch = vec![dir.join("HEAD"), dir.join("packed-refs")];
        if let Some(r) = git(&["symbolic-ref", "-q", "HEAD"]) {
            watch.push(dir.join(r));
        }
        for p in watch.iter().filter(|p| p.exists()) {
            println!("cargo:rerun-if-changed={}", p.display());
        }
    }
    match (git(&["rev-parse", "--short=7", "HEAD"]), git(&["log", "-1", "--format=%cs"])) {
        (Some(commit), Some(date)) => format!("{pkg} ({commit} {date})"),
        _ => format!("{pkg} (no git commit)"),
    }
}

/// Writes `acrscope.1` (and gzipped) and the bash, zsh and fish completions into `target/<profile>/generated/`,
/// the place `[package.metadata.deb]` takes them from (OUT_DIR's name changes with every
/// build's hash, so a packager could not name it).
fn write_docs() -> std::io::Result<()> {
    use clap::CommandFactory;
    use clap_complete::Shell;
    let out = PathBuf::from(std::env::var_os("OUT_DIR").ok_or(std::io::ErrorKind::NotFound)?);
    // OUT_DIR is target/<profile>/build/acrscope-<hash>/out.
    let profile_dir = out.ancestors().nth(3).ok_or(std::io::ErrorKind::NotFound)?;
    let dir = profile_dir.join("generated");
    std::fs::create_dir_all(&dir)?;
    let page = cli::man_page(cli::Cli::command())?;
    write_if_changed(&dir.join("acrscope.1"), &page)?;
    // Debian installs manual pages gzipped (policy 12.1); no timestamp, so builds are equal.
    let mut gz = flate2::GzBuilder::new().write(Vec::new(), flate2::Compression::best());
    std::io::Write::write_all(&mut gz, &page)?;
    write_if_changed(&dir.join("acrscope.1.gz"), &gz.finish()?)?;
    for shell in [Shell::Bash, Shell::Zsh, Shell::Fish] {
        let mut script = Vec::new();
        clap_complete::generate(shell, &mut cli::Cli::command(), "acrscope", &mut script);
        let name = match shell {
            Shell::Zsh => "_acrscope".to_string(),
            s => format!("acrscope.{s}"),
        };
        write_if_changed(&dir.join(name), &script)?;
    }
    Ok(())
}

fn write_if_changed(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    if std::fs::read(path).is_ok_and(|old| old == bytes) {
        return Ok(());
    }
    std::fs::write(path, bytes)
}
