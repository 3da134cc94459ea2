//! Horizontal bar chart.

use std::fmt::Write as _;

use super::*;

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
