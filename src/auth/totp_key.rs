//! TOTP secrets at rest: sealed with XChaCha20-Poly1305 under a key that never enters the
//! database. The key is a file (32 random bytes, mode 0600), by default `secrets/totp.key` in the
//! data directory, beside (never inside) the PostgreSQL cluster's `pgdata/`, so neither a dump
//! nor a copy of the cluster carries it; `PLEDGE_TOTP_KEY_FILE` puts it elsewhere (for an external
//! database). It is made on first start.
//!
//! A sealed secret is `ptk1` ‖ key id (8 bytes) ‖ nonce (24 bytes) ‖ ciphertext with its tag; the
//! user's id is the associated data, so a sealed secret copied to another account does not open.
//! At start, [`seal_stored_secrets`] seals every secret still stored in clear and re-seals those
//! sealed under the previous key (the file `<key>.previous`), which is how the key is rotated
//! (docs/operations.md).
//!
//! The same key derives the secret offered at enrolment ([`TotpKeys::pending_secret`]), so the
//! server chooses it, keeps it to itself until the code proves the app holds it, and never takes
//! one from the client.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::Context;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::secrets::random_bytes;

const MAGIC: &[u8; 4] = b"ptk1";
const ID_LEN: usize = 8;
const NONCE_LEN: usize = 24;

/// One key and its id (a hash of it, stored beside each secret it sealed).
#[derive(Clone)]
struct Key {
    id: [u8; ID_LEN],
    bytes: [u8; 32],
}

impl Key {
    fn from_bytes(bytes: [u8; 32]) -> Self {
        let digest = Sha256::new()
            .chain_update(b"pledge totp key id\0")
            .chain_update(bytes)
            .finalize();
        let mut id = [0u8; ID_LEN];
        id.copy_from_slice(&digest[..ID_LEN]);
        Self { id, bytes }
    }

    fn random() -> Self {
        let mut bytes = [0u8; 32];
        bytes.copy_from_slice(&random_bytes(32));
        Self::from_bytes(bytes)
    }

    fn read(path: &Path) -> anyhow::Result<Self> {
        let raw = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
        let text = String::from_utf8_lossy(&raw);
        let decoded = hex::decode(text.trim())
            .ok()
            .filter(|b| b.len() == 32)
            .with_context(|| format!("{} does not hold a key (64 hex digits)", path.display()))?;
        let mut bytes = [0u8; 32];
        bytes.copy_from_slice(&decoded);
        Ok(Self::from_bytes(bytes))
    }
}

/// The key that seals TOTP secrets, and the previous one while a rotation completes.
#[derive(Clone)]
pub struct TotpKeys {
    current: Key,
    previous: Option<Key>,
}

impl std::fmt::Debug for TotpKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TotpKeys")
            .field("current", &hex::encode(self.current.id))
            .field(
                "previous",
                &self.previous.as_ref().map(|k| hex::encode(k.id)),
            )
            .finish()
    }
}

impl TotpKeys {
    /// A key held in memory only (tests; a default configuration).
    pub fn ephemeral() -> Self {
        Self {
            current: Key::random(),
            previous: None,
        }
    }

    /// The default key file in a data directory.
    pub fn default_path(data_dir: &Path) -> PathBuf {
        data_dir.join("secrets").join("totp.key")
    }

    /// Reads the key file, making it (0600, in a 0700 directory) when absent; reads
    /// `<path>.previous` too when present.
    pub fn load_or_create(path: &Path) -> anyhow::Result<Self> {
        if !path.exists() {
            create_key_file(path)?;
        }
        let current = Key::read(path)?;
        let previous_path = previous_path(path);
        let previous = if previous_path.exists() {
            Some(Key::read(&previous_path)?)
        } else {
            None
        };
        Ok(Self { current, previous })
    }

    /// The current key's id, in hex (logged at start, shown in docs' rotation check).
    pub fn current_id(&self) -> String {
        hex::encode(self.current.id)
    }

    /// Seals a user's secret under the current key.
    pub fn seal(&self, user_id: Uuid, secret: &[u8]) -> Vec<u8> {
        let cipher = XChaCha20Poly1305::new((&self.current.bytes).into());
        let nonce_bytes = random_bytes(NONCE_LEN);
        let nonce = XNonce::from_slice(&nonce_bytes);
        let sealed = cipher
            .encrypt(
                nonce,
                Payload {
                    msg: secret,
                    aad: user_id.as_bytes(),
                },
            )
            .unwrap_or_default();
        let mut out = Vec::with_capacity(4 + ID_LEN + NONCE_LEN + sealed.len());
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&self.current.id);
        out.extend_from_slice(&nonce_bytes);
        out.extend_from_slice(&sealed);
        out
    }

    /// Opens a sealed secret (under the current or the previous key); `None` for anything else,
    /// a secret in clear included.
    pub fn open(&self, user_id: Uuid, stored: &[u8]) -> Option<Vec<u8>> {
        let rest = stored.strip_prefix(MAGIC)?;
        if rest.len() < ID_LEN + NONCE_LEN + 16 {
            return None;
        }
        let (id, rest) = rest.split_at(ID_LEN);
        let (nonce, sealed) = rest.split_at(NONCE_LEN);
        let key = [Some(&self.current), self.previous.as_ref()]
            .into_iter()
            .flatten()
            .find(|k| k.id == id)?;
        XChaCha20Poly1305::new((&key.bytes).into())
            .decrypt(
                XNonce::from_slice(nonce),
                Payload {
                    msg: sealed,
                    aad: user_id.as_bytes(),
                },
            )
            .ok()
    }

    /// Whether a stored value is sealed under the current key.
    fn sealed_under_current(&self, stored: &[u8]) -> bool {
        stored
            .strip_prefix(MAGIC)
            .is_some_and(|rest| rest.starts_with(&self.current.id))
    }

    /// The secret offered to a user enrolling in this session: derived from the key, the user
    /// and the session's own secret, so it is the same on the form and when the code comes back,
    /// is never sent by the client, and changes with each session.
    pub fn pending_secret(&self, user_id: Uuid, session_secret: &str) -> Vec<u8> {
        let Ok(mut mac) = <Hmac<Sha256> as Mac>::new_from_slice(&self.current.bytes) else {
            return random_bytes(20);
        };
        mac.update(b"pledge totp enrolment\0");
        mac.update(user_id.as_bytes());
        mac.update(session_secret.as_bytes());
        mac.finalize().into_bytes()[..20].to_vec()
    }
}

fn previous_path(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(".previous");
    PathBuf::from(name)
}

fn create_key_file(path: &Path) -> anyhow::Result<()> {
    use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .with_context(|| format!("cannot create {}", dir.display()))?;
    }
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("cannot create {}", path.display()))?;
    writeln!(file, "{}", hex::encode(random_bytes(32)))?;
    file.sync_all()?;
    tracing::info!(path = %path.display(), "created the key that seals second-factor secrets");
    Ok(())
}

/// Seals every TOTP secret not yet sealed under the current key: those in clear (written before
/// secrets were sealed) and those under the previous key. Returns how many were sealed; a secret
/// under an unknown key is left as it is and logged (that user's second factor must be reset).
pub async fn seal_stored_secrets(pool: &sqlx::PgPool, keys: &TotpKeys) -> anyhow::Result<usize> {
    let mut tx = crate::storage::begin(pool, &crate::storage::Scope::System).await?;
    let rows: Vec<(Uuid, Vec<u8>)> = sqlx::query_as(
        "SELECT id, totp_secret FROM users WHERE totp_secret IS NOT NULL FOR UPDATE",
    )
    .fetch_all(&mut *tx)
    .await?;
    let mut sealed = 0;
    for (user_id, stored) in rows {
        if keys.sealed_under_current(&stored) {
            continue;
        }
        let secret = if stored.starts_with(MAGIC) {
            match keys.open(user_id, &stored) {
                Some(secret) => secret,
                None => {
                    tracing::error!(%user_id, "a second-factor secret is sealed under an unknown key; reset that user's second factor");
                    continue;
                }
            }
        } else {
            stored
        };
        sqlx::query("UPDATE users SET totp_secret = $2 WHERE id = $1")
            .bind(user_id)
            .bind(keys.seal(user_id, &secret))
            .execute(&mut *tx)
            .await?;
        sealed += 1;
    }
    tx.commit().await?;
    Ok(sealed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sealed_secret_opens_for_its_user_only_and_not_in_clear() {
        let keys = TotpKeys::ephemeral();
        let user = Uuid::new_v4();
        let secret = random_bytes(20);
        let sealed = keys.seal(user, &secret);
        assert!(!sealed.windows(secret.len()).any(|w| w == secret.as_slice()));
        assert_eq!(keys.open(user, &sealed), Some(secret.clone()));
        assert_eq!(keys.open(Uuid::new_v4(), &sealed), None);
        assert_eq!(keys.open(user, &secret), None);
        assert_eq!(TotpKeys::ephemeral().open(user, &sealed), None);
    }

    #[test]
    fn the_key_file_is_made_private_and_the_previous_key_still_opens() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = TotpKeys::default_path(dir.path());
        let first = TotpKeys::load_or_create(&path).unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        let user = Uuid::new_v4();
        let sealed = first.seal(user, b"0123456789abcdefghij");
        assert_eq!(
            TotpKeys::load_or_create(&path).unwrap().current_id(),
            first.current_id()
        );
        std::fs::rename(&path, previous_path(&path)).unwrap();
        let rotated = TotpKeys::load_or_create(&path).unwrap();
        assert_ne!(rotated.current_id(), first.current_id());
        assert!(!rotated.sealed_under_current(&sealed));
        assert_eq!(
            rotated.open(user, &sealed).as_deref(),
            Some(&b"0123456789abcdefghij"[..])
        );
        let pending = rotated.pending_secret(user, "session");
        assert_eq!(pending.len(), 20);
        assert_eq!(pending, rotated.pending_secret(user, "session"));
        assert_ne!(pending, rotated.pending_secret(user, "another session"));
    }
}
