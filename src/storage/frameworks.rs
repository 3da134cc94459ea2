//! Frameworks: storing a validated framework version (a fixed number of statements, whatever
//! its size).

use sqlx::PgConnection;
use uuid::Uuid;

use crate::domain::framework::{AnswerScale, Framework};

/// Ids given to a stored framework's parts, in document order.
#[derive(Debug, Clone)]
pub struct StoredFramework {
    pub id: Uuid,
    pub section_ids: Vec<Uuid>,
    pub goal_ids: Vec<Uuid>,
}

/// Stores a framework in the caller's transaction; four statements in all.
pub async fn insert(
    conn: &mut PgConnection,
    framework: &Framework,
) -> Result<StoredFramework, sqlx::Error> {
    let id: Uuid = sqlx::query_scalar(
        "INSERT INTO frameworks (family, version, title_en, title_fr, description_en,
             description_fr, roll_up)
         VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
    )
    .bind(&framework.family)
    .bind(&framework.version)
    .bind(&framework.title.en)
    .bind(&framework.title.fr)
    .bind(&framework.description.en)
    .bind(&framework.description.fr)
    .bind(framework.roll_up.as_str())
    .fetch_one(&mut *conn)
    .await?;

    let section_ids: Vec<Uuid> = framework.sections.iter().map(|_| Uuid::new_v4()).collect();
    let positions: Vec<i32> = (1..=framework.sections.len() as i32).collect();
    let column = |f: &dyn Fn(&crate::domain::framework::Section) -> String| -> Vec<String> {
        framework.sections.iter().map(f).collect()
    };
    sqlx::query(
        "INSERT INTO framework_sections (id, framework_id, position, code, title_en, title_fr,
             description_en, description_fr)
         SELECT s.id, $1, s.position, s.code, s.title_en, s.title_fr, s.description_en, s.description_fr
         FROM UNNEST($2::uuid[], $3::int[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[])
              AS s(id, position, code, title_en, title_fr, description_en, description_fr)",
    )
    .bind(id)
    .bind(&section_ids)
    .bind(&positions)
    .bind(column(&|s| s.code.clone()))
    .bind(column(&|s| s.title.en.clone()))
    .bind(column(&|s| s.title.fr.clone()))
    .bind(column(&|s| s.description.en.clone()))
    .bind(column(&|s| s.description.fr.clone()))
    .execute(&mut *conn)
    .await?;

    let mut goals = GoalColumns::default();
    for (section_index, section) in framework.sections.iter().enumerate() {
        for (position, goal) in section.goals.iter().enumerate() {
            goals.push(section_ids[section_index], position as i32 + 1, goal);
        }
    }
    sqlx::query(
        "INSERT INTO goals (id, framework_id, section_id, position, code, title_en, title_fr,
             guidance_en, guidance_fr, weight, scale_kind, numeric_min, numeric_max, numeric_unit,
             numeric_decimals)
         SELECT g.id, $1, g.section_id, g.position, g.code, g.title_en, g.title_fr, g.guidance_en,
                g.guidance_fr, g.weight, g.scale_kind, g.numeric_min, g.numeric_max, g.numeric_unit,
                g.numeric_decimals
         FROM UNNEST($2::uuid[], $3::uuid[], $4::int[], $5::text[], $6::text[], $7::text[],
                     $8::text[], $9::text[], $10::float8[], $11::text[], $12::float8[],
                     $13::float8[], $14::text[], $15::int2[])
              AS g(id, section_id, position, code, title_en, title_fr, guidance_en, guidance_fr,
                   weight, scale_kind, numeric_min, numeric_max, numeric_unit, numeric_decimals)",
    )
    .bind(id)
    .bind(&goals.id)
    .bind(&goals.section_id)
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

    sqlx::query(
        "INSERT INTO maturity_levels (goal_id, level, name_en, name_fr, descriptor_en, descriptor_fr)
         SELECT * FROM UNNEST($1::uuid[], $2::int2[], $3::text[], $4::text[], $5::text[], $6::text[])",
    )
    .bind(&goals.levels.goal_id)
    .bind(&goals.levels.level)
    .bind(&goals.levels.name_en)
    .bind(&goals.levels.name_fr)
    .bind(&goals.levels.descriptor_en)
    .bind(&goals.levels.descriptor_fr)
    .execute(&mut *conn)
    .await?;

    Ok(StoredFramework {
        id,
        section_ids,
        goal_ids: goals.id,
    })
}

/// Goals as columns, for one UNNEST insert.
#[derive(Default)]
struct GoalColumns {
    id: Vec<Uuid>,
    section_id: Vec<Uuid>,
    position: Vec<i32>,
    code: Vec<String>,
    title_en: Vec<String>,
    title_fr: Vec<String>,
    guidance_en: Vec<String>,
    guidance_fr: Vec<String>,
    weight: Vec<f64>,
    scale_kind: Vec<&'static str>,
    numeric_min: Vec<Option<f64>>,
    numeric_max: Vec<Option<f64>>,
    numeric_unit: Vec<Option<String>>,
    numeric_decimals: Vec<Option<i16>>,
    levels: LevelColumns,
}

#[derive(Default)]
struct LevelColumns {
    goal_id: Vec<Uuid>,
    level: Vec<i16>,
    name_en: Vec<String>,
    name_fr: Vec<String>,
    descriptor_en: Vec<String>,
    descriptor_fr: Vec<String>,
}

impl GoalColumns {
    fn push(&mut self, section_id: Uuid, position: i32, goal: &crate::domain::framework::Goal) {
        let id = Uuid::new_v4();
        self.id.push(id);
        self.section_id.push(section_id);
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
                self.levels.goal_id.push(id);
                self.levels.level.push(level.level);
                self.levels.name_en.push(level.name.en.clone());
                self.levels.name_fr.push(level.name.fr.clone());
                self.levels.descriptor_en.push(level.descriptor.en.clone());
                self.levels.descriptor_fr.push(level.descriptor.fr.clone());
            }
        }
    }
}
