use std::sync::Arc;

/// One stored version of a resource. `body` is the exact JSON served to clients;
/// it is `None` for a deletion tombstone.
#[derive(Debug, Clone)]
pub struct StoredResource {
    pub resource_type: String,
    pub id: String,
    pub version_id: u64,
    pub last_updated_ms: i64,
    pub deleted: bool,
    pub body: Option<Arc<str>>,
}

impl StoredResource {
    /// The stored body as JSON; `None` for a tombstone.
    pub fn resource(&self) -> Option<serde_json::Value> {
        self.body
            .as_deref()
            .and_then(|b| serde_json::from_str(b).ok())
    }
}
