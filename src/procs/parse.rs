//! Pure parsers of the `/proc` text that attribution reads: socket tables, cgroup paths and
//! fd links. They take the text and never touch the file system, so that they are tested
//! from recorded files.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

/// One socket of `/proc/net/{tcp,tcp6,udp,udp6}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SocketEntry {
    /// v4-mapped IPv6 addresses (a dual-stack socket) are given as IPv4, as packets show them.
    pub local: SocketAddr,
    pub remote: SocketAddr,
    /// 0 for sockets no process holds any more (TIME_WAIT, orphans).
    pub inode: u64,
    pub uid: u32,
}

/// The sockets of one `/proc/net/{tcp,tcp6,udp,udp6}` file. Lines that do not parse (the
/// header, a format this kernel changed) are skipped: a wrong line must not hide the others.
pub fn net_sockets(text: &str) -> Vec<SocketEntry> {
    text.lines().filter_map(net_line).collect()
}

fn net_line(line: &str) -> Option<SocketEntry> {
    let mut f = line.split_ascii_whitespace();
    let slot = f.next()?;
    if !slot.ends_with(':') {
        return None;
    }
    let local = sock_addr(f.next()?)?;
    let remote = sock_addr(f.next()?)?;
    // st, tx_queue:rx_queue, tr:tm->when, retrnsmt
    let mut f = f.skip(4);
    let uid = f.next()?.parse().ok()?;
    let _timeout = f.next()?;
    let inode = f.next()?.parse().ok()?;
    Some(SocketEntry { local, remote, inode, uid })
}

/// `0100007F:1F90`: the address as the kernel prints it (each 32-bit word of the network-order
/// address printed as a native integer, so byte-swapped on little-endian hosts), the port in
/// plain hex.
fn sock_addr(s: &str) -> Option<SocketAddr> {
    let (addr, port) = s.split_once(':')?;
    let port = u16::from_str_radix(port, 16).ok()?;
    let ip = match addr.len() {
        8 => IpAddr::V4(Ipv4Addr::from(word(addr)?)),
        32 => {
            let mut b = [0u8; 16];
            for (i, chunk) in b.chunks_exact_mut(4).enumerate() {
                chunk.copy_from_slice(&word(addr.get(i * 8..i * 8 + 8)?)?);
            }
            let v6 = Ipv6Addr::from(b);
            v6.to_ipv4_mapped().map_or(IpAddr::V6(v6), IpAddr::V4)
        }
        _ => return None,
    };
    Some(SocketAddr::new(ip, port))
}

fn word(hex: &str) -> Option<[u8; 4]> {
    Some(u32::from_str_radix(hex, 16).ok()?.to_ne_bytes())
}

/// The inode of an fd link's target, `socket:[12345]`; `None` for anything else.
pub fn socket_inode(link: &str) -> Option<u64> {
    link.strip_prefix("socket:[")?.strip_suffix(']')?.parse().ok()
}

/// The container id from `/proc/<pid>/cgroup` (v1 or v2): docker (`/docker/<id>`,
/// `docker-<id>.scope`), containerd and Kubernetes (`cri-containerd-<id>.scope`,
/// `/kubepods/.../<id>`), cri-o (`crio-<id>.scope`), podman (`libpod-<id>.scope`). A process in
/// a plain systemd slice or service has none.
pub fn container_id(cgroup: &str) -> Option<String> {
    cgroup.lines().find_map(|line| {
        // hierarchy-id:controllers:path; the path may itself hold colons.
        let path = line.splitn(3, ':').nth(2)?;
        path.rsplit('/').find_map(container_segment)
    })
}

fn container_segment(seg: &str) -> Option<String> {
    let name = seg.strip_suffix(".scope").unwrap_or(seg);
    // conmon (cri-o's monitor) runs beside the container, not in it.
    if name.starts_with("crio-conmon-") || name.starts_with("libpod-conmon-") {
        return None;
    }
    let id = name.rsplit('-').next()?;
    (id.len() == 64 && id.bytes().all(|b| b.is_ascii_hexdigit())).then(|| id.to_ascii_lowercase())
}

/// The start time of a process (clock ticks after boot, field 22 of `/proc/PID/stat`): with
/// the pid, it names one process, as a pid alone does not once the kernel gives it again.
/// The name (field 2) may hold spaces and parentheses: fields are counted after its last `)`.
pub fn stat_start_time(stat: &str) -> Option<u64> {
    let (_, rest) = stat.rsplit_once(')')?;
    rest.split_ascii_whitespace().nth(19)?.parse().ok()
}

/// The real uid from `/proc/<pid>/status` (`Uid:\treal\teffective\tsaved\tfs`).
pub fn status_uid(status: &str) -> Option<u32> {
    status.lines().find_map(|l| l.strip_prefix("Uid:"))?.split_ascii_whitespace().next()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    // Recorded on x86_64 (little-endian), as every test below assumes.
    const TCP: &str = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 3500007F:0035 00000000:0000 0A 00000000:00000000 00:00000000 00000000   991        0 20519 1 0000000000000000 100 0 0 10 5
   1: 0100007F:D2F4 0100007F:01BB 01 00000000:00000000 00:00000000 00000000     0        0 8839211 1 0000000000000000 20 4 30 10 -1
   2: 0F02000A:A3B6 5DB8D822:01BB 06 00000000:00000000 03:00000F8E 00000000     0        0 0 3 0000000000000000
";
    const TCP6: &str = "  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 00000000000000000000000001000000:1F90 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 31337 1 0000000000000000 100 0 0 10 0
   1: 0000000000000000FFFF00000100007F:A410 0000000000000000FFFF00000100007F:1F90 01 00000000:00000000 00:00000000 00000000  1000        0 424242 1 0000000000000000 20 4 30 10 -1
   2: B80D0120000000000000000001000000:C350 B80D0120000000000000000002000000:01BB 01 00000000:00000000 00:00000000 00000000     0        0 777 1 0000000000000000 20 4 30 10 -1
";
    const UDP: &str = "   sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops
  120: 3500007F:0035 00000000:0000 07 00000000:00000000 00:00000000 00000000   991        0 20518 2 0000000000000000 0
  881: 00000000:E5A3 0100007F:0035 01 00000000:00000000 00:00000000 00000000  1000        0 99001 2 0000000000000000 0
";

    fn sa(s: &str) -> SocketAddr {
        s.parse().unwrap()
    }

    #[test]
    fn start_time_is_field_22_whatever_the_name_holds() {
        let stat = "812 (my (odd) d) S 1 812 812 0 -1 4194560 9 0 0 0 12 7 0 0 20 0 14 0 4321 1 2 3";
        assert_eq!(stat_start_time(stat), Some(4321));
        assert_eq!(stat_start_time("812 (x) S 1 2"), None, "cut short");
        assert_eq!(stat_start_time("no parenthesis"), None);
    }

    #[test]
    fn ipv4_sockets_read_with_the_kernels_byte_order() {
        let s = net_sockets(TCP);
        assert_eq!(s.len(), 3, "the header is skipped");
        assert_eq!(s[0], SocketEntry { local: sa("127.0.0.53:53"), remote: sa("0.0.0.0:0"), inode: 20519, uid: 991 });
        assert_eq!(s[1].local, sa("127.0.0.1:54004"));
        assert_eq!(s[1].remote, sa("127.0.0.1:443"));
        assert_eq!((s[1].inode, s[1].uid), (8839211, 0));
        assert_eq!(s[2].local, sa("10.0.2.15:41910"));
        assert_eq!(s[2].remote, sa("34.216.184.93:443"));
        assert_eq!(s[2].inode, 0, "TIME_WAIT has no inode");
    }

    #[test]
    fn ipv6_and_v4_mapped_sockets() {
        let s = net_sockets(TCP6);
        assert_eq!(s.len(), 3);
        assert_eq!(s[0].local, sa("[::1]:8080"));
        assert_eq!((s[0].inode, s[0].uid), (31337, 1000));
        assert_eq!(s[1].local, sa("127.0.0.1:42000"), "a v4-mapped address reads as IPv4");
        assert_eq!(s[1].remote, sa("127.0.0.1:8080"));
        assert_eq!(s[2].local, sa("[2001:db8::1]:50000"));
        assert_eq!(s[2].remote, sa("[2001:db8::2]:443"));
    }

    #[test]
    fn udp_sockets_and_bad_lines() {
        let s = net_sockets(UDP);
        assert_eq!(s.len(), 2);
        assert_eq!(s[1].local, sa("0.0.0.0:58787"));
        assert_eq!(s[1].remote, sa("127.0.0.1:53"));
        assert_eq!(s[1].inode, 99001);
        let broken = format!("{UDP}  9: 0100007F:ZZZZ 00000000:0000 07 0\n 10: 12:34\n");
        assert_eq!(net_sockets(&broken).len(), 2, "broken lines are skipped, the rest kept");
        assert!(net_sockets("").is_empty());
    }

    #[test]
    fn fd_links() {
        assert_eq!(socket_inode("socket:[8839211]"), Some(8839211));
        assert_eq!(socket_inode("pipe:[8839211]"), None);
        assert_eq!(socket_inode("/dev/null"), None);
        assert_eq!(socket_inode("socket:[]"), None);
    }

    const ID: &str = "3f1c6a0d8a1e4c4fb1b8f2d77c0e5e9a0b2d4c6e8f0a1b3c5d7e9f1a2b4c6d8e";

    #[test]
    fn container_ids_from_cgroups() {
        let docker_v1 = format!("12:pids:/docker/{ID}\n11:memory:/docker/{ID}\n0::/system.slice/containerd.service\n");
        assert_eq!(container_id(&docker_v1).as_deref(), Some(ID));
        let docker_v2 = format!("0::/system.slice/docker-{ID}.scope\n");
        assert_eq!(container_id(&docker_v2).as_deref(), Some(ID));
        let k8s_containerd = format!(
            "0::/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod1c2d3e4f_aaaa_bbbb_cccc_0123456789ab.slice/cri-containerd-{ID}.scope\n"
        );
        assert_eq!(container_id(&k8s_containerd).as_deref(), Some(ID));
        let k8s_v1 = format!("4:cpu,cpuacct:/kubepods/burstable/pod1c2d3e4f-aaaa-bbbb-cccc-0123456789ab/{ID}\n");
        assert_eq!(container_id(&k8s_v1).as_deref(), Some(ID));
        let crio = format!("0::/kubepods.slice/kubepods-pod12.slice/crio-{ID}.scope\n");
        assert_eq!(container_id(&crio).as_deref(), Some(ID));
        assert_eq!(
            container_id(&format!("0::/machine.slice/libpod-{}.scope/container\n", ID.to_uppercase())).as_deref(),
            Some(ID)
        );
        assert_eq!(
            container_id(&format!("0::/kubepods.slice/crio-conmon-{ID}.scope\n")),
            None,
            "conmon is no container"
        );
        assert_eq!(container_id("0::/system.slice/containerd.service\n"), None);
        assert_eq!(container_id("0::/user.slice/user-1000.slice/session-3.scope\n"), None);
        assert_eq!(container_id("0::/\n"), None);
        assert_eq!(container_id(""), None);
    }

    #[test]
    fn uid_from_status() {
        assert_eq!(status_uid("Name:\tcurl\nUmask:\t0022\nUid:\t1000\t1000\t1000\t1000\nGid:\t1000\n"), Some(1000));
        assert_eq!(status_uid("Name:\tx\n"), None);
    }
}
