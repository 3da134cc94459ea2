//! Text in the product's two languages.

use serde::{Deserialize, Serialize};

/// A text in English and (optionally) French; French falls back to English when empty.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LocalizedText {
    pub en: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub fr: String,
}

impl LocalizedText {
    /// The text in `lang` ("fr" or anything else for English), falling back to English.
    pub fn get(&self, lang: &str) -> &str {
        if lang == "fr" && !self.fr.trim().is_empty() {
            &self.fr
        } else {
            &self.en
        }
    }
}
