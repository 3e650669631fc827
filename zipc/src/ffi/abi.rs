//! The exported functions, grouped by structure. `zipc.h` declares each with its documentation;
//! the comments here say what the Rust side does.
//!
//! # Safety (every function)
//!
//! Handle arguments are NULL or handles of the right type that this library returned and that
//! were not closed yet; string arguments are NULL or NUL-terminated; buffer arguments are NULL or
//! valid for the bytes the call says (`count × size`), and output buffers are not also inputs of
//! the call. NULL is always detected (`ZIPC_ERR_NULL`); the rest is the C caller's contract, as
//! for any C library.

#![allow(clippy::missing_safety_doc)] // the contract above covers every function

use std::ffi::{c_char, c_int, c_void, CString};
use std::ptr;

use super::*;
use crate::dynamic::{
    self, Declaration, DynArray, DynAtomic, DynConsumer, DynEndpoint, DynEndpointSide, DynPool, DynProducer, DynQueue,
    DynRing, DynRingConsumer, DynRingProducer, ElementSpec,
};
use crate::error::Error;
use crate::layout::Kind;
use crate::structures::pool::Handle;
use crate::structures::ring::RingMode;
use crate::{Barrier, Event, Latch, Mutex, Segment, Semaphore, Side};

// ---------------------------------------------------------------------------------------------
// Handle types (opaque to C)
// ---------------------------------------------------------------------------------------------

/// `zipc_segment`: an attached segment.
pub struct SegmentHandle {
    segment: Segment,
    name: CString,
}

/// `zipc_queue`.
pub struct QueueHandle(DynQueue);
/// `zipc_producer`: a queue's producer.
pub struct ProducerHandle(Exclusive<DynProducer>);
/// `zipc_consumer`: a queue's consumer.
pub struct ConsumerHandle(Exclusive<DynConsumer>);
/// `zipc_endpoint`.
pub struct EndpointHandle(DynEndpoint);
/// `zipc_endpoint_side`: a claimed side.
pub struct SideHandle(Exclusive<DynEndpointSide>);
/// `zipc_ring`: an observer.
pub struct RingHandle(DynRing);
/// `zipc_ring_producer`.
pub struct RingProducerHandle(Exclusive<DynRingProducer>);
/// `zipc_ring_consumer`.
pub struct RingConsumerHandle(Exclusive<DynRingConsumer>);
/// `zipc_pool`.
pub struct PoolHandle(DynPool);
/// `zipc_array`.
pub struct ArrayHandle(DynArray);
/// `zipc_atomic`.
pub struct AtomicHandle(DynAtomic);
/// `zipc_semaphore`.
pub struct SemaphoreHandle(Semaphore);
/// `zipc_barrier`.
pub struct BarrierHandle(Barrier);
/// `zipc_latch`.
pub struct LatchHandle(Latch);
/// `zipc_mutex`.
pub struct MutexHandle(Mutex);
/// `zipc_event`.
pub struct EventHandle(Event);

/// `zipc_entry`: a structure's table entry and descriptor.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Entry {
    /// Index in the table.
    pub index: u32,
    /// Kind code (`ZIPC_KIND_*`).
    pub kind: u32,
    /// Offset of the region from the segment start.
    pub offset: u64,
    /// Size of the region.
    pub size: u64,
    /// Kind-specific flags.
    pub flags: u32,
    /// Element size (0 without element).
    pub elem_size: u32,
    /// Capacity.
    pub capacity: u64,
    /// Element layout fingerprint (0 without element).
    pub fingerprint: u64,
    /// Element alignment (0 without element).
    pub elem_align: u32,
    /// Reserved, 0.
    pub reserved: u32,
    /// Kind-specific initial value.
    pub initial: i64,
    /// Kind-specific maximum.
    pub maximum: i64,
}

/// `zipc_decl`: a structure as a schema declares it, for `zipc_check`.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct Decl {
    /// The structure's name (NUL-terminated).
    pub name: *const c_char,
    /// Kind code.
    pub kind: u32,
    /// Kind-specific flags.
    pub flags: u32,
    /// Capacity.
    pub capacity: u64,
    /// Kind-specific maximum.
    pub maximum: i64,
    /// Element size; 0 for kinds without element.
    pub elem_size: usize,
    /// The element's canonical layout string, or NULL not to check it.
    pub layout: *const c_char,
}

/// The element a caller passes: `elem_size` bytes, canonical layout `layout` (NULL: unchecked).
///
/// # Safety
///
/// `layout` is NULL or a NUL-terminated string valid for the call.
unsafe fn spec<'a>(elem_size: usize, layout: *const c_char) -> Outcome<ElementSpec<'a>> {
    // SAFETY: forwarded contract.
    let layout = unsafe { opt_text(layout, "layout") }?;
    Ok(ElementSpec { size: elem_size, layout })
}

/// The segment and structure name of an `*_open` call, and its output slot.
///
/// # Safety
///
/// As for the module: `seg` a live segment handle or NULL, `name` a string or NULL, `out` NULL or
/// valid for a pointer write.
unsafe fn open_args<'a, T>(
    seg: *const SegmentHandle,
    name: *const c_char,
    out: *mut *mut T,
) -> Outcome<(&'a Segment, &'a str, &'a mut *mut T)> {
    // SAFETY: forwarded contract.
    let (seg, name, out) = unsafe { (obj(seg, "seg")?, text(name, "name")?, super::out(out, "out")?) };
    *out = ptr::null_mut();
    Ok((&seg.segment, name, out))
}

// ---------------------------------------------------------------------------------------------
// Library and errors
// ---------------------------------------------------------------------------------------------

/// The ABI version of this library (`ZIPC_ABI_VERSION` of the `zipc.h` it was built for).
#[cfg_attr(feature = "ffi", no_mangle)]
pub extern "C" fn zipc_abi_version() -> u32 {
    ABI_VERSION
}

/// The zipc version, e.g. `"0.1.0"` (static string).
#[cfg_attr(feature = "ffi", no_mangle)]
pub extern "C" fn zipc_version() -> *const c_char {
    concat!(env!("CARGO_PKG_VERSION"), "\0").as_ptr().cast()
}

/// 1 if this process registered for the membarrier-based asymmetric fence, so that its queue
/// and endpoint fast paths issue no fence (it registers when it opens its first queue or
/// endpoint, like a Rust process); 0 before, or where the kernel lacks the membarrier.
#[cfg_attr(feature = "ffi", no_mangle)]
pub extern "C" fn zipc_fence_free_fast_path() -> c_int {
    value(0, || Some(c_int::from(crate::structures::queue::fence_free_fast_path())))
}

/// The status of this thread's last failed call (`ZIPC_OK` if none failed yet).
#[cfg_attr(feature = "ffi", no_mangle)]
pub extern "C" fn zipc_last_status() -> Status {
    value(Status::Ok, || LAST.try_with(|l| l.borrow().0).ok())
}

/// The message of this thread's last failed call ("" if none failed yet). Valid until this
/// thread's next failing call.
#[cfg_attr(feature = "ffi", no_mangle)]
pub extern "C" fn zipc_last_error() -> *const c_char {
    // The CString lives in the thread-local until the next failure replaces it.
    value(c"".as_ptr(), || LAST.try_with(|l| l.borrow().1.as_ptr()).ok())
}

/// The C name of a status (`"ZIPC_ERR_TIMEOUT"`), static; `"ZIPC_UNKNOWN"` for other codes.
#[cfg_attr(feature = "ffi", no_mangle)]
pub extern "C" fn zipc_status_name(status: c_int) -> *const c_char {
    value(c"ZIPC_UNKNOWN".as_ptr(), || Some(static_cstr(Status::from_code(status).map(Status::c_name), "ZIPC_UNKNOWN")))
}

/// A one-line description of a status, static.
#[cfg_attr(feature = "ffi", no_mangle)]
pub extern "C" fn zipc_status_str(status: c_int) -> *const c_char {
    value(c"unknown status".as_ptr(), || {
        Some(static_cstr(Status::from_code(status).map(Status::description), "unknown status"))
    })
}

/// A static NUL-terminated copy of one of the status texts (built once).
fn static_cstr(s: Option<&'static str>, fallback: &'static str) -> *const c_char {
    use std::sync::OnceLock;
    static TABLE: OnceLock<Vec<(&'static str, CString)>> = OnceLock::new();
    let table = TABLE.get_or_init(|| {
        let mut t: Vec<(&'static str, CString)> = Vec::new();
        for st in Status::ALL {
            for text in [st.c_name(), st.description()] {
                t.push((text, CString::new(text).expect("status texts have no NUL")));
            }
        }
        for text in ["ZIPC_UNKNOWN", "unknown status"] {
            t.push((text, CString::new(text).expect("no NUL")));
        }
        t
    });
    let want = s.unwrap_or(fallback);
    table.iter().find(|(k, _)| *k == want).map_or(ptr::null(), |(_, c)| c.as_ptr())
}

// ---------------------------------------------------------------------------------------------
// Segments
// ---------------------------------------------------------------------------------------------

/// Opens segment `name`, validating it, and joins its process registry.
#[cfg_attr(feature = "ffi", no_mangle)]
pub unsafe extern "C" fn zipc_segment_open(name: *const c_char, out: *mut *mut SegmentHandle) -> Status {
    call(|| {
        // SAFETY: module contract.
        let (name, out) = unsafe { (text(name, "name")?, super::out(out, "out")?) };
        *out = ptr::null_mut();
        let segment = Segment::open(name)?;
        let name = CString::new(name).map_err(|_| Failure::Null("name"))?;
        hand_out(out, SegmentHandle { segment, name })
    })
}

/// Closes a segment handle (NULL is fine). Structure handles opened from it stay valid.
#[cfg_attr(feature = "ffi", no_mangle)]
pub unsafe extern "C" fn zipc_segment_close(seg: *mut SegmentHandle) {
    value((), || {
        // SAFETY: module contract; the handle is not used again.
        unsafe { free(seg) };
        Some(())
    })
}

/// Removes segment `name` from the system (processes that have it open keep using it).
#[cfg_attr(feature = "ffi", no_mangle)]
pub unsafe extern "C" fn zipc_segment_unlink(name: *const c_char) -> Status {
    call(|| {
        // SAFETY: module contract.
        let name = unsafe { text(name, "name") }?;
        Segment::unlink(name)?;
        Ok(Status::Ok)
    })
}

/// The segment's name (valid while the handle is open; NULL for a NULL handle).
#[cfg_attr(feature = "ffi", no_mangle)]
pub unsafe extern "C" fn zipc_segment_name(seg: *const SegmentHandle) -> *const c_char {
    value(ptr::null(), || {
        // SAFETY: module contract.
        unsafe { seg.as_ref() }.map(|s| s.name.as_ptr())
    })
}

/// The segment's size in bytes (0 for a NULL handle).
#[cfg_attr(feature = "ffi", no_mangle)]
pub unsafe extern "C" fn zipc_segment_size(seg: *const SegmentHandle) -> u64 {
    value(0, || {
        // SAFETY: module contract.
        unsafe { seg.as_ref() }.map(|s| s.segment.size())
    })
}

/// Settles every queue operation that dead processes left half-done and frees their lanes
/// (`Segment::recover_dead`): `*operations` dead operations were found, `*lost` messages lost
/// in them (either pointer may be NULL).
#[cfg_attr(feature = "ffi", no_mangle)]
pub unsafe extern "C" fn zipc_segment_recover_dead(
    seg: *const SegmentHandle,
    operations: *mut u64,
    lost: *mut u64,
) -> Status {
    call(|| {
        // SAFETY: module contract.
        let seg = unsafe { obj(seg, "seg") }?;
        let report = seg.segment.recover_dead()?;
        // SAFETY: module contract: NULL or valid for a write.
        if let Some(o) = unsafe { operations.as_mut() } {
            *o = report.operations.len() as u64;
        }
        // SAFETY: as above.
        if let Some(l) = unsafe { lost.as_mut() } {
            *l = report.lost();
        }
        Ok(Status::Ok)
    })
}

/// Finds structure `name` and fills `*out` with its entry and descriptor.
#[cfg_attr(feature = "ffi", no_mangle)]
pub unsafe extern "C" fn zipc_find(seg: *const SegmentHandle, name: *const c_char, out: *mut Entry) -> Status {
    call(|| {
        // SAFETY: module contract.
        let (seg, name, out) = unsafe { (obj(seg, "seg")?, text(name, "name")?, super::out(out, "out")?) };
        let Some(e) = seg.segment.entry(name)? else {
            return Err(Error::NotFound { object: crate::Object::Structure, name: name.to_owned() }.into());
        };
        let d = e.descriptor.unwrap_or(crate::segment::description::Descriptor {
            kind: Kind::Array,
            flags: 0,
            capacity: 0,
            fingerprint: 0,
            elem_size: 0,
            elem_align: 0,
            type_name: None,
            canonical: None,
            initial: 0,
            maximum: 0,
        });
        *out = Entry {
            index: e.index,
            kind: if seg.segment.is_typed() { d.kind.code() } else { 0 },
            offset: e.offset,
            size: e.size,
            flags: d.flags,
            elem_size: d.elem_size,
            capacity: d.capacity,
            fingerprint: d.fingerprint,
            elem_align: d.elem_align,
            reserved: 0,
            initial: d.initial,
            maximum: d.maximum,
        };
        Ok(Status::Ok)
    })
}

/// Checks structure `decl->name` against a declaration: kind, element size and layout,
/// capacity, flags and maximum (the first difference is the error).
#[cfg_attr(feature = "ffi", no_mangle)]
pub unsafe extern "C" fn zipc_check(seg: *const SegmentHandle, decl: *const Decl) -> Status {
    call(|| {
        // SAFETY: module contract.
        let (seg, d) = unsafe { (obj(seg, "seg")?, obj(decl, "decl")?) };
        // SAFETY: the declaration's strings follow the module contract.
        let name = unsafe { text(d.name, "decl->name") }?;
        let kind = Kind::from_code(d.kind).ok_or_else(|| {
            Failure::Zipc(Error::invalid("decl->kind", format!("{} is not a kind code (ZIPC_KIND_*)", d.kind)))
        })?;
        // SAFETY: as above.
        let elem = if kind.has_element() { Some(unsafe { spec(d.elem_size, d.layout) }?) } else { None };
        let decl = Declaration { name, kind, elem, capacity: d.capacity, flags: d.flags, maximum: d.maximum };
        dynamic::check(&seg.segment, &decl)?;
        Ok(Status::Ok)
    })
}

// ---------------------------------------------------------------------------------------------
// Queues
// ---------------------------------------------------------------------------------------------

/// Opens queue `name` whose elements are `elem_size` bytes with canonical layout `layout`
/// (NULL: only the size is checked).
#[cfg_attr(feature = "ffi", no_mangle)]
pub unsafe extern "C" fn zipc_queue_open(
    seg: *const SegmentHandle,
    name: *const c_char,
    elem_size: usize,
    layout: *const c_char,
    out: *mut *mut QueueHandle,
) -> Status {
    call(|| {
        // SAFETY: module contract.
        let ((seg, name, out), spec) = unsafe { (open_args(seg, name, out)?, spec(elem_size, layout)?) };
        hand_out(out, QueueHandle(DynQueue::open(seg, name, spec)?))
    })
}

/// Closes a queue handle (NULL is fine).
#[cfg_attr(feature = "ffi", no_mangle)]
pub unsafe extern "C" fn zipc_queue_close(q: *mut QueueHandle) {
    value((), || {
        // SAFETY: module contract; the handle is not used again.
        unsafe { free(q) };
        Some(())
    })
}

/// Number of slots (0 for NULL).
#[cfg_attr(feature = "ffi", no_mangle)]
pub unsafe extern "C" fn zipc_queue_capacity(q: *const QueueHandle) -> u64 {
    value(0, || {
        // SAFETY: module contract.
        unsafe { q.as_ref() }.map(|q| q.0.capacity())
    })
}

/// Number of elements, approximately (0 for NULL).
#[cfg_attr(feature = "ffi", no_mangle)]
pub unsafe extern "C" fn zipc_queue_len(q: *const QueueHandle) -> u64 {
    value(0, || {
        // SAFETY: module contract.
        unsafe { q.as_ref() }.map(|q| q.0.len())
    })
}

/// Messages lost to processes that died mid-operation (0 for NULL).
#[cfg_attr(feature = "ffi", no_mangle)]
pub unsafe extern "C" fn zipc_queue_lost(q: *const QueueHandle) -> u64 {
    value(0, || {
        // SAFETY: module contract.
        unsafe { q.as_ref() }.map(|q| q.0.lost())
    })
}

/// Settles the operations on this queue that dead processes left half-done; returns the
/// messages found lost (0 for NULL).
#[cfg_attr(feature = "ffi", no_mangle)]
pub unsafe extern "C" fn zipc_queue_recover(q: *const QueueHandle) -> u64 {
    value(0, || {
        // SAFETY: module contract.
        unsafe { q.as_ref() }.map(|q| q.0.recover())
    })
}

/// The policy flags (`ZIPC_POLICY_*`; 0 for NULL).
#[cfg_attr(feature = "ffi", no_mangle)]
pub unsafe extern "C" fn zipc_queue_policy(q: *const QueueHandle) -> u32 {
    value(0, || {
        // SAFETY: module contract.
        let q = unsafe { q.as_ref() }?;
        Some(crate::layout::POLICIES.iter().find(|(n, _)| *n == q.0.policy()).map_or(0, |p| p.1))
    })
}

/// A producer handle (claims the producer role of an spsc queue).
#[cfg_attr(feature = "ffi", no_mangle)]
pub unsafe extern "C" fn zipc_queue_open_producer(q: *const QueueHandle, out: *mut *mut ProducerHandle) -> Status {
    call(|| {
        // SAFETY: module contract.
        let (q, out) = unsafe { (obj(q, "q")?, super::out(out, "out")?) };
        *out = ptr::null_mut();
        hand_out(out, ProducerHandle(Exclusive::new(q.0.producer()?, "queue producer")))
    })
}

/// A consumer handle (claims the consumer role of an spsc or mpsc queue).
#[cfg_attr(feature = "ffi", no_mangle)]
pub unsafe extern "C" fn zipc_queue_open_consumer(q: *const QueueHandle, out: *mut *mut ConsumerHandle) -> Status {
    call(|| {
        // SAFETY: module contract.
        let (q, out) = unsafe { (obj(q, "q")?, super::out(out, "out")?) };
        *out = ptr::null_mut();
        hand_out(out, ConsumerHandle(Exclusive::new(q.0.consumer()?, "queue consumer")))
    })
}

/// Closes a producer, releasing its role (NULL is fine).
#[cfg_attr(feature = "ffi", no_mangle)]
pub unsafe extern "C" fn zipc_producer_close(p: *mut ProducerHandle) {
    value((), || {
        // SAFETY: module contract; the handle is not used again.
        unsafe { free(p) };
        Some(())
    })
}

/// Closes a consumer, releasing its role (NULL is fine).
#[cfg_attr(feature = "ffi", no_mangle)]
pub unsafe extern "C" fn zipc_consumer_close(c: *mut ConsumerHandle) {
    value((), || {
        // SAFETY: module contract; the handle is not used again.
        unsafe { free(c) };
        Some(())
    })
}

/// Pushes one element if there is room: `ZIPC_OK`, or `ZIPC_AGAIN` if the queue is full.
#[cfg_attr(feature = "ffi", no_mangle)]
pub unsafe extern "C" fn zipc_producer_try_push(p: *mut ProducerHandle, elem: *const c_void, size: usize) -> Status {
    call(|| {
        // SAFETY: module contract.
        let (p, src) = unsafe { (obj(p, "p")?, input(elem, size, "elem")?) };
        p.0.with(|p| again(p.try_push(src)?))
    })
}

/// Pushes one element, waiting at most `timeout_ns` for room.
#[cfg_attr(feature = "ffi", no_mangle)]
pub unsafe extern "C" fn zipc_producer_push(
    p: *mut ProducerHandle,
    elem: *const c_void,
    size: usize,
    timeout_ns: i64,
) -> Status {
    call(|| {
        // SAFETY: module contract.
        let (p, src) = unsafe { (obj(p, "p")?, input(elem, size, "elem")?) };
        p.0.with(|p| {
            p.push(src, timeout(timeout_ns))?;
            Ok(Status::Ok)
        })
    })
}

/// Pushes up to `count` elements in order: as many as fit at once; if none fits and
/// `timeout_ns` is not 0, waits at most that long for room for the first. `*pushed` says how
/// many; `ZIPC_AGAIN` if none and `timeout_ns` is 0.
#[cfg_attr(feature = "ffi", no_mangle)]
pub unsafe extern "C" fn zipc_producer_push_bulk(
    p: *mut ProducerHandle,
    elems: *const c_void,
    count: usize,
    size: usize,
    timeout_ns: i64,
    pushed: *mut usize,
) -> Status {
    call(|| {
        // SAFETY: module contract.
        let (p, pushed) = unsafe { (obj(p, "p")?, super::out(pushed, "pushed")?) };
        *pushed = 0;
        // SAFETY: module contract.
        let src = unsafe { input(elems, byte_len(count, size)?, "elems") }?;
        p.0.with(|p| {
            check_size(size, p.elem_size())?;
            *pushed = bulk_in(src, size, timeout_ns, |s, step| match step {
                Step::Bulk => p.push_bulk(s),
                Step::One(t) => p.push(s, t).map(|()| 1),
            })?;
            bulk_status(*pushed, count, timeout_ns)
        })
    })
}

/// Pops one element into `out` if there is one: `ZIPC_OK`, or `ZIPC_AGAIN` if the queue is
/// empty.
#[cfg_attr(feature = "ffi", no_mangle)]
pub unsafe extern "C" fn zipc_consumer_try_pop(c: *mut ConsumerHandle, out: *mut c_void, size: usize) -> Status {
    call(|| {
        // SAFETY: module contract.
        let (c, dst) = unsafe { (obj(c, "c")?, output(out, size, "out")?) };
        c.0.with(|c| again(c.try_pop(dst)?))
    })
}

/// Pops one element into `out`, waiting at most `timeout_ns` for one.
#[cfg_attr(feature = "ffi", no_mangle)]
pub unsafe extern "C" fn zipc_consumer_pop(
    c: *mut ConsumerHandle,
    out: *mut c_void,
    size: usize,
    timeout_ns: i64,
) -> Status {
    call(|| {
        // SAFETY: module contract.
        let (c, dst) = unsafe { (obj(c, "c")?, output(out, size, "out")?) };
        c.0.with(|c| {
            c.pop(dst, timeout(timeout_ns))?;
            Ok(Status::Ok)
        })
    })
}

/// Pops up to `max` elements into `out`: as many as are there; if none and `timeout_ns` is not
/// 0, waits at most that long for the first. `*popped` says how many; `ZIPC_AGAIN` if none and
/// `timeout_ns` is 0.
#[cfg_attr(feature = "ffi", no_mangle)]
pub unsafe extern "C" fn zipc_consumer_pop_bulk(
    c: *mut ConsumerHandle,
    out: *mut c_void,
    max: usize,
    size: usize,
    timeout_ns: i64,
    popped: *mut usize,
) -> Status {
    call(|| {
        // SAFETY: module contract.
        let (c, popped) = unsafe { (obj(c, "c")?, super::out(popped, "popped")?) };
        *popped = 0;
        // SAFETY: module contract.
        let dst = unsafe { output(out, byte_len(max, size)?, "out") }?;
        c.0.with(|c| {
            check_size(size, c.elem_size())?;
            *popped = bulk_out(dst, size, timeout_ns, |d, step| match step {
                Step::Bulk => c.pop_bulk(d),
                Step::One(t) => c.pop(d, t).map(|()| 1),
            })?;
            bulk_status(*popped, max, timeout_ns)
        })
    })
}

/// For a single consumer that took the role over from a process that died in a pop: the
/// elements that pop held, skipped and counted lost (0 otherwise, for NULL, or while another
/// thread uses the handle).
#[cfg_attr(feature = "ffi", no_mangle)]
pub unsafe extern "C" fn zipc_consumer_lost_on_takeover(c: *mut ConsumerHandle) -> u64 {
    value(0, || {
        // SAFETY: module contract.
        unsafe { c.as_ref() }.map(|c| c.0.with(|c| Ok(c.lost_on_takeover())).unwrap_or(0))
    })
}

/// One step of a bulk call with an optional wait.
enum Step {
    /// Move as many elements as possible now.
    Bulk,
    /// Move one element, waiting at most this long.
    One(Option<Duration>),
}

/// A bulk push with an optional wait: everything that fits now; if nothing did and the caller
/// waits, one element with the blocking push, then whatever fits after it.
fn bulk_in(
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
    Ok(1 + op(&src[size..], Step::Bulk)?)
}

/// The pop side of [`bulk_in`].
fn bulk_out(
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
    Ok(1 + op(rest, Step::Bulk)?)
}

/// A bulk call's status: `Again` if it moved nothing without waiting (and had something to do).
fn bulk_status(moved: usize, asked: usize, timeout_ns: i64) -> Outcome {
    again(moved > 0 || asked == 0 || timeout_ns != 0)
}

// ---------------------------------------------------------------------------------------------
// Endpoints
// ---------------------------------------------------------------------------------------------

/// Opens endpoint `name` (elements as for `zipc_queue_open`).
#[cfg_attr(feature = "ffi", no_mangle)]
pub unsafe extern "C" fn zipc_endpoint_open(
    seg: *const SegmentHandle,
    name: *const c_char,
    elem_size: usize,
    layout: *const c_char,
    out: *mut *mut EndpointHandle,
) -> Status {
    call(|| {
        // SAFETY: module contract.
        let ((seg, name, out), spec) = unsafe { (open_args(seg, name, out)?, spec(elem_size, layout)?) };
        hand_out(out, EndpointHandle(DynEndpoint::open(seg, name, spec)?))
    })
}

/// Closes an endpoint handle (NULL is fine).
#[cfg_attr(feature = "ffi", no_mangle)]
pub unsafe extern "C" fn zipc_endpoint_close(e: *mut EndpointHandle) {
    value((), || {
        // SAFETY: module contract; the handle is not used again.
        unsafe { free(e) };
        Some(())
    })
}

/// Claims side `side` (`ZIPC_SIDE_A` = 0 or `ZIPC_SIDE_B` = 1) of an endpoint.
#[cfg_attr(feature = "ffi", no_mangle)]
pub unsafe extern "C" fn zipc_endpoint_open_side(
    e: *const EndpointHandle,
    side: c_int,
    out: *mut *mut SideHandle,
) -> Status {
    call(|| {
        // SAFETY: module contract.
        let (e, out) = unsafe { (obj(e, "e")?, super::out(out, "out")?) };
        *out = ptr::null_mut();
        let side = match side {
            0 => Side::A,
            1 => Side::B,
            other => {
                return Err(
                    Error::invalid("side", format!("{other} is neither ZIPC_SIDE_A (0) nor ZIPC_SIDE_B (1)")).into()
                )
            }
        };
        hand_out(out, SideHandle(Exclusive::new(e.0.side(side)?, "endpoint side")))
    })
}

/// Closes a side, releasing it (NULL is fine).
#[cfg_attr(feature = "ffi", no_mangle)]
pub unsafe extern "C" fn zipc_side_close(s: *mut SideHandle) {
    value((), || {
        // SAFETY: module contract; the handle is not used again.
        unsafe { free(s) };
        Some(())
    })
}

/// Sends one element if the outgoing queue has room: `ZIPC_OK` or `ZIPC_AGAIN`.
#[cfg_attr(feature = "ffi", no_mangle)]
pub unsafe extern "C" fn zipc_side_try_send(s: *mut SideHandle, elem: *const c_void, size: usize) -> Status {
    call(|| {
        // SAFETY: module contract.
        let (s, src) = unsafe { (obj(s, "s")?, input(elem, size, "elem")?) };
        s.0.with(|s| again(s.try_send(src)?))
    })
}

/// Sends one element, waiting at most `timeout_ns` for room.
#[cfg_attr(feature = "ffi", no_mangle)]
pub unsafe extern "C" fn zipc_side_send(
    s: *mut SideHandle,
    elem: *const c_void,
    size: usize,
    timeout_ns: i64,
) -> Status {
    call(|| {
        // SAFETY: module contract.
        let (s, src) = unsafe { (obj(s, "s")?, input(elem, size, "elem")?) };
        s.0.with(|s| {
            s.send(src, timeout(timeout_ns))?;
            Ok(Status::Ok)
        })
    })
}

/// Sends up to `count` elements (as `zipc_producer_push_bulk`).
#[cfg_attr(feature = "ffi", no_mangle)]
pub unsafe extern "C" fn zipc_side_send_bulk(
    s: *mut SideHandle,
    elems: *const c_void,
    count: usize,
    size: usize,
    timeout_ns: i64,
    sent: *mut usize,
) -> Status {
    call(|| {
        // SAFETY: module contract.
        let (s, sent) = unsafe { (obj(s, "s")?, super::out(sent, "sent")?) };
        *sent = 0;
        // SAFETY: module contract.
        let src = unsafe { input(elems, byte_len(count, size)?, "elems") }?;
        s.0.with(|s| {
            check_size(size, s.elem_size())?;
            *sent = bulk_in(src, size, timeout_ns, |b, step| match step {
                Step::Bulk => s.send_bulk(b),
                Step::One(t) => s.send(b, t).map(|()| 1),
            })?;
            bulk_status(*sent, count, timeout_ns)
        })
    })
}

/// Receives one element into `out` if there is one: `ZIPC_OK` or `ZIPC_AGAIN`.
#[cfg_attr(feature = "ffi", no_mangle)]
pub unsafe extern "C" fn zipc_side_try_recv(s: *mut SideHandle, out: *mut c_void, size: usize) -> Status {
    call(|| {
        // SAFETY: module contract.
        let (s, dst) = unsafe { (obj(s, "s")?, output(out, size, "out")?) };
        s.0.with(|s| again(s.try_recv(dst)?))
    })
}

/// Receives one element into `out`, waiting at most `timeout_ns` for one.
#[cfg_attr(feature = "ffi", no_mangle)]
pub unsafe extern "C" fn zipc_side_recv(s: *mut SideHandle, out: *mut c_void, size: usize, timeout_ns: i64) -> Status {
    call(|| {
        // SAFETY: module contract.
        let (s, dst) = unsafe { (obj(s, "s")?, output(out, size, "out")?) };
        s.0.with(|s| {
            s.recv(dst, timeout(timeout_ns))?;
            Ok(Status::Ok)
        })
    })
}

/// Receives up to `max` elements (as `zipc_consumer_pop_bulk`).
#[cfg_attr(feature = "ffi", no_mangle)]
pub unsafe extern "C" fn zipc_side_recv_bulk(
    s: *mut SideHandle,
    out: *mut c_void,
    max: usize,
    size: usize,
    timeout_ns: i64,
    received: *mut usize,
) -> Status {
    call(|| {
        // SAFETY: module contract.
        let (s, received) = unsafe { (obj(s, "s")?, super::out(received, "received")?) };
        *received = 0;
        // SAFETY: module contract.
        let dst = unsafe { output(out, byte_len(max, size)?, "out") }?;
        s.0.with(|s| {
            check_size(size, s.elem_size())?;
            *received = bulk_out(dst, size, timeout_ns, |d, step| match step {
                Step::Bulk => s.recv_bulk(d),
                Step::One(t) => s.recv(d, t).map(|()| 1),
            })?;
            bulk_status(*received, max, timeout_ns)
        })
    })
}

// ---------------------------------------------------------------------------------------------
// Rings
// ---------------------------------------------------------------------------------------------

/// Opens ring `name` (elements as for `zipc_queue_open`). The handle observes.
#[cfg_attr(feature = "ffi", no_mangle)]
pub unsafe extern "C" fn zipc_ring_open(
    seg: *const SegmentHandle,
    name: *const c_char,
    elem_size: usize,
    layout: *const c_char,
    out: *mut *mut RingHandle,
) -> Status {
    call(|| {
        // SAFETY: module contract.
        let ((seg, name, out), spec) = unsafe { (open_args(seg, name, out)?, spec(elem_size, layout)?) };
        hand_out(out, RingHandle(DynRing::open(seg, name, spec)?))
    })
}

/// Closes a ring handle (NULL is fine).
#[cfg_attr(feature = "ffi", no_mangle)]
pub unsafe extern "C" fn zipc_ring_close(r: *mut RingHandle) {
    value((), || {
        // SAFETY: module contract; the handle is not used again.
        unsafe { free(r) };
        Some(())
    })
}

/// Number of slots (0 for NULL).
#[cfg_attr(feature = "ffi", no_mangle)]
pub unsafe extern "C" fn zipc_ring_capacity(r: *const RingHandle) -> u64 {
    value(0, || {
        // SAFETY: module contract.
        unsafe { r.as_ref() }.map(|r| r.0.capacity())
    })
}

/// 1 if the ring overwrites when full, 0 if it is lossless (or for NULL).
#[cfg_attr(feature = "ffi", no_mangle)]
pub unsafe extern "C" fn zipc_ring_overwrites(r: *const RingHandle) -> c_int {
    value(0, || {
        // SAFETY: module contract.
        unsafe { r.as_ref() }.map(|r| c_int::from(r.0.mode() == RingMode::Overwrite))
    })
}

/// Elements pushed since creation (0 for NULL).
#[cfg_attr(feature = "ffi", no_mangle)]
pub unsafe extern "C" fn zipc_ring_total_written(r: *const RingHandle) -> u64 {
    value(0, || {
        // SAFETY: module contract.
        unsafe { r.as_ref() }.map(|r| r.0.total_written())
    })
}

/// Elements the consumer returned (0 for NULL).
#[cfg_attr(feature = "ffi", no_mangle)]
pub unsafe extern "C" fn zipc_ring_total_read(r: *const RingHandle) -> u64 {
    value(0, || {
        // SAFETY: module contract.
        unsafe { r.as_ref() }.map(|r| r.0.total_read())
    })
}

/// Elements the consumer skipped because they were overwritten (0 for NULL).
#[cfg_attr(feature = "ffi", no_mangle)]
pub unsafe extern "C" fn zipc_ring_total_missed(r: *const RingHandle) -> u64 {
    value(0, || {
        // SAFETY: module contract.
        unsafe { r.as_ref() }.map(|r| r.0.total_missed())
    })
}

/// Elements lost because a consumer died in the middle of a pop (0 for NULL).
#[cfg_attr(feature = "ffi", no_mangle)]
pub unsafe extern "C" fn zipc_ring_total_lost(r: *const RingHandle) -> u64 {
    value(0, || {
        // SAFETY: module contract.
        unsafe { r.as_ref() }.map(|r| r.0.total_lost())
    })
}

/// Elements written and not yet passed by the consumer (0 for NULL).
#[cfg_attr(feature = "ffi", no_mangle)]
pub unsafe extern "C" fn zipc_ring_len(r: *const RingHandle) -> u64 {
    value(0, || {
        // SAFETY: module contract.
        unsafe { r.as_ref() }.map(|r| r.0.len())
    })
}

/// Copies the newest elements, at most `max`, into `out` (oldest first); `*got` says how many.
#[cfg_attr(feature = "ffi", no_mangle)]
pub unsafe extern "C" fn zipc_ring_get_last_n(
    r: *const RingHandle,
    out: *mut c_void,
    max: usize,
    size: usize,
    got: *mut usize,
) -> Status {
    call(|| {
        // SAFETY: module contract.
        let (r, got) = unsafe { (obj(r, "r")?, super::out(got, "got")?) };
        *got = 0;
        check_size(size, r.0.elem_size())?;
        // SAFETY: module contract.
        let dst = unsafe { output(out, byte_len(max, size)?, "out") }?;
        *got = r.0.get_last_n(dst)?;
        Ok(Status::Ok)
    })
}

/// Claims the producer role of a ring.
#[cfg_attr(feature = "ffi", no_mangle)]
pub unsafe extern "C" fn zipc_ring_open_producer(r: *const RingHandle, out: *mut *mut RingProducerHandle) -> Status {
    call(|| {
        // SAFETY: module contract.
        let (r, out) = unsafe { (obj(r, "r")?, super::out(out, "out")?) };
        *out = ptr::null_mut();
        hand_out(out, RingProducerHandle(Exclusive::new(r.0.producer()?, "ring producer")))
    })
}

/// Claims the consumer role of a ring.
#[cfg_attr(feature = "ffi", no_mangle)]
pub unsafe extern "C" fn zipc_ring_open_consumer(r: *const RingHandle, out: *mut *mut RingConsumerHandle) -> Status {
    call(|| {
        // SAFETY: module contract.
        let (r, out) = unsafe { (obj(r, "r")?, super::out(out, "out")?) };
        *out = ptr::null_mut();
        hand_out(out, RingConsumerHandle(Exclusive::new(r.0.consumer()?, "ring consumer")))
    })
}

/// Closes a ring producer, releasing the role (NULL is fine).
#[cfg_attr(feature = "ffi", no_mangle)]
pub unsafe extern "C" fn zipc_ring_producer_close(p: *mut RingProducerHandle) {
    value((), || {
        // SAFETY: module contract; the handle is not used again.
        unsafe { free(p) };
        Some(())
    })
}

/// Closes a ring consumer, releasing the role (NULL is fine).
#[cfg_attr(feature = "ffi", no_mangle)]
pub unsafe extern "C" fn zipc_ring_consumer_close(c: *mut RingConsumerHandle) {
    value((), || {
        // SAFETY: module contract; the handle is not used again.
        unsafe { free(c) };
        Some(())
    })
}

/// Pushes one element if there is room (always, in overwrite mode): `ZIPC_OK` or `ZIPC_AGAIN`.
#[cfg_attr(feature = "ffi", no_mangle)]
pub unsafe extern "C" fn zipc_ring_try_push(p: *mut RingProducerHandle, elem: *const c_void, size: usize) -> Status {
    call(|| {
        // SAFETY: module contract.
        let (p, src) = unsafe { (obj(p, "p")?, input(elem, size, "elem")?) };
        p.0.with(|p| again(p.try_push(src)?))
    })
}

/// Pushes one element, waiting at most `timeout_ns` for room.
#[cfg_attr(feature = "ffi", no_mangle)]
pub unsafe extern "C" fn zipc_ring_push(
    p: *mut RingProducerHandle,
    elem: *const c_void,
    size: usize,
    timeout_ns: i64,
) -> Status {
    call(|| {
        // SAFETY: module contract.
        let (p, src) = unsafe { (obj(p, "p")?, input(elem, size, "elem")?) };
        p.0.with(|p| {
            p.push(src, timeout(timeout_ns))?;
            Ok(Status::Ok)
        })
    })
}

/// Pushes up to `count` elements in one batch: as many as fit (all, in overwrite mode); if none
/// fits and `timeout_ns` is not 0, waits at most that long for room. `*pushed` says how many;
/// `ZIPC_AGAIN` if none and `timeout_ns` is 0.
#[cfg_attr(feature = "ffi", no_mangle)]
pub unsafe extern "C" fn zipc_ring_push_bulk(
    p: *mut RingProducerHandle,
    elems: *const c_void,
    count: usize,
    size: usize,
    timeout_ns: i64,
    pushed: *mut usize,
) -> Status {
    call(|| {
        // SAFETY: module contract.
        let (p, pushed) = unsafe { (obj(p, "p")?, super::out(pushed, "pushed")?) };
        *pushed = 0;
        // SAFETY: module contract.
        let src = unsafe { input(elems, byte_len(count, size)?, "elems") }?;
        p.0.with(|p| {
            check_size(size, p.ring().elem_size())?;
            *pushed = if timeout_ns == 0 { p.try_push_bulk(src)? } else { p.push_bulk(src, timeout(timeout_ns))? };
            bulk_status(*pushed, count, timeout_ns)
        })
    })
}

/// Pops one element into `out` if there is one: `ZIPC_OK` or `ZIPC_AGAIN`.
#[cfg_attr(feature = "ffi", no_mangle)]
pub unsafe extern "C" fn zipc_ring_try_pop(c: *mut RingConsumerHandle, out: *mut c_void, size: usize) -> Status {
    call(|| {
        // SAFETY: module contract.
        let (c, dst) = unsafe { (obj(c, "c")?, output(out, size, "out")?) };
        c.0.with(|c| again(c.try_pop(dst)?))
    })
}

/// Pops one element into `out`, waiting at most `timeout_ns` for one.
#[cfg_attr(feature = "ffi", no_mangle)]
pub unsafe extern "C" fn zipc_ring_pop(
    c: *mut RingConsumerHandle,
    out: *mut c_void,
    size: usize,
    timeout_ns: i64,
) -> Status {
    call(|| {
        // SAFETY: module contract.
        let (c, dst) = unsafe { (obj(c, "c")?, output(out, size, "out")?) };
        c.0.with(|c| {
            c.pop(dst, timeout(timeout_ns))?;
            Ok(Status::Ok)
        })
    })
}

/// Pops up to `max` elements in one batch into `out`; if none and `timeout_ns` is not 0, waits
/// at most that long. `*popped` says how many; `ZIPC_AGAIN` if none and `timeout_ns` is 0.
#[cfg_attr(feature = "ffi", no_mangle)]
pub unsafe extern "C" fn zipc_ring_pop_bulk(
    c: *mut RingConsumerHandle,
    out: *mut c_void,
    max: usize,
    size: usize,
    timeout_ns: i64,
    popped: *mut usize,
) -> Status {
    call(|| {
        // SAFETY: module contract.
        let (c, popped) = unsafe { (obj(c, "c")?, super::out(popped, "popped")?) };
        *popped = 0;
        // SAFETY: module contract.
        let dst = unsafe { output(out, byte_len(max, size)?, "out") }?;
        c.0.with(|c| {
            check_size(size, c.ring().elem_size())?;
            *popped = if timeout_ns == 0 { c.try_pop_bulk(dst)? } else { c.pop_bulk(dst, timeout(timeout_ns))? };
            bulk_status(*popped, max, timeout_ns)
        })
    })
}

/// Copies the element the next pop would return into `out` without consuming it: `ZIPC_OK` or
/// `ZIPC_AGAIN`.
#[cfg_attr(feature = "ffi", no_mangle)]
pub unsafe extern "C" fn zipc_ring_peek(c: *mut RingConsumerHandle, out: *mut c_void, size: usize) -> Status {
    call(|| {
        // SAFETY: module contract.
        let (c, dst) = unsafe { (obj(c, "c")?, output(out, size, "out")?) };
        c.0.with(|c| again(c.peek(dst)?))
    })
}

/// Elements this consumer's ring skipped because they were overwritten (0 for NULL, or while
/// another thread uses the handle).
#[cfg_attr(feature = "ffi", no_mangle)]
pub unsafe extern "C" fn zipc_ring_missed(c: *mut RingConsumerHandle) -> u64 {
    value(0, || {
        // SAFETY: module contract.
        unsafe { c.as_ref() }.map(|c| c.0.with(|c| Ok(c.missed())).unwrap_or(0))
    })
}

/// Elements a dead predecessor's pop held when this consumer took the role over (as
/// `zipc_consumer_lost_on_takeover`).
#[cfg_attr(feature = "ffi", no_mangle)]
pub unsafe extern "C" fn zipc_ring_lost_on_takeover(c: *mut RingConsumerHandle) -> u64 {
    value(0, || {
        // SAFETY: module contract.
        unsafe { c.as_ref() }.map(|c| c.0.with(|c| Ok(c.lost_on_takeover())).unwrap_or(0))
    })
}

/// A size argument of a bulk call must be the element size.
fn check_size(size: usize, elem: usize) -> Outcome<()> {
    if size == elem {
        Ok(())
    } else {
        Err(Error::invalid(
            "element size",
            format!("{size} bytes were passed as the element size, but the structure holds {elem}-byte elements"),
        )
        .into())
    }
}

// ---------------------------------------------------------------------------------------------
// Pools
// ---------------------------------------------------------------------------------------------

/// Opens pool `name` (objects as for `zipc_queue_open`'s elements).
#[cfg_attr(feature = "ffi", no_mangle)]
pub unsafe extern "C" fn zipc_pool_open(
    seg: *const SegmentHandle,
    name: *const c_char,
    elem_size: usize,
    layout: *const c_char,
    out: *mut *mut PoolHandle,
) -> Status {
    call(|| {
        // SAFETY: module contract.
        let ((seg, name, out), spec) = unsafe { (open_args(seg, name, out)?, spec(elem_size, layout)?) };
        hand_out(out, PoolHandle(DynPool::open(seg, name, spec)?))
    })
}

/// Closes a pool handle (NULL is fine). Acquired objects stay acquired.
#[cfg_attr(feature = "ffi", no_mangle)]
pub unsafe extern "C" fn zipc_pool_close(p: *mut PoolHandle) {
    value((), || {
        // SAFETY: module contract; the handle is not used again.
        unsafe { free(p) };
        Some(())
    })
}

/// Number of objects (0 for NULL).
#[cfg_attr(feature = "ffi", no_mangle)]
pub unsafe extern "C" fn zipc_pool_capacity(p: *const PoolHandle) -> u64 {
    value(0, || {
        // SAFETY: module contract.
        unsafe { p.as_ref() }.map(|p| p.0.capacity())
    })
}

/// Objects acquired and not released, approximately (0 for NULL).
#[cfg_attr(feature = "ffi", no_mangle)]
pub unsafe extern "C" fn zipc_pool_allocated(p: *const PoolHandle) -> u64 {
    value(0, || {
        // SAFETY: module contract.
        unsafe { p.as_ref() }.map(|p| p.0.num_allocated())
    })
}

/// Acquires a free object: `ZIPC_OK` with its handle in `*out`, or `ZIPC_AGAIN` if none is free.
#[cfg_attr(feature = "ffi", no_mangle)]
pub unsafe extern "C" fn zipc_pool_try_acquire(p: *const PoolHandle, out: *mut Handle) -> Status {
    call(|| {
        // SAFETY: module contract.
        let (p, out) = unsafe { (obj(p, "p")?, super::out(out, "out")?) };
        match p.0.try_acquire()? {
            Some(h) => {
                *out = h;
                Ok(Status::Ok)
            }
            None => Ok(Status::Again),
        }
    })
}

/// Acquires a free object, waiting at most `timeout_ns` for a release.
#[cfg_attr(feature = "ffi", no_mangle)]
pub unsafe extern "C" fn zipc_pool_acquire(p: *const PoolHandle, timeout_ns: i64, out: *mut Handle) -> Status {
    call(|| {
        // SAFETY: module contract.
        let (p, out) = unsafe { (obj(p, "p")?, super::out(out, "out")?) };
        *out = p.0.acquire(timeout(timeout_ns))?;
        Ok(Status::Ok)
    })
}

/// Releases an object (`ZIPC_ERR_STALE_HANDLE` if it was released already).
#[cfg_attr(feature = "ffi", no_mangle)]
pub unsafe extern "C" fn zipc_pool_release(p: *const PoolHandle, handle: Handle) -> Status {
    call(|| {
        // SAFETY: module contract.
        let p = unsafe { obj(p, "p") }?;
        p.0.release(handle)?;
        Ok(Status::Ok)
    })
}

/// 1 if `handle` names a live object, 0 otherwise (or for NULL).
#[cfg_attr(feature = "ffi", no_mangle)]
pub unsafe extern "C" fn zipc_pool_is_live(p: *const PoolHandle, handle: Handle) -> c_int {
    value(0, || {
        // SAFETY: module contract.
        unsafe { p.as_ref() }.map(|p| c_int::from(p.0.is_live(handle)))
    })
}

/// Makes this process the owner of `handle`, received from another process: the object is then
/// reclaimed if this process dies, not its sender (`ZIPC_ERR_STALE_HANDLE` if it is stale, also
/// if it was reclaimed already).
#[cfg_attr(feature = "ffi", no_mangle)]
pub unsafe extern "C" fn zipc_pool_adopt(p: *const PoolHandle, handle: Handle) -> Status {
    call(|| {
        // SAFETY: module contract.
        let p = unsafe { obj(p, "p") }?;
        p.0.adopt(handle)?;
        Ok(Status::Ok)
    })
}

/// Releases every object whose owner died; returns how many (0 for NULL).
#[cfg_attr(feature = "ffi", no_mangle)]
pub unsafe extern "C" fn zipc_pool_reclaim_dead(p: *const PoolHandle) -> u64 {
    value(0, || {
        // SAFETY: module contract.
        unsafe { p.as_ref() }.map(|p| p.0.reclaim_dead())
    })
}

/// Copies the object into `out` (`size` must be the object size).
#[cfg_attr(feature = "ffi", no_mangle)]
pub unsafe extern "C" fn zipc_pool_read(p: *const PoolHandle, handle: Handle, out: *mut c_void, size: usize) -> Status {
    call(|| {
        // SAFETY: module contract.
        let (p, dst) = unsafe { (obj(p, "p")?, output(out, size, "out")?) };
        p.0.read(handle, dst)?;
        Ok(Status::Ok)
    })
}

/// Overwrites the object with `elem` (`size` must be the object size).
#[cfg_attr(feature = "ffi", no_mangle)]
pub unsafe extern "C" fn zipc_pool_write(
    p: *const PoolHandle,
    handle: Handle,
    elem: *const c_void,
    size: usize,
) -> Status {
    call(|| {
        // SAFETY: module contract.
        let (p, src) = unsafe { (obj(p, "p")?, input(elem, size, "elem")?) };
        p.0.write(handle, src)?;
        Ok(Status::Ok)
    })
}

/// Sets `*out` to the object's address, for zero-copy access while the handle is live.
#[cfg_attr(feature = "ffi", no_mangle)]
pub unsafe extern "C" fn zipc_pool_ptr(p: *const PoolHandle, handle: Handle, out: *mut *mut c_void) -> Status {
    call(|| {
        // SAFETY: module contract.
        let (p, out) = unsafe { (obj(p, "p")?, super::out(out, "out")?) };
        *out = p.0.as_ptr(handle)?.cast();
        Ok(Status::Ok)
    })
}

// ---------------------------------------------------------------------------------------------
// Arrays
// ---------------------------------------------------------------------------------------------

/// Opens array `name` (elements as for `zipc_queue_open`).
#[cfg_attr(feature = "ffi", no_mangle)]
pub unsafe extern "C" fn zipc_array_open(
    seg: *const SegmentHandle,
    name: *const c_char,
    elem_size: usize,
    layout: *const c_char,
    out: *mut *mut ArrayHandle,
) -> Status {
    call(|| {
        // SAFETY: module contract.
        let ((seg, name, out), spec) = unsafe { (open_args(seg, name, out)?, spec(elem_size, layout)?) };
        hand_out(out, ArrayHandle(DynArray::open(seg, name, spec)?))
    })
}

/// Closes an array handle (NULL is fine).
#[cfg_attr(feature = "ffi", no_mangle)]
pub unsafe extern "C" fn zipc_array_close(a: *mut ArrayHandle) {
    value((), || {
        // SAFETY: module contract; the handle is not used again.
        unsafe { free(a) };
        Some(())
    })
}

/// Number of elements (0 for NULL).
#[cfg_attr(feature = "ffi", no_mangle)]
pub unsafe extern "C" fn zipc_array_len(a: *const ArrayHandle) -> u64 {
    value(0, || {
        // SAFETY: module contract.
        unsafe { a.as_ref() }.map(|a| a.0.len())
    })
}

/// The first element's address, valid while the array's segment is mapped by this process
/// (NULL for NULL). The memory is shared and unsynchronised.
#[cfg_attr(feature = "ffi", no_mangle)]
pub unsafe extern "C" fn zipc_array_data(a: *const ArrayHandle) -> *mut c_void {
    value(ptr::null_mut(), || {
        // SAFETY: module contract.
        unsafe { a.as_ref() }.map(|a| a.0.as_ptr().cast())
    })
}

/// Copies element `index` into `out`.
#[cfg_attr(feature = "ffi", no_mangle)]
pub unsafe extern "C" fn zipc_array_get(a: *const ArrayHandle, index: u64, out: *mut c_void, size: usize) -> Status {
    call(|| {
        // SAFETY: module contract.
        let (a, dst) = unsafe { (obj(a, "a")?, output(out, size, "out")?) };
        a.0.get(index, dst)?;
        Ok(Status::Ok)
    })
}

/// Overwrites element `index` with `elem`.
#[cfg_attr(feature = "ffi", no_mangle)]
pub unsafe extern "C" fn zipc_array_set(a: *const ArrayHandle, index: u64, elem: *const c_void, size: usize) -> Status {
    call(|| {
        // SAFETY: module contract.
        let (a, src) = unsafe { (obj(a, "a")?, input(elem, size, "elem")?) };
        a.0.set(index, src)?;
        Ok(Status::Ok)
    })
}

/// Copies `count` elements from `start` into `out`.
#[cfg_attr(feature = "ffi", no_mangle)]
pub unsafe extern "C" fn zipc_array_read(
    a: *const ArrayHandle,
    start: u64,
    out: *mut c_void,
    count: usize,
    size: usize,
) -> Status {
    call(|| {
        // SAFETY: module contract.
        let a = unsafe { obj(a, "a") }?;
        check_size(size, a.0.elem_size())?;
        // SAFETY: module contract.
        let dst = unsafe { output(out, byte_len(count, size)?, "out") }?;
        a.0.read_at(start, dst)?;
        Ok(Status::Ok)
    })
}

/// Copies `count` elements from `elems` into the array from `start`.
#[cfg_attr(feature = "ffi", no_mangle)]
pub unsafe extern "C" fn zipc_array_write(
    a: *const ArrayHandle,
    start: u64,
    elems: *const c_void,
    count: usize,
    size: usize,
) -> Status {
    call(|| {
        // SAFETY: module contract.
        let a = unsafe { obj(a, "a") }?;
        check_size(size, a.0.elem_size())?;
        // SAFETY: module contract.
        let src = unsafe { input(elems, byte_len(count, size)?, "elems") }?;
        a.0.write_at(start, src)?;
        Ok(Status::Ok)
    })
}

// ---------------------------------------------------------------------------------------------
// Atomics
// ---------------------------------------------------------------------------------------------

/// Opens atomic `name`, whatever its value type (see `zipc_atomic_type`).
#[cfg_attr(feature = "ffi", no_mangle)]
pub unsafe extern "C" fn zipc_atomic_open(
    seg: *const SegmentHandle,
    name: *const c_char,
    out: *mut *mut AtomicHandle,
) -> Status {
    call(|| {
        // SAFETY: module contract.
        let (seg, name, out) = unsafe { open_args(seg, name, out) }?;
        hand_out(out, AtomicHandle(DynAtomic::open(seg, name)?))
    })
}

/// Closes an atomic handle (NULL is fine).
#[cfg_attr(feature = "ffi", no_mangle)]
pub unsafe extern "C" fn zipc_atomic_close(a: *mut AtomicHandle) {
    value((), || {
        // SAFETY: module contract; the handle is not used again.
        unsafe { free(a) };
        Some(())
    })
}

/// The value type: a `ZIPC_PRIMITIVE_*` code (0 for NULL).
#[cfg_attr(feature = "ffi", no_mangle)]
pub unsafe extern "C" fn zipc_atomic_type(a: *const AtomicHandle) -> u32 {
    value(0, || {
        // SAFETY: module contract.
        unsafe { a.as_ref() }.map(|a| a.0.primitive().code())
    })
}

/// The value's address, for `__atomic` builtins (NULL for NULL).
#[cfg_attr(feature = "ffi", no_mangle)]
pub unsafe extern "C" fn zipc_atomic_ptr(a: *const AtomicHandle) -> *mut c_void {
    value(ptr::null_mut(), || {
        // SAFETY: module contract.
        unsafe { a.as_ref() }.map(|a| a.0.as_ptr().cast())
    })
}

/// Loads the value (as `int64_t` bits) into `*out`.
#[cfg_attr(feature = "ffi", no_mangle)]
pub unsafe extern "C" fn zipc_atomic_load(a: *const AtomicHandle, out: *mut i64) -> Status {
    call(|| {
        // SAFETY: module contract.
        let (a, out) = unsafe { (obj(a, "a")?, super::out(out, "out")?) };
        *out = a.0.load();
        Ok(Status::Ok)
    })
}

/// Stores a value.
#[cfg_attr(feature = "ffi", no_mangle)]
pub unsafe extern "C" fn zipc_atomic_store(a: *const AtomicHandle, v: i64) -> Status {
    call(|| {
        // SAFETY: module contract.
        let a = unsafe { obj(a, "a") }?;
        a.0.store(v);
        Ok(Status::Ok)
    })
}

/// Adds `v` (wrapping); the previous value goes to `*previous` unless it is NULL.
#[cfg_attr(feature = "ffi", no_mangle)]
pub unsafe extern "C" fn zipc_atomic_fetch_add(a: *const AtomicHandle, v: i64, previous: *mut i64) -> Status {
    call(|| {
        // SAFETY: module contract.
        let (a, prev) = unsafe { (obj(a, "a")?, opt_out(previous)) };
        let p = a.0.fetch_add(v);
        if let Some(prev) = prev {
            *prev = p;
        }
        Ok(Status::Ok)
    })
}

/// Subtracts `v` (wrapping); the previous value goes to `*previous` unless it is NULL.
#[cfg_attr(feature = "ffi", no_mangle)]
pub unsafe extern "C" fn zipc_atomic_fetch_sub(a: *const AtomicHandle, v: i64, previous: *mut i64) -> Status {
    call(|| {
        // SAFETY: module contract.
        let (a, prev) = unsafe { (obj(a, "a")?, opt_out(previous)) };
        let p = a.0.fetch_sub(v);
        if let Some(prev) = prev {
            *prev = p;
        }
        Ok(Status::Ok)
    })
}

/// Replaces the value; the previous one goes to `*previous` unless it is NULL.
#[cfg_attr(feature = "ffi", no_mangle)]
pub unsafe extern "C" fn zipc_atomic_swap(a: *const AtomicHandle, v: i64, previous: *mut i64) -> Status {
    call(|| {
        // SAFETY: module contract.
        let (a, prev) = unsafe { (obj(a, "a")?, opt_out(previous)) };
        let p = a.0.swap(v);
        if let Some(prev) = prev {
            *prev = p;
        }
        Ok(Status::Ok)
    })
}

/// Replaces the value with `desired` if it equals `expected`: `ZIPC_OK` if it did, `ZIPC_AGAIN`
/// if not; the value found goes to `*actual` unless it is NULL.
#[cfg_attr(feature = "ffi", no_mangle)]
pub unsafe extern "C" fn zipc_atomic_compare_exchange(
    a: *const AtomicHandle,
    expected: i64,
    desired: i64,
    actual: *mut i64,
) -> Status {
    call(|| {
        // SAFETY: module contract.
        let (a, act) = unsafe { (obj(a, "a")?, opt_out(actual)) };
        let r = a.0.compare_exchange(expected, desired);
        if let Some(act) = act {
            *act = match r {
                Ok(v) | Err(v) => v,
            };
        }
        again(r.is_ok())
    })
}

/// Blocks while the value equals `expected` (32-bit atomics), at most `timeout_ns`.
#[cfg_attr(feature = "ffi", no_mangle)]
pub unsafe extern "C" fn zipc_atomic_wait(a: *const AtomicHandle, expected: i64, timeout_ns: i64) -> Status {
    call(|| {
        // SAFETY: module contract.
        let a = unsafe { obj(a, "a") }?;
        a.0.wait(expected, timeout(timeout_ns))?;
        Ok(Status::Ok)
    })
}

/// Wakes waiters of a 32-bit atomic: one if `all` is 0, every one otherwise.
#[cfg_attr(feature = "ffi", no_mangle)]
pub unsafe extern "C" fn zipc_atomic_wake(a: *const AtomicHandle, all: c_int) -> Status {
    call(|| {
        // SAFETY: module contract.
        let a = unsafe { obj(a, "a") }?;
        if all != 0 {
            a.0.wake_all()?;
        } else {
            a.0.wake_one()?;
        }
        Ok(Status::Ok)
    })
}

// ---------------------------------------------------------------------------------------------
// Sync primitives
// ---------------------------------------------------------------------------------------------

macro_rules! opener {
    ($(#[$m:meta])* $open:ident, $close:ident, $handle:ident, $ty:ident) => {
        $(#[$m])*
        #[cfg_attr(feature = "ffi", no_mangle)]
        pub unsafe extern "C" fn $open(seg: *const SegmentHandle, name: *const c_char, out: *mut *mut $handle) -> Status {
            call(|| {
                // SAFETY: module contract.
                let (seg, name, out) = unsafe { open_args(seg, name, out) }?;
                hand_out(out, $handle($ty::open(seg, name)?))
            })
        }

        /// Closes the handle (NULL is fine).
        #[cfg_attr(feature = "ffi", no_mangle)]
        pub unsafe extern "C" fn $close(h: *mut $handle) {
            value((), || {
                // SAFETY: module contract; the handle is not used again.
                unsafe { free(h) };
                Some(())
            })
        }
    };
}

opener!(
    /// Opens semaphore `name`.
    zipc_semaphore_open, zipc_semaphore_close, SemaphoreHandle, Semaphore
);
opener!(
    /// Opens barrier `name`.
    zipc_barrier_open, zipc_barrier_close, BarrierHandle, Barrier
);
opener!(
    /// Opens latch `name`.
    zipc_latch_open, zipc_latch_close, LatchHandle, Latch
);
opener!(
    /// Opens mutex `name`.
    zipc_mutex_open, zipc_mutex_close, MutexHandle, Mutex
);
opener!(
    /// Opens event `name`.
    zipc_event_open, zipc_event_close, EventHandle, Event
);

/// Takes a permit, waiting at most `timeout_ns` for one. The permit is returned with
/// `zipc_semaphore_release`, by any thread or process.
#[cfg_attr(feature = "ffi", no_mangle)]
pub unsafe extern "C" fn zipc_semaphore_acquire(s: *const SemaphoreHandle, timeout_ns: i64) -> Status {
    call(|| {
        // SAFETY: module contract.
        let s = unsafe { obj(s, "s") }?;
        let guard = match timeout(timeout_ns) {
            None => s.0.acquire()?,
            Some(t) => s.0.acquire_timeout(t)?,
        };
        guard.forget();
        Ok(Status::Ok)
    })
}

/// Takes a permit if one is free: `ZIPC_OK` or `ZIPC_AGAIN`.
#[cfg_attr(feature = "ffi", no_mangle)]
pub unsafe extern "C" fn zipc_semaphore_try_acquire(s: *const SemaphoreHandle) -> Status {
    call(|| {
        // SAFETY: module contract.
        let s = unsafe { obj(s, "s") }?;
        match s.0.try_acquire() {
            Some(guard) => {
                guard.forget();
                Ok(Status::Ok)
            }
            None => Ok(Status::Again),
        }
    })
}

/// Returns a permit (`ZIPC_ERR_ABOVE_MAXIMUM` if that would exceed the maximum).
#[cfg_attr(feature = "ffi", no_mangle)]
pub unsafe extern "C" fn zipc_semaphore_release(s: *const SemaphoreHandle) -> Status {
    call(|| {
        // SAFETY: module contract.
        let s = unsafe { obj(s, "s") }?;
        s.0.release()?;
        Ok(Status::Ok)
    })
}

/// The free permits now (0 for NULL).
#[cfg_attr(feature = "ffi", no_mangle)]
pub unsafe extern "C" fn zipc_semaphore_count(s: *const SemaphoreHandle) -> u32 {
    value(0, || {
        // SAFETY: module contract.
        unsafe { s.as_ref() }.map(|s| s.0.count())
    })
}

/// Waits until every participant has arrived, at most `timeout_ns` (a timed-out arrival is
/// withdrawn). `*is_leader` (unless NULL) is 1 for exactly one participant of each generation;
/// `*generation` (unless NULL) is the generation completed.
#[cfg_attr(feature = "ffi", no_mangle)]
pub unsafe extern "C" fn zipc_barrier_wait(
    b: *const BarrierHandle,
    timeout_ns: i64,
    is_leader: *mut c_int,
    generation: *mut u32,
) -> Status {
    call(|| {
        // SAFETY: module contract.
        let (b, leader, gen) = unsafe { (obj(b, "b")?, opt_out(is_leader), opt_out(generation)) };
        let r = match timeout(timeout_ns) {
            None => b.0.wait()?,
            Some(t) => b.0.wait_timeout(t)?,
        };
        if let Some(l) = leader {
            *l = c_int::from(r.is_leader());
        }
        if let Some(g) = gen {
            *g = r.generation();
        }
        Ok(Status::Ok)
    })
}

/// The number of participants (0 for NULL).
#[cfg_attr(feature = "ffi", no_mangle)]
pub unsafe extern "C" fn zipc_barrier_participants(b: *const BarrierHandle) -> u32 {
    value(0, || {
        // SAFETY: module contract.
        unsafe { b.as_ref() }.map(|b| b.0.participants())
    })
}

/// Counts down by `n` (saturating at 0); the count after goes to `*remaining` unless NULL.
#[cfg_attr(feature = "ffi", no_mangle)]
pub unsafe extern "C" fn zipc_latch_count_down(l: *const LatchHandle, n: u32, remaining: *mut u32) -> Status {
    call(|| {
        // SAFETY: module contract.
        let (l, rem) = unsafe { (obj(l, "l")?, opt_out(remaining)) };
        let r = l.0.count_down(n);
        if let Some(rem) = rem {
            *rem = r;
        }
        Ok(Status::Ok)
    })
}

/// Waits until the count is 0, at most `timeout_ns`.
#[cfg_attr(feature = "ffi", no_mangle)]
pub unsafe extern "C" fn zipc_latch_wait(l: *const LatchHandle, timeout_ns: i64) -> Status {
    call(|| {
        // SAFETY: module contract.
        let l = unsafe { obj(l, "l") }?;
        match timeout(timeout_ns) {
            None => l.0.wait()?,
            Some(t) => l.0.wait_timeout(t)?,
        }
        Ok(Status::Ok)
    })
}

/// `ZIPC_OK` if the count is 0, `ZIPC_AGAIN` otherwise.
#[cfg_attr(feature = "ffi", no_mangle)]
pub unsafe extern "C" fn zipc_latch_try_wait(l: *const LatchHandle) -> Status {
    call(|| {
        // SAFETY: module contract.
        let l = unsafe { obj(l, "l") }?;
        again(l.0.try_wait())
    })
}

/// The count now (0 for NULL).
#[cfg_attr(feature = "ffi", no_mangle)]
pub unsafe extern "C" fn zipc_latch_count(l: *const LatchHandle) -> u32 {
    value(0, || {
        // SAFETY: module contract.
        unsafe { l.as_ref() }.map(|l| l.0.count())
    })
}

/// Locks, waiting at most `timeout_ns`. `*owner_died` (unless NULL) is 1 if the previous holder
/// died inside its critical section: repair, then `zipc_mutex_mark_consistent`. Unlock with
/// `zipc_mutex_unlock` from the same thread.
#[cfg_attr(feature = "ffi", no_mangle)]
pub unsafe extern "C" fn zipc_mutex_lock(m: *const MutexHandle, timeout_ns: i64, owner_died: *mut c_int) -> Status {
    call(|| {
        // SAFETY: module contract.
        let (m, died) = unsafe { (obj(m, "m")?, opt_out(owner_died)) };
        let guard = match timeout(timeout_ns) {
            None => m.0.lock()?,
            Some(t) => m.0.lock_timeout(t)?,
        };
        if let Some(d) = died {
            *d = c_int::from(guard.owner_died());
        }
        // Held until zipc_mutex_unlock (the guard is a Rust borrow; see Mutex::unlock_held).
        std::mem::forget(guard);
        Ok(Status::Ok)
    })
}

/// Locks if possible without waiting: `ZIPC_OK` or `ZIPC_AGAIN`; `*owner_died` as for
/// `zipc_mutex_lock`.
#[cfg_attr(feature = "ffi", no_mangle)]
pub unsafe extern "C" fn zipc_mutex_try_lock(m: *const MutexHandle, owner_died: *mut c_int) -> Status {
    call(|| {
        // SAFETY: module contract.
        let (m, died) = unsafe { (obj(m, "m")?, opt_out(owner_died)) };
        match m.0.try_lock()? {
            Some(guard) => {
                if let Some(d) = died {
                    *d = c_int::from(guard.owner_died());
                }
                std::mem::forget(guard);
                Ok(Status::Ok)
            }
            None => Ok(Status::Again),
        }
    })
}

/// Declares the state a dead holder left repaired (the calling thread holds the mutex).
#[cfg_attr(feature = "ffi", no_mangle)]
pub unsafe extern "C" fn zipc_mutex_mark_consistent(m: *const MutexHandle) -> Status {
    call(|| {
        // SAFETY: module contract.
        let m = unsafe { obj(m, "m") }?;
        m.0.mark_consistent_held()?;
        Ok(Status::Ok)
    })
}

/// Unlocks the mutex the calling thread holds.
#[cfg_attr(feature = "ffi", no_mangle)]
pub unsafe extern "C" fn zipc_mutex_unlock(m: *const MutexHandle) -> Status {
    call(|| {
        // SAFETY: module contract.
        let m = unsafe { obj(m, "m") }?;
        m.0.unlock_held()?;
        Ok(Status::Ok)
    })
}

/// Sets the event (wakes one waiter of an auto-reset event, every waiter of a manual one).
#[cfg_attr(feature = "ffi", no_mangle)]
pub unsafe extern "C" fn zipc_event_set(e: *const EventHandle) -> Status {
    call(|| {
        // SAFETY: module contract.
        let e = unsafe { obj(e, "e") }?;
        e.0.set();
        Ok(Status::Ok)
    })
}

/// Resets the event.
#[cfg_attr(feature = "ffi", no_mangle)]
pub unsafe extern "C" fn zipc_event_reset(e: *const EventHandle) -> Status {
    call(|| {
        // SAFETY: module contract.
        let e = unsafe { obj(e, "e") }?;
        e.0.reset();
        Ok(Status::Ok)
    })
}

/// Waits until the event is set, at most `timeout_ns` (an auto-reset event is consumed).
#[cfg_attr(feature = "ffi", no_mangle)]
pub unsafe extern "C" fn zipc_event_wait(e: *const EventHandle, timeout_ns: i64) -> Status {
    call(|| {
        // SAFETY: module contract.
        let e = unsafe { obj(e, "e") }?;
        match timeout(timeout_ns) {
            None => e.0.wait()?,
            Some(t) => e.0.wait_timeout(t)?,
        }
        Ok(Status::Ok)
    })
}

/// `ZIPC_OK` if the event is set (consuming an auto-reset one), `ZIPC_AGAIN` otherwise.
#[cfg_attr(feature = "ffi", no_mangle)]
pub unsafe extern "C" fn zipc_event_try_wait(e: *const EventHandle) -> Status {
    call(|| {
        // SAFETY: module contract.
        let e = unsafe { obj(e, "e") }?;
        again(e.0.try_wait())
    })
}

/// 1 if the event is set, 0 otherwise (or for NULL).
#[cfg_attr(feature = "ffi", no_mangle)]
pub unsafe extern "C" fn zipc_event_is_set(e: *const EventHandle) -> c_int {
    value(0, || {
        // SAFETY: module contract.
        unsafe { e.as_ref() }.map(|e| c_int::from(e.0.is_set()))
    })
}
