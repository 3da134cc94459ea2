//! One thing wrong with a document a person sent (a framework document, an offline form), with
//! where it is: reported all together, so that every problem can be fixed in one go.

use serde::Serialize;

/// One thing wrong with a document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    /// Where the offending value is: a JSON pointer (`""` for the whole document), or for a
    /// spreadsheet `Sheet!E7` (a cell), `Sheet` or `file`.
    pub path: String,
    /// Catalogue key of what is wrong (`framework.problem.*`, `offline.problem.*`, `field.*`).
    pub key: &'static str,
    /// A fact to show after the message (a code, a parser's report), not translated.
    pub detail: Option<String>,
}

impl Problem {
    pub fn new(path: impl Into<String>, key: &'static str) -> Self {
        Self {
            path: path.into(),
            key,
            detail: None,
        }
    }

    pub fn with(path: impl Into<String>, key: &'static str, detail: impl ToString) -> Self {
        Self {
            path: path.into(),
            key,
            detail: Some(detail.to_string()),
        }
    }
}
