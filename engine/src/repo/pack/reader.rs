//! Reading packs: the trailer (for index rebuilds and checks) and single
//! blobs (for restore). Every blob read is verified twice: by its AEAD tag
//! (bound to its ID and type) and by recomputing its keyed BLAKE3 ID.

use crate::backend::{Backend, Kind};
use crate::compression;
use crate::crypto::{ObjectType, Sealer, SubKeys};
use crate::error::{Error, ErrorKind, Remedy, Result};
use crate::format::pack::{decode_trailer, BlobEntry};
use crate::format::pack::{FOOTER_LEN, HEADER_LEN, PACK_ALIGN, PACK_MAGIC, PACK_VERSION};
use crate::id::PackId;

/// Read and verify the trailer of pack `id` from the backend.
pub fn read_trailer(backend: &dyn Backend, sealer: &Sealer, id: &PackId) -> Result<Vec<BlobEntry>> {
    let name = id.to_hex();
    let ctx = |e: Error| e.context(format!("pack {name}"));
    let size = backend.size(Kind::Data, &name).map_err(ctx)?;
    if size < (HEADER_LEN + FOOTER_LEN) as u64 || size % PACK_ALIGN as u64 != 0 {
        return Err(ctx(Error::corrupt(
            "file size is not that of a pack (truncated?)",
        )
        .with_remedy(Remedy::Check)));
    }
    let head = backend
        .read_range(Kind::Data, &name, 0, HEADER_LEN as u64)
        .map_err(ctx)?;
    if head.get(..4) != Some(&PACK_MAGIC[..]) {
        return Err(ctx(Error::corrupt(
            "does not start with the pack magic 'CRNP'",
        )));
    }
    if head.get(4).copied() != Some(PACK_VERSION) {
        return Err(ctx(Error::new(
            ErrorKind::UnsupportedVersion,
            "pack version is not supported; upgrade cairn",
        )));
    }
    if head.get(5..8) != Some(&[0u8, 0, 0][..]) {
        return Err(ctx(Error::corrupt(
            "pack header reserved bytes are not zero",
        )));
    }
    let foot = backend
        .read_range(
            Kind::Data,
            &name,
            size - FOOTER_LEN as u64,
            FOOTER_LEN as u64,
        )
        .map_err(ctx)?;
    let (sealed_len, magic) = foot.split_at(FOOTER_LEN - 4);
    if magic != PACK_MAGIC {
        return Err(ctx(Error::corrupt(
            "does not end with the pack magic 'CRNP'",
        )));
    }
    let len_bytes = sealer
        .open_compact(ObjectType::PackFooter, &[0; 32], sealed_len)
        .map_err(|e| ctx(e.context("footer")))?;
    let tlen = u64::from(
        crate::format::pack::Reader::new(&len_bytes, "pack footer")
            .u32()
            .map_err(ctx)?,
    );
    let body_end = size - FOOTER_LEN as u64;
    if tlen > body_end - HEADER_LEN as u64 {
        return Err(ctx(Error::corrupt("trailer length exceeds the pack")));
    }
    let sealed = backend
        .read_range(Kind::Data, &name, body_end - tlen, tlen)
        .map_err(ctx)?;
    let entries = decode_trailer(sealer, &sealed).map_err(ctx)?;
    let mut next = HEADER_LEN as u64;
    for e in &entries {
        if e.offset < next || e.offset + u64::from(e.sealed_len) > body_end - tlen {
            return Err(ctx(Error::corrupt(
                "trailer entries overlap or point outside the blob area",
            )));
        }
        next = e.offset + u64::from(e.sealed_len);
    }
    Ok(entries)
}

/// Decrypt, decompress and verify one blob's compact envelope.
pub fn open_blob(
    keys: &SubKeys,
    sealer: &Sealer,
    entry: &BlobEntry,
    sealed: &[u8],
) -> Result<Vec<u8>> {
    let payload = sealer.open_compact(entry.blob_type.object_type(), &entry.id.0, sealed)?;
    let plain = compression::decompress(&payload, entry.plain_len as usize)?;
    if plain.len() != entry.plain_len as usize {
        return Err(Error::corrupt("blob length does not match the index"));
    }
    if keys.blob_id(&plain) != entry.id.0 {
        return Err(Error::corrupt("blob content does not match its ID"));
    }
    Ok(plain)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::MemoryBackend;
    use crate::crypto::MasterKey;
    use crate::id::BlobId;
    use crate::repo::pack::{BlobType, PackBuilder};

    #[test]
    fn build_read_verify() {
        let keys = MasterKey::from_bytes([1; 32]).subkeys();
        let sealer = Sealer::new(&keys.seal);
        let b = MemoryBackend::new();
        let mut pb = PackBuilder::new(&b).unwrap();
        let mut want = Vec::new();
        // Small blobs gathered in the write buffer between large ones
        // written as they are (incompressible, so sealed about as large):
        // offsets and bytes stay in order either way.
        let sizes = [1000, 200_000, 1001, 1_500_000, 1002, 1003, 130_000, 7];
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        for (i, &size) in sizes.iter().enumerate() {
            let plain: Vec<u8> = if size < 2000 {
                vec![i as u8; size]
            } else {
                (0..size)
                    .map(|_| {
                        x ^= x << 13;
                        x ^= x >> 7;
                        x ^= x << 17;
                        x as u8
                    })
                    .collect()
            };
            let id = BlobId(keys.blob_id(&plain));
            let payload = compression::compress(&plain, 3);
            let sealed = sealer
                .seal_compact(ObjectType::Chunk, &id.0, &payload)
                .unwrap();
            let e = BlobEntry {
                blob_type: BlobType::Chunk,
                id,
                offset: 0,
                sealed_len: 0,
                plain_len: plain.len() as u32,
            };
            pb.add(e, &sealed).unwrap();
            want.push(plain);
        }
        let fp = pb.finish(&sealer).unwrap();
        assert_eq!(fp.len % crate::format::pack::PACK_ALIGN as u64, 0);
        let bytes = b.read(Kind::Data, &fp.id.to_hex()).unwrap();
        assert_eq!(bytes.len() as u64, fp.len);
        assert_eq!(blake3::hash(&bytes).as_bytes(), &fp.id.0);
        let entries = read_trailer(&b, &sealer, &fp.id).unwrap();
        assert_eq!(entries, fp.entries);
        for (e, plain) in entries.iter().zip(&want) {
            let sealed = &bytes[e.offset as usize..(e.offset + u64::from(e.sealed_len)) as usize];
            assert_eq!(&open_blob(&keys, &sealer, e, sealed).unwrap(), plain);
        }
        // Swapping entries (wrong ID binding) fails.
        let e0 = entries[0];
        let mut swapped = entries[1];
        swapped.id = e0.id;
        let sealed = &bytes
            [swapped.offset as usize..(swapped.offset + u64::from(swapped.sealed_len)) as usize];
        assert!(open_blob(&keys, &sealer, &swapped, sealed).is_err());
        // Garbage packs error, never panic.
        for n in [0usize, 7, 16, 100] {
            let b = MemoryBackend::new();
            b.write(
                Kind::Data,
                &PackId([0; 32]).to_hex(),
                &bytes[bytes.len() - n.min(bytes.len())..],
            )
            .unwrap();
            assert!(read_trailer(&b, &sealer, &PackId([0; 32])).is_err());
        }
    }
}
