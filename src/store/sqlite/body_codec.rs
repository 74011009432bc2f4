//! How SQLite stores resource bodies: JSON text of at least `COMPRESS_FROM` bytes as an LZ4
//! block (a BLOB, its length first), shorter ones as TEXT. A BLOB in a text column is only
//! ever this encoding, so rows written before it (all TEXT) read unchanged and need no
//! migration. PostgreSQL needs none of it: TOAST compresses its long values already.

use rusqlite::types::{ToSqlOutput, Value, ValueRef};
use thiserror::Error;

/// Shorter bodies gain too little to pay for the block header and the decoding.
const COMPRESS_FROM: usize = 256;

/// No stored body decodes to more than this (the request body limit is far below it): a
/// corrupt length cannot make a read allocate without bound.
const MAX_DECODED: usize = 256 * 1024 * 1024;

#[derive(Debug, Error)]
pub enum BodyError {
    #[error("a stored body is not valid LZ4: {0}")]
    Corrupt(String),
    #[error("a stored body would decode to {0} bytes, more than {MAX_DECODED}")]
    TooLarge(usize),
    #[error("a stored body is not UTF-8")]
    NotUtf8,
}

/// The value to store for `body`.
pub fn encode(body: &str) -> ToSqlOutput<'_> {
    if body.len() < COMPRESS_FROM {
        return ToSqlOutput::Borrowed(ValueRef::Text(body.as_bytes()));
    }
    ToSqlOutput::Owned(Value::Blob(lz4_flex::compress_prepend_size(
        body.as_bytes(),
    )))
}

/// The JSON text of a stored `body` cell (TEXT as written before, or an encoded BLOB).
pub fn decode(cell: ValueRef<'_>) -> Result<Option<String>, BodyError> {
    match cell {
        ValueRef::Null => Ok(None),
        ValueRef::Text(t) => String::from_utf8(t.to_vec())
            .map(Some)
            .map_err(|_| BodyError::NotUtf8),
        ValueRef::Blob(b) => decode_blob(b).map(Some),
        ValueRef::Integer(_) | ValueRef::Real(_) => Err(BodyError::Corrupt("a number".into())),
    }
}

pub fn decode_blob(b: &[u8]) -> Result<String, BodyError> {
    let (size, _) =
        lz4_flex::block::uncompressed_size(b).map_err(|e| BodyError::Corrupt(e.to_string()))?;
    if size > MAX_DECODED {
        return Err(BodyError::TooLarge(size));
    }
    let bytes =
        lz4_flex::decompress_size_prepended(b).map_err(|e| BodyError::Corrupt(e.to_string()))?;
    String::from_utf8(bytes).map_err(|_| BodyError::NotUtf8)
}

/// `decode` for a column of a rusqlite row.
pub fn column(row: &rusqlite::Row<'_>, index: usize) -> rusqlite::Result<Option<String>> {
    decode(row.get_ref(index)?).map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(index, rusqlite::types::Type::Blob, Box::new(e))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip(body: &str) -> String {
        let stored = match encode(body) {
            ToSqlOutput::Borrowed(v) => Value::from(v),
            ToSqlOutput::Owned(v) => v,
            _ => unreachable!("encode gives a value"),
        };
        let cell = match &stored {
            Value::Text(t) => ValueRef::Text(t.as_bytes()),
            Value::Blob(b) => ValueRef::Blob(b),
            _ => unreachable!("text or blob"),
        };
        decode(cell).expect("decodes").expect("a body")
    }

    #[test]
    fn short_bodies_stay_text_and_long_ones_shrink_and_come_back() {
        let short = r#"{"resourceType":"Patient","id":"p"}"#;
        assert!(matches!(
            encode(short),
            ToSqlOutput::Borrowed(ValueRef::Text(_))
        ));
        assert_eq!(round_trip(short), short);
        let long = format!(
            r#"{{"resourceType":"Observation","note":[{}]}}"#,
            vec![r#"{"text":"Pain 7/10, worse at night; Müller"}"#; 40].join(",")
        );
        match encode(&long) {
            ToSqlOutput::Owned(Value::Blob(b)) => assert!(b.len() * 4 < long.len(), "{}", b.len()),
            _ => panic!("a long body is compressed"),
        }
        assert_eq!(round_trip(&long), long);
    }

    #[test]
    fn text_written_before_reads_unchanged_and_corrupt_blobs_are_errors() {
        assert_eq!(
            decode(ValueRef::Text(b"{\"a\":1}")).unwrap().as_deref(),
            Some("{\"a\":1}")
        );
        assert!(decode(ValueRef::Null).unwrap().is_none());
        assert!(decode(ValueRef::Blob(&[9, 0, 0, 0, 1, 2])).is_err());
        assert!(matches!(
            decode(ValueRef::Blob(&[255, 255, 255, 255, 0])),
            Err(BodyError::TooLarge(_))
        ));
    }
}
