use std::net::IpAddr;

use super::L4;

/// A direction-free 5-tuple: both directions of a flow map to the same key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FlowKey {
    pub proto: L4,
    lo: (IpAddr, u16),
    hi: (IpAddr, u16),
}

impl FlowKey {
    pub fn new(proto: L4, a: (IpAddr, u16), b: (IpAddr, u16)) -> FlowKey {
        if a <= b {
            FlowKey { proto, lo: a, hi: b }
        } else {
            FlowKey { proto, lo: b, hi: a }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_directions_give_one_key() {
        let a = ("10.0.0.1".parse().unwrap(), 40000);
        let b = ("40.79.197.136".parse().unwrap(), 443);
        assert_eq!(FlowKey::new(L4::Tcp, a, b), FlowKey::new(L4::Tcp, b, a));
        assert_ne!(FlowKey::new(L4::Tcp, a, b), FlowKey::new(L4::Udp, a, b));
    }
}
