//! The top line: what is being watched, the capture clock, the replay state, how much was
//! read, and what went wrong (drops, a reading error). Parts that do not fit are left out,
//! least useful first.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Style;

use super::model::Model;
use super::text::{clock, fit};
use super::theme::Theme;
use crate::engine::Speed;
use crate::output::text::human_bytes;

pub fn render(buf: &mut Buffer, area: Rect, model: &Model, t: &Theme) {
    if area.height == 0 {
        return;
    }
    let st = &model.status;
    let mut parts: Vec<(String, Style)> = Vec::new();
    parts.push((" acrscope ".into(), t.title(true)));
    if !st.label.is_empty() {
        parts.push((st.label.clone(), t.bold()));
    }
    if let (Some(start), Some(now)) = (model.first_ns, model.now_ns()) {
        let total = match (st.finished, model.last_ns) {
            (true, Some(last)) => format!(" / {}", clock(last - start)),
            _ => String::new(),
        };
        parts.push((format!("t={}{total}", clock(now - start)), Style::new()));
    }
    parts.push(state(model, t));
    let errors = model.findings.iter().filter(|f| f.severity == crate::analysis::findings::Severity::Error).count();
    if errors > 0 {
        // What broke the pull: early on the line, so it stays when the line is cut.
        parts.push((format!("✖ {errors} error{}", if errors == 1 { "" } else { "s" }), t.error().patch(t.bold())));
    }
    if let Some(n) = model.hidden_by_process {
        // Said even when none is: the screen shows a part of the traffic on purpose (early on
        // the line: it stays when the line is cut).
        parts.push((format!("{n} flow{} hidden by --process", if n == 1 { "" } else { "s" }), t.warn()));
    }
    if let Some(p) = loading(model) {
        parts.push((p, t.bold()));
    }
    parts.push((format!("{} pkts  {}", model.packets, human_bytes(model.bytes)), Style::new()));
    if st.live {
        let drops = st.kernel_drops.unwrap_or(0) + st.if_drops.unwrap_or(0);
        parts.push((format!("drops {drops}"), if drops > 0 { t.warn() } else { Style::new() }));
    }
    if let Some(e) = &st.error {
        parts.push((format!("⚠ stopped: {e}"), t.error()));
    }
    if model.warnings > 0 {
        parts.push((format!("{} warnings", model.warnings), t.dim()));
    }
    if model.flows_evicted > 0 {
        // The hot table hit --max-flows: later packets of those flows would open new ones.
        parts.push((format!("{} flows evicted (--max-flows)", model.flows_evicted), t.warn()));
    }
    if let Some(c) = &st.confinement {
        // Root kept on purpose is a warning, shown early; the whole line gives way first.
        if c.starts_with("as root ") {
            parts.insert(2.min(parts.len()), ("⚠ root kept (--user root)".into(), t.warn()));
        }
        parts.push((c.clone(), t.dim()));
    }

    let help = " ? help ";
    let right = area.right().saturating_sub(help.chars().count() as u16);
    // The label gives way first: the clock and the replay state matter more than a file name.
    let others: usize =
        parts.iter().enumerate().filter(|(k, _)| *k != 1).take(4).map(|(_, p)| p.0.chars().count() + 2).sum();
    if let Some(label) = parts.get_mut(1).filter(|_| !st.label.is_empty()) {
        let room = usize::from(right.saturating_sub(area.x)).saturating_sub(others).max(12);
        label.0 = fit(&label.0, room);
    }
    let mut x = area.x;
    for (k, (text, style)) in parts.iter().enumerate() {
        let w = text.chars().count() as u16;
        let gap = if k == 0 { 0 } else { 2 };
        if x + gap + w > right {
            // An error is cut rather than dropped; smaller parts are dropped.
            if st.error.as_deref().is_some_and(|e| text.contains(e)) {
                let room = right.saturating_sub(x + gap) as usize;
                buf.set_stringn(x + gap, area.y, fit(text, room), room, *style);
                x = right;
            }
            continue;
        }
        buf.set_stringn(x + gap, area.y, text, w as usize, *style);
        x += gap + w;
    }
    buf.set_stringn(right, area.y, help, help.len(), t.dim());
}

/// `▶ ×1`, `❚❚ paused`, `▶▶ max`, `● live`, `■ end`. No emoji: they take two cells in
/// some terminals and not in others.
fn state(model: &Model, t: &Theme) -> (String, Style) {
    let st = &model.status;
    if st.finished {
        let what = if st.live { "■ stopped" } else { "■ end" };
        return (what.into(), t.bold());
    }
    if st.paused {
        return ("❚❚ paused (space)".into(), t.warn());
    }
    if st.live {
        return ("● live".into(), t.good());
    }
    match st.speed {
        Some(Speed::Max) => ("▶▶ max".into(), t.bold()),
        Some(Speed::Factor(f)) => (format!("▶ ×{}", trim_float(f)), t.bold()),
        None => ("▶".into(), t.bold()),
    }
}

/// `loading 45%` while a file is read as fast as it goes.
fn loading(model: &Model) -> Option<String> {
    let st = &model.status;
    if st.finished || st.live || st.speed != Some(Speed::Max) {
        return None;
    }
    let total = st.total_bytes.filter(|&t| t > 0)?;
    let pct = (st.read_bytes.min(total) as f64 / total as f64 * 100.0).floor();
    Some(format!("loading {pct:.0}%"))
}

fn trim_float(f: f64) -> String {
    let s = format!("{f:.2}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn live_says_who_captures_and_root_kept_before_the_counters() {
        let line = |confinement: &str, width: u16| {
            let mut model = Model::default();
            model.status.live = true;
            model.status.label = "live lo".into();
            model.status.confinement = Some(confinement.into());
            let area = Rect::new(0, 0, width, 1);
            let mut buf = Buffer::empty(area);
            render(&mut buf, area, &model, &Theme::new(false));
            crate::ui::buffer_text(&buf)
        };
        let wide = line("as nobody · capabilities none · sandbox landlock v7", 160);
        assert!(wide.contains("as nobody · capabilities none · sandbox landlock v7"), "{wide}");
        let narrow = line("as root · capabilities none · sandbox landlock v7", 80);
        let at = narrow.find("⚠ root kept").unwrap_or_else(|| panic!("root kept is shown first: {narrow}"));
        assert!(at < narrow.find("pkts").unwrap_or(usize::MAX), "{narrow}");
    }

    #[test]
    fn speeds_print_short() {
        assert_eq!(trim_float(1.0), "1");
        assert_eq!(trim_float(0.5), "0.5");
        assert_eq!(trim_float(20.0), "20");
        assert_eq!(trim_float(1.25), "1.25");
    }
}
