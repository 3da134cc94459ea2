//! Journeys through the bulk import pages (issue 17): the secretariat uploads a delegation's
//! return received by mail into the open cycle, reads the check page's problem placed by row and
//! column, corrects the file, checks again and applies; the cycle board then shows its "Answers
//! carried forward" section; the delegation sees the answer marked as entered by the secretariat
//! on its form. Page objects for these pages live here, beside the journeys, as `pages` does for
//! the others.

use std::path::PathBuf;

use anyhow::{Context, ensure};
use uuid::Uuid;

use crate::harness::Browser;
use crate::pages;

/// The numeric goal (0–100 %, whole numbers) the return answers.
const GOAL: &str = "I.3";

/// A tidy file (the cycle report's CSV layout) with one answer of `participant`, made now (so no
/// draft answer saved before counts as newer than the file).
fn return_file(b: &Browser, participant: &str, value: &str) -> anyhow::Result<PathBuf> {
    let columns = pledge::domain::report::export::FIELDS
        .iter()
        .map(|(name, _)| *name)
        .collect::<Vec<_>>()
        .join(",");
    let mut cells = vec![""; 18];
    cells[0] = "2026";
    cells[1] = participant;
    cells[7] = GOAL;
    cells[10] = "answered";
    cells[11] = value;
    let made =
        time::OffsetDateTime::now_utc().format(&time::format_description::well_known::Rfc3339)?;
    let content = format!(
        "{columns},narrative,generated_at\n{},Received by mail,{made}\n",
        cells.join(",")
    );
    let path = std::env::temp_dir().join(format!(
        "pledge-browser-return-{}-{}.csv",
        std::process::id(),
        b.service.next()
    ));
    std::fs::write(&path, content)?;
    Ok(path)
}

/// The import page of a cycle, from its board.
async fn open_import(b: &Browser, cycle: Uuid) -> anyhow::Result<()> {
    b.visit(&format!("/cycles/{cycle}")).await?;
    b.click_and_check("#action-import").await
}

/// Chooses "Returns received from delegations" and the file, then "Check the file".
async fn check_on_behalf(b: &Browser, file: &std::path::Path) -> anyhow::Result<()> {
    b.find("#purpose-on-behalf").await?.click().await?;
    let path = file.to_str().context("a temporary path in UTF-8")?;
    b.find("#file").await?.send_keys(path).await?;
    let button = "form[enctype='multipart/form-data'] button[type=submit]";
    let label = b.text(button).await?;
    let wanted = pages::tr(b.lang(), "import.check");
    ensure!(label.contains(&wanted), "the button reads {label:?}");
    b.click_and_check(button).await
}

/// The problems the check page lists: (row, column, message).
async fn problems(b: &Browser) -> anyhow::Result<Vec<(String, String, String)>> {
    let mut found = Vec::new();
    for row in b
        .client
        .find_all(fantoccini::Locator::Css("table.problems tbody tr"))
        .await?
    {
        let cells = row.find_all(fantoccini::Locator::Css("td")).await?;
        ensure!(cells.len() == 4, "a problem row has {} cells", cells.len());
        found.push((
            cells[1].text().await?,
            cells[2].text().await?,
            cells[3].text().await?,
        ));
    }
    Ok(found)
}

/// The secretariat enters a return received by mail on the delegation's behalf: the first file
/// has a value off the goal's scale, named at its row and column, with nothing to apply; the
/// corrected file checks clean (one new answer) and is applied; the cycle board says so and shows
/// where answers were carried forward from. The delegation's head then finds the answer on its
/// form marked "Entered by the secretariat on …"; without JavaScript it saves it, and the mark
/// goes.
pub async fn secretariat_enters_a_return_on_behalf(b: Browser) -> anyhow::Result<()> {
    let (assessment, ally) = b.service.claim("draft").await;
    let admin = b.service.user("admin", None).await;
    let head = b.service.user("head", Some(ally.clone())).await;
    let cycle = b.service.cycle("2026").await;
    b.adopt_session(&admin).await?;
    b.visit("/").await?;

    // A value off the scale: refused, at its place, nothing to apply.
    open_import(&b, cycle).await?;
    check_on_behalf(&b, &return_file(&b, &ally, "250")?).await?;
    b.find("#import-refused").await?;
    let found = problems(&b).await?;
    ensure!(
        found
            .iter()
            .any(|(row, column, message)| row == "2" && column == "L" && !message.is_empty()),
        "the value off the scale is not placed at row 2, column L: {found:?}"
    );
    ensure!(
        !b.has("#import-apply").await?,
        "a refused file can be applied"
    );

    // Corrected: one new answer for the Ally, then applied.
    b.click_and_check(&format!("a[href='/cycles/{cycle}/import']"))
        .await?;
    check_on_behalf(&b, &return_file(&b, &ally, "42")?).await?;
    let summary = b.text("#import-summary").await?;
    ensure!(
        summary.contains(&pages::tr(b.lang(), "import.purpose.on_behalf")),
        "the check page does not say on whose behalf: {summary:?}"
    );
    // The Ally's row: one answer new or changed (its draft may have had one), none refused.
    let counts = b.text("#import-counts tbody").await?;
    let cells: Vec<&str> = counts.split_whitespace().collect();
    ensure!(
        cells.len() == 5
            && cells[0] == ally
            && cells[1..3].iter().filter(|n| **n == "1").count() == 1
            && cells[4] == "0",
        "the Ally's row should count one new or changed answer: {counts:?}"
    );
    b.click_and_check("#import-apply").await?;
    let url = b.client.current_url().await?;
    ensure!(
        url.path() == format!("/cycles/{cycle}"),
        "after applying, the page is {url}"
    );
    pages::expect_flash(&b, "flash.import_answers_done", Some("1")).await?;

    // The delegation's head: the answer is there, marked as the secretariat's.
    b.adopt_session(&head).await?;
    b.visit(&format!("/assessments/{assessment}")).await?;
    b.click_and_check(&format!(
        "a[href='/assessments/{assessment}/sections/{}']",
        pages::section_of(GOAL)
    ))
    .await?;
    ensure!(b.value(&pages::value_field(GOAL)).await? == "42");
    let mark = entered_by_secretariat(&b).await?;
    ensure!(
        mark.is_some(),
        "the imported answer is not marked as entered by the secretariat"
    );
    if !b.config.javascript {
        // Its button asks to confirm; saving is the delegation's own answer now.
        let button = format!("button#save-{}[type=submit]", GOAL.replace('.', "\\."));
        let label = b.text(&button).await?;
        ensure!(
            label.contains(&pages::tr(b.lang(), "assessment.confirm_save")),
            "the button of an unconfirmed answer reads {label:?}"
        );
        b.click_and_check(&button).await?;
        pages::expect_flash(&b, "flash.answer_saved", Some(GOAL)).await?;
        ensure!(
            entered_by_secretariat(&b).await?.is_none(),
            "the mark stays after the delegation saved the answer"
        );
    }
    Ok(())
}

/// The goal's "Entered by the secretariat on …" mark, if shown.
async fn entered_by_secretariat(b: &Browser) -> anyhow::Result<Option<String>> {
    let css = format!("#on-behalf-{}", GOAL.replace('.', "\\."));
    if !b.has(&css).await? {
        return Ok(None);
    }
    let text = b.text(&css).await?;
    let template = pages::tr(b.lang(), "assessment.entered_by_secretariat");
    let (before, _) = template.split_once("{date}").unwrap_or((&template, ""));
    ensure!(
        text.starts_with(before)
            && text.contains(&time::OffsetDateTime::now_utc().year().to_string()),
        "the mark reads {text:?}"
    );
    Ok(Some(text))
}

/// The admin opens a new cycle of the demo's framework: its board then says, in its "Answers
/// carried forward" section, from which cycle the delegations' last accepted answers came, on
/// which framework version, and for how many participants and answers.
pub async fn board_shows_answers_carried_forward(b: Browser) -> anyhow::Result<()> {
    let admin = b.service.user("admin", None).await;
    b.adopt_session(&admin).await?;
    b.visit("/").await?;
    let code = format!(
        "CF{}{}",
        2040 + b.service.next(),
        b.lang().code().to_uppercase()
    );
    let id = pages::create_cycle(&b, &code, "Carried forward", "2040-01-15", "2040-06-30").await?;
    ensure!(
        !b.has("#carried").await?,
        "a planned cycle has nothing carried forward yet"
    );
    pages::open_cycle(&b, id, &code).await?;
    let heading = b.text("#carried-heading").await?;
    ensure!(
        heading == pages::tr(b.lang(), "board.carried.title"),
        "the section is headed {heading:?}"
    );
    let sources = b
        .client
        .find_all(fantoccini::Locator::Css("#carried li"))
        .await?;
    ensure!(!sources.is_empty(), "the section names no source cycle");
    for source in sources {
        let text = source.text().await?;
        let numbers: Vec<u64> = text
            .split(|c: char| !c.is_ascii_digit())
            .filter_map(|n| n.parse().ok())
            .collect();
        ensure!(
            text.starts_with(&pages::tr(b.lang(), "board.carried.from"))
                && text.contains(&pages::tr(b.lang(), "board.carried.participants"))
                && text.contains(&pages::tr(b.lang(), "board.carried.answers"))
                && numbers.iter().rev().take(2).all(|n| *n > 0),
            "a source reads {text:?}"
        );
        // The source cycle is a link to its board.
        source
            .find(fantoccini::Locator::Css("a[href^='/cycles/']"))
            .await
            .with_context(|| format!("no link to the source cycle in {text:?}"))?;
    }
    Ok(())
}
