//! MongoDB as a source and a restore target, through the official driver.
//!
//! A MongoDB snapshot (source `"mongodb"`) is an ordinary tree laid out as
//! `mongodump` lays out a dump directory, plus a manifest:
//!
//! ```text
//! /cairn-mongodb.json              manifest: server, consistency, per-collection counts and hashes
//! /<db>/<coll>.bson                the documents, raw BSON back to back, in _id order
//! /<db>/<coll>.metadata.json       options, indexes, type (canonical Extended JSON)
//! ```
//!
//! so `cairn restore --target DIR` yields a directory `mongorestore` reads.
//! Documents are copied as the server's raw bytes and never re-encoded.
//! Invariants: the password never appears in argv, logs, errors or the
//! snapshot (URIs are stored and shown masked); any read error during a
//! dump aborts the backup, so a snapshot is always a complete dump.

pub mod conn;
pub mod dump;

pub use conn::{mask_uri, MongoConnect};
pub use dump::{Consistency, DumpOptions, MongoSource};
