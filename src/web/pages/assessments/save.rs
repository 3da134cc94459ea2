//! Saving one goal's answer from its form: the section page again, the conflict page, or
//! (autosave, `Accept: application/json`) the API's JSON answer.

use super::*;

#[derive(Deserialize)]
pub struct AnswerForm {
    /// The goal, when the form posts to its section page.
    #[serde(default)]
    goal: String,
    #[serde(default)]
    value: String,
    #[serde(default)]
    not_applicable: Option<String>,
    #[serde(default)]
    na_justification: String,
    #[serde(default)]
    target: String,
    #[serde(default)]
    implementation_status: String,
    #[serde(default)]
    narrative: String,
    #[serde(default)]
    row_version: i64,
}

impl AnswerForm {
    fn input(&self) -> AnswerInput {
        AnswerInput {
            value: self.value.clone(),
            not_applicable: self.not_applicable.is_some(),
            na_justification: self.na_justification.clone(),
            target: self.target.clone(),
            implementation_status: self.implementation_status.clone(),
            narrative: self.narrative.clone(),
        }
    }
}

#[derive(Template)]
#[template(path = "answer_conflict.html")]
pub(super) struct ConflictPage {
    page: PageContext,
    id: Uuid,
    goal: String,
    back: String,
    mine: AnswerInput,
    theirs: AnswerInput,
    theirs_by: String,
    theirs_version: i64,
}

/// `POST /assessments/{assessment}/sections/{section}`: the section page's own address, where
/// its answer forms post (the goal in a hidden field). Saved: 303 back to the goal with a
/// message. Refused: the section page again at this same address, so a reload shows the page
/// and the browser asks before sending the form again, never a bare save endpoint.
pub async fn save_in_section(
    State(state): State<AppState>,
    CurrentUser(me): CurrentUser,
    page: PageContext,
    context: RequestContext,
    Path((id, section)): Path<(Uuid, String)>,
    Form(form): Form<AnswerForm>,
) -> Result<Response, AppError> {
    save_page(&state, &me, page, &context, id, Some(&section), form).await
}

/// `POST /assessments/{assessment}/goals/{goal}`: saves one answer. The autosave script asks
/// for JSON; a form post answers like the section page's own. A concurrent save shows both
/// versions and lets the user choose.
pub async fn save(
    State(state): State<AppState>,
    CurrentUser(me): CurrentUser,
    page: PageContext,
    context: RequestContext,
    Path((id, goal)): Path<(Uuid, String)>,
    headers: HeaderMap,
    Form(mut form): Form<AnswerForm>,
) -> Result<Response, AppError> {
    if wants_json(&headers) {
        let result = service::save_answer(
            &state.db,
            &me,
            id,
            &goal,
            form.row_version,
            &form.input(),
            &context,
        )
        .await;
        return autosave_answer(&page, result);
    }
    form.goal = goal;
    save_page(&state, &me, page, &context, id, None, form).await
}

/// Saves the goal `form.goal` from a page's form: 303 back to it with a message, the section page
/// again when refused, the conflict page when someone saved it first.
pub(super) async fn save_page(
    state: &AppState,
    me: &Principal,
    page: PageContext,
    context: &RequestContext,
    id: Uuid,
    section: Option<&str>,
    form: AnswerForm,
) -> Result<Response, AppError> {
    let goal = form.goal.as_str();
    let input = form.input();
    let result =
        service::save_answer(&state.db, me, id, goal, form.row_version, &input, context).await;
    match result {
        Ok(_) => {
            let location = match section {
                Some(section) => format!("/assessments/{id}/sections/{section}#goal-{goal}"),
                None => goal_page(state, me, id, goal, false).await?,
            };
            Ok(flash::redirect(
                &location,
                Flash::with("flash.answer_saved", goal),
                state.config.auth.secure_cookies,
            ))
        }
        Err(SaveError::Invalid(errors)) => {
            let posted = Posted::Answer(goal, input, errors);
            refused_page(state, me, page, id, posted).await
        }
        Err(SaveError::Conflict(theirs)) => {
            let theirs = *theirs;
            let back = goal_page(state, me, id, goal, false).await?;
            let mut response = render(&ConflictPage {
                theirs: input_of(theirs.as_ref()),
                theirs_by: theirs
                    .as_ref()
                    .map(|a| {
                        format!(
                            "{} ({})",
                            a.updated_by_name.clone().unwrap_or_default(),
                            page.when(&a.updated_at)
                        )
                    })
                    .unwrap_or_default(),
                theirs_version: theirs.as_ref().map_or(0, |a| a.row_version),
                page,
                id,
                goal: goal.to_owned(),
                back,
                mine: input,
            })?;
            *response.status_mut() = StatusCode::CONFLICT;
            Ok(response)
        }
        Err(other) => Err(other.into()),
    }
}

/// Whether the request comes from the autosave script, which reads JSON.
pub(super) fn wants_json(headers: &HeaderMap) -> bool {
    headers
        .get(ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|accept| accept.starts_with("application/json"))
}

/// The autosave script's answer: the new version to send next time and the time it was saved
/// ("14:05", in the reader's zone), or what stopped the save, in the user's language: each
/// field's message (shown at that field, as the page without JavaScript shows it), or a
/// conflict, which is only reported: the Save button shows both versions.
pub(super) fn autosave_answer(
    page: &PageContext,
    result: Result<i64, SaveError>,
) -> Result<Response, AppError> {
    match result {
        Ok(row_version) => {
            let now = time::OffsetDateTime::now_utc();
            // In the reader's zone, summer or winter time as of now; the zone's name travels
            // beside it for scripts that want it.
            let (offset, _) = page.zone.at(now);
            let local = now.to_offset(offset);
            let saved_at = format!("{:02}:{:02}", local.hour(), local.minute());
            let message = page.tr.fmt("autosave.saved", &[("time", &saved_at)]);
            Ok(Json(json!({
                "row_version": row_version,
                "saved_at": saved_at,
                "zone": page.zone.name(),
                "message": message,
            }))
            .into_response())
        }
        Err(SaveError::Invalid(errors)) => {
            let fields: serde_json::Map<String, serde_json::Value> = errors
                .iter()
                .map(|(field, key)| (field.clone(), page.tr.t(key).into()))
                .collect();
            let body = json!({ "error": {
                "code": "invalid_input",
                "message": page.tr.t("autosave.invalid"),
                "fields": fields,
            } });
            Ok((StatusCode::UNPROCESSABLE_ENTITY, Json(body)).into_response())
        }
        Err(SaveError::Conflict(_)) => {
            let body =
                json!({ "error": { "code": "stale", "message": page.tr.t("autosave.conflict") } });
            Ok((StatusCode::CONFLICT, Json(body)).into_response())
        }
        // A refusal the user can act on (submitted meanwhile, cycle closed) is said in words;
        // anything else takes the normal error path (and its logging).
        Err(SaveError::Other(
            error @ (ServiceError::Refused(_) | ServiceError::Forbidden | ServiceError::NotFound),
        )) => {
            let error = AppError::from(error);
            let body = json!({ "error": { "code": error.code(), "message": page.tr.t(&error.message_key()) } });
            Ok((error.status_code(), Json(body)).into_response())
        }
        Err(other) => Err(other.into()),
    }
}

/// The section page again, with a goal's refused evidence input kept and its errors shown (422).
pub async fn evidence_refused(
    state: &AppState,
    me: &Principal,
    page: PageContext,
    id: Uuid,
    goal: &str,
    draft: EvidenceDraft,
) -> Result<Response, AppError> {
    refused_page(state, me, page, id, Posted::Evidence(goal, draft)).await
}
