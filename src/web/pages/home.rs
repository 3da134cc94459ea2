//! Home: each user's work. A delegation sees its assessments (returned ones with who returned
//! them and why), the clarifications waiting for its reply and its national goals due this
//! year; an analyst the cycles and what changed lately; an admin each open cycle's status in
//! brief and what waits for review; someone signed out what the service is and the way in.

use askama::Template;
use axum::extract::State;
use axum::response::Response;

use super::{PageContext, render};
use crate::domain::assessment::AssessmentState;
use crate::services::home::{self, RecentEvent, Work};
use crate::web::AppState;
use crate::web::authn::MaybeUser;
use crate::web::error::AppError;

#[derive(Template)]
#[template(path = "home.html")]
struct HomePage {
    page: PageContext,
    work: Work,
}

impl HomePage {
    fn french(&self) -> bool {
        self.page.tr.lang().code() == "fr"
    }

    /// A title in the page's language (the English one when there is no French).
    fn pick<'a>(&self, en: &'a str, fr: &'a str) -> &'a str {
        if self.french() && !fr.trim().is_empty() {
            fr
        } else {
            en
        }
    }

    /// "12 days left", "due today", "3 days overdue".
    fn days(&self, days_left: &i32) -> String {
        match *days_left {
            0 => self.page.tr.t("home.due_today").to_owned(),
            n if n > 0 => self.page.tr.fmt("home.days_left", &[("n", &n.to_string())]),
            n => self
                .page
                .tr
                .fmt("home.days_overdue", &[("n", &n.abs().to_string())]),
        }
    }

    fn is_admin(&self) -> bool {
        self.page.user.as_ref().is_some_and(|user| user.is_admin)
    }

    /// A catalogue text with a count in `{n}`.
    fn count(&self, key: &str, n: &i64) -> String {
        self.page.tr.fmt(key, &[("n", &n.to_string())])
    }

    /// "Returned on 3 December 2026, 14:05 CET by Jane Doe."
    fn returned(&self, at: &time::OffsetDateTime, by: &Option<String>) -> String {
        self.page.tr.fmt(
            "home.returned_by",
            &[
                ("when", &self.page.when(at)),
                ("who", by.as_deref().unwrap_or("—")),
            ],
        )
    }

    /// "France submitted its assessment for C2026".
    fn event(&self, event: &RecentEvent) -> String {
        let key = match event.kind.as_str() {
            "accepted" => "home.event.accepted",
            "resubmitted" => "home.event.resubmitted",
            _ => "home.event.submitted",
        };
        self.page.tr.fmt(
            key,
            &[
                (
                    "participant",
                    self.pick(&event.participant_name_en, &event.participant_name_fr),
                ),
                ("cycle", &event.cycle_code),
            ],
        )
    }

    /// "3 more" when a list shows fewer rows than there are.
    fn more(&self, shown: usize, total: &i64) -> Option<String> {
        let shown = i64::try_from(shown).unwrap_or(i64::MAX);
        (*total > shown).then(|| {
            self.page
                .tr
                .fmt("home.more", &[("n", &(total - shown).to_string())])
        })
    }
}

/// `GET /`: the reader's work, or the way in.
pub async fn show(
    State(state): State<AppState>,
    MaybeUser(user): MaybeUser,
    page: PageContext,
) -> Result<Response, AppError> {
    // A session still owing its second factor (or a password change) sees the way in; the
    // sign-in flow leads on from there.
    let work = match user {
        Some(me) if page.user.is_some() && !me.must_change_password => {
            home::work_of(&state.db, &me).await?
        }
        _ => Work::Anonymous,
    };
    render(&HomePage { page, work })
}
