//! [`DynFuture`]: a future of any value size.

use std::time::Duration;

use crate::error::Result;
use crate::layout::Kind;
use crate::segment::region::Region;
use crate::segment::Segment;
use crate::structures::future::{self, FutureCore};
use crate::sys::futex::Deadline;

use super::{one, open_entry, ElementSpec};

/// A [`Future`](crate::Future) of any value type, opened by name: the same protocol, the value
/// as bytes.
#[derive(Clone)]
pub struct DynFuture {
    region: Region,
    core: FutureCore,
    size: usize,
}

impl DynFuture {
    /// Opens future `name`, checking that its value is as `elem` says.
    pub fn open(segment: &Segment, name: &str, elem: ElementSpec<'_>) -> Result<Self> {
        let (region, _) = open_entry(segment, name, Kind::Future, &elem)?;
        let core = future::core_on(&region, elem.size);
        Ok(DynFuture { region, core, size: elem.size })
    }

    /// The future's name.
    pub fn name(&self) -> &str {
        self.region.name()
    }

    /// Bytes of the value.
    pub fn elem_size(&self) -> usize {
        self.size
    }

    /// Sets the value to `src` (exactly one value) unless it is set: `Ok(true)` if this call set
    /// it. Waits at most `timeout` while another process is setting it.
    pub fn set(&self, src: &[u8], timeout: Option<Duration>) -> Result<bool> {
        one("future set", self.size, src.len())?;
        let set = self.core.set_with(&Deadline::after(timeout), |bytes| {
            bytes.copy_from_slice(src);
            Ok::<(), std::convert::Infallible>(())
        })?;
        Ok(set.unwrap_or_else(|never| match never {}))
    }

    /// Copies the value into `dst` if it is set: `Ok(false)` if not. Never waits.
    pub fn try_get(&self, dst: &mut [u8]) -> Result<bool> {
        one("future get", self.size, dst.len())?;
        Ok(self.core.try_get(dst))
    }

    /// Waits at most `timeout` for the value and copies it into `dst`.
    pub fn wait(&self, dst: &mut [u8], timeout: Option<Duration>) -> Result<()> {
        one("future wait", self.size, dst.len())?;
        self.core.wait(dst, &Deadline::after(timeout))
    }

    /// Begins setting the value (for a value computed on first demand, ZeroIPC's `lazy`):
    /// `Ok(true)` if the calling process now holds the setting and must
    /// [`complete`](Self::complete) or [`abandon`](Self::abandon) it, `Ok(false)` if the value is
    /// set. Waits at most `timeout` while another process holds it; takes over from a dead one.
    pub fn begin(&self, timeout: Option<Duration>) -> Result<bool> {
        self.core.begin_unguarded(&Deadline::after(timeout))
    }

    /// Stores `src` as the value of the setting the calling process began, and wakes the waiters.
    pub fn complete(&self, src: &[u8]) -> Result<()> {
        one("future complete", self.size, src.len())?;
        self.core.complete_unguarded(src)
    }

    /// Gives up the setting the calling process began: the next setter tries.
    pub fn abandon(&self) -> Result<()> {
        self.core.abandon_unguarded()
    }

    /// Whether the value is set.
    pub fn is_ready(&self) -> bool {
        self.core.is_ready()
    }

    /// Settings taken over from a setter that died writing the value, ever.
    pub fn takeovers(&self) -> u32 {
        self.core.takeovers()
    }
}
