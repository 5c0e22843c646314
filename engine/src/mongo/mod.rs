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
pub mod manifest;
pub mod restore;

pub use conn::{mask_uri, MongoConnect};
pub use dump::{backup_mongodb, Consistency, DumpOptions};
pub use manifest::{CollectionEntry, Manifest, MANIFEST_NAME};
pub use restore::{restore_mongodb, CollectionOutcome, MongoRestoreOptions};

/// Encode a database or collection name as a tree entry name: `%` and `/`
/// are percent-encoded (`%25`, `%2F`); everything else is kept.
pub fn encode_name(name: &str) -> String {
    name.replace('%', "%25").replace('/', "%2F")
}

/// Inverse of [`encode_name`].
pub fn decode_name(name: &str) -> String {
    name.replace("%2F", "/")
        .replace("%2f", "/")
        .replace("%25", "%")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for n in ["plain", "a/b", "100%", "%2F literal", "x.y"] {
            assert_eq!(decode_name(&encode_name(n)), n);
            assert!(!encode_name(n).contains('/'));
        }
    }
}
