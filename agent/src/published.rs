//! [`Snapshot`], one published sample: the wire JSON's figures and the Linux extras, with the
//! bodies served from them rendered once, on first use, and shared by every reader.
//!
//! Below both the sampler that publishes snapshots and the exposition that renders them
//! (`metrics.rs`, which owns [`Snapshot::metrics`]), so neither imports the other.

use std::sync::OnceLock;

use crate::collect::LinuxExtra;
use crate::snapshot::SystemInfo;

/// One published sample: the wire JSON's fields plus the Linux extras for `/metrics`.
/// Its JSON and Prometheus text are rendered once, on first use, and shared by every reader.
#[derive(Debug)]
pub struct Snapshot {
    pub info: SystemInfo,
    pub linux: LinuxExtra,
    json: OnceLock<Vec<u8>>,
    /// Filled by [`Snapshot::metrics`], in `metrics.rs`.
    pub(crate) metrics: OnceLock<String>,
}

impl Snapshot {
    pub fn new(info: SystemInfo, linux: LinuxExtra) -> Snapshot {
        Snapshot {
            info,
            linux,
            json: OnceLock::new(),
            metrics: OnceLock::new(),
        }
    }

    /// The `/systeminfo` body.
    pub fn json(&self) -> &[u8] {
        self.json.get_or_init(|| {
            serde_json::to_vec(&self.info)
                .expect("SystemInfo holds only finite numbers and strings")
        })
    }
}
