//! Presentation: how figures, dates and texts read, in the reader's language.
//!
//! The ground floor under every output — pages ([`crate::web`]), export files
//! ([`crate::export`]) and offline workbooks ([`crate::offline`]) — so that a figure, a date or a
//! chart reads the same wherever it appears:
//! - [`i18n`]: the translation catalogue (English and French) and the [`i18n::Lang`] type;
//! - [`format`]: scores, percentages, dates and moments, with the language's conventions;
//! - [`charts`]: server-rendered SVG charts (heat map, bars, lines, box plots).
//!
//! Nothing here does I/O or knows about HTTP; which language a request asks for is decided in
//! `web::locale`.

pub mod charts;
pub mod format;
pub mod i18n;
