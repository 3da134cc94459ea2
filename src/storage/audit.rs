//! The audit log: append-only, hash-chained.
//!
//! Each entry's hash is SHA-256 over the previous entry's hash and the entry's canonical form
//! ([`canonical`]); the first entry follows 32 zero bytes. Appends are serialised by a
//! transaction-level advisory lock, so the chain stays linear across service processes.

use serde_json::Value;
use sha2::{Digest, Sha256};
use sqlx::{PgConnection, Row};
use time::OffsetDateTime;
use uuid::Uuid;

/// Advisory lock key that serialises appends ("pledge audit" in ASCII).
const APPEND_LOCK: i64 = 0x706c_6564_6765_6175;

/// Who acted, when there is a user or not.
#[derive(Debug, Clone)]
pub enum Actor {
    User(Uuid),
    /// A command run on the server (`pledge demo`, `pledge user create` …).
    Cli,
    /// The service itself.
    System,
    /// Someone not signed in (e.g. a failed sign-in).
    Anonymous,
}

/// Where a request came from, for the entries it causes.
#[derive(Debug, Clone, Default)]
pub struct RequestContext {
    pub client_addr: Option<std::net::IpAddr>,
    pub request_id: Option<String>,
    pub user_agent: Option<String>,
    /// The SHA-256 of the browser's known-device cookie, if it sent one (sign-in throttling).
    pub known_device: Option<Vec<u8>>,
}

/// One entry to append.
#[derive(Debug, Clone)]
pub struct NewEntry {
    pub actor: Actor,
    /// Dotted name, e.g. `demo.load`, `answer.update`.
    pub action: String,
    pub participant_id: Option<Uuid>,
    pub entity_type: Option<String>,
    pub entity_id: Option<String>,
    /// Old and new values, reasons …; objects are stored with sorted keys.
    pub details: Value,
    pub client_addr: Option<std::net::IpAddr>,
    pub request_id: Option<String>,
}

impl NewEntry {
    /// An entry with no participant, entity, address or request.
    pub fn new(actor: Actor, action: &str, details: Value) -> Self {
        Self {
            actor,
            action: action.to_owned(),
            participant_id: None,
            entity_type: None,
            entity_id: None,
            details,
            client_addr: None,
            request_id: None,
        }
    }

    /// Names the record the entry is about.
    pub fn about(mut self, entity_type: &str, entity_id: impl ToString) -> Self {
        self.entity_type = Some(entity_type.to_owned());
        self.entity_id = Some(entity_id.to_string());
        self
    }

    /// Names the participant whose data the entry is about.
    pub fn for_participant(mut self, participant_id: Option<Uuid>) -> Self {
        self.participant_id = participant_id;
        self
    }

    /// Adds where the request came from.
    pub fn from_request(mut self, context: &RequestContext) -> Self {
        self.client_addr = context.client_addr;
        self.request_id = context.request_id.clone();
        self
    }
}

struct Fields<'a> {
    occurred_at_micros: i128,
    actor_id: Option<Uuid>,
    actor_label: &'a str,
    action: &'a str,
    participant_id: Option<Uuid>,
    entity_type: Option<&'a str>,
    entity_id: Option<&'a str>,
    details: &'a Value,
    client_addr: Option<String>,
    request_id: Option<&'a str>,
}

/// The canonical text an entry's hash covers: a JSON array of its fields in a fixed order.
fn canonical(fields: &Fields<'_>) -> String {
    serde_json::json!([
        fields.occurred_at_micros.to_string(),
        fields.actor_id,
        fields.actor_label,
        fields.action,
        fields.participant_id,
        fields.entity_type,
        fields.entity_id,
        fields.details,
        fields.client_addr,
        fields.request_id,
    ])
    .to_string()
}

fn entry_hash(prev_hash: &[u8], fields: &Fields<'_>) -> Vec<u8> {
    let mut hasher = Sha256::new();
    hasher.update(prev_hash);
    hasher.update(canonical(fields).as_bytes());
    hasher.finalize().to_vec()
}

fn actor_parts(actor: &Actor) -> (Option<Uuid>, &'static str) {
    match actor {
        Actor::User(id) => (Some(*id), "user"),
        Actor::Cli => (None, "cli"),
        Actor::System => (None, "system"),
        Actor::Anonymous => (None, "anonymous"),
    }
}

/// Appends an entry inside the caller's transaction (so the entry lands with the change it
/// records, or not at all).
pub async fn append(conn: &mut PgConnection, entry: &NewEntry) -> Result<(), sqlx::Error> {
    sqlx::query("SELECT pg_advisory_xact_lock($1)")
        .bind(APPEND_LOCK)
        .execute(&mut *conn)
        .await?;
    // The last hash comes from a function running as the owner: the caller may not read the log.
    let prev: Option<Vec<u8>> = sqlx::query_scalar("SELECT audit_last_hash()")
        .fetch_one(&mut *conn)
        .await?;
    let prev = prev.unwrap_or_else(|| vec![0; 32]);
    // Microseconds: what timestamptz keeps, so the hash verifies after a round trip.
    let now = OffsetDateTime::now_utc();
    let micros = now.unix_timestamp_nanos() / 1_000;
    let occurred_at = OffsetDateTime::from_unix_timestamp_nanos(micros * 1_000)
        .map_err(|e| sqlx::Error::Protocol(e.to_string()))?;
    let (actor_id, actor_label) = actor_parts(&entry.actor);
    let fields = Fields {
        occurred_at_micros: micros,
        actor_id,
        actor_label,
        action: &entry.action,
        participant_id: entry.participant_id,
        entity_type: entry.entity_type.as_deref(),
        entity_id: entry.entity_id.as_deref(),
        details: &entry.details,
        client_addr: entry.client_addr.map(|addr| addr.to_string()),
        request_id: entry.request_id.as_deref(),
    };
    let hash = entry_hash(&prev, &fields);
    sqlx::query(
        "INSERT INTO audit_log (occurred_at, actor_id, actor_label, action, participant_id,
             entity_type, entity_id, details, client_addr, request_id, prev_hash, entry_hash)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9::inet, $10, $11, $12)",
    )
    .bind(occurred_at)
    .bind(actor_id)
    .bind(actor_label)
    .bind(&entry.action)
    .bind(entry.participant_id)
    .bind(&entry.entity_type)
    .bind(&entry.entity_id)
    .bind(&entry.details)
    .bind(fields.client_addr.as_deref())
    .bind(&entry.request_id)
    .bind(&prev)
    .bind(&hash)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// The first entry whose chain does not hold, if any.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainBreak {
    pub seq: i64,
    pub reason: &'static str,
}

/// Result of verifying the chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verification {
    pub entries: u64,
    pub first_break: Option<ChainBreak>,
    /// The newest entry's sequence number and hash, to record elsewhere.
    pub last: Option<(i64, Vec<u8>)>,
}

/// Recomputes every hash in order and reports the first entry that does not match.
pub async fn verify(conn: &mut PgConnection) -> Result<Verification, sqlx::Error> {
    use futures_util::TryStreamExt;
    let mut rows = sqlx::query(
        "SELECT seq, (extract(epoch FROM occurred_at) * 1000000)::bigint AS micros,
                actor_id, actor_label, action, participant_id, entity_type, entity_id, details,
                host(client_addr) AS client_addr, request_id, prev_hash, entry_hash
         FROM audit_log ORDER BY seq",
    )
    .fetch(&mut *conn);
    let mut expected_prev = vec![0u8; 32];
    let mut entries = 0u64;
    let mut last_seq = 0i64;
    // Imports whose values are kept beside the entry: checked once the chain holds.
    let mut imports = Vec::new();
    while let Some(row) = rows.try_next().await? {
        entries += 1;
        let seq: i64 = row.try_get("seq")?;
        let micros: i64 = row.try_get("micros")?;
        let prev: Vec<u8> = row.try_get("prev_hash")?;
        let stored: Vec<u8> = row.try_get("entry_hash")?;
        if prev != expected_prev {
            return Ok(broken(
                entries,
                seq,
                "previous hash does not match: an entry was removed or reordered",
            ));
        }
        let details: Value = row.try_get("details")?;
        let fields = Fields {
            occurred_at_micros: i128::from(micros),
            actor_id: row.try_get("actor_id")?,
            actor_label: row.try_get("actor_label")?,
            action: row.try_get("action")?,
            participant_id: row.try_get("participant_id")?,
            entity_type: row.try_get("entity_type")?,
            entity_id: row.try_get("entity_id")?,
            details: &details,
            client_addr: row.try_get("client_addr")?,
            request_id: row.try_get("request_id")?,
        };
        if entry_hash(&prev, &fields) != stored {
            return Ok(broken(
                entries,
                seq,
                "entry content does not match its hash: it was edited",
            ));
        }
        if let Some(kept) = KeptValues::of(&fields) {
            imports.push((seq, kept));
        }
        expected_prev = stored;
        last_seq = seq;
    }
    drop(rows);
    for (seq, kept) in imports {
        if !kept.hold(conn).await? {
            return Ok(broken(
                entries,
                seq,
                "the values kept for this import do not match the digest in its entry",
            ));
        }
    }
    Ok(Verification {
        entries,
        first_break: None,
        last: (entries > 0).then_some((last_seq, expected_prev)),
    })
}

/// An entry's pointer to values kept outside it (a `cycle.import`): the import, the count and
/// the SHA-256 of its rows in `cycle_import_values`.
struct KeptValues {
    import: Uuid,
    count: u64,
    sha256: String,
}

impl KeptValues {
    fn of(fields: &Fields<'_>) -> Option<Self> {
        if fields.action != "cycle.import" {
            return None;
        }
        let values = fields.details.get("values")?;
        Some(Self {
            import: fields.details.get("import")?.as_str()?.parse().ok()?,
            count: values.get("count")?.as_u64()?,
            sha256: values.get("sha256")?.as_str()?.to_owned(),
        })
    }

    /// Whether the kept rows are still those the entry's digest names (read as the system).
    async fn hold(&self, conn: &mut PgConnection) -> Result<bool, sqlx::Error> {
        use sqlx::Connection;
        let mut tx = conn.begin().await?;
        super::set_scope(&mut tx, &super::Scope::System).await?;
        let (count, sha256) = super::imports::values_digest(&mut tx, self.import).await?;
        tx.rollback().await?;
        Ok(count == self.count && sha256 == self.sha256)
    }
}

fn broken(entries: u64, seq: i64, reason: &'static str) -> Verification {
    Verification {
        entries,
        first_break: Some(ChainBreak { seq, reason }),
        last: None,
    }
}

/// An entry as admins read it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct EntryView {
    pub seq: i64,
    pub occurred_at: OffsetDateTime,
    pub actor_label: String,
    pub actor_email: Option<String>,
    pub action: String,
    pub participant_code: Option<String>,
    pub entity_type: Option<String>,
    pub entity_id: Option<String>,
    pub details: Value,
    pub client_addr: Option<String>,
    pub request_id: Option<String>,
}

/// The newest entries, before `before_seq` when given (row-level security shows them to staff
/// only).
pub async fn recent(
    conn: &mut PgConnection,
    before_seq: Option<i64>,
    limit: i64,
) -> Result<Vec<EntryView>, sqlx::Error> {
    sqlx::query_as(
        "SELECT a.seq, a.occurred_at, a.actor_label, u.email AS actor_email, a.action,
                p.code AS participant_code, a.entity_type, a.entity_id, a.details,
                host(a.client_addr) AS client_addr, a.request_id
         FROM audit_log a
         LEFT JOIN users u ON u.id = a.actor_id
         LEFT JOIN participants p ON p.id = a.participant_id
         WHERE $1::bigint IS NULL OR a.seq < $1
         ORDER BY a.seq DESC LIMIT $2",
    )
    .bind(before_seq)
    .bind(limit)
    .fetch_all(conn)
    .await
}

/// An entry as the audit page shows it to a person: who by name, and what it concerns by name
/// (participant, cycle, national goal, user, framework), resolved in the same statement.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ReadableEntry {
    pub seq: i64,
    pub occurred_at: OffsetDateTime,
    pub actor_id: Option<Uuid>,
    pub actor_label: String,
    pub actor_name: Option<String>,
    pub actor_email: Option<String>,
    pub action: String,
    pub participant_code: Option<String>,
    pub participant_name_en: Option<String>,
    pub participant_name_fr: Option<String>,
    pub entity_type: Option<String>,
    pub entity_id: Option<String>,
    /// The cycle the entry is about: the cycle itself, or the cycle of the assessment, answer or
    /// clarification it names.
    pub cycle_code: Option<String>,
    pub national_goal_title: Option<String>,
    pub user_name: Option<String>,
    pub framework_name: Option<String>,
    pub details: Value,
    pub client_addr: Option<String>,
    pub request_id: Option<String>,
}

/// The newest entries, before `before_seq` when given, with names instead of ids: one
/// statement whatever the page size (each name is an index look-up by primary key).
pub async fn recent_readable(
    conn: &mut PgConnection,
    before_seq: Option<i64>,
    limit: i64,
) -> Result<Vec<ReadableEntry>, sqlx::Error> {
    sqlx::query_as(
        "WITH page AS (
             SELECT a.*,
                    CASE WHEN a.entity_id ~* '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$'
                         THEN a.entity_id::uuid END AS entity_uuid
             FROM audit_log a
             WHERE $1::bigint IS NULL OR a.seq < $1
             ORDER BY a.seq DESC LIMIT $2
         )
         SELECT e.seq, e.occurred_at, e.actor_id, e.actor_label, actor.display_name AS actor_name,
                actor.email AS actor_email, e.action,
                p.code AS participant_code, p.name_en AS participant_name_en,
                p.name_fr AS participant_name_fr, e.entity_type, e.entity_id,
                coalesce(c.code, ac.code, wc.code, qc.code) AS cycle_code,
                ng.title AS national_goal_title, target.display_name AS user_name,
                f.family || ' ' || f.version AS framework_name,
                e.details, host(e.client_addr) AS client_addr, e.request_id
         FROM page e
         LEFT JOIN users actor ON actor.id = e.actor_id
         LEFT JOIN participants p
                ON p.id = coalesce(e.participant_id,
                                   CASE WHEN e.entity_type = 'participant' THEN e.entity_uuid END)
         LEFT JOIN cycles c ON e.entity_type = 'cycle' AND c.id = e.entity_uuid
         LEFT JOIN assessments a ON e.entity_type = 'assessment' AND a.id = e.entity_uuid
         LEFT JOIN cycles ac ON ac.id = a.cycle_id
         LEFT JOIN answers w ON e.entity_type = 'answer' AND w.id = e.entity_uuid
         LEFT JOIN assessments wa ON wa.id = w.assessment_id
         LEFT JOIN cycles wc ON wc.id = wa.cycle_id
         LEFT JOIN clarification_requests q ON e.entity_type = 'clarification' AND q.id = e.entity_uuid
         LEFT JOIN assessments qa ON qa.id = q.assessment_id
         LEFT JOIN cycles qc ON qc.id = qa.cycle_id
         LEFT JOIN national_goals ng ON e.entity_type = 'national_goal' AND ng.id = e.entity_uuid
         LEFT JOIN users target ON e.entity_type = 'user' AND target.id = e.entity_uuid
         LEFT JOIN frameworks f ON e.entity_type = 'framework' AND f.id = e.entity_uuid
         ORDER BY e.seq DESC",
    )
    .bind(before_seq)
    .bind(limit)
    .fetch_all(conn)
    .await
}

/// The newest entry of the chain (its `seq` and hash), read as the owner.
pub async fn head(conn: &mut PgConnection) -> Result<Option<(i64, Vec<u8>)>, sqlx::Error> {
    sqlx::query_as("SELECT seq, entry_hash FROM audit_log ORDER BY seq DESC LIMIT 1")
        .fetch_optional(conn)
        .await
}

/// The newest entry's hash as anyone may read it (the service role: exports stamp it).
pub async fn head_hash(conn: &mut PgConnection) -> Result<Option<Vec<u8>>, sqlx::Error> {
    sqlx::query_scalar("SELECT audit_last_hash()")
        .fetch_one(conn)
        .await
}

/// Anchors of the chain's tail kept outside the database (docs/security.md, "Audit log"): an
/// append-only text file, one line per anchor, `<RFC 3339 time> <seq> <entry hash in hex>`.
/// Whoever can rewrite the database alone cannot make the chain forget an anchored entry:
/// deleting the newest entries leaves an anchor naming an entry the chain no longer has.
pub mod anchors {
    use std::io::Write;
    use std::path::Path;

    use sqlx::PgConnection;

    /// One line of the anchor file.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct Anchor {
        pub written_at: String,
        pub seq: i64,
        pub hash: Vec<u8>,
    }

    /// Reads the anchors (none when the file does not exist). A line that does not parse is an
    /// error: the file is append-only, so a damaged line is itself a finding.
    pub fn read(path: &Path) -> anyhow::Result<Vec<Anchor>> {
        let text = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(error) => return Err(anyhow::anyhow!("cannot read {}: {error}", path.display())),
        };
        text.lines()
            .enumerate()
            .filter(|(_, line)| !line.trim().is_empty())
            .map(|(number, line)| {
                let mut parts = line.split_whitespace();
                let parsed = (|| {
                    let written_at = parts.next()?.to_owned();
                    let seq = parts.next()?.parse().ok()?;
                    let hash = hex::decode(parts.next()?).ok()?;
                    Some(Anchor {
                        written_at,
                        seq,
                        hash,
                    })
                })();
                parsed.ok_or_else(|| {
                    anyhow::anyhow!(
                        "{} line {}: not an anchor (`time seq hash`)",
                        path.display(),
                        number + 1
                    )
                })
            })
            .collect()
    }

    /// Appends an anchor for the chain's head unless the newest anchor names it already.
    /// Returns whether a line was written.
    pub fn append(path: &Path, seq: i64, hash: &[u8]) -> anyhow::Result<bool> {
        if read(path)?
            .last()
            .is_some_and(|last| last.seq == seq && last.hash == hash)
        {
            return Ok(false);
        }
        let now = time::OffsetDateTime::now_utc()
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default();
        let mut options = std::fs::OpenOptions::new();
        options.create(true).append(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let mut file = options
            .open(path)
            .map_err(|e| anyhow::anyhow!("cannot append to {}: {e}", path.display()))?;
        writeln!(file, "{now} {seq} {}", hex::encode(hash))
            .and_then(|()| file.sync_data())
            .map_err(|e| anyhow::anyhow!("cannot append to {}: {e}", path.display()))?;
        Ok(true)
    }

    /// Compares the chain with the anchors: the first anchor the chain contradicts, said plainly.
    pub async fn check(
        conn: &mut PgConnection,
        anchors: &[Anchor],
    ) -> Result<Option<String>, sqlx::Error> {
        let newest: Option<i64> = sqlx::query_scalar("SELECT max(seq) FROM audit_log")
            .fetch_one(&mut *conn)
            .await?;
        let newest = newest.unwrap_or(0);
        for anchor in anchors.iter().rev() {
            let stored: Option<Vec<u8>> =
                sqlx::query_scalar("SELECT entry_hash FROM audit_log WHERE seq = $1")
                    .bind(anchor.seq)
                    .fetch_optional(&mut *conn)
                    .await?;
            match stored {
                None if anchor.seq > newest => {
                    return Ok(Some(format!(
                        "the newest entries were deleted: the anchor written at {} names entry {}, \
                         but the log ends at entry {newest}",
                        anchor.written_at, anchor.seq
                    )));
                }
                None => {
                    return Ok(Some(format!(
                        "entry {} named by the anchor written at {} is missing",
                        anchor.seq, anchor.written_at
                    )));
                }
                Some(hash) if hash != anchor.hash => {
                    return Ok(Some(format!(
                        "entry {} differs from the anchor written at {}: the log was rewritten",
                        anchor.seq, anchor.written_at
                    )));
                }
                Some(_) => {}
            }
        }
        Ok(None)
    }
}
