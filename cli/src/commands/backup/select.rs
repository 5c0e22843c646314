//! `backup`'s selection flags, named and meant as in restic: which paths
//! to read (`--files-from`, `--files-from-verbatim`, `--files-from-raw`),
//! which entries to leave out (`--iexclude`, `--exclude-if-present`,
//! `--exclude-caches`, `--exclude-larger-than`) and when a file counts as
//! unchanged (`--force`, `--ignore-inode`, `--ignore-ctime`); `--dry-run`.
//!
//! Invariant: a path list that yields nothing is an error, never an empty
//! backup; `-` reads the list from standard input.

use crate::output::parse_size;
use cairn_engine::{Error, FileSelection, Result};
use clap::Args;
use std::ffi::OsString;
use std::io::Read;
use std::os::unix::ffi::OsStringExt;
use std::path::{Path, PathBuf};

/// Selection and change-detection flags of `backup`.
#[derive(Args, Debug, Default)]
pub struct SelectArgs {
    /// Like --exclude, ignoring the case of letters (repeatable).
    #[arg(long = "iexclude", value_name = "GLOB")]
    pub iexcludes: Vec<String>,
    /// Leave out the content of a directory holding a file NAME (keeping
    /// that file); with :HEADER only if the file starts with HEADER.
    #[arg(long = "exclude-if-present", value_name = "NAME[:HEADER]")]
    pub exclude_if_present: Vec<String>,
    /// Leave out the content of cache directories marked with a
    /// CACHEDIR.TAG (Cache Directory Tagging Specification), keeping the tag.
    #[arg(long)]
    pub exclude_caches: bool,
    /// Leave out files larger than SIZE (e.g. 500M, 2G; binary units).
    #[arg(long, value_name = "SIZE")]
    pub exclude_larger_than: Option<String>,
    /// Read paths to back up from FILE, one a line; blank lines and lines
    /// starting with # are skipped, globs are expanded ("-": stdin).
    #[arg(long = "files-from", value_name = "FILE")]
    pub files_from: Vec<PathBuf>,
    /// Read paths from FILE, one a line, taken literally (no comments, no
    /// globs; blank lines skipped).
    #[arg(long = "files-from-verbatim", value_name = "FILE")]
    pub files_from_verbatim: Vec<PathBuf>,
    /// Read paths from FILE separated by NUL bytes, as `find -print0`
    /// writes them.
    #[arg(long = "files-from-raw", value_name = "FILE")]
    pub files_from_raw: Vec<PathBuf>,
    /// Read every file again: use no parent snapshot.
    #[arg(short = 'f', long)]
    pub force: bool,
    /// A changed inode number (or ctime) does not make a file changed
    /// (for file systems without stable inodes, such as some FUSE mounts).
    #[arg(long)]
    pub ignore_inode: bool,
    /// A changed ctime does not make a file changed.
    #[arg(long)]
    pub ignore_ctime: bool,
    /// Read and chunk everything and report what would be added; store
    /// nothing (no lock, no data, no snapshot).
    #[arg(short = 'n', long)]
    pub dry_run: bool,
}

impl SelectArgs {
    /// The engine's file selection, with the exclude patterns given.
    pub fn selection(&self, excludes: Vec<String>) -> Result<FileSelection> {
        Ok(FileSelection {
            excludes,
            iexcludes: self.iexcludes.clone(),
            exclude_if_present: self.exclude_if_present.clone(),
            exclude_caches: self.exclude_caches,
            exclude_larger_than: self
                .exclude_larger_than
                .as_deref()
                .map(|s| parse_size(s).map_err(|e| e.context("--exclude-larger-than")))
                .transpose()?,
            ignore_inode: self.ignore_inode,
            ignore_ctime: self.ignore_ctime,
            ..FileSelection::default()
        })
    }

    /// Every path named by the --files-from flags, in the order given.
    /// A glob that matches nothing is skipped with a warning, as in restic.
    pub fn listed_paths(&self) -> Result<Vec<PathBuf>> {
        let mut out = Vec::new();
        for f in &self.files_from {
            for line in lines(&read_list(f)?, b'\n') {
                let line = trim_cr(line);
                if line.is_empty() || line.starts_with(b"#") {
                    continue;
                }
                out.extend(expand(f, line)?);
            }
        }
        for f in &self.files_from_verbatim {
            let text = read_list(f)?;
            out.extend(
                lines(&text, b'\n')
                    .map(trim_cr)
                    .filter(|l| !l.is_empty())
                    .map(path),
            );
        }
        for f in &self.files_from_raw {
            let text = read_list(f)?;
            out.extend(lines(&text, 0).filter(|l| !l.is_empty()).map(path));
        }
        Ok(out)
    }

    /// Were paths asked for through a list file?
    pub fn has_lists(&self) -> bool {
        !(self.files_from.is_empty()
            && self.files_from_verbatim.is_empty()
            && self.files_from_raw.is_empty())
    }
}

fn read_list(f: &Path) -> Result<Vec<u8>> {
    let mut buf = Vec::new();
    let res = if f == Path::new("-") {
        std::io::stdin().lock().read_to_end(&mut buf).map(|_| ())
    } else {
        std::fs::File::open(f).and_then(|mut h| h.read_to_end(&mut buf).map(|_| ()))
    };
    res.map_err(|e| Error::io(format!("reading the path list {}", f.display()), e))?;
    Ok(buf)
}

fn lines(text: &[u8], sep: u8) -> impl Iterator<Item = &[u8]> {
    text.split(move |b| *b == sep)
}

fn trim_cr(l: &[u8]) -> &[u8] {
    l.strip_suffix(b"\r").unwrap_or(l)
}

fn path(l: &[u8]) -> PathBuf {
    PathBuf::from(OsString::from_vec(l.to_vec()))
}

/// A `--files-from` line: a glob is expanded (matches sorted); one that
/// matches nothing is skipped with a warning; a line that is not UTF-8
/// and holds glob characters is an error naming the list.
fn expand(list: &Path, line: &[u8]) -> Result<Vec<PathBuf>> {
    if !line.iter().any(|b| matches!(b, b'*' | b'?' | b'[')) {
        return Ok(vec![path(line)]);
    }
    let shown = String::from_utf8_lossy(line).into_owned();
    let pattern = std::str::from_utf8(line).map_err(|_| {
        Error::invalid(format!(
            "{}: pattern '{shown}' is not UTF-8",
            list.display()
        ))
    })?;
    let found: Vec<PathBuf> = glob::glob(pattern)
        .map_err(|e| Error::invalid(format!("{}: pattern '{shown}': {}", list.display(), e.msg)))?
        .filter_map(std::result::Result::ok)
        .collect();
    if found.is_empty() {
        crate::errln!(
            "warning: {}: pattern '{}' matches no file, skipped",
            list.display(),
            crate::output::esc(&shown)
        );
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_three_list_formats() {
        let d = tempfile::tempdir().unwrap();
        for n in ["a.txt", "b.txt", "c.log"] {
            std::fs::write(d.path().join(n), n).unwrap();
        }
        let dir = d.path().to_str().unwrap();
        let plain = d.path().join("plain");
        std::fs::write(&plain, format!("# comment\n\n{dir}/*.txt\r\n{dir}/c.log\n")).unwrap();
        let verbatim = d.path().join("verbatim");
        std::fs::write(&verbatim, format!("{dir}/#odd\n\n{dir}/*.txt\n")).unwrap();
        let raw = d.path().join("raw");
        std::fs::write(&raw, format!("{dir}/new\nline\0{dir}/c.log\0")).unwrap();
        let args = SelectArgs {
            files_from: vec![plain],
            files_from_verbatim: vec![verbatim],
            files_from_raw: vec![raw],
            ..SelectArgs::default()
        };
        let got: Vec<String> = args
            .listed_paths()
            .unwrap()
            .iter()
            .map(|p| p.to_str().unwrap().strip_prefix(dir).unwrap().to_owned())
            .collect();
        assert_eq!(
            got,
            [
                "/a.txt",
                "/b.txt",
                "/c.log",
                "/#odd",
                "/*.txt",
                "/new\nline",
                "/c.log"
            ]
        );
        let none = d.path().join("none");
        std::fs::write(&none, format!("{dir}/*.zip\n")).unwrap();
        let skipped = SelectArgs {
            files_from: vec![none],
            ..SelectArgs::default()
        };
        assert!(skipped.listed_paths().unwrap().is_empty());
    }
}
