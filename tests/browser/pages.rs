//! The page objects: every route, selector and label the journeys rely on, in one place, so that
//! a reshaped page changes this module and not the journeys. Texts come from the catalogues
//! (i18n/*.json), so an assertion reads what a person sees in the configuration's language.
//!
//! The assessment is a task list with one page per section, a "check your answers" page before
//! submitting and a confirmation after; reviewing happens on its own page, returning and opening
//! a cycle ask on a confirmation page first; every action ends on a flash message.

use std::sync::OnceLock;

use anyhow::{Context, bail, ensure};
use serde_json::Value;
use uuid::Uuid;

use crate::harness::{Browser, Lang};

// ---------------------------------------------------------------------------------------------
// Texts

fn catalogue(lang: Lang) -> &'static serde_json::Map<String, Value> {
    static EN: OnceLock<serde_json::Map<String, Value>> = OnceLock::new();
    static FR: OnceLock<serde_json::Map<String, Value>> = OnceLock::new();
    let (cell, text) = match lang {
        Lang::En => (&EN, include_str!("../../i18n/en.json")),
        Lang::Fr => (&FR, include_str!("../../i18n/fr.json")),
    };
    cell.get_or_init(|| serde_json::from_str(text).expect("catalogue"))
}

/// The catalogue's text for `key` in `lang`.
pub fn tr(lang: Lang, key: &str) -> String {
    catalogue(lang)
        .get(key)
        .and_then(Value::as_str)
        .unwrap_or_else(|| panic!("no catalogue key {key}"))
        .to_owned()
}

/// The text a person sees, with `{arg}` filled in.
pub fn tr_with(lang: Lang, key: &str, arg: &str) -> String {
    tr(lang, key).replace("{arg}", arg)
}

/// Whether `text` holds the catalogue's `key` with any argument in place of `{arg}` (the
/// argument is a name the journey does not know, e.g. the participant's in this language).
fn reads_as(lang: Lang, text: &str, key: &str) -> bool {
    let template = tr(lang, key);
    match template.split_once("{arg}") {
        Some((before, after)) => text
            .find(before)
            .is_some_and(|at| text[at + before.len()..].contains(after)),
        None => text.contains(&template),
    }
}

/// The page's flash message (role=status) reads `key`, its argument `arg` when given.
pub async fn expect_flash(b: &Browser, key: &str, arg: Option<&str>) -> anyhow::Result<()> {
    let flash = b.find(".flash[role=status]").await?.text().await?;
    let ok = match arg {
        Some(arg) => flash.contains(&tr_with(b.lang(), key, arg)),
        None => reads_as(b.lang(), &flash, key),
    };
    ensure!(
        ok,
        "the message reads {flash:?}, not {key} ({})",
        b.lang().code()
    );
    Ok(())
}

/// The page is at `path` (the address bar, without query or fragment).
async fn expect_path(b: &Browser, path: &str) -> anyhow::Result<()> {
    let url = b.client.current_url().await?;
    ensure!(url.path() == path, "the page is {url}, not {path}");
    Ok(())
}

async fn expect_text(b: &Browser, css: &str, key: &str) -> anyhow::Result<()> {
    let text = b.text(css).await?;
    let wanted = tr(b.lang(), key);
    ensure!(
        text.contains(&wanted),
        "{css} reads {text:?}, not {wanted:?} ({key}, {})",
        b.lang().code()
    );
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Signing in and the language

/// Signs in through the form (no second factor: not an admin).
pub async fn sign_in(b: &Browser, email: &str, password: &str) -> anyhow::Result<()> {
    b.visit("/signin").await?;
    expect_text(
        b,
        "form[action='/signin'] button[type=submit]",
        "signin.submit",
    )
    .await?;
    b.type_into("#email", email).await?;
    b.type_into("#password", password).await?;
    b.click_and_check("form[action='/signin'] button[type=submit]")
        .await
}

/// Chooses the language with the switch every page carries.
pub async fn switch_language(b: &Browser, lang: Lang) -> anyhow::Result<()> {
    b.find("#language-choice")
        .await?
        .select_by_value(lang.code())
        .await?;
    b.click_and_check("form.language-switch button[type=submit]")
        .await
}

/// The signed-in user's name in the header.
pub async fn expect_signed_in_as(b: &Browser, name: &str) -> anyhow::Result<()> {
    let who = b.text(".whoami").await?;
    ensure!(who.contains(name), "signed in as {who:?}, not {name}");
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// The assessment: task list and section pages

/// The section a goal belongs to: "I" for "I.3".
pub fn section_of(goal: &str) -> &str {
    goal.split('.').next().unwrap_or(goal)
}

/// The assessment's task list.
pub async fn open_assessment(b: &Browser, id: Uuid) -> anyhow::Result<()> {
    b.visit(&format!("/assessments/{id}")).await?;
    b.find("ul.task-list").await?;
    Ok(())
}

/// The status tag of a section on the task list (`tasks.status.*`: "not_started",
/// "in_progress", "completed", "needs_review"); the section's link names it too.
pub async fn expect_section_status(b: &Browser, section: &str, status: &str) -> anyhow::Result<()> {
    let tag = format!("#status-{}", css_id(section));
    expect_text(b, &tag, &format!("tasks.status.{status}")).await?;
    let link = b.find(&format!("#section-{} a", css_id(section))).await?;
    let described = link.attr("aria-describedby").await?.unwrap_or_default();
    ensure!(
        described == format!("status-{section}"),
        "the link to section {section} is not described by its status ({described:?})"
    );
    Ok(())
}

/// The section's status as the task list shows it, as its `tasks.status.*` suffix.
pub async fn section_status(b: &Browser, section: &str) -> anyhow::Result<&'static str> {
    let text = b.text(&format!("#status-{}", css_id(section))).await?;
    ["not_started", "in_progress", "completed", "needs_review"]
        .into_iter()
        .find(|status| text.trim() == tr(b.lang(), &format!("tasks.status.{status}")))
        .with_context(|| format!("section {section}'s status reads {text:?}"))
}

/// The page of the section holding `goal`, reached from the task list as a person would.
pub async fn open_section(b: &Browser, id: Uuid, goal: &str) -> anyhow::Result<()> {
    let section = section_of(goal);
    open_assessment(b, id).await?;
    b.click_and_check(&format!(
        "#section-{} a[href='/assessments/{id}/sections/{section}']",
        css_id(section)
    ))
    .await?;
    expect_path(b, &format!("/assessments/{id}/sections/{section}")).await?;
    b.find(&format!("#goal-{}", css_id(goal))).await?;
    Ok(())
}

/// The value of a numeric goal.
pub fn value_field(goal: &str) -> String {
    format!("#value-{}", css_id(goal))
}

/// The narrative of a goal.
pub fn narrative_field(goal: &str) -> String {
    format!("#narrative-{}", css_id(goal))
}

/// Goal codes hold dots: escaped for CSS.
fn css_id(goal: &str) -> String {
    goal.replace('.', "\\.")
}

/// The goal's answer form: it posts to the section page's address, the goal in a hidden field.
fn goal_form(id: Uuid, goal: &str) -> String {
    format!(
        "#goal-{} form[action='/assessments/{id}/sections/{}']",
        css_id(goal),
        section_of(goal)
    )
}

pub async fn fill_value(b: &Browser, goal: &str, text: &str) -> anyhow::Result<()> {
    b.type_into(&value_field(goal), text).await
}

pub async fn fill_narrative(b: &Browser, goal: &str, text: &str) -> anyhow::Result<()> {
    b.type_into(&narrative_field(goal), text).await
}

/// The autosave status beside the goal's Save button.
pub async fn autosave_status(b: &Browser, goal: &str) -> anyhow::Result<String> {
    b.text(&format!("#autosave-{}[data-autosave-status]", css_id(goal)))
        .await
}

/// Waits until the autosave status says the answer is saved ("Saved at HH:MM").
pub async fn wait_for_autosave(b: &Browser, goal: &str) -> anyhow::Result<()> {
    let template = tr(b.lang(), "autosave.saved");
    let (before, after) = template
        .split_once("{time}")
        .with_context(|| format!("autosave.saved has no {{time}}: {template:?}"))?;
    let failed = tr(b.lang(), "autosave.failed");
    b.wait_until(
        &format!("autosave of {goal} to say {template:?}"),
        || async {
            let status = autosave_status(b, goal).await?;
            ensure!(
                status != failed,
                "autosave reports a connection problem: {status:?}"
            );
            let Some(time) = status
                .strip_prefix(before)
                .and_then(|rest| rest.strip_suffix(after))
            else {
                return Ok(false);
            };
            ensure!(
                time.len() == 5 && time.as_bytes()[2] == b':',
                "autosave's time of save reads {time:?}, not HH:MM"
            );
            Ok(true)
        },
    )
    .await
}

/// Waits until the autosave status reports a refusal; returns the message shown at the field
/// (the same element the page without JavaScript fills in), which must be there, and the field
/// must be marked invalid.
pub async fn wait_for_autosave_refusal(
    b: &Browser,
    goal: &str,
    field: &str,
) -> anyhow::Result<String> {
    let invalid = tr(b.lang(), "autosave.invalid");
    let failed = tr(b.lang(), "autosave.failed");
    b.wait_until(
        &format!("autosave of {goal} to refuse the value"),
        || async {
            let status = autosave_status(b, goal).await?;
            ensure!(
                status != failed,
                "a refused value is shown as a connection problem: {status:?}"
            );
            Ok(status == invalid)
        },
    )
    .await?;
    let message = b.find(&format!("#error-{field}-{}", css_id(goal))).await?;
    ensure!(
        message.is_displayed().await?,
        "the refusal's message at {field} of {goal} is hidden"
    );
    let control = b
        .find(&format!("[id='{field}-{goal}'][aria-invalid='true']"))
        .await
        .with_context(|| format!("{field} of {goal} is not marked invalid"))?;
    let described = control.attr("aria-describedby").await?.unwrap_or_default();
    ensure!(
        described.contains(&format!("error-{field}-{goal}")),
        "the field's message is not tied to it: {described:?}"
    );
    Ok(message.text().await?)
}

/// Whether the page would ask before leaving it: a cancelable `beforeunload` event dispatched
/// as the browser does is cancelled (or given a return value) by the page's handler.
pub async fn warns_before_leaving(b: &Browser) -> anyhow::Result<bool> {
    let warned = b
        .client
        .execute(
            "var event = new Event('beforeunload', { cancelable: true });
             window.dispatchEvent(event);
             return event.defaultPrevented || event.returnValue === false;",
            vec![],
        )
        .await?;
    Ok(warned == Value::Bool(true))
}

/// Presses the goal's Save button (the way without JavaScript).
pub async fn save_goal(b: &Browser, id: Uuid, goal: &str) -> anyhow::Result<()> {
    let button = format!(
        "{} button#save-{}[type=submit]",
        goal_form(id, goal),
        css_id(goal)
    );
    expect_text(b, &button, "assessment.save").await?;
    b.find(&format!(
        "{} input[type=hidden][name=goal][value='{goal}']",
        goal_form(id, goal)
    ))
    .await?;
    b.click_and_check(&button).await
}

/// After a save without JavaScript: back on the section page at the goal, and the flash
/// message says the answer was saved.
pub async fn expect_answer_saved(b: &Browser, id: Uuid, goal: &str) -> anyhow::Result<()> {
    let url = b.client.current_url().await?;
    ensure!(
        url.path() == format!("/assessments/{id}/sections/{}", section_of(goal))
            && url.fragment() == Some(&format!("goal-{goal}")),
        "after saving, the page is {url}"
    );
    expect_flash(b, "flash.answer_saved", Some(goal)).await
}

/// Opens the goal's evidence (a `<details>`), types a link and presses "Add the link" at once.
pub async fn add_link(b: &Browser, id: Uuid, goal: &str, url: &str) -> anyhow::Result<()> {
    let evidence = format!("details#evidence-{}", css_id(goal));
    if b.find(&evidence).await?.attr("open").await?.is_none() {
        b.find(&format!("{evidence} > summary"))
            .await?
            .click()
            .await?;
    }
    b.type_into(&format!("#link-{}", css_id(goal)), url).await?;
    let button = format!("form[action='/assessments/{id}/goals/{goal}/links'] button");
    expect_text(b, &button, "evidence.add_link").await?;
    b.click_and_check(&button).await?;
    expect_flash(b, "flash.link_added", Some(goal)).await
}

/// The addresses of the goal's evidence links.
pub async fn evidence_links(b: &Browser, goal: &str) -> anyhow::Result<Vec<String>> {
    let links = b
        .client
        .find_all(fantoccini::Locator::Css(&format!(
            "#goal-{} .evidence li a",
            css_id(goal)
        )))
        .await?;
    let mut hrefs = Vec::new();
    for link in links {
        hrefs.push(link.attr("href").await?.unwrap_or_default());
    }
    Ok(hrefs)
}

// ---------------------------------------------------------------------------------------------
// Submitting and reviewing

/// The assessment's state on its task list (the first fact).
pub async fn expect_assessment_state(b: &Browser, state: &str) -> anyhow::Result<()> {
    expect_text(b, "dl.facts dd", &format!("assessment_state.{state}")).await
}

/// The head submits: task list → "Check your answers and submit" → the check page's button →
/// the confirmation page with the revision and its digest.
pub async fn submit_assessment(b: &Browser, id: Uuid) -> anyhow::Result<()> {
    open_assessment(b, id).await?;
    let check = format!("a[href='/assessments/{id}/check']");
    expect_text(b, &check, "tasks.check_and_submit").await?;
    b.click_and_check(&check).await?;
    expect_path(b, &format!("/assessments/{id}/check")).await?;
    expect_text(b, "h1", "check.title").await?;
    ensure!(
        !b.has("#not-ready").await?,
        "the check page says the assessment is not ready: {}",
        b.text("#not-ready").await?
    );
    let button = format!("form[action='/assessments/{id}/submit'] button[type=submit]");
    expect_text(b, &button, "workflow.submit").await?;
    b.click_and_check(&button).await?;
    expect_path(b, &format!("/assessments/{id}/submitted")).await?;
    expect_text(b, ".confirmation-panel h1", "submitted.title").await?;
    let revision = b.text("#submitted-revision").await?;
    ensure!(
        revision.trim().parse::<u32>().is_ok_and(|r| r > 0),
        "the confirmation's revision reads {revision:?}"
    );
    let digest = b.text("#submitted-digest").await?;
    ensure!(
        digest.trim().len() >= 32 && digest.trim().chars().all(|c| c.is_ascii_hexdigit()),
        "the confirmation's digest reads {digest:?}"
    );
    Ok(())
}

/// From the confirmation page, "All revisions": the revisions page lists the revision just
/// submitted (its digest) and compares it with the one before; comparing it with itself
/// through the page's form (a GET form: the same with and without JavaScript) says that no
/// field differs.
pub async fn compare_revisions(b: &Browser, id: Uuid) -> anyhow::Result<()> {
    let revision: u32 = b.text("#submitted-revision").await?.trim().parse()?;
    let digest = b.text("#submitted-digest").await?.trim().to_owned();
    let link = format!("a[href='/assessments/{id}/revisions']");
    expect_text(b, &link, "submitted.revisions").await?;
    b.click_and_check(&link).await?;
    expect_path(b, &format!("/assessments/{id}/revisions")).await?;
    expect_text(b, "h1", "revisions.title").await?;
    let listed = b.text("#revision-list").await?;
    ensure!(
        listed.contains(&digest),
        "the revisions page does not list the submitted digest {digest}: {listed:?}"
    );
    ensure!(
        revision > 1,
        "a resubmission is revision 2 or later, not {revision}"
    );
    let caption = b.text("#revision-changes caption").await?;
    let compared = format!("{} → {revision}", revision - 1);
    ensure!(
        caption.contains(&compared),
        "the comparison reads {caption:?}, not {compared:?}"
    );
    b.find("#from")
        .await?
        .select_by_value(&revision.to_string())
        .await?;
    let compare = format!("form[action='/assessments/{id}/revisions'] button[type=submit]");
    expect_text(b, &compare, "revisions.compare").await?;
    b.click_and_check(&compare).await?;
    expect_path(b, &format!("/assessments/{id}/revisions")).await?;
    let caption = b.text("#revision-changes caption").await?;
    let itself = format!("{revision} → {revision}");
    ensure!(
        caption.contains(&itself),
        "the comparison reads {caption:?}, not {itself:?}"
    );
    expect_text(b, "#revision-changes tbody", "revisions.no_changes").await
}

/// The secretariat returns the assessment from the review page, with a reason and a note on one
/// goal, checks the confirmation page (it repeats both) and confirms.
pub async fn return_assessment(
    b: &Browser,
    id: Uuid,
    reason: &str,
    goal: &str,
    note: &str,
) -> anyhow::Result<()> {
    b.visit(&format!("/assessments/{id}/review")).await?;
    let note_field = format!("#note-{}", css_id(goal));
    let name = b.find(&note_field).await?.attr("name").await?;
    ensure!(
        name.as_deref() == Some(&format!("note_{goal}")),
        "the note on {goal} is sent as {name:?}"
    );
    b.type_into("#reason", reason).await?;
    b.type_into(&note_field, note).await?;
    expect_text(b, "#return-button", "review.return").await?;
    b.click_and_check("#return-button").await?;
    expect_path(b, &format!("/assessments/{id}/return/confirm")).await?;
    ensure!(
        !b.text("#return-question").await?.trim().is_empty(),
        "the confirmation asks nothing"
    );
    let shown = b.text("#return-reason").await?;
    ensure!(
        shown.contains(reason),
        "the confirmation shows the reason {shown:?}"
    );
    let notes = b.text("#return-notes").await?;
    ensure!(
        notes.contains(goal) && notes.contains(note),
        "the confirmation shows the notes {notes:?}"
    );
    expect_text(b, "#confirm-return", "review.confirm.yes").await?;
    b.click_and_check("#confirm-return").await?;
    expect_path(b, &format!("/assessments/{id}")).await?;
    expect_flash(b, "flash.assessment_returned", None).await
}

/// The task list shows the return's reason (to the secretariat and to the delegation alike), and
/// lists the goal with a note, linked to it.
pub async fn expect_returned_because(b: &Browser, reason: &str) -> anyhow::Result<()> {
    let notice = b.text("#returned").await?;
    ensure!(
        notice.contains(&tr(b.lang(), "workflow.returned_because")) && notice.contains(reason),
        "the return's reason is not shown: {notice:?}"
    );
    Ok(())
}

/// The task list links the goal with the note, and the goal on its section page shows it.
pub async fn expect_note_on_goal(
    b: &Browser,
    id: Uuid,
    goal: &str,
    note: &str,
) -> anyhow::Result<()> {
    let listed = b.text(&format!("#returned #note-{}", css_id(goal))).await?;
    ensure!(
        listed.contains(goal) && listed.contains(note),
        "the task list does not list the note on {goal}: {listed:?}"
    );
    open_section(b, id, goal).await?;
    let text = b.text(&format!("#goal-{} .alert", css_id(goal))).await?;
    ensure!(
        text.contains(&tr(b.lang(), "workflow.note_on_answer")) && text.contains(note),
        "the note on {goal} is not shown: {text:?}"
    );
    Ok(())
}

/// The secretariat accepts from the review page; back on the task list with a message.
pub async fn accept_assessment(b: &Browser, id: Uuid) -> anyhow::Result<()> {
    b.visit(&format!("/assessments/{id}/review")).await?;
    expect_text(b, "#accept-button", "review.accept").await?;
    b.click_and_check("#accept-button").await?;
    expect_path(b, &format!("/assessments/{id}")).await?;
    expect_flash(b, "flash.assessment_accepted", None).await
}

/// The submit path the head takes, for the harness to resubmit on the delegation's behalf.
pub fn submit_path(id: Uuid) -> String {
    format!("/assessments/{id}/submit")
}

// ---------------------------------------------------------------------------------------------
// Reports and exports

/// The reports' index, then the cycle's comparison from there.
pub async fn open_comparison(b: &Browser, cycle: Uuid) -> anyhow::Result<()> {
    b.visit("/reports").await?;
    let link = format!("a[href^='/cycles/{cycle}/report']");
    b.click_and_check(&link).await
}

/// The export formats the comparison offers, each with the first bytes its file must start with.
pub const EXPORTS: [(&str, &[u8]); 4] = [
    ("csv", b""),
    ("xlsx", b"PK"),
    ("json", b"{"),
    ("pdf", b"%PDF"),
];

/// Chooses a format and presses Download (the file downloads; the page stays).
pub async fn export(b: &Browser, format: &str) -> anyhow::Result<()> {
    b.find("#export-format")
        .await?
        .select_by_value(format)
        .await?;
    let button = "form[action$='/export'] button[type=submit]";
    expect_text(b, button, "export.download").await?;
    b.find(button).await?.click().await?;
    Ok(())
}

/// The first line a CSV export starts with holds the column names, in the session's language
/// (`export.column.*`: e.g. `code_cycle` in French).
pub fn csv_looks_right(lang: Lang, bytes: &[u8]) -> anyhow::Result<()> {
    let text = std::str::from_utf8(bytes).context("CSV in UTF-8")?;
    let first = text
        .trim_start_matches('\u{feff}')
        .lines()
        .next()
        .unwrap_or_default();
    if !first.contains(',') && !first.contains(';') {
        bail!("the CSV's first line has no columns: {first:?}");
    }
    let columns: Vec<&str> = first
        .split([',', ';'])
        .map(|c| c.trim().trim_matches('"'))
        .collect();
    let wanted = tr(lang, "export.column.cycle_code");
    ensure!(
        columns.contains(&wanted.as_str()),
        "the CSV's columns are not in {}: no {wanted:?} in {first:?}",
        lang.code()
    );
    if lang != Lang::En {
        let english = tr(Lang::En, "export.column.cycle_code");
        ensure!(
            wanted == english || !columns.contains(&english.as_str()),
            "the CSV's columns are in English: {first:?}"
        );
    }
    Ok(())
}

/// The comparison's heat map: its legend is visible, and each cell is a link named
/// "Participant, section: figure" (a single link per cell, not links inside an image).
pub async fn expect_heat_map(b: &Browser) -> anyhow::Result<()> {
    let legend = b.find(".chart-legend").await?;
    ensure!(
        legend.is_displayed().await?,
        "the heat map's legend is not visible"
    );
    ensure!(
        !legend.text().await?.trim().is_empty(),
        "the heat map's legend says nothing"
    );
    let cells = b
        .client
        .find_all(fantoccini::Locator::Css("svg.chart-heatmap a.heat-cell"))
        .await?;
    ensure!(!cells.is_empty(), "the heat map has no cell links");
    for cell in cells.iter().take(5) {
        let name = cell.attr("aria-label").await?.unwrap_or_default();
        let named = name.rsplit_once(": ").is_some_and(|(who, figure)| {
            !figure.trim().is_empty()
                && who.split_once(", ").is_some_and(|(row, column)| {
                    !row.trim().is_empty() && !column.trim().is_empty()
                })
        });
        ensure!(
            named,
            "a heat-map cell is named {name:?}, not \"Name, section: figure\""
        );
        let href = cell.attr("href").await?.unwrap_or_default();
        ensure!(!href.is_empty(), "the heat-map cell {name:?} leads nowhere");
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Cycles

/// Creates a cycle of the first framework offered; returns its id (from the board's address).
pub async fn create_cycle(
    b: &Browser,
    code: &str,
    title: &str,
    opens_on: &str,
    deadline: &str,
) -> anyhow::Result<Uuid> {
    b.visit("/cycles").await?;
    b.click_and_check("a[href='/cycles/new']").await?;
    let framework = b.find("#framework option:nth-child(2)").await?;
    let value = framework.attr("value").await?.unwrap_or_default();
    b.find("#framework").await?.select_by_value(&value).await?;
    b.type_into("#code", code).await?;
    b.type_into("#title_en", title).await?;
    b.type_into("#title_fr", title).await?;
    set_date(b, "#opens_on", opens_on).await?;
    set_date(b, "#deadline", deadline).await?;
    let button = "form[action='/cycles/new'] button[type=submit]";
    expect_text(b, button, "cycles.create").await?;
    b.click_and_check(button).await?;
    let url = b.client.current_url().await?;
    let id = url
        .path()
        .strip_prefix("/cycles/")
        .and_then(|rest| rest.parse().ok())
        .with_context(|| format!("after creating a cycle the page is {url}"))?;
    Ok(id)
}

/// Date inputs take keys in the locale's order: set the value as the form will send it.
async fn set_date(b: &Browser, css: &str, date: &str) -> anyhow::Result<()> {
    let field = b.find(css).await?;
    let element = serde_json::to_value(&field)?;
    b.client
        .execute(
            "arguments[0].value = arguments[1];",
            vec![element, Value::String(date.to_owned())],
        )
        .await?;
    Ok(())
}

/// The admin opens a planned cycle: the board's "Cycle actions" link, the confirmation page
/// (what opening does, to how many participants), its button, back on the board with a message.
pub async fn open_cycle(b: &Browser, id: Uuid, code: &str) -> anyhow::Result<()> {
    b.visit(&format!("/cycles/{id}")).await?;
    let link = format!("#action-open[href='/cycles/{id}/open']");
    expect_text(b, &link, "cycles.open").await?;
    b.click_and_check(&link).await?;
    expect_path(b, &format!("/cycles/{id}/open")).await?;
    let count = b.text("#count-active").await?;
    ensure!(
        count.trim().parse::<u32>().is_ok_and(|n| n > 0),
        "the confirmation counts {count:?} active participants"
    );
    expect_text(b, "#confirm-open", "cycle_confirm.open.button").await?;
    b.click_and_check("#confirm-open").await?;
    expect_path(b, &format!("/cycles/{id}")).await?;
    expect_flash(b, "flash.cycle_open", Some(code)).await
}

/// The cycle's state on its board.
pub async fn expect_cycle_state(b: &Browser, state: &str) -> anyhow::Result<()> {
    expect_text(b, "dl.facts dd", &format!("cycle_state.{state}")).await
}
