//! Where the repository password comes from, in order:
//!
//! 1. `--password-file FILE` or `--password-command CMD` (both at once is a
//!    usage error, refused by clap);
//! 2. the environment: `CAIRN_PASSWORD_FILE`, `CAIRN_PASSWORD_COMMAND`,
//!    `CAIRN_PASSWORD`, in that order;
//! 3. the `--profile`'s `password-file` or `password-command`;
//! 4. a prompt on the terminal.
//!
//! The caller resolves 1 and 3 into a [`Source`]; [`get`] reads the
//! environment only when it is given none, and [`in_env`] says whether a
//! profile's source would be overridden. A *new* password (`cairn key`)
//! comes only from `--new-password-file`, `--new-password-command` or the
//! terminal, asked twice ([`get_new`]).
//!
//! A password command means what restic's `--password-command` means: the
//! string is run with `sh -c`, and the first line of its standard output
//! (without the line ending) is the password. Its standard error passes
//! through, for diagnostics; its standard output is never shown, not even
//! when it fails. A command that cannot start, fails or is killed is an
//! error (exit 1); empty output is an error like an empty password file
//! (exit 2).
//!
//! Invariant: the password is never a flag value, never logged, never part
//! of an error message. No source is read past [`MAX_PASSWORD`] bytes, so a
//! wrong path (`/dev/zero`) or a runaway command cannot exhaust memory.

use cairn_engine::{Error, ErrorKind, Result};
use std::ffi::{OsStr, OsString};
use std::io::{IsTerminal, Read};
use std::path::{Path, PathBuf};

/// The longest password accepted from a file or command, in bytes.
pub const MAX_PASSWORD: u64 = 4096;

/// A place the password is read from.
#[derive(Clone, PartialEq, Eq)]
pub enum Source {
    /// A file holding the password (its trailing newline removed).
    File(PathBuf),
    /// A command run with `sh -c`; the first line of its output.
    Command(OsString),
}

impl std::fmt::Debug for Source {
    // The command line is not shown: it may carry a secret of its own.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Source::File(p) => f.debug_tuple("File").field(p).finish(),
            Source::Command(_) => f.write_str("Command(..)"),
        }
    }
}

impl Source {
    /// From the two flags (clap refuses both at once).
    pub fn from_flags(file: Option<&Path>, command: Option<&OsStr>) -> Option<Source> {
        match (file, command) {
            (Some(p), _) => Some(Source::File(p.to_owned())),
            (None, Some(c)) => Some(Source::Command(c.to_owned())),
            (None, None) => None,
        }
    }

    /// Read the password (bounded, non-empty).
    pub fn read(&self) -> Result<Vec<u8>> {
        match self {
            Source::File(p) => nonempty(read_file(p, "password file")?, "the password file"),
            Source::Command(c) => nonempty(run_command(c)?, "the password command"),
        }
    }
}

/// Whether the environment names a password (file, command or the
/// password itself; empty variables are unset).
pub fn in_env() -> bool {
    [
        "CAIRN_PASSWORD_FILE",
        "CAIRN_PASSWORD_COMMAND",
        "CAIRN_PASSWORD",
    ]
    .iter()
    .any(|k| std::env::var_os(k).is_some_and(|v| !v.is_empty()))
}

/// Read at most [`MAX_PASSWORD`] bytes (plus a final newline) from `r`;
/// more is an error naming `source`.
pub fn read_bounded(r: impl Read, source: &str) -> Result<Vec<u8>> {
    let mut v = Vec::new();
    r.take(MAX_PASSWORD + 3)
        .read_to_end(&mut v)
        .map_err(|e| Error::io(format!("reading {source}"), e))?;
    let v = strip_newline(v);
    if v.len() as u64 > MAX_PASSWORD {
        return Err(Error::invalid(format!(
            "{source} holds more than {MAX_PASSWORD} bytes; a password file holds the password and nothing else"
        )));
    }
    Ok(v)
}

/// Read a password file (bounded; the trailing newline removed).
pub fn read_file(p: &Path, source: &str) -> Result<Vec<u8>> {
    let f = std::fs::File::open(p)
        .map_err(|e| Error::io(format!("opening {source} {}", p.display()), e))?;
    read_bounded(f, source)
}

/// Run `cmd` with `sh -c` and return the first line of its standard
/// output (bounded: a command that prints too much is killed). Errors
/// never quote the command or its output.
fn run_command(cmd: &OsStr) -> Result<Vec<u8>> {
    let what = "the password command";
    let failed = |why: String| {
        Error::new(
            ErrorKind::Io,
            format!("{what} {why}; its output is not shown"),
        )
    };
    let mut child = std::process::Command::new("sh")
        .arg("-c")
        .arg(cmd)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::inherit())
        .spawn()
        .map_err(|e| failed(format!("could not be started ({e})")))?;
    let mut out = Vec::new();
    let read = match child.stdout.take() {
        Some(o) => o
            .take(MAX_PASSWORD + 3)
            .read_to_end(&mut out)
            .map_err(|e| failed(format!("could not be read ({e})"))),
        None => Err(failed("gave no output stream".into())),
    };
    // More than a password's worth: stop it rather than wait for the rest.
    let too_long = out.len() as u64 > MAX_PASSWORD + 2;
    if read.is_err() || too_long {
        let _ = child.kill();
    }
    let status = child
        .wait()
        .map_err(|e| failed(format!("could not be waited for ({e})")))?;
    read?;
    if too_long {
        return Err(Error::invalid(format!(
            "{what} printed more than {MAX_PASSWORD} bytes; it must print the password and nothing else"
        )));
    }
    if !status.success() {
        return Err(failed(format!("failed ({status})")));
    }
    let first = match out.iter().position(|&b| b == b'\n') {
        Some(i) => out.get(..=i).map(<[u8]>::to_vec).unwrap_or_default(),
        None => out,
    };
    Ok(strip_newline(first))
}

fn strip_newline(mut v: Vec<u8>) -> Vec<u8> {
    if v.last() == Some(&b'\n') {
        v.pop();
        if v.last() == Some(&b'\r') {
            v.pop();
        }
    }
    v
}

fn nonempty(v: Vec<u8>, source: &str) -> Result<Vec<u8>> {
    if v.is_empty() {
        Err(Error::invalid(format!(
            "the password from {source} is empty"
        )))
    } else {
        Ok(v)
    }
}

/// Obtain the password from `source` (flags or profile), else from the
/// environment, else from the terminal; `confirm` asks twice on a
/// terminal (for `init`).
pub fn get(source: Option<&Source>, confirm: bool) -> Result<Vec<u8>> {
    if let Some(s) = source {
        return s.read();
    }
    let var = |k: &str| std::env::var_os(k).filter(|v| !v.is_empty());
    if let Some(p) = var("CAIRN_PASSWORD_FILE") {
        return Source::File(p.into()).read();
    }
    if let Some(cmd) = var("CAIRN_PASSWORD_COMMAND") {
        return Source::Command(cmd).read();
    }
    if let Some(p) = var("CAIRN_PASSWORD") {
        use std::os::unix::ffi::OsStrExt;
        if p.len() as u64 > MAX_PASSWORD {
            return Err(Error::invalid(format!(
                "CAIRN_PASSWORD is longer than {MAX_PASSWORD} bytes"
            )));
        }
        return Ok(p.as_bytes().to_vec());
    }
    prompt(
        "repository password: ",
        confirm.then_some("repeat password: "),
        "no password given: use --password-file or --password-command (or CAIRN_PASSWORD_FILE, CAIRN_PASSWORD_COMMAND, CAIRN_PASSWORD), a --profile that names one, or run on a terminal",
    )
}

/// The new password of `key add`, `key passwd` and `key import`: from
/// `source` (`--new-password-file` or `--new-password-command`), else
/// asked twice on the terminal. Never from the environment or a profile,
/// which name the current password.
pub fn get_new(source: Option<&Source>) -> Result<Vec<u8>> {
    match source {
        Some(s) => s.read(),
        None => prompt(
            "new password: ",
            Some("repeat new password: "),
            "no new password given: use --new-password-file or --new-password-command, or run on a terminal",
        ),
    }
}

/// Ask on the terminal (twice with `confirm`); `none` is the error when
/// there is no terminal to ask on.
fn prompt(first: &str, confirm: Option<&str>, none: &str) -> Result<Vec<u8>> {
    if !std::io::stdin().is_terminal() && !std::io::stderr().is_terminal() {
        return Err(Error::new(ErrorKind::InvalidInput, none));
    }
    let read = |p: &str| {
        rpassword::prompt_password(p)
            .map_err(|e| Error::io("reading the password from the terminal", e))
    };
    let pw = read(first)?;
    if let Some(again) = confirm {
        if read(again)? != pw {
            return Err(Error::invalid("the passwords do not match"));
        }
    }
    nonempty(pw.into_bytes(), "the terminal")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cmd(c: &str) -> Result<Vec<u8>> {
        Source::Command(c.into()).read()
    }

    #[test]
    fn a_command_gives_its_first_line() {
        assert_eq!(cmd("printf 'pw one\\r\\nsecond\\n'").unwrap(), b"pw one");
        assert_eq!(cmd("printf pw").unwrap(), b"pw");
        assert_eq!(cmd("echo ' spaced '").unwrap(), b" spaced ");
    }

    #[test]
    fn a_failing_or_silent_command_is_refused_without_its_output() {
        let e = cmd("echo hunter2; exit 3").unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Io);
        assert!(!e.to_string().contains("hunter2"), "{e}");
        assert!(!e.to_string().contains("echo"), "{e}");
        let e = cmd("true").unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidInput);
        assert!(e.to_string().contains("empty"), "{e}");
        let e = cmd("head -c 100000 /dev/zero").unwrap_err();
        assert!(e.to_string().contains("more than"), "{e}");
        let e = cmd("yes").unwrap_err();
        assert!(e.to_string().contains("more than"), "{e}");
    }
}
