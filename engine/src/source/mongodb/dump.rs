//! `cairn backup mongodb://...`: dump databases into a snapshot.
//!
//! Metadata (collections, options, indexes) is read first, then each
//! collection's documents are streamed as raw BSON through the normal
//! backup pipeline. Consistency:
//!
//! * `transaction` — every collection is read inside one multi-document
//!   transaction with read concern `snapshot`: one point in time for the
//!   whole dump (replica sets; a real server limits the dump to its
//!   `transactionLifetimeLimitSeconds`);
//! * `snapshot` — a causally consistent snapshot session (`atClusterTime`
//!   reads, MongoDB ≥ 5.0), one point in time without the transaction limit
//!   but within `minSnapshotHistoryWindowInSeconds`;
//! * `per-collection` — each collection is read with one cursor, consistent
//!   on its own (standalone servers).
//!
//! `auto` picks `transaction` on replica sets and `per-collection`
//! otherwise. The manifest records which applied.

use super::conn::{mask_uri, MongoConnect};
use crate::error::{Error, Result};
use crate::format::mongodb::encode_name;
use crate::format::mongodb::{CollectionEntry, Manifest, MANIFEST_NAME};
use crate::format::tree::Tree;
use crate::progress::check_interrupt;
use crate::source::stream::StreamNodes;
use crate::source::{BuildContext, Sink, Source};
use mongodb::bson::{doc, Bson, Document, RawDocumentBuf};
use mongodb::options::ReadConcern;
use mongodb::sync::{Client, ClientSession, Database};
use std::io::Read;

/// Which read-isolation mechanism a dump uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Consistency {
    /// `transaction` on replica sets, `per-collection` otherwise.
    Auto,
    /// One snapshot transaction for the whole dump.
    Transaction,
    /// One snapshot session (atClusterTime reads).
    Snapshot,
    /// Each collection by itself.
    PerCollection,
}

impl Consistency {
    /// Parse the CLI spelling.
    pub fn parse(s: &str) -> Result<Self> {
        Ok(match s {
            "auto" => Consistency::Auto,
            "transaction" => Consistency::Transaction,
            "snapshot" => Consistency::Snapshot,
            "per-collection" => Consistency::PerCollection,
            _ => {
                return Err(Error::invalid(format!(
                    "--consistency '{s}': use auto, transaction, snapshot or per-collection"
                )))
            }
        })
    }

    fn name(self) -> &'static str {
        match self {
            Consistency::Auto => "auto",
            Consistency::Transaction => "transaction",
            Consistency::Snapshot => "snapshot",
            Consistency::PerCollection => "per-collection",
        }
    }
}

/// What to dump.
#[derive(Clone, Debug)]
pub struct DumpOptions {
    /// The server.
    pub connect: MongoConnect,
    /// Only these databases (default: all but admin, local, config).
    pub dbs: Vec<String>,
    /// Only these collections (`name` or `db.name`).
    pub collections: Vec<String>,
    /// Never these collections (`name` or `db.name`).
    pub exclude_collections: Vec<String>,
    /// Isolation mechanism.
    pub consistency: Consistency,
}

struct Planned {
    db: String,
    name: String,
    kind: String,
    options: Document,
    uuid: Option<String>,
    indexes: Vec<Document>,
    capped: bool,
}

fn matches(list: &[String], db: &str, name: &str) -> bool {
    list.iter()
        .any(|p| p == name || *p == format!("{db}.{name}"))
}

/// Run a command that returns a cursor and collect every document.
fn command_cursor(conn: &MongoConnect, db: &Database, cmd: Document) -> Result<Vec<Document>> {
    let what = "listing";
    let mut reply = db.run_command(cmd).run().map_err(|e| conn.error(what, e))?;
    let mut out = Vec::new();
    loop {
        let cursor = reply
            .get_document("cursor")
            .map_err(|_| Error::invalid("server reply has no cursor"))?;
        let batch = cursor
            .get_array("firstBatch")
            .or_else(|_| cursor.get_array("nextBatch"))
            .map_err(|_| Error::invalid("server reply has no batch"))?;
        out.extend(batch.iter().filter_map(|b| b.as_document().cloned()));
        let id = cursor.get_i64("id").unwrap_or(0);
        if id == 0 {
            return Ok(out);
        }
        let coll = cursor
            .get_str("ns")
            .ok()
            .and_then(|ns| ns.split_once('.'))
            .map(|(_, c)| c.to_owned())
            .unwrap_or_default();
        reply = db
            .run_command(doc! {"getMore": id, "collection": coll})
            .run()
            .map_err(|e| conn.error(what, e))?;
    }
}

fn plan(client: &Client, d: &DumpOptions) -> Result<Vec<Planned>> {
    let conn = &d.connect;
    let mut dbs = client
        .list_database_names()
        .run()
        .map_err(|e| conn.error("listing databases", e))?;
    dbs.retain(|n| {
        if d.dbs.is_empty() {
            !matches!(n.as_str(), "admin" | "local" | "config")
        } else {
            d.dbs.contains(n)
        }
    });
    dbs.sort();
    for want in &d.dbs {
        if !dbs.contains(want) {
            return Err(Error::new(
                crate::ErrorKind::NotFound,
                format!("database '{want}' does not exist on the server"),
            ));
        }
    }
    let mut out = Vec::new();
    for db_name in dbs {
        let db = client.database(&db_name);
        let mut specs = command_cursor(conn, &db, doc! {"listCollections": 1})?;
        specs.sort_by(|a, b| {
            a.get_str("name")
                .unwrap_or("")
                .cmp(b.get_str("name").unwrap_or(""))
        });
        for spec in specs {
            let name = spec.get_str("name").unwrap_or_default().to_owned();
            if name.is_empty() || (name.starts_with("system.") && name != "system.js") {
                continue;
            }
            if !d.collections.is_empty() && !matches(&d.collections, &db_name, &name) {
                continue;
            }
            if matches(&d.exclude_collections, &db_name, &name) {
                continue;
            }
            let kind = spec.get_str("type").unwrap_or("collection").to_owned();
            let options = spec.get_document("options").cloned().unwrap_or_default();
            let capped = options.get_bool("capped").unwrap_or(false);
            let uuid = spec
                .get_document("info")
                .ok()
                .and_then(|i| match i.get("uuid") {
                    Some(Bson::Binary(b)) => Some(crate::id::hex_encode(&b.bytes)),
                    _ => None,
                });
            let indexes = if kind == "view" {
                Vec::new()
            } else {
                let mut ix = command_cursor(conn, &db, doc! {"listIndexes": &name})?;
                for i in &mut ix {
                    i.remove("ns");
                }
                ix
            };
            out.push(Planned {
                db: db_name.clone(),
                name,
                kind,
                options,
                uuid,
                indexes,
                capped,
            });
        }
    }
    Ok(out)
}

/// mongodump-compatible `.metadata.json` (canonical Extended JSON v2).
fn metadata_json(p: &Planned) -> Vec<u8> {
    let ext = |d: &Document| Bson::Document(d.clone()).into_canonical_extjson();
    let mut v = serde_json::json!({
        "indexes": p.indexes.iter().map(ext).collect::<Vec<_>>(),
        "collectionName": p.name,
        "type": p.kind,
        "options": ext(&p.options),
    });
    if let (Some(u), Some(obj)) = (&p.uuid, v.as_object_mut()) {
        obj.insert("uuid".into(), serde_json::Value::String(u.clone()));
    }
    let mut out = serde_json::to_vec(&v).unwrap_or_default();
    out.push(b'\n');
    out
}

enum Cur<'s> {
    Plain(mongodb::sync::Cursor<RawDocumentBuf>),
    Session(
        mongodb::sync::SessionCursor<RawDocumentBuf>,
        &'s mut ClientSession,
    ),
}

/// Raw documents of one cursor as a byte stream, counted and hashed.
struct DocReader<'s, 'c> {
    cur: Cur<'s>,
    conn: &'c MongoConnect,
    what: String,
    pending: Vec<u8>,
    pos: usize,
    done: bool,
    count: u64,
    bytes: u64,
    hasher: blake3::Hasher,
}

impl Read for DocReader<'_, '_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        loop {
            if self.pos < self.pending.len() {
                let n = buf.len().min(self.pending.len() - self.pos);
                buf[..n].copy_from_slice(&self.pending[self.pos..self.pos + n]);
                self.pos += n;
                return Ok(n);
            }
            if self.done {
                return Ok(0);
            }
            check_interrupt().map_err(std::io::Error::other)?;
            let more = match &mut self.cur {
                Cur::Plain(c) => c.advance(),
                Cur::Session(c, s) => c.advance(s),
            };
            let more = more.map_err(|e| {
                std::io::Error::other(self.conn.error(&format!("reading {}", self.what), e))
            })?;
            if !more {
                self.done = true;
                return Ok(0);
            }
            let raw = match &self.cur {
                Cur::Plain(c) => c.current().as_bytes(),
                Cur::Session(c, _) => c.current().as_bytes(),
            };
            self.pending.clear();
            self.pending.extend_from_slice(raw);
            self.pos = 0;
            self.count += 1;
            self.bytes += raw.len() as u64;
            self.hasher.update(raw);
        }
    }
}

fn server_facts(client: &Client, conn: &MongoConnect) -> Result<(String, String)> {
    let admin = client.database("admin");
    let hello = admin
        .run_command(doc! {"hello": 1})
        .run()
        .map_err(|e| conn.error("hello", e))?;
    let topology = if hello.get_str("setName").is_ok() {
        "replica-set"
    } else if hello.get_str("msg") == Ok("isdbgrid") {
        "sharded"
    } else {
        "standalone"
    };
    let info = admin
        .run_command(doc! {"buildInfo": 1})
        .run()
        .map_err(|e| conn.error("buildInfo", e))?;
    Ok((
        info.get_str("version").unwrap_or("unknown").to_owned(),
        topology.to_owned(),
    ))
}

/// The selected databases of one server, connected and planned: the
/// connection, the server facts and the list of collections are settled
/// before the backup takes its lock.
pub struct MongoSource {
    connect: MongoConnect,
    client: Client,
    server_version: String,
    topology: String,
    mode: Consistency,
    planned: Vec<Planned>,
}

impl MongoSource {
    /// Connect, learn the server's version and topology, settle the
    /// consistency mode and list what will be dumped.
    pub fn connect(d: &DumpOptions) -> Result<Self> {
        let conn = &d.connect;
        let client = conn.connect()?;
        let (server_version, topology) = server_facts(&client, conn)?;
        let mode = match (d.consistency, topology.as_str()) {
            (Consistency::Auto, "replica-set") => Consistency::Transaction,
            (Consistency::Auto, _) => Consistency::PerCollection,
            (c @ (Consistency::Transaction | Consistency::Snapshot), "standalone") => {
                return Err(Error::invalid(format!(
                    "--consistency {} needs a replica set; this server is standalone (use per-collection)",
                    c.name()
                )))
            }
            (c, _) => c,
        };
        let planned = plan(&client, d)?;
        Ok(MongoSource {
            connect: conn.clone(),
            client,
            server_version,
            topology,
            mode,
            planned,
        })
    }
}

impl Source for MongoSource {
    fn kind(&self) -> &'static str {
        "mongodb"
    }

    fn paths(&self) -> Vec<String> {
        vec![mask_uri(&self.connect.uri)]
    }

    fn build(&mut self, sink: &mut dyn Sink, ctx: &BuildContext<'_>) -> Result<Tree> {
        let mut sink = StreamNodes::new(sink, ctx);
        let sink = &mut sink;
        let (client, conn, mode, planned) = (&self.client, &self.connect, self.mode, &self.planned);
        let masked = mask_uri(&conn.uri);
        let mut session = match mode {
            Consistency::PerCollection | Consistency::Auto => None,
            Consistency::Transaction => {
                let mut s = client
                    .start_session()
                    .run()
                    .map_err(|e| conn.error("starting a session", e))?;
                s.start_transaction()
                    .read_concern(ReadConcern::snapshot())
                    .run()
                    .map_err(|e| conn.error("starting a snapshot transaction", e))?;
                Some(s)
            }
            Consistency::Snapshot => Some(
                client
                    .start_session()
                    .snapshot(true)
                    .run()
                    .map_err(|e| conn.error("starting a snapshot session", e))?,
            ),
        };
        let mut entries = Vec::new();
        let mut root = Vec::new();
        let mut i = 0;
        while i < planned.len() {
            let db_name = planned[i].db.clone();
            let mut nodes = Vec::new();
            while i < planned.len() && planned[i].db == db_name {
                let p = &planned[i];
                let what = format!("{}.{}", p.db, p.name);
                sink.progress().file(std::path::Path::new(&what));
                let fname = encode_name(&p.name);
                nodes.push(sink.file(
                    format!("{fname}.metadata.json").as_bytes(),
                    &metadata_json(p)[..],
                    &what,
                )?);
                let mut entry = CollectionEntry {
                    db: p.db.clone(),
                    name: p.name.clone(),
                    kind: p.kind.clone(),
                    count: 0,
                    bytes: 0,
                    blake3: blake3::hash(b"").to_hex().to_string(),
                };
                if p.kind != "view" {
                    let coll = client.database(&p.db).collection::<RawDocumentBuf>(&p.name);
                    let mut find = coll.find(doc! {});
                    if p.kind == "collection" && !p.capped {
                        find = find.sort(doc! {"_id": 1});
                    }
                    let cur = match session.as_mut() {
                        Some(s) => {
                            let c = find
                                .session(&mut *s)
                                .run()
                                .map_err(|e| conn.error(&format!("reading {what}"), e))?;
                            Cur::Session(c, s)
                        }
                        None => Cur::Plain(
                            find.run()
                                .map_err(|e| conn.error(&format!("reading {what}"), e))?,
                        ),
                    };
                    let mut reader = DocReader {
                        cur,
                        conn,
                        what: what.clone(),
                        pending: Vec::new(),
                        pos: 0,
                        done: false,
                        count: 0,
                        bytes: 0,
                        hasher: blake3::Hasher::new(),
                    };
                    nodes.push(sink.file(
                        format!("{fname}.bson").as_bytes(),
                        &mut reader,
                        &what,
                    )?);
                    entry.count = reader.count;
                    entry.bytes = reader.bytes;
                    entry.blake3 = reader.hasher.finalize().to_hex().to_string();
                }
                entries.push(entry);
                i += 1;
            }
            root.push(sink.dir(encode_name(&db_name).as_bytes(), nodes)?);
        }
        let mut cluster_time = None;
        if let Some(s) = session.as_mut() {
            cluster_time = s
                .cluster_time()
                .and_then(|t| mongodb::bson::to_document(t).ok())
                .and_then(|d| d.get_timestamp("clusterTime").ok())
                .map(|t| format!("{}.{}", t.time, t.increment));
            if mode == Consistency::Transaction {
                s.commit_transaction()
                    .run()
                    .map_err(|e| conn.error("finishing the snapshot transaction", e))?;
            }
        }
        let manifest = Manifest {
            uri: masked.clone(),
            server_version: self.server_version.clone(),
            topology: self.topology.clone(),
            consistency: mode.name().to_owned(),
            cluster_time,
            collections: entries,
        };
        root.push(sink.file(
            MANIFEST_NAME.as_bytes(),
            &manifest.to_json()[..],
            MANIFEST_NAME,
        )?);
        Ok(Tree { nodes: root })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn consistency_names() {
        for n in ["auto", "transaction", "snapshot", "per-collection"] {
            assert_eq!(Consistency::parse(n).unwrap().name(), n);
        }
        assert!(Consistency::parse("eventual").is_err());
    }
}
