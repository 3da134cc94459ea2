//! The translation catalogue: every user-facing string, in English and French.
//!
//! The catalogue files are `i18n/en.json` and `i18n/fr.json` (flat maps from key to text), built
//! into the binary. A unit test keeps both complete and every key used by the templates present.

use std::collections::HashMap;
use std::sync::LazyLock;

/// A language of the product.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Lang {
    #[default]
    En,
    Fr,
}

impl Lang {
    /// Every language, in the order the language switch shows them.
    pub const ALL: [Lang; 2] = [Lang::En, Lang::Fr];

    /// The BCP 47 tag (`en`, `fr`).
    pub fn code(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::Fr => "fr",
        }
    }

    /// Reads a tag such as `fr` or `fr-BE`.
    pub fn parse(tag: &str) -> Option<Self> {
        let primary = tag.trim().split(['-', '_']).next()?.to_ascii_lowercase();
        match primary.as_str() {
            "en" => Some(Lang::En),
            "fr" => Some(Lang::Fr),
            _ => None,
        }
    }

    /// The translator for this language.
    pub fn tr(self) -> Tr {
        Tr { lang: self }
    }
}

type Catalogue = HashMap<String, String>;

fn load(source: &str, name: &str) -> Catalogue {
    // The files are part of the binary and checked by tests; a broken file is a build defect.
    serde_json::from_str(source).unwrap_or_else(|error| panic!("i18n/{name}.json: {error}")) // allowed: build-time data
}

static EN: LazyLock<Catalogue> = LazyLock::new(|| load(include_str!("../../i18n/en.json"), "en"));
static FR: LazyLock<Catalogue> = LazyLock::new(|| load(include_str!("../../i18n/fr.json"), "fr"));

/// Looks up texts in one language; handed to every template as `tr`.
#[derive(Debug, Clone, Copy)]
pub struct Tr {
    lang: Lang,
}

impl Tr {
    /// The language of this translator.
    pub fn lang(&self) -> Lang {
        self.lang
    }

    /// The text for `key`; a missing key shows itself (and the catalogue test fails).
    pub fn t<'a>(&self, key: &'a str) -> &'a str {
        let catalogue: &'static Catalogue = match self.lang {
            Lang::En => &EN,
            Lang::Fr => &FR,
        };
        catalogue
            .get(key)
            .or_else(|| EN.get(key))
            .map(String::as_str)
            .unwrap_or(key)
    }

    /// The text for `key`, for keys computed at run time (empty when the key is missing; the
    /// catalogue tests catch that).
    pub fn t_static(&self, key: &str) -> &'static str {
        let catalogue: &'static Catalogue = match self.lang {
            Lang::En => &EN,
            Lang::Fr => &FR,
        };
        let english: &'static Catalogue = &EN;
        catalogue
            .get(key)
            .or_else(|| english.get(key))
            .map_or("", String::as_str)
    }

    /// The text for `key` with `{name}` placeholders replaced.
    pub fn fmt(&self, key: &str, args: &[(&str, &str)]) -> String {
        args.iter()
            .fold(self.t(key).to_owned(), |text, (name, value)| {
                text.replace(&format!("{{{name}}}"), value)
            })
    }
}

/// The catalogue's own copy of `key`, for messages chosen at run time that must outlive the
/// text they were chosen from.
pub fn catalogue_key(key: &str) -> Option<&'static str> {
    let english: &'static Catalogue = &EN;
    english.get_key_value(key).map(|(key, _)| key.as_str())
}

/// Every key of a catalogue, for the completeness tests.
pub fn keys(lang: Lang) -> Vec<&'static str> {
    let catalogue: &'static Catalogue = match lang {
        Lang::En => &EN,
        Lang::Fr => &FR,
    };
    let mut keys: Vec<&str> = catalogue.keys().map(String::as_str).collect();
    keys.sort_unstable();
    keys
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn english_and_french_catalogues_have_the_same_keys_and_no_empty_text() {
        assert_eq!(keys(Lang::En), keys(Lang::Fr));
        for lang in Lang::ALL {
            for key in keys(lang) {
                assert!(
                    !lang.tr().t(key).trim().is_empty(),
                    "{key} is empty in {lang:?}"
                );
            }
        }
    }

    #[test]
    fn every_key_the_templates_use_is_in_the_catalogue() {
        let known = keys(Lang::En);
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/templates");
        let mut checked = 0;
        for entry in std::fs::read_dir(dir).unwrap() {
            let text = std::fs::read_to_string(entry.unwrap().path()).unwrap();
            for (_, rest) in text
                .match_indices("tr.t(\"")
                .map(|(i, _)| ((), &text[i + 6..]))
            {
                let key = &rest[..rest.find('"').unwrap()];
                assert!(
                    known.contains(&key),
                    "template key {key} is not in the catalogue"
                );
                checked += 1;
            }
        }
        assert!(checked > 10, "the scan found only {checked} keys");
    }

    #[test]
    fn every_message_key_the_code_names_is_in_the_catalogue() {
        let known = keys(Lang::En);
        let mut checked = 0;
        let mut dirs = vec![std::path::PathBuf::from(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/src"
        ))];
        while let Some(dir) = dirs.pop() {
            for entry in std::fs::read_dir(dir).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    dirs.push(path);
                    continue;
                }
                let text = std::fs::read_to_string(&path).unwrap();
                for prefix in ["\"field.", "\"error."] {
                    for (index, _) in text.match_indices(prefix) {
                        let rest = &text[index + 1..];
                        let key = &rest[..rest.find('"').unwrap()];
                        if key.ends_with('.') || key.contains('{') || key.ends_with(".html") {
                            continue;
                        }
                        assert!(
                            known.contains(&key),
                            "{key} (in {}) is not in the catalogue",
                            path.display()
                        );
                        checked += 1;
                    }
                }
            }
        }
        assert!(checked > 10, "the scan found only {checked} keys");
    }

    #[test]
    fn placeholders_are_filled() {
        let text = Lang::En.tr().fmt("error.status", &[("status", "404")]);
        assert!(text.contains("404"), "{text}");
    }
}
