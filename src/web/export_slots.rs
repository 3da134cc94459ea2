//! A bounded pool for the cycle exports sent whole (XLSX, PDF: written from chunks of rows,
//! then sent and cached once finished): at most [`EXPORT_SLOTS`] at
//! once per process, each built on a blocking thread; one more is refused at once with 503
//! `busy` and `Retry-After` rather than queued behind them (a queue would hold its memory and
//! its connection while waiting). CSV and JSON are streamed in chunks and take no slot; a file
//! the cache holds is served without one (`services::exports`).

use std::sync::Arc;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// XLSX or PDF exports built at once (each holds two chunks of rows and its file: tens of MiB
/// at the stress scale).
pub const EXPORT_SLOTS: usize = 2;
/// What `Retry-After` says when every slot is taken, in seconds.
pub const RETRY_AFTER_SECONDS: u16 = 5;

/// The slots of one process.
#[derive(Debug, Clone)]
pub struct ExportSlots(Arc<Semaphore>);

impl ExportSlots {
    pub fn new(slots: usize) -> Self {
        Self(Arc::new(Semaphore::new(slots)))
    }

    /// A slot, held until the permit is dropped; `None` when all are taken.
    pub fn try_take(&self) -> Option<OwnedSemaphorePermit> {
        Arc::clone(&self.0).try_acquire_owned().ok()
    }

    /// Every free slot (tests: to see what the next export gets when all are busy).
    pub fn take_all(&self) -> Vec<OwnedSemaphorePermit> {
        std::iter::from_fn(|| self.try_take()).collect()
    }
}
