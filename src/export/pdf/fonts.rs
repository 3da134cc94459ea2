//! The embedded fonts: DejaVu Sans, regular and bold (assets/fonts/, Bitstream Vera licence
//! with DejaVu's public-domain changes, in assets/fonts/LICENSE-DejaVu.txt). They cover Latin,
//! Latin Extended, Greek, Cyrillic and the signs the method writes (Σ ≥ ≤ − — € ÷ ⌊ ⌋ ₍ ₎), so
//! every name and text prints as written.
//!
//! Text is written glyph by glyph: each character is looked up in the font's `cmap`, its glyph
//! gets the next free id of the subset (a [`GlyphRemapper`]), and the content stream shows
//! those ids as two-byte codes. When the document is assembled, each font is cut down to the
//! glyphs used (`subsetter`) and embedded as a Type0 font over a CIDFontType2 (TrueType
//! outlines) with Identity-H encoding, its glyph widths, and a ToUnicode CMap from each glyph
//! back to its character, so the text stays searchable and copyable. Widths for wrapping and
//! fitting are the font's own advances (`hmtx`), not an estimate.

use std::sync::LazyLock;

use pdf_writer::types::{CidFontType, FontFlags, SystemInfo, UnicodeCmap};
use pdf_writer::{Filter, Finish, Name, Pdf, Rect, Ref, Str};
use subsetter::GlyphRemapper;
use ttf_parser::{Face, GlyphId};

static REGULAR_DATA: &[u8] = include_bytes!("../../../assets/fonts/DejaVuSans.ttf");
static BOLD_DATA: &[u8] = include_bytes!("../../../assets/fonts/DejaVuSans-Bold.ttf");

/// The parsed faces; `None` only if a file shipped in the binary were broken (a unit test
/// parses both), in which case text is drawn with no glyph rather than failing the request.
static REGULAR_FACE: LazyLock<Option<Face<'static>>> =
    LazyLock::new(|| Face::parse(REGULAR_DATA, 0).ok());
static BOLD_FACE: LazyLock<Option<Face<'static>>> =
    LazyLock::new(|| Face::parse(BOLD_DATA, 0).ok());

/// One of the two faces the documents use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Font {
    Regular,
    Bold,
}

impl Font {
    /// The resource name pages use for this font.
    pub(super) fn resource(self) -> Name<'static> {
        match self {
            Font::Regular => Name(b"F1"),
            Font::Bold => Name(b"F2"),
        }
    }

    fn data(self) -> &'static [u8] {
        match self {
            Font::Regular => REGULAR_DATA,
            Font::Bold => BOLD_DATA,
        }
    }

    fn face(self) -> Option<&'static Face<'static>> {
        match self {
            Font::Regular => REGULAR_FACE.as_ref(),
            Font::Bold => BOLD_FACE.as_ref(),
        }
    }

    /// The PostScript name, with the subset tag PDF asks for (six capitals and `+`).
    fn base_name(self) -> &'static [u8] {
        match self {
            Font::Regular => b"PLEDGA+DejaVuSans",
            Font::Bold => b"PLEDGB+DejaVuSans-Bold",
        }
    }
}

/// The glyph for `c` in `face`: the character itself, else a look-alike (spaces of other
/// widths print as a space), else `?`.
fn glyph(face: &Face<'_>, c: char) -> GlyphId {
    face.glyph_index(c)
        .or_else(|| {
            let substitute = if c.is_whitespace() { ' ' } else { '?' };
            face.glyph_index(substitute)
        })
        .unwrap_or(GlyphId(0))
}

/// The glyphs one face has shown so far.
#[derive(Default)]
struct Used {
    remapper: GlyphRemapper,
    /// For each new glyph id (its index), the character it was first drawn for.
    text: Vec<Option<char>>,
}

/// The glyphs used by a document, per face.
#[derive(Default)]
pub(super) struct Fonts {
    regular: Used,
    bold: Used,
}

impl Fonts {
    fn used(&mut self, font: Font) -> &mut Used {
        match font {
            Font::Regular => &mut self.regular,
            Font::Bold => &mut self.bold,
        }
    }

    /// `text` as the two-byte glyph codes of the subset, noting every glyph it needs.
    pub(super) fn encode(&mut self, font: Font, text: &str) -> Vec<u8> {
        let Some(face) = font.face() else {
            return Vec::new();
        };
        let used = self.used(font);
        let mut codes = Vec::with_capacity(text.len() * 2);
        for c in text.chars() {
            let new = used.remapper.remap(glyph(face, c).0);
            let index = usize::from(new);
            if used.text.len() <= index {
                used.text.resize(index + 1, None);
            }
            used.text[index].get_or_insert(c);
            codes.extend_from_slice(&new.to_be_bytes());
        }
        codes
    }

    /// Writes both fonts (only the glyphs used) into `pdf`: each font takes its Type0 object's
    /// id and the [`OBJECTS_PER_FONT`] − 1 after it (CID font, descriptor, font file,
    /// ToUnicode, and a CIDToGIDMap should subsetting fail).
    pub(super) fn write(&self, pdf: &mut Pdf, regular: Ref, bold: Ref) {
        write_font(pdf, Font::Regular, &self.regular, regular);
        write_font(pdf, Font::Bold, &self.bold, bold);
    }
}

/// The width of `text` at `size` points, from the font's advances.
pub(super) fn width(font: Font, text: &str, size: f32) -> f32 {
    let Some(face) = font.face() else {
        return text.chars().count() as f32 * size * 0.55;
    };
    let units: u32 = text
        .chars()
        .map(|c| u32::from(face.glyph_hor_advance(glyph(face, c)).unwrap_or(0)))
        .sum();
    units as f32 * size / f32::from(face.units_per_em())
}

/// Whether the font has a glyph of its own for `c`.
#[cfg(test)]
pub(super) fn covers(font: Font, c: char) -> bool {
    font.face().and_then(|face| face.glyph_index(c)).is_some()
}

/// Object ids one font takes, starting at its Type0 object.
pub(super) const OBJECTS_PER_FONT: i32 = 6;

fn write_font(pdf: &mut Pdf, font: Font, used: &Used, type0: Ref) {
    let cid = Ref::new(type0.get() + 1);
    let descriptor = Ref::new(type0.get() + 2);
    let file = Ref::new(type0.get() + 3);
    let to_unicode = Ref::new(type0.get() + 4);
    let Some(face) = font.face() else {
        return;
    };
    let name = Name(font.base_name());
    let per_unit = 1000.0 / f32::from(face.units_per_em());

    pdf.type0_font(type0)
        .base_font(name)
        .encoding_predefined(Name(b"Identity-H"))
        .descendant_font(cid)
        .to_unicode(to_unicode);

    // The subset keeps the new glyph ids, so a CID is its glyph id. Should subsetting fail, the
    // whole font is embedded and a CIDToGIDMap leads each CID back to the original glyph.
    let old_ids: Vec<u16> = used.remapper.remapped_gids().collect();
    let subset = subsetter::subset(font.data(), 0, &used.remapper).ok();
    let mut cid_font = pdf.cid_font(cid);
    cid_font
        .subtype(CidFontType::Type2)
        .base_font(name)
        .system_info(SYSTEM_INFO)
        .font_descriptor(descriptor)
        .default_width(0.0);
    cid_font.widths().consecutive(
        0,
        old_ids
            .iter()
            .map(|old| f32::from(face.glyph_hor_advance(GlyphId(*old)).unwrap_or(0)) * per_unit),
    );
    let map_stream = Ref::new(type0.get() + 5);
    if subset.is_some() {
        cid_font.cid_to_gid_map_predefined(Name(b"Identity"));
    } else {
        cid_font.cid_to_gid_map_stream(map_stream);
    }
    cid_font.finish();

    let bbox = face.global_bounding_box();
    let scale = |v: i16| f32::from(v) * per_unit;
    pdf.font_descriptor(descriptor)
        .name(name)
        .flags(FontFlags::NON_SYMBOLIC)
        .bbox(Rect::new(
            scale(bbox.x_min),
            scale(bbox.y_min),
            scale(bbox.x_max),
            scale(bbox.y_max),
        ))
        .italic_angle(0.0)
        .ascent(scale(face.ascender()))
        .descent(scale(face.descender()))
        .cap_height(scale(face.capital_height().unwrap_or(face.ascender())))
        .stem_v(if font == Font::Bold { 140.0 } else { 80.0 })
        .font_file2(file);

    let program = subset.as_deref().unwrap_or(font.data());
    let compressed = miniz_oxide::deflate::compress_to_vec_zlib(program, 6);
    pdf.stream(file, &compressed)
        .filter(Filter::FlateDecode)
        .pair(
            Name(b"Length1"),
            i32::try_from(program.len()).unwrap_or(i32::MAX),
        );
    if subset.is_none() {
        let map: Vec<u8> = old_ids.iter().flat_map(|old| old.to_be_bytes()).collect();
        pdf.stream(map_stream, &map);
    }

    let mut cmap = UnicodeCmap::new(Name(b"Pledge-UTF16"), SYSTEM_INFO);
    for (new, c) in used.text.iter().enumerate() {
        if let (Ok(new), Some(c)) = (u16::try_from(new), c) {
            cmap.pair(new, *c);
        }
    }
    pdf.cmap(to_unicode, &cmap.finish());
}

const SYSTEM_INFO: SystemInfo<'static> = SystemInfo {
    registry: Str(b"Adobe"),
    ordering: Str(b"Identity"),
    supplement: 0,
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_faces_parse_and_cover_latin_extended_and_the_method_signs() {
        for font in [Font::Regular, Font::Bold] {
            assert!(font.face().is_some());
            for c in "Țară Českå Łódź Győr șőŒœ Σ ≥ ≤ − — € … ÷ · ⌊ ⌋ ₍ ₎ ’ « » \u{a0}".chars()
            {
                assert!(covers(font, c), "{c:?} in {font:?}");
            }
        }
        assert!(width(Font::Bold, "Mm", 10.0) > width(Font::Regular, "Mm", 10.0));
        assert!(width(Font::Regular, "iiii", 10.0) < width(Font::Regular, "MMMM", 10.0));
    }

    #[test]
    fn glyphs_get_subset_ids_in_order_of_first_use() {
        let mut fonts = Fonts::default();
        let first = fonts.encode(Font::Regular, "ŁaŁ");
        // .notdef is 0; Ł is 1, a is 2.
        assert_eq!(first, [0, 1, 0, 2, 0, 1]);
        assert_eq!(fonts.regular.text, [None, Some('Ł'), Some('a')]);
        assert!(fonts.bold.text.is_empty());
    }
}
