//! Moving the recent index rows into `search_index` in bulk.
//!
//! A commit writes its index rows to `search_index_recent`, a small table keyed by owner:
//! a commit's new resources have neighbouring keys (`rk`), so their rows share a few pages.
//! Written straight into `search_index`, each distinct value a commit indexed (a code, a
//! reference, a name) dirtied a leaf page of its own, a 4 KiB frame in the log per value: 88
//! of the 233 frames of a referral Bundle. Moved a batch of commits at a time, rows of the
//! same value share those pages (docs/performance.md).
//!
//! Searches read both tables (`store::search::sql`). A resource's rows are in one of them
//! only: a reindex deletes its rows from both before it writes the new ones to the recent
//! table, and a merge moves every recent row in one transaction, which readers see whole or
//! not at all.

use rusqlite::{Connection, TransactionBehavior};

/// Moves every recent row into `search_index`, inside the caller's transaction.
fn merge(conn: &Connection) -> rusqlite::Result<usize> {
    let moved = conn.execute(
        "INSERT INTO search_index (rk, tp, n, sys, val, raw, lo, hi)
         SELECT rk, tp, n, sys, val, raw, lo, hi FROM search_index_recent",
        [],
    )?;
    conn.execute("DELETE FROM search_index_recent", [])?;
    Ok(moved)
}

/// After a commit: merges in a transaction of its own once the recent rows reach `at_rows`
/// (`database.index_merge_rows`; the default, 512, is about five referral Bundles). Fewer
/// merge less at once (a value's page is written once per merge); more make the recent
/// table, which a search reads without a value index, longer to scan. The merge
/// acknowledges nothing, so it does not wait for its own fsync: the next synced commit
/// writes it to disk, and a crash before that leaves the rows recent.
pub fn merge_if_due(conn: &mut Connection, at_rows: usize) -> rusqlite::Result<Option<usize>> {
    let recent: i64 =
        conn.query_row("SELECT COUNT(*) FROM search_index_recent", [], |r| r.get(0))?;
    if recent == 0 || (recent as usize) < at_rows {
        return Ok(None);
    }
    conn.execute_batch("PRAGMA synchronous = NORMAL")?;
    let merged = (|| {
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let moved = merge(&tx)?;
        tx.commit()?;
        Ok(moved)
    })();
    conn.execute_batch("PRAGMA synchronous = FULL")?;
    merged.map(Some)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn count(conn: &Connection, table: &str) -> i64 {
        conn.query_row(&format!("SELECT COUNT(*) FROM {table}"), [], |r| r.get(0))
            .expect("count")
    }

    #[test]
    fn recent_rows_move_whole_once_there_are_enough() {
        let dir = tempfile::tempdir().expect("dir");
        let mut conn = super::super::open_writer(&dir.path().join("m.sqlite"), 1000).expect("open");
        let insert = |conn: &Connection, owners: std::ops::Range<i64>| {
            for rk in owners {
                conn.execute(
                    "INSERT INTO search_index_recent (rk, tp, n, val) VALUES (?1, 1, 0, 'x')",
                    [rk],
                )
                .expect("insert");
            }
        };
        assert_eq!(
            merge_if_due(&mut conn, 0).expect("merge"),
            None,
            "nothing to move"
        );
        insert(&conn, 0..9);
        assert_eq!(merge_if_due(&mut conn, 10).expect("merge"), None);
        assert_eq!(count(&conn, "search_index"), 0);

        insert(&conn, 9..10);
        assert_eq!(merge_if_due(&mut conn, 10).expect("merge"), Some(10));
        assert_eq!(count(&conn, "search_index"), 10);
        assert_eq!(count(&conn, "search_index_recent"), 0);
        let synchronous: i64 = conn
            .query_row("PRAGMA synchronous", [], |r| r.get(0))
            .expect("pragma");
        assert_eq!(synchronous, 2, "FULL again after the merge");
    }
}
