//! Screenshots of the timeline screen, headless: the frame the UI would show at some capture
//! time, written as SVG, PNG, HTML, plain text or ANSI text. Every converter reads a ratatui
//! [`Buffer`], so a screen from the terminal (`s` in the UI) and one drawn off-screen
//! (`acrscope snapshot`) come out the same.
//!
//! All outputs are deterministic: the same buffer gives the same bytes (no dates, no random
//! ids, fixed float formatting), so the README images can be checked for staleness.

pub mod cast;
pub mod html;
pub mod png;
pub mod svg;
pub mod text;

use std::path::{Path, PathBuf};

use ratatui::buffer::{Buffer, Cell, CellDiffOption};
use ratatui::style::{Color, Modifier};

use crate::analysis::Analyzer;
use crate::capture::file::CaptureError;
use crate::capture::source::{CaptureReader, OpenOptions};
use crate::engine::{Shared, SourceStatus};
use crate::session::{Limits, Session};
use crate::ui::ViewKind;

/// The output formats, chosen by the output file's extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Svg,
    Png,
    Html,
    Txt,
    Ansi,
}

impl Format {
    pub const ALL: [Format; 5] = [Format::Svg, Format::Png, Format::Html, Format::Txt, Format::Ansi];

    pub fn extension(self) -> &'static str {
        match self {
            Format::Svg => "svg",
            Format::Png => "png",
            Format::Html => "html",
            Format::Txt => "txt",
            Format::Ansi => "ansi",
        }
    }

    /// The format an output path asks for by its extension (case-insensitive; `.htm` is HTML).
    pub fn from_path(path: &Path) -> Result<Format, UnknownFormat> {
        let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("").to_ascii_lowercase();
        let f = match ext.as_str() {
            "svg" => Format::Svg,
            "png" => Format::Png,
            "html" | "htm" => Format::Html,
            "txt" => Format::Txt,
            "ansi" => Format::Ansi,
            _ => return Err(UnknownFormat(path.display().to_string())),
        };
        Ok(f)
    }
}

/// An output path whose extension names no format we write.
#[derive(Debug, thiserror::Error)]
#[error("{0}: unknown output format; the extension must be one of .svg .png .html .txt .ansi")]
pub struct UnknownFormat(pub String);

/// The buffer in `format`, as the bytes of a file.
pub fn encode(buf: &Buffer, format: Format) -> anyhow::Result<Vec<u8>> {
    let theme = Theme::default();
    Ok(match format {
        Format::Svg => svg::render(buf, &theme).into_bytes(),
        Format::Png => png::render(buf, &theme, png::SCALE)?,
        Format::Html => html::render(buf, &theme).into_bytes(),
        Format::Txt => text::plain(buf).into_bytes(),
        Format::Ansi => text::ansi(buf).into_bytes(),
    })
}

/// Writes the buffer to `path` in the format its extension names.
pub fn write(buf: &Buffer, path: &Path) -> anyhow::Result<()> {
    let format = Format::from_path(path)?;
    let bytes = encode(buf, format)?;
    std::fs::write(path, bytes).map_err(|e| anyhow::anyhow!("writing {}: {e}", path.display()))
}

/// `120x40` → (120, 40). Both at least 20×8, at most 1000×1000.
pub fn parse_size(s: &str) -> Result<(u16, u16), String> {
    let bad = || format!("'{s}' is not a screen size: give COLSxROWS, e.g. 120x40 (at least 20x8, at most 1000x1000)");
    let (c, r) = s.split_once(['x', 'X']).ok_or_else(bad)?;
    let c: u16 = c.trim().parse().map_err(|_| bad())?;
    let r: u16 = r.trim().parse().map_err(|_| bad())?;
    if !(20..=1000).contains(&c) || !(8..=1000).contains(&r) {
        return Err(bad());
    }
    Ok((c, r))
}

/// Which moment of the capture a snapshot shows.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum At {
    /// The whole file, as the UI shows it once the replay ended.
    End,
    /// This many seconds after the first packet, as a replay paused there shows it.
    Seconds(f64),
}

/// Reads the capture at `path` into the state the UI draws from at moment `at`: frames up to
/// that capture time only, the clock standing there and the replay paused; or the whole file
/// and the replay finished. A file that ends badly keeps what came before (as the replay does).
pub fn load(path: &Path, at: At, limits: Limits) -> Result<Shared, CaptureError> {
    let reader = CaptureReader::open(path, &OpenOptions::default())?;
    Ok(load_from(reader, at, limits))
}

/// [`load`] from a capture already open.
pub fn load_from(reader: CaptureReader, at: At, limits: Limits) -> Shared {
    load_watched(reader, at, limits, |_, _| {})
}

/// [`load_from`], showing `before` the state and the time of each frame before it is read
/// (how a recording draws the replay as it goes).
pub fn load_watched(
    mut reader: CaptureReader,
    at: At,
    limits: Limits,
    mut before: impl FnMut(&mut Shared, i64),
) -> Shared {
    let mut session = Session::new(limits);
    session.record_activity();
    let status = SourceStatus { label: reader.label(), total_bytes: reader.total_bytes(), ..SourceStatus::default() };
    let mut shared = Shared::new(session, status);
    let mut cutoff: Option<i64> = None;
    let mut cut = false;
    while let Some(frame) = reader.next_frame() {
        let start = *shared.status.start_ns.get_or_insert(frame.ts_ns);
        if let At::Seconds(s) = at {
            let c = *cutoff.get_or_insert_with(|| start.saturating_add((s.max(0.0) * 1e9).round() as i64));
            if frame.ts_ns > c {
                cut = true;
                break;
            }
        }
        before(&mut shared, frame.ts_ns);
        shared.session.ingest(&frame);
    }
    let Shared { mut session, mut status, .. } = shared;
    status.read_bytes = reader.progress_bytes();
    status.error = crate::pipeline::apply_outcome(&mut session, &reader.into_outcome());
    if cut {
        // A replay paused at that moment: not finished, the clock on the requested time.
        status.paused = true;
        status.speed = Some(crate::engine::Speed::Factor(1.0));
        status.clock_ns = cutoff;
    } else {
        session.finish();
        status.finished = true;
        status.clock_ns = session.stats.last_ns;
    }
    Shared::new(session, status)
}

/// What `acrscope snapshot` draws besides the capture itself.
#[derive(Debug, Clone)]
pub struct View {
    pub width: u16,
    pub height: u16,
    /// One row per flow, or one per endpoint host.
    pub view: ViewKind,
    /// Select the first row whose host contains this.
    pub select: Option<String>,
}

/// The screen the UI shows for `shared`, drawn off-screen: at the replay clock when the
/// replay stands paused part-way (see [`load`]), else at the end. Snapshots are always in
/// colour (`NO_COLOR` is about terminals; `.txt` is the colourless format).
pub fn screen(shared: &Shared, analyzer: &Analyzer, view: &View) -> Buffer {
    let opts = crate::ui::ViewOptions {
        width: view.width,
        height: view.height,
        view: view.view,
        select: view.select.clone(),
        details: false,
        at_ns: if shared.status.finished { None } else { shared.status.clock_ns },
        color: true,
        processes: Vec::new(),
    };
    crate::ui::render_to_buffer(shared, analyzer, &opts)
}

/// Saves the screen `buf` as SVG and plain text into `dir`, named after the capture time
/// (`acrscope-20261128T150713.442Z.svg` and `.txt`; `-2`, `-3`… when those exist already).
/// Under sudo the files are given to the invoking user. Returns the paths written.
pub fn save_screen(buf: &Buffer, dir: &Path, capture_time_ns: i64) -> anyhow::Result<Vec<PathBuf>> {
    use std::io::Write;
    let stem = file_stem(capture_time_ns);
    let svg = encode(buf, Format::Svg)?;
    let txt = encode(buf, Format::Txt)?;
    for n in 1..1000 {
        let name = if n == 1 { stem.clone() } else { format!("{stem}-{n}") };
        let paths = [dir.join(format!("{name}.svg")), dir.join(format!("{name}.txt"))];
        if paths[1].exists() {
            continue;
        }
        // The SVG is created only if no file has its name (two screenshots of one paused
        // moment get two names); the text beside it then takes the same stem.
        let mut f = match std::fs::OpenOptions::new().write(true).create_new(true).open(&paths[0]) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(anyhow::anyhow!("writing {}: {e}", paths[0].display())),
        };
        f.write_all(&svg).map_err(|e| anyhow::anyhow!("writing {}: {e}", paths[0].display()))?;
        // Created anew too, so nothing planted at the name (a link) is written through.
        let mut t = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&paths[1])
            .map_err(|e| anyhow::anyhow!("writing {}: {e}", paths[1].display()))?;
        t.write_all(&txt).map_err(|e| anyhow::anyhow!("writing {}: {e}", paths[1].display()))?;
        give_to_sudo_user(&f);
        give_to_sudo_user(&t);
        return Ok(paths.to_vec());
    }
    anyhow::bail!("{}: a thousand screenshots named {stem} already", dir.display())
}

/// `acrscope-20261128T150713.442Z` for a capture time.
pub fn file_stem(capture_time_ns: i64) -> String {
    // 2026-11-28T15:07:13.442123Z → 20261128T150713.442Z
    let full = crate::output::time::rfc3339_us(capture_time_ns);
    let compact: String = full.chars().filter(|c| *c != '-' && *c != ':').collect();
    let stamp = match compact.split_once('.') {
        Some((head, frac)) => format!("{head}.{}Z", &frac[..3.min(frac.len())]),
        None => compact,
    };
    format!("acrscope-{stamp}")
}

/// The user who ran sudo (`SUDO_UID`, `SUDO_GID`), if any.
fn sudo_ids() -> Option<(u32, u32)> {
    let id = |name: &str| std::env::var(name).ok().and_then(|v| v.parse::<u32>().ok());
    Some((id("SUDO_UID")?, id("SUDO_GID")?))
}

/// When we run as root under sudo (`live --user root`, `replay`), hands a file we created to
/// the user who ran sudo, so they can move or delete their screenshot. Through the open file,
/// never through its path. Elsewhere (or if anything fails) the file stays as is.
fn give_to_sudo_user(file: &std::fs::File) {
    give_to(file, sudo_ids());
}

fn give_to(file: &std::fs::File, ids: Option<(u32, u32)>) {
    use std::os::unix::fs::MetadataExt;
    let Some((uid, gid)) = ids else { return };
    // A file we just created belongs to our effective user: root is uid 0.
    if file.metadata().map(|m| m.uid()).ok() != Some(0) {
        return;
    }
    let _ = std::os::unix::fs::fchown(file, Some(uid), Some(gid));
}

/// An sRGB colour.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Rgb(pub u8, pub u8, pub u8);

impl Rgb {
    /// `#rrggbb`.
    pub fn hex(self) -> String {
        format!("#{:02x}{:02x}{:02x}", self.0, self.1, self.2)
    }

    /// `self` over `under` with opacity `a` (0..=1), rounded.
    pub fn blend(self, under: Rgb, a: f64) -> Rgb {
        let m = |x: u8, y: u8| (x as f64 * a + y as f64 * (1.0 - a)).round().clamp(0.0, 255.0) as u8;
        Rgb(m(self.0, under.0), m(self.1, under.1), m(self.2, under.2))
    }
}

/// The colours a terminal would give: its default foreground and background (ratatui's
/// `Color::Reset`) and the 16-colour ANSI palette. Indexed colours 16–255 follow xterm.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Theme {
    pub fg: Rgb,
    pub bg: Rgb,
    pub palette: [Rgb; 16],
}

impl Default for Theme {
    /// A dark theme (VS Code's terminal colours), readable on a page of either brightness.
    fn default() -> Theme {
        Theme {
            fg: Rgb(0xcc, 0xcc, 0xcc),
            bg: Rgb(0x1e, 0x1e, 0x1e),
            palette: [
                Rgb(0x00, 0x00, 0x00),
                Rgb(0xcd, 0x31, 0x31),
                Rgb(0x0d, 0xbc, 0x79),
                Rgb(0xe5, 0xe5, 0x10),
                Rgb(0x24, 0x72, 0xc8),
                Rgb(0xbc, 0x3f, 0xbc),
                Rgb(0x11, 0xa8, 0xcd),
                Rgb(0xe5, 0xe5, 0xe5),
                Rgb(0x66, 0x66, 0x66),
                Rgb(0xf1, 0x4c, 0x4c),
                Rgb(0x23, 0xd1, 0x8b),
                Rgb(0xf5, 0xf5, 0x43),
                Rgb(0x3b, 0x8e, 0xea),
                Rgb(0xd6, 0x70, 0xd6),
                Rgb(0x29, 0xb8, 0xdb),
                Rgb(0xff, 0xff, 0xff),
            ],
        }
    }
}

impl Theme {
    /// The RGB of a ratatui colour; `Reset` is `default` (the theme's fg or bg).
    pub fn rgb(&self, c: Color, default: Rgb) -> Rgb {
        match c {
            Color::Reset => default,
            Color::Black => self.palette[0],
            Color::Red => self.palette[1],
            Color::Green => self.palette[2],
            Color::Yellow => self.palette[3],
            Color::Blue => self.palette[4],
            Color::Magenta => self.palette[5],
            Color::Cyan => self.palette[6],
            Color::Gray => self.palette[7],
            Color::DarkGray => self.palette[8],
            Color::LightRed => self.palette[9],
            Color::LightGreen => self.palette[10],
            Color::LightYellow => self.palette[11],
            Color::LightBlue => self.palette[12],
            Color::LightMagenta => self.palette[13],
            Color::LightCyan => self.palette[14],
            Color::White => self.palette[15],
            Color::Rgb(r, g, b) => Rgb(r, g, b),
            Color::Indexed(i) => self.indexed(i),
        }
    }

    /// xterm's 256 colours: the palette, a 6×6×6 cube, then 24 greys.
    pub fn indexed(&self, i: u8) -> Rgb {
        const LEVELS: [u8; 6] = [0, 95, 135, 175, 215, 255];
        match i {
            0..=15 => self.palette[i as usize],
            16..=231 => {
                let n = i - 16;
                Rgb(LEVELS[(n / 36) as usize], LEVELS[(n / 6 % 6) as usize], LEVELS[(n % 6) as usize])
            }
            _ => {
                let v = 8 + 10 * (i - 232);
                Rgb(v, v, v)
            }
        }
    }

    /// What a cell looks like: its foreground and background after reverse video and dim.
    pub fn cell_colors(&self, cell: &Cell) -> (Rgb, Rgb) {
        let mut fg = self.rgb(cell.fg, self.fg);
        let mut bg = self.rgb(cell.bg, self.bg);
        if cell.modifier.contains(Modifier::REVERSED) {
            std::mem::swap(&mut fg, &mut bg);
        }
        if cell.modifier.contains(Modifier::DIM) {
            fg = fg.blend(bg, DIM_ALPHA);
        }
        (fg, bg)
    }
}

/// How much of the foreground a dim cell keeps, over its background.
pub const DIM_ALPHA: f64 = 0.6;

/// The cells of row `y` as (column, cell, width in columns), leaving out the cells a wide
/// character covers and cells marked to be skipped.
pub(crate) fn row_cells(buf: &Buffer, y: u16) -> Vec<(u16, &Cell, u16)> {
    let area = buf.area;
    let mut out = Vec::with_capacity(area.width as usize);
    let mut x = 0u16;
    while x < area.width {
        let cell = &buf[(area.x + x, area.y + y)];
        let w = match cell.diff_option {
            CellDiffOption::ForcedWidth(n) => n.get(),
            _ => unicode_width(cell.symbol()).clamp(1, 2) as u16,
        }
        .min(area.width - x);
        if cell.diff_option != CellDiffOption::Skip {
            out.push((x, cell, w));
        }
        x += w;
    }
    out
}

fn unicode_width(s: &str) -> usize {
    ratatui::text::Span::raw(s).width()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::MetadataExt;

    #[test]
    fn files_go_to_the_sudo_user_only_when_we_are_root() {
        let dir = std::env::temp_dir().join(format!("acrscope-chown-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join("a.txt");
        let f = std::fs::File::create(&p).unwrap();
        let mine = std::fs::metadata(&p).unwrap().uid();
        give_to(&f, None);
        assert_eq!(std::fs::metadata(&p).unwrap().uid(), mine);
        give_to(&f, Some((65534, 65534)));
        let m = std::fs::metadata(&p).unwrap();
        if mine == 0 {
            assert_eq!((m.uid(), m.gid()), (65534, 65534), "root hands the file over");
        } else {
            assert_eq!(m.uid(), mine, "anyone else leaves it");
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn file_names_carry_the_capture_time_to_the_millisecond() {
        // 2026-11-28T15:07:13.442633Z
        let ns = 1_795_878_433_442_633_000;
        assert_eq!(crate::output::time::rfc3339_us(ns), "2026-11-28T15:07:13.442633Z");
        assert_eq!(file_stem(ns), "acrscope-20261128T150713.442Z");
    }

    #[test]
    fn xterm_colours() {
        let t = Theme::default();
        assert_eq!(t.rgb(Color::Indexed(196), t.fg), Rgb(255, 0, 0));
        assert_eq!(t.rgb(Color::Indexed(16), t.fg), Rgb(0, 0, 0));
        assert_eq!(t.rgb(Color::Indexed(110), t.fg), Rgb(135, 175, 215));
        assert_eq!(t.rgb(Color::Indexed(232), t.fg), Rgb(8, 8, 8));
        assert_eq!(t.rgb(Color::Indexed(255), t.fg), Rgb(238, 238, 238));
        assert_eq!(t.rgb(Color::Indexed(9), t.fg), t.rgb(Color::LightRed, t.fg));
        assert_eq!(t.rgb(Color::Reset, t.bg), t.bg);
        assert_eq!(Rgb(255, 255, 255).blend(Rgb(0, 0, 0), 0.6).hex(), "#999999");
    }
}
