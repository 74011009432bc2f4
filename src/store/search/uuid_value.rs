//! A UUID-shaped token or reference value, held as its 16 bytes in SQLite's index rows.
//!
//! Nearly half of a referral's index rows hold a resource id, and server ids are UUIDs: 36
//! characters in the row and again in its value index entry, where the bytes take 16. Only
//! the canonical lowercase form is compacted, so that the bytes give back exactly the text; any
//! other value stays text. SQLite never finds a BLOB equal to a TEXT, so a search must compact
//! what it compares with as the rows were: bound values in Rust (`key`), ids read from
//! `resource_current` in SQL (`compact_sql`), and rows read back as text (`text_sql`).

/// The 16 bytes of a canonical lowercase UUID (`8-4-4-4-12` hex digits); `None` for any other
/// text.
pub fn bytes(value: &str) -> Option<[u8; 16]> {
    let b = value.as_bytes();
    if b.len() != 36 {
        return None;
    }
    let mut out = [0u8; 16];
    let mut digits = b
        .iter()
        .enumerate()
        .filter(|(i, _)| !matches!(i, 8 | 13 | 18 | 23));
    if [8, 13, 18, 23].iter().any(|&i| b[i] != b'-') {
        return None;
    }
    for byte in &mut out {
        let (hi, lo) = (digits.next()?.1, digits.next()?.1);
        *byte = (nibble(*hi)? << 4) | nibble(*lo)?;
    }
    Some(out)
}

fn nibble(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        _ => None,
    }
}

/// The canonical UUID as a SQLite GLOB pattern.
const GLOB: &str = "[0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f]-\
[0-9a-f][0-9a-f][0-9a-f][0-9a-f]-[0-9a-f][0-9a-f][0-9a-f][0-9a-f]-\
[0-9a-f][0-9a-f][0-9a-f][0-9a-f]-\
[0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f]";

/// SQLite: `expr` (a text) as the index rows hold it, `bytes` in SQL.
pub fn compact_sql(expr: &str) -> String {
    format!("CASE WHEN {expr} GLOB '{GLOB}' THEN unhex(replace({expr}, '-', '')) ELSE {expr} END")
}

/// SQLite: a row's `expr` (`val`) as text again.
pub fn text_sql(expr: &str) -> String {
    let part = |from: usize, len: usize| format!("substr(hex({expr}), {from}, {len})");
    format!(
        "CASE WHEN typeof({expr}) = 'blob' THEN lower({} || '-' || {} || '-' || {} || '-' || {} || '-' || {}) ELSE {expr} END",
        part(1, 8),
        part(9, 4),
        part(13, 4),
        part(17, 4),
        part(21, 12)
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use rusqlite::Connection;

    const ID: &str = "01a2539c-493d-72c8-89fd-fdfcbe306357";

    #[test]
    fn only_the_canonical_form_is_compacted() {
        let b = bytes(ID).expect("a UUID");
        assert_eq!(b[0], 0x01);
        assert_eq!(b[15], 0x57);
        for other in [
            "01A2539C-493D-72C8-89FD-FDFCBE306357",
            "01a2539c493d72c889fdfdfcbe306357",
            "01a2539c-493d-72c8-89fd-fdfcbe30635",
            "01a2539c-493d-72c8-89fd-fdfcbe3063577",
            "01a2539c_493d-72c8-89fd-fdfcbe306357",
            "01a2539c-493d-72c8-89fd-fdfcbe30635g",
            "final",
            "",
        ] {
            assert_eq!(bytes(other), None, "{other}");
        }
    }

    /// The SQL forms agree with `bytes`, and give back the text.
    #[test]
    fn sql_compacts_as_rust_does_and_reads_back_the_text() {
        let conn = Connection::open_in_memory().expect("open");
        for text in [
            ID,
            "01A2539C-493D-72C8-89FD-FDFCBE306357",
            "final",
            "Patient/p1",
        ] {
            let (compacted, back): (rusqlite::types::Value, String) = conn
                .query_row(
                    &format!(
                        "SELECT v, {} FROM (SELECT {} AS v FROM (SELECT ?1 AS t))",
                        text_sql("v"),
                        compact_sql("t")
                    ),
                    [text],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .expect("query");
            match bytes(text) {
                Some(b) => assert_eq!(compacted, rusqlite::types::Value::Blob(b.to_vec())),
                None => assert_eq!(compacted, rusqlite::types::Value::Text(text.into())),
            }
            assert_eq!(back, text);
        }
    }
}
