//! Attachment rules: a stated `size` and `hash` must describe the inline `data` (R4: size is
//! the byte count before base64 encoding, hash its SHA-1, base64-encoded), as the HL7
//! validator checks. Malformed base64 is the primitive check's to report, not this one's.

use super::primitives::decode_base64;
use super::walker::Walk;
use crate::json::member::field;
use crate::outcome::IssueType;
use base64::Engine;
use serde_json::{Map, Value};

impl Walk<'_> {
    pub fn attachment(&mut self, obj: &Map<String, Value>, path: &str) {
        let Some(data) = field(obj, "data").and_then(Value::as_str) else {
            return;
        };
        let size = field(obj, "size").and_then(Value::as_u64);
        let hash = field(obj, "hash").and_then(Value::as_str);
        if size.is_none() && hash.is_none() {
            return;
        }
        let Some(bytes) = decode_base64(data) else {
            return;
        };
        if let Some(size) = size.filter(|&s| s != bytes.len() as u64) {
            self.error(
                IssueType::Value,
                path,
                format!(
                    "the stated Attachment size {size} does not match the size of the data ({} bytes)",
                    bytes.len()
                ),
            );
        }
        let Some(stated) = hash.and_then(decode_base64) else {
            return;
        };
        let actual = sha1_smol::Sha1::from(&bytes).digest().bytes();
        if stated != actual {
            let shown = base64::engine::general_purpose::STANDARD.encode(actual);
            self.error(
                IssueType::Value,
                path,
                format!(
                    "the stated Attachment hash '{}' is not the SHA-1 of the data ('{shown}')",
                    hash.unwrap_or_default()
                ),
            );
        }
    }
}
