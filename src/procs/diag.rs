//! The socket of one exact 4-tuple through netlink sock_diag, as `ss` asks for it: a hash
//! lookup in the kernel, where reading `/proc/net/tcp` walks every bucket of the socket table
//! (milliseconds on a large host; more than a short flow lives).

use std::net::{IpAddr, SocketAddr};
use std::os::fd::{AsRawFd, OwnedFd};
use std::time::Duration;

use nix::sys::socket::{self, AddressFamily, MsgFlags, NetlinkAddr, SockFlag, SockProtocol, SockType};

use super::Proto;

/// SOCK_DIAG_BY_FAMILY, NLM_F_REQUEST, NLMSG_ERROR (linux/sock_diag.h, linux/netlink.h).
const SOCK_DIAG_BY_FAMILY: u16 = 20;
const NLM_F_REQUEST: u16 = 1;
const NLMSG_ERROR: u16 = 2;
const REQUEST_LEN: usize = 72;
/// inet_diag_msg after the 16-byte netlink header: idiag_state at 1, idiag_uid at 64,
/// idiag_inode at 68.
const STATE_AT: usize = 16 + 1;
/// TCP_LISTEN (include/net/tcp_states.h).
const TCP_LISTEN: u8 = 10;
const UID_AT: usize = 16 + 64;
const INODE_AT: usize = 16 + 68;

/// What the kernel said of one 4-tuple.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Found {
    /// `inode` 0: a socket no process holds any more (TIME_WAIT).
    Socket {
        inode: u64,
        uid: u32,
    },
    NoSocket,
}

/// An inet_diag_req_v2 for the socket whose local end is `local` and remote end `remote`.
/// Mixed families (an IPv4 flow to a dual-stack socket) are asked as v4-mapped IPv6.
pub fn request(proto: Proto, local: SocketAddr, remote: SocketAddr, seq: u32) -> [u8; REQUEST_LEN] {
    let mut b = [0u8; REQUEST_LEN];
    b[0..4].copy_from_slice(&(REQUEST_LEN as u32).to_ne_bytes());
    b[4..6].copy_from_slice(&SOCK_DIAG_BY_FAMILY.to_ne_bytes());
    b[6..8].copy_from_slice(&NLM_F_REQUEST.to_ne_bytes());
    b[8..12].copy_from_slice(&seq.to_ne_bytes());
    // udp_diag looks the socket up as if a datagram came from `idiag_src` to `idiag_dst`
    // (net/ipv4/udp_diag.c), inet_diag the other way round.
    let (local, remote) = match proto {
        Proto::Tcp => (local, remote),
        Proto::Udp => (remote, local),
    };
    let (family, l, r) = match (local.ip(), remote.ip()) {
        (IpAddr::V4(l), IpAddr::V4(r)) => (nix::libc::AF_INET as u8, ip16(l.octets()), ip16(r.octets())),
        (l, r) => (nix::libc::AF_INET6 as u8, v6(l), v6(r)),
    };
    b[16] = family;
    b[17] = match proto {
        Proto::Tcp => nix::libc::IPPROTO_TCP as u8,
        Proto::Udp => nix::libc::IPPROTO_UDP as u8,
    };
    // idiag_states: every state.
    b[20..24].copy_from_slice(&u32::MAX.to_ne_bytes());
    b[24..26].copy_from_slice(&local.port().to_be_bytes());
    b[26..28].copy_from_slice(&remote.port().to_be_bytes());
    b[28..44].copy_from_slice(&l);
    b[44..60].copy_from_slice(&r);
    // idiag_if 0 (any); idiag_cookie INET_DIAG_NOCOOKIE.
    b[64..72].fill(0xff);
    b
}

fn ip16(v4: [u8; 4]) -> [u8; 16] {
    let mut a = [0u8; 16];
    a[..4].copy_from_slice(&v4);
    a
}

fn v6(ip: IpAddr) -> [u8; 16] {
    match ip {
        IpAddr::V4(v4) => v4.to_ipv6_mapped().octets(),
        IpAddr::V6(v6) => v6.octets(),
    }
}

/// The kernel's answer to one request; `None` when it is not one (a reply to something else,
/// a cut message).
pub fn reply(msg: &[u8]) -> Option<Found> {
    let len = u32::from_ne_bytes(msg.get(0..4)?.try_into().ok()?) as usize;
    let kind = u16::from_ne_bytes(msg.get(4..6)?.try_into().ok()?);
    let msg = msg.get(..len)?;
    match kind {
        NLMSG_ERROR => {
            let code = i32::from_ne_bytes(msg.get(16..20)?.try_into().ok()?);
            (code == -nix::libc::ENOENT).then_some(Found::NoSocket)
        }
        SOCK_DIAG_BY_FAMILY => {
            // An exact lookup falls back to a listener on the local port (for a connection that
            // would arrive): a listener opened no flow, and one on *:443 would otherwise claim
            // every outgoing HTTPS flow whose own socket is gone.
            // (UDP sockets are never in that state.)
            if *msg.get(STATE_AT)? == TCP_LISTEN {
                return Some(Found::NoSocket);
            }
            let uid = u32::from_ne_bytes(msg.get(UID_AT..UID_AT + 4)?.try_into().ok()?);
            let inode = u32::from_ne_bytes(msg.get(INODE_AT..INODE_AT + 4)?.try_into().ok()?);
            Some(Found::Socket { inode: u64::from(inode), uid })
        }
        _ => None,
    }
}

/// A NETLINK_SOCK_DIAG socket.
#[derive(Debug)]
pub struct Diag {
    fd: OwnedFd,
    seq: u32,
}

impl Diag {
    pub fn open() -> std::io::Result<Diag> {
        let fd = socket::socket(
            AddressFamily::Netlink,
            SockType::Datagram,
            SockFlag::SOCK_CLOEXEC,
            SockProtocol::NetlinkSockDiag,
        )?;
        // The kernel answers at once; this only guards against a lost reply.
        let t = nix::sys::time::TimeVal::new(0, Duration::from_millis(500).as_micros() as i64);
        socket::setsockopt(&fd, socket::sockopt::ReceiveTimeout, &t)?;
        Ok(Diag { fd, seq: 0 })
    }

    /// The socket with this local and remote end; `None` when the kernel gave no usable answer
    /// (the caller falls back to `/proc/net`).
    pub fn find(&mut self, proto: Proto, local: SocketAddr, remote: SocketAddr) -> Option<Found> {
        self.seq = self.seq.wrapping_add(1);
        let req = request(proto, local, remote, self.seq);
        socket::sendto(self.fd.as_raw_fd(), &req, &NetlinkAddr::new(0, 0), MsgFlags::empty()).ok()?;
        let mut buf = [0u8; 8192];
        loop {
            let n = socket::recv(self.fd.as_raw_fd(), &mut buf, MsgFlags::empty()).ok()?;
            let msg = buf.get(..n)?;
            // A late reply to an earlier request that timed out is skipped.
            let seq = u32::from_ne_bytes(msg.get(8..12)?.try_into().ok()?);
            if seq == self.seq {
                return reply(msg);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::{TcpListener, TcpStream, UdpSocket};

    #[test]
    fn the_request_is_laid_out_as_inet_diag_req_v2() {
        let r = request(Proto::Tcp, "127.0.0.1:40000".parse().unwrap(), "10.0.0.2:443".parse().unwrap(), 7);
        assert_eq!(u32::from_ne_bytes(r[0..4].try_into().unwrap()), 72);
        assert_eq!((r[16], r[17]), (2, 6), "AF_INET, IPPROTO_TCP");
        assert_eq!(&r[24..28], &[0x9c, 0x40, 0x01, 0xbb], "ports in network order");
        assert_eq!(&r[28..32], &[127, 0, 0, 1]);
        assert_eq!(&r[44..48], &[10, 0, 0, 2]);
        let r = request(Proto::Udp, "127.0.0.1:1".parse().unwrap(), "[::1]:2".parse().unwrap(), 8);
        assert_eq!((r[16], r[17]), (10, 17), "AF_INET6, IPPROTO_UDP");
        assert_eq!(&r[24..28], &[0, 2, 0, 1], "UDP: the remote end first");
        assert_eq!(&r[44..60], &"::ffff:127.0.0.1".parse::<std::net::Ipv6Addr>().unwrap().octets());
    }

    #[test]
    fn replies_that_are_cut_or_foreign_are_no_answer() {
        assert_eq!(reply(&[]), None);
        assert_eq!(reply(&[200, 0, 0, 0, 20, 0]), None, "longer than what came");
        let mut err = [0u8; 36];
        err[0] = 36;
        err[4] = NLMSG_ERROR as u8;
        err[16..20].copy_from_slice(&(-nix::libc::ENOENT).to_ne_bytes());
        assert_eq!(reply(&err), Some(Found::NoSocket));
        err[16..20].copy_from_slice(&(-nix::libc::EPERM).to_ne_bytes());
        assert_eq!(reply(&err), None);
        let mut listener = [0u8; 16 + 72];
        listener[0] = 88;
        listener[4] = SOCK_DIAG_BY_FAMILY as u8;
        listener[STATE_AT] = TCP_LISTEN;
        listener[INODE_AT] = 5;
        assert_eq!(reply(&listener), Some(Found::NoSocket), "a listener opened no flow");
        listener[STATE_AT] = 1;
        assert_eq!(reply(&listener), Some(Found::Socket { inode: 5, uid: 0 }));
    }

    #[test]
    fn the_kernel_finds_this_process_sockets() {
        let mut d = Diag::open().unwrap();
        let server = TcpListener::bind("127.0.0.1:0").unwrap();
        let client = TcpStream::connect(server.local_addr().unwrap()).unwrap();
        let (c, s) = (client.local_addr().unwrap(), server.local_addr().unwrap());
        let Some(Found::Socket { inode, uid }) = d.find(Proto::Tcp, c, s) else { panic!("not found") };
        assert!(inode > 0);
        assert_eq!(uid, nix::unistd::getuid().as_raw());
        let link = std::fs::read_link(format!("/proc/self/fd/{}", client.as_raw_fd())).unwrap();
        assert_eq!(link.to_str().unwrap(), format!("socket:[{inode}]"));
        assert_eq!(d.find(Proto::Tcp, s, "127.0.0.1:1".parse().unwrap()), Some(Found::NoSocket));
        let u = UdpSocket::bind("127.0.0.1:0").unwrap();
        let found = d.find(Proto::Udp, u.local_addr().unwrap(), "127.0.0.1:9".parse().unwrap());
        assert!(matches!(found, Some(Found::Socket { inode, .. }) if inode > 0), "{found:?}");
    }
}
