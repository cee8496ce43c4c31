//! ClientHellos repeat: the flows of one client to one host send the same name, ALPN list and
//! versions (a ClientHello's parsed facts hold nothing random). A busy capture of many short
//! flows keeps one shared copy per distinct ClientHello instead of one per flow.

use std::sync::Arc;

use rustc_hash::FxHashSet;

use crate::dissect::tls::hello::ClientHelloInfo;

/// Distinct ClientHellos remembered for sharing; past it each is kept on its own, so that a
/// capture of random names costs no more than it did without sharing.
const MAX_DISTINCT: usize = 1 << 16;

#[derive(Debug, Default)]
pub(super) struct Hellos {
    seen: FxHashSet<Arc<ClientHelloInfo>>,
}

impl Hellos {
    /// The shared copy of `ch`.
    pub fn share(&mut self, ch: ClientHelloInfo) -> Arc<ClientHelloInfo> {
        if let Some(shared) = self.seen.get(&ch) {
            return shared.clone();
        }
        let ch = Arc::new(ch);
        if self.seen.len() < MAX_DISTINCT {
            self.seen.insert(ch.clone());
        }
        ch
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hello(sni: &str) -> ClientHelloInfo {
        ClientHelloInfo { sni: Some(sni.into()), alpn: vec!["h2".into()], ..ClientHelloInfo::default() }
    }

    #[test]
    fn equal_hellos_share_one_copy_and_others_do_not() {
        let mut h = Hellos::default();
        let a = h.share(hello("a.example"));
        let b = h.share(hello("a.example"));
        let c = h.share(hello("b.example"));
        assert!(Arc::ptr_eq(&a, &b));
        assert!(!Arc::ptr_eq(&a, &c));
        assert_eq!(*c, hello("b.example"));
    }

    #[test]
    fn past_the_bound_hellos_are_kept_alone() {
        let mut h = Hellos::default();
        for i in 0..MAX_DISTINCT + 10 {
            h.share(hello(&format!("h{i}.example")));
        }
        assert_eq!(h.seen.len(), MAX_DISTINCT);
        let late = format!("h{}.example", MAX_DISTINCT + 5);
        assert!(!Arc::ptr_eq(&h.share(hello(&late)), &h.share(hello(&late))));
    }
}
