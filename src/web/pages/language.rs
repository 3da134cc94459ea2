//! Choosing the language of the pages.

use axum::Form;
use axum::http::header::{LOCATION, SET_COOKIE};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use crate::presentation::i18n::Lang;
use crate::web::error::{AppError, FieldErrors};
use crate::web::locale::LANG_COOKIE;

/// The language switch form.
#[derive(Debug, Deserialize)]
pub struct LanguageChoice {
    lang: String,
    return_to: Option<String>,
}

/// `POST /language`: remembers the choice in a cookie and goes back to the page.
pub async fn choose(Form(choice): Form<LanguageChoice>) -> Result<Response, AppError> {
    let Some(lang) = Lang::parse(&choice.lang) else {
        let mut fields = FieldErrors::new();
        fields.insert("lang".to_owned(), "field.lang.unknown".to_owned());
        return Err(AppError::Validation(fields));
    };
    let target = local_path(choice.return_to.as_deref());
    let cookie = format!(
        "{LANG_COOKIE}={}; Path=/; Max-Age=31536000; SameSite=Lax; HttpOnly",
        lang.code()
    );
    let location = HeaderValue::from_str(target).unwrap_or(HeaderValue::from_static("/"));
    let cookie = HeaderValue::from_str(&cookie).map_err(|e| AppError::Internal(e.into()))?;
    Ok((
        StatusCode::SEE_OTHER,
        [(LOCATION, location), (SET_COOKIE, cookie)],
    )
        .into_response())
}

/// `target` when it is a path on this site, else `/`: redirects never leave the service.
pub fn local_path(target: Option<&str>) -> &str {
    match target {
        Some(path)
            if path.starts_with('/')
                && !path.starts_with("//")
                && !path.contains('\\')
                && !path.chars().any(char::is_control) =>
        {
            path
        }
        _ => "/",
    }
}

#[cfg(test)]
mod tests {
    use super::local_path;

    #[test]
    fn only_local_paths_are_redirect_targets() {
        assert_eq!(local_path(Some("/cycles?x=1")), "/cycles?x=1");
        for foreign in [
            "https://evil.example",
            "//evil.example",
            "/\\evil",
            "evil",
            "/a\nb",
        ] {
            assert_eq!(local_path(Some(foreign)), "/", "{foreign:?}");
        }
        assert_eq!(local_path(None), "/");
    }
}
