//! The DNS side of headless live's `finding` events: which names a failing answer may have
//! changed the findings of.

use rustc_hash::{FxHashMap, FxHashSet};

use crate::analysis::failures::dns_failures_of;
use crate::analysis::findings::{Finding, Severity};
use crate::classify::rules::Rules;
use crate::session::naming::normalize;
use crate::session::Session;

/// The DNS log indexed by name as it grows. A name's DNS findings depend only on its own
/// answers and queries, so a failing answer is judged with the names that changed since the
/// last judgement rather than with the whole log; only the one finding that lists every failed
/// name that is not a registry's needs them all, and only when that list changes.
#[derive(Default)]
pub(super) struct DnsNames {
    /// Answers and unanswered queries indexed so far.
    answers: usize,
    unanswered: usize,
    by_name: FxHashMap<String, NameLog>,
    /// The failed names that are not registry names, as last judged.
    others: FxHashSet<String>,
}

/// Where one name's answers and unanswered queries are in the session's lists.
#[derive(Default)]
struct NameLog {
    answers: Vec<u32>,
    unanswered: Vec<u32>,
}

impl DnsNames {
    /// The DNS findings that may be new since the last call (`dns_failures` over the whole log
    /// gives these and others already announced).
    pub fn failures(&mut self, s: &Session, rules: &Rules) -> Vec<Finding> {
        let touched = self.index(s);
        let mut found = self.judge(s, rules, touched.iter());
        // The finding listing the names that are not registry names is the only one of
        // severity info.
        let others: FxHashSet<&str> = found
            .iter()
            .filter(|f| f.severity == Severity::Info)
            .flat_map(|f| f.hosts.iter().map(String::as_str))
            .collect();
        if touched.iter().all(|n| others.contains(n.as_str()) == self.others.contains(n)) {
            // The same list as at the last judgement, announced then.
            found.retain(|f| f.severity != Severity::Info);
            return found;
        }
        for n in &touched {
            if others.contains(n.as_str()) {
                self.others.insert(n.clone());
            } else {
                self.others.remove(n);
            }
        }
        let mut names: FxHashSet<&String> = touched.iter().collect();
        names.extend(self.others.iter());
        self.judge(s, rules, names)
    }

    /// Indexes what the session logged since the last call; the names it concerns.
    fn index(&mut self, s: &Session) -> FxHashSet<String> {
        let mut touched = FxHashSet::default();
        for (i, a) in s.dns.iter().enumerate().skip(self.answers) {
            if !a.query().is_empty() {
                let key = normalize(a.query());
                self.by_name.entry(key.clone()).or_default().answers.push(i as u32);
                touched.insert(key);
            }
        }
        self.answers = s.dns.len();
        for (i, q) in s.dns.unanswered().iter().enumerate().skip(self.unanswered) {
            if !q.query.is_empty() {
                let key = normalize(&q.query);
                self.by_name.entry(key.clone()).or_default().unanswered.push(i as u32);
                touched.insert(key);
            }
        }
        self.unanswered = s.dns.unanswered().len();
        touched
    }

    /// The DNS findings of `names`, from their answers and queries in log order.
    fn judge<'n>(&self, s: &Session, rules: &Rules, names: impl IntoIterator<Item = &'n String>) -> Vec<Finding> {
        let (mut answers, mut unanswered) = (Vec::new(), Vec::new());
        for log in names.into_iter().filter_map(|n| self.by_name.get(n)) {
            answers.extend_from_slice(&log.answers);
            unanswered.extend_from_slice(&log.unanswered);
        }
        answers.sort_unstable();
        unanswered.sort_unstable();
        let mut found = Vec::new();
        dns_failures_of(
            answers.iter().map(|&i| &s.dns[i as usize]),
            unanswered.iter().map(|&i| &s.dns.unanswered()[i as usize]),
            &[],
            rules,
            &mut found,
        );
        found
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::findings::FindingKind;
    use crate::capture::source::{CaptureReader, OpenOptions};
    use crate::live::MAX_FINDING_EVENTS;
    use crate::session::{Event, Limits};

    /// What a stream of `finding` events would hold: each new finding once, up to the cap.
    #[derive(Default)]
    struct Announced {
        seen: std::collections::HashSet<(FindingKind, Option<String>, Vec<String>)>,
        lines: Vec<String>,
    }

    impl Announced {
        fn add(&mut self, found: Vec<Finding>) {
            for f in found {
                if self.seen.len() >= MAX_FINDING_EVENTS {
                    return;
                }
                if self.seen.insert((f.kind(), f.registry.clone(), f.hosts.clone())) {
                    self.lines.push(serde_json::to_string(&f).unwrap());
                }
            }
        }
    }

    /// Judges the failing answers among the session's new events both ways.
    fn judge(s: &mut Session, rules: &Rules, names: &mut DnsNames, whole: &mut Announced, part: &mut Announced) {
        for e in s.drain_events() {
            let Event::Dns(i) = e else { continue };
            if !matches!(s.dns[i as usize].msg.rcode, 2 | 3 | 5) {
                continue;
            }
            let mut found = Vec::new();
            crate::analysis::failures::dns_failures(s, &[], rules, &mut found);
            whole.add(found);
            if part.seen.len() < MAX_FINDING_EVENTS {
                part.add(names.failures(s, rules));
            }
        }
    }

    /// Judging only the names that changed announces the same DNS findings, in the same order,
    /// as judging the whole log at every failing answer, on every capture in the repository.
    #[test]
    fn dns_findings_of_the_changed_names_are_those_of_the_whole_log() {
        let rules = Rules::builtin();
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut dirs: Vec<_> = ["assets/captures", "tests/fixtures", "tests/corpus/real"].map(|d| root.join(d)).into();
        let mut files = Vec::new();
        while let Some(dir) = dirs.pop() {
            let Ok(entries) = std::fs::read_dir(dir) else { continue };
            for p in entries.filter_map(|e| Some(e.ok()?.path())) {
                if p.is_dir() {
                    dirs.push(p);
                } else {
                    files.push(p);
                }
            }
        }
        let mut failing = 0;
        for path in files {
            let Ok(mut reader) = CaptureReader::open(&path, &OpenOptions::default()) else { continue };
            let mut s = Session::new(Limits::default());
            s.record_events();
            let (mut names, mut whole, mut part) = (DnsNames::default(), Announced::default(), Announced::default());
            let mut n = 0u64;
            while let Some(frame) = reader.next_frame() {
                s.ingest(&frame);
                n += 1;
                if n % 7 == 0 {
                    judge(&mut s, &rules, &mut names, &mut whole, &mut part);
                }
            }
            judge(&mut s, &rules, &mut names, &mut whole, &mut part);
            s.finish();
            names = DnsNames::default();
            judge(&mut s, &rules, &mut names, &mut whole, &mut part);
            assert_eq!(whole.lines, part.lines, "{}", path.display());
            failing += usize::from(!whole.lines.is_empty());
        }
        assert!(failing > 0, "no capture has a failing DNS answer");
    }
}
