//! Trend lines over cycles.

use std::fmt::Write as _;

use super::*;

/// Trend lines over cycles.
///
/// x is the points' position (all series share the x labels of the first series), y runs from 0
/// to `max`. A `None` value leaves a gap in the line; each present point has a circle marker
/// whose `<title>` gives the series name, x label and value label. Gridlines at 0, 25, 50, 75
/// and 100 % of `max` are labelled with the value (at most 2 decimals). Series differ by dash
/// pattern and marker fill as well as colour; a legend is drawn when there is more than one.
/// A point with a `mark` (e.g. "re-scored") gets a dashed ring around its marker and the mark in
/// its `<title>`; the legend then also shows the ring with each distinct mark's text.
/// Points beyond the length of the first series are ignored.
pub fn line_chart(id: &str, text: &ChartText, max: f64, series: &[Series]) -> String {
    const CLASS: &str = "chart-lines";
    let id = sanitize_id(id);
    let Some(first) = series.first().filter(|s| !s.points.is_empty()) else {
        return empty_chart(&id, CLASS, text);
    };
    let entries = legend_entries(series);
    let layout = LineLayout::new(max, first, &entries);
    let mut out = String::new();
    svg_open(&mut out, &id, CLASS, WIDTH, layout.height, text);
    if !entries.is_empty() {
        line_legend(&mut out, &layout, &entries);
    }
    line_grid(&mut out, &layout, max);
    line_x_labels(&mut out, &layout, first);
    for (index, one) in series.iter().enumerate() {
        line_series(&mut out, &layout, max, index, one);
    }
    out.push_str("</svg>");
    out
}

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
/// Radius of the dashed ring around a marked point.
const MARK_R: f64 = 6.5;

/// One legend entry: a series (by index), or a point mark's text.
enum LegendEntry<'a> {
    Series(usize, &'a str),
    Mark(&'a str),
}

impl LegendEntry<'_> {
    fn text(&self) -> &str {
        match self {
            LegendEntry::Series(_, name) | LegendEntry::Mark(name) => name,
        }
    }
}

/// The legend: every series when there is more than one, then each distinct point mark.
fn legend_entries(series: &[Series]) -> Vec<LegendEntry<'_>> {
    let mut entries: Vec<LegendEntry<'_>> = if series.len() > 1 {
        series
            .iter()
            .enumerate()
            .map(|(index, one)| LegendEntry::Series(index, &one.name))
            .collect()
    } else {
        Vec::new()
    };
    let mut marks: Vec<&str> = Vec::new();
    for one in series {
        for point in &one.points {
            if let Some(mark) = point.mark.as_deref()
                && present(point.value).is_some()
                && !marks.contains(&mark)
            {
                marks.push(mark);
            }
        }
    }
    entries.extend(marks.into_iter().map(LegendEntry::Mark));
    entries
}

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
    fn new(max: f64, first: &Series, entries: &[LegendEntry<'_>]) -> Self {
        let count = first.points.len();
        let legend = legend_positions(entries);
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
fn legend_positions(entries: &[LegendEntry<'_>]) -> Vec<(f64, f64)> {
    let mut positions = Vec::with_capacity(entries.len());
    let (mut x, mut y) = (16.0, 0.0);
    for entry in entries {
        let width = 30.0 + shown_chars(entry.text(), LABEL_CHARS) as f64 * CHAR_W + 16.0;
        if x > 16.0 && x + width > WIDTH - 16.0 {
            x = 16.0;
            y += LEGEND_ROW_H;
        }
        positions.push((x, y));
        x += width;
    }
    positions
}

/// The legend: a sample of each series' line and marker, and its name; for each point mark, a
/// sample of the ring and the mark's text.
fn line_legend(out: &mut String, layout: &LineLayout, entries: &[LegendEntry<'_>]) {
    out.push_str(r#"<g class="chart-legend">"#);
    for (entry, (x, y)) in entries.iter().zip(&layout.legend) {
        let mid = y + 12.0;
        match entry {
            LegendEntry::Series(index, _) => {
                let _ = write!(out, r#"<g class="legend-item series-{}">"#, index % 6);
                let _ = write!(
                    out,
                    r#"<line x1="{}" y1="{m}" x2="{}" y2="{m}" fill="none" stroke-width="2"{}/>"#,
                    num(*x),
                    num(x + 24.0),
                    series_stroke(*index),
                    m = num(mid),
                );
                marker(out, x + 12.0, mid, *index, None, None);
            }
            LegendEntry::Mark(_) => {
                out.push_str(r#"<g class="legend-item legend-mark">"#);
                ring(out, x + 12.0, mid, INK);
            }
        }
        let attrs = format!(r#"x="{}" y="{}""#, num(x + 30.0), num(mid + 4.0));
        text_el(out, &attrs, entry.text(), LABEL_CHARS);
        out.push_str("</g>");
    }
    out.push_str("</g>");
}

/// The dashed ring drawn around a marked point (and in the legend).
fn ring(out: &mut String, x: f64, y: f64, colour: &str) {
    let _ = write!(
        out,
        r#"<circle class="line-point-mark" cx="{}" cy="{}" r="{}" fill="none" stroke="{colour}" stroke-width="1.5" stroke-dasharray="2 1.5"/>"#,
        num(x),
        num(y),
        num(MARK_R),
    );
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

/// A point marker (circle) for series `index`, with `title` as its tooltip; with a `mark`, a
/// dashed ring around it.
fn marker(out: &mut String, x: f64, y: f64, index: usize, title: Option<&str>, mark: Option<&str>) {
    let (colour, _, filled) = SERIES_STYLES[index % SERIES_STYLES.len()];
    let fill = if filled { colour } else { "#ffffff" };
    if mark.is_some() {
        ring(out, x, y, colour);
    }
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
        let tip = match point.mark.as_deref() {
            Some(mark) => format!(
                "{}, {}: {} ({mark})",
                series.name, point.label, point.value_label
            ),
            None => format!("{}, {}: {}", series.name, point.label, point.value_label),
        };
        marker(out, x, y, index, Some(&tip), point.mark.as_deref());
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
