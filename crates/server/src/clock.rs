//! The time as this instance sees it. Instances' clocks may disagree by seconds or more; what several
//! instances must agree on (who holds a renewal's lease, and until when) is timed by the database's
//! clock instead (`storage`), never by this one.

use std::sync::atomic::{AtomicI64, Ordering};

#[derive(Debug, Default)]
pub struct Clock {
    skew_secs: AtomicI64,
}

impl Clock {
    /// Unix seconds.
    pub(crate) fn now(&self) -> i64 {
        chrono::Utc::now().timestamp() + self.skew_secs.load(Ordering::Relaxed)
    }

    /// Sets this instance's clock `secs` off the true time, as a badly synchronised machine's would
    /// be: for tests of instances whose clocks disagree.
    pub fn set_skew(&self, secs: i64) {
        self.skew_secs.store(secs, Ordering::Relaxed);
    }
}
