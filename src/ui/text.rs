//! Small text helpers for cells of fixed width: cutting with an ellipsis, word wrapping, and
//! the short time and version forms the panes print. Widths count chars: host names, addresses
//! and our own labels are single-width.

/// `s` cut to `width` chars, the last one an ellipsis when something was cut.
pub fn fit(s: &str, width: usize) -> String {
    if width == 0 {
        return String::new();
    }
    let n = s.chars().count();
    if n <= width {
        return s.to_string();
    }
    let mut out: String = s.chars().take(width - 1).collect();
    out.push('…');
    out
}

/// Wraps `s` at spaces to lines of at most `width` chars; words longer than a line are cut
/// into pieces. `indent` chars of space start every line after the first.
pub fn wrap(s: &str, width: usize, indent: usize) -> Vec<String> {
    let width = width.max(indent + 4);
    let mut lines = Vec::new();
    let mut cur = String::new();
    let mut len = 0;
    // `cur` holds nothing but its indent.
    let mut fresh = true;
    for word in s.split(' ').filter(|w| !w.is_empty()) {
        let mut chars: Vec<char> = word.chars().collect();
        while !chars.is_empty() {
            let sep = usize::from(!fresh);
            if len + sep + chars.len() <= width {
                if !fresh {
                    cur.push(' ');
                }
                len += sep + chars.len();
                cur.extend(chars.drain(..));
                fresh = false;
                continue;
            }
            if fresh {
                // A word wider than a whole line: cut it.
                let take = width - len;
                cur.extend(chars.drain(..take));
            }
            lines.push(std::mem::replace(&mut cur, " ".repeat(indent)));
            len = indent;
            fresh = true;
        }
    }
    if !fresh || lines.is_empty() {
        lines.push(cur);
    }
    lines
}

/// Capture time relative to the first packet, short: `0.381`, `12.40`, `2:05`, `1:02:05`.
pub fn rel(ns: i64) -> String {
    let s = ns as f64 / 1e9;
    if s.abs() < 10.0 {
        format!("{s:.3}")
    } else if s.abs() < 100.0 {
        format!("{s:.2}")
    } else {
        let total = s.round() as i64;
        let (h, m, sec) = (total / 3600, total / 60 % 60, total % 60);
        if h > 0 {
            format!("{h}:{m:02}:{sec:02}")
        } else {
            format!("{m}:{sec:02}")
        }
    }
}

/// The capture clock for the header: `0.48s`, `12.4s`, `3m05s`, `2h03m`.
pub fn clock(ns: i64) -> String {
    let s = ns.max(0) as f64 / 1e9;
    if s < 10.0 {
        format!("{s:.2}s")
    } else if s < 100.0 {
        format!("{s:.1}s")
    } else {
        let total = s.round() as i64;
        if total < 3600 {
            format!("{}m{:02}s", total / 60, total % 60)
        } else {
            format!("{}h{:02}m", total / 3600, total / 60 % 60)
        }
    }
}

/// How long something lasted: `850 µs`, `2.6 ms`, `347 ms`, then as [`clock`].
pub fn duration(ns: i64) -> String {
    let ns = ns.max(0);
    if ns < 1_000_000 {
        format!("{} µs", ns / 1000)
    } else if ns < 10_000_000 {
        format!("{:.1} ms", ns as f64 / 1e6)
    } else if ns < 1_000_000_000 {
        format!("{} ms", ns / 1_000_000)
    } else {
        clock(ns)
    }
}

/// `0x0304` → `TLS 1.3`.
pub fn tls_version(v: u16) -> String {
    crate::output::json::tls_version_name(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fit_cuts_with_an_ellipsis_only_when_needed() {
        assert_eq!(fit("fabrikamreg.azurecr.io", 22), "fabrikamreg.azurecr.io");
        assert_eq!(fit("fabrikamreg.azurecr.io", 10), "fabrikamr…");
        assert_eq!(fit("abc", 0), "");
    }

    #[test]
    fn wrap_keeps_words_and_indents_continuations() {
        let w = wrap("Layer data came from the storage account jpeacrprod0st17.blob.core.windows.net today", 30, 2);
        assert!(w.iter().all(|l| l.chars().count() <= 30), "{w:?}");
        assert_eq!(w[0], "Layer data came from the");
        assert!(w[1].starts_with("  storage account"), "{w:?}");
        assert!(w.iter().any(|l| l.contains("jpeacrprod0st17.blob.core.wi")), "{w:?}");
        let joined: String = w.iter().map(|l| l.trim()).collect::<Vec<_>>().join(" ");
        assert!(joined.starts_with("Layer data came from the storage account"));
        assert_eq!(wrap("", 10, 0), vec![String::new()]);
    }

    #[test]
    fn times_and_versions_read_short() {
        assert_eq!(rel(381_000_000), "0.381");
        assert_eq!(rel(12_400_000_000), "12.40");
        assert_eq!(rel(125_000_000_000), "2:05");
        assert_eq!(rel(3_725_000_000_000), "1:02:05");
        assert_eq!(clock(480_000_000), "0.48s");
        assert_eq!(clock(185_000_000_000), "3m05s");
        assert_eq!(duration(850_000), "850 µs");
        assert_eq!(duration(2_640_000), "2.6 ms");
        assert_eq!(duration(347_000_000), "347 ms");
        assert_eq!(duration(185_000_000_000), "3m05s");
        assert_eq!(tls_version(0x0304), "TLS 1.3");
        assert_eq!(tls_version(0x7f1c), "0x7f1c");
    }
}
