//! Participants (Allies and partners).

use serde::Serialize;
use sqlx::PgPool;
use utoipa::ToSchema;
use uuid::Uuid;

/// A participant as the API shows it.
#[derive(Debug, Clone, Serialize, sqlx::FromRow, ToSchema)]
pub struct Participant {
    pub id: Uuid,
    /// ISO 3166-1 alpha-3 code.
    pub code: String,
    pub name_en: String,
    pub name_fr: String,
    /// `ally` or `partner`.
    pub kind: String,
    #[schema(value_type = Option<String>, format = Date)]
    pub accession_date: Option<time::Date>,
    pub active: bool,
}

/// Every participant, Allies first, then by code.
pub async fn list(db: &PgPool) -> Result<Vec<Participant>, sqlx::Error> {
    sqlx::query_as(
        "SELECT id, code, name_en, name_fr, kind, accession_date, active
         FROM participants ORDER BY kind, code",
    )
    .fetch_all(db)
    .await
}

/// Counts shown on the home page.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ServiceFacts {
    pub participants: i64,
    pub frameworks: i64,
    pub cycles: i64,
}

/// What the service holds, in one round trip.
pub async fn service_facts(db: &PgPool) -> Result<ServiceFacts, sqlx::Error> {
    sqlx::query_as(
        "SELECT (SELECT count(*) FROM participants WHERE active) AS participants,
                (SELECT count(*) FROM frameworks) AS frameworks,
                (SELECT count(*) FROM cycles) AS cycles",
    )
    .fetch_one(db)
    .await
}
