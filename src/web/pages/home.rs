//! The home page.

use askama::Template;
use axum::extract::State;
use axum::response::Response;

use super::{PageContext, render};
use crate::storage::participants::{self, ServiceFacts};
use crate::web::AppState;
use crate::web::error::AppError;

#[derive(Template)]
#[template(path = "home.html")]
struct HomePage {
    page: PageContext,
    facts: ServiceFacts,
}

/// `GET /`: what the service holds, and the way in.
pub async fn show(State(state): State<AppState>, page: PageContext) -> Result<Response, AppError> {
    let facts = participants::service_facts(&state.db).await?;
    render(&HomePage { page, facts })
}
