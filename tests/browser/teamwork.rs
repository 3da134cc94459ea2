//! Teamwork journeys (issue 18): a head invites a contributor from the team page, the invitee
//! opens the invitation link and sets up the account, the head assigns a goal to them, and the
//! contributor finds it with the form's "mine" filter and on My work, reads the notice (the
//! unread count goes down) and saves a notification choice.
//!
//! The page objects come first (every route, selector and label these journeys rely on), then
//! the journey, written against them.

use anyhow::{Context, ensure};
use fantoccini::Locator;
use fantoccini::cookies::Cookie;
use uuid::Uuid;

use crate::harness::{Browser, Lang};
use crate::pages::{self, expect_flash, tr};

/// The goal the head assigns (the demo framework's; its section is `I`).
const GOAL: &str = "I.3";
/// The invitee's password (the rules: 12 characters or more).
const NEW_PASSWORD: &str = "violet harbour engine 47";

// ---------------------------------------------------------------------------------------------
// Page objects

/// Leaves the current account: the session cookie goes (the language and device cookies stay,
/// as in a browser someone else then uses).
async fn sign_out_cookie(b: &Browser) -> anyhow::Result<()> {
    b.client.goto(&format!("{}/livez", b.service.base)).await?;
    b.client.delete_cookie("pledge_session").await.ok();
    // The language follows the configuration, as the switch would set it.
    let mut cookie = Cookie::parse(format!(
        "pledge_lang={}; Path=/; SameSite=Lax",
        b.lang().code()
    ))?;
    cookie.set_domain("127.0.0.1");
    b.client.add_cookie(cookie).await?;
    Ok(())
}

/// The team page, from the header's "Team" link.
async fn open_team(b: &Browser) -> anyhow::Result<()> {
    b.visit("/").await?;
    let link = "header a[href='/team'], nav a[href='/team']";
    ensure!(
        b.text(link).await?.contains(&tr(b.lang(), "nav.team")),
        "the header's team link does not read {:?}",
        tr(b.lang(), "nav.team")
    );
    b.click_and_check(link).await?;
    b.find("#members-heading").await?;
    Ok(())
}

/// Invites `email` as a contributor reading the configuration's language, from the team page:
/// "Invite a member", the form, back on the team page with the message and the pending row.
async fn invite_contributor(b: &Browser, email: &str, name: &str) -> anyhow::Result<()> {
    b.click_and_check("a[href='/team/invite']").await?;
    b.type_into("#email", email).await?;
    b.type_into("#display_name", name).await?;
    b.find("#role-contributor").await?.click().await?;
    b.find(&format!("#language-{}", b.lang().code()))
        .await?
        .click()
        .await?;
    let button = "form[action='/team/invite'] button[type=submit]";
    ensure!(
        b.text(button)
            .await?
            .contains(&tr(b.lang(), "team.send_invitation"))
    );
    b.click_and_check(button).await?;
    ensure_path(b, "/team").await?;
    expect_flash(b, "flash.team_invited", Some(email)).await?;
    let pending = b
        .text("section[aria-labelledby='pending-heading'] table")
        .await?;
    ensure!(
        pending.contains(email) && pending.contains(name),
        "the pending invitations do not list {email}: {pending:?}"
    );
    Ok(())
}

async fn ensure_path(b: &Browser, path: &str) -> anyhow::Result<()> {
    let url = b.client.current_url().await?;
    ensure!(url.path() == path, "the page is {url}, not {path}");
    Ok(())
}

/// The link the invitation mail carries (`/invitations/{token}`), read from the outbox as the
/// sender would send it: only the token's hash is stored elsewhere.
async fn invitation_link(b: &Browser, email: &str) -> anyhow::Result<String> {
    let email = email.to_owned();
    let link: Option<String> = b
        .service
        .run(move |s| async move {
            let mut owner = s.app.db.owner().await;
            let mut tx = sqlx::Connection::begin(&mut owner).await.unwrap();
            pledge::storage::set_scope(&mut tx, &pledge::storage::Scope::System)
                .await
                .unwrap();
            sqlx::query_scalar(
                "SELECT link FROM mail_outbox WHERE recipient = $1 AND kind = 'team_invitation'
                 ORDER BY created_at DESC LIMIT 1",
            )
            .bind(email)
            .fetch_optional(&mut *tx)
            .await
            .unwrap()
        })
        .await;
    let link = link.context("no invitation mail in the outbox")?;
    ensure!(
        link.starts_with("/invitations/"),
        "the mail links to {link}"
    );
    Ok(link)
}

/// Opens the invitation, checks what it says, sets the password and ends on the sign-in page
/// with the message naming the account.
async fn accept_invitation(b: &Browser, link: &str, email: &str, name: &str) -> anyhow::Result<()> {
    b.visit(link).await?;
    let title = b.text("h1").await?;
    ensure!(
        title.contains(&tr(b.lang(), "invitation.title")),
        "{title:?}"
    );
    let facts = b.text("dl.facts").await?;
    ensure!(
        facts.contains(email) && facts.contains(name),
        "the invitation does not say who it is for: {facts:?}"
    );
    b.type_into("#new_password", NEW_PASSWORD).await?;
    b.type_into("#confirm_password", NEW_PASSWORD).await?;
    let button = "form[action^='/invitations/'] button[type=submit]";
    ensure!(
        b.text(button)
            .await?
            .contains(&tr(b.lang(), "invitation.accept"))
    );
    b.click_and_check(button).await?;
    ensure_path(b, "/signin").await?;
    expect_flash(b, "flash.invitation_accepted", Some(email)).await
}

/// The head assigns `goal` to `member` on the assessment's assignment page, reached from the
/// team page's list of assessments; the page then lists them as holding it.
async fn assign_goal(
    b: &Browser,
    assessment: Uuid,
    member: &str,
    goal: &str,
) -> anyhow::Result<()> {
    open_team(b).await?;
    b.click_and_check(&format!("a[href='/assessments/{assessment}/assignments']"))
        .await?;
    let label = format!("{member} ({})", tr(b.lang(), "role.contributor"));
    b.find("#member")
        .await?
        .select_by_label(&label)
        .await
        .with_context(|| format!("no member {label:?} to choose"))?;
    b.find(&format!("input[name='goal'][value='{goal}']"))
        .await?
        .click()
        .await?;
    let button =
        format!("form[action='/assessments/{assessment}/assignments'] button[type=submit]");
    ensure!(
        b.text(&button)
            .await?
            .contains(&tr(b.lang(), "assignments.assign"))
    );
    b.click_and_check(&button).await?;
    expect_flash(b, "flash.goals_assigned", Some("1")).await?;
    let holders = b.text("#holders").await?;
    ensure!(
        holders.contains(goal) && holders.contains(member),
        "the assignment page does not show {member} holding {goal}: {holders:?}"
    );
    Ok(())
}

/// The task list filtered to "mine" (its filter link): only the sections holding the reader's
/// goals remain.
async fn filter_to_mine(b: &Browser, assessment: Uuid) -> anyhow::Result<Vec<String>> {
    pages::open_assessment(b, assessment).await?;
    let link = format!("nav.goal-filter a[href='/assessments/{assessment}?mine=1']");
    ensure!(
        b.text(&link)
            .await?
            .contains(&tr(b.lang(), "assignments.mine"))
    );
    b.click_and_check(&link).await?;
    let current = b
        .find(&link)
        .await?
        .attr("aria-current")
        .await?
        .unwrap_or_default();
    ensure!(
        current == "page",
        "the \"mine\" filter is not marked current"
    );
    let mut shown = Vec::new();
    for task in b
        .client
        .find_all(Locator::Css("ul.task-list li.task[id^='section-']"))
        .await?
    {
        let id = task.attr("id").await?.unwrap_or_default();
        shown.push(id.trim_start_matches("section-").to_owned());
    }
    Ok(shown)
}

/// My work, from the header: the goal is listed with a link to its place on the form, which
/// opens the section filtered to "mine".
async fn open_my_work_goal(b: &Browser, assessment: Uuid, goal: &str) -> anyhow::Result<()> {
    let nav = "a[href='/my-work']";
    ensure!(b.text(nav).await?.contains(&tr(b.lang(), "nav.my_work")));
    b.click_and_check(nav).await?;
    let title = b.text("h1").await?;
    ensure!(title.contains(&tr(b.lang(), "my_work.title")), "{title:?}");
    let section = pages::section_of(goal);
    let link = format!("a[href='/assessments/{assessment}/sections/{section}?mine=1#goal-{goal}']");
    ensure!(
        b.text(&link).await?.contains(goal),
        "My work does not name goal {goal}"
    );
    b.click_and_check(&link).await?;
    b.find(&pages::value_field(goal)).await?;
    Ok(())
}

/// The unread count the header shows beside "Notifications" (0 when it shows none).
async fn header_unread(b: &Browser) -> anyhow::Result<u32> {
    if !b.has("a[href='/notifications'] .unread-count").await? {
        return Ok(0);
    }
    let text = b.text("a[href='/notifications'] .unread-count").await?;
    text.split_whitespace()
        .next()
        .and_then(|n| n.parse().ok())
        .with_context(|| format!("the unread count reads {text:?}"))
}

/// The notifications list, from the header; returns the subjects of the unread ones.
async fn open_notifications(b: &Browser) -> anyhow::Result<Vec<String>> {
    b.click_and_check("a[href='/notifications']").await?;
    let title = b.text("h1").await?;
    ensure!(
        title.contains(&tr(b.lang(), "notifications.title")),
        "{title:?}"
    );
    let mut subjects = Vec::new();
    for item in b
        .client
        .find_all(Locator::Css("li.notification.unread h2 a"))
        .await?
    {
        subjects.push(item.text().await?);
    }
    Ok(subjects)
}

/// Marks the first unread notice read with its own button; back on the list with the message.
async fn mark_first_read(b: &Browser) -> anyhow::Result<()> {
    let button = "li.notification.unread form[action^='/notifications/'] button[type=submit]";
    ensure!(
        b.text(button)
            .await?
            .contains(&tr(b.lang(), "notifications.mark_read"))
    );
    b.click_and_check(button).await?;
    ensure_path(b, "/notifications").await?;
    expect_flash(b, "flash.notification_read", None).await
}

/// The preferences page, from the list's link: chooses a delivery for a kind and saves; the
/// page comes back with the message and the choice kept.
async fn choose_delivery(b: &Browser, kind: &str, delivery: &str) -> anyhow::Result<()> {
    b.click_and_check("a[href='/notifications/preferences']")
        .await?;
    let radio = format!("input[name='kind.{kind}'][value='{delivery}']");
    let legend = b.text(&format!("fieldset:has({radio}) legend")).await?;
    ensure!(
        legend.contains(&tr(b.lang(), &format!("notify.kind.{kind}"))),
        "{legend:?}"
    );
    b.find(&radio).await?.click().await?;
    let button = "form[action='/notifications/preferences'] button[type=submit]";
    b.click_and_check(button).await?;
    ensure_path(b, "/notifications/preferences").await?;
    expect_flash(b, "flash.notification_preferences_saved", None).await?;
    b.reload().await?;
    ensure!(
        b.has(&format!("{radio}:checked")).await?,
        "after saving, {kind} is not {delivery}"
    );
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// The journey

/// A head runs their team and a new contributor finds their work (see the module doc). `state`:
/// the demo assessment's state to work on (each run takes its own Ally).
pub async fn head_invites_and_the_contributor_finds_their_work(
    b: Browser,
    state: &'static str,
) -> anyhow::Result<()> {
    let (assessment, ally) = b.service.claim(state).await;
    let head = b.service.user("head", Some(ally.clone())).await;
    let mark = b.service.next();
    let email = format!("invitee.{mark}.{}@browser.example", b.lang().code());
    let name = format!("Invitee {mark}");

    // The head invites from the team page.
    b.adopt_session(&head).await?;
    open_team(&b).await?;
    invite_contributor(&b, &email, &name).await?;
    let link = invitation_link(&b, &email).await?;

    // The invitee, signed out, opens the link, sets a password and signs in with it.
    sign_out_cookie(&b).await?;
    accept_invitation(&b, &link, &email, &name).await?;
    pages::sign_in(&b, &email, NEW_PASSWORD).await?;
    pages::expect_signed_in_as(&b, &name).await?;
    // The link works once.
    b.client.goto(&format!("{}{link}", b.service.base)).await?;
    ensure!(
        !b.has("#new_password").await?,
        "the invitation link still offers to set a password after it was used"
    );

    // The head assigns a goal to the new member.
    sign_out_cookie(&b).await?;
    b.adopt_session(&head).await?;
    assign_goal(&b, assessment, &name, GOAL).await?;

    // The contributor finds it: the form filtered to "mine", then My work.
    sign_out_cookie(&b).await?;
    pages::sign_in(&b, &email, NEW_PASSWORD).await?;
    let shown = filter_to_mine(&b, assessment).await?;
    ensure!(
        shown == vec![pages::section_of(GOAL).to_owned()],
        "filtered to \"mine\", the task list shows sections {shown:?}"
    );
    open_my_work_goal(&b, assessment, GOAL).await?;

    // The notice of the assignment: unread in the header and the list; reading it lowers both.
    let before = header_unread(&b).await?;
    let unread = open_notifications(&b).await?;
    ensure!(
        before >= 1,
        "the header shows no unread notice after an assignment"
    );
    ensure!(
        unread.len() as u32 == before,
        "the header counts {before} unread, the list shows {}",
        unread.len()
    );
    let assigned = tr(b.lang(), "notify.goal_assigned.subject")
        .replace("{participant}", &ally)
        .replace("{cycle}", "2026");
    ensure!(
        unread.contains(&assigned),
        "no notice {assigned:?} of the assignment among {unread:?}"
    );
    mark_first_read(&b).await?;
    let after = header_unread(&b).await?;
    ensure!(
        after == before - 1,
        "after reading one notice the header counts {after} unread, not {}",
        before - 1
    );
    let count_text = b
        .text("p:has(a[href='/notifications/preferences'])")
        .await?;
    ensure!(
        count_text.contains(&after.to_string()),
        "the list says {count_text:?} with {after} unread"
    );

    // A choice saved on the preferences page.
    choose_delivery(&b, "deadline_reminder", "digest").await?;
    if b.lang() == Lang::Fr {
        ensure!(
            b.text("h1")
                .await?
                .contains(&tr(Lang::Fr, "notifications.preferences_title"))
        );
    }
    Ok(())
}
