//! Invitations into a delegation (migration 0016): a one-time link to set a password, of which
//! only the SHA-256 is stored; and the delegation's members as their head sees them.

use sqlx::PgConnection;
use time::OffsetDateTime;
use uuid::Uuid;

/// An invitation to store (checked by the caller).
#[derive(Debug, Clone)]
pub struct NewInvitation<'a> {
    pub participant_id: Uuid,
    pub email: &'a str,
    pub display_name: &'a str,
    pub delegation_role: &'a str,
    pub language: &'a str,
    pub token_hash: &'a [u8],
    pub invited_by: Option<Uuid>,
    pub lifetime: time::Duration,
}

/// Stores an invitation; returns its id.
pub async fn insert(conn: &mut PgConnection, new: &NewInvitation<'_>) -> Result<Uuid, sqlx::Error> {
    sqlx::query_scalar(
        "INSERT INTO invitations (participant_id, email, display_name, delegation_role, language,
             token_hash, invited_by, expires_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, now() + $8) RETURNING id",
    )
    .bind(new.participant_id)
    .bind(new.email)
    .bind(new.display_name)
    .bind(new.delegation_role)
    .bind(new.language)
    .bind(new.token_hash)
    .bind(new.invited_by)
    .bind(new.lifetime)
    .fetch_one(conn)
    .await
}

/// An invitation whose link still works (not used, not expired).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct LiveInvitation {
    pub id: Uuid,
    pub participant_id: Uuid,
    pub participant_code: String,
    pub participant_name_en: String,
    pub participant_name_fr: String,
    pub email: String,
    pub display_name: String,
    pub delegation_role: String,
    pub language: String,
    pub expires_at: OffsetDateTime,
}

const LIVE: &str = "SELECT i.id, i.participant_id, p.code AS participant_code,
        p.name_en AS participant_name_en, p.name_fr AS participant_name_fr, i.email,
        i.display_name, i.delegation_role, i.language, i.expires_at
     FROM invitations i JOIN participants p ON p.id = i.participant_id
     WHERE i.token_hash = $1 AND i.accepted_at IS NULL AND i.expires_at > now() AND p.active
       AND NOT EXISTS (SELECT 1 FROM users u WHERE lower(u.email) = lower(i.email))";

/// The live invitation for a token's hash. An address that has an account meanwhile makes the
/// link dead like a used one.
pub async fn find_live(
    conn: &mut PgConnection,
    token_hash: &[u8],
) -> Result<Option<LiveInvitation>, sqlx::Error> {
    sqlx::query_as(LIVE)
        .bind(token_hash)
        .fetch_optional(conn)
        .await
}

/// The same, locked until the transaction ends (two acceptances never both succeed).
pub async fn lock_live(
    conn: &mut PgConnection,
    token_hash: &[u8],
) -> Result<Option<LiveInvitation>, sqlx::Error> {
    sqlx::query_as(&format!("{LIVE} FOR UPDATE OF i"))
        .bind(token_hash)
        .fetch_optional(conn)
        .await
}

/// Marks an invitation used.
pub async fn mark_accepted(conn: &mut PgConnection, id: Uuid) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE invitations SET accepted_at = now() WHERE id = $1")
        .bind(id)
        .execute(conn)
        .await?;
    Ok(())
}

/// An invitation as the delegation's head sees it: whether the address had an account is not
/// shown (an invitation to such an address simply stays pending until it expires).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct PendingInvitation {
    pub id: Uuid,
    pub email: String,
    pub display_name: String,
    /// contributor or viewer
    pub role: String,
    pub created_at: OffsetDateTime,
    pub expires_at: OffsetDateTime,
}

/// The delegation's invitations not yet used and not expired, newest first.
pub async fn pending(
    conn: &mut PgConnection,
    participant_id: Uuid,
) -> Result<Vec<PendingInvitation>, sqlx::Error> {
    sqlx::query_as(
        "SELECT id, email, display_name, delegation_role AS role, created_at, expires_at
         FROM invitations
         WHERE participant_id = $1 AND accepted_at IS NULL AND expires_at > now()
         ORDER BY created_at DESC",
    )
    .bind(participant_id)
    .fetch_all(conn)
    .await
}

/// A member of a delegation as its head sees them.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Member {
    pub id: Uuid,
    pub participant_id: Uuid,
    pub email: String,
    pub display_name: String,
    /// head, contributor or viewer
    pub role: String,
    pub disabled: bool,
    pub second_factor: bool,
    /// When they last completed a sign-in; absent if never.
    pub last_sign_in: Option<OffsetDateTime>,
}

const MEMBERS: &str = "SELECT u.id, m.participant_id, u.email, u.display_name,
        m.delegation_role AS role, u.disabled_at IS NOT NULL AS disabled,
        u.totp_enabled_at IS NOT NULL AS second_factor,
        (SELECT max(s.created_at) FROM sessions s
         WHERE s.user_id = u.id AND s.fully_authenticated) AS last_sign_in
     FROM delegation_memberships m JOIN users u ON u.id = m.user_id";

/// A delegation's members, by name (row-level security limits a head to their own).
pub async fn members(
    conn: &mut PgConnection,
    participant_id: Uuid,
) -> Result<Vec<Member>, sqlx::Error> {
    sqlx::query_as(&format!(
        "{MEMBERS} WHERE m.participant_id = $1 ORDER BY lower(u.display_name), u.email"
    ))
    .bind(participant_id)
    .fetch_all(conn)
    .await
}

/// One delegation member, whichever delegation, if the caller may see their membership.
pub async fn member(conn: &mut PgConnection, user_id: Uuid) -> Result<Option<Member>, sqlx::Error> {
    sqlx::query_as(&format!("{MEMBERS} WHERE u.id = $1"))
        .bind(user_id)
        .fetch_optional(conn)
        .await
}

/// Changes a member's delegation role; false when no row was changed (row-level security lets a
/// head change only their own delegation's contributors and viewers).
pub async fn set_delegation_role(
    conn: &mut PgConnection,
    user_id: Uuid,
    role: &str,
) -> Result<bool, sqlx::Error> {
    let result =
        sqlx::query("UPDATE delegation_memberships SET delegation_role = $2 WHERE user_id = $1")
            .bind(user_id)
            .bind(role)
            .execute(conn)
            .await?;
    Ok(result.rows_affected() == 1)
}

/// Sets the language a new account reads mails and pages in.
pub async fn set_language(
    conn: &mut PgConnection,
    user_id: Uuid,
    language: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE users SET preferred_language = $2 WHERE id = $1")
        .bind(user_id)
        .bind(language)
        .execute(conn)
        .await?;
    Ok(())
}

/// A mail to an address that may have no account (an invitation), for the outbox.
#[derive(Debug, Clone)]
pub struct AddressMail<'a> {
    pub recipient: &'a str,
    pub language: &'a str,
    pub kind: &'a str,
    pub subject: &'a str,
    pub body: &'a str,
    /// A path inside the service; the sender makes it absolute.
    pub link: &'a str,
}

/// Writes one mail to the outbox (migration 0017) in the caller's transaction; the sender loop
/// of `pledge serve` sends it.
pub async fn enqueue_address_mail(
    conn: &mut PgConnection,
    mail: &AddressMail<'_>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO mail_outbox (recipient, language, kind, subject, body, link)
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(mail.recipient)
    .bind(mail.language)
    .bind(mail.kind)
    .bind(mail.subject)
    .bind(mail.body)
    .bind(mail.link)
    .execute(conn)
    .await?;
    Ok(())
}
