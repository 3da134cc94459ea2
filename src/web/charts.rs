//! Server-rendered SVG charts: heat map, horizontal bars, trend lines and box plots.
//!
//! Charts are drawn on the server as inline SVG rather than in the browser, so that every page
//! works, and prints, without JavaScript: the markup arrives with the HTML, is searchable, scales
//! with the page and needs no external resource. Each chart is an image (`role="img"`) named by
//! its `<title>` and `<desc>`; the page puts a text alternative and a data table beside it, so
//! the chart is never the only way to read the figures.
//!
//! Conventions shared by every chart:
//! - the caller formats every figure: values come as `f64` for geometry plus a ready-made label
//!   for display, so locale and decimals stay with the caller; missing values are `None`, shown
//!   as a gap or a hatched cell with the caller's "no value" text;
//! - all text is XML-escaped here, so the result can be inserted with `|safe`;
//! - presentation is set with inline attributes (legible without a stylesheet, in black and white:
//!   values are also written as text, lines carry dash patterns and markers), and key elements
//!   carry a `class` so that a stylesheet may restyle them;
//! - output is deterministic, with at most two decimals in any number it prints;
//! - bad input never panics: an empty chart says "no value", a non-positive or non-finite `max`
//!   counts as 1, values are clamped to `0..=max` for geometry, long labels are shortened with
//!   an ellipsis and keep their full text in a `<title>` child.

use std::fmt::Write as _;

/// Words the charts need, in the page's language (the caller translates).
pub struct ChartText<'a> {
    /// The chart's accessible name (`<title>`).
    pub title: &'a str,
    /// The chart's accessible description (`<desc>`).
    pub description: &'a str,
    /// Shown where a value is missing, and when there is nothing to draw (e.g. "—").
    pub no_value: &'a str,
}

/// A heat-map column (a section).
pub struct HeatColumn {
    /// The column heading.
    pub label: String,
    /// The column's full name in each cell's accessible name and tooltip (e.g. the section's
    /// code and title); `label` when empty.
    pub name: String,
    /// The value that maps to the darkest colour (minimum is 0).
    pub max: f64,
}

/// One heat-map cell.
pub struct HeatCell {
    /// The value for geometry and colour; `None` when missing.
    pub value: Option<f64>,
    /// The value as the caller formatted it.
    pub label: String,
    /// Where the cell leads (the answers behind it); the row's link when `None`.
    pub href: Option<String>,
}

/// A heat-map row (a participant).
pub struct HeatRow {
    /// The row heading.
    pub label: String,
    /// The row's full name in each cell's accessible name and tooltip (e.g. the participant's
    /// name); `label` when empty.
    pub name: String,
    /// Link target for the row label and each cell (drill-down), already a URL.
    pub href: Option<String>,
    /// One cell per column, in column order; missing trailing cells count as `None`.
    pub cells: Vec<HeatCell>,
}

/// The heat map's legend, in the page's language (the caller translates and formats).
pub struct HeatLegend<'a> {
    /// The legend's heading, e.g. "Colour scale".
    pub title: &'a str,
    /// Steps of the scale: a share of the column's maximum (0..=1) and its value as text.
    pub steps: Vec<(f64, String)>,
    /// What the lightest-to-darkest scale means, e.g. "lighter is lower, darker is higher".
    pub reading: &'a str,
    /// What a hatched cell showing `no_value` means.
    pub missing: &'a str,
    /// The text missing cells show (as in [`ChartText::no_value`]).
    pub no_value: &'a str,
}

/// One bar of a bar chart.
pub struct Bar {
    /// The bar's name, at left.
    pub label: String,
    /// The value for geometry; `None` when missing.
    pub value: Option<f64>,
    /// The value as the caller formatted it, at the end of the bar.
    pub value_label: String,
    /// A highlighted bar (e.g. the reader's own participant).
    pub highlight: bool,
}

/// One point of a line-chart series.
pub struct Point {
    /// The x label (e.g. the cycle); only the first series' labels are shown.
    pub label: String,
    /// The value for geometry; `None` leaves a gap.
    pub value: Option<f64>,
    /// The value as the caller formatted it.
    pub value_label: String,
}

/// One line of a line chart.
pub struct Series {
    /// The series name, in the legend and in each point's tooltip.
    pub name: String,
    /// The points, in x order.
    pub points: Vec<Point>,
}

/// One row of a box plot.
pub struct BoxRow {
    /// The row's name, at left.
    pub label: String,
    /// Smallest value (whisker end).
    pub min: f64,
    /// First quartile (box start).
    pub q1: f64,
    /// Median (line inside the box).
    pub median: f64,
    /// Third quartile (box end).
    pub q3: f64,
    /// Largest value (whisker end).
    pub max: f64,
    /// Optional marker (e.g. the reader's own score), drawn as a distinct diamond with its label
    /// (not drawn when the value is NaN).
    pub marker: Option<(f64, String)>,
    /// Show the whiskers (min/max); false draws only the box (q1–q3) and median, for anonymous
    /// views that must not show extreme values.
    pub whiskers: bool,
    /// Shown at right, e.g. "median 0.52".
    pub summary_label: String,
}

/// Width of every chart's viewBox unless its content needs more.
const WIDTH: f64 = 680.0;
/// Estimated width of one character at the default font size (12).
const CHAR_W: f64 = 7.0;
/// Labels longer than this many characters are shortened with an ellipsis.
const LABEL_CHARS: usize = 28;
/// Height of a row in the heat map and the bar chart.
const ROW_H: f64 = 24.0;
/// Height of a row in the box plot (room for a marker label above the box).
const BOX_ROW_H: f64 = 30.0;
/// Room under a bar chart or box plot for the value axis.
const AXIS_H: f64 = 24.0;
/// Top margin above the rows of a bar chart or box plot.
const TOP: f64 = 8.0;
/// Fractions of `max` where gridlines are drawn.
const GRID_FRACTIONS: [f64; 5] = [0.0, 0.25, 0.5, 0.75, 1.0];
/// sin 45° / cos 45°, for the extent of rotated labels.
const DIAGONAL: f64 = std::f64::consts::FRAC_1_SQRT_2;
/// Text and outline colour.
const INK: &str = "#1a1a1a";
/// Gridline colour.
const GRID: &str = "#d0d0d0";

// ---------------------------------------------------------------------------------------------
// Public charts
// ---------------------------------------------------------------------------------------------

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

/// Horizontal bar chart, values from 0 to `max`, value label at the end of each bar.
pub fn bar_chart(id: &str, text: &ChartText, max: f64, bars: &[Bar]) -> String {
    const CLASS: &str = "chart-bars";
    let id = sanitize_id(id);
    if bars.is_empty() {
        return empty_chart(&id, CLASS, text);
    }
    let left = label_area(bars.iter().map(|b| b.label.as_str()));
    let right = label_area(bars.iter().map(|b| value_or(b.value, &b.value_label, text)));
    let plot = Span::new(left, WIDTH - left - right);
    let bottom = TOP + bars.len() as f64 * ROW_H;
    let mut out = String::new();
    svg_open(&mut out, &id, CLASS, WIDTH, bottom + AXIS_H, text);
    value_grid(&mut out, plot, TOP, bottom, max);
    for (index, bar) in bars.iter().enumerate() {
        bar_row(&mut out, plot, TOP + index as f64 * ROW_H, max, bar, text);
    }
    out.push_str("</svg>");
    out
}

/// Trend lines over cycles.
///
/// x is the points' position (all series share the x labels of the first series), y runs from 0
/// to `max`. A `None` value leaves a gap in the line; each present point has a circle marker
/// whose `<title>` gives the series name, x label and value label. Gridlines at 0, 25, 50, 75
/// and 100 % of `max` are labelled with the value (at most 2 decimals). Series differ by dash
/// pattern and marker fill as well as colour; a legend is drawn when there is more than one.
/// Points beyond the length of the first series are ignored.
pub fn line_chart(id: &str, text: &ChartText, max: f64, series: &[Series]) -> String {
    const CLASS: &str = "chart-lines";
    let id = sanitize_id(id);
    let Some(first) = series.first().filter(|s| !s.points.is_empty()) else {
        return empty_chart(&id, CLASS, text);
    };
    let layout = LineLayout::new(max, first, series);
    let mut out = String::new();
    svg_open(&mut out, &id, CLASS, WIDTH, layout.height, text);
    if series.len() > 1 {
        line_legend(&mut out, &layout, series);
    }
    line_grid(&mut out, &layout, max);
    line_x_labels(&mut out, &layout, first);
    for (index, one) in series.iter().enumerate() {
        line_series(&mut out, &layout, max, index, one);
    }
    out.push_str("</svg>");
    out
}

/// Distribution per row (horizontal box plot), values from 0 to `max`.
///
/// Whiskers run from `min` to `max` (omitted when `whiskers` is false), the box from `q1` to `q3`
/// with a thick median line; the optional marker is a black diamond with its label above.
pub fn box_plot(id: &str, text: &ChartText, max: f64, rows: &[BoxRow]) -> String {
    const CLASS: &str = "chart-boxplot";
    let id = sanitize_id(id);
    if rows.is_empty() {
        return empty_chart(&id, CLASS, text);
    }
    let left = label_area(rows.iter().map(|r| r.label.as_str()));
    let right = label_area(rows.iter().map(|r| r.summary_label.as_str()));
    let plot = Span::new(left, WIDTH - left - right);
    let bottom = TOP + rows.len() as f64 * BOX_ROW_H;
    let mut out = String::new();
    svg_open(&mut out, &id, CLASS, WIDTH, bottom + AXIS_H, text);
    value_grid(&mut out, plot, TOP, bottom, max);
    for (index, row) in rows.iter().enumerate() {
        box_row(&mut out, plot, TOP + index as f64 * BOX_ROW_H, max, row);
    }
    out.push_str("</svg>");
    out
}

// ---------------------------------------------------------------------------------------------
// Text, numbers and scales
// ---------------------------------------------------------------------------------------------

/// Escapes text for XML content and attribute values; drops characters XML 1.0 forbids.
fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            '\t' | '\n' | '\r' => out.push(' '),
            c if c < ' ' || c == '\u{FFFE}' || c == '\u{FFFF}' => {}
            c => out.push(c),
        }
    }
    out
}

/// Keeps only `[A-Za-z0-9_-]` of a caller-supplied id ("chart" when nothing is left).
fn sanitize_id(id: &str) -> String {
    let clean: String = id
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == '-')
        .collect();
    if clean.is_empty() {
        "chart".to_owned()
    } else {
        clean
    }
}

/// A number for an attribute or axis label: at most 2 decimals, no trailing zeros, never
/// "NaN", "inf" or "-0".
fn num(v: f64) -> String {
    if !v.is_finite() {
        return "0".to_owned();
    }
    let fixed = format!("{v:.2}");
    let trimmed = fixed.trim_end_matches('0').trim_end_matches('.');
    if trimmed == "-0" {
        "0".to_owned()
    } else {
        trimmed.to_owned()
    }
}

/// The scale's maximum: `max` when positive and finite, otherwise 1.
fn scale_max(max: f64) -> f64 {
    if max.is_finite() && max > 0.0 {
        max
    } else {
        1.0
    }
}

/// Where `value` falls between 0 and `max`, clamped to `0..=1` (NaN counts as 0).
fn fraction(value: f64, max: f64) -> f64 {
    if value.is_nan() {
        0.0
    } else {
        (value / scale_max(max)).clamp(0.0, 1.0)
    }
}

/// A present, non-NaN value (NaN counts as missing).
fn present(value: Option<f64>) -> Option<f64> {
    value.filter(|v| !v.is_nan())
}

/// The label to show for a value: its own label when present, otherwise the "no value" text.
fn value_or<'a>(value: Option<f64>, label: &'a str, text: &ChartText<'a>) -> &'a str {
    if present(value).is_some() {
        label
    } else {
        text.no_value
    }
}

/// `label` cut to `max_chars` characters (the last one an ellipsis), and whether it was cut.
fn shorten(label: &str, max_chars: usize) -> (String, bool) {
    if label.chars().count() <= max_chars {
        return (label.to_owned(), false);
    }
    let kept: String = label.chars().take(max_chars.saturating_sub(1)).collect();
    (format!("{}…", kept.trim_end()), true)
}

/// Number of characters `label` shows once shortened to `max_chars`.
fn shown_chars(label: &str, max_chars: usize) -> usize {
    label.chars().count().min(max_chars)
}

/// Width needed for the longest of `labels` (shortened to [`LABEL_CHARS`]) plus padding.
fn label_area<'a>(labels: impl Iterator<Item = &'a str>) -> f64 {
    let chars = labels
        .map(|l| shown_chars(l, LABEL_CHARS))
        .max()
        .unwrap_or(0);
    (chars as f64 * CHAR_W + 12.0).max(40.0)
}

/// Appends `<text {attrs}>label</text>`, shortened to `max_chars`, with the full label in a
/// `<title>` child when shortened.
fn text_el(out: &mut String, attrs: &str, label: &str, max_chars: usize) {
    let (shown, cut) = shorten(label, max_chars);
    let _ = write!(out, "<text {attrs}>");
    if cut {
        let _ = write!(out, "<title>{}</title>", esc(label));
    }
    let _ = write!(out, "{}</text>", esc(&shown));
}

/// Appends `<a class=.. href=..>` (named `name` when given) when `href` is given, `<g class=..>`
/// otherwise; returns the closing tag.
fn open_link(
    out: &mut String,
    class: &str,
    href: Option<&str>,
    name: Option<&str>,
) -> &'static str {
    match href {
        Some(href) => {
            let _ = write!(out, r#"<a class="{class}" href="{}""#, esc(href));
            if let Some(name) = name {
                let _ = write!(out, r#" aria-label="{}""#, esc(name));
            }
            out.push('>');
            "</a>"
        }
        None => {
            let _ = write!(out, r#"<g class="{class}">"#);
            "</g>"
        }
    }
}

/// A horizontal stretch of the drawing: where the plot starts and how wide it is.
#[derive(Clone, Copy)]
struct Span {
    start: f64,
    width: f64,
}

impl Span {
    fn new(start: f64, width: f64) -> Self {
        Span {
            start,
            width: width.max(1.0),
        }
    }

    /// The x coordinate of `value` on a 0..`max` scale, clamped to the span.
    fn x(self, value: f64, max: f64) -> f64 {
        self.start + fraction(value, max) * self.width
    }

    fn end(self) -> f64 {
        self.start + self.width
    }
}

// ---------------------------------------------------------------------------------------------
// Shared pieces
// ---------------------------------------------------------------------------------------------

/// Opens the root `<svg>` and writes its `<title>` and `<desc>`.
fn svg_open(out: &mut String, id: &str, class: &str, width: f64, height: f64, text: &ChartText) {
    let _ = write!(
        out,
        r#"<svg xmlns="http://www.w3.org/2000/svg" role="img" viewBox="0 0 {w} {h}" width="100%" aria-labelledby="{id}-title {id}-desc" class="chart {class}" font-family="sans-serif" font-size="12" fill="{INK}"><title id="{id}-title">{title}</title><desc id="{id}-desc">{desc}</desc>"#,
        w = num(width),
        h = num(height),
        title = esc(text.title),
        desc = esc(text.description),
    );
}

/// Opens a chart that is not an image (`role` e.g. `group`, for a chart holding links): named
/// by its title, described by its desc.
fn svg_open_as(
    out: &mut String,
    id: &str,
    class: &str,
    (width, height): (f64, f64),
    text: &ChartText,
    role: &str,
) {
    let _ = write!(
        out,
        r#"<svg xmlns="http://www.w3.org/2000/svg" role="{role}" viewBox="0 0 {w} {h}" width="100%" aria-labelledby="{id}-title" aria-describedby="{id}-desc" class="chart {class}" font-family="sans-serif" font-size="12" fill="{INK}"><title id="{id}-title">{title}</title><desc id="{id}-desc">{desc}</desc>"#,
        w = num(width),
        h = num(height),
        title = esc(text.title),
        desc = esc(text.description),
    );
}

/// A valid chart with nothing to draw: title, desc and the "no value" text.
fn empty_chart(id: &str, class: &str, text: &ChartText) -> String {
    let mut out = String::new();
    svg_open(
        &mut out,
        id,
        &format!("{class} chart-empty"),
        WIDTH,
        40.0,
        text,
    );
    text_el(
        &mut out,
        r#"class="chart-no-value" x="12" y="25""#,
        text.no_value,
        usize::MAX,
    );
    out.push_str("</svg>");
    out
}

/// The diagonal hatch used for missing heat-map cells (`url(#{id}-hatch)`).
fn hatch_pattern(out: &mut String, id: &str) {
    let _ = write!(
        out,
        r##"<defs><pattern id="{id}-hatch" patternUnits="userSpaceOnUse" width="6" height="6" patternTransform="rotate(45)"><rect width="6" height="6" fill="#ffffff"/><line x1="0" y1="0" x2="0" y2="6" stroke="#9e9e9e" stroke-width="2"/></pattern></defs>"##
    );
}

/// Vertical gridlines at [`GRID_FRACTIONS`] of `max` between `top` and `bottom`, labelled
/// underneath (bar chart and box plot).
fn value_grid(out: &mut String, plot: Span, top: f64, bottom: f64, max: f64) {
    let max = scale_max(max);
    out.push_str(r#"<g class="chart-grid">"#);
    for f in GRID_FRACTIONS {
        let x = num(plot.start + f * plot.width);
        let _ = write!(
            out,
            r#"<line x1="{x}" y1="{t}" x2="{x}" y2="{b}" stroke="{GRID}" stroke-width="1"/>"#,
            t = num(top),
            b = num(bottom),
        );
        let _ = write!(
            out,
            r#"<text class="chart-axis-label" x="{x}" y="{y}" text-anchor="middle" font-size="10">{label}</text>"#,
            y = num(bottom + 14.0),
            label = num(f * max),
        );
    }
    out.push_str("</g>");
}

// ---------------------------------------------------------------------------------------------
// Heat map
// ---------------------------------------------------------------------------------------------

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
fn heat_colour(f: f64) -> (String, &'static str) {
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

// ---------------------------------------------------------------------------------------------
// Bar chart
// ---------------------------------------------------------------------------------------------

/// One bar: its label at left, the bar (none when missing) and the value label after it.
fn bar_row(out: &mut String, plot: Span, y: f64, max: f64, bar: &Bar, text: &ChartText) {
    let (class, fill, stroke, weight) = if bar.highlight {
        (
            "bar-row bar-highlight",
            "#1b365d",
            r##" stroke="#000000" stroke-width="1.5""##,
            r#" font-weight="bold""#,
        )
    } else {
        ("bar-row", "#7f9cc6", "", "")
    };
    let text_y = num(y + ROW_H / 2.0 + 4.0);
    let _ = write!(out, r#"<g class="{class}">"#);
    let attrs = format!(
        r#"class="bar-label" x="{}" y="{text_y}" text-anchor="end"{weight}"#,
        num(plot.start - 6.0)
    );
    text_el(out, &attrs, &bar.label, LABEL_CHARS);
    let label_x = match present(bar.value) {
        Some(value) => {
            let width = plot.x(value, max) - plot.start;
            let _ = write!(
                out,
                r#"<rect class="bar" x="{}" y="{}" width="{}" height="16" fill="{fill}"{stroke}/>"#,
                num(plot.start),
                num(y + 4.0),
                num(width),
            );
            plot.start + width + 4.0
        }
        None => plot.start + 4.0,
    };
    let (value_class, label) = match present(bar.value) {
        Some(_) => ("bar-value", bar.value_label.as_str()),
        None => ("bar-value bar-missing", text.no_value),
    };
    let attrs = format!(
        r#"class="{value_class}" x="{}" y="{text_y}"{weight}"#,
        num(label_x)
    );
    text_el(out, &attrs, label, LABEL_CHARS);
    out.push_str("</g>");
}

// ---------------------------------------------------------------------------------------------
// Line chart
// ---------------------------------------------------------------------------------------------

/// Colour, dash pattern and marker fill of each series, in turn (cycling after the last).
const SERIES_STYLES: [(&str, &str, bool); 6] = [
    ("#1b365d", "", true),
    ("#b35806", "6 3", false),
    ("#2e7d32", "2 3", true),
    ("#6a1b9a", "8 3 2 3", false),
    ("#424242", "1 3", true),
    ("#00838f", "10 4", false),
];

/// Height of the line chart's plot area.
const LINE_PLOT_H: f64 = 220.0;
/// Space kept between the y axis (or right edge) and the first (or last) point.
const LINE_PAD: f64 = 12.0;
/// Height of one legend line.
const LEGEND_ROW_H: f64 = 18.0;

/// Geometry of a line chart.
struct LineLayout {
    plot: Span,
    top: f64,
    /// Number of x positions (points of the first series).
    count: usize,
    /// x labels drawn at 45° because they do not fit between points.
    rotate: bool,
    /// Top-left of each legend entry (empty with a single series).
    legend: Vec<(f64, f64)>,
    height: f64,
}

impl LineLayout {
    fn new(max: f64, first: &Series, series: &[Series]) -> Self {
        let count = first.points.len();
        let legend = if series.len() > 1 {
            legend_positions(series)
        } else {
            Vec::new()
        };
        let legend_h = legend.last().map_or(0.0, |(_, y)| y + LEGEND_ROW_H);
        let y_label_w =
            (num(scale_max(max)).chars().count().min(12) as f64 * CHAR_W + 12.0).max(40.0);
        let x_text_w = first
            .points
            .iter()
            .map(|p| shown_chars(&p.label, LABEL_CHARS))
            .max()
            .unwrap_or(0) as f64
            * CHAR_W;
        let trial = Span::new(y_label_w, WIDTH - y_label_w - 16.0);
        let rotate = x_text_w > step(trial, count) - 4.0;
        let (left, bottom) = if rotate {
            let reach = x_text_w * DIAGONAL;
            (y_label_w.max(reach - LINE_PAD + 4.0), reach + 24.0)
        } else {
            (y_label_w, 28.0)
        };
        let top = 16.0 + legend_h;
        LineLayout {
            plot: Span::new(left, WIDTH - left - 16.0),
            top,
            count,
            rotate,
            legend,
            height: top + LINE_PLOT_H + bottom,
        }
    }

    fn x(&self, index: usize) -> f64 {
        if self.count <= 1 {
            self.plot.start + self.plot.width / 2.0
        } else {
            self.plot.start + LINE_PAD + index as f64 * step(self.plot, self.count)
        }
    }

    fn y(&self, value: f64, max: f64) -> f64 {
        self.top + LINE_PLOT_H * (1.0 - fraction(value, max))
    }

    fn bottom(&self) -> f64 {
        self.top + LINE_PLOT_H
    }
}

/// Distance between neighbouring x positions in `plot` (the whole width for one point).
fn step(plot: Span, count: usize) -> f64 {
    if count <= 1 {
        plot.width
    } else {
        (plot.width - 2.0 * LINE_PAD) / (count - 1) as f64
    }
}

/// Top-left of each legend entry, flowing left to right and wrapping within the chart width.
fn legend_positions(series: &[Series]) -> Vec<(f64, f64)> {
    let mut positions = Vec::with_capacity(series.len());
    let (mut x, mut y) = (16.0, 0.0);
    for one in series {
        let width = 30.0 + shown_chars(&one.name, LABEL_CHARS) as f64 * CHAR_W + 16.0;
        if x > 16.0 && x + width > WIDTH - 16.0 {
            x = 16.0;
            y += LEGEND_ROW_H;
        }
        positions.push((x, y));
        x += width;
    }
    positions
}

/// The legend: a sample of each series' line and marker, and its name.
fn line_legend(out: &mut String, layout: &LineLayout, series: &[Series]) {
    out.push_str(r#"<g class="chart-legend">"#);
    for (index, (one, (x, y))) in series.iter().zip(&layout.legend).enumerate() {
        let mid = y + 12.0;
        let _ = write!(out, r#"<g class="legend-item series-{}">"#, index % 6);
        let _ = write!(
            out,
            r#"<line x1="{}" y1="{m}" x2="{}" y2="{m}" fill="none" stroke-width="2"{}/>"#,
            num(*x),
            num(x + 24.0),
            series_stroke(index),
            m = num(mid),
        );
        marker(out, x + 12.0, mid, index, None);
        let attrs = format!(r#"x="{}" y="{}""#, num(x + 30.0), num(mid + 4.0));
        text_el(out, &attrs, &one.name, LABEL_CHARS);
        out.push_str("</g>");
    }
    out.push_str("</g>");
}

/// ` stroke=".." [stroke-dasharray=".."]` for series `index`.
fn series_stroke(index: usize) -> String {
    let (colour, dash, _) = SERIES_STYLES[index % SERIES_STYLES.len()];
    if dash.is_empty() {
        format!(r#" stroke="{colour}""#)
    } else {
        format!(r#" stroke="{colour}" stroke-dasharray="{dash}""#)
    }
}

/// A point marker (circle) for series `index`, with `title` as its tooltip.
fn marker(out: &mut String, x: f64, y: f64, index: usize, title: Option<&str>) {
    let (colour, _, filled) = SERIES_STYLES[index % SERIES_STYLES.len()];
    let fill = if filled { colour } else { "#ffffff" };
    let _ = write!(
        out,
        r#"<circle class="line-point" cx="{}" cy="{}" r="3.5" fill="{fill}" stroke="{colour}" stroke-width="1.5">"#,
        num(x),
        num(y),
    );
    if let Some(title) = title {
        let _ = write!(out, "<title>{}</title>", esc(title));
    }
    out.push_str("</circle>");
}

/// Horizontal gridlines at [`GRID_FRACTIONS`] of `max`, labelled at left, and the x axis.
fn line_grid(out: &mut String, layout: &LineLayout, max: f64) {
    let max = scale_max(max);
    out.push_str(r#"<g class="chart-grid">"#);
    for f in GRID_FRACTIONS {
        let y = num(layout.y(f * max, max));
        let stroke = if f == 0.0 { INK } else { GRID };
        let _ = write!(
            out,
            r#"<line x1="{}" y1="{y}" x2="{}" y2="{y}" stroke="{stroke}" stroke-width="1"/>"#,
            num(layout.plot.start),
            num(layout.plot.end()),
        );
        let _ = write!(
            out,
            r#"<text class="chart-axis-label" x="{}" y="{}" text-anchor="end" font-size="10">{}</text>"#,
            num(layout.plot.start - 6.0),
            num(layout.y(f * max, max) + 3.5),
            num(f * max),
        );
    }
    out.push_str("</g>");
}

/// The x labels (from the first series), straight or at 45°.
fn line_x_labels(out: &mut String, layout: &LineLayout, first: &Series) {
    out.push_str(r#"<g class="line-x-labels">"#);
    let y = num(layout.bottom() + 16.0);
    for (index, point) in first.points.iter().enumerate() {
        let x = num(layout.x(index));
        let attrs = if layout.rotate {
            format!(
                r#"class="line-x-label" x="{x}" y="{y}" text-anchor="end" transform="rotate(-45 {x} {y})""#
            )
        } else {
            format!(r#"class="line-x-label" x="{x}" y="{y}" text-anchor="middle""#)
        };
        text_el(out, &attrs, &point.label, LABEL_CHARS);
    }
    out.push_str("</g>");
}

/// One series: its line (broken where a value is missing) and a marker per present point.
fn line_series(out: &mut String, layout: &LineLayout, max: f64, index: usize, series: &Series) {
    let points: Vec<(f64, f64, &Point)> = series
        .points
        .iter()
        .take(layout.count)
        .enumerate()
        .filter_map(|(i, p)| present(p.value).map(|v| (layout.x(i), layout.y(v, max), p)))
        .collect();
    let _ = write!(out, r#"<g class="line-series series-{}">"#, index % 6);
    let path = line_path(layout, max, series);
    if !path.is_empty() {
        let _ = write!(
            out,
            r#"<path class="line-path" d="{path}" fill="none" stroke-width="2"{}/>"#,
            series_stroke(index)
        );
    }
    for (x, y, point) in points {
        let tip = format!("{}, {}: {}", series.name, point.label, point.value_label);
        marker(out, x, y, index, Some(&tip));
    }
    out.push_str("</g>");
}

/// The path data of a series: `M` starts each run of present values, `L` continues it.
fn line_path(layout: &LineLayout, max: f64, series: &Series) -> String {
    let mut d = String::new();
    let mut pen_down = false;
    for (i, point) in series.points.iter().take(layout.count).enumerate() {
        match present(point.value) {
            Some(v) => {
                let command = if pen_down { 'L' } else { 'M' };
                if !d.is_empty() {
                    d.push(' ');
                }
                let _ = write!(d, "{command}{} {}", num(layout.x(i)), num(layout.y(v, max)));
                pen_down = true;
            }
            None => pen_down = false,
        }
    }
    d
}

// ---------------------------------------------------------------------------------------------
// Box plot
// ---------------------------------------------------------------------------------------------

/// Half the height of the box.
const BOX_HALF: f64 = 6.0;

/// One distribution: label, whiskers, box, median, marker and summary.
fn box_row(out: &mut String, plot: Span, y: f64, max: f64, row: &BoxRow) {
    let mid = y + 19.0;
    // Sorted so that inconsistent input still draws a box of positive width.
    let mut xs = [row.min, row.q1, row.median, row.q3, row.max].map(|v| plot.x(v, max));
    xs.sort_by(f64::total_cmp);
    let [min, q1, median, q3, top] = xs;
    out.push_str(r#"<g class="box-row">"#);
    let attrs = format!(
        r#"class="box-label" x="{}" y="{}" text-anchor="end""#,
        num(plot.start - 6.0),
        num(mid + 4.0)
    );
    text_el(out, &attrs, &row.label, LABEL_CHARS);
    if row.whiskers {
        whiskers(out, mid, (min, q1), (q3, top));
    }
    let _ = write!(
        out,
        r##"<rect class="box-iqr" x="{}" y="{}" width="{}" height="{}" fill="#dfe6f1" stroke="{INK}" stroke-width="1"/>"##,
        num(q1),
        num(mid - BOX_HALF),
        num(q3 - q1),
        num(2.0 * BOX_HALF),
    );
    let _ = write!(
        out,
        r#"<line class="box-median" x1="{m}" y1="{}" x2="{m}" y2="{}" stroke="{INK}" stroke-width="3"/>"#,
        num(mid - BOX_HALF),
        num(mid + BOX_HALF),
        m = num(median),
    );
    if let Some((value, label)) = &row.marker
        && !value.is_nan()
    {
        box_marker(out, plot, plot.x(*value, max), y, mid, label);
    }
    let attrs = format!(
        r#"class="box-summary" x="{}" y="{}""#,
        num(plot.end() + 8.0),
        num(mid + 4.0)
    );
    text_el(out, &attrs, &row.summary_label, LABEL_CHARS);
    out.push_str("</g>");
}

/// Whisker lines from `low.0` to `low.1` and `high.0` to `high.1`, with end caps.
fn whiskers(out: &mut String, mid: f64, low: (f64, f64), high: (f64, f64)) {
    let m = num(mid);
    for (x1, x2) in [low, high] {
        let _ = write!(
            out,
            r#"<line class="box-whisker" x1="{}" y1="{m}" x2="{}" y2="{m}" stroke="{INK}" stroke-width="1"/>"#,
            num(x1),
            num(x2),
        );
    }
    for x in [low.0, high.1] {
        let x = num(x);
        let _ = write!(
            out,
            r#"<line class="box-whisker box-cap" x1="{x}" y1="{}" x2="{x}" y2="{}" stroke="{INK}" stroke-width="1"/>"#,
            num(mid - 4.0),
            num(mid + 4.0),
        );
    }
}

/// The marker: a black diamond on the box's centre line, its label above it (kept inside the
/// plot), and the label again as the diamond's `<title>`.
fn box_marker(out: &mut String, plot: Span, x: f64, y: f64, mid: f64, label: &str) {
    let _ = write!(
        out,
        r##"<polygon class="box-marker" points="{x},{t} {r},{m} {x},{b} {l},{m}" fill="#000000" stroke="#ffffff" stroke-width="1"><title>{}</title></polygon>"##,
        esc(label),
        x = num(x),
        t = num(mid - 7.0),
        r = num(x + 7.0),
        m = num(mid),
        b = num(mid + 7.0),
        l = num(x - 7.0),
    );
    let anchor = if x < plot.start + 40.0 {
        "start"
    } else if x > plot.end() - 40.0 {
        "end"
    } else {
        "middle"
    };
    let attrs = format!(
        r#"class="box-marker-label" x="{}" y="{}" text-anchor="{anchor}" font-size="10" font-weight="bold""#,
        num(x),
        num(y + 9.0)
    );
    text_el(out, &attrs, label, LABEL_CHARS);
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOSTILE: &str = r#"<script>&"'"#;

    fn text() -> ChartText<'static> {
        ChartText {
            title: "Scores",
            description: "Scores by participant",
            no_value: "—",
        }
    }

    fn columns(n: usize) -> Vec<HeatColumn> {
        (0..n)
            .map(|i| HeatColumn {
                label: format!("Section {i}"),
                name: String::new(),
                max: 4.0,
            })
            .collect()
    }

    fn heat_rows(n: usize, cols: usize, href: bool) -> Vec<HeatRow> {
        (0..n)
            .map(|r| HeatRow {
                label: format!("Participant {r}"),
                name: String::new(),
                href: href.then(|| format!("/participants/{r}?a=1&b=2")),
                cells: (0..cols)
                    .map(|c| {
                        let v = ((r + c) % 5) as f64;
                        HeatCell {
                            value: Some(v),
                            label: format!("{v:.1}"),
                            href: None,
                        }
                    })
                    .collect(),
            })
            .collect()
    }

    /// A caller's label for `v` (the caller, not the chart, decides how to show odd values).
    fn finite_label(v: f64) -> String {
        if v.is_finite() {
            format!("{v:.2}")
        } else {
            "odd".to_owned()
        }
    }

    fn bar(label: &str, value: Option<f64>, highlight: bool) -> Bar {
        Bar {
            label: label.to_owned(),
            value,
            value_label: value.map_or(String::new(), finite_label),
            highlight,
        }
    }

    fn series(name: &str, values: &[Option<f64>]) -> Series {
        Series {
            name: name.to_owned(),
            points: values
                .iter()
                .enumerate()
                .map(|(i, v)| Point {
                    label: format!("202{i}"),
                    value: *v,
                    value_label: v.map_or(String::new(), finite_label),
                })
                .collect(),
        }
    }

    fn box_row(label: &str, whiskers: bool, marker: Option<f64>) -> BoxRow {
        BoxRow {
            label: label.to_owned(),
            min: 0.1,
            q1: 0.3,
            median: 0.52,
            q3: 0.7,
            max: 0.95,
            marker: marker.map(|m| (m, format!("you {}", finite_label(m)))),
            whiskers,
            summary_label: "median 0.52".to_owned(),
        }
    }

    /// Every chart, with ordinary input.
    fn normal_charts() -> Vec<String> {
        let t = text();
        vec![
            heat_map("heat", &t, &columns(6), &heat_rows(8, 6, true)),
            bar_chart(
                "bars",
                &t,
                4.0,
                &[bar("A", Some(1.0), false), bar("B", Some(3.5), true)],
            ),
            line_chart(
                "lines",
                &t,
                1.0,
                &[
                    series("Mean", &[Some(0.2), Some(0.4), Some(0.5)]),
                    series("Own", &[Some(0.3), None, Some(0.9)]),
                ],
            ),
            box_plot(
                "box",
                &t,
                1.0,
                &[
                    box_row("2024", true, Some(0.6)),
                    box_row("2025", false, None),
                ],
            ),
        ]
    }

    /// Every chart, with awkward input: empty, bad maxima, NaN and infinite values, out of
    /// range values, missing values, long labels, many rows.
    fn edge_charts() -> Vec<String> {
        let t = text();
        let long = "An extremely long label that will not fit anywhere at all".to_owned();
        let mut out = vec![
            heat_map("e", &t, &[], &[]),
            heat_map("e", &t, &columns(3), &[]),
            heat_map("e", &t, &[], &heat_rows(2, 0, false)),
            bar_chart("e", &t, 1.0, &[]),
            line_chart("e", &t, 1.0, &[]),
            line_chart("e", &t, 1.0, &[series("empty", &[])]),
            box_plot("e", &t, 1.0, &[]),
        ];
        for max in [
            0.0,
            -3.0,
            f64::NAN,
            f64::INFINITY,
            f64::NEG_INFINITY,
            1e-300,
        ] {
            let cols = vec![
                HeatColumn {
                    label: long.clone(),
                    name: String::new(),
                    max,
                },
                HeatColumn {
                    label: "x".into(),
                    name: String::new(),
                    max,
                },
            ];
            let rows = vec![HeatRow {
                label: long.clone(),
                name: String::new(),
                href: None,
                cells: vec![
                    HeatCell {
                        value: Some(f64::NAN),
                        label: "odd".into(),
                        href: None,
                    },
                    HeatCell {
                        value: Some(f64::INFINITY),
                        label: "big".into(),
                        href: None,
                    },
                ],
            }];
            out.push(heat_map("e", &t, &cols, &rows));
            let bars = [
                bar(&long, Some(f64::NAN), false),
                bar("b", Some(f64::INFINITY), true),
                bar("c", Some(-5.0), false),
                bar("d", None, false),
            ];
            out.push(bar_chart("e", &t, max, &bars));
            let lines = [
                series(
                    &long,
                    &[None, Some(f64::NAN), Some(f64::INFINITY), Some(-1.0)],
                ),
                series("one", &[Some(2.0)]),
            ];
            out.push(line_chart("e", &t, max, &lines));
            out.push(line_chart("e", &t, max, &[series("single", &[Some(0.5)])]));
            let mut odd = box_row(&long, true, Some(f64::NAN));
            (odd.min, odd.q1, odd.median, odd.q3, odd.max) =
                (f64::NAN, 5.0, f64::NEG_INFINITY, -2.0, f64::INFINITY);
            out.push(box_plot("e", &t, max, &[odd]));
        }
        let many: Vec<Bar> = (0..250)
            .map(|i| bar(&format!("P{i}"), Some(i as f64), false))
            .collect();
        out.push(bar_chart("many", &t, 250.0, &many));
        out.push(heat_map(
            "many",
            &t,
            &columns(40),
            &heat_rows(220, 40, false),
        ));
        let long_x: Vec<Option<f64>> = (0..30).map(|i| Some(f64::from(i))).collect();
        let mut wide = series("wide", &long_x);
        for p in &mut wide.points {
            p.label = format!("Cycle {} with a long name", p.label);
        }
        out.push(line_chart("many", &t, 30.0, &[wide]));
        let boxes: Vec<BoxRow> = (0..210)
            .map(|i| box_row(&format!("R{i}"), i % 2 == 0, Some(0.5)))
            .collect();
        out.push(box_plot("many", &t, 1.0, &boxes));
        out
    }

    // --- a tiny XML checker -------------------------------------------------------------------

    /// Panics unless `svg` is one well-formed element: balanced tags, quoted unique attributes,
    /// no raw `<` in text or attributes and `&` only as an entity.
    fn assert_well_formed(svg: &str) {
        let mut stack: Vec<&str> = Vec::new();
        let mut roots = 0;
        let mut rest = svg;
        while let Some(lt) = rest.find('<') {
            let text = &rest[..lt];
            if stack.is_empty() {
                assert!(text.trim().is_empty(), "text outside the root: {text:?}");
            }
            assert_entities(text);
            let gt = lt + rest[lt..].find('>').expect("unterminated tag");
            let tag = &rest[lt + 1..gt];
            if let Some(name) = tag.strip_prefix('/') {
                assert_eq!(stack.pop(), Some(name), "mismatched closing tag in {svg}");
            } else {
                let self_closing = tag.ends_with('/');
                let body = tag.strip_suffix('/').unwrap_or(tag);
                let name = body.split_whitespace().next().expect("tag name");
                assert!(
                    name.chars().all(|c| c.is_ascii_alphanumeric()),
                    "name {name:?}"
                );
                assert_attributes(&body[name.len()..]);
                if stack.is_empty() {
                    roots += 1;
                }
                if !self_closing {
                    stack.push(name);
                }
            }
            rest = &rest[gt + 1..];
        }
        assert!(rest.trim().is_empty(), "text after the root");
        assert!(stack.is_empty(), "unclosed {stack:?}");
        assert_eq!(roots, 1, "exactly one root element");
    }

    fn assert_attributes(mut s: &str) {
        let mut seen = Vec::new();
        loop {
            s = s.trim_start();
            if s.is_empty() {
                return;
            }
            let eq = s.find('=').expect("attribute without value");
            let name = &s[..eq];
            assert!(
                !name.is_empty()
                    && name
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == ':'),
                "attribute name {name:?}"
            );
            assert!(!seen.contains(&name), "duplicate attribute {name}");
            seen.push(name);
            let after = s[eq + 1..].strip_prefix('"').expect("unquoted attribute");
            let end = after.find('"').expect("unterminated attribute");
            let value = &after[..end];
            assert!(!value.contains('<'), "raw < in attribute");
            assert_entities(value);
            s = &after[end + 1..];
        }
    }

    fn assert_entities(s: &str) {
        assert!(!s.contains('<'), "raw <");
        for (i, _) in s.match_indices('&') {
            let entity = &s[i + 1..];
            let end = entity.find(';').expect("& without ;");
            let name = &entity[..end];
            let ok = ["amp", "lt", "gt", "quot", "apos"].contains(&name)
                || name
                    .strip_prefix('#')
                    .is_some_and(|n| !n.is_empty() && n.chars().all(|c| c.is_ascii_digit()));
            assert!(ok, "bad entity &{name};");
        }
    }

    /// Values of attribute `name` in document order.
    fn attr_values<'a>(svg: &'a str, element: &str, name: &str) -> Vec<&'a str> {
        let open = format!("<{element} ");
        let key = format!(" {name}=\"");
        svg.match_indices(&open)
            .filter_map(|(i, _)| {
                let tag = &svg[i..i + svg[i..].find('>').unwrap()];
                let start = tag.find(&key)? + key.len();
                Some(&tag[start..start + tag[start..].find('"').unwrap()])
            })
            .collect()
    }

    // --- tests -------------------------------------------------------------------------------

    #[test]
    fn every_chart_is_well_formed() {
        for svg in normal_charts().iter().chain(&edge_charts()) {
            assert_well_formed(svg);
        }
    }

    #[test]
    fn no_nan_or_infinity_and_at_most_two_decimals() {
        const NUMERIC: [&str; 13] = [
            "viewBox", "x", "y", "x1", "x2", "y1", "y2", "cx", "cy", "width", "height", "points",
            "d",
        ];
        for svg in normal_charts().iter().chain(&edge_charts()) {
            let lower = svg.to_lowercase();
            assert!(!lower.contains("nan") && !lower.contains("inf"), "{svg}");
            for element in ["svg", "rect", "line", "circle", "text", "path", "polygon"] {
                for attr in NUMERIC {
                    for value in attr_values(svg, element, attr) {
                        if value == "100%" {
                            continue;
                        }
                        for token in value
                            .split(|c: char| !(c.is_ascii_digit() || c == '.' || c == '-'))
                            .filter(|t| !t.is_empty())
                        {
                            let n: f64 = token.parse().expect("a number");
                            assert!(n.is_finite(), "{attr}={value}");
                            let decimals = token.split_once('.').map_or(0, |(_, d)| d.len());
                            assert!(decimals <= 2, "{attr}={value}");
                            assert!(!token.starts_with('-') || n != 0.0, "negative zero");
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn title_and_desc_come_first_and_are_referenced() {
        for svg in normal_charts() {
            let id = attr_values(&svg, "svg", "aria-labelledby")[0]
                .split_once('-')
                .unwrap()
                .0
                .to_owned();
            // A chart holding links is a group (links may not sit inside an image), named by
            // its title and described by its desc; any other chart is an image named by both.
            let role = if svg.contains("<a ") { "group" } else { "img" };
            assert!(svg.starts_with(&format!(
                r#"<svg xmlns="http://www.w3.org/2000/svg" role="{role}" viewBox="0 0 "#
            )));
            if role == "img" {
                assert!(svg.contains(&format!(r#"aria-labelledby="{id}-title {id}-desc""#)));
            } else {
                assert!(svg.contains(&format!(
                    r#"aria-labelledby="{id}-title" aria-describedby="{id}-desc""#
                )));
            }
            assert!(svg.contains(r#" width="100%""#));
            let after_open = &svg[svg.find('>').unwrap() + 1..];
            assert!(after_open.starts_with(&format!(
                r#"<title id="{id}-title">Scores</title><desc id="{id}-desc">Scores by participant</desc>"#
            )));
        }
    }

    #[test]
    fn ids_are_sanitised() {
        let svg = bar_chart(
            r#"my chart"<1>"#,
            &text(),
            1.0,
            &[bar("a", Some(1.0), false)],
        );
        assert!(svg.contains(r#"aria-labelledby="mychart1-title mychart1-desc""#));
        let svg = bar_chart("\"<>", &text(), 1.0, &[]);
        assert!(svg.contains(r#"<title id="chart-title">"#));
    }

    #[test]
    fn all_text_is_escaped() {
        let t = ChartText {
            title: HOSTILE,
            description: HOSTILE,
            no_value: HOSTILE,
        };
        let label = HOSTILE.to_owned();
        let charts = [
            heat_map(
                HOSTILE,
                &t,
                &[HeatColumn {
                    label: label.clone(),
                    name: String::new(),
                    max: 1.0,
                }],
                &[HeatRow {
                    label: label.clone(),
                    name: String::new(),
                    href: Some(format!("/x?q={HOSTILE}")),
                    cells: vec![HeatCell {
                        value: Some(0.5),
                        label: label.clone(),
                        href: None,
                    }],
                }],
            ),
            heat_map(HOSTILE, &t, &[], &[]),
            bar_chart(HOSTILE, &t, 1.0, &[bar(HOSTILE, None, true)]),
            line_chart(
                HOSTILE,
                &t,
                1.0,
                &[series(HOSTILE, &[Some(0.1)]), series(HOSTILE, &[Some(0.2)])],
            ),
            box_plot(
                HOSTILE,
                &t,
                1.0,
                &[BoxRow {
                    label: label.clone(),
                    marker: Some((0.5, label.clone())),
                    summary_label: label.clone(),
                    ..box_row("", true, None)
                }],
            ),
        ];
        for svg in &charts {
            assert_well_formed(svg);
            assert!(!svg.contains("<script"), "{svg}");
            assert!(svg.contains("&lt;script&gt;&amp;&quot;&#39;"), "{svg}");
        }
    }

    #[test]
    fn escaping_drops_forbidden_control_characters() {
        assert_eq!(esc("a\u{0}b\u{1b}c\nd"), "abc d");
        assert_eq!(esc("é—≤"), "é—≤");
    }

    #[test]
    fn numbers_have_at_most_two_decimals() {
        assert_eq!(num(1.0), "1");
        assert_eq!(num(1.5), "1.5");
        assert_eq!(num(2.0 / 3.0), "0.67");
        assert_eq!(num(-0.001), "0");
        assert_eq!(num(f64::NAN), "0");
        assert_eq!(num(f64::INFINITY), "0");
        assert_eq!(num(120.0), "120");
    }

    #[test]
    fn long_labels_are_shortened_with_the_full_text_in_a_title() {
        let long = "Participant with a really very long official name";
        let svg = bar_chart("b", &text(), 1.0, &[bar(long, Some(0.5), false)]);
        let (shown, cut) = shorten(long, LABEL_CHARS);
        assert!(cut);
        assert_eq!(shown.chars().count(), LABEL_CHARS);
        assert!(shown.ends_with('…'));
        assert!(svg.contains(&format!("<title>{long}</title>{shown}</text>")));
        let (same, cut) = shorten("short", LABEL_CHARS);
        assert_eq!((same.as_str(), cut), ("short", false));
    }

    #[test]
    fn empty_input_gives_a_titled_chart_saying_no_value() {
        let t = text();
        for svg in [
            heat_map("e", &t, &[], &heat_rows(3, 0, false)),
            heat_map("e", &t, &columns(3), &[]),
            bar_chart("e", &t, 1.0, &[]),
            line_chart("e", &t, 1.0, &[]),
            box_plot("e", &t, 1.0, &[]),
        ] {
            assert_well_formed(&svg);
            assert!(svg.contains(r#"<title id="e-title">Scores</title>"#));
            assert!(svg.contains(">—</text>"));
            assert!(svg.contains("chart-empty"));
        }
    }

    #[test]
    fn heat_map_has_one_cell_per_row_and_column() {
        let t = text();
        let svg = heat_map("h", &t, &columns(7), &heat_rows(5, 7, false));
        assert_eq!(svg.matches(r#"class="heat-cell"#).count(), 35);
        assert_eq!(
            svg.matches("<rect ").count(),
            35 + 1,
            "cells plus the hatch tile"
        );
        // Short rows are padded with missing cells, long rows are cut to the columns.
        let mut rows = heat_rows(2, 7, false);
        rows[0].cells.truncate(3);
        rows[1].cells.extend(heat_rows(1, 4, false).remove(0).cells);
        let svg = heat_map("h", &t, &columns(7), &rows);
        assert_eq!(svg.matches(r#"class="heat-cell"#).count(), 14);
        assert_eq!(svg.matches("heat-missing").count(), 4);
    }

    #[test]
    fn heat_map_missing_cell_is_hatched_and_shows_no_value() {
        let mut rows = heat_rows(1, 2, false);
        rows[0].cells[1].value = None;
        let svg = heat_map("h", &text(), &columns(2), &rows);
        assert_eq!(svg.matches("heat-missing").count(), 1);
        assert!(svg.contains(r#"fill="url(#h-hatch)""#));
        assert!(svg.contains(r#"<pattern id="h-hatch""#));
        assert!(svg.contains("<title>Participant 0, Section 1: —</title>"));
        assert!(svg.contains(">—</text>"));
    }

    #[test]
    fn heat_map_links_each_cell_and_row_label() {
        let svg = heat_map("h", &text(), &columns(3), &heat_rows(4, 3, true));
        assert_eq!(svg.matches("<a ").count(), 4 * (3 + 1));
        assert!(svg.contains(r#"href="/participants/2?a=1&amp;b=2""#));
        let svg = heat_map("h", &text(), &columns(3), &heat_rows(4, 3, false));
        assert_eq!(svg.matches("<a ").count(), 0);
    }

    /// The tags of `markup` in order, each with how many `<a>` enclose it.
    fn link_depths(markup: &str) -> Vec<(String, usize)> {
        let mut depth = 0usize;
        let mut tags = Vec::new();
        for piece in markup.split('<').skip(1) {
            let tag = piece
                .split(['>', ' '])
                .next()
                .unwrap_or_default()
                .to_owned();
            if tag == "/a" {
                depth -= 1;
            } else if !tag.starts_with('/') {
                tags.push((tag.clone(), depth));
                if tag == "a" {
                    depth += 1;
                }
            }
        }
        assert_eq!(depth, 0, "every <a> is closed");
        tags
    }

    #[test]
    fn heat_map_links_are_single_named_and_never_nested() {
        let mut rows = heat_rows(3, 2, true);
        rows[1].name = "Estonia".into();
        rows[1].cells[1].href = Some("/cell".into());
        let mut columns = columns(2);
        columns[1].name = "Section 2 — Legal".into();
        let svg = heat_map("h", &text(), &columns, &rows);
        for (tag, depth) in link_depths(&svg) {
            if tag == "a" {
                assert_eq!(depth, 0, "no link inside another link");
            }
            assert!(
                depth == 0 || ["title", "rect", "text"].contains(&tag.as_str()),
                "only shapes and text inside a link, not <{tag}>"
            );
        }
        assert!(!svg.contains("tabindex") && !svg.contains("<foreignObject"));
        assert!(
            svg.starts_with(r#"<svg xmlns="http://www.w3.org/2000/svg" role="group""#),
            "links are not nested in an image"
        );
        assert!(svg.contains(
            r#"<a class="heat-cell" href="/cell" aria-label="Estonia, Section 2 — Legal: 2.0">"#
        ));
        // Every cell link is named; without a full name the labels name it.
        let cell_links = svg.matches(r#"<a class="heat-cell"#).count();
        assert_eq!(cell_links, 3 * 2);
        assert_eq!(
            svg.matches(r#"<a class="heat-cell"#).count(),
            svg.matches(r#"aria-label=""#).count()
        );
        assert!(svg.contains(r#"aria-label="Participant 0, Section 0: 0.0""#));
        // Without links the heat map is an image.
        let svg = heat_map("h", &text(), &columns, &heat_rows(3, 2, false));
        assert!(svg.contains(r#"role="img""#) && !svg.contains("<a "));
    }

    #[test]
    fn heat_legend_gives_the_scale_in_words_and_the_missing_cell() {
        let legend = heat_legend(
            "legend",
            &HeatLegend {
                title: "Colour scale",
                steps: vec![
                    (0.0, "0.00".into()),
                    (0.5, "0.50".into()),
                    (1.0, "1.00".into()),
                ],
                reading: "lighter is lower, darker is higher",
                missing: "no score <none answered>",
                no_value: "—",
            },
        );
        for text in [
            "Colour scale",
            "0.00",
            "0.50",
            "1.00",
            "lighter is lower",
            "no score &lt;none answered&gt;",
            ">—<",
        ] {
            assert!(legend.contains(text), "{text} in {legend}");
        }
        // The swatches' colours are the heat map's, decorative; nothing in it is interactive.
        assert!(legend.contains(&format!(r#"fill="{}""#, heat_colour(0.0).0)));
        assert!(legend.contains(&format!(r#"fill="{}""#, heat_colour(1.0).0)));
        assert!(legend.contains(r#"fill="url(#legend-swatch-hatch)""#));
        assert_eq!(
            legend.matches("<svg ").count(),
            legend.matches(r#"aria-hidden="true""#).count()
        );
        assert!(!legend.contains("<a ") && !legend.contains("tabindex"));
        assert!(link_depths(&legend).iter().all(|(_, depth)| *depth == 0));
    }

    #[test]
    fn heat_map_text_contrasts_with_the_fill() {
        let (light, ink) = heat_colour(0.0);
        assert_eq!((light.as_str(), ink), ("#eff3ff", "#000000"));
        let (dark, ink) = heat_colour(1.0);
        assert_eq!((dark.as_str(), ink), ("#08306b", "#ffffff"));
        let mut rows = heat_rows(1, 2, false);
        rows[0].cells[0].value = Some(0.0);
        rows[0].cells[1].value = Some(4.0);
        let svg = heat_map("h", &text(), &columns(2), &rows);
        assert_eq!(
            attr_values(&svg, "rect", "fill")[1..],
            ["#eff3ff", "#08306b"]
        );
        let inks: Vec<_> = attr_values(&svg, "text", "fill")
            .into_iter()
            .filter(|f| f.starts_with('#'))
            .collect();
        assert_eq!(inks, ["#000000", "#ffffff"]);
    }

    #[test]
    fn heat_map_rotates_long_column_labels() {
        let t = text();
        let mut cols = columns(3);
        assert!(!heat_map("h", &t, &cols, &heat_rows(1, 3, false)).contains("rotate(-45"));
        cols[0].label = "A section heading that is long".into();
        assert!(heat_map("h", &t, &cols, &heat_rows(1, 3, false)).contains("rotate(-45"));
    }

    #[test]
    fn bars_are_clamped_to_the_plot() {
        let bars = [
            bar("over", Some(10.0), false),
            bar("full", Some(2.0), false),
            bar("under", Some(-1.0), false),
            bar("missing", None, false),
        ];
        let svg = bar_chart("b", &text(), 2.0, &bars);
        let widths: Vec<f64> = attr_values(&svg, "rect", "width")
            .iter()
            .map(|w| w.parse().unwrap())
            .collect();
        assert_eq!(widths.len(), 3, "no bar for a missing value");
        assert_eq!(widths[0], widths[1], "over max is drawn as max");
        assert_eq!(widths[2], 0.0);
        let grid_x: Vec<f64> = attr_values(&svg, "line", "x1")
            .iter()
            .map(|x| x.parse().unwrap())
            .collect();
        let plot_width = grid_x[4] - grid_x[0];
        assert!((widths[0] - plot_width).abs() < 0.02);
        assert!(svg.contains(r#"class="bar-value bar-missing""#));
    }

    #[test]
    fn highlighted_bar_is_marked_by_more_than_colour() {
        let svg = bar_chart(
            "b",
            &text(),
            1.0,
            &[bar("me", Some(0.5), true), bar("other", Some(0.5), false)],
        );
        assert_eq!(svg.matches("bar-highlight").count(), 1);
        assert_eq!(svg.matches(r#"font-weight="bold""#).count(), 2);
        assert_eq!(svg.matches(r##"stroke="#000000""##).count(), 1);
    }

    #[test]
    fn line_chart_breaks_at_gaps_and_titles_each_point() {
        let svg = line_chart(
            "l",
            &text(),
            1.0,
            &[series(
                "Mean",
                &[Some(0.1), Some(0.2), None, Some(0.4), Some(0.5)],
            )],
        );
        let d = attr_values(&svg, "path", "d")[0];
        assert_eq!(d.matches('M').count(), 2);
        assert_eq!(d.matches('L').count(), 2);
        assert_eq!(svg.matches("<circle ").count(), 4);
        assert!(svg.contains("<title>Mean, 2023: 0.40</title>"));
        assert!(!svg.contains("chart-legend"), "no legend for one series");
        for label in ["0", "0.25", "0.5", "0.75", "1"] {
            assert!(svg.contains(&format!(r#"font-size="10">{label}</text>"#)));
        }
    }

    #[test]
    fn line_series_differ_by_dash_pattern_and_have_a_legend() {
        let all: Vec<Series> = (0..3)
            .map(|i| series(&format!("S{i}"), &[Some(0.1), Some(0.2)]))
            .collect();
        let svg = line_chart("l", &text(), 1.0, &all);
        assert!(svg.contains("chart-legend"));
        assert_eq!(svg.matches(r#"class="legend-item"#).count(), 3);
        let paths: Vec<_> = svg
            .match_indices("<path ")
            .map(|(i, _)| &svg[i..=i + svg[i..].find('>').unwrap()])
            .collect();
        assert_eq!(paths.len(), 3);
        let dashes: Vec<Option<&str>> = paths
            .iter()
            .map(|p| attr_values(p, "path", "stroke-dasharray").first().copied())
            .collect();
        assert_eq!(dashes, [None, Some("6 3"), Some("2 3")]);
    }

    #[test]
    fn box_plot_without_whiskers_draws_no_whisker_lines() {
        let svg = box_plot("b", &text(), 1.0, &[box_row("anon", false, None)]);
        assert!(!svg.contains("box-whisker"));
        assert_eq!(svg.matches("box-iqr").count(), 1);
        assert_eq!(svg.matches("box-median").count(), 1);
        let svg = box_plot("b", &text(), 1.0, &[box_row("named", true, None)]);
        assert_eq!(
            svg.matches("box-whisker").count(),
            4,
            "two whiskers and two caps"
        );
    }

    #[test]
    fn box_plot_marker_is_a_labelled_diamond() {
        let svg = box_plot("b", &text(), 1.0, &[box_row("r", true, Some(0.6))]);
        assert_eq!(svg.matches(r#"<polygon class="box-marker""#).count(), 1);
        assert!(svg.contains("<title>you 0.60</title>"));
        assert!(svg.contains(">you 0.60</text>"));
        assert!(svg.contains(">median 0.52</text>"));
    }

    #[test]
    fn box_plot_with_unordered_quartiles_keeps_a_positive_box() {
        let mut row = box_row("r", true, None);
        (row.q1, row.q3) = (0.8, 0.2);
        let svg = box_plot("b", &text(), 1.0, &[row]);
        let width: f64 = attr_values(&svg, "rect", "width")[0].parse().unwrap();
        assert!(width > 0.0);
    }

    #[test]
    fn height_grows_with_rows() {
        let t = text();
        let height = |svg: &str| -> f64 {
            attr_values(svg, "svg", "viewBox")[0]
                .rsplit(' ')
                .next()
                .unwrap()
                .parse()
                .unwrap()
        };
        let few: Vec<Bar> = (0..3)
            .map(|i| bar(&i.to_string(), Some(1.0), false))
            .collect();
        let many: Vec<Bar> = (0..203)
            .map(|i| bar(&i.to_string(), Some(1.0), false))
            .collect();
        let grown =
            height(&bar_chart("b", &t, 1.0, &many)) - height(&bar_chart("b", &t, 1.0, &few));
        assert!((grown - 200.0 * ROW_H).abs() < 0.01);
        let rows = heat_rows(200, 3, false);
        assert!(height(&heat_map("h", &t, &columns(3), &rows)) > 200.0 * ROW_H);
    }

    #[test]
    fn output_is_deterministic() {
        assert_eq!(normal_charts(), normal_charts());
        assert_eq!(edge_charts(), edge_charts());
    }

    #[test]
    fn charts_need_no_external_resources_or_scripts() {
        for svg in normal_charts().iter().chain(&edge_charts()) {
            assert!(!svg.contains("<script") && !svg.contains("<style") && !svg.contains("<image"));
            assert!(
                !svg.contains("http:") || svg.matches("http:").count() == 1,
                "only xmlns"
            );
            assert!(
                !svg.contains("url(") || svg.contains("url(#"),
                "only local references"
            );
        }
    }

    #[test]
    fn a_cell_may_lead_elsewhere_than_its_row() {
        let svg = heat_map(
            "h",
            &text(),
            &[HeatColumn {
                label: "A".into(),
                name: String::new(),
                max: 1.0,
            }],
            &[HeatRow {
                label: "P".into(),
                name: String::new(),
                href: Some("/row".into()),
                cells: vec![HeatCell {
                    value: Some(0.5),
                    label: "0.5".into(),
                    href: Some("/row#section-A".into()),
                }],
            }],
        );
        assert!(
            svg.contains(r#"href="/row#section-A""#),
            "the cell's own link"
        );
        assert!(
            svg.contains(r#"href="/row""#),
            "the row label keeps the row's link"
        );
    }
}
