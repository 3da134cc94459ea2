//! The participant × section heat map and its legend.

use std::fmt::Write as _;

use super::*;

/// Participant × section heat map: one row per participant, one column per section.
///
/// Each cell is a rect coloured on a sequential single-hue scale from light (0) to dark (the
/// column's `max`), with its label inside in a colour that contrasts with the fill; a missing
/// value is a hatched cell with `text.no_value`. Each cell and row label is a link when the row
/// has an `href`. Column labels sit at the top (rotated when they do not fit), row labels at left.
/// A row with fewer cells than columns is padded with missing cells; extra cells are ignored.
///
/// With links the drawing is a `role="group"` (an image's content is presentational, so links
/// inside `role="img"` would be interactive elements nested in an image): each link is one SVG
/// `<a>` around non-focusable shapes, reachable with the keyboard, named by `aria-label`
/// ("Estonia, LEGAL: 0.812"). Without links it stays an image.
pub fn heat_map(id: &str, text: &ChartText, columns: &[HeatColumn], rows: &[HeatRow]) -> String {
    const CLASS: &str = "chart-heatmap";
    let id = sanitize_id(id);
    if columns.is_empty() || rows.is_empty() {
        return empty_chart(&id, CLASS, text);
    }
    let layout = HeatLayout::new(columns, rows);
    let linked = rows
        .iter()
        .any(|r| r.href.is_some() || r.cells.iter().any(|c| c.href.is_some()));
    let mut out = String::new();
    if linked {
        svg_open_as(
            &mut out,
            &id,
            CLASS,
            (layout.width, layout.height),
            text,
            "group",
        );
    } else {
        svg_open(&mut out, &id, CLASS, layout.width, layout.height, text);
    }
    hatch_pattern(&mut out, &id);
    heat_column_labels(&mut out, &layout, columns);
    for (index, row) in rows.iter().enumerate() {
        heat_row(&mut out, &id, &layout, text, columns, index, row);
    }
    out.push_str("</svg>");
    out
}

/// The heat map's legend as HTML: a swatch per step of the colour scale with its value as
/// text, how to read the scale, and a hatched swatch with what a missing cell means. The
/// swatches are decorative (`aria-hidden`); the words carry the meaning, so the legend reads
/// the same without colour and in print.
pub fn heat_legend(id: &str, legend: &HeatLegend) -> String {
    let id = sanitize_id(id);
    let mut out = String::new();
    let _ = write!(
        out,
        r#"<div class="chart-legend" id="{id}" role="group" aria-labelledby="{id}-title"><p class="chart-legend-title" id="{id}-title">{}</p><ul class="chart-legend-scale">"#,
        esc(legend.title)
    );
    for (share, label) in &legend.steps {
        let (fill, _) = heat_colour(share.clamp(0.0, 1.0));
        let _ = write!(
            out,
            r##"<li><svg class="chart-swatch" aria-hidden="true" focusable="false" width="28" height="16" viewBox="0 0 28 16"><rect x="0.5" y="0.5" width="27" height="15" fill="{fill}" stroke="#6b6b6b"/></svg> {}</li>"##,
            esc(label)
        );
    }
    let _ = write!(
        out,
        r##"</ul><p class="chart-legend-reading">{}</p><p class="chart-legend-missing"><svg class="chart-swatch" aria-hidden="true" focusable="false" width="28" height="16" viewBox="0 0 28 16">"##,
        esc(legend.reading)
    );
    hatch_pattern(&mut out, &format!("{id}-swatch"));
    let _ = write!(
        out,
        r##"<rect x="0.5" y="0.5" width="27" height="15" fill="url(#{id}-swatch-hatch)" stroke="#6b6b6b"/></svg> <span class="chart-legend-symbol">{}</span> {}</p></div>"##,
        esc(legend.no_value),
        esc(legend.missing)
    );
    out
}

/// Geometry of a heat map.
struct HeatLayout {
    /// Width of the row-label area (cells start here).
    left: f64,
    cell_w: f64,
    /// Height of the column-label area (rows start here).
    header: f64,
    /// Column labels drawn at 45° because they do not fit across a cell.
    rotate: bool,
    /// Characters a cell label may show.
    cell_chars: usize,
    width: f64,
    height: f64,
}

impl HeatLayout {
    const MIN_CELL: f64 = 36.0;
    /// Estimated character width of a cell's value label (font size 11, mostly digits).
    const VALUE_CHAR_W: f64 = 6.2;
    const MAX_CELL: f64 = 120.0;

    fn new(columns: &[HeatColumn], rows: &[HeatRow]) -> Self {
        let left = label_area(rows.iter().map(|r| r.label.as_str()));
        let count = columns.len() as f64;
        let cell_w = ((WIDTH - left - 8.0) / count).clamp(Self::MIN_CELL, Self::MAX_CELL);
        let col_chars = columns
            .iter()
            .map(|c| shown_chars(&c.label, LABEL_CHARS))
            .max()
            .unwrap_or(0);
        let col_text_w = col_chars as f64 * CHAR_W;
        let rotate = col_text_w > cell_w - 6.0;
        let (header, right) = if rotate {
            let reach = col_text_w * DIAGONAL;
            (reach + 16.0, (reach - cell_w / 2.0 + 8.0).max(8.0))
        } else {
            (24.0, 8.0)
        };
        let cell_chars = (((cell_w - 4.0) / Self::VALUE_CHAR_W).floor() as usize).max(2);
        HeatLayout {
            left,
            cell_w,
            header,
            rotate,
            cell_chars,
            width: (left + count * cell_w + right).max(WIDTH),
            height: header + rows.len() as f64 * ROW_H + 8.0,
        }
    }

    fn cell_x(&self, column: usize) -> f64 {
        self.left + column as f64 * self.cell_w
    }

    fn row_y(&self, row: usize) -> f64 {
        self.header + row as f64 * ROW_H
    }
}

/// Column headings, straight or at 45°, each shortened with its full text in a `<title>`.
fn heat_column_labels(out: &mut String, layout: &HeatLayout, columns: &[HeatColumn]) {
    out.push_str(r#"<g class="heat-col-labels">"#);
    let y = num(layout.header - 8.0);
    for (index, column) in columns.iter().enumerate() {
        let x = num(layout.cell_x(index) + layout.cell_w / 2.0);
        let attrs = if layout.rotate {
            format!(
                r#"class="heat-col-label" x="{x}" y="{y}" text-anchor="start" transform="rotate(-45 {x} {y})""#
            )
        } else {
            format!(r#"class="heat-col-label" x="{x}" y="{y}" text-anchor="middle""#)
        };
        text_el(out, &attrs, &column.label, LABEL_CHARS);
    }
    out.push_str("</g>");
}

/// One participant: the row label and a cell per column.
fn heat_row(
    out: &mut String,
    id: &str,
    layout: &HeatLayout,
    text: &ChartText,
    columns: &[HeatColumn],
    index: usize,
    row: &HeatRow,
) {
    let y = layout.row_y(index);
    let href = row.href.as_deref();
    out.push_str(r#"<g class="heat-row">"#);
    let close = open_link(out, "heat-row-label", href, None);
    let attrs = format!(
        r#"x="{x}" y="{y}" text-anchor="end""#,
        x = num(layout.left - 6.0),
        y = num(y + ROW_H / 2.0 + 4.0),
    );
    text_el(out, &attrs, &row.label, LABEL_CHARS);
    out.push_str(close);
    for (column_index, column) in columns.iter().enumerate() {
        let cell = row.cells.get(column_index);
        let cell_at = (layout.cell_x(column_index), y);
        heat_cell(out, id, layout, text, cell_at, (row, column), cell);
    }
    out.push_str("</g>");
}

/// One cell: a coloured (or hatched) rect with its value label, a `<title>` naming row, column
/// and value, wrapped in a link when the row has one.
fn heat_cell(
    out: &mut String,
    id: &str,
    layout: &HeatLayout,
    text: &ChartText,
    (x, y): (f64, f64),
    (row, column): (&HeatRow, &HeatColumn),
    cell: Option<&HeatCell>,
) {
    let value = cell.and_then(|c| present(c.value));
    let (class, fill, ink, label) = match (value, cell) {
        (Some(v), Some(c)) => {
            let (fill, ink) = heat_colour(fraction(v, column.max));
            // Dark cells take a light focus ring, light ones a dark one (app.css).
            let class = if ink == "#ffffff" {
                "heat-cell heat-dark"
            } else {
                "heat-cell"
            };
            (class, fill, ink, c.label.as_str())
        }
        _ => (
            "heat-cell heat-missing",
            format!("url(#{id}-hatch)"),
            "#000000",
            text.no_value,
        ),
    };
    let href = cell.and_then(|c| c.href.as_deref()).or(row.href.as_deref());
    let named = |name: &str, label: &str| {
        if name.trim().is_empty() {
            label.to_owned()
        } else {
            name.to_owned()
        }
    };
    let name = format!(
        "{}, {}: {}",
        named(&row.name, &row.label),
        named(&column.name, &column.label),
        label
    );
    let close = open_link(out, class, href, Some(&name));
    let _ = write!(
        out,
        r##"<title>{}</title><rect x="{}" y="{}" width="{}" height="{}" fill="{fill}" stroke="#bfbfbf" stroke-width="0.5"/>"##,
        esc(&name),
        num(x),
        num(y),
        num(layout.cell_w),
        num(ROW_H),
    );
    let attrs = format!(
        r#"class="heat-value" x="{}" y="{}" text-anchor="middle" font-size="11" fill="{ink}""#,
        num(x + layout.cell_w / 2.0),
        num(y + ROW_H / 2.0 + 4.0),
    );
    text_el(out, &attrs, label, layout.cell_chars);
    out.push_str(close);
}

/// Fill for a cell at `f` (0..=1) on a light-to-dark blue scale, and the text colour (black or
/// white) that contrasts best with it.
pub(super) fn heat_colour(f: f64) -> (String, &'static str) {
    const LIGHT: [f64; 3] = [239.0, 243.0, 255.0];
    const DARK: [f64; 3] = [8.0, 48.0, 107.0];
    let rgb: [u8; 3] = std::array::from_fn(|i| (LIGHT[i] + (DARK[i] - LIGHT[i]) * f).round() as u8);
    let fill = format!("#{:02x}{:02x}{:02x}", rgb[0], rgb[1], rgb[2]);
    // Black and white text have equal contrast at a relative luminance of about 0.18.
    let ink = if luminance(rgb) > 0.18 {
        "#000000"
    } else {
        "#ffffff"
    };
    (fill, ink)
}

/// WCAG relative luminance of an sRGB colour.
fn luminance(rgb: [u8; 3]) -> f64 {
    let linear = |c: u8| {
        let c = f64::from(c) / 255.0;
        if c <= 0.03928 {
            c / 12.92
        } else {
            ((c + 0.055) / 1.055).powf(2.4)
        }
    };
    0.2126 * linear(rgb[0]) + 0.7152 * linear(rgb[1]) + 0.0722 * linear(rgb[2])
}
