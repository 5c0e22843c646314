//! Asking on the terminal for export volumes that are not at hand
//! (`cairn restore -r export:DIR` without `--volumes-at`).
//!
//! Invariant: the question goes to stderr and the answer comes from
//! stdin, which the caller checked is a terminal; stopping is an error of
//! kind `VolumesMissing` naming what was still needed.

use cairn_engine::{Error, ErrorKind, Result};
use std::io::BufRead;
use std::path::PathBuf;

/// Ask for `missing` volumes; returns a directory to look in (or none:
/// look again where we looked before).
pub fn ask(missing: &[String]) -> Result<Vec<PathBuf>> {
    crate::errln!("cairn: this needs export volumes that are not at hand:");
    for m in missing {
        crate::errln!("  {}", crate::output::esc(m));
    }
    eprint!("Insert or mount them, then type the directory that holds them (Enter: look again; q: stop): ");
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .map_err(|e| Error::from_io("reading the answer", e))?;
    let answer = line.trim();
    if line.is_empty() || answer == "q" {
        return Err(Error::new(
            ErrorKind::VolumesMissing,
            format!("stopped; still needed: {}", missing.join(", ")),
        ));
    }
    Ok(if answer.is_empty() {
        Vec::new()
    } else {
        vec![PathBuf::from(answer)]
    })
}
