//! `--format svg` (and the pictures of `--format html`): a [`Picture`] laid out by
//! [`crate::layout`] and drawn as SVG here, in-process, in microseconds: no Graphviz.
//!
//! It draws what the DOT says, read back from the same attributes (`attributes`): the
//! shapes as Graphviz would (ellipse, box, rounded box, note, octagon, plain text; a second
//! border for `peripheries=2`, `filled`, `bold` and `penwidth`, `dashed` and `dotted`),
//! each zone and endpoint a box with its label at the top left, edges as smooth curves
//! through the layout's points with their arrowheads (`none`, `empty`) and labels, the
//! caption below, and a `<title>` (the tooltip) on every node, edge and box. All text is
//! XML-escaped.
//!
//! Node sizes come from our own text metrics: the advance widths of DejaVu Sans (embedded
//! below), the font asked for first. It is wider than the other common sans-serif fonts
//! (Liberation Sans/Arial, Helvetica, Noto Sans), so a label fits its box in whichever
//! of them the reader's machine uses instead.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt::Write as _;

use crate::dot::Picture;
use crate::html::{Escaped, escape};
use crate::layout::{self, Input, Rect};

/// The fonts asked for, the measured one first.
const FONTS: &str = "'DejaVu Sans', Verdana, Helvetica, Arial, sans-serif";

/// DejaVu Sans (Book) advance widths of U+0020..U+007E, in units of 1/2048 em (the font's
/// `hmtx` table).
const WIDTHS: [u16; 95] = [
    651, 821, 942, 1716, 1303, 1946, 1597, 563, 799, 799, 1024, 1716, 651, 739, 651, 690, 1303,
    1303, 1303, 1303, 1303, 1303, 1303, 1303, 1303, 1303, 690, 690, 1716, 1716, 1716, 1087, 2048,
    1401, 1405, 1430, 1577, 1294, 1178, 1587, 1540, 604, 604, 1343, 1141, 1767, 1532, 1612, 1235,
    1612, 1423, 1300, 1251, 1499, 1401, 2025, 1403, 1251, 1403, 799, 690, 799, 1716, 1024, 1024,
    1255, 1300, 1126, 1300, 1260, 721, 1300, 1298, 569, 569, 1186, 569, 1995, 1298, 1253, 1300,
    1300, 842, 1067, 803, 1298, 1212, 1675, 1212, 1212, 1075, 1303, 690, 1303, 1716,
];

/// The width of `text` at `size` (in the picture's units) in DejaVu Sans; a character
/// outside ASCII counts as wide as `W` (most are narrower).
pub fn text_width(text: &str, size: f64) -> f64 {
    let units: u32 = text
        .chars()
        .map(|c| {
            let i = (c as u32).wrapping_sub(32) as usize;
            u32::from(WIDTHS.get(i).copied().unwrap_or(2025))
        })
        .sum();
    f64::from(units) / 2048.0 * size
}

const NODE_FONT: f64 = 10.0;
const EDGE_FONT: f64 = 9.0;
const GRAPH_FONT: f64 = 12.0;
/// Line height as a multiple of the font size.
const LEADING: f64 = 1.25;
/// Space around the whole picture.
const MARGIN: f64 = 8.0;

/// The attributes of a DOT attribute list as we write them (`key=value, key="quoted"`),
/// quoted values unescaped (`\\` and `\"`; a label's `\n` becomes a newline).
pub(crate) fn attributes(list: &str) -> Vec<(&str, Cow<'_, str>)> {
    let mut out = Vec::new();
    let mut rest = list.trim();
    while !rest.is_empty() {
        let Some(eq) = rest.find('=') else { break };
        let key = rest[..eq].trim();
        rest = &rest[eq + 1..];
        let value = if let Some(body) = rest.strip_prefix('"') {
            let mut end = body.len();
            let (mut escaped, mut escapes) = (false, false);
            for (i, c) in body.char_indices() {
                match c {
                    _ if escaped => escaped = false,
                    '\\' => (escaped, escapes) = (true, true),
                    '"' => {
                        end = i;
                        break;
                    }
                    _ => {}
                }
            }
            let raw = &body[..end];
            rest = &body[(end + 1).min(body.len())..];
            if escapes {
                Cow::Owned(unescape(raw))
            } else {
                Cow::Borrowed(raw)
            }
        } else {
            let end = rest.find(',').unwrap_or(rest.len());
            let v = rest[..end].trim();
            rest = &rest[end..];
            Cow::Borrowed(v)
        };
        out.push((key, value));
        rest = rest.trim_start().trim_start_matches(',').trim_start();
    }
    out
}

/// A quoted DOT string's body unescaped: `\n` a newline, `\c` the character `c`.
fn unescape(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    let mut chars = raw.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some('n') => out.push('\n'),
                Some(c) => out.push(c),
                None => {}
            },
            c => out.push(c),
        }
    }
    out
}

/// How one node, edge or box is drawn, from its attributes (borrowed from them where
/// they need no unescaping).
struct Style<'a> {
    shape: Cow<'a, str>,
    /// The label's lines, joined by newlines.
    label: Cow<'a, str>,
    tooltip: Cow<'a, str>,
    color: Cow<'a, str>,
    fontcolor: Cow<'a, str>,
    fill: Option<Cow<'a, str>>,
    dash: Option<&'static str>,
    rounded: bool,
    width: f64,
    peripheries: u32,
    /// An edge's arrowhead (`none`, `empty`; empty: the default, filled).
    arrowhead: Cow<'a, str>,
}

impl<'a> Style<'a> {
    fn of(list: &'a str) -> Style<'a> {
        let mut a = attributes(list);
        let mut take = |k: &str| {
            a.iter()
                .position(|(key, _)| *key == k)
                .map(|i| a.swap_remove(i).1)
        };
        let style = take("style").unwrap_or_default();
        let has = |s: &str| style.split(',').any(|x| x.trim() == s);
        let mut width = if has("bold") { 2.0 } else { 1.0 };
        if let Some(p) = take("penwidth").and_then(|p| p.parse::<f64>().ok()) {
            width = p.clamp(0.0, 10.0);
        }
        let fillcolor = take("fillcolor");
        Style {
            shape: take("shape").unwrap_or(Cow::Borrowed("ellipse")),
            label: take("label").unwrap_or_default(),
            tooltip: take("tooltip").unwrap_or_default(),
            color: take("color").unwrap_or(Cow::Borrowed("black")),
            fontcolor: take("fontcolor").unwrap_or(Cow::Borrowed("black")),
            fill: has("filled").then(|| fillcolor.unwrap_or(Cow::Borrowed("lightgrey"))),
            dash: if has("dashed") {
                Some("5,2")
            } else if has("dotted") {
                Some("1,3")
            } else {
                None
            },
            rounded: has("rounded"),
            arrowhead: take("arrowhead").unwrap_or_default(),
            width,
            peripheries: take("peripheries")
                .and_then(|p| p.parse().ok())
                .unwrap_or(1)
                .min(3),
        }
    }

    /// The label's lines.
    fn lines(&self) -> Vec<&str> {
        self.label.split('\n').collect()
    }

    fn stroke(&self) -> String {
        let mut s = format!(
            "stroke=\"{}\" stroke-width=\"{}\"",
            Escaped(&self.color),
            self.width
        );
        if let Some(d) = self.dash {
            let _ = write!(s, " stroke-dasharray=\"{d}\"");
        }
        s
    }

    /// The node's size for its label.
    fn size(&self) -> (f64, f64) {
        let lines = self.lines();
        let tw = lines
            .iter()
            .map(|l| text_width(l, NODE_FONT))
            .fold(0.0, f64::max);
        let th = lines.len() as f64 * NODE_FONT * LEADING;
        let extra = 8.0 * f64::from(self.peripheries.saturating_sub(1)) + self.width;
        let (w, h) = match self.shape.as_ref() {
            "ellipse" | "oval" => (tw * 1.2 + 18.0, th * 1.3 + 10.0),
            "plaintext" | "plain" | "none" => (tw + 8.0, th + 4.0),
            "octagon" => (tw + 30.0, th + 14.0),
            "note" => (tw + 24.0, th + 10.0),
            _ => (tw + 16.0, th + 10.0),
        };
        (w.max(30.0) + extra, h.max(24.0) + extra)
    }
}

/// The point where the ray from the centre of `r` towards `(tx, ty)` leaves the node's
/// shape (an ellipse for ellipses, the box otherwise).
fn boundary(r: &Rect, ellipse: bool, tx: f64, ty: f64) -> (f64, f64) {
    let (cx, cy) = r.centre();
    let (dx, dy) = (tx - cx, ty - cy);
    if dx.abs() < 1e-9 && dy.abs() < 1e-9 {
        return (cx, cy);
    }
    let (a, b) = (r.w / 2.0, r.h / 2.0);
    let t = if ellipse {
        1.0 / ((dx / a).powi(2) + (dy / b).powi(2)).sqrt()
    } else {
        let tx = if dx.abs() > 1e-9 {
            a / dx.abs()
        } else {
            f64::INFINITY
        };
        let ty = if dy.abs() > 1e-9 {
            b / dy.abs()
        } else {
            f64::INFINITY
        };
        tx.min(ty)
    };
    (cx + dx * t, cy + dy * t)
}

/// A number for SVG: two decimals at most, written from integer hundredths (float
/// formatting, and a string per number, were most of the cost of writing a picture).
fn n(v: f64) -> Num {
    let hundredths = (v * 100.0).round();
    if !hundredths.is_finite() || hundredths.abs() > 1e15 {
        return Num(0);
    }
    Num(hundredths as i64)
}

/// A number in hundredths, written as a decimal.
struct Num(i64);

impl std::fmt::Display for Num {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (sign, h) = if self.0 < 0 {
            ("-", -self.0)
        } else {
            ("", self.0)
        };
        let (whole, frac) = (h / 100, h % 100);
        match frac {
            0 => write!(f, "{sign}{whole}"),
            f10 if f10 % 10 == 0 => write!(f, "{sign}{whole}.{}", f10 / 10),
            f100 => write!(f, "{sign}{whole}.{f100:02}"),
        }
    }
}

/// The lines of `text` centred on `(x, y)`.
fn text_lines(
    o: &mut String,
    lines: &[impl AsRef<str>],
    x: f64,
    y: f64,
    size: f64,
    fill: &str,
    anchor: &str,
) {
    let step = size * LEADING;
    let top = y - step * lines.len() as f64 / 2.0;
    for (i, l) in lines.iter().enumerate() {
        let base = top + step * (i as f64) + size * 0.95;
        let _ = writeln!(
            o,
            "<text text-anchor=\"{anchor}\" x=\"{}\" y=\"{}\" font-size=\"{size}\" fill=\"{}\">{}</text>",
            n(x),
            n(base),
            Escaped(fill),
            Escaped(l.as_ref())
        );
    }
}

fn node_shape(o: &mut String, s: &Style, r: &Rect) {
    let fill = s.fill.as_deref().map_or("none".to_owned(), escape);
    let stroke = s.stroke();
    let (cx, cy) = r.centre();
    for p in 0..s.peripheries {
        // The outer border on the box, each inner one 4 units in.
        let inset = s.width / 2.0 + 4.0 * f64::from(p);
        let fill = if p + 1 == s.peripheries {
            fill.as_str()
        } else {
            "none"
        };
        let (x, y, w, h) = (
            r.x + inset,
            r.y + inset,
            r.w - 2.0 * inset,
            r.h - 2.0 * inset,
        );
        match s.shape.as_ref() {
            "plaintext" | "plain" | "none" => {}
            "ellipse" | "oval" => {
                let _ = writeln!(
                    o,
                    "<ellipse cx=\"{}\" cy=\"{}\" rx=\"{}\" ry=\"{}\" fill=\"{fill}\" {stroke}/>",
                    n(cx),
                    n(cy),
                    n(w / 2.0),
                    n(h / 2.0)
                );
            }
            "octagon" => {
                let c = (h / 3.0).min(w / 4.0);
                let pts = [
                    (x + c, y),
                    (x + w - c, y),
                    (x + w, y + c),
                    (x + w, y + h - c),
                    (x + w - c, y + h),
                    (x + c, y + h),
                    (x, y + h - c),
                    (x, y + c),
                ];
                polygon(o, &pts, fill, &stroke);
            }
            "note" => {
                let c = 8.0_f64.min(h / 3.0);
                let pts = [
                    (x, y),
                    (x + w - c, y),
                    (x + w, y + c),
                    (x + w, y + h),
                    (x, y + h),
                ];
                polygon(o, &pts, fill, &stroke);
                let _ = writeln!(
                    o,
                    "<polyline points=\"{},{} {},{} {},{}\" fill=\"none\" {stroke}/>",
                    n(x + w - c),
                    n(y),
                    n(x + w - c),
                    n(y + c),
                    n(x + w),
                    n(y + c)
                );
            }
            _ => {
                let rx = if s.rounded { 6.0 } else { 0.0 };
                let _ = writeln!(
                    o,
                    "<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" rx=\"{rx}\" fill=\"{fill}\" {stroke}/>",
                    n(x),
                    n(y),
                    n(w),
                    n(h)
                );
            }
        }
    }
}

fn polygon(o: &mut String, pts: &[(f64, f64)], fill: &str, stroke: &str) {
    o.push_str("<polygon points=\"");
    for (i, (x, y)) in pts.iter().enumerate() {
        let sep = if i == 0 { "" } else { " " };
        let _ = write!(o, "{sep}{},{}", n(*x), n(*y));
    }
    let _ = writeln!(o, "\" fill=\"{fill}\" {stroke}/>");
}

fn unit(dx: f64, dy: f64) -> (f64, f64) {
    let l = (dx * dx + dy * dy).sqrt();
    if l < 1e-9 {
        (0.0, 1.0)
    } else {
        (dx / l, dy / l)
    }
}

/// An edge from box `a` to box `b` through `via`: a smooth curve, leaving and entering
/// each node away from its centre, through each point downwards (or upwards); its
/// arrowhead; its label beside the middle, into `labels` (drawn over the nodes).
fn edge(
    o: &mut String,
    labels: &mut String,
    s: &Style,
    arrow: &str,
    a: (&Rect, bool),
    b: (&Rect, bool),
    via: &[(f64, f64)],
) {
    let (ac, bc) = (a.0.centre(), b.0.centre());
    let first = via.first().copied().unwrap_or(bc);
    let last = via.last().copied().unwrap_or(ac);
    let start = boundary(a.0, a.1, first.0, first.1);
    let end = boundary(b.0, b.1, last.0, last.1);
    let mut pts = vec![start];
    pts.extend_from_slice(via);
    pts.push(end);
    // Tangents: out of the first node and into the last along the ray from the centre;
    // vertical through the points between.
    let out = unit(start.0 - ac.0, start.1 - ac.1);
    let into = unit(bc.0 - end.0, bc.1 - end.1);
    let down = if end.1 >= start.1 { 1.0 } else { -1.0 };
    let last_i = pts.len() - 1;
    let tangent = |i: usize| -> (f64, f64) {
        if i == 0 {
            out
        } else if i == last_i {
            into
        } else {
            (0.0, down)
        }
    };
    let head = match arrow {
        "none" => 0.0,
        _ => 8.0,
    };
    // Shorten the last stretch for the arrowhead.
    let tip = end;
    pts[last_i] = (end.0 - into.0 * head, end.1 - into.1 * head);
    let mut d = format!("M{},{}", n(pts[0].0), n(pts[0].1));
    for i in 0..last_i {
        let (p, q) = (pts[i], pts[i + 1]);
        let k = ((q.0 - p.0).hypot(q.1 - p.1) / 3.0).max(4.0);
        let (t0, t1) = (tangent(i), tangent(i + 1));
        let _ = write!(
            d,
            " C{},{} {},{} {},{}",
            n(p.0 + t0.0 * k),
            n(p.1 + t0.1 * k),
            n(q.0 - t1.0 * k),
            n(q.1 - t1.1 * k),
            n(q.0),
            n(q.1)
        );
    }
    let stroke = s.stroke();
    let _ = writeln!(o, "<path d=\"{d}\" fill=\"none\" {stroke}/>");
    if head > 0.0 {
        let base = pts[last_i];
        let (px, py) = (-into.1 * 3.5, into.0 * 3.5);
        let pts = [tip, (base.0 + px, base.1 + py), (base.0 - px, base.1 - py)];
        let fill = if arrow == "empty" {
            "white".to_owned()
        } else {
            escape(&s.color)
        };
        let solid = format!(
            "stroke=\"{}\" stroke-width=\"{}\"",
            Escaped(&s.color),
            s.width.min(2.0)
        );
        polygon(o, &pts, &fill, &solid);
    }
    if !s.label.is_empty() {
        let m = pts.len() / 2;
        let (p, q) = (pts[m.saturating_sub(1)], pts[m]);
        let (x, y) = ((p.0 + q.0) / 2.0 + 4.0, (p.1 + q.1) / 2.0);
        text_lines(labels, &s.lines(), x, y, EDGE_FONT, &s.fontcolor, "start");
    }
}

fn title(o: &mut String, text: &str) {
    if !text.is_empty() {
        let _ = writeln!(o, "<title>{}</title>", Escaped(text));
    }
}

/// The picture as an SVG document, or (not `document`) as the `<svg>` element alone, to
/// inline in HTML.
pub fn render(p: &Picture, document: bool) -> String {
    let g = &p.graph;
    let index: BTreeMap<&str, usize> = g
        .nodes
        .iter()
        .enumerate()
        .map(|(i, n)| (n.0.as_str(), i))
        .collect();
    let nodes: Vec<Style> = g.nodes.iter().map(|n| Style::of(&n.1)).collect();
    let boxes: Vec<Style> = g.clusters.iter().map(|c| Style::of(&c.1)).collect();
    let edges: Vec<(usize, usize, Style, Cow<str>)> = g
        .edges
        .iter()
        .filter_map(|(a, b, attrs)| {
            let s = Style::of(attrs);
            let arrow = s.arrowhead.clone();
            Some((*index.get(a.as_str())?, *index.get(b.as_str())?, s, arrow))
        })
        .collect();
    let input = Input {
        nodes: nodes
            .iter()
            .zip(&g.nodes)
            .map(|(s, n)| {
                let (w, h) = s.size();
                (w, h, n.2)
            })
            .collect(),
        clusters: boxes
            .iter()
            .map(|s| {
                let w = s
                    .label
                    .split('\n')
                    .map(|l| text_width(l, GRAPH_FONT))
                    .fold(0.0, f64::max);
                (w, GRAPH_FONT * LEADING)
            })
            .collect(),
        edges: edges.iter().map(|e| (e.0, e.1)).collect(),
    };
    let mut l = layout::layout(&input);
    // Everything moves in by the margin; the caption goes below.
    let caption_w = p
        .caption
        .iter()
        .map(|c| text_width(c, GRAPH_FONT))
        .fold(0.0, f64::max);
    let width = l.width.max(caption_w) + 2.0 * MARGIN;
    let shift = MARGIN + (width - 2.0 * MARGIN - l.width) / 2.0;
    for r in l.nodes.iter_mut().chain(l.clusters.iter_mut()) {
        r.x += shift;
        r.y += MARGIN;
    }
    for v in l.via.iter_mut().flatten() {
        v.0 += shift;
        v.1 += MARGIN;
    }
    let caption_h = p.caption.len() as f64 * GRAPH_FONT * LEADING;
    let gap = if l.height > 0.0 { 12.0 } else { 0.0 };
    let height = l.height + gap + caption_h + 2.0 * MARGIN;
    let mut o = String::with_capacity(4096 + 1024 * g.nodes.len());
    if document {
        let _ = writeln!(
            o,
            "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"no\"?>"
        );
    }
    let _ = writeln!(
        o,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{}pt\" height=\"{}pt\" viewBox=\"0 0 {} {}\">",
        n(width),
        n(height),
        n(width),
        n(height)
    );
    let _ = writeln!(o, "<g class=\"graph\" font-family=\"{}\">", Escaped(FONTS));
    title(&mut o, &p.tooltip);
    let _ = writeln!(
        o,
        "<rect x=\"0\" y=\"0\" width=\"{}\" height=\"{}\" fill=\"white\"/>",
        n(width),
        n(height)
    );
    for (s, r) in boxes.iter().zip(&l.clusters) {
        let _ = writeln!(o, "<g class=\"cluster\">");
        title(&mut o, &s.tooltip);
        let mut shape = Style {
            shape: Cow::Borrowed("box"),
            peripheries: 1,
            ..Style::of("")
        };
        shape.color = s.color.clone();
        shape.dash = s.dash;
        shape.rounded = s.rounded;
        shape.width = s.width;
        node_shape(&mut o, &shape, r);
        for (i, line) in s.label.split('\n').enumerate() {
            let _ = writeln!(
                o,
                "<text text-anchor=\"start\" x=\"{}\" y=\"{}\" font-size=\"{GRAPH_FONT}\" fill=\"{}\">{}</text>",
                n(r.x + 8.0),
                n(r.y + 4.0 + GRAPH_FONT * (0.95 + LEADING * i as f64)),
                Escaped(&s.fontcolor),
                Escaped(line)
            );
        }
        let _ = writeln!(o, "</g>");
    }
    let mut labels = String::new();
    for ((a, b, s, arrow), via) in edges.iter().zip(&l.via) {
        let ellipse = |i: usize| matches!(nodes[i].shape.as_ref(), "ellipse" | "oval");
        let _ = writeln!(o, "<g class=\"edge\">");
        title(&mut o, &s.tooltip);
        if a != b {
            edge(
                &mut o,
                &mut labels,
                s,
                arrow,
                (&l.nodes[*a], ellipse(*a)),
                (&l.nodes[*b], ellipse(*b)),
                via,
            );
        }
        let _ = writeln!(o, "</g>");
    }
    for (s, r) in nodes.iter().zip(&l.nodes) {
        let _ = writeln!(o, "<g class=\"node\">");
        title(&mut o, &s.tooltip);
        node_shape(&mut o, s, r);
        let (cx, cy) = r.centre();
        text_lines(
            &mut o,
            &s.lines(),
            cx,
            cy,
            NODE_FONT,
            &s.fontcolor,
            "middle",
        );
        let _ = writeln!(o, "</g>");
    }
    if !labels.is_empty() {
        // Over the nodes, on a white halo, so that a label is read wherever it falls.
        let _ = writeln!(
            o,
            "<g class=\"edge-labels\" stroke=\"white\" stroke-width=\"3\" paint-order=\"stroke\">\n{labels}</g>"
        );
    }
    let caption_y = MARGIN + l.height + gap + caption_h / 2.0;
    text_lines(
        &mut o,
        &p.caption,
        width / 2.0,
        caption_y,
        GRAPH_FONT,
        "black",
        "middle",
    );
    let _ = writeln!(o, "</g>\n</svg>");
    o
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attributes_read_back_what_dot_writes() {
        let list = format!(
            "shape=ellipse, label={}, tooltip={}, color=\"#0a25a0\", style=\"rounded,bold\", penwidth=4",
            "\"DNSKEY\\nalg=13, id=2\"",
            crate::dot::quote("a \"b\" \\ c, d=e")
        );
        let a: BTreeMap<&str, Cow<str>> = attributes(&list).into_iter().collect();
        assert_eq!(a["shape"], "ellipse");
        assert_eq!(a["label"], "DNSKEY\nalg=13, id=2");
        assert_eq!(a["tooltip"], "a \"b\" \\ c, d=e");
        assert_eq!(a["color"], "#0a25a0");
        assert_eq!(a["style"], "rounded,bold");
        assert_eq!(a["penwidth"], "4");
        assert!(attributes("").is_empty());
        assert_eq!(attributes("label=\"unterminated")[0].1, "unterminated");
        // Borrowed where there is nothing to unescape.
        assert!(matches!(a["color"], Cow::Borrowed(_)));
    }

    #[test]
    fn text_is_measured_in_dejavu_sans() {
        // "W" is 2025/2048 em, "i" 569/2048.
        assert!((text_width("W", 2048.0) - 2025.0).abs() < 1e-9);
        assert!((text_width("iW", 10.0) - (569.0 + 2025.0) / 204.8).abs() < 1e-9);
        assert!(text_width("\u{e9}", 10.0) > 9.0);
    }

    /// A picture of nothing but its caption (a lookup that could not be made) is still a
    /// picture: the caption, no shapes.
    #[test]
    fn a_caption_alone() {
        let svg = crate::dot::note("x.test. TLSA: indeterminate: <timeout> & more").svg();
        assert!(svg.contains(">x.test. TLSA: indeterminate: &lt;timeout&gt; &amp; more<"));
        assert!(!svg.contains("<ellipse") && !svg.contains("<path"));
        assert!(svg.contains("viewBox=\"0 0 ") && !svg.contains("NaN") && !svg.contains("inf"));
    }

    /// Hostile text (a server's certificate subject, a name from DNS) in the caption and
    /// the tooltip: no control character and no markup reaches the SVG.
    #[test]
    fn hostile_caption_is_sanitised_and_escaped() {
        let svg =
            crate::dot::note("bad\u{7}bell \u{1b}[31m <script>x</script> \"q\" 'a' \u{202e}rtl")
                .svg();
        assert!(!svg.chars().any(|c| c.is_control() && c != '\n'), "{svg}");
        assert!(!svg.contains("<script") && !svg.contains('\u{202e}'));
        assert!(svg.contains("&lt;script&gt;x&lt;/script&gt;"));
        assert!(svg.contains("bad\\u{7}bell"));
    }

    #[test]
    fn numbers() {
        for (v, want) in [
            (0.0, "0"),
            (12.0, "12"),
            (12.5, "12.5"),
            (12.345, "12.35"),
            (-3.05, "-3.05"),
            (-0.001, "0"),
            (f64::NAN, "0"),
        ] {
            assert_eq!(n(v).to_string(), want, "{v}");
        }
    }

    #[test]
    fn boundary_of_box_and_ellipse() {
        let r = Rect {
            x: 0.0,
            y: 0.0,
            w: 100.0,
            h: 40.0,
        };
        assert_eq!(boundary(&r, false, 50.0, 100.0), (50.0, 40.0));
        assert_eq!(boundary(&r, true, 200.0, 20.0), (100.0, 20.0));
        assert_eq!(boundary(&r, true, 50.0, 20.0), (50.0, 20.0));
    }

    /// Every shape, style and arrowhead of the grammar drawn, text escaped, every element
    /// with its title.
    #[test]
    fn draws_the_grammar() {
        let mut g = crate::dot::Graph::default();
        g.clusters.push((
            "z".into(),
            "label=\"zone <z>\", tooltip=\"zone z: secure\", labeljust=l, color=\"#0a25a0\"".into(),
            vec![0, 1],
        ));
        let nodes = [
            (
                "k",
                "shape=ellipse, label=\"DNSKEY\\nalg=13, id=1\", tooltip=\"key\", peripheries=2, style=filled, fillcolor=\"#e8e8f0\"",
                Some(0),
            ),
            (
                "r",
                "shape=octagon, label=\"a & b\\nNXDOMAIN\", tooltip=\"r\", style=dashed",
                Some(0),
            ),
            (
                "t",
                "shape=note, label=\"[1] 3 1 1\", tooltip=\"TLSA\", penwidth=4",
                None,
            ),
            (
                "a",
                "shape=plaintext, label=\"192.0.2.1\", tooltip=\"A\"",
                None,
            ),
            (
                "h",
                "shape=box, style=\"rounded,bold\", label=\"host\", tooltip=\"h\"",
                None,
            ),
        ];
        for (i, (id, attrs, c)) in nodes.iter().enumerate() {
            g.nodes.push(((*id).into(), (*attrs).into(), *c));
            if let Some(c) = c {
                assert!(g.clusters[*c].2.contains(&i));
            }
        }
        for (a, b, attrs) in [
            (
                "k",
                "r",
                "color=\"#d01010\", style=dashed, tooltip=\"rrsig <x>\"",
            ),
            ("h", "a", "arrowhead=none, tooltip=\"ip\""),
            (
                "t",
                "h",
                "color=\"#8a8a8a\", arrowhead=empty, label=\"too old\", tooltip=\"rejected\"",
            ),
            ("a", "zzz", "tooltip=\"to nothing\""),
        ] {
            g.edges.push((a.into(), b.into(), attrs.into()));
        }
        let p = crate::dot::Picture {
            graph: g,
            caption: vec!["x.test.: FAILED".into(), "why & how".into()],
            tooltip: "x.test.: FAILED: why".into(),
        };
        let svg = p.svg();
        assert_eq!(p.svg_element(), svg.split_once('\n').unwrap().1);
        assert!(svg.starts_with("<?xml") && svg.trim_end().ends_with("</svg>"));
        assert_eq!(svg.matches("<ellipse").count(), 2, "{svg}");
        assert!(svg.contains("<polyline"), "note's fold");
        assert!(svg.contains("rx=\"6\""), "rounded");
        assert!(svg.contains("stroke-dasharray=\"5,2\"") && svg.contains("stroke-width=\"4\""));
        assert!(
            svg.contains("fill=\"#e8e8f0\"") && svg.contains("fill=\"white\" stroke=\"#8a8a8a\"")
        );
        assert!(svg.contains(">zone &lt;z&gt;<") && svg.contains(">a &amp; b<"));
        assert!(svg.contains("<title>rrsig &lt;x&gt;</title>") && svg.contains(">too old<"));
        assert!(svg.contains(">why &amp; how<"));
        assert!(!svg.contains("<z>") && !svg.contains("to nothing"));
        // 5 nodes, 3 edges, 1 box, the picture: each with a title.
        assert_eq!(svg.matches("<title>").count(), 10, "{svg}");
        assert_eq!(svg.matches("<path").count(), 3);
        // 2 arrowheads (none for arrowhead=none), the octagon.
        assert_eq!(svg.matches("<polygon").count(), 4, "{svg}");
    }
}
