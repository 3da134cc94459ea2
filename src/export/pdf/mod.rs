//! The reports as PDF. The cycle report: a cover, the method, the summary table with a chart of the
//! distributions, then one page (or more) per participant. The progress report follows one
//! participant over cycles. Text is real text, searchable and copyable; charts are vector shapes;
//! page content is compressed (FlateDecode).
//!
//! - [`fonts`]: DejaVu Sans regular and bold, embedded and subset to the glyphs a document uses
//!   (Type0/CIDFontType2, Identity-H, a ToUnicode map), so every participant name and every sign
//!   of the method (Σ ≥ ≤ − ÷ ⌊⌋ …) prints as written in any language. The font files and their
//!   licence are in assets/fonts/. A character the font lacks prints as `?` (none of the method's
//!   texts, Latin, Latin Extended, Greek or Cyrillic does).
//! - [`layout`]: a cursor over A4 pages that breaks pages; lines wrap and table cells are cut with
//!   `…` by the glyphs' real widths (the font's `hmtx`).
//! - [`method`]: the method pages are the methodology page (templates/methodology.html, its
//!   `content` block rendered with the same catalogue texts) read back into headings,
//!   paragraphs, lists and tables, so the page and the PDF cannot diverge.
//! - [`cycle_report`], [`progress_report`]: one module per document. Completeness is the API's:
//!   a figure is marked incomplete only when `complete` is false; a complete figure without a
//!   score (every weight 0, nothing applicable) is unranked and shown as "—", not as incomplete.
//!
//! tests/app/pdf.rs reads both files back with a PDF text extractor (lopdf): names outside
//! Latin-1, every text of the methodology page, completeness, and the subset's size (the demo's
//! 36-page cycle report is 144 KB, of which the two subset fonts take 27 KB; it was 96 KB with
//! the standard fonts, which printed "?" for Ș, Ł or Σ).

mod cycle_report;
mod fonts;
mod layout;
mod method;
mod progress_report;

pub use cycle_report::Writer as CycleReportWriter;
pub use progress_report::progress;

use crate::presentation::i18n::Lang;

/// Labels `export.label.{key}` in `lang`.
pub(super) fn label(lang: Lang, key: &str) -> &'static str {
    lang.tr().t_static(&format!("export.label.{key}"))
}

pub(super) fn labels(lang: Lang, keys: &[&str]) -> Vec<String> {
    keys.iter().map(|key| label(lang, key).to_owned()).collect()
}

/// The French text when asked for and present, else the English one.
pub(super) fn localized<'a>(lang: Lang, english: &'a str, french: &'a str) -> &'a str {
    match lang {
        Lang::Fr if !french.trim().is_empty() => french,
        _ => english,
    }
}

/// An answer as a reader of `lang` writes it: yes/no in words, a number with the language's
/// decimal separator and every digit it was given (`12,50` in French). The files meant for
/// machines (CSV, XLSX, JSON) keep the stored text.
pub(super) fn answer_text(lang: Lang, value: &str) -> String {
    match value {
        "yes" => label(lang, "yes").to_owned(),
        "no" => label(lang, "no").to_owned(),
        number if number.parse::<crate::domain::scoring::Decimal>().is_ok() => match lang {
            Lang::Fr => number.replace('.', ","),
            Lang::En => number.to_owned(),
        },
        other => other.to_owned(),
    }
}

/// A plain number (a weight, a target) as `lang` writes decimals.
pub(super) fn plain(lang: Lang, value: crate::domain::scoring::Decimal) -> String {
    crate::presentation::format::figure(lang, value)
}
