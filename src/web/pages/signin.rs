//! The sign-in page. (Checking credentials belongs to the access-control work: the form posts
//! to `/signin`, which that work adds.)

use askama::Template;
use axum::extract::Query;
use axum::http::Uri;
use axum::response::Response;
use serde::Deserialize;

use super::{PageContext, render};
use crate::web::error::AppError;
use crate::web::i18n::Lang;

#[derive(Template)]
#[template(path = "signin.html")]
struct SignInPage {
    page: PageContext,
    return_to: String,
    email: String,
}

/// Query of the sign-in page: where to go afterwards.
#[derive(Debug, Deserialize)]
pub struct SignInQuery {
    return_to: Option<String>,
}

/// `GET /signin`.
pub async fn show(
    lang: Lang,
    uri: Uri,
    Query(query): Query<SignInQuery>,
) -> Result<Response, AppError> {
    render(&SignInPage {
        page: PageContext::new(lang, &uri),
        return_to: super::language::local_path(query.return_to.as_deref()).to_owned(),
        email: String::new(),
    })
}
