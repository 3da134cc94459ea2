//! One journey per role, written against the page objects (`pages`), never against markup.

use anyhow::ensure;

use crate::harness::{Browser, Lang};
use crate::pages;
use crate::support::PASSWORD;

/// The numeric goal (0–100 %, whole numbers) the contributor answers.
const NUMERIC_GOAL: &str = "I.3";

/// A contributor answers on the section page, reached from the task list, signed in through the
/// sign-in page. With JavaScript: leaving with unsaved input asks first, autosave saves (the
/// page's policy allows it) and then leaving no longer asks, the answer survives a reload, typed
/// text is kept when a link is added at once, and a refused value reads as the field's message.
/// Without: Save saves and the page says so. The task list then shows the section started.
pub async fn contributor(b: Browser) -> anyhow::Result<()> {
    let (assessment, ally) = b.service.claim("draft").await;
    let user = b.service.user("contributor", Some(ally)).await;
    // The sign-in page starts in the browser's language; the switch on the page picks ours.
    b.client.goto(&format!("{}/livez", b.service.base)).await?;
    b.set_language_cookie().await?;
    pages::sign_in(&b, &user.email, PASSWORD).await?;
    pages::expect_signed_in_as(&b, "Test contributor").await?;
    if b.lang() == Lang::Fr {
        pages::switch_language(&b, Lang::En).await.ok();
        pages::switch_language(&b, Lang::Fr).await?;
    }

    pages::open_assessment(&b, assessment).await?;
    let section = pages::section_of(NUMERIC_GOAL);
    pages::section_status(&b, section).await?;
    pages::open_section(&b, assessment, NUMERIC_GOAL).await?;
    let mark = b.service.next();
    let narrative = format!("Narrative {mark}: exercised twice a year, last in March.");
    if b.config.javascript {
        // Typed and not saved yet: leaving the page asks first.
        pages::fill_value(&b, NUMERIC_GOAL, "42").await?;
        pages::fill_narrative(&b, NUMERIC_GOAL, &narrative).await?;
        ensure!(
            pages::warns_before_leaving(&b).await?,
            "with unsaved input, leaving the page does not ask first"
        );
        // Waits for "Saved at HH:MM": leaving no longer asks; reloads: the text is still there.
        pages::wait_for_autosave(&b, NUMERIC_GOAL).await?;
        ensure!(
            !pages::warns_before_leaving(&b).await?,
            "everything is saved, yet leaving the page still asks"
        );
        b.reload().await?;
        ensure!(
            b.value(&pages::narrative_field(NUMERIC_GOAL)).await? == narrative,
            "the autosaved narrative is gone after a reload"
        );
        ensure!(b.value(&pages::value_field(NUMERIC_GOAL)).await? == "42");

        // Types and at once adds a link on the same goal: both are kept.
        let second = format!("{narrative} Then the link, at once.");
        let link = format!("https://evidence.example/{mark}");
        pages::fill_narrative(&b, NUMERIC_GOAL, &second).await?;
        pages::add_link(&b, assessment, NUMERIC_GOAL, &link).await?;
        pages::open_section(&b, assessment, NUMERIC_GOAL).await?;
        ensure!(
            b.value(&pages::narrative_field(NUMERIC_GOAL)).await? == second,
            "the text typed just before adding a link was lost"
        );
        let links = pages::evidence_links(&b, NUMERIC_GOAL).await?;
        ensure!(links.contains(&link), "the link was not added: {links:?}");

        // A value autosave's server refuses (422) reads as the field's own message, and the
        // status beside Save says where to look.
        pages::fill_value(&b, NUMERIC_GOAL, "250").await?;
        let message = pages::wait_for_autosave_refusal(&b, NUMERIC_GOAL, "value").await?;
        ensure!(
            !message.trim().is_empty(),
            "the refusal names no reason at the field"
        );
        pages::fill_value(&b, NUMERIC_GOAL, "43").await?;
        pages::wait_for_autosave(&b, NUMERIC_GOAL).await?;
    } else {
        pages::fill_value(&b, NUMERIC_GOAL, "42").await?;
        pages::fill_narrative(&b, NUMERIC_GOAL, &narrative).await?;
        pages::save_goal(&b, assessment, NUMERIC_GOAL).await?;
        pages::expect_answer_saved(&b, assessment, NUMERIC_GOAL).await?;
        ensure!(b.value(&pages::narrative_field(NUMERIC_GOAL)).await? == narrative);
        ensure!(b.value(&pages::value_field(NUMERIC_GOAL)).await? == "42");
    }
    // The task list counts the section as started.
    pages::open_assessment(&b, assessment).await?;
    let status = pages::section_status(&b, section).await?;
    ensure!(
        status != "not_started",
        "section {section} is still \"not started\" after an answer was saved"
    );
    pages::expect_section_status(&b, section, status).await?;
    Ok(())
}

/// The head submits a complete assessment (the demo's returned one: every goal answered) and
/// compares the new revision with the one before.
pub async fn head(b: Browser) -> anyhow::Result<()> {
    let (assessment, ally) = b.service.claim("returned").await;
    let user = b.service.user("head", Some(ally)).await;
    b.adopt_session(&user).await?;
    b.visit("/").await?;
    pages::open_assessment(&b, assessment).await?;
    pages::expect_assessment_state(&b, "returned").await?;
    pages::submit_assessment(&b, assessment).await?;
    pages::compare_revisions(&b, assessment).await?;
    pages::open_assessment(&b, assessment).await?;
    pages::expect_assessment_state(&b, "resubmitted").await?;
    Ok(())
}

/// The secretariat returns a submitted assessment with a reason and a note on one goal; the
/// delegation resubmits; the secretariat accepts.
pub async fn secretariat(b: Browser) -> anyhow::Result<()> {
    let (assessment, ally) = b.service.claim("submitted").await;
    let admin = b.service.user("admin", None).await;
    let head = b.service.user("head", Some(ally)).await;
    b.adopt_session(&admin).await?;
    b.visit("/").await?;
    let mark = b.service.next();
    let reason = format!("Reason {mark}: the figures for I.3 need a source.");
    let note = format!("Note {mark}: which survey?");
    pages::return_assessment(&b, assessment, &reason, NUMERIC_GOAL, &note).await?;
    pages::open_assessment(&b, assessment).await?;
    pages::expect_assessment_state(&b, "returned").await?;
    pages::expect_returned_because(&b, &reason).await?;
    // The note puts its section up for review on the task list.
    pages::expect_section_status(&b, pages::section_of(NUMERIC_GOAL), "needs_review").await?;
    pages::expect_note_on_goal(&b, assessment, NUMERIC_GOAL, &note).await?;

    let status = b
        .service
        .post_as(&head, pages::submit_path(assessment))
        .await;
    ensure!(
        status == 303,
        "the delegation's resubmission answered {status}"
    );
    pages::accept_assessment(&b, assessment).await?;
    pages::expect_assessment_state(&b, "accepted").await?;
    Ok(())
}

/// The analyst opens the comparison of the open cycle (the heat map has a legend and named cell
/// links) and downloads each export (the CSV's columns in the session's language).
pub async fn analyst(b: Browser) -> anyhow::Result<()> {
    let user = b.service.user("analyst", None).await;
    let cycle = b.service.cycle("2026").await;
    b.adopt_session(&user).await?;
    b.visit("/").await?;
    pages::open_comparison(&b, cycle).await?;
    pages::expect_heat_map(&b).await?;
    let mut seen = Vec::new();
    for (format, signature) in pages::EXPORTS {
        pages::export(&b, format).await?;
        let file = b.downloaded(&seen).await?;
        let bytes = std::fs::read(&file)?;
        ensure!(!bytes.is_empty(), "the {format} export is empty");
        ensure!(
            bytes.starts_with(signature),
            "the {format} export starts with {:?}",
            String::from_utf8_lossy(&bytes[..bytes.len().min(8)])
        );
        if format == "csv" {
            pages::csv_looks_right(b.lang(), &bytes)?;
        }
        let name = file.to_string_lossy().to_lowercase();
        ensure!(
            name.ends_with(&format!(".{format}")),
            "the {format} export is named {name}"
        );
        seen.push(file);
        // Still on the comparison: the download left the page as it was.
        b.check_page().await?;
    }
    Ok(())
}

/// The admin creates a cycle and opens it.
pub async fn admin(b: Browser) -> anyhow::Result<()> {
    let user = b.service.user("admin", None).await;
    b.adopt_session(&user).await?;
    b.visit("/").await?;
    let code = format!(
        "B{}{}",
        2030 + b.service.next(),
        b.lang().code().to_uppercase()
    );
    let id =
        pages::create_cycle(&b, &code, "Browser suite cycle", "2030-01-15", "2030-06-30").await?;
    pages::expect_cycle_state(&b, "planned").await?;
    pages::open_cycle(&b, id, &code).await?;
    pages::expect_cycle_state(&b, "open").await?;
    Ok(())
}
