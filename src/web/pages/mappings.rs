//! The mapping between two framework versions, edited as a table of rows.

use askama::Template;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use uuid::Uuid;

use super::flash::{self, Flash};
use super::frameworks::{FormErrors, refused};
use super::{PageContext, render};
use crate::auth::{Operator, Principal};
use crate::services::RequestContext;
use crate::services::ServiceError;
use crate::services::mappings::{self as service, RELATIONS};
use crate::services::mappings::{FrameworkRecord, MappingRow};
use crate::web::AppState;
use crate::web::error::AppError;
use crate::web::permitted::CatalogueManager;

/// Blank rows offered for new relations.
const BLANK_ROWS: usize = 5;

/// Which version to map to.
#[derive(Deserialize)]
pub struct TargetQuery {
    to: Option<Uuid>,
}

/// `GET /frameworks/{framework}/mappings?to=…`: the mapping page for the chosen target.
pub async fn choose(
    State(state): State<AppState>,
    CatalogueManager(me): CatalogueManager,
    Path(from): Path<Uuid>,
    Query(query): Query<TargetQuery>,
) -> Result<Response, AppError> {
    crate::services::frameworks::load(&state.db, &me.scope(), from).await?;
    Ok(match query.to {
        Some(to) => Redirect::to(&format!("/frameworks/{from}/mappings/{to}")),
        None => Redirect::to(&format!("/frameworks/{from}")),
    }
    .into_response())
}

#[derive(Template)]
#[template(path = "mapping.html")]
struct MappingPage {
    page: PageContext,
    from: FrameworkRecord,
    to: FrameworkRecord,
    rows: Vec<MappingRow>,
    relations: [&'static str; 5],
    errors: FormErrors,
}

impl MappingPage {
    fn earlier_codes(&self) -> Vec<&str> {
        self.from
            .framework
            .goals()
            .map(|(_, g)| g.code.as_str())
            .collect()
    }

    fn later_codes(&self) -> Vec<&str> {
        self.to
            .framework
            .goals()
            .map(|(_, g)| g.code.as_str())
            .collect()
    }

    fn is(&self, value: &Option<String>, code: &&str) -> bool {
        value.as_deref() == Some(*code)
    }
}

async fn page_for(
    state: &AppState,
    me: &Principal,
    page: PageContext,
    from: Uuid,
    to: Uuid,
    rows: Option<Vec<MappingRow>>,
    errors: FormErrors,
) -> Result<MappingPage, AppError> {
    let (from_record, to_record, mut rows) =
        crate::services::mappings::pair(&state.db, &me.scope(), from, to, rows).await?;
    rows.extend((0..BLANK_ROWS).map(|_| MappingRow {
        from_goal: None,
        to_goal: None,
        relation: String::new(),
    }));
    Ok(MappingPage {
        page,
        from: from_record,
        to: to_record,
        rows,
        relations: RELATIONS,
        errors,
    })
}

/// `GET /frameworks/{framework}/mappings/{target}`.
pub async fn show(
    State(state): State<AppState>,
    CatalogueManager(me): CatalogueManager,
    page: PageContext,
    Path((from, to)): Path<(Uuid, Uuid)>,
) -> Result<Response, AppError> {
    render(&page_for(&state, &me, page, from, to, None, FormErrors::default()).await?)
}

/// `POST /frameworks/{framework}/mappings/{target}`: replaces every row; blank rows and rows
/// marked for removal are dropped.
pub async fn save(
    State(state): State<AppState>,
    CatalogueManager(me): CatalogueManager,
    page: PageContext,
    context: RequestContext,
    Path((from, to)): Path<(Uuid, Uuid)>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response, AppError> {
    let get = |name: String| {
        pairs
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.trim().to_owned())
            .unwrap_or_default()
    };
    let mut rows = Vec::new();
    let last = pairs
        .iter()
        .filter_map(|(k, _)| {
            k.strip_prefix("row_")?
                .split('_')
                .next()?
                .parse::<usize>()
                .ok()
        })
        .max();
    for i in 0..=last.unwrap_or(0) {
        if !pairs
            .iter()
            .any(|(k, _)| k.starts_with(&format!("row_{i}_")))
        {
            continue;
        }
        let row = MappingRow {
            from_goal: Some(get(format!("row_{i}_from"))).filter(|c| !c.is_empty()),
            to_goal: Some(get(format!("row_{i}_to"))).filter(|c| !c.is_empty()),
            relation: get(format!("row_{i}_relation")),
        };
        let blank = row.from_goal.is_none() && row.to_goal.is_none() && row.relation.is_empty();
        if !blank && get(format!("row_{i}_remove")).is_empty() {
            rows.push(row);
        }
    }
    match service::set(
        &state.db,
        Operator::User(&me),
        from,
        to,
        rows.clone(),
        &context,
    )
    .await
    {
        Ok(()) => Ok(flash::redirect(
            &format!("/frameworks/{from}"),
            Flash::new("flash.mapping_saved"),
            state.config.auth.secure_cookies,
        )),
        Err(ServiceError::NotFound) => Err(AppError::NotFound),
        Err(error) => {
            let errors = FormErrors::from_error(&page, error, |_| None)?;
            refused(&page_for(&state, &me, page, from, to, Some(rows), errors).await?)
        }
    }
}
