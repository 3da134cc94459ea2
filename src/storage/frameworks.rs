//! Frameworks: storing, loading and changing framework versions, a fixed number of statements
//! whatever their size. Content is written by code: sections and goals keep their ids when a
//! version is edited, so mappings that point at them stay valid.

use crate::domain::scoring::Decimal;
use sqlx::{PgConnection, Row};
use uuid::Uuid;

use crate::domain::framework::{AnswerScale, Framework, Goal, MaturityLevel, RollUp, Section};
use crate::domain::text::LocalizedText;

/// Why a framework could not be written.
#[derive(Debug, thiserror::Error)]
pub enum FrameworkWriteError {
    #[error("no such framework")]
    NotFound,
    #[error("the framework is frozen")]
    Frozen,
    #[error("the framework changed since it was read")]
    Conflict,
    /// Another version of the family has this version name.
    #[error("this version exists already")]
    DuplicateVersion,
    /// A goal to be removed is used by a mapping between versions.
    #[error("a removed goal is used in a mapping")]
    GoalInMapping,
    /// A section to be removed carries national goals.
    #[error("a removed section has national goals")]
    SectionInUse,
    #[error(transparent)]
    Sql(sqlx::Error),
}

impl From<sqlx::Error> for FrameworkWriteError {
    fn from(error: sqlx::Error) -> Self {
        match error.as_database_error().and_then(|e| e.constraint()) {
            Some("frameworks_family_version_key") => Self::DuplicateVersion,
            Some("goal_mappings_from_goal_fkey" | "goal_mappings_to_goal_fkey") => {
                Self::GoalInMapping
            }
            Some("frameworks_frozen") => Self::Frozen,
            Some("national_goals_section_fkey") => Self::SectionInUse,
            _ => Self::Sql(error),
        }
    }
}

/// Ids given to a stored framework's parts, in document order.
#[derive(Debug, Clone)]
pub struct StoredFramework {
    pub id: Uuid,
    pub section_ids: Vec<Uuid>,
    pub goal_ids: Vec<Uuid>,
}

/// Stores a new framework version in the caller's transaction.
pub async fn insert(
    conn: &mut PgConnection,
    framework: &Framework,
) -> Result<StoredFramework, FrameworkWriteError> {
    let id: Uuid = sqlx::query_scalar(
        "INSERT INTO frameworks (family, version, title_en, title_fr, description_en,
             description_fr, roll_up)
         VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
    )
    .bind(&framework.family)
    .bind(framework.version.trim())
    .bind(&framework.title.en)
    .bind(&framework.title.fr)
    .bind(&framework.description.en)
    .bind(&framework.description.fr)
    .bind(framework.roll_up.as_str())
    .fetch_one(&mut *conn)
    .await?;
    write_contents(conn, id, framework).await?;
    let record = load(conn, id).await?.ok_or(FrameworkWriteError::NotFound)?;
    Ok(StoredFramework {
        id,
        section_ids: record.section_ids,
        goal_ids: record.goal_ids,
    })
}

/// Replaces a version's metadata and content, if it is not frozen and still at
/// `expected_row_version` (optimistic locking: a concurrent edit is refused, not overwritten).
pub async fn replace(
    conn: &mut PgConnection,
    id: Uuid,
    expected_row_version: i64,
    framework: &Framework,
) -> Result<(), FrameworkWriteError> {
    let row = sqlx::query("SELECT frozen_at IS NOT NULL AS frozen, row_version FROM frameworks WHERE id = $1 FOR UPDATE")
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?
        .ok_or(FrameworkWriteError::NotFound)?;
    if row.try_get::<bool, _>("frozen")? {
        return Err(FrameworkWriteError::Frozen);
    }
    if row.try_get::<i64, _>("row_version")? != expected_row_version {
        return Err(FrameworkWriteError::Conflict);
    }
    sqlx::query(
        "UPDATE frameworks SET family = $2, version = $3, title_en = $4, title_fr = $5,
             description_en = $6, description_fr = $7, roll_up = $8, updated_at = now(),
             row_version = row_version + 1
         WHERE id = $1",
    )
    .bind(id)
    .bind(&framework.family)
    .bind(framework.version.trim())
    .bind(&framework.title.en)
    .bind(&framework.title.fr)
    .bind(&framework.description.en)
    .bind(&framework.description.fr)
    .bind(framework.roll_up.as_str())
    .execute(&mut *conn)
    .await?;
    write_contents(conn, id, framework).await
}

/// Writes sections, goals and levels by code: updates what exists, adds what is new, removes
/// what is gone (seven statements).
async fn write_contents(
    conn: &mut PgConnection,
    id: Uuid,
    framework: &Framework,
) -> Result<(), FrameworkWriteError> {
    let sections = &framework.sections;
    let text = |f: &dyn Fn(&Section) -> &str| -> Vec<String> {
        sections.iter().map(|s| f(s).to_owned()).collect()
    };
    sqlx::query(
        "INSERT INTO framework_sections AS t (id, framework_id, position, code, title_en, title_fr,
             description_en, description_fr)
         SELECT gen_random_uuid(), $1, s.position, s.code, s.title_en, s.title_fr, s.description_en,
                s.description_fr
         FROM UNNEST($2::int[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[])
              AS s(position, code, title_en, title_fr, description_en, description_fr)
         ON CONFLICT (framework_id, code) DO UPDATE SET position = EXCLUDED.position,
             title_en = EXCLUDED.title_en, title_fr = EXCLUDED.title_fr,
             description_en = EXCLUDED.description_en, description_fr = EXCLUDED.description_fr",
    )
    .bind(id)
    .bind((1..=sections.len() as i32).collect::<Vec<_>>())
    .bind(text(&|s| &s.code))
    .bind(text(&|s| &s.title.en))
    .bind(text(&|s| &s.title.fr))
    .bind(text(&|s| &s.description.en))
    .bind(text(&|s| &s.description.fr))
    .execute(&mut *conn)
    .await?;

    let goals = GoalColumns::of(framework);
    sqlx::query(
        "INSERT INTO goals AS t (id, framework_id, section_id, position, code, title_en, title_fr,
             guidance_en, guidance_fr, weight, scale_kind, numeric_min, numeric_max, numeric_unit,
             numeric_decimals)
         SELECT gen_random_uuid(), $1, s.id, g.position, g.code, g.title_en, g.title_fr,
                g.guidance_en, g.guidance_fr, g.weight, g.scale_kind, g.numeric_min, g.numeric_max,
                g.numeric_unit, g.numeric_decimals
         FROM UNNEST($2::text[], $3::int[], $4::text[], $5::text[], $6::text[], $7::text[],
                     $8::text[], $9::numeric[], $10::text[], $11::numeric[], $12::numeric[],
                     $13::text[], $14::int2[])
              AS g(section_code, position, code, title_en, title_fr, guidance_en, guidance_fr,
                   weight, scale_kind, numeric_min, numeric_max, numeric_unit, numeric_decimals)
         JOIN framework_sections s ON s.framework_id = $1 AND s.code = g.section_code
         ON CONFLICT (framework_id, code) DO UPDATE SET section_id = EXCLUDED.section_id,
             position = EXCLUDED.position, title_en = EXCLUDED.title_en,
             title_fr = EXCLUDED.title_fr, guidance_en = EXCLUDED.guidance_en,
             guidance_fr = EXCLUDED.guidance_fr, weight = EXCLUDED.weight,
             scale_kind = EXCLUDED.scale_kind, numeric_min = EXCLUDED.numeric_min,
             numeric_max = EXCLUDED.numeric_max, numeric_unit = EXCLUDED.numeric_unit,
             numeric_decimals = EXCLUDED.numeric_decimals",
    )
    .bind(id)
    .bind(&goals.section_code)
    .bind(&goals.position)
    .bind(&goals.code)
    .bind(&goals.title_en)
    .bind(&goals.title_fr)
    .bind(&goals.guidance_en)
    .bind(&goals.guidance_fr)
    .bind(&goals.weight)
    .bind(&goals.scale_kind)
    .bind(&goals.numeric_min)
    .bind(&goals.numeric_max)
    .bind(&goals.numeric_unit)
    .bind(&goals.numeric_decimals)
    .execute(&mut *conn)
    .await?;

    sqlx::query("DELETE FROM goals WHERE framework_id = $1 AND code <> ALL($2)")
        .bind(id)
        .bind(&goals.code)
        .execute(&mut *conn)
        .await?;
    sqlx::query("DELETE FROM framework_sections WHERE framework_id = $1 AND code <> ALL($2)")
        .bind(id)
        .bind(text(&|s| &s.code))
        .execute(&mut *conn)
        .await?;
    sqlx::query("DELETE FROM maturity_levels l USING goals g WHERE g.id = l.goal_id AND g.framework_id = $1")
        .bind(id)
        .execute(&mut *conn)
        .await?;
    let levels = &goals.levels;
    sqlx::query(
        "INSERT INTO maturity_levels (goal_id, level, name_en, name_fr, descriptor_en, descriptor_fr)
         SELECT g.id, l.level, l.name_en, l.name_fr, l.descriptor_en, l.descriptor_fr
         FROM UNNEST($2::text[], $3::int2[], $4::text[], $5::text[], $6::text[], $7::text[])
              AS l(goal_code, level, name_en, name_fr, descriptor_en, descriptor_fr)
         JOIN goals g ON g.framework_id = $1 AND g.code = l.goal_code",
    )
    .bind(id)
    .bind(&levels.goal_code)
    .bind(&levels.level)
    .bind(&levels.name_en)
    .bind(&levels.name_fr)
    .bind(&levels.descriptor_en)
    .bind(&levels.descriptor_fr)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Goals as columns, for one UNNEST statement.
#[derive(Default)]
struct GoalColumns {
    section_code: Vec<String>,
    position: Vec<i32>,
    code: Vec<String>,
    title_en: Vec<String>,
    title_fr: Vec<String>,
    guidance_en: Vec<String>,
    guidance_fr: Vec<String>,
    weight: Vec<Decimal>,
    scale_kind: Vec<&'static str>,
    numeric_min: Vec<Option<Decimal>>,
    numeric_max: Vec<Option<Decimal>>,
    numeric_unit: Vec<Option<String>>,
    numeric_decimals: Vec<Option<i16>>,
    levels: LevelColumns,
}

#[derive(Default)]
struct LevelColumns {
    goal_code: Vec<String>,
    level: Vec<i16>,
    name_en: Vec<String>,
    name_fr: Vec<String>,
    descriptor_en: Vec<String>,
    descriptor_fr: Vec<String>,
}

impl GoalColumns {
    fn of(framework: &Framework) -> Self {
        let mut columns = Self::default();
        for section in &framework.sections {
            for (position, goal) in section.goals.iter().enumerate() {
                columns.push(&section.code, position as i32 + 1, goal);
            }
        }
        columns
    }

    fn push(&mut self, section_code: &str, position: i32, goal: &Goal) {
        self.section_code.push(section_code.to_owned());
        self.position.push(position);
        self.code.push(goal.code.clone());
        self.title_en.push(goal.title.en.clone());
        self.title_fr.push(goal.title.fr.clone());
        self.guidance_en.push(goal.guidance.en.clone());
        self.guidance_fr.push(goal.guidance.fr.clone());
        self.weight.push(goal.weight);
        self.scale_kind.push(goal.scale.kind());
        let numeric = match &goal.scale {
            AnswerScale::Numeric {
                min,
                max,
                unit,
                decimals,
            } => Some((*min, *max, unit.clone(), *decimals)),
            _ => None,
        };
        self.numeric_min.push(numeric.as_ref().map(|n| n.0));
        self.numeric_max.push(numeric.as_ref().map(|n| n.1));
        self.numeric_unit
            .push(numeric.as_ref().map(|n| n.2.clone()));
        self.numeric_decimals.push(numeric.as_ref().map(|n| n.3));
        if let AnswerScale::Maturity { levels } = &goal.scale {
            for level in levels {
                self.levels.goal_code.push(goal.code.clone());
                self.levels.level.push(level.level);
                self.levels.name_en.push(level.name.en.clone());
                self.levels.name_fr.push(level.name.fr.clone());
                self.levels.descriptor_en.push(level.descriptor.en.clone());
                self.levels.descriptor_fr.push(level.descriptor.fr.clone());
            }
        }
    }
}

/// A stored framework version with its content and the ids of its parts.
#[derive(Debug, Clone)]
pub struct FrameworkRecord {
    pub id: Uuid,
    pub frozen: bool,
    pub row_version: i64,
    /// Cycles that use this version.
    pub cycles: i64,
    pub framework: Framework,
    pub section_ids: Vec<Uuid>,
    /// In document order (section by section).
    pub goal_ids: Vec<Uuid>,
}

impl FrameworkRecord {
    /// The goal with this code, with its section and id: the one place a goal is found by code.
    pub fn goal(&self, code: &str) -> Option<(&Section, &Goal, Uuid)> {
        self.framework
            .goals()
            .zip(&self.goal_ids)
            .find(|((_, g), _)| g.code == code)
            .map(|((section, goal), id)| (section, goal, *id))
    }
}

fn text(row: &sqlx::postgres::PgRow, en: &str, fr: &str) -> Result<LocalizedText, sqlx::Error> {
    Ok(LocalizedText {
        en: row.try_get(en)?,
        fr: row.try_get(fr)?,
    })
}

/// Loads a version with its sections, goals and levels (four statements).
pub async fn load(
    conn: &mut PgConnection,
    id: Uuid,
) -> Result<Option<FrameworkRecord>, sqlx::Error> {
    let Some(head) = sqlx::query(
        "SELECT f.*, f.frozen_at IS NOT NULL AS frozen,
                (SELECT count(*) FROM cycles c WHERE c.framework_id = f.id) AS cycles
         FROM frameworks f WHERE f.id = $1",
    )
    .bind(id)
    .fetch_optional(&mut *conn)
    .await?
    else {
        return Ok(None);
    };
    let section_rows =
        sqlx::query("SELECT * FROM framework_sections WHERE framework_id = $1 ORDER BY position")
            .bind(id)
            .fetch_all(&mut *conn)
            .await?;
    let goal_rows = sqlx::query(
        "SELECT g.*, g.weight AS weight_f, g.numeric_min AS numeric_min_f,
                g.numeric_max AS numeric_max_f
         FROM goals g JOIN framework_sections s ON s.id = g.section_id
         WHERE g.framework_id = $1 ORDER BY s.position, g.position",
    )
    .bind(id)
    .fetch_all(&mut *conn)
    .await?;
    let level_rows = sqlx::query(
        "SELECT l.* FROM maturity_levels l JOIN goals g ON g.id = l.goal_id
         WHERE g.framework_id = $1 ORDER BY l.goal_id, l.level",
    )
    .bind(id)
    .fetch_all(&mut *conn)
    .await?;

    let mut sections = Vec::with_capacity(section_rows.len());
    let mut section_ids = Vec::with_capacity(section_rows.len());
    for row in &section_rows {
        section_ids.push(row.try_get::<Uuid, _>("id")?);
        sections.push(Section {
            code: row.try_get("code")?,
            title: text(row, "title_en", "title_fr")?,
            description: text(row, "description_en", "description_fr")?,
            goals: Vec::new(),
        });
    }
    let mut goal_ids = Vec::with_capacity(goal_rows.len());
    for row in &goal_rows {
        let goal_id: Uuid = row.try_get("id")?;
        let section_id: Uuid = row.try_get("section_id")?;
        let scale = match row.try_get::<String, _>("scale_kind")?.as_str() {
            "maturity" => AnswerScale::Maturity {
                levels: level_rows
                    .iter()
                    .filter(|l| l.try_get::<Uuid, _>("goal_id").ok() == Some(goal_id))
                    .map(|l| {
                        Ok(MaturityLevel {
                            level: l.try_get("level")?,
                            name: text(l, "name_en", "name_fr")?,
                            descriptor: text(l, "descriptor_en", "descriptor_fr")?,
                        })
                    })
                    .collect::<Result<_, sqlx::Error>>()?,
            },
            "numeric" => AnswerScale::Numeric {
                min: row
                    .try_get::<Option<Decimal>, _>("numeric_min_f")?
                    .unwrap_or_default(),
                max: row
                    .try_get::<Option<Decimal>, _>("numeric_max_f")?
                    .unwrap_or_default(),
                unit: row
                    .try_get::<Option<String>, _>("numeric_unit")?
                    .unwrap_or_default(),
                decimals: row
                    .try_get::<Option<i16>, _>("numeric_decimals")?
                    .unwrap_or_default(),
            },
            _ => AnswerScale::YesNo {},
        };
        let goal = Goal {
            code: row.try_get("code")?,
            title: text(row, "title_en", "title_fr")?,
            guidance: text(row, "guidance_en", "guidance_fr")?,
            weight: row.try_get("weight_f")?,
            scale,
        };
        if let Some(index) = section_ids.iter().position(|s| *s == section_id) {
            sections[index].goals.push(goal);
            goal_ids.push(goal_id);
        }
    }
    let framework = Framework {
        family: head.try_get("family")?,
        version: head.try_get("version")?,
        title: text(&head, "title_en", "title_fr")?,
        description: text(&head, "description_en", "description_fr")?,
        roll_up: RollUp::from_db(&head.try_get::<String, _>("roll_up")?)
            .unwrap_or(RollUp::WeightedMean),
        sections,
    };
    Ok(Some(FrameworkRecord {
        id,
        frozen: head.try_get("frozen")?,
        row_version: head.try_get("row_version")?,
        cycles: head.try_get("cycles")?,
        framework,
        section_ids,
        goal_ids,
    }))
}

/// A version as listed.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct FrameworkSummary {
    pub id: Uuid,
    pub family: String,
    pub version: String,
    pub title_en: String,
    pub title_fr: String,
    pub roll_up: String,
    pub frozen: bool,
    pub sections: i64,
    pub goals: i64,
    pub cycles: i64,
}

/// Every version, by family and creation.
pub async fn list(conn: &mut PgConnection) -> Result<Vec<FrameworkSummary>, sqlx::Error> {
    sqlx::query_as(
        "SELECT f.id, f.family, f.version, f.title_en, f.title_fr, f.roll_up,
                f.frozen_at IS NOT NULL AS frozen,
                (SELECT count(*) FROM framework_sections s WHERE s.framework_id = f.id) AS sections,
                (SELECT count(*) FROM goals g WHERE g.framework_id = f.id) AS goals,
                (SELECT count(*) FROM cycles c WHERE c.framework_id = f.id) AS cycles
         FROM frameworks f ORDER BY f.family, f.created_at",
    )
    .fetch_all(conn)
    .await
}
