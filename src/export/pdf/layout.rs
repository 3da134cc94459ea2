//! Laying out text on A4 pages: a cursor that breaks pages, text in the embedded fonts
//! ([`super::fonts`]), wrapping and cutting by the glyphs' real widths, and the document's
//! assembly.

use pdf_writer::{Content, Finish, Pdf, Rect, Ref, Str, TextStr};

pub(super) use super::fonts::Font;
use super::fonts::{Fonts, OBJECTS_PER_FONT, width};

pub(super) const WIDTH: f32 = 595.0;
pub(super) const HEIGHT: f32 = 842.0;
pub(super) const MARGIN: f32 = 50.0;
pub(super) const REGULAR: Font = Font::Regular;
pub(super) const BOLD: Font = Font::Bold;

/// The document's objects: the catalogue, the page tree, the information, the two fonts, then
/// each page and its content (written as pages fill, in any order: the cross-reference table
/// is sorted when the document is finished).
const CATALOG: Ref = Ref::new(1);
const TREE: Ref = Ref::new(2);
const INFO: Ref = Ref::new(3);
const REGULAR_FONT: Ref = Ref::new(4);
const BOLD_FONT: Ref = Ref::new(4 + OBJECTS_PER_FONT);
const FIRST_PAGE: i32 = 4 + 2 * OBJECTS_PER_FONT;

/// Pages being laid out: a cursor that starts a new page when the next line does not fit.
///
/// A full page is compressed and written into the document at once ([`Layout::new_page`]), so
/// the layout holds the document as written so far (compressed) and one page being written,
/// never every page's content: a cycle report of thousands of pages is laid out in the memory
/// of its compressed file. The fonts are written last, cut down to the glyphs the pages used.
pub(super) struct Layout {
    /// The document so far: every full page and its compressed content.
    pdf: Pdf,
    /// The pages written, in order.
    pages: Vec<Ref>,
    /// The page being written.
    current: Content,
    pub(super) y: f32,
    footer: String,
    fonts: Fonts,
}

impl Layout {
    pub(super) fn new(footer: String) -> Self {
        let mut fonts = Fonts::default();
        let current = footed_page(&mut fonts, &footer, 1);
        Self {
            pdf: Pdf::new(),
            pages: Vec::new(),
            current,
            y: HEIGHT - MARGIN,
            footer,
            fonts,
        }
    }

    pub(super) fn new_page(&mut self) {
        let next = footed_page(&mut self.fonts, &self.footer, self.pages.len() + 2);
        let full = std::mem::replace(&mut self.current, next);
        self.write_page(full);
        self.y = HEIGHT - MARGIN;
    }

    /// Writes a full page and its compressed content into the document.
    fn write_page(&mut self, content: Content) {
        let index = i32::try_from(self.pages.len()).unwrap_or(i32::MAX / 4);
        let id = Ref::new(FIRST_PAGE + 2 * index);
        let content_id = Ref::new(id.get() + 1);
        let mut page = self.pdf.page(id);
        page.media_box(Rect::new(0.0, 0.0, WIDTH, HEIGHT));
        page.parent(TREE);
        page.contents(content_id);
        page.resources()
            .fonts()
            .pair(REGULAR.resource(), REGULAR_FONT)
            .pair(BOLD.resource(), BOLD_FONT);
        page.finish();
        // Page content compresses about tenfold (repeated operators and positions).
        let compressed = miniz_oxide::deflate::compress_to_vec_zlib(&content.finish(), 6);
        self.pdf
            .stream(content_id, &compressed)
            .filter(pdf_writer::Filter::FlateDecode);
        self.pages.push(id);
    }

    /// Makes room for `height` points, on a new page if needed.
    pub(super) fn room(&mut self, height: f32) {
        if self.y - height < MARGIN {
            self.new_page();
        }
    }

    /// The page being written, for shapes.
    pub(super) fn page(&mut self) -> &mut Content {
        &mut self.current
    }

    /// `text` with its baseline at (`x`, `y`) on the page being written.
    pub(super) fn text(&mut self, x: f32, y: f32, size: f32, font: Font, text: &str) {
        draw_text(&mut self.current, &mut self.fonts, x, y, size, font, text);
    }

    /// One line at the cursor (wrapped should it be wider than the page: nothing is cut).
    pub(super) fn line(&mut self, size: f32, font: Font, text: &str) {
        self.wrapped(size, font, 0.0, text);
    }

    /// A paragraph wrapped to the page width.
    pub(super) fn paragraph(&mut self, size: f32, text: &str) {
        self.wrapped(size, REGULAR, 0.0, text);
        self.y -= size * 0.6;
    }

    /// Lines of `text` wrapped to the page width less `indent`, at `indent`.
    pub(super) fn wrapped(&mut self, size: f32, font: Font, indent: f32, text: &str) {
        for line in wrap(font, text, size, WIDTH - 2.0 * MARGIN - indent) {
            self.room(size * 1.4);
            self.y -= size * 1.4;
            let y = self.y;
            self.text(MARGIN + indent, y, size, font, &line);
        }
    }

    /// A list item: a bullet, and the text wrapped beside it.
    pub(super) fn bullet(&mut self, size: f32, text: &str) {
        let indent = size * 1.6;
        self.room(size * 1.4);
        let y = self.y - size * 1.4;
        self.text(MARGIN + size * 0.4, y, size, REGULAR, "•");
        self.wrapped(size, REGULAR, indent, text);
        self.y -= size * 0.3;
    }

    /// A table row: each cell at its column's x offset, cut to fit.
    pub(super) fn row(&mut self, size: f32, font: Font, columns: &[f32], cells: &[String]) {
        self.room(size * 1.5);
        self.y -= size * 1.5;
        let y = self.y;
        for (index, (x, cell)) in columns.iter().zip(cells).enumerate() {
            let next = columns.get(index + 1).copied().unwrap_or(WIDTH - MARGIN);
            let fitted = fit(font, cell, size, next - x - 4.0);
            self.text(MARGIN + x, y, size, font, &fitted);
        }
    }

    /// A table row whose cells wrap within their columns (nothing is cut): the row is as tall
    /// as its longest cell. Each cell comes with its font.
    pub(super) fn wrapped_row(&mut self, size: f32, columns: &[f32], cells: &[(Font, String)]) {
        let lines: Vec<Vec<String>> = columns
            .iter()
            .zip(cells)
            .enumerate()
            .map(|(index, (x, (font, cell)))| {
                let next = columns
                    .get(index + 1)
                    .copied()
                    .unwrap_or(WIDTH - 2.0 * MARGIN);
                wrap(*font, cell, size, next - x - 6.0)
            })
            .collect();
        let height = lines.iter().map(Vec::len).max().unwrap_or(1).max(1) as f32 * size * 1.4;
        self.room(height + size * 0.4);
        let top = self.y;
        for ((x, (font, _)), cell_lines) in columns.iter().zip(cells).zip(&lines) {
            for (n, line) in cell_lines.iter().enumerate() {
                let y = top - (n + 1) as f32 * size * 1.4;
                self.text(MARGIN + x, y, size, *font, line);
            }
        }
        self.y = top - height - size * 0.4;
    }

    pub(super) fn gap(&mut self, points: f32) {
        self.y -= points;
    }

    /// The document: the last page, the page tree, and the fonts cut down to the glyphs used.
    pub(super) fn finish(mut self, title: &str) -> Vec<u8> {
        let last = std::mem::replace(&mut self.current, Content::new());
        self.write_page(last);
        let Self {
            mut pdf,
            pages,
            fonts,
            ..
        } = self;
        pdf.catalog(CATALOG).pages(TREE);
        pdf.pages(TREE)
            .kids(pages.iter().copied())
            .count(i32::try_from(pages.len()).unwrap_or(i32::MAX));
        pdf.document_info(INFO)
            .title(TextStr(title))
            .producer(TextStr("Pledge Tracker"));
        fonts.write(&mut pdf, REGULAR_FONT, BOLD_FONT);
        pdf.finish()
    }
}

fn draw_text(
    content: &mut Content,
    fonts: &mut Fonts,
    x: f32,
    y: f32,
    size: f32,
    font: Font,
    text: &str,
) {
    content.begin_text();
    content.set_font(font.resource(), size);
    content.next_line(x, y);
    content.show(Str(&fonts.encode(font, text)));
    content.end_text();
}

/// `text` in lines no wider than `max` points: words kept whole where they fit, a word longer
/// than a line broken where it must be.
pub(super) fn wrap(font: Font, text: &str, size: f32, max: f32) -> Vec<String> {
    let space = width(font, " ", size);
    let mut lines = Vec::new();
    let mut current = String::new();
    let mut current_width = 0.0;
    for word in text.split_whitespace() {
        let word_width = width(font, word, size);
        if !current.is_empty() && current_width + space + word_width > max {
            lines.push(std::mem::take(&mut current));
            current_width = 0.0;
        }
        if current.is_empty() && word_width > max {
            // Too long for any line: as many characters as fit, line after line.
            let mut rest = word;
            while width(font, rest, size) > max {
                let cut = rest
                    .char_indices()
                    .skip(1)
                    .take_while(|(i, _)| width(font, &rest[..*i], size) <= max)
                    .last()
                    .map_or_else(|| rest.chars().next().map_or(1, char::len_utf8), |(i, _)| i);
                lines.push(rest[..cut].to_owned());
                rest = &rest[cut..];
            }
            current.push_str(rest);
            current_width = width(font, rest, size);
            continue;
        }
        if !current.is_empty() {
            current.push(' ');
            current_width += space;
        }
        current.push_str(word);
        current_width += word_width;
    }
    if !current.is_empty() {
        lines.push(current);
    }
    lines
}

/// `text` as it fits in `max` points: whole, or cut with `…`.
pub(super) fn fit(font: Font, text: &str, size: f32, max: f32) -> String {
    if width(font, text, size) <= max {
        return text.to_owned();
    }
    let room = max - width(font, "…", size);
    let mut cut = String::new();
    let mut used = 0.0;
    for c in text.chars() {
        let advance = width(font, c.encode_utf8(&mut [0; 4]), size);
        if used + advance > room {
            break;
        }
        used += advance;
        cut.push(c);
    }
    format!("{}…", cut.trim_end())
}

/// A blank page with its footer ("… — page n").
fn footed_page(fonts: &mut Fonts, footer: &str, number: usize) -> Content {
    let mut content = Content::new();
    draw_text(
        &mut content,
        fonts,
        MARGIN,
        30.0,
        7.0,
        REGULAR,
        &format!("{footer} — page {number}"),
    );
    content
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_wrap_and_cut_by_the_glyphs_real_widths() {
        let max = 200.0;
        let lines = wrap(REGULAR, &"word ".repeat(100), 10.0, max);
        assert!(lines.len() > 5);
        assert!(lines.iter().all(|l| width(REGULAR, l, 10.0) <= max));
        // Narrow letters fit more to a line than wide ones.
        let narrow = wrap(REGULAR, &"il ".repeat(200), 10.0, max);
        let wide = wrap(REGULAR, &"MW ".repeat(200), 10.0, max);
        assert!(narrow.len() * 2 < wide.len());
        // A word longer than a line is broken, nothing lost.
        let long = "Ł".repeat(80);
        let broken = wrap(BOLD, &long, 10.0, 100.0);
        assert!(broken.len() > 1 && broken.concat() == long);
        let cut = fit(
            REGULAR,
            "Țară Českå Łódź Győr, a long participant name",
            10.0,
            80.0,
        );
        assert!(cut.starts_with("Țară") && cut.ends_with('…'));
        assert!(width(REGULAR, &cut, 10.0) <= 80.0);
        assert_eq!(fit(REGULAR, "Győr", 10.0, 80.0), "Győr");
    }
}
