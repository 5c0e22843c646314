//! The `cairn` binary: parse flags, run one command, map the outcome to
//! the exit-code table in [`exit`].

mod advice;
mod args;
mod commands;
mod exit;
mod help;
mod location;
#[cfg(feature = "mount")]
mod mount;
mod output;
mod password;
mod profile;
mod repo_source;
mod volume_prompt;

use args::{Cli, Command};
use clap::Parser;
use commands::Ctx;
use output::Output;

fn main() {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => std::process::exit(usage_error(&e)),
    };
    // First Ctrl-C / SIGTERM: stop at the next safe point. Second: exit now.
    let _ = ctrlc::set_handler(|| {
        static SEEN: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
        if SEEN.swap(true, std::sync::atomic::Ordering::SeqCst) {
            std::process::exit(exit::INTERRUPTED);
        }
        cairn_engine::request_interrupt();
    });
    raise_descriptor_limit();
    let out = Output {
        json: cli.json,
        quiet: cli.quiet,
        verbose: cli.verbose,
    };
    let ctx = match context(&cli, out) {
        Ok(ctx) => ctx,
        Err(e) => std::process::exit(fail(out, &e)),
    };
    let result = match &cli.command {
        Command::Init(a) => commands::init::run(&ctx, a),
        Command::Backup(a) => commands::backup::run(&ctx, a),
        Command::Snapshots(a) => commands::snapshots::run(&ctx, a),
        Command::Ls(a) => commands::ls::run(&ctx, a),
        Command::Restore(a) => commands::restore::run(&ctx, a),
        Command::Dump(a) => commands::dump::run(&ctx, a),
        Command::Verify(a) => commands::verify::run(&ctx, a),
        Command::Check(a) => commands::check::run(&ctx, a),
        Command::Drill(a) => commands::drill::run(&ctx, a),
        Command::Scrub(a) => commands::scrub::run(&ctx, a),
        Command::Repair(a) => commands::repair::run(&ctx, a),
        Command::Parity(a) => commands::parity::run(&ctx, a),
        Command::Unlock(a) => commands::unlock::run(&ctx, a),
        Command::Forget(a) => commands::forget::run(&ctx, a),
        Command::Tag(a) => commands::tag::run(&ctx, a),
        Command::Prune(a) => commands::prune::run(&ctx, a),
        Command::Copy(a) => commands::copy::run(&ctx, a),
        Command::Export(a) => commands::export::run(&ctx, a),
        Command::Import(a) => commands::export::import(&ctx, a),
        Command::Run(a) => commands::run::run(&ctx, a),
        Command::Schedule(a) => commands::schedule::run(&ctx, a),
        Command::Key(a) => commands::key::run(&ctx, a),
        Command::Completions(a) => commands::completions::run(&ctx, a),
        Command::Man(a) => commands::man::run(&ctx, a),
        Command::Version(a) => commands::version::run(&ctx, a),
        Command::Find(a) => commands::find::run(&ctx, a),
        Command::Diff(a) => commands::diff::run(&ctx, a),
        Command::Stats(a) => commands::stats::run(&ctx, a),
        Command::Cat(a) => commands::cat::run(&ctx, a),
        #[cfg(feature = "mount")]
        Command::Mount(a) => mount::run(&ctx, a),
    };
    // A failed write to stdout is an error (exit 1; ENOSPC is kind
    // no_space); a closed pipe is not: the reader has what it wanted.
    let result = result.and_then(|code| output::finish_stdout().map(|()| code));
    let code = match result {
        Ok(code) => code,
        Err(e) if output::is_closed_stdout(&e) => exit::OK,
        Err(e) => fail(ctx.out, &e),
    };
    std::process::exit(code);
}

/// What every command gets. Options that may come from the environment
/// are read here, not by clap: an empty variable counts as unset, and
/// usage messages never show environment-supplied values as if they were
/// required flags. A `--profile` fills in what neither gives.
fn context(cli: &Cli, out: Output) -> cairn_engine::Result<Ctx> {
    let profile = profile::selected(cli.config.as_deref(), cli.profile.as_deref())?;
    let p = profile.as_ref();
    let flags = password::Source::from_flags(
        cli.password_file.as_deref(),
        cli.password_command.as_deref(),
    );
    Ok(Ctx {
        repo: repo_source::RepoSource::from_flags_or_env(
            cli.repo.as_ref(),
            cli.repository_file.as_deref(),
        )
        .or(p.map(|p| p.repository.clone())),
        password: flags.or_else(|| match password::in_env() {
            true => None,
            false => p.and_then(|p| p.password.clone()),
        }),
        cache_dir: cli
            .cache_dir
            .clone()
            .or_else(|| env_path("CAIRN_CACHE_DIR"))
            .or_else(|| p.and_then(|p| p.cache_dir.clone())),
        s3: p.map(|p| p.s3.clone()).unwrap_or_default(),
        config: cli.config.clone(),
        profile: cli.profile.clone(),
        volumes_at: cli.volumes_at.clone(),
        out,
    })
}

/// Report `e` (on stderr; with `--json` also as a document on stdout)
/// and return its exit code.
fn fail(out: Output, e: &cairn_engine::Error) -> i32 {
    let code = exit::code_for(e.kind());
    if out.json {
        output::print_report(&output::ErrorDoc {
            error: advice::message(e),
            kind: e.kind().as_str(),
            remedy: e.remedy().map(|r| r.as_str()),
            exit_code: code,
        });
    }
    crate::errln!("cairn: error: {}", output::esc(&advice::message(e)));
    code
}

/// Report a flag clap refused (or print the help or version it was
/// asked for) and return the exit code. With `--json` anywhere before a
/// `--`, a usage error is also a JSON error document on stdout (kind
/// `invalid_input`, exit 2), as for every error that stops a command, so
/// a script reading stdout always gets one document.
fn usage_error(e: &clap::Error) -> i32 {
    if !e.use_stderr() {
        let _ = e.print();
        return exit::OK;
    }
    let json = std::env::args_os()
        .skip(1)
        .take_while(|a| a != "--")
        .any(|a| a == "--json");
    if json {
        let text = e.to_string();
        let what = text.split("\n\n").next().unwrap_or_default();
        let what = what.strip_prefix("error: ").unwrap_or(what);
        output::print_report(&output::ErrorDoc {
            error: what.split_whitespace().collect::<Vec<_>>().join(" "),
            kind: cairn_engine::ErrorKind::InvalidInput.as_str(),
            remedy: None,
            exit_code: exit::USAGE,
        });
        let _ = output::finish_stdout();
    }
    let _ = e.print();
    exit::USAGE
}

/// A path from an environment variable; empty means unset.
fn env_path(name: &str) -> Option<std::path::PathBuf> {
    std::env::var_os(name)
        .filter(|v| !v.is_empty())
        .map(std::path::PathBuf::from)
}

/// Raise the soft limit on open descriptors to the hard limit, as Go
/// programs (restic among them) do when they start: a backup holds one
/// descriptor for each directory level it is inside (and up to 64 files
/// its look-ahead opened), restores and remote storage more, and the soft
/// limit (often 1,024) is a default, not a policy. Best effort.
fn raise_descriptor_limit() {
    use nix::sys::resource::{getrlimit, setrlimit, Resource};
    if let Ok((soft, hard)) = getrlimit(Resource::RLIMIT_NOFILE) {
        if soft < hard {
            let _ = setrlimit(Resource::RLIMIT_NOFILE, hard, hard);
        }
    }
}
