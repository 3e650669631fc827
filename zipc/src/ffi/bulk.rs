//! The bulk calls' shared steps: move what fits now, or wait for the first element.

use std::time::Duration;

use super::args::timeout;
use super::shell::again;
use super::status::Outcome;
use crate::error::Error;

/// One step of a bulk call with an optional wait.
pub(super) enum Step {
    /// Move as many elements as possible now.
    Bulk,
    /// Move one element, waiting at most this long.
    One(Option<Duration>),
}

/// A bulk push with an optional wait: everything that fits now; if nothing did and the caller
/// waits, one element with the blocking push, then whatever fits after it.
pub(super) fn bulk_in(
    src: &[u8],
    size: usize,
    timeout_ns: i64,
    mut op: impl FnMut(&[u8], Step) -> crate::Result<usize>,
) -> Outcome<usize> {
    if size == 0 {
        return Err(Error::invalid("element size", "elements have at least one byte").into());
    }
    let n = op(src, Step::Bulk)?;
    if n > 0 || src.is_empty() || timeout_ns == 0 {
        return Ok(n);
    }
    op(&src[..size], Step::One(timeout(timeout_ns)))?;
    Ok(1 + after_one(op(&src[size..], Step::Bulk))?)
}

/// The pop side of [`bulk_in`].
pub(super) fn bulk_out(
    dst: &mut [u8],
    size: usize,
    timeout_ns: i64,
    mut op: impl FnMut(&mut [u8], Step) -> crate::Result<usize>,
) -> Outcome<usize> {
    if size == 0 {
        return Err(Error::invalid("element size", "elements have at least one byte").into());
    }
    let n = op(dst, Step::Bulk)?;
    if n > 0 || dst.is_empty() || timeout_ns == 0 {
        return Ok(n);
    }
    let (first, rest) = dst.split_at_mut(size);
    op(first, Step::One(timeout(timeout_ns)))?;
    Ok(1 + after_one(op(rest, Step::Bulk))?)
}

/// The bulk step after the first element moved: a close found then ends the call with that one
/// element moved (reported at the next call), not with an error that would hide it.
fn after_one(r: crate::Result<usize>) -> crate::Result<usize> {
    match r {
        Err(Error::Closed { .. }) => Ok(0),
        r => r,
    }
}

/// A bulk call's status: `Again` if it moved nothing without waiting (and had something to do).
pub(super) fn bulk_status(moved: usize, asked: usize, timeout_ns: i64) -> Outcome {
    again(moved > 0 || asked == 0 || timeout_ns != 0)
}
