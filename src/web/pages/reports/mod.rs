//! Reports on pages: the methodology, the report index, a cycle's comparison (analysts) and a
//! participant's progress report. The figures come from [`crate::services::reports`]; this
//! module only lays them out, with the charts beside their data tables.

mod comparison;
mod progress;

pub use comparison::comparison;
pub use progress::progress;

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use serde::Deserialize;
use uuid::Uuid;

use crate::auth::policy::Permission;
use crate::domain::report::{CycleRef, SectionRef};
use crate::presentation::i18n::Lang;
use crate::services::frameworks::FrameworkSummary;
use crate::services::reports::{self as service, IndexRow};
use crate::web::AppState;
use crate::web::authn::CurrentUser;
use crate::web::error::AppError;
use crate::web::pages::{PageContext, render};

#[derive(Template)]
#[template(path = "methodology.html")]
struct MethodologyPage {
    page: PageContext,
}

/// `GET /methodology`.
pub async fn methodology(
    CurrentUser(_me): CurrentUser,
    page: PageContext,
) -> Result<Response, AppError> {
    render(&MethodologyPage { page })
}

#[derive(Template)]
#[template(path = "reports.html")]
struct IndexPage {
    page: PageContext,
    rows: Vec<IndexRow>,
    frameworks: Vec<FrameworkSummary>,
    framework: Option<Uuid>,
    can_compare: bool,
}

impl IndexPage {
    fn chosen(&self, id: &Uuid) -> bool {
        self.framework == Some(*id)
    }

    fn title(&self, cycle: &CycleRef) -> String {
        localized(self.page.tr.lang(), &cycle.title_en, &cycle.title_fr)
    }
}

/// The report index's filter.
#[derive(Debug, Default, Deserialize)]
pub struct IndexQuery {
    #[serde(default)]
    framework: String,
}

/// `GET /reports`.
pub async fn index(
    State(state): State<AppState>,
    CurrentUser(me): CurrentUser,
    page: PageContext,
    Query(query): Query<IndexQuery>,
) -> Result<Response, AppError> {
    let framework = Uuid::parse_str(query.framework.trim()).ok();
    let rows = service::index(&state.db, &me, framework).await?;
    let frameworks = crate::services::frameworks::list(&state.db, &me.scope()).await?;
    render(&IndexPage {
        page,
        rows,
        frameworks,
        framework,
        can_compare: me.may(Permission::CompareParticipants),
    })
}

pub(super) fn localized(lang: Lang, en: &str, fr: &str) -> String {
    if lang == Lang::Fr && !fr.is_empty() {
        fr
    } else {
        en
    }
    .to_owned()
}

pub(super) fn section_title(lang: Lang, section: &SectionRef) -> String {
    format!(
        "{} — {}",
        section.code,
        localized(lang, &section.title_en, &section.title_fr)
    )
}

/// The export form's fields.
#[derive(Debug, Default, Deserialize)]
pub struct ExportForm {
    #[serde(default)]
    format: String,
}

/// `POST /cycles/{cycle}/export`: the cycle report as a file in the page's language (a form post, since every export
/// is recorded in the audit log).
pub async fn export(
    State(state): State<AppState>,
    CurrentUser(me): CurrentUser,
    context: crate::services::RequestContext,
    lang: Lang,
    Path(cycle): Path<Uuid>,
    axum::Form(form): axum::Form<ExportForm>,
) -> Result<Response, AppError> {
    super::cycle_export(&state, &me, cycle, (&form.format, lang), &context).await
}

/// `POST /assessments/{assessment}/report/pdf`: the progress report as PDF in the page's language (a form post: the
/// export is recorded in the audit log).
pub async fn progress_pdf(
    State(state): State<AppState>,
    CurrentUser(me): CurrentUser,
    context: crate::services::RequestContext,
    lang: Lang,
    Path(assessment): Path<Uuid>,
) -> Result<Response, AppError> {
    let file =
        crate::services::exports::progress_report_pdf(&state.db, &me, assessment, lang, &context)
            .await?;
    Ok(super::attachment(
        file.format.content_type(),
        &file.file_name,
        file.bytes,
    ))
}
