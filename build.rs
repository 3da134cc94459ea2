//! Records the commit the binary is built from, for `pledge --version`.

use std::process::Command;

fn git(args: &[&str]) -> Option<String> {
    Command::new("git")
        .args(args)
        .output()
        .ok()
        .filter(|output| output.status.success())
        .and_then(|output| String::from_utf8(output.stdout).ok())
        .map(|text| text.trim().to_owned())
        .filter(|text| !text.is_empty())
}

fn main() {
    let commit =
        git(&["describe", "--always", "--abbrev=12"]).unwrap_or_else(|| "unknown".to_owned());
    println!("cargo:rustc-env=PLEDGE_COMMIT={commit}");
    // Rebuilt when HEAD moves (a commit, a checkout), in a clone or a worktree. Not when the
    // index changes: `git status` rewrites it, and watching it rebuilt the whole crate after
    // every status. Hence no `--dirty` mark either: it could not be kept true.
    println!("cargo:rerun-if-changed=build.rs");
    let mut watched = vec![git(&["rev-parse", "--git-path", "HEAD"])];
    if let Some(branch) = git(&["symbolic-ref", "-q", "HEAD"]) {
        watched.push(git(&["rev-parse", "--git-path", &branch]));
        watched.push(git(&["rev-parse", "--git-path", "packed-refs"]));
    }
    for path in watched.into_iter().flatten() {
        if std::path::Path::new(&path).exists() {
            println!("cargo:rerun-if-changed={path}");
        }
    }
}
