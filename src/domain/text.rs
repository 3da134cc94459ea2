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

/// The one rule for every text a person sends (forms, the API's JSON, query strings): no control
/// character (Unicode `Cc`: U+0000–U+001F, U+007F–U+009F) except the tab, the line feed, and a
/// carriage return that starts a line break (CR LF, as browsers send a multi-line field). NUL is
/// therefore always refused. Returns the first refused character, if any.
pub fn refused_control(text: &str) -> Option<char> {
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        let allowed = match c {
            '\t' | '\n' => true,
            '\r' => chars.peek() == Some(&'\n'),
            other => !other.is_control(),
        };
        if !allowed {
            return Some(c);
        }
    }
    None
}

/// Characters that show nothing: white space and the zero-width ones (U+200B–U+200D, U+2060,
/// U+FEFF). A required text made only of these is empty.
pub fn is_invisible(c: char) -> bool {
    c.is_whitespace() || matches!(c, '\u{200b}'..='\u{200d}' | '\u{2060}' | '\u{feff}')
}

/// Whether a text is empty once invisible characters are left out.
pub fn is_blank(text: &str) -> bool {
    text.chars().all(is_invisible)
}

/// A text with invisible characters trimmed at both ends.
pub fn trim_invisible(text: &str) -> &str {
    text.trim_matches(is_invisible)
}

/// A text shown back to its author with each refused control character made visible (the
/// Unicode control pictures, e.g. `␀` for NUL), so the rest of the input is kept.
pub fn show_controls(text: &str) -> String {
    let mut shown = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        let refused = match c {
            '\t' | '\n' => false,
            '\r' => chars.peek() != Some(&'\n'),
            other => other.is_control(),
        };
        if !refused {
            shown.push(c);
        } else if (c as u32) < 0x20 {
            shown.push(char::from_u32(0x2400 + c as u32).unwrap_or('\u{fffd}'));
        } else if c == '\u{7f}' {
            shown.push('\u{2421}');
        } else {
            shown.push('\u{fffd}');
        }
    }
    shown
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_are_refused_except_tab_newline_and_crlf() {
        assert_eq!(refused_control("plain text, accents é, 漢字"), None);
        assert_eq!(refused_control("a\tb\nc\r\nd"), None);
        assert_eq!(refused_control("a\0b"), Some('\0'));
        assert_eq!(refused_control("a\rb"), Some('\r'));
        assert_eq!(refused_control("end\r"), Some('\r'));
        assert_eq!(refused_control("\u{1b}[31m"), Some('\u{1b}'));
        assert_eq!(refused_control("\u{7f}"), Some('\u{7f}'));
        assert_eq!(refused_control("\u{85}"), Some('\u{85}'));
        assert_eq!(show_controls("a\0b\r\nc\u{7}"), "a\u{2400}b\r\nc\u{2407}");
    }

    #[test]
    fn zero_width_and_white_space_only_is_blank() {
        assert!(is_blank(
            " \u{200b}\u{200c}\u{200d}\u{2060}\u{feff}\u{a0}\t"
        ));
        assert!(!is_blank("\u{200b}x"));
        assert_eq!(trim_invisible("\u{feff} Goal \u{200b}"), "Goal");
    }
}
