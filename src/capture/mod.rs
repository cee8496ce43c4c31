//! Capture sources: saved files (pure Rust reader) and live interfaces (libpcap).
//! Every source yields [`Frame`]s and nothing else.

pub mod blocks;
pub mod file;
pub mod live;
pub mod privileges;
pub mod sandbox;
pub mod savefile;
pub mod source;

/// One captured frame, borrowed from the source's reusable buffer.
#[derive(Debug, Clone, Copy)]
pub struct Frame<'a> {
    /// 1-based position in the capture (tshark's frame number).
    pub number: u64,
    /// Capture time in nanoseconds since the Unix epoch (may be negative).
    pub ts_ns: i64,
    /// Link-layer header type (LINKTYPE_* value, upper bits already masked).
    pub link_type: u16,
    /// pcapng interface id (0 for pcap and live captures).
    pub interface: u32,
    /// Length of the packet on the wire; `data.len()` may be smaller (snaplen).
    pub orig_len: u32,
    /// Byte offset of the frame's record in the file (0 for live).
    pub offset: u64,
    pub data: &'a [u8],
    /// The pcapng packet comment (`opt_comment`, the first one), as the file holds it: a
    /// `--write` file of acrscope names each packet's flow and process there. `None` for pcap,
    /// live captures and packets without one.
    pub comment: Option<&'a str>,
}
