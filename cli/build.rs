//! Build facts for `cairn version`: profile, optimisation level, target
//! triple, rustc version and, when built from a git checkout, the commit.
//! Each is optional at run time (an empty value means unknown), so a build
//! from a source tarball without git still works.

use std::process::Command;

fn main() {
    for (from, to) in [
        ("PROFILE", "CLI_BUILD_PROFILE"),
        ("OPT_LEVEL", "CLI_BUILD_OPT_LEVEL"),
        ("TARGET", "CLI_BUILD_TARGET"),
    ] {
        println!(
            "cargo:rustc-env={to}={}",
            std::env::var(from).unwrap_or_default()
        );
    }
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let rustc = output(Command::new(rustc).arg("--version")).unwrap_or_default();
    println!("cargo:rustc-env=CLI_BUILD_RUSTC={rustc}");
    let git = |args: &[&str]| output(Command::new("git").args(args));
    let commit = git(&["rev-parse", "--short=12", "HEAD"]).unwrap_or_default();
    println!("cargo:rustc-env=CLI_BUILD_GIT_COMMIT={commit}");
    // Rebuild when HEAD moves: HEAD itself, and the branch it names.
    println!("cargo:rerun-if-changed=build.rs");
    for path in ["HEAD", "packed-refs"] {
        if let Some(p) = git(&["rev-parse", "--git-path", path]) {
            println!("cargo:rerun-if-changed={p}");
        }
    }
    if let Some(branch) = git(&["symbolic-ref", "-q", "HEAD"]) {
        if let Some(p) = git(&["rev-parse", "--git-path", &branch]) {
            println!("cargo:rerun-if-changed={p}");
        }
    }
}

/// The first line of a command's output, if it ran and succeeded.
fn output(cmd: &mut Command) -> Option<String> {
    let out = cmd.output().ok().filter(|o| o.status.success())?;
    let text = String::from_utf8(out.stdout).ok()?;
    let line = text.lines().next()?.trim().to_owned();
    (!line.is_empty()).then_some(line)
}
