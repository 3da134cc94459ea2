//! Reports through the API: the same figures as the pages, from the same service.

use axum::Json;
use axum::extract::{Path, Query, State};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::domain::report::comparison::{
    ComparisonRow, CycleComparison, FigureDistribution, Mover,
};
use crate::domain::report::progress::ProgressReport;
use crate::domain::report::{CycleRef, SectionRef};
use crate::domain::scoring::Decimal;
use crate::presentation::i18n::Lang;
use crate::services::RequestContext;
use crate::services::reports as service;
use crate::web::AppState;
use crate::web::api::pagination::{Page, PageParams, PageRequest};
use crate::web::authn::CurrentUser;
use crate::web::error::{AppError, ErrorBody};

/// The report routes.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(cycle_report))
        .routes(routes!(progress_report))
        .routes(routes!(cycle_export))
        .routes(routes!(progress_report_pdf))
}

/// The language of an exported file's texts.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct LangParams {
    /// `en` or `fr`: the language of the file's texts (headers, sheet names, labels, the PDF's
    /// words). When absent: the `pledge_lang` cookie, then `Accept-Language`, then English. The
    /// figures, codes, digests and JSON keys are the same in every language.
    pub lang: Option<String>,
}

impl LangParams {
    /// The asked language (422 naming `lang` when unknown), else the request's.
    fn resolve(&self, headers: &axum::http::HeaderMap) -> Result<Lang, AppError> {
        match &self.lang {
            Some(tag) => Lang::parse(tag).ok_or_else(|| {
                AppError::Validation([("lang".to_owned(), "field.lang.unknown".to_owned())].into())
            }),
            None => Ok(crate::web::locale::from_headers(headers)),
        }
    }
}

/// The progress report of one assessment as PDF, recorded in the audit log (the delegation its
/// own, staff any, analysts once submitted). A POST, since it writes the audit log.
#[utoipa::path(post, path = "/assessments/{assessment}/report/pdf", tag = "reports", params(("assessment" = Uuid, Path), LangParams),
    responses((status = 200, description = "The PDF, as an attachment", content_type = "application/pdf"),
              (status = 401, description = "Not signed in", body = ErrorBody),
              (status = 403, description = "Analysts read submitted assessments only", body = ErrorBody),
              (status = 404, description = "No such assessment (or another delegation's)", body = ErrorBody),
              (status = 422, description = "`fields.lang` names an unknown language", body = ErrorBody)))]
pub async fn progress_report_pdf(
    State(state): State<AppState>,
    CurrentUser(me): CurrentUser,
    context: RequestContext,
    headers: axum::http::HeaderMap,
    Path(assessment): Path<Uuid>,
    Query(params): Query<LangParams>,
) -> Result<axum::response::Response, AppError> {
    let lang = params.resolve(&headers)?;
    let file =
        crate::services::exports::progress_report_pdf(&state.db, &me, assessment, lang, &context)
            .await?;
    Ok(crate::web::pages::attachment(
        file.format.content_type(),
        &file.file_name,
        file.bytes,
    ))
}

/// Which file to write.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ExportParams {
    /// csv (one row per participant × goal), json (the full report with a data dictionary),
    /// both streamed as they are written; xlsx (summary, one sheet per section, answers, about)
    /// or pdf (cover, method, summary, a page per participant).
    pub format: Option<String>,
    /// `en` or `fr`: the language of the file's texts (CSV header, XLSX sheet names and labels,
    /// the JSON data dictionary's meanings, the PDF's words). When absent: the `pledge_lang`
    /// cookie, then `Accept-Language`, then English. The figures, codes, digests and JSON keys
    /// are the same in every language.
    pub lang: Option<String>,
}

/// The cycle report as a file, stamped with the cycle, the snapshot digests and the time of
/// generation, and recorded in the audit log (analysts and admins). A POST, since it writes
/// the audit log: with a session cookie it needs the `X-CSRF-Token` header.
#[utoipa::path(post, path = "/cycles/{cycle}/export", tag = "reports", params(("cycle" = Uuid, Path), ExportParams),
    responses((status = 200, description = "The file (text/csv, application/json, XLSX or application/pdf), as an attachment"),
              (status = 401, description = "Not signed in", body = ErrorBody),
              (status = 403, description = "Analysts and admins only", body = ErrorBody),
              (status = 404, description = "No such cycle", body = ErrorBody),
              (status = 422, description = "`fields.format` names an unknown format, or `fields.lang` an unknown language", body = ErrorBody)))]
pub async fn cycle_export(
    State(state): State<AppState>,
    CurrentUser(me): CurrentUser,
    context: RequestContext,
    headers: axum::http::HeaderMap,
    Path(cycle): Path<Uuid>,
    Query(params): Query<ExportParams>,
) -> Result<axum::response::Response, AppError> {
    let lang = LangParams {
        lang: params.lang.clone(),
    }
    .resolve(&headers)?;
    let format = params.format.unwrap_or_default();
    crate::web::pages::cycle_export(&state, &me, cycle, (&format, lang), &context).await
}

/// Which figure to rank and compare on.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ComparisonParams {
    /// A section of the cycle's framework version; the overall figure when absent.
    pub section: Option<Uuid>,
}

/// One page of a cycle's comparison: the rows of the page in the shared page shape (`items`,
/// `next_cursor`, `limit`, `total`: `api::pagination`), and beside them what is about the
/// whole cycle (figures' maxima, distributions, movers), the same on every page.
#[derive(Debug, Serialize, ToSchema)]
pub struct ComparisonPage {
    #[serde(flatten)]
    pub page: Page<ComparisonRow>,
    #[serde(flatten)]
    pub summary: ComparisonSummary,
}

/// What a comparison says about the whole cycle (every field of the comparison but its rows).
#[derive(Debug, Serialize, ToSchema)]
pub struct ComparisonSummary {
    pub cycle: CycleRef,
    pub previous_cycle: Option<CycleRef>,
    /// The previous cycle used another framework version: its figures (`previous`, `change`,
    /// movers) are re-scored on this cycle's version through the mapping.
    pub previous_rescored: bool,
    pub roll_up: String,
    #[serde(with = "crate::domain::scoring::number")]
    pub overall_max_score: Decimal,
    pub sections: Vec<SectionRef>,
    /// The section ranks and changes are about; `null` for the overall figure.
    pub focus: Option<SectionRef>,
    pub assessments: usize,
    pub submitted: usize,
    /// Overall first, then each section.
    pub distributions: Vec<FigureDistribution>,
    /// Up to ten participants whose compared figure changed most since the previous cycle.
    pub movers: Vec<Mover>,
}

impl ComparisonPage {
    /// The page at `request` of `report`.
    pub fn of(report: &CycleComparison, request: PageRequest) -> Self {
        Self {
            page: Page::of_slice(&report.rows, request),
            summary: ComparisonSummary {
                cycle: report.cycle.clone(),
                previous_cycle: report.previous_cycle.clone(),
                previous_rescored: report.previous_rescored,
                roll_up: report.roll_up.clone(),
                overall_max_score: report.overall_max_score,
                sections: report.sections.clone(),
                focus: report.focus.clone(),
                assessments: report.assessments,
                submitted: report.submitted,
                distributions: report.distributions.clone(),
                movers: report.movers.clone(),
            },
        }
    }
}

/// The comparison of a cycle, a page of rows at a time: every submitted participant's figures
/// (ranked rows first, by rank then code, then incomplete ones by code), dense ranks of complete
/// figures, distributions and movers since the previous cycle (analysts and admins). The whole
/// set of rows in one file is the export (`POST /api/v1/cycles/{cycle}/export?format=json`).
#[utoipa::path(get, path = "/cycles/{cycle}/report", tag = "reports", params(("cycle" = Uuid, Path), ComparisonParams, PageParams),
    responses((status = 200, description = "One page of the comparison", body = ComparisonPage),
              (status = 401, description = "Not signed in", body = ErrorBody),
              (status = 403, description = "Analysts and admins only", body = ErrorBody),
              (status = 404, description = "No such cycle", body = ErrorBody),
              (status = 422, description = "`fields.cursor` is not a cursor this listing gave, or `fields.limit` is out of range", body = ErrorBody)))]
pub async fn cycle_report(
    State(state): State<AppState>,
    CurrentUser(me): CurrentUser,
    Path(cycle): Path<Uuid>,
    Query(params): Query<ComparisonParams>,
    Query(page): Query<PageParams>,
) -> Result<Json<ComparisonPage>, AppError> {
    let request = page.request()?;
    let me = &me;
    // From the read replica when there is one (`AppState::reads`).
    let report = state
        .reads
        .run(|pool| async move { service::comparison(&pool, me, cycle, params.section).await })
        .await?
        .value;
    Ok(Json(ComparisonPage::of(&report, request)))
}

/// The progress report of one assessment: figures from its latest snapshot, change since the
/// previous cycle, trend, moved answers, national goals, open clarification requests and,
/// once at least five participants submitted, the anonymous distribution.
#[utoipa::path(get, path = "/assessments/{assessment}/report", tag = "reports", params(("assessment" = Uuid, Path)),
    responses((status = 200, description = "The progress report", body = ProgressReport),
              (status = 401, description = "Not signed in", body = ErrorBody),
              (status = 403, description = "Analysts read submitted assessments only", body = ErrorBody),
              (status = 404, description = "No such assessment (or another delegation's)", body = ErrorBody)))]
pub async fn progress_report(
    State(state): State<AppState>,
    CurrentUser(me): CurrentUser,
    Path(assessment): Path<Uuid>,
) -> Result<Json<ProgressReport>, AppError> {
    Ok(Json(service::progress(&state.db, &me, assessment).await?))
}
