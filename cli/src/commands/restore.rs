//! `cairn restore SNAPSHOT --target DIR`.

use super::{Ctx, Resolved};
use crate::args::RestoreArgs;
use crate::output::{bytes, count, esc};
use cairn_engine::ops::restore::mongodb::MongoRestoreOptions;
use cairn_engine::{RestoreOptions, RestorePatterns, Result};

/// Run `restore`.
pub fn run(ctx: &Ctx, args: &RestoreArgs) -> Result<i32> {
    if let Some(uri) = &args.to {
        return to_mongodb(ctx, args, uri);
    }
    let target = args
        .target
        .clone()
        .ok_or_else(|| cairn_engine::Error::invalid("give --target DIR or --to mongodb://..."))?;
    let bytes_of = |v: &[std::ffi::OsString]| -> Vec<Vec<u8>> {
        use std::os::unix::ffi::OsStrExt;
        v.iter().map(|p| p.as_bytes().to_vec()).collect()
    };
    let opts = RestoreOptions {
        target: target.clone(),
        includes: bytes_of(&args.includes),
        excludes: bytes_of(&args.excludes),
    };
    // Validate patterns and filters before asking for a password.
    RestorePatterns::new(&opts.includes)?;
    RestorePatterns::new(&opts.excludes)?;
    args.filter.to_engine()?;
    let repo = ctx.open()?;
    let r = Resolved::find(&repo, &args.snapshot, &args.filter)?;
    let id = r.id;
    let progress = ctx.out.progress("restore");
    let result =
        cairn_engine::ops::restore::restore_snapshot(&repo, &id, &r.snap, &opts, &progress);
    progress.finish();
    let s = result.map_err(|e| r.explain(e))?;
    let secs = s.duration_secs;
    for w in &s.warnings {
        if !ctx.out.quiet {
            crate::errln!("warning: {}", esc(w));
        }
    }
    if ctx.out.json {
        crate::output::print_report(&s);
    } else {
        ctx.out.info(&format!(
            "restored snapshot {} to {}: {}, {}, {}, {} in {:.2}s",
            id.short(),
            target.display(),
            count(s.files, "file", "files"),
            count(s.dirs, "directory", "directories"),
            count(s.others, "other entry", "other entries"),
            bytes(s.bytes),
            secs
        ));
    }
    Ok(crate::exit::OK)
}

fn to_mongodb(ctx: &Ctx, args: &RestoreArgs, uri: &str) -> Result<i32> {
    let mut rename_db = Vec::new();
    for r in &args.rename_db {
        let (old, new) = r
            .split_once('=')
            .filter(|(o, n)| !o.is_empty() && !n.is_empty())
            .ok_or_else(|| {
                cairn_engine::Error::invalid(format!("--rename-db '{r}': use OLD=NEW"))
            })?;
        rename_db.push((old.to_owned(), new.to_owned()));
    }
    let opts = MongoRestoreOptions {
        connect: super::mongo_args::connect(uri, args.mongo_timeout)?,
        dbs: args.dbs.clone(),
        collections: args.collections.clone(),
        rename_db,
        drop: args.drop,
    };
    let repo = ctx.open()?;
    let r = Resolved::find(&repo, &args.snapshot, &args.filter)?;
    let id = r.id;
    let progress = ctx.out.progress("restore");
    let result =
        cairn_engine::ops::restore::restore_to_mongodb(&repo, &id, &r.snap, &opts, &progress);
    progress.finish();
    let report = result.map_err(|e| r.explain(e))?;
    let (outcomes, failed) = (&report.collections, report.failed);
    if ctx.out.json {
        crate::output::print_report(&report);
    } else {
        for o in outcomes {
            match &o.error {
                None => ctx.out.info(&format!(
                    "  {} -> {}: {} documents, {} indexes",
                    esc(&o.source),
                    esc(&o.target),
                    o.inserted,
                    o.indexes
                )),
                Some(e) => crate::errln!(
                    "  {} -> {}: FAILED after {} of {} documents: {}",
                    esc(&o.source),
                    esc(&o.target),
                    o.inserted,
                    o.expected,
                    esc(e)
                ),
            }
        }
        ctx.out.info(&format!(
            "restored {} of {} collections from snapshot {} in {:.2}s",
            outcomes.len() - failed,
            outcomes.len(),
            id.short(),
            report.duration_secs
        ));
    }
    if failed > 0 {
        return Err(cairn_engine::Error::new(
            cairn_engine::ErrorKind::Io,
            format!("{failed} collection(s) failed to restore (see above); rerun with --drop to replace them"),
        ));
    }
    Ok(crate::exit::OK)
}

/// The examples `cairn restore --help` ends with (a test parses each).
pub const EXAMPLES: &str = "\
Examples:
  # Everything into a new directory
  cairn restore latest --target /tmp/restore
  # Only part of a snapshot, by ID prefix
  cairn restore 3fa9c2 --target /tmp/restore --include '/etc/nginx'
  # A MongoDB snapshot into a server, under another database name
  cairn restore latest --to 'mongodb://admin@db2.example/' --rename-db shop=shop_drill --drop";
