//! Laying out text on A4 pages: a cursor that breaks pages, text in the standard Helvetica
//! fonts (WinAnsi encoding), wrapping, and the document's assembly.

use pdf_writer::{Content, Finish, Name, Pdf, Rect, Ref, Str, TextStr};

pub(super) const WIDTH: f32 = 595.0;
pub(super) const HEIGHT: f32 = 842.0;
pub(super) const MARGIN: f32 = 50.0;
pub(super) const REGULAR: Name<'static> = Name(b"F1");
pub(super) const BOLD: Name<'static> = Name(b"F2");

/// Pages being laid out: a cursor that starts a new page when the next line does not fit.
pub(super) struct Layout {
    /// Pages already full.
    done: Vec<Content>,
    /// The page being written.
    current: Content,
    pub(super) y: f32,
    footer: String,
}

impl Layout {
    pub(super) fn new(footer: String) -> Self {
        Self {
            done: Vec::new(),
            current: footed_page(&footer, 1),
            y: HEIGHT - MARGIN,
            footer,
        }
    }

    pub(super) fn new_page(&mut self) {
        let next = footed_page(&self.footer, self.done.len() + 2);
        self.done.push(std::mem::replace(&mut self.current, next));
        self.y = HEIGHT - MARGIN;
    }

    /// Every page, in order.
    pub(super) fn into_pages(mut self) -> Vec<Content> {
        self.done.push(self.current);
        self.done
    }

    /// Makes room for `height` points, on a new page if needed.
    pub(super) fn room(&mut self, height: f32) {
        if self.y - height < MARGIN {
            self.new_page();
        }
    }

    pub(super) fn page(&mut self) -> &mut Content {
        &mut self.current
    }

    /// One line at the cursor.
    pub(super) fn line(&mut self, size: f32, font: Name<'static>, text: &str) {
        self.room(size * 1.4);
        self.y -= size * 1.4;
        let y = self.y;
        draw_text(self.page(), MARGIN, y, size, font, text);
    }

    /// A paragraph wrapped to the page width.
    pub(super) fn paragraph(&mut self, size: f32, text: &str) {
        for line in wrap(text, size, WIDTH - 2.0 * MARGIN) {
            self.line(size, REGULAR, &line);
        }
        self.y -= size * 0.6;
    }

    /// A table row: each cell at its column's x offset, cut to fit.
    pub(super) fn row(
        &mut self,
        size: f32,
        font: Name<'static>,
        columns: &[f32],
        cells: &[String],
    ) {
        self.room(size * 1.5);
        self.y -= size * 1.5;
        let y = self.y;
        for (index, (x, cell)) in columns.iter().zip(cells).enumerate() {
            let next = columns.get(index + 1).copied().unwrap_or(WIDTH - MARGIN);
            let fitted = fit(cell, size, next - x - 4.0);
            draw_text(self.page(), MARGIN + x, y, size, font, &fitted);
        }
    }

    pub(super) fn gap(&mut self, points: f32) {
        self.y -= points;
    }
}

pub(super) fn draw_text(
    content: &mut Content,
    x: f32,
    y: f32,
    size: f32,
    font: Name<'static>,
    text: &str,
) {
    content.begin_text();
    content.set_font(font, size);
    content.next_line(x, y);
    content.show(Str(&win_ansi(text)));
    content.end_text();
}

/// Text in the WinAnsi encoding of the standard fonts; characters it lacks become `?`.
pub(super) fn win_ansi(text: &str) -> Vec<u8> {
    text.chars()
        .map(|c| match c {
            ' '..='~' => c as u8,
            '\u{a0}'..='\u{ff}' => c as u32 as u8,
            '€' => 0x80,
            '…' => 0x85,
            '‘' => 0x91,
            '’' => 0x92,
            '“' => 0x93,
            '”' => 0x94,
            '•' => 0x95,
            '–' => 0x96,
            '—' => 0x97,
            'Œ' => 0x8C,
            'œ' => 0x9C,
            '−' => b'-',
            // French puts a narrow no-break space before `%`, `:` and `;`.
            '\u{202f}' => 0xA0,
            'Σ' => b'S',
            _ => b'?',
        })
        .collect()
}

/// Helvetica's average advance, as a share of the font size (good enough to wrap and cut).
pub(super) const AVERAGE_ADVANCE: f32 = 0.5;

pub(super) fn wrap(text: &str, size: f32, width: f32) -> Vec<String> {
    let per_line = ((width / (size * AVERAGE_ADVANCE)) as usize).max(10);
    let mut lines = Vec::new();
    let mut current = String::new();
    for word in text.split_whitespace() {
        if !current.is_empty() && current.chars().count() + 1 + word.chars().count() > per_line {
            lines.push(std::mem::take(&mut current));
        }
        if !current.is_empty() {
            current.push(' ');
        }
        current.push_str(word);
    }
    if !current.is_empty() {
        lines.push(current);
    }
    lines
}

pub(super) fn fit(text: &str, size: f32, width: f32) -> String {
    let max = ((width / (size * AVERAGE_ADVANCE)) as usize).max(3);
    if text.chars().count() <= max {
        text.to_owned()
    } else {
        let mut cut: String = text.chars().take(max - 1).collect();
        cut.push('…');
        cut
    }
}

/// A blank page with its footer ("… — page n").
pub(super) fn footed_page(footer: &str, number: usize) -> Content {
    let mut content = Content::new();
    draw_text(
        &mut content,
        MARGIN,
        30.0,
        7.0,
        REGULAR,
        &format!("{footer} — page {number}"),
    );
    content
}

/// The document's objects: catalogue, page tree, pages, their contents and the two fonts.
pub(super) fn assemble(pages: Vec<Content>, title: &str) -> Vec<u8> {
    let mut pdf = Pdf::new();
    let catalog = Ref::new(1);
    let tree = Ref::new(2);
    let regular = Ref::new(3);
    let bold = Ref::new(4);
    let info = Ref::new(5);
    let first_page = 6;
    let page_ids: Vec<Ref> = (0..pages.len())
        .map(|i| Ref::new(first_page + 2 * i32::try_from(i).unwrap_or(i32::MAX / 4)))
        .collect();
    pdf.catalog(catalog).pages(tree);
    pdf.pages(tree)
        .kids(page_ids.iter().copied())
        .count(i32::try_from(page_ids.len()).unwrap_or(i32::MAX));
    pdf.type1_font(regular)
        .base_font(Name(b"Helvetica"))
        .encoding_predefined(Name(b"WinAnsiEncoding"));
    pdf.type1_font(bold)
        .base_font(Name(b"Helvetica-Bold"))
        .encoding_predefined(Name(b"WinAnsiEncoding"));
    pdf.document_info(info)
        .title(TextStr(title))
        .producer(TextStr("Pledge Tracker"));
    for (content, id) in pages.into_iter().zip(&page_ids) {
        let content_id = Ref::new(id.get() + 1);
        let mut page = pdf.page(*id);
        page.media_box(Rect::new(0.0, 0.0, WIDTH, HEIGHT));
        page.parent(tree);
        page.contents(content_id);
        page.resources()
            .fonts()
            .pair(REGULAR, regular)
            .pair(BOLD, bold);
        page.finish();
        // Page content compresses about tenfold (repeated operators and positions).
        let compressed = miniz_oxide::deflate::compress_to_vec_zlib(&content.finish(), 6);
        pdf.stream(content_id, &compressed)
            .filter(pdf_writer::Filter::FlateDecode);
    }
    pdf.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_encoded_for_the_standard_fonts_and_wrapped_to_the_page() {
        assert_eq!(win_ansi("Défense — 2 € …"), b"D\xe9fense \x97 2 \x80 \x85");
        assert_eq!(win_ansi("−1 ≤ 2"), b"-1 ? 2");
        let lines = wrap(&"word ".repeat(100), 10.0, 200.0);
        assert!(lines.len() > 5 && lines.iter().all(|l| l.chars().count() <= 40));
        assert_eq!(fit("a long participant name", 10.0, 50.0), "a long pa…");
    }
}
