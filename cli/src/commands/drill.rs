//! `cairn drill`: restore to a temporary place, compare against the
//! snapshot's recorded hashes, write a JSON report, clean up.

use super::{Ctx, Resolved};
use crate::args::DrillArgs;
use crate::output::{esc, rfc3339};
use cairn_engine::{Error, ErrorKind, Result, Timestamp};
use serde_json::json;
use std::time::Instant;

/// Run `drill`.
pub fn run(ctx: &Ctx, args: &DrillArgs) -> Result<i32> {
    let repo = ctx.open()?;
    let Resolved { id, snap, .. } = Resolved::find(&repo, &args.snapshot, &args.filter)?;
    let progress = ctx.out.progress("drill");
    let start = Instant::now();
    let result = match (&args.to, snap.source.as_str()) {
        (Some(uri), "mongodb") => {
            let connect = super::mongo_args::connect(uri, args.mongo_timeout)?;
            cairn_engine::ops::drill::drill_mongodb(&repo, &snap, &connect, &progress)
        }
        (Some(_), _) => Err(Error::invalid(
            "--to is for MongoDB snapshots; this one holds files",
        )),
        (None, "mongodb") => Err(Error::invalid(
            "a MongoDB snapshot is drilled into a server: give --to mongodb://...",
        )),
        (None, _) => {
            let tmp = args.tmp_dir.clone().unwrap_or_else(std::env::temp_dir);
            cairn_engine::ops::drill::drill_files(&repo, &snap, &tmp, &progress)
        }
    };
    progress.finish();
    let secs = start.elapsed().as_secs_f64();
    let (status, report_json, outcome) = match result {
        Ok(r) => {
            let ok = r.mismatches.is_empty();
            (
                if ok { "ok" } else { "mismatch" },
                json!({"files": r.files, "bytes": r.bytes, "collections": r.collections,
                       "documents": r.documents, "mismatches": r.mismatches}),
                if ok {
                    Ok(())
                } else {
                    Err(Error::new(
                        ErrorKind::Corrupt,
                        format!("drill found {} mismatches", r.mismatches.len()),
                    ))
                },
            )
        }
        Err(e) => ("failed", json!({"error": e.to_string()}), Err(e)),
    };
    let mut report = json!({
        "snapshot_id": id.to_hex(),
        "source": snap.source,
        "status": status,
        "started": rfc3339(Timestamp::now()),
        "duration_secs": secs,
    });
    if let (Some(obj), Some(extra)) = (report.as_object_mut(), report_json.as_object()) {
        for (k, v) in extra {
            obj.insert(k.clone(), v.clone());
        }
    }
    if let Some(path) = &args.report {
        let mut text = serde_json::to_vec_pretty(&report).unwrap_or_default();
        text.push(b'\n');
        let tmp = path.with_extension("tmp");
        std::fs::write(&tmp, &text)
            .and_then(|_| std::fs::rename(&tmp, path))
            .map_err(|e| Error::io(format!("writing the drill report {}", path.display()), e))?;
    }
    if ctx.out.json {
        crate::output::print_json(&report);
    } else {
        ctx.out.info(&format!(
            "drill of snapshot {}: {status} in {secs:.2}s",
            id.short()
        ));
        if let Some(m) = report.get("mismatches").and_then(|m| m.as_array()) {
            for x in m {
                crate::errln!("mismatch: {}", esc(x.as_str().unwrap_or_default()));
            }
        }
    }
    outcome.map(|()| crate::exit::OK)
}
