//! The example frameworks parse under the framework rules and store in full.

use pledge::domain::framework::{AnswerScale, Framework, RollUp};
use pledge::storage::frameworks;
use sqlx::Connection;

use crate::support::TestDb;

fn fixture(name: &str) -> Framework {
    let path = format!("{}/fixtures/frameworks/{name}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap();
    Framework::from_json(&text).unwrap_or_else(|problems| panic!("{name}: {problems:?}"))
}

#[test]
fn the_pledge_fixture_has_the_seven_commitments_with_mixed_scales() {
    let pledge = fixture("cyber-defence-pledge-2016.json");
    let codes: Vec<&str> = pledge.sections.iter().map(|s| s.code.as_str()).collect();
    assert_eq!(codes, ["I", "II", "III", "IV", "V", "VI", "VII"]);
    assert!(pledge.sections.iter().all(|s| s.goals.len() >= 3));
    let kinds: std::collections::BTreeSet<&str> =
        pledge.goals().map(|(_, g)| g.scale.kind()).collect();
    assert_eq!(
        kinds.into_iter().collect::<Vec<_>>(),
        ["maturity", "numeric", "yes_no"]
    );
    assert!(pledge.description.en.to_lowercase().contains("illustrat"));
}

#[test]
fn the_gci_and_ncaf_shapes_are_expressible() {
    let gci = fixture("itu-gci-2020.json");
    assert_eq!(gci.roll_up, RollUp::Sum);
    assert_eq!(gci.sections.len(), 5);
    assert!(gci.goals().all(|(_, g)| matches!(
        g.scale,
        AnswerScale::Numeric { min, max, .. }
            if min == rust_decimal::Decimal::ZERO && max == rust_decimal::Decimal::from(20)
    )));
    let ncaf = fixture("enisa-ncaf.json");
    assert_eq!(ncaf.sections.len(), 4);
    assert_eq!(ncaf.goals().count(), 17);
    assert!(ncaf.goals().all(|(_, g)| match &g.scale {
        AnswerScale::Maturity { levels } =>
            levels.first().unwrap().level == 1 && levels.last().unwrap().level == 5,
        _ => false,
    }));
}

#[tokio::test]
async fn every_example_framework_stores_with_all_its_sections_goals_and_levels() {
    let db = TestDb::new().await;
    let mut owner = db.owner().await;
    for name in [
        "cyber-defence-pledge-2016.json",
        "itu-gci-2020.json",
        "enisa-ncaf.json",
    ] {
        let framework = fixture(name);
        let mut tx = owner.begin().await.unwrap();
        let stored = frameworks::insert(&mut tx, &framework).await.unwrap();
        tx.commit().await.unwrap();
        let (sections, goals, levels): (i64, i64, i64) = sqlx::query_as(
            "SELECT (SELECT count(*) FROM framework_sections WHERE framework_id = $1),
                    (SELECT count(*) FROM goals WHERE framework_id = $1),
                    (SELECT count(*) FROM maturity_levels l JOIN goals g ON g.id = l.goal_id
                     WHERE g.framework_id = $1)",
        )
        .bind(stored.id)
        .fetch_one(&mut owner)
        .await
        .unwrap();
        let expected_levels: usize = framework
            .goals()
            .map(|(_, g)| match &g.scale {
                AnswerScale::Maturity { levels } => levels.len(),
                _ => 0,
            })
            .sum();
        assert_eq!(sections as usize, framework.sections.len(), "{name}");
        assert_eq!(goals as usize, framework.goals().count(), "{name}");
        assert_eq!(levels as usize, expected_levels, "{name}");
    }
}
