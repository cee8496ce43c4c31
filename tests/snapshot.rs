//! `acrscope snapshot` and the screenshot converters: SVG that lines up and reads back, PNGs of
//! the promised size, a golden text screen, `--at` against `--end`, and the README pictures
//! kept in step with the code.
//!
//! To regenerate the golden text and the README pictures after a deliberate change of the
//! screen: `ACRSCOPE_BLESS=1 cargo test --release --test snapshot` (or
//! `docs/screenshots/regenerate.sh`), then look at the pictures before committing them.

use std::path::{Path, PathBuf};
use std::process::Command;

use acrscope::analysis::Analyzer;
use acrscope::session::Limits;
use acrscope::snapshot::{self, png, svg, text, At, Format, Rgb, Theme, View};
use acrscope::ui::ViewKind;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};
use resvg::tiny_skia::Pixmap;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn capture(name: &str) -> PathBuf {
    root().join("assets/captures").join(name)
}

fn bless() -> bool {
    std::env::var_os("ACRSCOPE_BLESS").is_some_and(|v| !v.is_empty() && v != "0")
}

fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("acrscope-snapshot-test-{}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d.join(name)
}

/// The screen of a lab capture at the default size, as the snapshot command draws it.
fn lab_screen(name: &str, at: At) -> Buffer {
    let shared = snapshot::load(&capture(name), at, Limits::default()).unwrap();
    let view = View { width: 120, height: 40, view: ViewKind::Flows, select: None };
    snapshot::screen(&shared, &Analyzer::default(), &view)
}

fn run(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_acrscope")).args(args).output().unwrap()
}

/// Reads an SVG of ours back into rows of text: every `<text>` puts its characters at the
/// columns its `x` list names. Cells drawn as shapes (box lines, blocks) read as spaces.
fn svg_rows(svg_text: &str) -> Vec<String> {
    let doc = roxmltree::Document::parse(svg_text).expect("the SVG is well-formed XML");
    let root = doc.root_element();
    assert_eq!(root.tag_name().name(), "svg");
    let num = |n: &str| root.attribute(n).unwrap_or_else(|| panic!("no {n}")).parse::<usize>().unwrap();
    let (cols, rows, cw, ch) = (num("data-cols"), num("data-rows"), num("data-cell-width"), num("data-cell-height"));
    assert_eq!(root.attribute("width").unwrap().parse::<usize>().unwrap(), cols * cw);
    assert_eq!(root.attribute("height").unwrap().parse::<usize>().unwrap(), rows * ch);
    let mut grid = vec![vec![' '; cols]; rows];
    for t in doc.descendants().filter(|n| n.has_tag_name("text")) {
        let xs: Vec<f64> = t.attribute("x").unwrap().split(' ').map(|v| v.parse().unwrap()).collect();
        let y: f64 = t.attribute("y").unwrap().parse().unwrap();
        let row = (y / ch as f64).floor() as usize;
        let chars: Vec<char> = t.text().unwrap_or("").chars().collect();
        assert_eq!(xs.len(), chars.len(), "one x per character in {:?}", t.text());
        for (x, c) in xs.iter().zip(chars) {
            assert!(x % cw as f64 == 0.0, "{x} is not on a cell boundary");
            grid[row][(x / cw as f64) as usize] = c;
        }
    }
    // A wide character covers the cell after it, as in the text formats.
    let row_text = |r: Vec<char>| {
        let mut s = String::new();
        let mut skip = false;
        for c in r {
            if !std::mem::take(&mut skip) {
                s.push(c);
                skip = ratatui::text::Span::raw(c.to_string()).width() == 2;
            }
        }
        s.trim_end().to_string()
    };
    grid.into_iter().map(row_text).collect()
}

/// The buffer as text with the shape-drawn characters blanked, as `svg_rows` reads it.
fn text_without_shapes(buf: &Buffer) -> Vec<String> {
    text::plain(buf)
        .lines()
        .map(|l| l.chars().map(|c| if svg::is_vector(c) { ' ' } else { c }).collect::<String>().trim_end().to_string())
        .collect()
}

fn hand_buffer() -> Buffer {
    let mut b = Buffer::empty(Rect::new(0, 0, 24, 5));
    b.set_string(0, 0, "┌──────┐", Style::new().fg(Color::Cyan));
    b.set_string(0, 1, "│", Style::new().fg(Color::Cyan));
    b.set_string(1, 1, "LOGIN", Style::new().fg(Color::Indexed(196)).add_modifier(Modifier::BOLD));
    b.set_string(7, 1, "│", Style::new().fg(Color::Cyan));
    b.set_string(9, 1, "a <b> & \"c\"", Style::new().fg(Color::Rgb(0x12, 0x34, 0x56)));
    b.set_string(0, 2, "└──────┘", Style::new().fg(Color::Cyan));
    b.set_string(9, 2, "▁▂▃▄▅▆▇█", Style::new().fg(Color::Green));
    b.set_string(0, 3, "sel", Style::new().add_modifier(Modifier::REVERSED));
    b.set_string(4, 3, "dim", Style::new().fg(Color::Indexed(244)).add_modifier(Modifier::DIM));
    b.set_string(8, 3, "under", Style::new().add_modifier(Modifier::UNDERLINED | Modifier::ITALIC));
    b.set_string(0, 4, "wide 中 ok", Style::new());
    b
}

#[test]
fn svg_cells_line_up_and_read_back() {
    let buf = hand_buffer();
    let s = svg::render(&buf, &Theme::default());
    let rows = svg_rows(&s);
    assert_eq!(rows, text_without_shapes(&buf));
    assert_eq!(rows[1], " LOGIN   a <b> & \"c\"");
    assert_eq!(rows[4], "wide 中 ok", "a wide character takes two cells");
    // Same input, same bytes.
    assert_eq!(s, svg::render(&buf, &Theme::default()));

    let doc = roxmltree::Document::parse(&s).unwrap();
    let texts: Vec<_> = doc.descendants().filter(|n| n.has_tag_name("text")).collect();
    // No box or block character is left to a font.
    for t in &texts {
        assert!(!t.text().unwrap_or("").chars().any(svg::is_vector), "{:?}", t.text());
    }
    let text_of = |needle: &str| {
        texts
            .iter()
            .find(|t| t.text().unwrap_or("").contains(needle))
            .unwrap_or_else(|| panic!("no <text> with {needle}"))
    };
    // Indexed 196 is xterm's pure red; RGB passes through; bold is a font weight.
    let login = text_of("LOGIN");
    assert_eq!(login.attribute("fill"), Some("#ff0000"));
    assert_eq!(login.attribute("font-weight"), Some("bold"));
    assert_eq!(login.attribute("x"), Some("8 16 24 32 40"));
    assert_eq!(text_of("a <b>").attribute("fill"), Some("#123456"));
    // Dim blends toward the background: grey 244 (#808080) at 60% over #1e1e1e.
    assert_eq!(
        text_of("dim").attribute("fill"),
        Some(Rgb(0x80, 0x80, 0x80).blend(Theme::default().bg, 0.6).hex().as_str())
    );
    assert_eq!(text_of("under").attribute("font-style"), Some("italic"));
    // Reverse video: default-coloured text on a default-foreground block.
    let t = Theme::default();
    assert_eq!(text_of("sel").attribute("fill"), Some(t.bg.hex().as_str()));

    let rects: Vec<_> = doc.descendants().filter(|n| n.has_tag_name("rect")).collect();
    let has_rect = |x: &str, y: &str, w: &str, h: &str, fill: &str| {
        rects.iter().any(|r| {
            r.attribute("x") == Some(x)
                && r.attribute("y") == Some(y)
                && r.attribute("width") == Some(w)
                && r.attribute("height") == Some(h)
                && r.attribute("fill") == Some(fill)
        })
    };
    let cyan = t.rgb(Color::Cyan, t.fg).hex();
    let green = t.rgb(Color::Green, t.fg).hex();
    // The top border: one rect from the corner's centre to the other corner's centre, 1 unit
    // high on the cells' line centre (row 0: y 8..9); the corners' down strokes meet it.
    assert!(has_rect("4", "8", "57", "1", &cyan), "{s}");
    // The left side is one stroke from the top corner's centre to the bottom one's.
    assert!(has_rect("4", "8", "1", "33", &cyan), "{s}");
    // Bars: ▁ is the bottom eighth of its cell (2 of 16 units), █ the whole cell.
    assert!(has_rect("72", "46", "8", "2", &green), "{s}");
    assert!(has_rect("128", "32", "8", "16", &green), "{s}");
    // The reversed cells' background, and the underline under "under".
    assert!(has_rect("0", "48", "24", "16", &t.fg.hex()), "{s}");
    assert!(has_rect("64", "62", "40", "1", &t.fg.hex()), "{s}");
    // The background of the whole picture.
    assert!(has_rect_full(&rects, &t.bg.hex()));
}

fn has_rect_full(rects: &[roxmltree::Node], fill: &str) -> bool {
    rects.iter().any(|r| {
        r.attribute("x").is_none()
            && r.attribute("width") == Some("192")
            && r.attribute("height") == Some("80")
            && r.attribute("fill") == Some(fill)
    })
}

#[test]
fn text_and_ansi_and_html() {
    let buf = hand_buffer();
    let plain = text::plain(&buf);
    assert_eq!(plain.lines().nth(1), Some("│LOGIN │ a <b> & \"c\""));
    assert_eq!(plain.lines().nth(4), Some("wide 中 ok"));
    assert!(plain.lines().all(|l| !l.ends_with(' ')));
    assert_eq!(plain.lines().count(), 5);

    let ansi = text::ansi(&buf);
    let lines: Vec<&str> = ansi.lines().collect();
    assert_eq!(lines.len(), 5);
    assert!(lines.iter().all(|l| l.ends_with("\x1b[0m")), "{ansi:?}");
    assert!(lines[1].starts_with("\x1b[0;36m│\x1b[0;1;38;5;196mLOGIN\x1b[0m \x1b[0;36m│"), "{:?}", lines[1]);
    assert!(lines[1].contains("\x1b[0;38;2;18;52;86ma <b> & \"c\""), "{:?}", lines[1]);
    assert!(lines[3].starts_with("\x1b[0;7msel\x1b[0m \x1b[0;2;38;5;244mdim"), "{:?}", lines[3]);
    // Stripped of its escapes, the ANSI text is the plain text.
    let stripped: String = regex::Regex::new("\x1b\\[[0-9;]*m").unwrap().replace_all(&ansi, "").into_owned();
    assert_eq!(stripped, plain);

    let html = snapshot::html::render(&buf, &Theme::default());
    let doc = roxmltree::Document::parse(&html).expect("the HTML fragment is well-formed");
    let pre = doc.root_element();
    assert_eq!(pre.tag_name().name(), "pre");
    assert!(pre.attribute("style").unwrap().contains("background:#1e1e1e"));
    let all: String = pre.descendants().filter(|n| n.is_text()).map(|n| n.text().unwrap()).collect();
    assert_eq!(all, plain);
    let login = pre.descendants().find(|n| n.text() == Some("LOGIN")).unwrap();
    assert_eq!(login.attribute("style"), Some("color:#ff0000;font-weight:bold;"));
}

/// FNV-1a over the pixels, to compare pictures.
fn pixel_hash(p: &Pixmap) -> u64 {
    p.data().iter().fold(0xcbf29ce484222325u64, |h, &b| (h ^ b as u64).wrapping_mul(0x100000001b3))
}

fn pixel(p: &Pixmap, x: u32, y: u32) -> Rgb {
    let c = p.pixel(x, y).unwrap();
    Rgb(c.red(), c.green(), c.blue())
}

#[test]
fn png_has_the_size_and_the_pixels() {
    let buf = hand_buffer();
    let t = Theme::default();
    let bytes = png::render(&buf, &t, png::SCALE).unwrap();
    let p = Pixmap::decode_png(&bytes).unwrap();
    assert_eq!((p.width(), p.height()), png::pixel_size(24, 5, 2));
    assert_eq!((p.width(), p.height()), (24 * 8 * 2, 5 * 16 * 2));
    let green = t.rgb(Color::Green, t.fg);
    let cyan = t.rgb(Color::Cyan, t.fg);
    // █ at column 16 of row 2 fills its cell edge to edge; ▁ at column 9 only its bottom eighth.
    for (x, y) in [(16 * 16, 64), (16 * 16 + 15, 64 + 31), (17 * 16 - 1, 64)] {
        assert_eq!(pixel(&p, x, y), green, "({x},{y})");
    }
    assert_eq!(pixel(&p, 9 * 16 + 8, 64 + 29), green);
    assert_eq!(pixel(&p, 9 * 16 + 8, 64 + 26), t.bg);
    // The box's top line is 2 device pixels high at y 16..18, unbroken from cell to cell.
    for x in 9..(7 * 16 + 9) {
        assert_eq!(pixel(&p, x, 16), cyan, "x {x}");
        assert_eq!(pixel(&p, x, 17), cyan, "x {x}");
    }
    assert_eq!(pixel(&p, 40, 15), t.bg);
    assert_eq!(pixel(&p, 40, 18), t.bg);
    // Text was drawn with the shipped font: the cells of "LOGIN" hold red pixels.
    let red = Rgb(255, 0, 0);
    let reds = (16..96).flat_map(|x| (32..64).map(move |y| (x, y))).filter(|&(x, y)| pixel(&p, x, y) == red).count();
    assert!(reds > 150, "{reds} red pixels in LOGIN");
    // Same buffer, same pixels.
    let again = Pixmap::decode_png(&png::render(&buf, &t, png::SCALE).unwrap()).unwrap();
    assert_eq!(pixel_hash(&p), pixel_hash(&again));
}

#[test]
fn formats_follow_the_extension() {
    for f in Format::ALL {
        assert_eq!(Format::from_path(Path::new(&format!("x/shot.{}", f.extension()))).unwrap(), f);
    }
    assert_eq!(Format::from_path(Path::new("SHOT.PNG")).unwrap(), Format::Png);
    let e = Format::from_path(Path::new("shot.jpg")).unwrap_err().to_string();
    assert!(e.contains(".svg .png .html .txt .ansi"), "{e}");
    assert!(Format::from_path(Path::new("shot")).is_err());
    assert_eq!(snapshot::parse_size("120x40"), Ok((120, 40)));
    assert_eq!(snapshot::parse_size("80X24"), Ok((80, 24)));
    assert!(snapshot::parse_size("120").is_err());
    assert!(snapshot::parse_size("10x5").is_err());
    assert!(snapshot::parse_size("axb").is_err());
}

#[test]
fn save_screen_writes_svg_and_text_named_for_the_capture_time() {
    let buf = hand_buffer();
    let dir = tmp("saves");
    std::fs::create_dir_all(&dir).unwrap();
    let ns = 1_795_878_433_442_633_000; // 2026-11-28T15:07:13.442633Z
    let first = snapshot::save_screen(&buf, &dir, ns).unwrap();
    assert_eq!(
        first,
        vec![dir.join("acrscope-20261128T150713.442Z.svg"), dir.join("acrscope-20261128T150713.442Z.txt")]
    );
    assert_eq!(std::fs::read_to_string(&first[1]).unwrap(), text::plain(&buf));
    assert_eq!(svg_rows(&std::fs::read_to_string(&first[0]).unwrap()), text_without_shapes(&buf));
    // The same moment again (a paused replay) gets a name of its own.
    let second = snapshot::save_screen(&buf, &dir, ns).unwrap();
    assert_eq!(second[0], dir.join("acrscope-20261128T150713.442Z-2.svg"));
    assert_eq!(second[1], dir.join("acrscope-20261128T150713.442Z-2.txt"));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn unknown_extension_is_a_usage_error() {
    let out =
        run(&["snapshot", capture("scenario-a-blob.pcap").to_str().unwrap(), "-o", tmp("x.jpg").to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains(".svg .png .html .txt .ansi"), "{err}");
    assert!(!tmp("x.jpg").exists());
    let out = run(&["snapshot", capture("scenario-a-blob.pcap").to_str().unwrap(), "-o", "x.svg", "--size", "12"]);
    assert_eq!(out.status.code(), Some(2));
    let out = run(&["snapshot", root().join("Cargo.toml").to_str().unwrap(), "-o", tmp("y.svg").to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2), "not a capture");
}

#[test]
fn svg_of_a_lab_capture_names_its_hosts() {
    let out_path = tmp("a.svg");
    let out = run(&["snapshot", capture("scenario-a-blob.pcap").to_str().unwrap(), "-o", out_path.to_str().unwrap()]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let rows = svg_rows(&std::fs::read_to_string(&out_path).unwrap());
    assert_eq!(rows.len(), 40);
    let all = rows.join("\n");
    assert!(rows.iter().any(|r| r.contains("LOGIN") && r.contains("fabrikamreg.azurecr.io")), "{all}");
    assert!(rows.iter().any(|r| r.contains("BLOB") && r.contains("jpeacrprod0st17.blob.core.windows.net")), "{all}");
    // The SVG reads the same as the text snapshot, box lines and bars apart.
    let txt_path = tmp("a.txt");
    assert!(run(&["snapshot", capture("scenario-a-blob.pcap").to_str().unwrap(), "-o", txt_path.to_str().unwrap()])
        .status
        .success());
    let txt = std::fs::read_to_string(&txt_path).unwrap();
    let blanked: Vec<String> = txt
        .lines()
        .map(|l| l.chars().map(|c| if svg::is_vector(c) { ' ' } else { c }).collect::<String>().trim_end().to_string())
        .collect();
    assert_eq!(rows, blanked);

    // The group headings of the dedicated-endpoint capture.
    let b = svg::render(&lab_screen("scenario-b-dedicated.pcap", At::End), &Theme::default());
    let rows = svg_rows(&b).join("\n");
    for heading in
        ["fabrikamreg · Login · 11 flows", "fabrikamreg · Data: dedicated endpoint · 4 flows", "DNS · 24 flows"]
    {
        assert!(rows.contains(heading), "no heading {heading} in\n{rows}");
    }
    assert!(rows.contains("fabrikamreg.japaneast.data.azurecr.io"), "{rows}");
}

#[test]
fn png_of_a_lab_capture_has_the_requested_size() {
    for (size, px) in [("120x40", (1920, 1280)), ("80x24", (1280, 768))] {
        let out_path = tmp(&format!("b-{size}.png"));
        let out = run(&[
            "snapshot",
            capture("scenario-b-dedicated.pcap").to_str().unwrap(),
            "-o",
            out_path.to_str().unwrap(),
            "--size",
            size,
            "--end",
        ]);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let p = Pixmap::load_png(&out_path).unwrap();
        assert_eq!((p.width(), p.height()), px, "{size}");
        // Not a blank picture: the background and the login rows' cyan are both there.
        let t = Theme::default();
        let cyan = t.rgb(Color::Cyan, t.fg);
        let n =
            (0..p.width()).flat_map(|x| (0..p.height()).map(move |y| (x, y))).filter(|&(x, y)| pixel(&p, x, y) == cyan);
        assert!(n.count() > 1000, "{size}");
    }
}

fn host_rows(text: &str) -> usize {
    text.lines()
        .filter(|l| ["LOGIN ", "DATA ", "BLOB ", "DNS "].iter().any(|b| l.get(1..).unwrap_or("").starts_with(b)))
        .count()
}

#[test]
fn earlier_moments_show_fewer_flows() {
    let mut counts = Vec::new();
    for at in [&["--at", "0.01"][..], &["--at", "0.05"][..], &["--end"][..]] {
        let p = tmp(&format!("at-{}.txt", at.join("")));
        let file = capture("scenario-a-blob.pcap");
        let mut args = vec!["snapshot", file.to_str().unwrap(), "-o", p.to_str().unwrap()];
        args.extend_from_slice(at);
        let out = Command::new(env!("CARGO_BIN_EXE_acrscope")).args(&args).output().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let t = std::fs::read_to_string(&p).unwrap();
        counts.push((host_rows(&t), t));
    }
    let (early, mid, end) = (&counts[0], &counts[1], &counts[2]);
    assert!(
        early.0 >= 1 && early.0 < mid.0 && mid.0 < end.0,
        "rows {} {} {}\n{}\n{}",
        early.0,
        mid.0,
        end.0,
        early.1,
        end.1
    );
    // The clock stands where asked; the storage account is not yet in the early screen.
    assert!(early.1.lines().next().unwrap().contains("t=0.01s"), "{}", early.1);
    assert!(!early.1.contains("jpeacrprod0st17"), "{}", early.1);
    assert!(end.1.contains("jpeacrprod0st17"));
    // The default is the end.
    let p = tmp("default.txt");
    assert!(run(&["snapshot", capture("scenario-a-blob.pcap").to_str().unwrap(), "-o", p.to_str().unwrap()])
        .status
        .success());
    assert_eq!(std::fs::read_to_string(&p).unwrap(), end.1);
}

/// Compares `fresh` with the checked-in file at `path` (or writes it when blessing).
fn check_file(path: &Path, fresh: &[u8], how: &str) {
    if bless() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, fresh).unwrap();
        return;
    }
    let old = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}; {how}", path.display()));
    if old != fresh {
        let (o, n) = (String::from_utf8_lossy(&old), String::from_utf8_lossy(fresh));
        let mut diff = String::new();
        for (i, (a, b)) in o.lines().zip(n.lines()).enumerate().filter(|(_, (a, b))| a != b).take(20) {
            diff.push_str(&format!("line {}:\n- {a}\n+ {b}\n", i + 1));
        }
        if o.lines().count() != n.lines().count() {
            diff.push_str(&format!("({} lines checked in, {} now)\n", o.lines().count(), n.lines().count()));
        }
        panic!("{} is stale:\n{diff}{how}", path.display());
    }
}

const BLESS: &str = "if the change is meant, regenerate with ACRSCOPE_BLESS=1 cargo test --release --test snapshot \
                     (or docs/screenshots/regenerate.sh) and look at the result";

#[test]
fn golden_text_screen_of_the_dedicated_endpoint_capture() {
    let fresh = text::plain(&lab_screen("scenario-b-dedicated.pcap", At::End));
    check_file(&root().join("tests/golden/scenario-b-dedicated.120x40.txt"), fresh.as_bytes(), BLESS);
    // The command writes the same text.
    let p = tmp("golden.txt");
    let out =
        run(&["snapshot", capture("scenario-b-dedicated.pcap").to_str().unwrap(), "-o", p.to_str().unwrap(), "--end"]);
    assert!(out.status.success());
    assert_eq!(std::fs::read_to_string(&p).unwrap(), fresh);
}

const SCENARIOS: [&str; 6] = [
    "scenario-a-blob",
    "scenario-b-dedicated",
    "scenario-c-privatelink",
    "scenario-d-both-public",
    "scenario-e-blob-blocked",
    "scenario-m-stall-mid-layer",
];

/// The README's pictures are what the code draws now: each SVG byte for byte, each PNG by
/// size and pixels (decoded, so the PNG encoder's settings do not matter).
#[test]
fn readme_screenshots_are_current() {
    let dir = root().join("docs/screenshots");
    for name in SCENARIOS {
        let buf = lab_screen(&format!("{name}.pcap"), At::End);
        let svg_text = svg::render(&buf, &Theme::default());
        check_file(&dir.join(format!("{name}.svg")), svg_text.as_bytes(), BLESS);
        let png_path = dir.join(format!("{name}.png"));
        let fresh = png::svg_to_png(&svg_text, png::SCALE).unwrap();
        if bless() {
            std::fs::write(&png_path, &fresh).unwrap();
            continue;
        }
        let old = Pixmap::load_png(&png_path).unwrap_or_else(|e| panic!("{}: {e}; {BLESS}", png_path.display()));
        let new = Pixmap::decode_png(&fresh).unwrap();
        assert_eq!((old.width(), old.height()), (1920, 1280), "{}", png_path.display());
        assert_eq!((new.width(), new.height()), (old.width(), old.height()));
        assert!(pixel_hash(&old) == pixel_hash(&new), "{} is stale; {BLESS}", png_path.display());
    }
    // The recording of a replay, as `snapshot --cast` (default size and pace) makes it.
    let reader = acrscope::capture::source::CaptureReader::open(
        &capture("scenario-b-dedicated.pcap"),
        &acrscope::capture::source::OpenOptions::default(),
    )
    .unwrap();
    let view = View { width: 120, height: 40, view: ViewKind::Flows, select: None };
    let mut cast = Vec::new();
    snapshot::cast::record(reader, &Analyzer::default(), &view, 1.0, Limits::default(), &mut cast).unwrap();
    check_file(&dir.join("scenario-b-dedicated.cast"), &cast, BLESS);
    // Nothing else lies in the folder unchecked.
    let mut names: Vec<String> =
        std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    names.sort();
    let mut want: Vec<String> = SCENARIOS.iter().flat_map(|n| [format!("{n}.png"), format!("{n}.svg")]).collect();
    want.push("regenerate.sh".into());
    want.push("scenario-b-dedicated.cast".into());
    want.sort();
    assert_eq!(names, want);
}
