//! How SQLite stores resource bodies: JSON text of at least `COMPRESS_FROM` bytes as an LZ4
//! block (a BLOB with a four-byte header), shorter ones as TEXT. A BLOB in a text column is
//! only ever this encoding, so rows written before it (all TEXT) read unchanged and need no
//! migration. PostgreSQL needs none of it: TOAST compresses its long values already.
//!
//! The header is a little-endian `u32`. With its top bit clear it is the body's length, and
//! the block stands alone (as `lz4_flex::compress_prepend_size` writes it; every such length is
//! under 2^31). With its top bit set, the next seven bits name the dictionary the block was
//! compressed against (`body_dictionary`) and the low 24 bits are the length.

use super::body_dictionary;
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

/// The value to store for `body`, a resource of `resource_type`.
pub fn encode<'a>(resource_type: &str, body: &'a str) -> ToSqlOutput<'a> {
    if body.len() < COMPRESS_FROM {
        return ToSqlOutput::Borrowed(ValueRef::Text(body.as_bytes()));
    }
    let with_dictionary = body_dictionary::for_type(resource_type)
        .filter(|_| body.len() < DICTIONARY_MAX_LEN)
        .and_then(|(id, dict)| with_dictionary(body.as_bytes(), id, dict));
    ToSqlOutput::Owned(Value::Blob(
        with_dictionary.unwrap_or_else(|| lz4_flex::compress_prepend_size(body.as_bytes())),
    ))
}

/// `encode`, owning its value: for encoding away from the thread that stores it.
pub fn encode_owned(resource_type: &str, body: String) -> Value {
    match encode(resource_type, &body) {
        ToSqlOutput::Owned(v) => v,
        _ => Value::Text(body),
    }
}

/// Bodies this long or longer are compressed alone: the header keeps 24 bits of length.
const DICTIONARY_MAX_LEN: usize = 1 << 24;
const DICTIONARY_FLAG: u32 = 1 << 31;

fn with_dictionary(body: &[u8], id: u8, dict: &[u8]) -> Option<Vec<u8>> {
    let header = DICTIONARY_FLAG | (u32::from(id) << 24) | u32::try_from(body.len()).ok()?;
    let mut out = vec![0u8; 4 + lz4_flex::block::get_maximum_output_size(body.len())];
    out[..4].copy_from_slice(&header.to_le_bytes());
    let written = lz4_flex::block::compress_into_with_dict(body, &mut out[4..], dict).ok()?;
    out.truncate(4 + written);
    Some(out)
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
    let corrupt = |e: lz4_flex::block::DecompressError| BodyError::Corrupt(e.to_string());
    let (header, block) = match b.split_first_chunk::<4>() {
        Some((header, block)) => (u32::from_le_bytes(*header), block),
        None => return Err(BodyError::Corrupt("shorter than its header".into())),
    };
    let bytes = if header & DICTIONARY_FLAG == 0 {
        let size = usize::try_from(header).unwrap_or(usize::MAX);
        if size > MAX_DECODED {
            return Err(BodyError::TooLarge(size));
        }
        lz4_flex::block::decompress(block, size).map_err(corrupt)?
    } else {
        let id = u8::try_from((header >> 24) & 0x7f).unwrap_or(0);
        let size = usize::try_from(header & 0x00ff_ffff).unwrap_or(usize::MAX);
        let dict = body_dictionary::by_id(id)
            .ok_or_else(|| BodyError::Corrupt(format!("an unknown dictionary ({id})")))?;
        lz4_flex::block::decompress_with_dict(block, size, dict).map_err(corrupt)?
    };
    String::from_utf8(bytes).map_err(|_| BodyError::NotUtf8)
}

/// `decode` for a column of a rusqlite row.
pub fn column(row: &rusqlite::Row<'_>, index: usize) -> rusqlite::Result<Option<String>> {
    decode(row.get_ref(index)?).map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(index, rusqlite::types::Type::Blob, Box::new(e))
    })
}

/// `column` for a NOT NULL column: a NULL is an error, not an absent body.
pub fn text_column(row: &rusqlite::Row<'_>, index: usize) -> rusqlite::Result<String> {
    column(row, index)?.ok_or(rusqlite::Error::InvalidColumnType(
        index,
        "body".into(),
        rusqlite::types::Type::Null,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stored(resource_type: &str, body: &str) -> Value {
        match encode(resource_type, body) {
            ToSqlOutput::Borrowed(v) => Value::from(v),
            ToSqlOutput::Owned(v) => v,
            _ => unreachable!("encode gives a value"),
        }
    }

    fn read(stored: &Value) -> String {
        let cell = match stored {
            Value::Text(t) => ValueRef::Text(t.as_bytes()),
            Value::Blob(b) => ValueRef::Blob(b),
            _ => unreachable!("text or blob"),
        };
        decode(cell).expect("decodes").expect("a body")
    }

    fn blob(v: &Value) -> &[u8] {
        match v {
            Value::Blob(b) => b,
            _ => panic!("a long body is compressed"),
        }
    }

    fn observation() -> String {
        format!(
            r#"{{"resourceType":"Observation","note":[{}]}}"#,
            vec![r#"{"text":"Pain 7/10, worse at night; Müller"}"#; 40].join(",")
        )
    }

    #[test]
    fn short_bodies_stay_text_and_long_ones_shrink_and_come_back() {
        let short = r#"{"resourceType":"Patient","id":"p"}"#;
        assert!(matches!(
            encode("Patient", short),
            ToSqlOutput::Borrowed(ValueRef::Text(_))
        ));
        assert_eq!(read(&stored("Patient", short)), short);
        let long = observation();
        for rt in ["Observation", "Basic"] {
            let s = stored(rt, &long);
            assert!(blob(&s).len() * 4 < long.len(), "{}", blob(&s).len());
            assert_eq!(read(&s), long);
        }
    }

    /// A body like its type's dictionary (another referral's) comes back whole, names its
    /// dictionary in the header, and is much smaller than compressed alone.
    #[test]
    fn a_body_of_a_type_with_a_dictionary_is_compressed_against_it() {
        for rt in [
            "Task",
            "CarePlan",
            "Patient",
            "PractitionerRole",
            "AuditEvent",
        ] {
            let (id, dict) = body_dictionary::for_type(rt).expect("a dictionary");
            let sample = std::str::from_utf8(dict).expect("UTF-8");
            let body = sample
                .lines()
                .next()
                .expect("a line")
                .replace("-7", "-8")
                .replace("\"versionId\":\"1\"", "\"versionId\":\"2\"");
            let s = stored(rt, &body);
            let b = blob(&s);
            assert_eq!(b[3], 0x80 | id, "{rt}: the header names the dictionary");
            assert_eq!(read(&s), body, "{rt}");
            let alone = lz4_flex::compress_prepend_size(body.as_bytes()).len();
            assert!(b.len() * 2 < alone, "{rt}: {} with, {alone} alone", b.len());
        }
    }

    #[test]
    fn blobs_written_before_dictionaries_read_unchanged() {
        let long = observation();
        let before = lz4_flex::compress_prepend_size(long.as_bytes());
        assert_eq!(
            decode(ValueRef::Blob(&before)).unwrap().as_deref(),
            Some(&*long)
        );
    }

    #[test]
    fn text_written_before_reads_unchanged_and_corrupt_blobs_are_errors() {
        assert_eq!(
            decode(ValueRef::Text(b"{\"a\":1}")).unwrap().as_deref(),
            Some("{\"a\":1}")
        );
        assert!(decode(ValueRef::Null).unwrap().is_none());
        assert!(decode(ValueRef::Blob(&[9, 0, 0, 0, 1, 2])).is_err());
        assert!(decode(ValueRef::Blob(&[9, 0])).is_err());
        assert!(matches!(
            decode(ValueRef::Blob(&[255, 255, 255, 0x7f, 0])),
            Err(BodyError::TooLarge(_))
        ));
        // a dictionary no release has, and a known one with a block that does not decode
        assert!(matches!(
            decode(ValueRef::Blob(&[9, 0, 0, 0x80 | 127, 0x90, 1, 2])),
            Err(BodyError::Corrupt(e)) if e.contains("unknown dictionary")
        ));
        assert!(decode(ValueRef::Blob(&[9, 0, 0, 0x81, 0xf0, 1, 2])).is_err());
    }
}
