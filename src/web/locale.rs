//! Which language a request asks for: the user's cookie, else the browser's preference.

use axum::extract::FromRequestParts;
use axum::http::HeaderMap;
use axum::http::header::{ACCEPT_LANGUAGE, COOKIE};
use axum::http::request::Parts;

use crate::presentation::i18n::Lang;

/// Name of the cookie that keeps the user's choice of language.
pub const LANG_COOKIE: &str = "pledge_lang";

/// The user's language: the cookie they chose, else the browser's preference, else English.
pub fn from_headers(headers: &HeaderMap) -> Lang {
    cookie_value(headers, LANG_COOKIE)
        .and_then(|value| Lang::parse(&value))
        .or_else(|| from_accept_language(headers))
        .unwrap_or_default()
}

/// Handlers take the page's language as an argument.
impl<S: Send + Sync> FromRequestParts<S> for Lang {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(from_headers(&parts.headers))
    }
}

/// The value of one cookie from the request's `Cookie` headers.
pub fn cookie_value(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value.to_owned())
}

/// The first supported language in `Accept-Language`, by descending quality.
fn from_accept_language(headers: &HeaderMap) -> Option<Lang> {
    let header = headers.get(ACCEPT_LANGUAGE)?.to_str().ok()?;
    let mut ranges: Vec<(f32, Lang)> = header
        .split(',')
        .filter_map(|range| {
            let mut parts = range.split(';');
            let lang = Lang::parse(parts.next()?)?;
            let quality = parts
                .find_map(|param| param.trim().strip_prefix("q="))
                .and_then(|q| q.parse::<f32>().ok())
                .unwrap_or(1.0);
            Some((quality, lang))
        })
        .collect();
    ranges.sort_by(|a, b| b.0.total_cmp(&a.0));
    ranges.first().map(|(_, lang)| *lang)
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn the_cookie_wins_over_the_browser_preference() {
        let mut headers = HeaderMap::new();
        headers.insert(
            ACCEPT_LANGUAGE,
            HeaderValue::from_static("fr-CA,fr;q=0.9,en;q=0.5"),
        );
        assert_eq!(from_headers(&headers), Lang::Fr);
        headers.insert(COOKIE, HeaderValue::from_static("a=b; pledge_lang=en"));
        assert_eq!(from_headers(&headers), Lang::En);
    }

    #[test]
    fn accept_language_is_read_by_quality() {
        let mut headers = HeaderMap::new();
        headers.insert(
            ACCEPT_LANGUAGE,
            HeaderValue::from_static("de, en;q=0.4, fr;q=0.8"),
        );
        assert_eq!(from_headers(&headers), Lang::Fr);
    }
}
