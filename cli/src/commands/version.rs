//! `cairn version`: this build's version, the format versions it reads
//! and writes (from the engine, `cairn_engine::format_versions`), and how
//! it was built (`cli/build.rs`). Needs no repository. Fields that are
//! unknown for a build (no git at build time) are `null` in `--json`.

use super::Ctx;
use cairn_engine::{FormatVersion, FormatVersions, Result};
use clap::Args;
use serde::Serialize;

#[derive(Args, Debug)]
pub struct VersionArgs {}

/// The `--json` document.
#[derive(Serialize)]
struct VersionDoc {
    version: &'static str,
    formats: FormatVersions,
    build: Build,
}

/// How this binary was built.
#[derive(Serialize)]
struct Build {
    /// `debug` or `release` (cargo's profile family).
    profile: &'static str,
    /// The optimisation level (0-3, s, z).
    opt_level: &'static str,
    /// Whether debug assertions are on.
    debug_assertions: bool,
    /// The target triple.
    target: &'static str,
    /// The git commit built from, if known.
    git_commit: Option<&'static str>,
    /// `rustc --version` of the compiler, if known.
    rustc: Option<&'static str>,
}

fn known(s: &'static str) -> Option<&'static str> {
    (!s.is_empty()).then_some(s)
}

fn doc() -> VersionDoc {
    VersionDoc {
        version: env!("CARGO_PKG_VERSION"),
        formats: cairn_engine::format_versions(),
        build: Build {
            profile: env!("CLI_BUILD_PROFILE"),
            opt_level: env!("CLI_BUILD_OPT_LEVEL"),
            debug_assertions: cfg!(debug_assertions),
            target: env!("CLI_BUILD_TARGET"),
            git_commit: known(env!("CLI_BUILD_GIT_COMMIT")),
            rustc: known(env!("CLI_BUILD_RUSTC")),
        },
    }
}

/// Print the version report.
pub fn run(ctx: &Ctx, _a: &VersionArgs) -> Result<i32> {
    let d = doc();
    if ctx.out.json {
        crate::output::print_report(&d);
        return Ok(crate::exit::OK);
    }
    let fmt = |f: &FormatVersion| {
        let reads: Vec<String> = f.reads.iter().map(u64::to_string).collect();
        format!("reads {}, writes {}", reads.join(", "), f.writes)
    };
    let objects: Vec<String> = d
        .formats
        .objects
        .iter()
        .map(|(k, v)| format!("{k} {v}"))
        .collect();
    crate::outln!("cairn {}", d.version);
    crate::outln!("repository format: {}", fmt(&d.formats.repository));
    crate::outln!("export format:     {}", fmt(&d.formats.export));
    crate::outln!("object versions:   {}", objects.join(", "));
    let b = &d.build;
    let mut build = format!("{} (opt-level {}), {}", b.profile, b.opt_level, b.target);
    if let Some(c) = b.git_commit {
        build.push_str(&format!(", commit {c}"));
    }
    crate::outln!("build:             {build}");
    if let Some(r) = b.rustc {
        crate::outln!("compiler:          {r}");
    }
    Ok(crate::exit::OK)
}

/// The examples `cairn version --help` ends with (a test parses each).
pub const EXAMPLES: &str = "\
Examples:
  cairn version
  # For scripts and bug reports
  cairn --json version";
