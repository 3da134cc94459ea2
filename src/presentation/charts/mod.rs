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

mod bars;
mod box_plot;
mod heat_map;
mod lines;
#[cfg(test)]
mod tests;

pub use bars::bar_chart;
pub use box_plot::box_plot;
pub use heat_map::{heat_legend, heat_map};
pub use lines::line_chart;

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
    /// A note on this point (e.g. "re-scored"): drawn as a dashed ring around its marker, added
    /// to its `<title>`, and explained by a legend entry; `None` for most points.
    pub mark: Option<String>,
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
// Text, numbers and scales
// ---------------------------------------------------------------------------------------------

/// Escapes text for XML content and attribute values; drops characters XML 1.0 forbids.
fn esc(s: &str) -> std::borrow::Cow<'_, str> {
    // Most labels and links need no escaping: they are written as they are, without a copy.
    if !s.chars().any(|c| {
        matches!(c, '&' | '<' | '>' | '"' | '\'') || c < ' ' || c == '\u{FFFE}' || c == '\u{FFFF}'
    }) {
        return std::borrow::Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
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
    std::borrow::Cow::Owned(out)
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
///
/// A heat map writes a few thousand of these per page, and `format!("{v:.2}")` was a fifth of
/// the comparison page's CPU (its exact-rounding fallback is bignum arithmetic), so the common
/// case rounds in integers. Where that could differ from `{:.2}` — a value within a millionth of
/// a hundredth of a tie, or too large for the product to be exact enough — it still formats
/// with `{:.2}`: the text is the same either way (`num_writes_what_format_writes`).
fn num(v: f64) -> String {
    if !v.is_finite() {
        return "0".to_owned();
    }
    let scaled = v * 100.0;
    if scaled.abs() < 1e9 && ((scaled - scaled.trunc()).abs() - 0.5).abs() > 1e-6 {
        // In range: |scaled| < 1e9, so the cast is exact and cannot overflow.
        #[allow(clippy::cast_possible_truncation)]
        let hundredths = scaled.round() as i64;
        let sign = if hundredths < 0 { "-" } else { "" };
        let (whole, fraction) = (hundredths.abs() / 100, hundredths.abs() % 100);
        return match fraction {
            0 if whole == 0 => "0".to_owned(),
            0 => format!("{sign}{whole}"),
            f if f % 10 == 0 => format!("{sign}{whole}.{}", f / 10),
            f => format!("{sign}{whole}.{f:02}"),
        };
    }
    num_formatted(v)
}

/// [`num`] through the standard formatter.
fn num_formatted(v: f64) -> String {
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
