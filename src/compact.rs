//! Optional values in the width of the value itself: every flow holds several times and frame
//! numbers that may be unknown, and a busy capture holds hundreds of thousands of flows. An
//! `Option<i64>` or `Option<u64>` takes 16 bytes; these take 8, giving up one value each that
//! a capture cannot carry (a time of `i64::MIN` ns, a frame number of `u64::MAX`).

/// A time or duration in nanoseconds that may be unknown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ns(i64);

impl Ns {
    pub const NONE: Ns = Ns(i64::MIN);

    /// `ns` (`i64::MIN` reads as the next value up, not as unknown).
    pub fn at(ns: i64) -> Ns {
        Ns(ns.max(i64::MIN + 1))
    }

    pub fn get(self) -> Option<i64> {
        (self != Ns::NONE).then_some(self.0)
    }

    pub fn is_some(self) -> bool {
        self != Ns::NONE
    }

    /// Sets it to `ns` unless it is known already; what it holds after.
    pub fn get_or_set(&mut self, ns: i64) -> i64 {
        if !self.is_some() {
            *self = Ns::at(ns);
        }
        self.0
    }
}

impl Default for Ns {
    fn default() -> Self {
        Ns::NONE
    }
}

impl From<Option<i64>> for Ns {
    fn from(ns: Option<i64>) -> Self {
        ns.map_or(Ns::NONE, Ns::at)
    }
}

/// A frame number (1-based, as tshark counts) that may be unknown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameNo(u64);

impl FrameNo {
    pub const NONE: FrameNo = FrameNo(u64::MAX);

    /// Frame `n` (`u64::MAX` reads as the value below it, not as unknown).
    pub fn at(n: u64) -> FrameNo {
        FrameNo(n.min(u64::MAX - 1))
    }

    pub fn get(self) -> Option<u64> {
        (self != FrameNo::NONE).then_some(self.0)
    }

    /// Sets it to `n` unless it is known already.
    pub fn get_or_set(&mut self, n: u64) {
        if *self == FrameNo::NONE {
            *self = FrameNo::at(n);
        }
    }
}

impl Default for FrameNo {
    fn default() -> Self {
        FrameNo::NONE
    }
}

impl From<Option<u64>> for FrameNo {
    fn from(n: Option<u64>) -> Self {
        n.map_or(FrameNo::NONE, FrameNo::at)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_value_but_the_one_given_up_reads_back() {
        for ns in [i64::MIN + 1, -1, 0, 1, i64::MAX] {
            assert_eq!(Ns::at(ns).get(), Some(ns));
        }
        assert_eq!(Ns::at(i64::MIN).get(), Some(i64::MIN + 1));
        assert_eq!(Ns::default().get(), None);
        assert_eq!(Ns::from(None).get(), None);
        for n in [0, 1, u64::MAX - 1] {
            assert_eq!(FrameNo::at(n).get(), Some(n));
        }
        assert_eq!(FrameNo::default().get(), None);
        assert_eq!(std::mem::size_of::<Ns>() + std::mem::size_of::<FrameNo>(), 16);
    }

    #[test]
    fn the_first_set_stays() {
        let mut t = Ns::default();
        assert_eq!(t.get_or_set(5), 5);
        assert_eq!(t.get_or_set(9), 5);
        let mut f = FrameNo::default();
        f.get_or_set(3);
        f.get_or_set(4);
        assert_eq!(f.get(), Some(3));
    }
}
