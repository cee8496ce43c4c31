//! The kernel's view of a connection (`TCP_INFO`): its smoothed RTT and retransmissions,
//! which no passive view of a probe's own connection could give as exactly.

use std::os::fd::AsRawFd;

use super::result::TcpInfo;

/// `None` where the kernel does not answer (not Linux, a closed socket).
#[allow(unsafe_code)]
pub fn read(sock: &impl AsRawFd) -> Option<TcpInfo> {
    // SAFETY: `info` is a plain C struct that getsockopt fills up to `len` bytes, and `len`
    // is its size; the descriptor is borrowed for the call only.
    let mut info: libc::tcp_info = unsafe { std::mem::zeroed() };
    let mut len = std::mem::size_of::<libc::tcp_info>() as libc::socklen_t;
    let rc = unsafe {
        libc::getsockopt(
            sock.as_raw_fd(),
            libc::IPPROTO_TCP,
            libc::TCP_INFO,
            (&mut info as *mut libc::tcp_info).cast(),
            &mut len,
        )
    };
    (rc == 0).then(|| TcpInfo {
        rtt_ms: f64::from(info.tcpi_rtt) / 1e3,
        rtt_var_ms: f64::from(info.tcpi_rttvar) / 1e3,
        retransmits: info.tcpi_total_retrans,
        mss: info.tcpi_snd_mss,
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_loopback_connection_has_a_round_trip_and_no_retransmissions() {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let c = std::net::TcpStream::connect(l.local_addr().unwrap()).unwrap();
        let info = super::read(&c).expect("TCP_INFO on Linux");
        assert_eq!(info.retransmits, 0);
        assert!(info.rtt_ms > 0.0 && info.rtt_ms < 1000.0, "{info:?}");
        assert!(info.mss > 0);
    }
}
