//! Box plots of a distribution, with an optional marker.

use std::fmt::Write as _;

use super::*;

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
