//! Characters drawn as shapes rather than taken from a font: box drawing (U+2500–257F),
//! block elements (U+2580–259F), braille (U+2800–28FF) and the pause sign, so that lines
//! join and bars stand flush in every viewer.

use super::num;

/// Distance between the centre of a double line's two strokes and the cell's line centre.
const GAP: f64 = 2.0;

/// Whether a cell's symbol is drawn as shapes rather than with a font.
pub fn is_vector(c: char) -> bool {
    matches!(c as u32, 0x2500..=0x259F | 0x2800..=0x28FF | 0x23F8)
}

/// A shape of a vector glyph, in the cell's own coordinates.
#[derive(Debug, Clone, PartialEq)]
pub enum Prim {
    Rect {
        x: f64,
        y: f64,
        w: f64,
        h: f64,
        alpha: f64,
    },
    /// A path stroked 1 unit wide.
    Stroke {
        d: String,
    },
    Dot {
        cx: f64,
        cy: f64,
        r: f64,
    },
}

fn rect(x: f64, y: f64, w: f64, h: f64) -> Prim {
    Prim::Rect { x, y, w, h, alpha: 1.0 }
}

/// The shapes of a vector-drawn character in a cell `cw`×`ch` units; `None` for characters
/// drawn from the font.
pub fn vector_glyph(c: char, cw: f64, ch: f64) -> Option<Vec<Prim>> {
    let u = c as u32;
    let mut p = Vec::new();
    match u {
        0x2500..=0x257F => box_glyph(&mut p, u, cw, ch)?,
        0x2580..=0x259F => block(&mut p, u, cw, ch),
        0x2800..=0x28FF => braille(&mut p, u, cw, ch),
        0x23F8 => {
            let bw = (cw / 4.0).max(1.0);
            p.push(rect(cw / 2.0 - bw * 1.5, ch * 0.25, bw, ch * 0.5));
            p.push(rect(cw / 2.0 + bw * 0.5, ch * 0.25, bw, ch * 0.5));
        }
        _ => return None,
    }
    Some(p)
}

/// Block elements: halves, eighths, shades and quadrants.
fn block(p: &mut Vec<Prim>, u: u32, cw: f64, ch: f64) {
    match u {
        0x2580 => p.push(rect(0.0, 0.0, cw, ch / 2.0)),
        0x2581..=0x2588 => {
            let h = ch * (u - 0x2580) as f64 / 8.0;
            p.push(rect(0.0, ch - h, cw, h));
        }
        0x2589..=0x258F => p.push(rect(0.0, 0.0, cw * (0x2590 - u) as f64 / 8.0, ch)),
        0x2590 => p.push(rect(cw / 2.0, 0.0, cw / 2.0, ch)),
        0x2591..=0x2593 => p.push(Prim::Rect { x: 0.0, y: 0.0, w: cw, h: ch, alpha: (u - 0x2590) as f64 * 0.25 }),
        0x2594 => p.push(rect(0.0, 0.0, cw, ch / 8.0)),
        0x2595 => p.push(rect(cw * 7.0 / 8.0, 0.0, cw / 8.0, ch)),
        0x2596..=0x259F => {
            // Quadrants: upper left, upper right, lower left, lower right.
            const Q: [u8; 10] = [0b0010, 0b0001, 0b1000, 0b1011, 0b1001, 0b1110, 0b1101, 0b0100, 0b0110, 0b0111];
            let bits = Q[(u - 0x2596) as usize];
            let (hw, hh) = (cw / 2.0, ch / 2.0);
            for (i, (x, y)) in [(0.0, 0.0), (hw, 0.0), (0.0, hh), (hw, hh)].into_iter().enumerate() {
                if bits & (0b1000 >> i) != 0 {
                    p.push(rect(x, y, hw, hh));
                }
            }
        }
        _ => {}
    }
}

fn braille(p: &mut Vec<Prim>, u: u32, cw: f64, ch: f64) {
    // Dots 1–3 and 7 down the left column, 4–6 and 8 down the right.
    const POS: [(u8, u8); 8] = [(0, 0), (0, 1), (0, 2), (1, 0), (1, 1), (1, 2), (0, 3), (1, 3)];
    let bits = u - 0x2800;
    for (i, &(col, row)) in POS.iter().enumerate() {
        if bits & (1 << i) != 0 {
            let x = cw * (0.3 + 0.4 * col as f64);
            let y = ch * (1.0 + 2.0 * row as f64) / 8.0;
            p.push(Prim::Dot { cx: x, cy: y, r: (cw / 7.0).max(0.8) });
        }
    }
}

/// A box-drawing cell: its size and its line centres, on a pixel centre at 1× and on pixel
/// edges at 2×.
#[derive(Debug, Clone, Copy)]
struct BoxCell {
    cw: f64,
    ch: f64,
    cx: f64,
    cy: f64,
}

impl BoxCell {
    fn hline(self, p: &mut Vec<Prim>, y: f64, x0: f64, x1: f64) {
        if x1 > x0 {
            p.push(rect(x0, y - 0.5, x1 - x0, 1.0));
        }
    }

    fn vline(self, p: &mut Vec<Prim>, x: f64, y0: f64, y1: f64) {
        if y1 > y0 {
            p.push(rect(x - 0.5, y0, 1.0, y1 - y0));
        }
    }
}

/// Box drawing: arms of lines, dashes, arcs and diagonals; `None` for a character of the
/// range not drawn here.
fn box_glyph(p: &mut Vec<Prim>, u: u32, cw: f64, ch: f64) -> Option<()> {
    let c = BoxCell { cw, ch, cx: (cw / 2.0).floor() + 0.5, cy: (ch / 2.0).floor() + 0.5 };
    if let Some(a) = arms(u) {
        if a.has_double() {
            double_lines(p, a, c);
        } else {
            light_heavy_lines(p, a, c);
        }
    } else if let Some(d) = dashes(u) {
        let t = if d.heavy { 2.0 } else { 1.0 };
        let len = if d.vertical { ch } else { cw };
        let seg = len / d.count as f64;
        for i in 0..d.count {
            let s = i as f64 * seg + seg / 4.0;
            if d.vertical {
                p.push(rect(c.cx - t / 2.0, s, t, seg / 2.0));
            } else {
                p.push(rect(s, c.cy - t / 2.0, seg / 2.0, t));
            }
        }
    } else {
        p.push(Prim::Stroke { d: curve(u, c)? });
    }
    Some(())
}

/// The path of an arc (U+256D–2570) or a diagonal (U+2571–2573).
fn curve(u: u32, c: BoxCell) -> Option<String> {
    let BoxCell { cw, ch, cx, cy } = c;
    let r = (cw - cx).min(cx);
    Some(match u {
        0x256D => format!(
            "M{} {}H{}A{} {} 0 0 0 {} {}V{}",
            num(cw),
            num(cy),
            num(cx + r),
            num(r),
            num(r),
            num(cx),
            num(cy + r),
            num(ch)
        ),
        0x256E => {
            format!(
                "M0 {}H{}A{} {} 0 0 1 {} {}V{}",
                num(cy),
                num(cx - r),
                num(r),
                num(r),
                num(cx),
                num(cy + r),
                num(ch)
            )
        }
        0x256F => format!("M0 {}H{}A{} {} 0 0 0 {} {}V0", num(cy), num(cx - r), num(r), num(r), num(cx), num(cy - r)),
        0x2570 => format!(
            "M{} {}H{}A{} {} 0 0 1 {} {}V0",
            num(cw),
            num(cy),
            num(cx + r),
            num(r),
            num(r),
            num(cx),
            num(cy - r)
        ),
        0x2571 => format!("M{} 0L0 {}", num(cw), num(ch)),
        0x2572 => format!("M0 0L{} {}", num(cw), num(ch)),
        0x2573 => format!("M{} 0L0 {}M0 0L{} {}", num(cw), num(ch), num(cw), num(ch)),
        _ => return None,
    })
}

/// The line weight of one arm of a box-drawing character.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Weight {
    None,
    Light,
    Heavy,
    Double,
}

impl Weight {
    /// As the tables of [`arms`] write it: 0 none, 1 light, 2 heavy, 3 double.
    fn from_digit(d: u8) -> Option<Weight> {
        Some(match d {
            b'0' => Weight::None,
            b'1' => Weight::Light,
            b'2' => Weight::Heavy,
            b'3' => Weight::Double,
            _ => return None,
        })
    }

    fn drawn(self) -> bool {
        self != Weight::None
    }

    fn thick(self) -> f64 {
        if self == Weight::Heavy {
            2.0
        } else {
            1.0
        }
    }

    fn half(self) -> f64 {
        if self.drawn() {
            self.thick() / 2.0
        } else {
            0.0
        }
    }

    /// How far from the line centre a perpendicular arm of this weight reaches: a double
    /// one's stroke lies [`GAP`] off it.
    fn reach(self) -> f64 {
        if self == Weight::Double {
            GAP
        } else {
            0.0
        }
    }
}

/// The four arms of a box-drawing character.
#[derive(Debug, Clone, Copy)]
struct Arms {
    left: Weight,
    right: Weight,
    up: Weight,
    down: Weight,
}

/// An arm of a box-drawing character.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Side {
    Left,
    Right,
    Up,
    Down,
}

impl Arms {
    fn get(&self, side: Side) -> Weight {
        match side {
            Side::Left => self.left,
            Side::Right => self.right,
            Side::Up => self.up,
            Side::Down => self.down,
        }
    }

    fn has_double(&self) -> bool {
        [self.left, self.right, self.up, self.down].contains(&Weight::Double)
    }
}

/// The arms of a box-drawing character, U+2500–254B and U+2550–256C, U+2574–257F; dashes,
/// arcs and diagonals are drawn apart.
fn arms(c: u32) -> Option<Arms> {
    // Left, right, up, down.
    const LIGHT_HEAVY: [&str; 76] = [
        "1100", "2200", "0011", "0022", "", "", "", "", "", "", "", "", // 2500–250B
        "0101", "0201", "0102", "0202", "1001", "2001", "1002", "2002", // 250C–2513
        "0110", "0210", "0120", "0220", "1010", "2010", "1020", "2020", // 2514–251B
        "0111", "0211", "0121", "0112", "0122", "0221", "0212", "0222", // 251C–2523
        "1011", "2011", "1021", "1012", "1022", "2021", "2012", "2022", // 2524–252B
        "1101", "2101", "1201", "2201", "1102", "2102", "1202", "2202", // 252C–2533
        "1110", "2110", "1210", "2210", "1120", "2120", "1220", "2220", // 2534–253B
        "1111", "2111", "1211", "2211", "1121", "1112", "1122", "2121", // 253C–2543
        "1221", "2112", "1212", "2221", "2212", "2122", "1222", "2222", // 2544–254B
    ];
    const DOUBLE: [&str; 29] = [
        "3300", "0033", "0301", "0103", "0303", "3001", "1003", "3003", // 2550–2557
        "0310", "0130", "0330", "3010", "1030", "3030", "0311", "0133", // 2558–255F
        "0333", "3011", "1033", "3033", "3301", "1103", "3303", "3310", // 2560–2567
        "1130", "3330", "3311", "1133", "3333", // 2568–256C
    ];
    const HALVES: [&str; 12] =
        ["1000", "0010", "0100", "0001", "2000", "0020", "0200", "0002", "1200", "0012", "2100", "0021"];
    let s = match c {
        0x2500..=0x254B => LIGHT_HEAVY[(c - 0x2500) as usize],
        0x2550..=0x256C => DOUBLE[(c - 0x2550) as usize],
        0x2574..=0x257F => HALVES[(c - 0x2574) as usize],
        _ => return None,
    };
    let &[l, r, u, d] = s.as_bytes() else { return None };
    let w = Weight::from_digit;
    Some(Arms { left: w(l)?, right: w(r)?, up: w(u)?, down: w(d)? })
}

/// A dashed line.
#[derive(Debug, Clone, Copy)]
struct Dashes {
    vertical: bool,
    heavy: bool,
    /// Dashes per cell.
    count: u32,
}

fn dashes(u: u32) -> Option<Dashes> {
    let (vertical, heavy, count) = match u {
        0x2504 => (false, false, 3),
        0x2505 => (false, true, 3),
        0x2506 => (true, false, 3),
        0x2507 => (true, true, 3),
        0x2508 => (false, false, 4),
        0x2509 => (false, true, 4),
        0x250A => (true, false, 4),
        0x250B => (true, true, 4),
        0x254C => (false, false, 2),
        0x254D => (false, true, 2),
        0x254E => (true, false, 2),
        0x254F => (true, true, 2),
        _ => return None,
    };
    Some(Dashes { vertical, heavy, count })
}

/// Light and heavy lines: each arm from its edge to just past the centre, far enough to cover
/// the perpendicular arms' width, so corners are square and joins seamless.
fn light_heavy_lines(p: &mut Vec<Prim>, a: Arms, c: BoxCell) {
    let BoxCell { cw, ch, cx, cy } = c;
    let Arms { left: l, right: r, up: u, down: d } = a;
    let ext_h = u.half().max(d.half());
    let ext_v = l.half().max(r.half());
    if l.drawn() {
        p.push(rect(0.0, cy - l.half(), cx + ext_h, l.thick()));
    }
    if r.drawn() {
        p.push(rect(cx - ext_h, cy - r.half(), cw - cx + ext_h, r.thick()));
    }
    if u.drawn() {
        p.push(rect(cx - u.half(), 0.0, u.thick(), cy + ext_v));
    }
    if d.drawn() {
        p.push(rect(cx - d.half(), cy - ext_v, d.thick(), ch - cy + ext_v));
    }
}

/// Double lines (1 unit strokes at ±[`GAP`] from the centre), possibly meeting single ones.
fn double_lines(p: &mut Vec<Prim>, a: Arms, c: BoxCell) {
    for side in [Side::Right, Side::Left, Side::Down, Side::Up] {
        if a.get(side) == Weight::Double {
            double_arm(p, a, c, side);
        }
    }
    for side in [Side::Left, Side::Right, Side::Up, Side::Down] {
        if a.get(side) == Weight::Light {
            single_arm(p, a, c, side);
        }
    }
}

/// Along an arm: whether it is horizontal, the centre and the cell's size along it, `1.0`
/// when it runs from the centre towards that size (right, down) or `-1.0` towards 0, and
/// its opposite and perpendicular arms.
struct Along {
    horizontal: bool,
    centre: f64,
    size: f64,
    sign: f64,
    opposite: Side,
    /// The perpendicular arms, the one towards 0 first.
    across: [Side; 2],
}

impl Along {
    fn of(side: Side, c: BoxCell) -> Along {
        let (h, v) = ([Side::Up, Side::Down], [Side::Left, Side::Right]);
        let (horizontal, centre, size, sign, opposite, across) = match side {
            Side::Left => (true, c.cx, c.cw, -1.0, Side::Right, h),
            Side::Right => (true, c.cx, c.cw, 1.0, Side::Left, h),
            Side::Up => (false, c.cy, c.ch, -1.0, Side::Down, v),
            Side::Down => (false, c.cy, c.ch, 1.0, Side::Up, v),
        };
        Along { horizontal, centre, size, sign, opposite, across }
    }

    /// A line from `inner` to the arm's edge, at `at` across it.
    fn line(&self, p: &mut Vec<Prim>, c: BoxCell, at: f64, inner: f64) {
        let (from, to) = if self.sign > 0.0 { (inner, self.size) } else { (0.0, inner) };
        if self.horizontal {
            c.hline(p, at, from, to);
        } else {
            c.vline(p, at, from, to);
        }
    }
}

/// A double arm's two strokes: each stops at the perpendicular arm on its side (the top stroke
/// of a horizontal arm at the up arm), runs on through the cell when the opposite arm is
/// double too, or else turns the corner into the perpendicular arm on the other side.
fn double_arm(p: &mut Vec<Prim>, a: Arms, c: BoxCell, side: Side) {
    let g = Along::of(side, c);
    let across_centre = if g.horizontal { c.cy } else { c.cx };
    let [first, second] = g.across;
    for (at, near, far) in [(across_centre - GAP, first, second), (across_centre + GAP, second, first)] {
        let (near, far) = (a.get(near), a.get(far));
        let inner = if near.drawn() {
            g.centre + g.sign * (near.reach() - 0.5)
        } else if a.get(g.opposite) == Weight::Double {
            if g.sign > 0.0 {
                0.0
            } else {
                g.size
            }
        } else if far.drawn() {
            g.centre - g.sign * (far.reach() + 0.5)
        } else {
            g.centre - g.sign * 0.5
        };
        g.line(p, c, at, inner);
    }
}

/// A single arm beside double ones: straight through when the opposite arm is there too;
/// otherwise up to the near double stroke when double arms stand on both sides, or to the far
/// one (a corner) when on one side only.
fn single_arm(p: &mut Vec<Prim>, a: Arms, c: BoxCell, side: Side) {
    let g = Along::of(side, c);
    let [first, second] = g.across;
    // How far short of the centre the arm stops (negative: past it).
    let short = match (a.get(first) == Weight::Double, a.get(second) == Weight::Double) {
        _ if a.get(g.opposite).drawn() => 0.0,
        (true, true) => GAP - 0.5,
        (true, false) | (false, true) => -(GAP + 0.5),
        (false, false) => -0.5,
    };
    let at = if g.horizontal { c.cy } else { c.cx };
    g.line(p, c, at, g.centre + g.sign * short);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn box_corners_reach_both_edges() {
        // ┌: a right arm to the right edge and a down arm to the bottom, meeting at the centre.
        let p = vector_glyph('┌', 8.0, 16.0).unwrap();
        assert_eq!(p, vec![rect(4.0, 8.0, 4.0, 1.0), rect(4.0, 8.0, 1.0, 8.0)]);
        // ─ spans the cell; │ too.
        assert_eq!(vector_glyph('─', 8.0, 16.0).unwrap(), vec![rect(0.0, 8.0, 4.5, 1.0), rect(4.5, 8.0, 3.5, 1.0)]);
        assert_eq!(vector_glyph('│', 8.0, 16.0).unwrap(), vec![rect(4.0, 0.0, 1.0, 8.5), rect(4.0, 8.5, 1.0, 7.5)]);
        // ╔: two strokes each way, the outer corner closed.
        let p = vector_glyph('╔', 8.0, 16.0).unwrap();
        assert!(p.contains(&rect(2.0, 6.0, 6.0, 1.0)), "{p:?}");
        assert!(p.contains(&rect(2.0, 6.0, 1.0, 10.0)), "{p:?}");
        assert!(p.contains(&rect(6.0, 10.0, 2.0, 1.0)), "{p:?}");
        assert!(p.contains(&rect(6.0, 10.0, 1.0, 6.0)), "{p:?}");
    }

    #[test]
    fn blocks_fill_their_eighths() {
        assert_eq!(vector_glyph('█', 8.0, 16.0).unwrap(), vec![rect(0.0, 0.0, 8.0, 16.0)]);
        assert_eq!(vector_glyph('▁', 8.0, 16.0).unwrap(), vec![rect(0.0, 14.0, 8.0, 2.0)]);
        assert_eq!(vector_glyph('▄', 8.0, 16.0).unwrap(), vec![rect(0.0, 8.0, 8.0, 8.0)]);
        assert_eq!(vector_glyph('▏', 8.0, 16.0).unwrap(), vec![rect(0.0, 0.0, 1.0, 16.0)]);
        assert_eq!(vector_glyph('▚', 8.0, 16.0).unwrap(), vec![rect(0.0, 0.0, 4.0, 8.0), rect(4.0, 8.0, 4.0, 8.0)]);
        assert!(vector_glyph('a', 8.0, 16.0).is_none());
        assert!(vector_glyph('◆', 8.0, 16.0).is_none());
        assert_eq!(vector_glyph('⣿', 8.0, 16.0).unwrap().len(), 8);
    }
}
