//! Where the repository password comes from, in order: `--password-file` /
//! `CAIRN_PASSWORD_FILE`, `CAIRN_PASSWORD_COMMAND` (run by `sh -c`, its
//! standard output), `CAIRN_PASSWORD`, then a prompt on the terminal.
//!
//! Invariant: the password is never a flag value, never logged, never part
//! of an error message. No source is read past [`MAX_PASSWORD`] bytes, so a
//! wrong path (`/dev/zero`) or a runaway command cannot exhaust memory.

use cairn_engine::{Error, ErrorKind, Result};
use std::io::{IsTerminal, Read};
use std::path::Path;

/// The longest password accepted from a file or command, in bytes.
pub const MAX_PASSWORD: u64 = 4096;

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

/// Run `cmd` with `sh -c` and read its standard output (bounded; a command
/// that prints too much is killed).
fn run_command(cmd: &std::ffi::OsStr) -> Result<Vec<u8>> {
    let what = "CAIRN_PASSWORD_COMMAND";
    let mut child = std::process::Command::new("sh")
        .arg("-c")
        .arg(cmd)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::inherit())
        .spawn()
        .map_err(|e| Error::io(format!("running {what}"), e))?;
    let out = match child.stdout.take() {
        Some(o) => read_bounded(o, &format!("the output of {what}")),
        None => Err(Error::invalid(format!("{what}: no output"))),
    };
    if out.is_err() {
        let _ = child.kill();
    }
    let status = child
        .wait()
        .map_err(|e| Error::io(format!("running {what}"), e))?;
    let out = out?;
    if !status.success() {
        return Err(Error::invalid(format!("{what} failed ({status})")));
    }
    Ok(out)
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

/// Obtain the password; `confirm` asks twice on a terminal (for `init`).
pub fn get(password_file: Option<&Path>, confirm: bool) -> Result<Vec<u8>> {
    if let Some(p) = password_file {
        return nonempty(read_file(p, "password file")?, "the password file");
    }
    if let Some(cmd) = std::env::var_os("CAIRN_PASSWORD_COMMAND").filter(|c| !c.is_empty()) {
        return nonempty(run_command(&cmd)?, "CAIRN_PASSWORD_COMMAND");
    }
    if let Some(p) = std::env::var_os("CAIRN_PASSWORD").filter(|p| !p.is_empty()) {
        use std::os::unix::ffi::OsStrExt;
        if p.len() as u64 > MAX_PASSWORD {
            return Err(Error::invalid(format!(
                "CAIRN_PASSWORD is longer than {MAX_PASSWORD} bytes"
            )));
        }
        return Ok(p.as_bytes().to_vec());
    }
    if !std::io::stdin().is_terminal() && !std::io::stderr().is_terminal() {
        return Err(Error::new(
            ErrorKind::InvalidInput,
            "no password given: set CAIRN_PASSWORD_FILE, CAIRN_PASSWORD_COMMAND or CAIRN_PASSWORD, or run on a terminal",
        ));
    }
    let first = rpassword::prompt_password("repository password: ")
        .map_err(|e| Error::io("reading the password from the terminal", e))?;
    if confirm {
        let again = rpassword::prompt_password("repeat password: ")
            .map_err(|e| Error::io("reading the password from the terminal", e))?;
        if again != first {
            return Err(Error::invalid("the passwords do not match"));
        }
    }
    nonempty(first.into_bytes(), "the terminal")
}
