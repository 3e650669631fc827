//! [`DynStack`]: a stack of any value size.

use std::time::Duration;

use crate::error::{Error, Result};
use crate::layout::Kind;
use crate::segment::region::Region;
use crate::segment::Segment;
use crate::structures::stack::{self, StackCore};
use crate::sys::futex::Deadline;
use crate::sys::role;

use super::{one, open_entry, ElementSpec};

/// A [`Stack`](crate::Stack) of any value type, opened by name: the same algorithm, values as
/// bytes.
#[derive(Clone)]
pub struct DynStack {
    segment: Segment,
    region: Region,
    core: StackCore,
    size: usize,
}

impl DynStack {
    /// Opens stack `name`, checking that its values are as `elem` says.
    pub fn open(segment: &Segment, name: &str, elem: ElementSpec<'_>) -> Result<Self> {
        let (region, desc) = open_entry(segment, name, Kind::Stack, &elem)?;
        let core = stack::core_on(&region, desc.capacity, elem.size);
        Ok(DynStack { segment: segment.clone(), region, core, size: elem.size })
    }

    fn corrupt(&self, detail: String) -> Error {
        Error::corrupt(self.segment.name(), format!("structure {:?}", self.name()), detail)
    }

    /// The stack's name.
    pub fn name(&self) -> &str {
        self.region.name()
    }

    /// Bytes per value.
    pub fn elem_size(&self) -> usize {
        self.size
    }

    /// Number of values it holds when full.
    pub fn capacity(&self) -> u64 {
        self.core.capacity as u64
    }

    /// Values on the stack, approximately.
    pub fn len(&self) -> u64 {
        self.core.len()
    }

    /// Whether the stack is empty, approximately.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Pushes `src` (exactly one value): `Ok(false)` when full. Never blocks.
    pub fn try_push(&self, src: &[u8]) -> Result<bool> {
        one("stack push", self.size, src.len())?;
        self.core.try_push(src, role::my_tag()).map_err(|d| self.corrupt(d))
    }

    /// Pushes `src`, waiting at most `timeout` (`None`: forever) for room.
    pub fn push(&self, src: &[u8], timeout: Option<Duration>) -> Result<()> {
        one("stack push", self.size, src.len())?;
        self.core.push(src, role::my_tag(), Deadline::after(timeout))?.map_err(|d| self.corrupt(d))
    }

    /// Pops the top value into `dst` (exactly one value): `Ok(false)` when empty. Never blocks.
    pub fn try_pop(&self, dst: &mut [u8]) -> Result<bool> {
        one("stack pop", self.size, dst.len())?;
        self.core.try_pop(dst).map_err(|d| self.corrupt(d))
    }

    /// Pops the top value into `dst`, waiting at most `timeout` (`None`: forever) for one.
    pub fn pop(&self, dst: &mut [u8], timeout: Option<Duration>) -> Result<()> {
        one("stack pop", self.size, dst.len())?;
        self.core.pop(dst, Deadline::after(timeout))?.map_err(|d| self.corrupt(d))
    }

    /// Gives back the nodes dead pushers were filling ([`Stack::reclaim_dead`](crate::Stack::reclaim_dead)).
    pub fn reclaim_dead(&self) -> u64 {
        self.core.reclaim(role::alive)
    }

    /// Nodes given back from dead pushers, ever.
    pub fn reclaimed(&self) -> u64 {
        self.core.reclaimed()
    }
}

impl std::fmt::Debug for DynStack {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DynStack").field("name", &self.name()).field("elem_size", &self.size).finish()
    }
}

/// Ready when a [`try_pop`](DynStack::try_pop) would find a value (as for
/// [`Stack`](crate::Stack)).
#[cfg(not(loom))]
impl crate::sys::wait_set::Readiness for DynStack {
    fn wait_source(&self) -> crate::sys::wait_set::Source {
        self.core.data_source(self.clone())
    }
}
