//! Which file goes on which volume of an export set
//! (`format-spec/v1/export.md`, "Parity").
//!
//! Invariants: every volume's files fit its capacity (what the caller's
//! `cost` says each file takes, manifest lines and tar headers included);
//! packs keep the caller's order, so those one snapshot needs sit together
//! and a restore asks for few volumes; the members and parity files of a
//! group lie on pairwise different volumes.

use crate::error::{Error, Result};
use crate::format::parity::Group;
use crate::id::PackId;

/// Where everything goes.
#[derive(Debug, Default)]
pub struct Plan {
    /// The packs of each data volume (volumes 1..=d).
    pub data: Vec<Vec<(PackId, u64)>>,
    /// Every parity group.
    pub groups: Vec<Group>,
    /// The parity files of each parity volume (volumes d+1..=m), as
    /// (group index, shard j).
    pub parity: Vec<Vec<(usize, u8)>>,
}

impl Plan {
    /// The number of volumes.
    pub fn volumes(&self) -> usize {
        self.data.len() + self.parity.len()
    }
}

/// Length of parity file `j` of `g`.
pub fn parity_file_len(g: &Group) -> u64 {
    g.header_len() + g.shard_len + 32
}

/// Cut `packs` (in order) into data volumes of at most `capacity` bytes
/// by `cost`, group them `k`+`m`, and place parity files likewise.
pub fn plan(
    packs: &[(PackId, u64)],
    capacity: u64,
    cost: &dyn Fn(&str, u64) -> u64,
    (k, m): (u8, u8),
) -> Result<Plan> {
    let too_small = |what: String, need: u64| {
        Error::invalid(format!(
            "--volume-size is too small: {what} needs {need} bytes, and a volume has room for {capacity} bytes after the copies of the repository's keys, index, snapshots and spec"
        ))
    };
    let mut plan = Plan::default();
    let mut used = u64::MAX;
    for (id, len) in packs {
        let c = cost(&format!("data/xx/{}", id.to_hex()), *len);
        if c > capacity {
            return Err(too_small(format!("pack {}", id.short()), c));
        }
        if used.saturating_add(c) > capacity {
            plan.data.push(Vec::new());
            used = 0;
        }
        used += c;
        if let Some(v) = plan.data.last_mut() {
            v.push((*id, *len));
        }
    }
    if m == 0 || k == 0 {
        return Ok(plan);
    }
    // Rows: the i-th longest pack of every data volume.
    let mut by_len: Vec<Vec<(PackId, u64)>> = plan.data.clone();
    for v in &mut by_len {
        v.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    }
    let rows = by_len.iter().map(Vec::len).max().unwrap_or(0);
    for i in 0..rows {
        let row: Vec<(PackId, u64)> = by_len.iter().filter_map(|v| v.get(i).copied()).collect();
        for run in row.chunks(usize::from(k)) {
            plan.groups.push(Group::new(run.to_vec(), m));
        }
    }
    // Parity series j fills its own volumes, in group order.
    for j in 0..m {
        let mut used = u64::MAX;
        for (gi, g) in plan.groups.iter().enumerate() {
            let c = cost(&format!("parity/{}", g.file_name(j)), parity_file_len(g));
            if c > capacity {
                return Err(too_small("a parity file".into(), c));
            }
            if used.saturating_add(c) > capacity {
                plan.parity.push(Vec::new());
                used = 0;
            }
            used += c;
            if let Some(v) = plan.parity.last_mut() {
                v.push((gi, j));
            }
        }
    }
    Ok(plan)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    #[test]
    fn groups_span_distinct_volumes_and_volumes_fit() {
        let packs: Vec<(PackId, u64)> = (0..40u8)
            .map(|i| (PackId([i; 32]), 1000 + u64::from(i) * 37))
            .collect();
        let cost = |_: &str, len: u64| len + 10;
        let p = plan(&packs, 5000, &cost, (3, 2)).unwrap();
        let mut vol_of: HashMap<PackId, usize> = HashMap::new();
        for (v, ps) in p.data.iter().enumerate() {
            assert!(ps.iter().map(|x| x.1 + 10).sum::<u64>() <= 5000);
            for x in ps {
                vol_of.insert(x.0, v);
            }
        }
        assert_eq!(vol_of.len(), 40);
        let mut files_of: HashMap<(usize, u8), usize> = HashMap::new();
        for (v, fs) in p.parity.iter().enumerate() {
            for f in fs {
                files_of.insert(*f, p.data.len() + v);
            }
        }
        for (gi, g) in p.groups.iter().enumerate() {
            assert!(g.packs.len() <= 3);
            let mut vols: Vec<usize> = g.packs.iter().map(|x| vol_of[&x.0]).collect();
            vols.extend((0..2).map(|j| files_of[&(gi, j)]));
            let n = vols.len();
            vols.sort();
            vols.dedup();
            assert_eq!(vols.len(), n, "group {gi} shares a volume");
        }
        assert!(plan(&packs, 500, &cost, (3, 1)).is_err());
    }
}
