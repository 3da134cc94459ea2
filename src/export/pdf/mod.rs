//! The reports as PDF. The cycle report: a cover, the method, the summary table with a chart of the
//! distributions, then one page (or more) per participant. Real text in the standard Helvetica
//! fonts (WinAnsi encoding), so the file is searchable and copyable; charts are vector shapes.
//! The progress report follows one participant over cycles.
//!
//! [`layout`] places text on pages; each document has its module.

mod cycle_report;
mod layout;
mod progress_report;

pub use cycle_report::write;
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

/// A plain number (a weight, a target) as `lang` writes decimals.
pub(super) fn plain(lang: Lang, value: crate::domain::scoring::Decimal) -> String {
    crate::presentation::format::figure(lang, value)
}
