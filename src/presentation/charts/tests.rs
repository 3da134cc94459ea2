//! Tests every chart shares: well-formed, escaped, deterministic SVG with no external resource.

use super::heat_map::heat_colour;
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
                mark: None,
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
        "viewBox", "x", "y", "x1", "x2", "y1", "y2", "cx", "cy", "width", "height", "points", "d",
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
    let grown = height(&bar_chart("b", &t, 1.0, &many)) - height(&bar_chart("b", &t, 1.0, &few));
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

#[test]
fn a_marked_point_is_ringed_titled_with_its_mark_and_explained_in_the_legend() {
    let mut one = series("Overall", &[Some(0.4), Some(0.5), None, Some(0.7)]);
    one.points[0].mark = Some("re-scored".to_owned());
    // A mark on a missing value draws nothing.
    one.points[2].mark = Some("re-scored".to_owned());
    let svg = line_chart("l", &text(), 1.0, &[one]);
    assert_eq!(
        svg.matches(r#"class="line-point-mark""#).count(),
        2,
        "the marked point and the legend's sample"
    );
    assert!(svg.contains("<title>Overall, 2020: 0.40 (re-scored)</title>"));
    assert!(svg.contains("<title>Overall, 2021: 0.50</title>"));
    assert!(svg.contains("chart-legend"), "the ring is explained");
    assert_eq!(svg.matches(r#"class="legend-item"#).count(), 1);
    assert!(svg.contains(">re-scored</text>"));
    let unmarked = line_chart(
        "l",
        &text(),
        1.0,
        &[series("Overall", &[Some(0.4), Some(0.5)])],
    );
    assert!(!unmarked.contains("line-point-mark"));
    assert!(!unmarked.contains("chart-legend"));
}

#[test]
fn num_writes_what_format_writes() {
    // Values a chart meets (coordinates, percentages, scores) and the awkward ones: ties at
    // half a hundredth, values whose binary form sits just off a tie, negatives, zero, large.
    let mut values = vec![
        0.0,
        -0.0,
        0.005,
        0.015,
        0.125,
        0.135,
        1.005,
        2.675,
        -0.004,
        -0.005,
        -0.5,
        12.345,
        99.995,
        1e8,
        1e9,
        1e12,
        -1e12,
        123_456.785,
        0.1 + 0.2,
        1.0 / 3.0,
        f64::EPSILON,
    ];
    // A fixed pseudo-random walk over eight orders of magnitude (no crate, same every run).
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
    for _ in 0..200_000 {
        state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        let mantissa = (state >> 11) as f64 / (1u64 << 53) as f64;
        let exponent = ((state >> 3) % 9) as i32 - 3;
        let sign = if state & 1 == 0 { 1.0 } else { -1.0 };
        values.push(sign * mantissa * 10f64.powi(exponent));
        // And hundredths with a tail, the positions charts compute.
        values.push(((state >> 20) % 100_000) as f64 / 100.0 + 0.005);
    }
    for v in values {
        assert_eq!(num(v), num_formatted(v), "{v:e}");
    }
}
