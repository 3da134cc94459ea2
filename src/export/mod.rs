//! Writing a cycle report as a file: CSV (tidy), XLSX (summary, one sheet per section, answers,
//! about), JSON (everything, with a data dictionary) and PDF (cover, method, summary and chart,
//! a page per participant). The writers only lay out what
//! [`crate::domain::report`] computed, so every format carries the pages' figures.

pub mod csv;
pub mod json;
pub mod pdf;
mod xlsx;

use crate::domain::report::FrameworkShape;
use crate::domain::report::comparison::CycleComparison;
use crate::domain::report::export::{ExportRow, ExportStamp};
use crate::presentation::i18n::Lang;

/// A file format for cycle reports.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize, utoipa::ToSchema, clap::ValueEnum,
)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    Csv,
    Xlsx,
    Json,
    Pdf,
}

impl Format {
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Csv => "csv",
            Format::Xlsx => "xlsx",
            Format::Json => "json",
            Format::Pdf => "pdf",
        }
    }

    /// From a form or query value.
    pub fn parse(text: &str) -> Option<Self> {
        match text.trim().to_ascii_lowercase().as_str() {
            "csv" => Some(Format::Csv),
            "xlsx" => Some(Format::Xlsx),
            "json" => Some(Format::Json),
            "pdf" => Some(Format::Pdf),
            _ => None,
        }
    }

    /// Whether the file is sent as it is written (CSV and JSON: the tidy rows come last, a
    /// chunk of participants at a time); XLSX and PDF are built whole.
    pub fn streams(self) -> bool {
        matches!(self, Format::Csv | Format::Json)
    }

    pub fn content_type(self) -> &'static str {
        match self {
            Format::Csv => "text/csv; charset=utf-8",
            Format::Xlsx => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            Format::Json => "application/json",
            Format::Pdf => "application/pdf",
        }
    }
}

/// Everything a file is made from.
pub struct ReportContent<'a> {
    pub stamp: &'a ExportStamp,
    pub report: &'a CycleComparison,
    pub shape: &'a FrameworkShape,
    pub rows: &'a [ExportRow],
    /// The language of the file's texts (headers, labels, sheet names, the PDF's words); the
    /// figures, codes and digests are the same in every language.
    pub lang: Lang,
}

/// A written file.
pub struct ExportFile {
    pub bytes: Vec<u8>,
    pub format: Format,
    /// e.g. `pledge-2026-report.xlsx`: safe in a `Content-Disposition` header.
    pub file_name: String,
}

/// Why a file could not be written.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error("writing CSV failed: {0}")]
    Csv(#[from] ::csv::Error),
    #[error("writing XLSX failed: {0}")]
    Xlsx(#[from] rust_xlsxwriter::XlsxError),
    #[error("writing JSON failed: {0}")]
    Json(#[from] serde_json::Error),
    #[error("writing the file failed: {0}")]
    Io(#[from] std::io::Error),
    #[error("writing a row failed: {0}")]
    Row(#[from] crate::domain::report::export::CellError),
}

/// Writes the report in `format`.
pub fn write(format: Format, content: &ReportContent<'_>) -> Result<ExportFile, ExportError> {
    let bytes = match format {
        Format::Csv => csv::write(content)?,
        Format::Xlsx => xlsx::write(content)?,
        Format::Json => json::write(content)?,
        Format::Pdf => pdf::write(content)?,
    };
    Ok(ExportFile {
        bytes,
        format,
        file_name: file_name(&format!("{}-report", content.stamp.cycle_code), format),
    })
}

/// `pledge-{stem}.{extension}`, with everything but ASCII letters, digits, `-` and `_` in the
/// stem made `-`: safe in a `Content-Disposition` header and on any file system.
pub fn file_name(stem: &str, format: Format) -> String {
    let stem: String = stem
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '-'
            }
        })
        .collect();
    format!("pledge-{stem}.{}", format.as_str())
}
