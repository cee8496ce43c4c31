//! The screen as a PNG: the SVG of [`super::svg`] rasterised with resvg (pure Rust) and the
//! DejaVu Sans Mono faces shipped in `assets/fonts/`, built into the binary, so a PNG looks
//! the same on every machine whatever fonts it has.

use std::sync::{Arc, OnceLock};

use anyhow::Context;
use ratatui::buffer::Buffer;
use resvg::tiny_skia::{Pixmap, Transform};
use resvg::usvg;

use super::svg::{CELL_H, CELL_W};
use super::Theme;

/// Device pixels per SVG unit: 2× keeps text and lines sharp on high-density screens and
/// when a page scales the picture down.
pub const SCALE: u32 = 2;

/// The family every face below declares.
pub const FAMILY: &str = "DejaVu Sans Mono";

static REGULAR: &[u8] = include_bytes!("../../assets/fonts/DejaVuSansMono.ttf");
static BOLD: &[u8] = include_bytes!("../../assets/fonts/DejaVuSansMono-Bold.ttf");

/// Our fonts only (no system fonts): the same glyphs everywhere.
pub fn fonts() -> Arc<usvg::fontdb::Database> {
    static DB: OnceLock<Arc<usvg::fontdb::Database>> = OnceLock::new();
    DB.get_or_init(|| {
        let mut db = usvg::fontdb::Database::new();
        db.load_font_data(REGULAR.to_vec());
        db.load_font_data(BOLD.to_vec());
        db.set_monospace_family(FAMILY);
        db.set_sans_serif_family(FAMILY);
        db.set_serif_family(FAMILY);
        Arc::new(db)
    })
    .clone()
}

/// The pixel size of a screen of `cols`×`rows` cells at `scale`.
pub fn pixel_size(cols: u16, rows: u16, scale: u32) -> (u32, u32) {
    (cols as u32 * CELL_W * scale, rows as u32 * CELL_H * scale)
}

/// Rasterises an SVG document at `scale` device pixels per unit.
pub fn rasterize(svg: &str, scale: u32) -> anyhow::Result<Pixmap> {
    let opt = usvg::Options { font_family: FAMILY.to_string(), fontdb: fonts(), ..usvg::Options::default() };
    let tree = usvg::Tree::from_str(svg, &opt).context("parsing the SVG")?;
    let size = tree.size().to_int_size().scale_by(scale as f32).context("picture size")?;
    let mut pixmap = Pixmap::new(size.width(), size.height()).context("a picture of zero or huge size")?;
    resvg::render(&tree, Transform::from_scale(scale as f32, scale as f32), &mut pixmap.as_mut());
    Ok(pixmap)
}

/// An SVG document as PNG bytes.
pub fn svg_to_png(svg: &str, scale: u32) -> anyhow::Result<Vec<u8>> {
    rasterize(svg, scale)?.encode_png().context("encoding the PNG")
}

/// The buffer as PNG bytes, `scale` device pixels per SVG unit.
pub fn render(buf: &Buffer, theme: &Theme, scale: u32) -> anyhow::Result<Vec<u8>> {
    svg_to_png(&super::svg::render(buf, theme), scale)
}
