//! `cairn key list | add | remove | passwd | export --paper | import
//! --paper`: the repository's key files and its paper key.
//!
//! Invariants: a new password comes only from `--new-password-file`,
//! `--new-password-command` or the terminal (asked twice), never from argv
//! or from the variables that name the current password; `key import
//! --paper` never asks for the current password (it is for when none
//! works), checks the key against the repository before it asks for a new
//! one, and writes nothing when the text or the key is wrong.

use super::Ctx;
use crate::output::{esc, local_time};
use crate::password::{self, Source};
use cairn_engine::ops::key::{self as op, NewKey};
use cairn_engine::{Error, PaperKey, Repository, Result};
use clap::{Args, Subcommand};
use std::ffi::OsString;
use std::io::{IsTerminal, Read};
use std::path::PathBuf;

#[derive(Subcommand, Debug)]
pub enum KeyCommand {
    /// List the key files: ID, label, host, creation time, and which one
    /// the current password opened.
    List,
    /// Add a key file: a new password for the same master key.
    Add(NewKeyArgs),
    /// Remove a key file (never the last one; the one in use only with --force).
    Remove {
        /// The key file's ID, or a unique prefix of it (see `key list`).
        id: String,
        /// Also remove the key file the current password opened.
        #[arg(long)]
        force: bool,
    },
    /// Change the password: write a key file for the new password, then
    /// remove the one the current password opened.
    Passwd(NewKeyArgs),
    /// Print the master key as text to keep on paper (a secret: whoever
    /// holds it can read every backup).
    Export {
        /// Text for paper (the only form there is; required, so that the
        /// command says what it prints).
        #[arg(long, required = true)]
        paper: bool,
    },
    /// Read a paper key back (typed or scanned) and write a key file for a
    /// new password; needs no current password.
    Import {
        /// Read the text of a paper key.
        #[arg(long, required = true)]
        paper: bool,
        /// File holding the text, or - for standard input.
        #[arg(value_name = "FILE|-", default_value = "-")]
        file: PathBuf,
        #[command(flatten)]
        new: NewKeyArgs,
    },
}

/// How the new key file is made.
#[derive(Args, Debug)]
pub struct NewKeyArgs {
    /// A label shown by `key list` (passwd: default the old one's).
    #[arg(long, value_name = "LABEL")]
    pub label: Option<String>,
    /// The host recorded in the key file [default: this machine's].
    #[arg(long, value_name = "HOST")]
    pub host: Option<String>,
    /// File holding the new password [default: ask twice on the terminal].
    #[arg(long, value_name = "FILE")]
    pub new_password_file: Option<PathBuf>,
    /// Command (run with `sh -c`) whose first line of output is the new password.
    #[arg(long, value_name = "CMD", conflicts_with = "new_password_file")]
    pub new_password_command: Option<OsString>,
    #[command(flatten)]
    pub kdf: KdfArgs,
}

/// The Argon2id cost of a new key file (`init`, `key add`, `key passwd`,
/// `key import`); hidden: lower only for tests.
#[derive(Args, Debug)]
pub struct KdfArgs {
    /// Argon2id memory in KiB (default 65536). Lower only for tests.
    #[arg(long, hide = true)]
    pub kdf_memory_kib: Option<u32>,
    /// Argon2id passes (default 3).
    #[arg(long, hide = true)]
    pub kdf_iterations: Option<u32>,
}

impl KdfArgs {
    /// The parameters: the defaults where no flag is given.
    pub fn params(&self) -> cairn_engine::KdfParams {
        let d = cairn_engine::KdfParams::default();
        cairn_engine::KdfParams {
            memory_kib: self.kdf_memory_kib.unwrap_or(d.memory_kib),
            iterations: self.kdf_iterations.unwrap_or(d.iterations),
            parallelism: d.parallelism,
        }
    }
}

impl NewKeyArgs {
    /// The engine's options, with the new password read (last: after
    /// every check that can fail without asking for it).
    fn to_engine(&self) -> Result<NewKey> {
        let source = Source::from_flags(
            self.new_password_file.as_deref(),
            self.new_password_command.as_deref(),
        );
        Ok(NewKey {
            label: self.label.clone(),
            host: self.host.clone(),
            kdf: self.kdf.params(),
            password: password::get_new(source.as_ref())?,
        })
    }
}

/// Run `key ...`.
pub fn run(ctx: &Ctx, cmd: &KeyCommand) -> Result<i32> {
    match cmd {
        KeyCommand::List => list(ctx),
        KeyCommand::Add(a) => {
            let repo = ctx.open()?;
            let r = op::add(&repo, &a.to_engine()?)?;
            show(ctx, &r, || added("added", &r))
        }
        KeyCommand::Remove { id, force } => {
            let repo = ctx.open()?;
            let r = op::remove(&repo, id, *force)?;
            show(ctx, &r, || {
                format!("removed key file {}", r.removed.short())
            })
        }
        KeyCommand::Passwd(a) => {
            let repo = ctx.open()?;
            let r = op::passwd(&repo, &a.to_engine()?)?;
            show(ctx, &r, || {
                format!(
                    "{}; removed key file {} (the old password no longer opens it)",
                    added("password changed: wrote", &r.added),
                    r.removed.short()
                )
            })
        }
        KeyCommand::Export { .. } => {
            let repo = ctx.open()?;
            let r = op::export_paper(&repo)?;
            if ctx.out.json {
                crate::output::print_report(&r);
            } else {
                crate::outln!("{}", r.text.trim_end());
            }
            Ok(crate::exit::OK)
        }
        KeyCommand::Import { file, new, .. } => import(ctx, file, new),
    }
}

fn show<T: serde::Serialize>(ctx: &Ctx, report: &T, text: impl FnOnce() -> String) -> Result<i32> {
    if ctx.out.json {
        crate::output::print_report(report);
    } else {
        ctx.out.info(&text());
    }
    Ok(crate::exit::OK)
}

fn added(verb: &str, r: &op::KeyAddReport) -> String {
    let label = r
        .label
        .as_ref()
        .map_or_else(String::new, |l| format!(" \"{}\",", esc(l)));
    format!(
        "{verb} key file {}{label} for host {}",
        r.added.short(),
        esc(&r.host)
    )
}

fn list(ctx: &Ctx) -> Result<i32> {
    let repo = ctx.open()?;
    let r = op::list(&repo)?;
    if ctx.out.json {
        crate::output::print_report(&r);
        return Ok(crate::exit::OK);
    }
    crate::outln!("  {:<10} {:<19} {:<20} Label", "ID", "Created", "Host");
    crate::outln!("{}", "-".repeat(64));
    for k in &r.keys {
        let mark = if k.in_use { '*' } else { ' ' };
        match &k.error {
            Some(e) => crate::outln!("{mark} {:<10} unreadable: {}", k.short_id, esc(e)),
            None => {
                let row = format!(
                    "{mark} {:<10} {:<19} {:<20} {}",
                    k.short_id,
                    k.created.map(local_time).unwrap_or_default(),
                    esc(k.host.as_deref().unwrap_or_default()),
                    esc(k.label.as_deref().unwrap_or_default())
                );
                crate::outln!("{}", row.trim_end())
            }
        }
    }
    crate::outln!(
        "{} (* opened with the current password)",
        crate::output::count(r.keys.len() as u64, "key file", "key files")
    );
    Ok(crate::exit::OK)
}

/// Read the paper text (bounded), check it opens the repository, then
/// ask for the new password and write its key file.
fn import(ctx: &Ctx, file: &std::path::Path, new: &NewKeyArgs) -> Result<i32> {
    let limit = PaperKey::MAX_TEXT as u64;
    let mut bytes = Vec::new();
    if file.as_os_str() == "-" {
        let stdin = std::io::stdin();
        if stdin.is_terminal() {
            crate::errln!("Type or paste the paper key, then press Ctrl-D on a line of its own:");
        }
        stdin.lock().take(limit + 1).read_to_end(&mut bytes)
    } else {
        std::fs::File::open(file).and_then(|f| f.take(limit + 1).read_to_end(&mut bytes))
    }
    .map_err(|e| Error::io(format!("reading the paper key from {}", file.display()), e))?;
    let paper = PaperKey::decode(&String::from_utf8_lossy(&bytes))?;
    let backend = Ctx::probed_backend(&ctx.location()?)?;
    let repo = Repository::open_with_paper_key(backend, &paper, ctx.cache_root())?;
    let r = op::import_paper(&repo, &paper, &new.to_engine()?)?;
    let id = &r.added.repository_id;
    if let Some(named) = r.paper_repository_id.as_ref().filter(|p| *p != id) {
        crate::errln!(
            "note: the paper names repository {named}, but its key opens this one ({id}) too: the two share a master key"
        );
    }
    show(ctx, &r, || {
        format!(
            "{}; the paper key opened repository {id}, and the new password opens it now",
            added("wrote", &r.added)
        )
    })
}

/// The examples `cairn key --help` ends with (a test parses each).
pub const EXAMPLES: &str = "\
Examples:
  # The key files; * marks the one the password opened
  cairn key list
  # Another password for the same repository
  cairn key add --label laptop --new-password-file /root/.cairn-laptop-password
  # Change the password (asks twice)
  cairn key passwd
  # Print the paper key (keep no file of it)
  cairn key export --paper | lp
  # After every password is lost
  cairn key import --paper scanned.txt";
