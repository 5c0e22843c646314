//! Where the repository password comes from, in order: `--password-file` /
//! `CAIRN_PASSWORD_FILE`, `CAIRN_PASSWORD_COMMAND` (run by `sh -c`, its
//! standard output), `CAIRN_PASSWORD`, then a prompt on the terminal.
//!
//! Invariant: the password is never a flag value, never logged, never part
//! of an error message.

use cairn_engine::{Error, ErrorKind, Result};
use std::io::IsTerminal;
use std::path::Path;

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
        let v = std::fs::read(p)
            .map_err(|e| Error::io(format!("reading password file {}", p.display()), e))?;
        return nonempty(strip_newline(v), "the password file");
    }
    if let Some(cmd) = std::env::var_os("CAIRN_PASSWORD_COMMAND").filter(|c| !c.is_empty()) {
        let out = std::process::Command::new("sh")
            .arg("-c")
            .arg(&cmd)
            .stderr(std::process::Stdio::inherit())
            .output()
            .map_err(|e| Error::io("running CAIRN_PASSWORD_COMMAND", e))?;
        if !out.status.success() {
            return Err(Error::invalid(format!(
                "CAIRN_PASSWORD_COMMAND failed ({})",
                out.status
            )));
        }
        return nonempty(strip_newline(out.stdout), "CAIRN_PASSWORD_COMMAND");
    }
    if let Some(p) = std::env::var_os("CAIRN_PASSWORD").filter(|p| !p.is_empty()) {
        use std::os::unix::ffi::OsStrExt;
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
