//! `cairn restore SNAPSHOT --to mongodb://...`: load a MongoDB snapshot
//! into a server.
//!
//! Per collection: drop it first with `--drop` (otherwise refuse to touch a
//! non-empty one), create it with its recorded options, insert its
//! documents in ordered batches, then build its indexes; views are created
//! last. Collections are restored in parallel. Each collection's outcome is
//! reported separately; a failure names the collection and how many
//! documents it received, so nothing is left silently half-restored.

use crate::error::{Error, ErrorKind, Result};
use crate::format::mongodb::encode_name;
use crate::format::mongodb::next_document;
use crate::format::mongodb::CollectionEntry;
use crate::format::snapshot::Snapshot;
use crate::progress::{check_interrupt, Progress};
use crate::repo::browse::{find, load_manifest, read_file, ContentReader, Found};
use crate::repo::Repository;
use crate::source::mongodb::MongoConnect;
use mongodb::bson::{doc, Bson, Document, RawDocumentBuf};
use mongodb::sync::Client;
use rayon::prelude::*;

/// What to restore where.
#[derive(Clone, Debug)]
pub struct MongoRestoreOptions {
    /// The target server.
    pub connect: MongoConnect,
    /// Only these databases (snapshot names).
    pub dbs: Vec<String>,
    /// Only these collections (`name` or `db.name`).
    pub collections: Vec<String>,
    /// Database renames `(old, new)`.
    pub rename_db: Vec<(String, String)>,
    /// Drop existing collections first.
    pub drop: bool,
}

/// The result for one collection.
#[derive(Clone, Debug, serde::Serialize)]
pub struct CollectionOutcome {
    /// Source `db.name` in the snapshot.
    pub source: String,
    /// Target `db.name` on the server.
    pub target: String,
    /// Documents inserted.
    pub inserted: u64,
    /// Documents recorded in the snapshot.
    pub expected: u64,
    /// Indexes created (besides `_id`).
    pub indexes: u64,
    /// `None` on success, else what went wrong.
    pub error: Option<String>,
}

fn ext_doc(v: &serde_json::Value) -> Result<Document> {
    match Bson::try_from(v.clone()) {
        Ok(Bson::Document(d)) => Ok(d),
        _ => Err(Error::corrupt("metadata.json holds invalid Extended JSON")),
    }
}

struct Meta {
    options: Document,
    indexes: Vec<Document>,
}

fn load_meta(repo: &Repository, snap: &Snapshot, c: &CollectionEntry) -> Result<Meta> {
    let path = format!(
        "/{}/{}.metadata.json",
        encode_name(&c.db),
        encode_name(&c.name)
    );
    let v: serde_json::Value = serde_json::from_slice(&read_file(repo, snap, &path)?)
        .map_err(|e| Error::corrupt(format!("{path}: {e}")))?;
    let options = v
        .get("options")
        .map(ext_doc)
        .transpose()?
        .unwrap_or_default();
    let indexes = match v.get("indexes").and_then(|i| i.as_array()) {
        Some(a) => a.iter().map(ext_doc).collect::<Result<Vec<_>>>()?,
        None => Vec::new(),
    };
    Ok(Meta { options, indexes })
}

fn restore_one(
    repo: &Repository,
    snap: &Snapshot,
    client: &Client,
    opts: &MongoRestoreOptions,
    c: &CollectionEntry,
    target_db: &str,
    progress: &dyn Progress,
) -> std::result::Result<(u64, u64), (u64, String)> {
    let conn = &opts.connect;
    let fail = |n: u64, e: Error| (n, e.message().to_owned());
    let meta = load_meta(repo, snap, c).map_err(|e| fail(0, e))?;
    let db = client.database(target_db);
    let existing = db
        .list_collection_names()
        .run()
        .map_err(|e| fail(0, conn.error("listing collections", e)))?;
    if existing.contains(&c.name) {
        if opts.drop {
            db.collection::<Document>(&c.name)
                .drop()
                .run()
                .map_err(|e| fail(0, conn.error("dropping", e)))?;
        } else if c.kind == "view"
            || db
                .collection::<Document>(&c.name)
                .estimated_document_count()
                .run()
                .unwrap_or(1)
                > 0
        {
            return Err((
                0,
                format!(
                    "{target_db}.{} already exists and is not empty; use --drop to replace it",
                    c.name
                ),
            ));
        }
    }
    let mut create = doc! {"create": &c.name};
    create.extend(meta.options.clone());
    if let Err(e) = db.run_command(create).run() {
        // An empty, existing collection (no --drop) is fine to fill.
        if !existing.contains(&c.name) || opts.drop {
            return Err(fail(0, conn.error("creating the collection", e)));
        }
    }
    let mut inserted = 0u64;
    if c.kind != "view" {
        let path = format!("/{}/{}.bson", encode_name(&c.db), encode_name(&c.name));
        let node = match find(repo, snap, path.as_bytes()).map_err(|e| fail(0, e))? {
            Found::Node(n) => n,
            Found::Root(_) => return Err((0, format!("{path} missing"))),
        };
        let mut reader = ContentReader::new(repo, &node);
        let coll = db.collection::<RawDocumentBuf>(&c.name);
        let mut batch: Vec<RawDocumentBuf> = Vec::new();
        let mut batch_bytes = 0usize;
        loop {
            check_interrupt().map_err(|e| fail(inserted, e))?;
            let next = next_document(&mut reader).map_err(|e| fail(inserted, e))?;
            let flush = match &next {
                None => !batch.is_empty(),
                Some(d) => {
                    !batch.is_empty() && (batch_bytes + d.len() > 8 << 20 || batch.len() >= 1000)
                }
            };
            if flush {
                let n = batch.len() as u64;
                coll.insert_many(std::mem::take(&mut batch))
                    .run()
                    .map_err(|e| fail(inserted, conn.error("inserting documents", e)))?;
                inserted += n;
                batch_bytes = 0;
            }
            match next {
                None => break,
                Some(d) => {
                    progress.bytes(d.len() as u64);
                    batch_bytes += d.len();
                    let raw = RawDocumentBuf::from_bytes(d).map_err(|e| {
                        fail(
                            inserted,
                            Error::corrupt(format!("invalid BSON document: {e}")),
                        )
                    })?;
                    batch.push(raw);
                }
            }
        }
    }
    let specs: Vec<Document> = meta
        .indexes
        .into_iter()
        .filter(|i| i.get_str("name") != Ok("_id_"))
        .collect();
    let n_ix = specs.len() as u64;
    if !specs.is_empty() {
        db.run_command(doc! {"createIndexes": &c.name, "indexes": specs})
            .run()
            .map_err(|e| fail(inserted, conn.error("creating indexes", e)))?;
    }
    Ok((inserted, n_ix))
}

/// Restore a MongoDB snapshot into a server. Returns one outcome per
/// collection; the caller decides the exit status.
pub fn restore_mongodb(
    repo: &Repository,
    snap: &Snapshot,
    opts: &MongoRestoreOptions,
    progress: &dyn Progress,
) -> Result<Vec<CollectionOutcome>> {
    let manifest = load_manifest(repo, snap)?;
    let selected: Vec<CollectionEntry> = manifest
        .collections
        .into_iter()
        .filter(|c| opts.dbs.is_empty() || opts.dbs.contains(&c.db))
        .filter(|c| {
            opts.collections.is_empty()
                || opts
                    .collections
                    .iter()
                    .any(|p| *p == c.name || *p == format!("{}.{}", c.db, c.name))
        })
        .collect();
    if selected.is_empty() {
        return Err(Error::new(
            ErrorKind::NotFound,
            "no collection in the snapshot matches --db/--collection",
        ));
    }
    let client = opts.connect.connect()?;
    let target_of = |db: &str| -> String {
        opts.rename_db
            .iter()
            .find(|(old, _)| old == db)
            .map(|(_, new)| new.clone())
            .unwrap_or_else(|| db.to_owned())
    };
    let run = |c: &CollectionEntry| -> CollectionOutcome {
        let target_db = target_of(&c.db);
        progress.file(std::path::Path::new(&format!("{}.{}", c.db, c.name)));
        let r = restore_one(repo, snap, &client, opts, c, &target_db, progress);
        let (inserted, indexes, error) = match r {
            Ok((n, ix)) => (n, ix, None),
            Err((n, e)) => (n, 0, Some(e)),
        };
        CollectionOutcome {
            source: format!("{}.{}", c.db, c.name),
            target: format!("{target_db}.{}", c.name),
            inserted,
            expected: c.count,
            indexes,
            error,
        }
    };
    // Collections in parallel; views afterwards (they name collections).
    let (views, colls): (Vec<_>, Vec<_>) = selected.into_iter().partition(|c| c.kind == "view");
    let mut out: Vec<CollectionOutcome> = colls.par_iter().map(run).collect();
    out.extend(views.iter().map(run));
    Ok(out)
}
