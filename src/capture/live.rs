//! Live capture with libpcap: choosing and opening the interface, and errors a user can act on.
//! Packets come out as [`Frame`]s, like a file's; the privilege drop that must follow the open
//! lives in [`crate::capture::privileges`].

use std::cell::RefCell;
use std::net::IpAddr;
use std::rc::Rc;

use pcap::{Active, Capture, Device, Linktype};

use super::savefile::{SaveFormat, Savefile};
use super::Frame;
use crate::packet::link::linktype;

/// Whole packets: a ClientHello with post-quantum key shares spans several full segments. The
/// ring (TPACKET_V3) packs packets at their captured size, so a large snaplen costs no room.
const SNAPLEN: i32 = 262_144;
/// How long the kernel holds a block of the ring before handing it over part-filled: the most
/// a packet waits to be read on a quiet link. libpcap's immediate mode would hand each packet
/// over at once, but through TPACKET_V2's fixed slots, one snaplen each, so a 32 MiB buffer
/// holds about 128 packets and a burst overruns it (docs/live-throughput.md).
const BLOCK_TIMEOUT_MS: i32 = 2;

/// What opening the capture needs to know.
#[derive(Debug, Clone)]
pub struct LiveOptions {
    /// `None`: the interface of the default route.
    pub interface: Option<String>,
    pub filter: Option<String>,
    pub buffer_size: i32,
}

#[derive(Debug, thiserror::Error)]
pub enum LiveError {
    /// The user lacks the capture privilege: the message says how to get it.
    #[error("{0}")]
    Permission(String),
    /// Something the user gave is wrong (interface, filter, output file).
    #[error("{0}")]
    Usage(String),
    #[error("{0}")]
    Other(String),
}

/// One capture device as `acrscope interfaces` lists it.
#[derive(Debug, Clone)]
pub struct Interface {
    pub name: String,
    pub description: Option<String>,
    pub addresses: Vec<IpAddr>,
    pub up: bool,
    pub running: bool,
    pub loopback: bool,
}

/// The devices libpcap can capture on.
pub fn interfaces() -> Result<Vec<Interface>, LiveError> {
    let list = Device::list().map_err(|e| LiveError::Other(format!("listing capture interfaces: {e}")))?;
    Ok(list
        .into_iter()
        .map(|d| Interface {
            addresses: d.addresses.iter().map(|a| a.addr).collect(),
            up: d.flags.is_up(),
            running: d.flags.is_running(),
            loopback: d.flags.is_loopback(),
            name: d.name,
            description: d.desc,
        })
        .collect())
}

/// The interface of the IPv4 (else IPv6) default route, from the kernel's routing tables.
pub fn default_route_interface() -> Option<String> {
    let v4 = std::fs::read_to_string("/proc/net/route").ok().and_then(|t| default_v4(&t));
    v4.or_else(|| std::fs::read_to_string("/proc/net/ipv6_route").ok().and_then(|t| default_v6(&t)))
}

/// `/proc/net/route`: `Iface Destination Gateway Flags ... Mask ...`, hex, destination 0 and
/// mask 0 for the default route; the lowest metric wins.
fn default_v4(table: &str) -> Option<String> {
    table
        .lines()
        .skip(1)
        .filter_map(|l| {
            let c: Vec<&str> = l.split_whitespace().collect();
            let up = u32::from_str_radix(c.get(3)?, 16).ok()? & 1 != 0;
            let metric: u32 = c.get(6)?.parse().ok()?;
            (up && *c.get(1)? == "00000000" && *c.get(7)? == "00000000").then(|| (metric, c[0].to_string()))
        })
        .min()
        .map(|(_, name)| name)
}

/// `/proc/net/ipv6_route`: destination `::/0`, not the loopback's unreachable route.
fn default_v6(table: &str) -> Option<String> {
    table
        .lines()
        .filter_map(|l| {
            let c: Vec<&str> = l.split_whitespace().collect();
            let zero = "00000000000000000000000000000000";
            let metric = u32::from_str_radix(c.get(5)?, 16).ok()?;
            let name = *c.get(9)?;
            (c[0] == zero && c[1] == "00" && name != "lo").then(|| (metric, name.to_string()))
        })
        .min()
        .map(|(_, name)| name)
}

/// An open live capture.
pub struct LiveSource {
    cap: Capture<Active>,
    /// The interface captured, and why it was chosen.
    pub interface: String,
    pub chosen_because: Option<&'static str>,
    pub link_type: u16,
    /// Who the process runs as and how it is confined, for the header (set once dropped).
    pub confinement: Option<String>,
}

/// Kernel counters of a live capture.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Drops {
    pub received: u64,
    /// Dropped by the kernel because acrscope did not read fast enough.
    pub kernel: u64,
    /// Dropped by the interface or its driver.
    pub interface: u64,
}

impl LiveSource {
    /// Opens the interface: the one thing that needs the privilege.
    pub fn open(opts: &LiveOptions) -> Result<LiveSource, LiveError> {
        let (name, because) = match &opts.interface {
            Some(n) => (n.clone(), None),
            None => match default_route_interface() {
                Some(n) => (n, Some("default route")),
                None => {
                    return Err(LiveError::Usage(format!(
                        "no default route to pick an interface from: give one with -i ({})",
                        known_interfaces()
                    )))
                }
            },
        };
        if name != "any" {
            if let Ok(list) = Device::list() {
                if !list.iter().any(|d| d.name == name) {
                    return Err(LiveError::Usage(format!(
                        "no interface named {name:?}; known interfaces: {} (or -i any)",
                        names(&list)
                    )));
                }
            }
        }
        let inactive = Capture::from_device(name.as_str())
            .map_err(|e| LiveError::Other(format!("{name}: {e}")))?
            .snaplen(SNAPLEN)
            .immediate_mode(false)
            .buffer_size(opts.buffer_size)
            .timeout(BLOCK_TIMEOUT_MS);
        let mut cap = inactive.open().map_err(|e| open_error(&name, e))?;
        // Non-blocking: libpcap's read timeout does not end a read on Linux's TPACKET_V3 (it
        // polls again), so a quiet interface would never let the caller check for a stop.
        cap = cap.setnonblock().map_err(|e| LiveError::Other(format!("{name}: {e}")))?;
        if name == "any" {
            // LINUX_SLL2 names the interface of each packet; older libpcap only has SLL.
            let _ = cap.set_datalink(Linktype(i32::from(linktype::LINUX_SLL2)));
        }
        if let Some(f) = &opts.filter {
            cap.filter(f, true).map_err(|e| LiveError::Usage(format!("--filter {f:?}: {e}")))?;
        }
        let link_type = u16::try_from(cap.get_datalink().0).unwrap_or(u16::MAX);
        Ok(LiveSource { cap, interface: name, chosen_because: because, link_type, confinement: None })
    }

    /// The `--write` file for this capture's packets, in `file` (see
    /// [`crate::capture::privileges::open_output`] for how it is opened): pcapng when `shown`
    /// ends in `.pcapng`, else pcap. The caller writes each frame to it once the session has
    /// ingested it (a pcapng comment says what the session made of the frame's flow).
    pub fn savefile(&self, file: std::fs::File, shown: &std::path::Path) -> Result<Savefile, LiveError> {
        // libpcap delivers microseconds unless asked for nanoseconds, which acrscope does not.
        Savefile::new(file, SaveFormat::for_path(shown), self.link_type, SNAPLEN as u32, 6)
            .map_err(|e| LiveError::Usage(format!("--write {}: {e}", shown.display())))
    }

    /// The capture as the event loop reads it: it waits on the capture's descriptor for
    /// packets, and copies those waiting into one buffer (see [`LiveStream::read`]).
    pub fn into_stream(self) -> Result<LiveStream, LiveError> {
        let frames = Rc::new(RefCell::new(Frames::default()));
        let codec = Collect { frames: frames.clone(), number: 0, link_type: self.link_type };
        let interface = self.interface;
        let stream = self.cap.stream(codec).map_err(|e| LiveError::Other(format!("{interface}: {e}")))?;
        Ok(LiveStream { stream, frames, interface })
    }

    pub fn label(&self) -> String {
        match self.chosen_because {
            Some(why) => format!("live {} ({why})", self.interface),
            None => format!("live {}", self.interface),
        }
    }
}

/// Frames copied out of libpcap's ring, in one buffer: no allocation per packet.
#[derive(Default)]
pub struct Frames {
    data: Vec<u8>,
    metas: Vec<Meta>,
}

struct Meta {
    number: u64,
    ts_ns: i64,
    link_type: u16,
    orig_len: u32,
    start: usize,
}

impl Frames {
    pub fn len(&self) -> usize {
        self.metas.len()
    }

    pub fn is_empty(&self) -> bool {
        self.metas.is_empty()
    }

    pub fn frame(&self, i: usize) -> Frame<'_> {
        let m = &self.metas[i];
        let end = self.metas.get(i + 1).map_or(self.data.len(), |n| n.start);
        Frame {
            number: m.number,
            ts_ns: m.ts_ns,
            link_type: m.link_type,
            interface: 0,
            orig_len: m.orig_len,
            offset: 0,
            data: &self.data[m.start..end],
            comment: None,
        }
    }

    pub fn clear(&mut self) {
        self.data.clear();
        self.metas.clear();
    }
}

/// What pcap's stream does with each packet: copies it into the shared [`Frames`].
struct Collect {
    frames: Rc<RefCell<Frames>>,
    number: u64,
    link_type: u16,
}

impl pcap::PacketCodec for Collect {
    type Item = ();

    fn decode(&mut self, p: pcap::Packet<'_>) {
        self.number += 1;
        let ts = p.header.ts;
        // time_t and suseconds_t are i64 here, narrower on 32-bit targets.
        #[allow(clippy::useless_conversion)]
        let (sec, usec) = (i64::from(ts.tv_sec), i64::from(ts.tv_usec));
        let mut f = self.frames.borrow_mut();
        let start = f.data.len();
        f.metas.push(Meta {
            number: self.number,
            ts_ns: sec.saturating_mul(1_000_000_000).saturating_add(usec * 1000),
            link_type: self.link_type,
            orig_len: p.header.len,
            start,
        });
        f.data.extend_from_slice(p.data);
    }
}

/// A live capture read by an event loop (pcap's `capture-stream`: tokio waits on the
/// capture's descriptor). The loop reads the ring itself: a thread handing batches over would
/// wake the loop for nearly every packet (figures in docs/live-throughput.md).
pub struct LiveStream {
    stream: pcap::PacketStream<Active, Collect>,
    frames: Rc<RefCell<Frames>>,
    interface: String,
}

impl LiveStream {
    /// Waits for a packet, then takes every packet waiting, up to `max` in all, into the
    /// frames ([`LiveStream::frames`]). Cancel-safe: nothing is taken until a packet is there.
    pub async fn read(&mut self, max: usize) -> Result<(), LiveError> {
        use futures_util::{FutureExt, StreamExt};
        let err = |e: pcap::Error| LiveError::Other(format!("{}: reading packets: {e}", self.interface));
        match self.stream.next().await {
            Some(Ok(())) => {}
            Some(Err(e)) => return Err(err(e)),
            None => return Err(LiveError::Other(format!("{}: the capture ended", self.interface))),
        }
        for _ in 1..max {
            match self.stream.next().now_or_never() {
                Some(Some(Ok(()))) => {}
                Some(Some(Err(e))) => return Err(err(e)),
                _ => break,
            }
        }
        Ok(())
    }

    /// The frames read so far (the caller clears them once ingested).
    pub fn frames(&self) -> std::cell::RefMut<'_, Frames> {
        self.frames.borrow_mut()
    }

    pub fn drops(&mut self) -> Option<Drops> {
        self.stream.capture_mut().stats().ok().map(|s| Drops {
            received: u64::from(s.received),
            kernel: u64::from(s.dropped),
            interface: u64::from(s.if_dropped),
        })
    }
}

/// The name of the interface with kernel index `ifindex` (what a LINUX_SLL2 header holds).
pub fn interface_name(ifindex: u32) -> Option<String> {
    let dir = std::fs::read_dir("/sys/class/net").ok()?;
    dir.flatten().find_map(|e| {
        let ix = std::fs::read_to_string(e.path().join("ifindex")).ok()?;
        (ix.trim().parse::<u32>().ok()? == ifindex).then(|| e.file_name().to_string_lossy().into_owned())
    })
}

fn names(list: &[Device]) -> String {
    list.iter().map(|d| d.name.as_str()).collect::<Vec<_>>().join(", ")
}

fn known_interfaces() -> String {
    match Device::list() {
        Ok(l) => format!("known interfaces: {}", names(&l)),
        Err(_) => "see `acrscope interfaces`".into(),
    }
}

/// libpcap's activation errors, made into what the user should do.
fn open_error(name: &str, e: pcap::Error) -> LiveError {
    let text = e.to_string();
    let lower = text.to_lowercase();
    if lower.contains("permission") || lower.contains("not permitted") || lower.contains("access denied") {
        return LiveError::Permission(permission_message(name, &text));
    }
    if lower.contains("no such device") {
        return LiveError::Usage(format!("no interface named {name:?}; {} (or -i any)", known_interfaces()));
    }
    LiveError::Other(format!("{name}: {text}"))
}

/// The message for a missing capture privilege: names the capability and gives the commands
/// to copy, with this binary's real path (symlinks resolved, as setcap needs the file).
pub fn permission_message(interface: &str, detail: &str) -> String {
    let exe = std::env::current_exe().ok().and_then(|p| std::fs::canonicalize(p).ok());
    let exe = exe.as_deref().map_or_else(|| "acrscope".to_string(), |p| p.display().to_string());
    let args: Vec<String> = std::env::args().skip(1).collect();
    format!(
        "no permission to capture on {interface} ({detail}).\n\
         Capturing needs the capabilities cap_net_raw and cap_net_admin. Either run it with sudo:\n\
         \n    sudo {exe} {}\n\
         \nor grant them to the binary once, then run it as yourself:\n\
         \n    sudo setcap cap_net_raw,cap_net_admin=eip {exe}",
        shell_words(&args)
    )
}

fn shell_words(args: &[String]) -> String {
    args.iter()
        .map(|a| {
            if !a.is_empty() && a.chars().all(|c| c.is_ascii_alphanumeric() || "-_./=:,@%+".contains(c)) {
                a.clone()
            } else {
                format!("'{}'", a.replace('\'', r"'\''"))
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_v4_route_is_the_zero_destination_with_the_lowest_metric() {
        let t = "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n\
                 eth1\t00000000\t0101A8C0\t0003\t0\t0\t200\t00000000\t0\t0\t0\n\
                 eth0\t00000000\t0100000A\t0003\t0\t0\t100\t00000000\t0\t0\t0\n\
                 eth0\t0000000A\t00000000\t0001\t0\t0\t100\t00FFFFFF\t0\t0\t0\n";
        assert_eq!(default_v4(t).as_deref(), Some("eth0"));
        assert_eq!(default_v4("Iface\tDestination\n"), None);
    }

    #[test]
    fn default_v6_route_skips_the_loopback_reject_route() {
        let z = "00000000000000000000000000000000";
        let t = format!(
            "{z} 00 {z} 00 {z} ffffffff 00000001 00000000 00200200 lo\n\
             {z} 00 {z} 00 fe800000000000000000000000000001 00000400 00000001 00000000 00000003 ens5\n"
        );
        assert_eq!(default_v6(&t).as_deref(), Some("ens5"));
    }

    #[test]
    fn permission_message_names_the_capabilities_and_both_commands() {
        let m = permission_message("eth0", "socket: Operation not permitted");
        assert!(m.contains("cap_net_raw") && m.contains("cap_net_admin"), "{m}");
        assert!(m.contains("sudo setcap cap_net_raw,cap_net_admin=eip /"), "{m}");
        assert!(m.contains("    sudo /"), "{m}");
    }

    #[test]
    fn interface_index_1_is_the_loopback_on_linux() {
        if std::path::Path::new("/sys/class/net/lo/ifindex").exists() {
            assert_eq!(interface_name(1).as_deref(), Some("lo"));
        }
        assert_eq!(interface_name(u32::MAX), None);
    }

    #[test]
    fn shell_words_quotes_what_the_shell_would_split() {
        let a = vec!["live".to_string(), "--filter".into(), "tcp port 443".into(), "it's".into()];
        assert_eq!(shell_words(&a), r"live --filter 'tcp port 443' 'it'\''s'");
    }
}
