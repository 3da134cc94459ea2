//! Who is who and who may do what: password hashing, the second factor, sign-in, sessions and
//! tokens, account management, and the authorization policy (one place: [`policy`]).

pub mod accounts;
pub mod password;
pub mod policy;
pub mod resolve;
pub mod secrets;
pub mod sign_in;
pub mod totp;
pub mod totp_key;

use std::time::Duration;

use uuid::Uuid;

use crate::domain::role::Role;
use crate::storage::Scope;
use crate::storage::audit::Actor;

/// How the request proved who it is.
#[derive(Debug, Clone)]
pub enum Credential {
    /// A browser session (cookie). State changes need its CSRF token.
    Session {
        id_hash: Vec<u8>,
        handle: Uuid,
        csrf_token: String,
    },
    /// A personal API token (`Authorization: Bearer`).
    Token { id: Uuid },
}

/// The signed-in user of a request.
#[derive(Debug, Clone)]
pub struct Principal {
    pub user_id: Uuid,
    pub email: String,
    pub display_name: String,
    pub role: Role,
    pub credential: Credential,
    /// Signed in with a one-time password that must be replaced first.
    pub must_change_password: bool,
    /// The password is verified but the second factor not yet given.
    pub second_factor_pending: bool,
    /// The user has a second factor.
    pub has_second_factor: bool,
    /// The IANA time zone the user reads moments in (read with the session or token).
    pub time_zone: String,
}

impl Principal {
    /// The database scope for this user's transactions.
    pub fn scope(&self) -> Scope {
        Scope::User {
            user_id: self.user_id,
            role: self.role,
        }
    }

    /// The CSRF token of the session, if signed in with one.
    pub fn csrf_token(&self) -> Option<&str> {
        match &self.credential {
            Credential::Session { csrf_token, .. } => Some(csrf_token),
            Credential::Token { .. } => None,
        }
    }
}

/// Who performs an operation: a signed-in user, or a command on the server.
#[derive(Debug, Clone, Copy)]
pub enum Operator<'a> {
    /// A user through the pages or the API (the caller has checked the permission).
    User(&'a Principal),
    /// `pledge user …` on the server.
    Cli,
}

impl Operator<'_> {
    pub fn scope(&self) -> Scope {
        match self {
            Operator::User(principal) => principal.scope(),
            Operator::Cli => Scope::System,
        }
    }

    /// The user, if a user acts.
    pub fn user_id(&self) -> Option<Uuid> {
        match self {
            Operator::User(principal) => Some(principal.user_id),
            Operator::Cli => None,
        }
    }

    pub fn actor(&self) -> Actor {
        match self {
            Operator::User(principal) => Actor::User(principal.user_id),
            Operator::Cli => Actor::Cli,
        }
    }
}

/// Session and sign-in settings.
#[derive(Debug, Clone)]
pub struct AuthConfig {
    /// A session ends after this long without a request.
    pub idle_timeout: Duration,
    /// A session ends this long after sign-in, whatever the activity.
    pub absolute_timeout: Duration,
    /// Cookies are `__Host-` and `Secure` (the service is reached over HTTPS).
    pub secure_cookies: bool,
    /// Admins must have a second factor before they can do anything else.
    pub require_admin_second_factor: bool,
    /// Name shown in authenticator apps.
    pub issuer: String,
    /// Addresses of the proxies that append the client's address to `X-Forwarded-For`: only a
    /// request whose TCP peer is one of them has its client address taken from that header
    /// (throttling, the audit log and the session list then use it). Empty: never.
    pub trusted_proxies: Vec<std::net::IpAddr>,
    /// The service runs as a demo (`pledge serve --demo`). Only then is the demo's published
    /// password ([`crate::demo::DEMO_PASSWORD`]) accepted at sign-in.
    pub demo: bool,
    /// The key that seals second-factor secrets (`serve` reads it from its file; the default is
    /// a key in memory only).
    pub totp_keys: std::sync::Arc<totp_key::TotpKeys>,
}

impl Default for AuthConfig {
    fn default() -> Self {
        Self {
            idle_timeout: Duration::from_secs(30 * 60),
            absolute_timeout: Duration::from_secs(12 * 60 * 60),
            secure_cookies: false,
            require_admin_second_factor: true,
            issuer: "Pledge Tracker".to_owned(),
            trusted_proxies: Vec::new(),
            demo: false,
            totp_keys: std::sync::Arc::new(totp_key::TotpKeys::ephemeral()),
        }
    }
}

impl AuthConfig {
    /// Name of the session cookie: `__Host-` prefixed when served over HTTPS. (Browsers refuse
    /// `__Host-` cookies without `Secure`, so plain-HTTP development on loopback uses the bare name.)
    pub fn session_cookie(&self) -> &'static str {
        if self.secure_cookies {
            "__Host-pledge_session"
        } else {
            "pledge_session"
        }
    }

    /// `Set-Cookie` value that stores a session id.
    pub fn session_cookie_header(&self, value: &str) -> String {
        let secure = if self.secure_cookies { "; Secure" } else { "" };
        format!(
            "{}={value}; Path=/; HttpOnly; SameSite=Lax{secure}",
            self.session_cookie()
        )
    }

    /// Name of the known-device cookie (docs/security.md, "Throttling").
    pub fn device_cookie(&self) -> &'static str {
        if self.secure_cookies {
            "__Host-pledge_device"
        } else {
            "pledge_device"
        }
    }

    /// `Set-Cookie` value that marks the browser as a known device of the user who just signed
    /// in, for [`crate::storage::throttle::KNOWN_DEVICE_LIFETIME`].
    pub fn device_cookie_header(&self, value: &str) -> String {
        let secure = if self.secure_cookies { "; Secure" } else { "" };
        format!(
            "{}={value}; Path=/; HttpOnly; SameSite=Lax; Max-Age={}{secure}",
            self.device_cookie(),
            crate::storage::throttle::KNOWN_DEVICE_LIFETIME.whole_seconds()
        )
    }

    /// `Set-Cookie` value that removes the session cookie.
    pub fn clear_session_cookie_header(&self) -> String {
        let secure = if self.secure_cookies { "; Secure" } else { "" };
        format!(
            "{}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0{secure}",
            self.session_cookie()
        )
    }
}

/// Errors of the authentication services.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error(transparent)]
    Sql(#[from] sqlx::Error),
    #[error(transparent)]
    Hash(#[from] password::HashError),
}
