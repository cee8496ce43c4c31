//! Command line: subcommands and their options.

use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};

#[derive(Parser, Debug)]
#[command(
    name = "acrscope",
    version = crate::VERSION,
    about = "Shows where a container pull really goes on the network: DNS answers (whole CNAME chains) \
             and TLS SNI per flow, classified by registry role, private or public."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Read a capture file (pcap or pcapng) and print what the pull talked to.
    Report(ReportArgs),
    /// Play a capture file in the timeline UI at its recorded pace (or faster).
    Replay(ReplayArgs),
    /// Capture live from an interface: timeline UI, or ndjson events for scripts.
    Live(LiveArgs),
    /// List capture interfaces with their addresses and state.
    Interfaces,
    /// Check from this host every endpoint a pull from a registry needs: DNS, TCP, TLS (who
    /// issued the certificate), the registry's answer, the proxy. No capture, no root.
    Probe(ProbeArgs),
    /// Render the timeline screen of a capture to an image or text file, headless.
    Snapshot(SnapshotArgs),
    /// Print a shell completion script (e.g. `acrscope completions bash > /etc/bash_completion.d/acrscope`).
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the manual page (roff), e.g. `acrscope man | man -l -`.
    Man,
}

#[derive(clap::Args, Debug, Clone)]
pub struct AnalysisArgs {
    /// Endpoint rules (TOML) replacing the bundled assets/endpoints.toml.
    #[arg(long, value_name = "FILE")]
    pub rules: Option<PathBuf>,
    /// Microsoft's ServiceTags_Public_*.json, to name the Azure service tag of each address.
    #[arg(long, value_name = "FILE")]
    pub service_tags: Option<PathBuf>,
    /// Most flows tracked at once; closed and idle flows are evicted first (still reported).
    #[arg(long, value_name = "N", default_value_t = 1_000_000)]
    pub max_flows: usize,
    /// Most DNS answers (and unanswered queries) stored; later ones are counted, not listed.
    #[arg(long, value_name = "N", default_value_t = 1_000_000)]
    pub max_dns_answers: usize,
}

#[derive(clap::Args, Debug)]
pub struct ReportArgs {
    /// Capture file: pcap or pcapng, plain or gzip/zstd-compressed, recognised by its magic
    /// number; `-` reads standard input.
    pub file: PathBuf,
    #[arg(long, value_enum, default_value_t = ReportFormat::Text)]
    pub format: ReportFormat,
    /// Exit with status 3 when a finding of this severity (or worse) exists: for CI jobs that pull.
    #[arg(long, value_enum, value_name = "SEVERITY")]
    pub fail_on: Option<FailOn>,
    /// Also write the capture as pcapng with a comment on every packet naming its flow's host,
    /// role, registry and scope (Wireshark: frame.comment). Not through a symbolic link.
    #[arg(long, value_name = "OUT.pcapng")]
    pub annotate: Option<PathBuf>,
    #[command(flatten)]
    pub analysis: AnalysisArgs,
}

#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailOn {
    /// Something broke the pull (a flow that never connected, a name that did not resolve, ...).
    Error,
    /// An error, or something that may break a pull or weakens it (e.g. private link bypassed).
    Warning,
}

#[derive(clap::Args, Debug)]
pub struct ProbeArgs {
    /// The registry: `fabrikamreg`, `fabrikamreg.azurecr.io`, or any registry host[:port].
    pub name: String,
    /// Also fetch this image's manifest (anonymously, with --username, or with the credentials
    /// of ~/.docker/config.json), follow its first layer's redirect and download a bounded range.
    #[arg(long, value_name = "REPO:TAG")]
    pub image: Option<String>,
    #[arg(long, value_enum, default_value_t = ProbeFormat::Text)]
    pub format: ProbeFormat,
    /// Exit with status 3 when a finding of this severity (or worse) exists.
    #[arg(long, value_enum, value_name = "SEVERITY")]
    pub fail_on: Option<FailOn>,
    /// The most the whole probe takes, in seconds: a check still waiting then is named as timed out.
    #[arg(long, value_name = "SECONDS", default_value_t = 10.0)]
    pub timeout: f64,
    /// Only IPv4 addresses (A records).
    #[arg(long, conflicts_with = "ipv6")]
    pub ipv4: bool,
    /// Only IPv6 addresses (AAAA records).
    #[arg(long)]
    pub ipv6: bool,
    /// Also trust the CA certificates of this PEM file (a private registry's CA). Repeatable.
    #[arg(long, value_name = "PEM")]
    pub ca_file: Vec<PathBuf>,
    /// Ask this DNS server instead of /etc/resolv.conf's (e.g. the VNet's resolver). Repeatable.
    #[arg(long, value_name = "ADDRESS[:PORT]")]
    pub resolver: Vec<String>,
    /// The registry user for --image (a token name, or a service principal's ID).
    #[arg(long, value_name = "USER", requires = "password_stdin")]
    pub username: Option<String>,
    /// Read the password for --username from standard input (never from the command line).
    #[arg(long, requires = "username")]
    pub password_stdin: bool,
    /// Endpoint rules (TOML) replacing the bundled assets/endpoints.toml.
    #[arg(long, value_name = "FILE")]
    pub rules: Option<PathBuf>,
}

#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProbeFormat {
    /// Readable: a verdict per endpoint, what each check saw, the findings.
    Text,
    /// One JSON document (schema: docs/json.md, "acrscope probe").
    Json,
}

#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReportFormat {
    /// One JSON document (schema: docs/json.md).
    Json,
    /// Readable tables: findings, endpoints, flows, DNS answers.
    Text,
    /// One row per host name the pull needed: what a firewall must allow.
    Allowlist,
}

/// Replay pace: a factor of the recorded pace, or `max` for as fast as it reads.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Speed {
    Factor(f64),
    Max,
}

impl std::str::FromStr for Speed {
    type Err = String;
    fn from_str(s: &str) -> Result<Speed, String> {
        if s.eq_ignore_ascii_case("max") {
            return Ok(Speed::Max);
        }
        match s.trim_end_matches('x').parse::<f64>() {
            Ok(f) if f > 0.0 && f.is_finite() => Ok(Speed::Factor(f)),
            _ => Err(format!("'{s}' is not a speed: give a positive factor such as 1, 10 or 0.5, or 'max'")),
        }
    }
}

#[derive(clap::Args, Debug)]
pub struct ReplayArgs {
    /// Capture file: pcap or pcapng; `-` reads standard input as it arrives
    /// (`ssh node sudo tcpdump -U -i any -w - | acrscope replay -`).
    pub file: PathBuf,
    /// Keep reading FILE as it grows (a capture tcpdump is still writing), until q.
    #[arg(long, conflicts_with = "quit_at_end")]
    pub follow: bool,
    /// Replay pace: 1 = as recorded, 10 = ten times faster, max = all at once. Default 1;
    /// with --follow, max (what is already in the file at once, then packets as they come).
    #[arg(long, value_name = "N|max")]
    pub speed: Option<Speed>,
    /// Start paused (space resumes).
    #[arg(long)]
    pub paused: bool,
    /// Quit as soon as the whole capture is on screen: times the UI (benches/ui_load.sh).
    #[arg(long, hide = true)]
    pub quit_at_end: bool,
    /// Show only the flows of these processes (names as `ps` shows them), e.g.
    /// `--process dockerd,containerd`, and the DNS answers they used; the header counts the
    /// others. A file knows processes only if `acrscope live --write FILE.pcapng` wrote it.
    #[arg(long, value_name = "NAMES", value_delimiter = ',')]
    pub process: Vec<String>,
    #[command(flatten)]
    pub analysis: AnalysisArgs,
}

#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum LiveFormat {
    /// One JSON event per line as things happen (dns, flow_open, flow_close, stats).
    Ndjson,
    /// A final summary document, the same as `report --format json`.
    Json,
}

#[derive(clap::Args, Debug)]
pub struct LiveArgs {
    /// Interface to capture on (`any` for all); default: the interface of the default route.
    #[arg(short, long, value_name = "IFACE")]
    pub interface: Option<String>,
    /// A BPF capture filter, as for tcpdump.
    #[arg(long, value_name = "BPF")]
    pub filter: Option<String>,
    /// Kernel capture buffer in bytes.
    #[arg(long, value_name = "BYTES", default_value_t = 32 * 1024 * 1024)]
    pub buffer_size: i32,
    /// Also save the packets to this file: pcapng with a comment per packet naming its flow
    /// (for Wireshark) if the name ends in .pcapng, else pcap.
    #[arg(long, value_name = "FILE")]
    pub write: Option<PathBuf>,
    /// Headless output instead of the UI.
    #[arg(long, value_enum)]
    pub format: Option<LiveFormat>,
    /// Stop after this many seconds.
    #[arg(long, value_name = "SECONDS")]
    pub duration: Option<f64>,
    /// Stop after this many packets.
    #[arg(long, value_name = "PACKETS")]
    pub count: Option<u64>,
    /// User to switch to once the capture is open (default: the sudo caller).
    #[arg(long, value_name = "NAME")]
    pub user: Option<String>,
    /// Show only the flows of these processes (names as `ps` shows them), e.g.
    /// `--process dockerd,containerd`: in the timeline, with the DNS answers they used and the
    /// others counted in the header; with --format ndjson, their flow events (DNS answers are
    /// all written: a resolver asks them, not the pull). Not with --format json.
    #[arg(long, value_name = "NAMES", value_delimiter = ',')]
    pub process: Vec<String>,
    #[command(flatten)]
    pub analysis: AnalysisArgs,
}

#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum ViewKind {
    /// One row per flow.
    Flows,
    /// One row per endpoint host.
    Endpoints,
}

#[derive(clap::Args, Debug)]
pub struct SnapshotArgs {
    /// Capture file: pcap or pcapng; `-` reads standard input.
    pub file: PathBuf,
    /// Output file; the format follows its extension: .svg .png .html .txt .ansi
    #[arg(short, long, value_name = "OUT", required_unless_present = "cast")]
    pub output: Option<PathBuf>,
    /// Record the whole replay instead, as an asciicast v2 file (asciinema play, or any
    /// asciicast player); its last frame is the `--end` screen.
    #[arg(long, value_name = "OUT.cast", conflicts_with_all = ["output", "at", "end"])]
    pub cast: Option<PathBuf>,
    /// Pace of the recording: 1 = as captured, 10 = ten times faster.
    #[arg(long, value_name = "N", requires = "cast", default_value = "1")]
    pub speed: Speed,
    /// Screen size in cells, COLSxROWS.
    #[arg(long, default_value = "120x40", value_name = "COLSxROWS")]
    pub size: String,
    /// Capture time to show, in seconds from the first packet.
    #[arg(long, value_name = "SECONDS", conflicts_with = "end")]
    pub at: Option<f64>,
    /// Show the end of the capture (the default).
    #[arg(long)]
    pub end: bool,
    /// Select the first flow whose host name contains HOST.
    #[arg(long, value_name = "HOST")]
    pub select: Option<String>,
    #[arg(long, value_enum, default_value_t = ViewKind::Flows)]
    pub view: ViewKind,
    #[command(flatten)]
    pub analysis: AnalysisArgs,
}

/// The manual page (roff): each subcommand's synopsis and options follow the list of
/// subcommands on one page, as `man acrscope` users expect. `acrscope man` prints it and
/// build.rs writes it for the Debian package.
pub fn man_page(cmd: clap::Command) -> std::io::Result<Vec<u8>> {
    use std::io::Write;
    let mut out = Vec::new();
    let page = clap_mangen::Man::new(cmd.clone());
    page.render_title(&mut out)?;
    page.render_name_section(&mut out)?;
    page.render_synopsis_section(&mut out)?;
    page.render_description_section(&mut out)?;
    page.render_options_section(&mut out)?;
    for sub in cmd.get_subcommands() {
        let name = format!("acrscope {}", sub.get_name());
        let m = clap_mangen::Man::new(sub.clone().bin_name(name.clone()));
        let mut part = Vec::new();
        m.render_synopsis_section(&mut part)?;
        if sub.get_arguments().any(|a| !a.is_hide_set()) {
            m.render_options_section(&mut part)?;
        }
        // clap_mangen renders these as page sections; here they are subsections of one.
        let part = String::from_utf8_lossy(&part)
            .replace(".SH SYNOPSIS", ".SS Synopsis")
            .replace(".SH OPTIONS", ".SS Options");
        writeln!(out, ".SH \"{}\"", name.to_uppercase())?;
        if let Some(about) = sub.get_about() {
            writeln!(out, "{about}")?;
        }
        out.extend_from_slice(part.as_bytes());
    }
    page.render_version_section(&mut out)?;
    Ok(out)
}
