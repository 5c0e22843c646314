//! The MongoDB recovery drill: restore a MongoDB snapshot into temporary
//! databases, read each collection back in dump order, compare its BLAKE3
//! and document count with the manifest, and drop the databases again.

use super::DrillReport;
use crate::error::Result;
use crate::format::snapshot::Snapshot;
use crate::ops::restore::mongodb::{restore_mongodb, MongoRestoreOptions};
use crate::progress::{check_interrupt, Progress};
use crate::repo::browse::load_manifest;
use crate::repo::Repository;
use crate::source::mongodb::MongoConnect;

/// Drill a MongoDB snapshot through temporary databases on `connect`'s
/// server (named `cairn_drill_<random>_<db>`), dropped afterwards.
pub fn drill_mongodb(
    repo: &Repository,
    snap: &Snapshot,
    connect: &MongoConnect,
    progress: &dyn Progress,
) -> Result<DrillReport> {
    use mongodb::bson::{doc, RawDocumentBuf};
    let manifest = load_manifest(repo, snap)?;
    let mut rnd = [0u8; 4];
    crate::crypto::random_bytes(&mut rnd)?;
    let tag = crate::id::hex_encode(&rnd);
    let mut dbs: Vec<String> = manifest.collections.iter().map(|c| c.db.clone()).collect();
    dbs.sort();
    dbs.dedup();
    let rename: Vec<(String, String)> = dbs
        .iter()
        .map(|d| (d.clone(), format!("cairn_drill_{tag}_{d}")))
        .collect();
    let opts = MongoRestoreOptions {
        connect: connect.clone(),
        dbs: Vec::new(),
        collections: Vec::new(),
        rename_db: rename.clone(),
        drop: true,
    };
    let client = connect.connect()?;
    let result = (|| {
        let outcomes = restore_mongodb(repo, snap, &opts, progress)?;
        let mut report = DrillReport::default();
        for o in &outcomes {
            if let Some(e) = &o.error {
                report
                    .mismatches
                    .push(format!("{}: restore failed: {e}", o.source));
            }
        }
        for c in manifest.collections.iter().filter(|c| c.kind != "view") {
            check_interrupt()?;
            let target = rename
                .iter()
                .find(|(o, _)| *o == c.db)
                .map(|(_, n)| n.clone())
                .unwrap_or_default();
            let coll = client
                .database(&target)
                .collection::<RawDocumentBuf>(&c.name);
            let mut find = coll.find(doc! {});
            if c.kind == "collection" {
                find = find.sort(doc! {"_id": 1});
            }
            let mut cur = find.run().map_err(|e| connect.error("reading back", e))?;
            let mut h = blake3::Hasher::new();
            let mut n = 0u64;
            while cur
                .advance()
                .map_err(|e| connect.error("reading back", e))?
            {
                h.update(cur.current().as_bytes());
                n += 1;
            }
            report.collections += 1;
            report.documents += n;
            if n != c.count || h.finalize().to_hex().as_str() != c.blake3 {
                report.mismatches.push(format!(
                    "{}.{}: {n} documents read back, {} recorded, or their bytes differ",
                    c.db, c.name, c.count
                ));
            }
        }
        Ok(report)
    })();
    for (_, tmp) in &rename {
        let _ = client.database(tmp).drop().run();
    }
    result
}
