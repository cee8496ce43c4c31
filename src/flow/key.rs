use std::net::IpAddr;

use super::L4;

/// One end of a flow: an address and a port. Ordered by address, then port.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Endpoint {
    pub ip: IpAddr,
    pub port: u16,
}

impl Endpoint {
    pub fn new(ip: IpAddr, port: u16) -> Endpoint {
        Endpoint { ip, port }
    }
}

/// A direction-free 5-tuple: both directions of a flow map to the same key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FlowKey {
    pub proto: L4,
    lo: Endpoint,
    hi: Endpoint,
}

impl FlowKey {
    // Made for every packet; left out of line, the call and the copy of both endpoints cost
    // more than the comparison (benches/flow_table.rs).
    #[inline]
    pub fn new(proto: L4, a: Endpoint, b: Endpoint) -> FlowKey {
        if a <= b {
            FlowKey { proto, lo: a, hi: b }
        } else {
            FlowKey { proto, lo: b, hi: a }
        }
    }
}

/// Hashed as two or three machine words rather than field by field (a dozen small writes):
/// the flow table hashes a key for every packet.
impl std::hash::Hash for FlowKey {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        let words = (u64::from(self.lo.port) << 16) | u64::from(self.hi.port) | ((self.proto as u64) << 32);
        match (self.lo.ip, self.hi.ip) {
            (IpAddr::V4(a), IpAddr::V4(b)) => {
                state.write_u64(words);
                state.write_u64((u64::from(a.to_bits()) << 32) | u64::from(b.to_bits()));
            }
            (a, b) => {
                let bits = |ip: IpAddr| match ip {
                    IpAddr::V4(v) => u128::from(v.to_bits()),
                    IpAddr::V6(v) => v.to_bits(),
                };
                state.write_u64(words | 1 << 40);
                state.write_u128(bits(a));
                state.write_u128(bits(b));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_directions_give_one_key() {
        let a = Endpoint::new("10.0.0.1".parse().unwrap(), 40000);
        let b = Endpoint::new("40.79.197.136".parse().unwrap(), 443);
        assert_eq!(FlowKey::new(L4::Tcp, a, b), FlowKey::new(L4::Tcp, b, a));
        assert_ne!(FlowKey::new(L4::Tcp, a, b), FlowKey::new(L4::Udp, a, b));
    }
}
