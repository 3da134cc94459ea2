//! Which operating-system account runs the PostgreSQL server.
//!
//! PostgreSQL refuses to run as root. Development and CI machines run everything as root, so a
//! root process hands the server to the unprivileged `postgres` account that the server package
//! creates, and checks that this account can reach the data directory.

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::Command;

use super::ClusterError;

/// The account the server's programs run as.
#[derive(Debug, Clone)]
pub enum ServerAccount {
    /// The current (non-root) user: everything it creates is private to it.
    CurrentUser,
    /// An unprivileged system account, used when the current user is root.
    System { name: String, uid: u32, gid: u32 },
}

impl ServerAccount {
    /// Chooses the account for this process: the current user, or `postgres` when running as root.
    pub fn for_this_process() -> Result<Self, ClusterError> {
        if !nix::unistd::geteuid().is_root() {
            return Ok(Self::CurrentUser);
        }
        let user = nix::unistd::User::from_name("postgres")
            .ok()
            .flatten()
            .ok_or(ClusterError::NoServerAccount)?;
        Ok(Self::System {
            name: user.name,
            uid: user.uid.as_raw(),
            gid: user.gid.as_raw(),
        })
    }

    /// A command that runs `program` as this account.
    pub fn command(&self, program: &Path) -> Command {
        let mut command = Command::new(program);
        if let Self::System { uid, gid, .. } = self {
            // std drops root's supplementary groups when it changes the uid.
            command.uid(*uid).gid(*gid);
        }
        command
    }

    /// Gives a directory this process created to the server account, private to it.
    pub fn own_private_dir(&self, dir: &Path) -> Result<(), ClusterError> {
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
            .map_err(|source| ClusterError::io(dir, source))?;
        if let Self::System { uid, gid, .. } = self {
            std::os::unix::fs::chown(dir, Some(*uid), Some(*gid))
                .map_err(|source| ClusterError::io(dir, source))?;
        }
        Ok(())
    }

    /// Mode for the data directory itself: private to the current user, or traversable (not
    /// listable) by the server account when that is another account.
    pub fn data_dir_mode(&self) -> u32 {
        match self {
            Self::CurrentUser => 0o700,
            Self::System { .. } => 0o711,
        }
    }

    /// Checks that the server account can reach `dir` through every one of its parents.
    pub fn check_reachable(&self, dir: &Path) -> Result<(), ClusterError> {
        let Self::System { name, uid, gid } = self else {
            return Ok(());
        };
        for ancestor in dir.ancestors() {
            let meta = std::fs::metadata(ancestor).map_err(|e| ClusterError::io(ancestor, e))?;
            let mode = meta.permissions().mode();
            let may_enter = if meta.uid() == *uid {
                mode & 0o100 != 0
            } else if meta.gid() == *gid {
                mode & 0o010 != 0
            } else {
                mode & 0o001 != 0
            };
            if !may_enter {
                return Err(ClusterError::Unreachable {
                    account: name.clone(),
                    dir: ancestor.to_path_buf(),
                });
            }
        }
        Ok(())
    }

    /// Name for log messages.
    pub fn describe(&self) -> String {
        match self {
            Self::CurrentUser => "the current user".to_owned(),
            Self::System { name, .. } => {
                format!("the '{name}' account (this process runs as root)")
            }
        }
    }
}
