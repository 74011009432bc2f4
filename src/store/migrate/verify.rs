//! Verification: the same counts and content checksums computed on both sides and compared.
//! A checksum is the wrapping sum of each row's SHA-256 (first 16 bytes), so it does not
//! depend on the order either database returns rows in.

use super::source::Source;
use super::table::{Cell, Row, Table, VERIFIED};
use super::target::Target;
use super::MigrateError;
use std::collections::BTreeMap;

/// Count and checksum per table, per resource type where the table has one.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Summary {
    pub groups: BTreeMap<String, (u64, u128)>,
    pub search_index_rows: u64,
}

fn digest(row: &Row) -> u128 {
    let mut ctx = ring::digest::Context::new(&ring::digest::SHA256);
    for cell in row {
        match cell {
            Cell::Null => ctx.update(b"N"),
            Cell::Int(i) => {
                ctx.update(b"I");
                ctx.update(&i.to_be_bytes());
            }
            Cell::Text(t) => {
                ctx.update(b"T");
                ctx.update(&(t.len() as u64).to_be_bytes());
                ctx.update(t.as_bytes());
            }
            Cell::Bytes(b) => {
                ctx.update(b"B");
                ctx.update(&(b.len() as u64).to_be_bytes());
                ctx.update(b);
            }
        }
    }
    let d = ctx.finish();
    let mut first = [0u8; 16];
    first.copy_from_slice(&d.as_ref()[..16]);
    u128::from_be_bytes(first)
}

fn add(summary: &mut Summary, table: &Table, row: Row) {
    let label = match (table.per_type, row.first()) {
        (true, Some(Cell::Text(t))) => format!("{} {t}", table.name),
        _ => table.name.to_string(),
    };
    let entry = summary.groups.entry(label).or_default();
    entry.0 += 1;
    entry.1 = entry.1.wrapping_add(digest(&row));
}

fn seed(summary: &mut Summary, table: &Table) {
    if !table.per_type {
        summary.groups.entry(table.name.to_string()).or_default();
    }
}

pub fn summarize_source(source: &Source) -> Result<Summary, MigrateError> {
    let mut s = Summary::default();
    for table in VERIFIED {
        seed(&mut s, table);
        source.scan(table, |row| {
            let row = table.as_copied(row);
            add(&mut s, table, row)
        })?;
    }
    s.search_index_rows = source.search_index_rows()?;
    Ok(s)
}

pub async fn summarize_target(target: &Target) -> Result<Summary, MigrateError> {
    let mut s = Summary::default();
    for table in VERIFIED {
        seed(&mut s, table);
        target.scan(table, |row| add(&mut s, table, row)).await?;
    }
    s.search_index_rows = target.search_index_rows().await?;
    Ok(s)
}

/// What differs, one line each; empty when the target is an exact copy.
pub fn differences(source: &Summary, target: &Summary) -> Vec<String> {
    let mut out = vec![];
    let labels: std::collections::BTreeSet<&String> =
        source.groups.keys().chain(target.groups.keys()).collect();
    for label in labels {
        let (sc, ss) = source.groups.get(label).copied().unwrap_or_default();
        let (tc, ts) = target.groups.get(label).copied().unwrap_or_default();
        if sc != tc {
            out.push(format!(
                "{label}: {sc} rows in the source, {tc} in the target"
            ));
        } else if ss != ts {
            out.push(format!(
                "{label}: {sc} rows on both sides, but their contents differ (checksum)"
            ));
        }
    }
    if source.search_index_rows != target.search_index_rows {
        out.push(format!(
            "search_index: {} rows in the source, {} in the target",
            source.search_index_rows, target.search_index_rows
        ));
    }
    out
}
