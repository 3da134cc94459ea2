//! The method in the PDF is the methodology page itself: the `content` block of
//! templates/methodology.html is rendered with the same catalogue texts (askama renders that
//! one block), and its HTML is read back into headings, paragraphs, list items and table rows
//! that the layout prints. A sentence, a list or a formula added to the page is in the next
//! PDF: the two cannot diverge (tests/app/pdf.rs checks every text of the page is in the file).

use askama::Template;

use super::fonts::width;
use super::layout::{BOLD, Font, Layout, MARGIN, REGULAR, WIDTH};
use crate::presentation::i18n::{Lang, Tr};

/// What the page's template reads: `page.tr`.
struct MethodPage {
    tr: Tr,
}

#[derive(Template)]
#[template(path = "methodology.html", block = "content")]
struct MethodText {
    page: MethodPage,
}

/// One piece of the page, in reading order.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Block {
    /// The page's title (`h1`).
    Title(String),
    /// A section's heading (`h2`, `h3`).
    Heading(String),
    Paragraph(String),
    /// A list item (`li`).
    Item(String),
    /// A table's caption.
    Caption(String),
    /// A table row: each cell, and whether it is a header cell (`th`).
    Row(Vec<(bool, String)>),
}

/// The methodology page's content in `lang`, as blocks. Empty only if the template failed to
/// render (it has no fallible parts).
pub(super) fn blocks(lang: Lang) -> Vec<Block> {
    let text = MethodText {
        page: MethodPage { tr: lang.tr() },
    };
    text.render().map(|html| parse(&html)).unwrap_or_default()
}

/// Prints the method: every block of the page, tables with their cells wrapped (never cut).
pub(super) fn print(layout: &mut Layout, lang: Lang) {
    let blocks = blocks(lang);
    let mut index = 0;
    while let Some(block) = blocks.get(index) {
        index += 1;
        match block {
            Block::Title(text) => {
                layout.wrapped(16.0, BOLD, 0.0, text);
                layout.gap(6.0);
            }
            Block::Heading(text) => {
                layout.gap(2.0);
                layout.wrapped(11.0, BOLD, 0.0, text);
                layout.gap(2.0);
            }
            Block::Paragraph(text) => layout.paragraph(9.0, text),
            Block::Item(text) => layout.bullet(9.0, text),
            Block::Caption(text) => layout.wrapped(9.0, BOLD, 0.0, text),
            Block::Row(_) => {
                let mut rows = vec![block];
                while let Some(next @ Block::Row(_)) = blocks.get(index) {
                    rows.push(next);
                    index += 1;
                }
                table(layout, &rows);
                layout.gap(6.0);
            }
        }
    }
}

/// Rows as a table: columns as wide as their widest cell, the first one capped so the others
/// keep room; cells wrap within their column.
fn table(layout: &mut Layout, rows: &[&Block]) {
    const SIZE: f32 = 8.5;
    let cells: Vec<Vec<(Font, String)>> = rows
        .iter()
        .filter_map(|row| match row {
            Block::Row(cells) => Some(
                cells
                    .iter()
                    .map(|(header, text)| (if *header { BOLD } else { REGULAR }, text.clone()))
                    .collect(),
            ),
            _ => None,
        })
        .collect();
    let count = cells.iter().map(Vec::len).max().unwrap_or(0);
    if count == 0 {
        return;
    }
    let available = WIDTH - 2.0 * MARGIN;
    let natural: Vec<f32> = (0..count)
        .map(|column| {
            cells
                .iter()
                .filter_map(|row| row.get(column))
                .map(|(font, text)| width(*font, text, SIZE) + 10.0)
                .fold(20.0, f32::max)
        })
        .collect();
    let total: f32 = natural.iter().sum();
    let widths: Vec<f32> = if total <= available {
        natural
    } else {
        let first = natural[0].min(available * 0.4);
        let rest: f32 = natural[1..].iter().sum();
        std::iter::once(first)
            .chain(
                natural[1..]
                    .iter()
                    .map(|w| w / rest.max(1.0) * (available - first)),
            )
            .collect()
    };
    let columns: Vec<f32> = widths
        .iter()
        .scan(0.0, |x, w| {
            let start = *x;
            *x += w;
            Some(start)
        })
        .collect();
    for row in &cells {
        layout.wrapped_row(SIZE, &columns, row);
    }
}

/// Reads the page's HTML into blocks. The template is well-formed and escaped by askama; tags
/// other than the block ones (`code`, `span`, `a`, …) only carry text.
pub(super) fn parse(html: &str) -> Vec<Block> {
    #[derive(Clone, Copy, PartialEq)]
    enum Open {
        Title,
        Heading,
        Paragraph,
        Item,
        Caption,
        Cell(bool),
    }
    let mut blocks = Vec::new();
    let mut open: Option<Open> = None;
    let mut text = String::new();
    let mut row: Option<Vec<(bool, String)>> = None;
    let mut stray = String::new();

    let flush_stray = |stray: &mut String, blocks: &mut Vec<Block>| {
        let collapsed = collapse(stray);
        if !collapsed.is_empty() {
            blocks.push(Block::Paragraph(collapsed));
        }
        stray.clear();
    };

    let mut rest = html;
    while !rest.is_empty() {
        let (chunk, tag) = match rest.find('<') {
            Some(start) => {
                let end = rest[start..]
                    .find('>')
                    .map_or(rest.len(), |e| start + e + 1);
                (&rest[..start], Some(&rest[start..end]))
            }
            None => (rest, None),
        };
        let target = if open.is_some() {
            &mut text
        } else {
            &mut stray
        };
        target.push_str(&unescape(chunk));
        rest = &rest[chunk.len() + tag.map_or(0, str::len)..];
        let Some(tag) = tag else { break };
        let inner = tag.trim_start_matches('<').trim_end_matches('>');
        let closing = inner.starts_with('/');
        let name: String = inner
            .trim_start_matches('/')
            .chars()
            .take_while(char::is_ascii_alphanumeric)
            .collect::<String>()
            .to_ascii_lowercase();
        let kind = match name.as_str() {
            "h1" => Some(Open::Title),
            "h2" | "h3" | "h4" => Some(Open::Heading),
            "p" => Some(Open::Paragraph),
            "li" => Some(Open::Item),
            "caption" => Some(Open::Caption),
            "th" => Some(Open::Cell(true)),
            "td" => Some(Open::Cell(false)),
            _ => None,
        };
        match (kind, closing) {
            (Some(kind), false) => {
                flush_stray(&mut stray, &mut blocks);
                open = Some(kind);
                text.clear();
            }
            (Some(kind), true) if open == Some(kind) => {
                let content = collapse(&text);
                text.clear();
                open = None;
                match kind {
                    Open::Cell(header) => row.get_or_insert_with(Vec::new).push((header, content)),
                    _ if content.is_empty() => {}
                    Open::Title => blocks.push(Block::Title(content)),
                    Open::Heading => blocks.push(Block::Heading(content)),
                    Open::Paragraph => blocks.push(Block::Paragraph(content)),
                    Open::Item => blocks.push(Block::Item(content)),
                    Open::Caption => blocks.push(Block::Caption(content)),
                }
            }
            (None, _) if name == "br" => text.push(' '),
            (None, false)
                if matches!(
                    name.as_str(),
                    "tr" | "ul" | "ol" | "table" | "section" | "div"
                ) =>
            {
                flush_stray(&mut stray, &mut blocks);
                if name == "tr" {
                    row = Some(Vec::new());
                }
            }
            (None, true) if name == "tr" => {
                if let Some(cells) = row.take().filter(|cells| !cells.is_empty()) {
                    blocks.push(Block::Row(cells));
                }
            }
            (None, true) if matches!(name.as_str(), "ul" | "ol" | "table" | "section" | "div") => {
                flush_stray(&mut stray, &mut blocks);
            }
            _ => {}
        }
    }
    flush_stray(&mut stray, &mut blocks);
    blocks
}

/// Runs of whitespace as one space, trimmed.
fn collapse(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The entities askama writes (and the numeric ones), as characters.
fn unescape(text: &str) -> String {
    if !text.contains('&') {
        return text.to_owned();
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find('&') {
        out.push_str(&rest[..start]);
        rest = &rest[start..];
        let Some(end) = rest.find(';').filter(|end| *end <= 10) else {
            out.push('&');
            rest = &rest[1..];
            continue;
        };
        let entity = &rest[1..end];
        let decoded = match entity {
            "amp" => Some('&'),
            "lt" => Some('<'),
            "gt" => Some('>'),
            "quot" => Some('"'),
            "apos" => Some('\''),
            "nbsp" => Some('\u{a0}'),
            _ => entity
                .strip_prefix("#x")
                .or_else(|| entity.strip_prefix("#X"))
                .and_then(|hex| u32::from_str_radix(hex, 16).ok())
                .or_else(|| entity.strip_prefix('#').and_then(|d| d.parse().ok()))
                .and_then(char::from_u32),
        };
        match decoded {
            Some(c) => {
                out.push(c);
                rest = &rest[end + 1..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn html_reads_back_into_headings_paragraphs_items_and_rows() {
        let html = r#"<h1>How</h1><p class="lede">Every   figure &amp; &#39;all&#39;</p>
            <section><h2 id="x">Section</h2><p>Over <code>Σ w</code>:</p>
            <ul><li>mean <code>Σ w·s ÷ Σ w</code></li><li>sum</li></ul>
            <table><caption>Ranks</caption><thead><tr><th scope="col">Score</th><td>100</td></tr></thead>
            <tbody><tr><th>Rank</th><td>1</td></tr></tbody></table></section>"#;
        assert_eq!(
            parse(html),
            [
                Block::Title("How".into()),
                Block::Paragraph("Every figure & 'all'".into()),
                Block::Heading("Section".into()),
                Block::Paragraph("Over Σ w:".into()),
                Block::Item("mean Σ w·s ÷ Σ w".into()),
                Block::Item("sum".into()),
                Block::Caption("Ranks".into()),
                Block::Row(vec![(true, "Score".into()), (false, "100".into())]),
                Block::Row(vec![(true, "Rank".into()), (false, "1".into())]),
            ]
        );
    }

    #[test]
    fn the_method_is_the_methodology_page_in_both_languages() {
        for lang in [Lang::En, Lang::Fr] {
            let tr = lang.tr();
            let blocks = blocks(lang);
            assert_eq!(
                blocks[0],
                Block::Title(tr.t("methodology.title").to_owned())
            );
            let text: Vec<String> = blocks
                .iter()
                .map(|b| match b {
                    Block::Row(cells) => cells.iter().map(|(_, c)| c.as_str()).collect(),
                    Block::Title(t)
                    | Block::Heading(t)
                    | Block::Paragraph(t)
                    | Block::Item(t)
                    | Block::Caption(t) => t.clone(),
                })
                .collect();
            let all = text.join(" ");
            for key in [
                "methodology.no_score",
                "methodology.anonymity_text",
                "methodology.mapping_text",
                "methodology.attainment_text",
                "methodology.goal_score_clamp",
                "methodology.weighted_mean",
            ] {
                assert!(all.contains(tr.t(key)), "{key} in {lang:?}");
            }
            assert!(all.contains("Σ w·s ÷ Σ w"));
            assert!(blocks.iter().any(|b| matches!(b, Block::Item(_))));
            // Every character prints with a glyph of its own.
            for c in all.chars() {
                assert!(super::super::fonts::covers(REGULAR, c), "{c:?}");
            }
        }
    }
}
