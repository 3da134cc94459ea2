//! Participants: the Allies are there from the start; the secretariat adds partners, renames
//! participants and deactivates them. Nobody deletes one: their history stays.

use serde_json::json;
use sqlx::PgPool;
use uuid::Uuid;

use super::{FieldProblems, ServiceError};
use crate::auth::Operator;
use crate::domain::participant::ParticipantCode;
use crate::storage::audit::{NewEntry, RequestContext};
use crate::storage::participants as store;
use crate::storage::{self, Scope};

pub use crate::storage::participants::Participant;

/// A participant form.
#[derive(Debug, Clone, Default, serde::Deserialize, utoipa::ToSchema)]
pub struct ParticipantInput {
    /// ISO 3166-1 alpha-3 code (new partners only).
    #[serde(default)]
    pub code: String,
    #[serde(default)]
    pub name_en: String,
    /// French name; the English one when left empty.
    #[serde(default)]
    pub name_fr: String,
    /// Inactive participants get no new assessments (updates only; new partners are active).
    #[serde(default = "active_by_default")]
    pub active: bool,
}

fn active_by_default() -> bool {
    true
}

fn names(input: &ParticipantInput, problems: &mut FieldProblems) -> (String, String) {
    let en = input.name_en.trim().to_owned();
    if en.is_empty() || en.chars().count() > 200 {
        problems.insert("name_en".to_owned(), "field.name.required".to_owned());
    }
    let fr = match input.name_fr.trim() {
        "" => en.clone(),
        fr if fr.chars().count() > 200 => {
            problems.insert("name_fr".to_owned(), "field.name.required".to_owned());
            fr.to_owned()
        }
        fr => fr.to_owned(),
    };
    (en, fr)
}

/// Adds a partner nation.
pub async fn create_partner(
    pool: &PgPool,
    operator: Operator<'_>,
    input: &ParticipantInput,
    context: &RequestContext,
) -> Result<Uuid, ServiceError> {
    let mut problems = FieldProblems::new();
    let code = ParticipantCode::parse(&input.code)
        .map_err(|_| problems.insert("code".into(), "field.participant_code.invalid".into()))
        .ok();
    let (en, fr) = names(input, &mut problems);
    let (Some(code), true) = (code, problems.is_empty()) else {
        return Err(ServiceError::Invalid(problems));
    };
    let mut tx = storage::Audited::begin(pool, &operator.scope()).await?;
    let id = store::insert_partner(&mut tx, code.as_str(), &en, &fr)
        .await?
        .ok_or_else(|| ServiceError::field("code", "field.participant_code.taken"))?;
    tx.commit(
        &NewEntry::new(
            operator.actor(),
            "participant.create",
            json!({ "code": code.as_str(), "name_en": en, "name_fr": fr }),
        )
        .about("participant", id)
        .for_participant(Some(id))
        .from_request(context),
    )
    .await?;
    Ok(id)
}

/// Renames a participant or changes whether it is active.
pub async fn update(
    pool: &PgPool,
    operator: Operator<'_>,
    id: Uuid,
    input: &ParticipantInput,
    context: &RequestContext,
) -> Result<(), ServiceError> {
    let mut problems = FieldProblems::new();
    let (en, fr) = names(input, &mut problems);
    if !problems.is_empty() {
        return Err(ServiceError::Invalid(problems));
    }
    let mut tx = storage::Audited::begin(pool, &operator.scope()).await?;
    let before = store::find(&mut tx, id)
        .await?
        .ok_or(ServiceError::NotFound)?;
    store::update(&mut tx, id, &en, &fr, input.active).await?;
    tx.commit(&NewEntry::new(
            operator.actor(),
            "participant.update",
            json!({ "old": { "name_en": before.name_en, "name_fr": before.name_fr, "active": before.active },
                    "new": { "name_en": en, "name_fr": fr, "active": input.active } }),
        )
        .about("participant", id)
        .for_participant(Some(id))
        .from_request(context)).await?;
    Ok(())
}

/// Every participant, by kind and code (the list every signed-in user may read).
pub async fn list(pool: &PgPool) -> Result<Vec<Participant>, ServiceError> {
    Ok(store::list(pool).await?)
}

/// One participant (`NotFound` when there is none).
pub async fn find(pool: &PgPool, scope: &Scope, id: Uuid) -> Result<Participant, ServiceError> {
    let mut tx = storage::begin(pool, scope).await?;
    let participant = store::find(&mut tx, id)
        .await?
        .ok_or(ServiceError::NotFound)?;
    tx.commit().await?;
    Ok(participant)
}
