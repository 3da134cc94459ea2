//! The audit log, for admins: newest first, a page at a time, as a person reads it — when (in
//! the reader's zone), who (by name), what happened (in words), what it concerns, what changed
//! ("field: old → new") — with the raw entry one click away.

use askama::Template;
use axum::extract::{Query, State};
use axum::response::Response;
use serde::Deserialize;
use serde_json::Value;

use super::{PageContext, render};
use crate::presentation::i18n::{Tr, catalogue_key};
use crate::services::users::{self, ReadableEntry};
use crate::web::AppState;
use crate::web::error::AppError;
use crate::web::permitted::AuditReader;

const PAGE_SIZE: i64 = 100;

/// One entry as the page shows it.
struct Line {
    seq: i64,
    when: String,
    who: String,
    /// The actor's e-mail address, when the actor is a user.
    who_email: Option<String>,
    what: String,
    /// The action's code (`assessment.submit`), kept for searching the page.
    code: String,
    /// (label, name): what the entry concerns.
    concerns: Vec<(String, String)>,
    /// "field: old → new" and "field: value" lines.
    changes: Vec<String>,
    /// The entry as stored, as indented JSON.
    raw: String,
}

#[derive(Template)]
#[template(path = "audit_log.html")]
struct AuditPage {
    page: PageContext,
    lines: Vec<Line>,
    older: Option<i64>,
}

/// Paging through the log.
#[derive(Debug, Deserialize)]
pub struct AuditQuery {
    before: Option<i64>,
}

/// `GET /admin/audit`.
pub async fn show(
    State(state): State<AppState>,
    AuditReader(me): AuditReader,
    page: PageContext,
    Query(query): Query<AuditQuery>,
) -> Result<Response, AppError> {
    let entries = users::readable_audit(&state.db, &me.scope(), query.before, PAGE_SIZE).await?;
    let older = (entries.len() as i64 == PAGE_SIZE)
        .then(|| entries.last().map(|e| e.seq))
        .flatten();
    let lines = entries.iter().map(|entry| line(&page, entry)).collect();
    render(&AuditPage { page, lines, older })
}

fn line(page: &PageContext, entry: &ReadableEntry) -> Line {
    let tr = &page.tr;
    let who = match (entry.actor_label.as_str(), &entry.actor_name) {
        (_, Some(name)) => name.clone(),
        ("user", None) => tr.t("audit.actor.deleted_user").to_owned(),
        (label, None) => match label {
            "cli" => tr.t("audit.actor.cli"),
            "anonymous" => tr.t("audit.actor.anonymous"),
            _ => tr.t("audit.actor.system"),
        }
        .to_owned(),
    };
    Line {
        seq: entry.seq,
        when: page.when(&entry.occurred_at),
        who,
        who_email: entry.actor_email.clone(),
        what: action_text(tr, &entry.action),
        code: entry.action.clone(),
        concerns: concerns(tr, entry),
        changes: changes(&entry.action, &entry.details),
        raw: raw(entry),
    }
}

/// The action in words, from the catalogue (`audit.action.assessment.submit`); the code itself
/// when the catalogue has no text for it.
fn action_text(tr: &Tr, action: &str) -> String {
    let key = format!("audit.action.{action}");
    match catalogue_key(&key) {
        Some(key) => tr.t(key).to_owned(),
        None => action.to_owned(),
    }
}

fn concerns(tr: &Tr, entry: &ReadableEntry) -> Vec<(String, String)> {
    let french = tr.lang().code() == "fr";
    let mut out = Vec::new();
    let mut push = |key: &str, value: String| out.push((tr.t(key).to_owned(), value));
    if let Some(code) = &entry.participant_code {
        let name = match (
            french,
            &entry.participant_name_fr,
            &entry.participant_name_en,
        ) {
            (true, Some(fr), _) if !fr.trim().is_empty() => fr.clone(),
            (_, _, Some(en)) => en.clone(),
            _ => String::new(),
        };
        push("audit.concerns.participant", format!("{name} ({code})"));
    }
    if let Some(code) = &entry.cycle_code {
        push("audit.concerns.cycle", code.clone());
    }
    if let Some(goal) = entry.details.get("goal").and_then(Value::as_str) {
        push("audit.concerns.goal", goal.to_owned());
    }
    if let Some(title) = &entry.national_goal_title {
        push("audit.concerns.national_goal", title.clone());
    }
    if let Some(name) = &entry.user_name
        && entry.actor_id.map(|id| id.to_string()) != entry.entity_id
    {
        push("audit.concerns.user", name.clone());
    }
    if let Some(name) = &entry.framework_name {
        push("audit.concerns.framework", name.clone());
    }
    out
}

/// What changed, a line each: `field: old → new` for the entry's `old`/`new` pair (objects
/// compared key by key, or one value such as a cycle's state or deadline), and for a field
/// that is itself an `{old, new}` pair; `field: value` for the other facts it records.
pub fn changes(action: &str, details: &Value) -> Vec<String> {
    let Some(fields) = details.as_object() else {
        return match details {
            Value::Null => Vec::new(),
            other => vec![shown(Some(other))],
        };
    };
    let mut lines = Vec::new();
    let present = |key: &str| fields.get(key).filter(|value| !value.is_null());
    let (old, new) = (present("old"), present("new"));
    match (old, new) {
        (None, None) => {}
        (Some(Value::Object(_)) | None, Some(Value::Object(_)) | None) => {
            let empty = serde_json::Map::new();
            let old = old.and_then(Value::as_object).unwrap_or(&empty);
            let new = new.and_then(Value::as_object).unwrap_or(&empty);
            let mut keys: Vec<&String> = old.keys().chain(new.keys()).collect();
            keys.sort();
            keys.dedup();
            for key in keys {
                let (before, after) = (old.get(key), new.get(key));
                if before != after {
                    lines.push(change_line(key, before, after));
                }
            }
        }
        (before, after) => {
            let field = match action {
                "cycle.extend_deadline" => "deadline",
                a if a.starts_with("cycle.") => "state",
                _ => "value",
            };
            lines.push(change_line(field, before, after));
        }
    }
    for (key, value) in fields {
        if key == "old" || key == "new" || key == "goal" {
            continue;
        }
        match value.as_object() {
            Some(pair) if pair.contains_key("old") && pair.contains_key("new") => {
                lines.push(change_line(key, pair.get("old"), pair.get("new")));
            }
            _ => lines.push(format!("{}: {}", field_name(key), shown(Some(value)))),
        }
    }
    lines
}

fn change_line(field: &str, before: Option<&Value>, after: Option<&Value>) -> String {
    format!(
        "{}: {} → {}",
        field_name(field),
        shown(before),
        shown(after)
    )
}

fn field_name(key: &str) -> String {
    key.replace('_', " ")
}

/// A value as text: strings bare, nothing as "—", lists and objects as compact JSON.
fn shown(value: Option<&Value>) -> String {
    match value {
        None | Some(Value::Null) => "—".to_owned(),
        Some(Value::String(text)) if text.is_empty() => "\"\"".to_owned(),
        Some(Value::String(text)) => text.clone(),
        Some(Value::Bool(true)) => "yes".to_owned(),
        Some(Value::Bool(false)) => "no".to_owned(),
        Some(other) => other.to_string(),
    }
}

fn raw(entry: &ReadableEntry) -> String {
    let value = serde_json::json!({
        "seq": entry.seq,
        "occurred_at": entry
            .occurred_at
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default(),
        "actor_label": entry.actor_label,
        "actor_id": entry.actor_id,
        "actor_email": entry.actor_email,
        "action": entry.action,
        "participant": entry.participant_code,
        "entity_type": entry.entity_type,
        "entity_id": entry.entity_id,
        "details": entry.details,
        "client_addr": entry.client_addr,
        "request_id": entry.request_id,
    });
    serde_json::to_string_pretty(&value).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::presentation::i18n::{Lang, keys};

    /// Prefixes of the actions the code writes (the first part of `user.create`).
    const ACTION_PREFIXES: [&str; 18] = [
        "answer",
        "assessment",
        "assignment",
        "auth",
        "calendar",
        "clarification",
        "cycle",
        "demo",
        "evidence_file",
        "evidence_link",
        "framework",
        "national_goal",
        "participant",
        "planned_action",
        "token",
        "user",
        "session",
        "team",
    ];

    /// Every string literal shaped like an action name (`prefix.name`) in the sources.
    fn literal_actions() -> Vec<String> {
        let mut found = Vec::new();
        let mut stack = vec![std::path::PathBuf::from(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/src"
        ))];
        while let Some(path) = stack.pop() {
            if path.is_dir() {
                for entry in std::fs::read_dir(&path).unwrap() {
                    stack.push(entry.unwrap().path());
                }
                continue;
            }
            if path.extension().is_none_or(|ext| ext != "rs") {
                continue;
            }
            let text = std::fs::read_to_string(&path).unwrap();
            for (i, piece) in text.split('"').enumerate() {
                if i % 2 == 0 {
                    continue;
                }
                let Some((prefix, name)) = piece.split_once('.') else {
                    continue;
                };
                let word = |s: &str| {
                    !s.is_empty() && s.chars().all(|c| c.is_ascii_lowercase() || c == '_')
                };
                if ACTION_PREFIXES.contains(&prefix) && word(name) && name != "html" {
                    found.push(piece.to_owned());
                }
            }
        }
        found
    }

    #[test]
    fn every_action_the_code_writes_has_words_in_both_languages() {
        let catalogue: Vec<&str> = keys(Lang::En);
        // Literals that are catalogue keys themselves are interface texts, not actions.
        let mut actions: Vec<String> = literal_actions()
            .into_iter()
            .filter(|literal| !catalogue.contains(&literal.as_str()))
            .collect();
        // Actions built from parts: cycle transitions and evidence changes.
        for transition in ["open", "close", "publish"] {
            actions.push(format!("cycle.{transition}"));
        }
        for kind in [
            crate::domain::evidence::EvidenceKind::Link,
            crate::domain::evidence::EvidenceKind::File,
            crate::domain::evidence::EvidenceKind::Action,
        ] {
            for verb in ["add", "remove"] {
                actions.push(format!("{}.{verb}", kind.entity()));
            }
        }
        actions.sort();
        actions.dedup();
        assert!(
            actions.len() > 40,
            "the scan finds the actions: {actions:?}"
        );
        for lang in [Lang::En, Lang::Fr] {
            let known = keys(lang);
            let missing: Vec<&String> = actions
                .iter()
                .filter(|action| !known.contains(&format!("audit.action.{action}").as_str()))
                .collect();
            assert!(missing.is_empty(), "{lang:?}: no words for {missing:?}");
        }
    }

    #[test]
    fn changes_read_as_field_old_new() {
        let role = serde_json::json!({
            "old": { "role": "viewer", "participant": "FRA" },
            "new": { "role": "head", "participant": "FRA" }
        });
        assert_eq!(changes("user.role_change", &role), ["role: viewer → head"]);
        let deadline = serde_json::json!({ "old": "2026-03-01", "new": "2026-03-15" });
        assert_eq!(
            changes("cycle.extend_deadline", &deadline),
            ["deadline: 2026-03-01 → 2026-03-15"]
        );
        let zone = serde_json::json!({ "time_zone": { "old": "UTC", "new": "Europe/Paris" } });
        assert_eq!(
            changes("user.time_zone_change", &zone),
            ["time zone: UTC → Europe/Paris"]
        );
        let answer = serde_json::json!({
            "goal": "1.2", "old": null, "new": { "value_level": 3, "narrative": "Done" }
        });
        assert_eq!(
            changes("answer.update", &answer),
            ["narrative: — → Done", "value level: — → 3"]
        );
        let returned = serde_json::json!({ "reason": "Check 2.1", "notes": 2, "revision": 1 });
        assert_eq!(
            changes("assessment.return", &returned),
            ["notes: 2", "reason: Check 2.1", "revision: 1"]
        );
    }
}
