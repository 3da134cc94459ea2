//! Participants (Allies and partners).

use sqlx::PgPool;
use uuid::Uuid;

/// A participant as the API shows it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Participant {
    pub id: Uuid,
    /// ISO 3166-1 alpha-3 code.
    pub code: String,
    pub name_en: String,
    pub name_fr: String,
    /// `ally` or `partner`.
    pub kind: String,
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

/// One participant.
pub async fn find(
    db: &mut sqlx::PgConnection,
    id: Uuid,
) -> Result<Option<Participant>, sqlx::Error> {
    sqlx::query_as("SELECT id, code, name_en, name_fr, kind, accession_date, active FROM participants WHERE id = $1")
        .bind(id)
        .fetch_optional(db)
        .await
}

/// Adds a partner; `None` when the code is taken.
pub async fn insert_partner(
    conn: &mut sqlx::PgConnection,
    code: &str,
    name_en: &str,
    name_fr: &str,
) -> Result<Option<Uuid>, sqlx::Error> {
    sqlx::query_scalar(
        "INSERT INTO participants (code, name_en, name_fr, kind) VALUES ($1, $2, $3, 'partner')
         ON CONFLICT (code) DO NOTHING RETURNING id",
    )
    .bind(code)
    .bind(name_en)
    .bind(name_fr)
    .fetch_optional(conn)
    .await
}

/// Renames a participant and sets whether it is active; false when it does not exist.
pub async fn update(
    conn: &mut sqlx::PgConnection,
    id: Uuid,
    name_en: &str,
    name_fr: &str,
    active: bool,
) -> Result<bool, sqlx::Error> {
    let result = sqlx::query(
        "UPDATE participants SET name_en = $2, name_fr = $3, active = $4, updated_at = now(),
             row_version = row_version + 1
         WHERE id = $1",
    )
    .bind(id)
    .bind(name_en)
    .bind(name_fr)
    .bind(active)
    .execute(conn)
    .await?;
    Ok(result.rows_affected() == 1)
}
