//! The browser suite: the real service on a loopback listener, headless Chromium driven through
//! chromedriver (Debian's packages), one journey per role in English and French, with
//! JavaScript on and off, at desktop and phone widths; axe-core on every page visited.
//! Running it: docs/testing.md. Failures keep a screenshot and the page under
//! target/browser-artifacts/.

mod harness;
mod imports;
mod journeys;
mod pages;
#[allow(dead_code)]
#[path = "../app/support.rs"]
mod support;
mod teamwork;

use harness::{Config, run};

macro_rules! journey {
    ($($test:ident: $journey:ident in $config:ident;)*) => {
        $(
            #[tokio::test]
            async fn $test() {
                run(stringify!($journey), Config::$config, journeys::$journey).await;
            }
        )*
    };
}

journey! {
    contributor_autosaves_and_keeps_typed_text_en_js: contributor in EN_JS;
    contributor_saves_without_javascript_fr: contributor in FR_NO_JS;
    contributor_autosaves_on_a_phone_fr_js_320: contributor in FR_JS_NARROW;
    contributor_saves_on_a_phone_without_javascript_en_320: contributor in EN_NO_JS_NARROW;
    head_submits_en_js: head in EN_JS;
    head_submits_without_javascript_fr: head in FR_NO_JS;
    head_submits_on_a_phone_fr_js_320: head in FR_JS_NARROW;
    secretariat_returns_and_accepts_en_js: secretariat in EN_JS;
    secretariat_returns_and_accepts_without_javascript_fr: secretariat in FR_NO_JS;
    secretariat_returns_on_a_phone_en_320: secretariat in EN_NO_JS_NARROW;
    analyst_compares_and_downloads_every_export_en_js: analyst in EN_JS;
    analyst_downloads_without_javascript_fr: analyst in FR_NO_JS;
    analyst_compares_on_a_phone_fr_js_320: analyst in FR_JS_NARROW;
    admin_creates_and_opens_a_cycle_en_js: admin in EN_JS;
    admin_creates_a_cycle_without_javascript_fr: admin in FR_NO_JS;
    admin_creates_a_cycle_on_a_phone_en_320: admin in EN_NO_JS_NARROW;
}

// Teamwork (issue 18): invite, accept, assign, "mine", My work, notifications, preferences.
macro_rules! teamwork_journey {
    ($($test:ident: $state:literal in $config:ident;)*) => {
        $(
            #[tokio::test]
            async fn $test() {
                run(stringify!($test), Config::$config, |b| {
                    teamwork::head_invites_and_the_contributor_finds_their_work(b, $state)
                })
                .await;
            }
        )*
    };
}

teamwork_journey! {
    head_invites_assigns_and_the_contributor_finds_their_work_en_js: "not_started" in EN_JS;
    head_invites_assigns_and_the_contributor_finds_their_work_without_javascript_fr: "not_started" in FR_NO_JS;
    head_invites_assigns_and_the_contributor_finds_their_work_on_a_phone_fr_js_320: "draft" in FR_JS_NARROW;
}

// Bulk imports (issue 17): the secretariat's return entered on a delegation's behalf.
#[tokio::test]
async fn secretariat_enters_a_return_on_behalf_en_js() {
    run(
        "secretariat_enters_a_return_on_behalf",
        Config::EN_JS,
        imports::secretariat_enters_a_return_on_behalf,
    )
    .await;
}

#[tokio::test]
async fn secretariat_enters_a_return_on_behalf_without_javascript_fr() {
    run(
        "secretariat_enters_a_return_on_behalf",
        Config::FR_NO_JS,
        imports::secretariat_enters_a_return_on_behalf,
    )
    .await;
}

#[tokio::test]
async fn secretariat_enters_a_return_on_behalf_on_a_phone_en_320() {
    run(
        "secretariat_enters_a_return_on_behalf",
        Config::EN_NO_JS_NARROW,
        imports::secretariat_enters_a_return_on_behalf,
    )
    .await;
}

#[tokio::test]
async fn board_shows_answers_carried_forward_en_js() {
    run(
        "board_shows_answers_carried_forward",
        Config::EN_JS,
        imports::board_shows_answers_carried_forward,
    )
    .await;
}

#[tokio::test]
async fn board_shows_answers_carried_forward_without_javascript_fr() {
    run(
        "board_shows_answers_carried_forward",
        Config::FR_NO_JS,
        imports::board_shows_answers_carried_forward,
    )
    .await;
}
