//! One-time messages after an action (post/redirect/get): a handler answers with a redirect
//! that carries a message, and the next page shown says it once ("Answer 1.2 saved").
//!
//! The message travels in a short-lived cookie holding a catalogue key under `flash.` and at
//! most one argument; the page reads it through [`PageContext`](super::PageContext) and the
//! [`clear`] layer removes the cookie once a page (not another redirect) has been answered. Only
//! catalogue keys are shown, so a forged cookie can show nothing but one of our own messages.

use axum::extract::Request;
use axum::http::HeaderValue;
use axum::http::header::{LOCATION, SET_COOKIE};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::presentation::i18n::{Tr, catalogue_key};
use crate::web::locale::cookie_value;

/// The cookie's name. It holds no secret, only which message to show.
pub const FLASH_COOKIE: &str = "pledge_flash";

/// A message for the next page: a catalogue key under `flash.` and the text for its `{arg}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Flash {
    key: &'static str,
    arg: String,
}

impl Flash {
    /// A message with no argument. `key` must be a catalogue key under `flash.`.
    pub fn new(key: &'static str) -> Self {
        Self::with(key, "")
    }

    /// A message whose `{arg}` placeholder reads `arg` (a goal code, a cycle's name).
    pub fn with(key: &'static str, arg: impl Into<String>) -> Self {
        let mut arg: String = arg.into();
        // A cookie stays small: names and codes are short, anything longer is cut.
        if let Some((cut, _)) = arg.char_indices().nth(120) {
            arg.truncate(cut);
        }
        Self { key, arg }
    }

    /// The message in the page's language.
    pub fn text(&self, tr: &Tr) -> String {
        tr.fmt(self.key, &[("arg", &self.arg)])
    }

    /// Reads the message a request carries, if it names a known `flash.` key.
    pub fn from_headers(headers: &axum::http::HeaderMap) -> Option<Self> {
        let raw = cookie_value(headers, FLASH_COOKIE)?;
        let mut key = None;
        let mut arg = String::new();
        for (name, value) in form_urlencoded::parse(raw.as_bytes()) {
            match name.as_ref() {
                "k" => key = Some(value.into_owned()),
                "a" => arg = value.into_owned(),
                _ => {}
            }
        }
        let key = catalogue_key(&key?).filter(|key| key.starts_with("flash."))?;
        Some(Self::with(key, arg))
    }

    fn cookie(&self, secure: bool) -> String {
        let value: String = form_urlencoded::Serializer::new(String::new())
            .append_pair("k", self.key)
            .append_pair("a", &self.arg)
            .finish();
        // Percent-encode what form encoding leaves that a cookie value may not hold.
        let value = value.replace('+', "%20");
        let secure = if secure { "; Secure" } else { "" };
        format!("{FLASH_COOKIE}={value}; Path=/; HttpOnly; SameSite=Lax; Max-Age=300{secure}")
    }
}

/// A `303 See Other` to `location` (a path of ours) that shows `flash` on the page it leads to.
pub fn redirect(location: &str, flash: Flash, secure: bool) -> Response {
    let mut response = axum::response::Redirect::to(location).into_response();
    if let Ok(value) = HeaderValue::from_str(&flash.cookie(secure)) {
        response.headers_mut().append(SET_COOKIE, value);
    }
    response
}

/// Removes the message cookie once a page has been answered, so the message shows once. A
/// redirect passes it on to the page it leads to.
pub async fn clear(request: Request, next: Next) -> Response {
    let carried = cookie_value(request.headers(), FLASH_COOKIE).is_some();
    let mut response = next.run(request).await;
    let redirecting = response.headers().contains_key(LOCATION);
    let sets_new = response
        .headers()
        .get_all(SET_COOKIE)
        .iter()
        .any(|value| value.as_bytes().starts_with(FLASH_COOKIE.as_bytes()));
    if carried && !redirecting && !sets_new {
        response.headers_mut().append(
            SET_COOKIE,
            HeaderValue::from_static("pledge_flash=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0"),
        );
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::presentation::i18n::Lang;
    use axum::http::HeaderMap;

    fn headers_with(cookie: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(
            axum::http::header::COOKIE,
            HeaderValue::from_str(cookie).unwrap(),
        );
        headers
    }

    #[test]
    fn a_message_survives_the_cookie_round_trip_with_spaces_and_accents() {
        let flash = Flash::with("flash.answer_saved", "1.2 é; x=y");
        let set_cookie = flash.cookie(false);
        let pair = set_cookie.split(';').next().unwrap();
        let read = Flash::from_headers(&headers_with(pair)).unwrap();
        assert_eq!(read, flash);
        assert!(read.text(&Lang::En.tr()).contains("1.2 é; x=y"));
    }

    #[test]
    fn a_cookie_naming_a_key_outside_flash_shows_nothing() {
        assert_eq!(
            Flash::from_headers(&headers_with("pledge_flash=k=error.not_found")),
            None
        );
        assert_eq!(
            Flash::from_headers(&headers_with("pledge_flash=k=flash.no_such_message")),
            None
        );
    }

    #[test]
    fn a_secure_service_marks_the_cookie_secure() {
        assert!(Flash::new("flash.saved").cookie(true).ends_with("; Secure"));
        assert!(!Flash::new("flash.saved").cookie(false).contains("Secure"));
    }
}
