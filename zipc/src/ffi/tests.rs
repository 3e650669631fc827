//! The C ABI called from Rust as C would call it: statuses, messages, NULL arguments, caught
//! panics, role handles shared between threads, and interoperation with the typed API.

use std::ffi::{c_char, c_int, CStr, CString};
use std::ptr;

use super::handles::Exclusive;
use super::shell::{call, value};
use super::*;
use crate::{Barrier, Mpmc, Mutex, Queue, Ring, RingMode, Segment, Semaphore, Spsc};

struct Name(String);

impl Drop for Name {
    fn drop(&mut self) {
        let _ = Segment::unlink(&self.0);
    }
}

fn segment(tag: &str) -> (Name, Segment, CString) {
    let name = format!("/zipc-unit-ffi-{tag}-{}", std::process::id());
    let _ = Segment::unlink(&name);
    let seg = Segment::create(&name, 1 << 20).unwrap();
    let c = CString::new(name.clone()).unwrap();
    (Name(name), seg, c)
}

fn last_error() -> String {
    // SAFETY: the library returns a NUL-terminated string valid until this thread's next failure.
    unsafe { CStr::from_ptr(zipc_last_error()) }.to_string_lossy().into_owned()
}

fn open_segment(name: &CString) -> *mut SegmentHandle {
    let mut seg = ptr::null_mut();
    // SAFETY: valid string and output slot.
    assert_eq!(unsafe { zipc_segment_open(name.as_ptr(), &mut seg) }, Status::Ok, "{}", last_error());
    seg
}

#[test]
fn errors_carry_the_rust_status_and_message() {
    let missing = c"/zipc-unit-ffi-surely-missing";
    let mut seg = ptr::null_mut();
    // SAFETY: valid string and output slot.
    let st = unsafe { zipc_segment_open(missing.as_ptr(), &mut seg) };
    assert_eq!(st, Status::NotFound);
    assert!(seg.is_null());
    assert_eq!(zipc_last_status(), Status::NotFound);
    let rust = Segment::open("/zipc-unit-ffi-surely-missing").unwrap_err().to_string();
    assert_eq!(last_error(), rust, "the message is the Rust error's");

    // Every status has a C name and a description, through the exported lookups too.
    for s in Status::ALL {
        assert_eq!(Status::from_code(*s as i32), Some(*s));
        // SAFETY: static strings.
        let name = unsafe { CStr::from_ptr(zipc_status_name(*s as c_int)) }.to_str().unwrap();
        assert_eq!(name, s.c_name());
        assert!(name.starts_with("ZIPC_"));
        // SAFETY: as above.
        let text = unsafe { CStr::from_ptr(zipc_status_str(*s as c_int)) }.to_str().unwrap();
        assert_eq!(text, s.description());
        assert!(!text.is_empty());
    }
    // SAFETY: as above.
    assert_eq!(unsafe { CStr::from_ptr(zipc_status_name(999)) }.to_str().unwrap(), "ZIPC_UNKNOWN");
    assert_eq!(zipc_abi_version(), ABI_VERSION);
}

#[test]
fn null_arguments_are_refused_before_anything_happens() {
    let (_n, seg, name) = segment("null");
    let q = Queue::<u64, Mpmc>::create(&seg, "q", 4).unwrap();
    q.try_push(5).unwrap();
    let s = open_segment(&name);
    let mut qh = ptr::null_mut();
    // SAFETY: NULL where the library must detect it; otherwise valid arguments.
    unsafe {
        assert_eq!(zipc_queue_open(ptr::null(), c"q".as_ptr(), 8, ptr::null(), &mut qh), Status::Null);
        assert!(last_error().contains("`seg`"), "{}", last_error());
        assert_eq!(zipc_queue_open(s, ptr::null(), 8, ptr::null(), &mut qh), Status::Null);
        assert_eq!(zipc_queue_open(s, c"q".as_ptr(), 8, ptr::null(), ptr::null_mut()), Status::Null);
        assert_eq!(zipc_queue_open(s, c"q".as_ptr(), 8, c"u64".as_ptr(), &mut qh), Status::Ok);
        let mut c = ptr::null_mut();
        assert_eq!(zipc_queue_open_consumer(qh, &mut c), Status::Ok);
        // A NULL count pointer: the element must still be in the queue afterwards.
        let mut v = 0u64;
        let out = (&mut v as *mut u64).cast();
        assert_eq!(zipc_consumer_pop_bulk(c, out, 1, 8, 0, ptr::null_mut()), Status::Null);
        assert_eq!(zipc_consumer_try_pop(c, ptr::null_mut(), 8), Status::Null);
        assert_eq!(zipc_consumer_try_pop(c, out, 8), Status::Ok);
        assert_eq!(v, 5, "nothing was lost to the refused calls");
        assert_eq!(zipc_consumer_try_pop(c, out, 8), Status::Again);
        // Getters and closers accept NULL.
        assert_eq!(zipc_queue_capacity(ptr::null()), 0);
        zipc_consumer_close(ptr::null_mut());
        zipc_consumer_close(c);
        zipc_queue_close(qh);
        zipc_segment_close(s);
    }
}

#[test]
fn element_sizes_and_layouts_are_checked() {
    let (_n, seg, name) = segment("size");
    let q = Queue::<u64, Spsc>::create(&seg, "q", 4).unwrap();
    let s = open_segment(&name);
    let mut qh = ptr::null_mut();
    // SAFETY: valid arguments.
    unsafe {
        assert_eq!(zipc_queue_open(s, c"q".as_ptr(), 4, ptr::null(), &mut qh), Status::Layout);
        assert!(qh.is_null());
        assert!(last_error().contains("4-byte elements"), "{}", last_error());
        assert_eq!(zipc_queue_open(s, c"q".as_ptr(), 8, c"i64".as_ptr(), &mut qh), Status::Layout);
        assert_eq!(last_error(), Queue::<i64, Spsc>::open(&seg, "q").unwrap_err().to_string());
        assert_eq!(zipc_queue_open(s, c"nope".as_ptr(), 8, ptr::null(), &mut qh), Status::NotFound);
        assert_eq!(zipc_ring_open(s, c"q".as_ptr(), 8, ptr::null(), ptr::null_mut()), Status::Null);
        let mut r = ptr::null_mut();
        assert_eq!(zipc_ring_open(s, c"q".as_ptr(), 8, ptr::null(), &mut r), Status::Kind);

        assert_eq!(zipc_queue_open(s, c"q".as_ptr(), 8, c"u64".as_ptr(), &mut qh), Status::Ok);
        assert_eq!(zipc_queue_policy(qh), crate::layout::flags::POLICY_SPSC);
        let mut p = ptr::null_mut();
        assert_eq!(zipc_queue_open_producer(qh, &mut p), Status::Ok);
        let mut p2 = ptr::null_mut();
        assert_eq!(zipc_queue_open_producer(qh, &mut p2), Status::RoleTaken);
        assert!(q.producer().is_err(), "the C handle holds the role for Rust too");
        let small = 7u32;
        assert_eq!(zipc_producer_try_push(p, (&small as *const u32).cast(), 4), Status::InvalidArgument);
        assert!(last_error().contains("4 bytes were passed for one 8-byte element"), "{}", last_error());
        let vals = [1u64, 2, 3, 4, 5];
        let mut pushed = 0;
        assert_eq!(zipc_producer_push_bulk(p, vals.as_ptr().cast(), 5, 8, 0, &mut pushed), Status::Ok);
        assert_eq!(pushed, 4, "the queue holds 4");
        assert_eq!(zipc_producer_push_bulk(p, vals.as_ptr().cast(), 1, 8, 0, &mut pushed), Status::Again);
        let t = std::time::Instant::now();
        assert_eq!(zipc_producer_push(p, vals.as_ptr().cast(), 8, 20_000_000), Status::Timeout);
        assert!(t.elapsed() >= std::time::Duration::from_millis(20));
        assert_eq!(last_error(), crate::Error::Timeout.to_string());
        let mut rx = q.consumer().unwrap();
        assert_eq!((0..4).map(|_| rx.try_pop().unwrap().unwrap()).collect::<Vec<_>>(), [1, 2, 3, 4]);
        zipc_producer_close(p);
        assert!(q.producer().is_ok(), "closing releases the role");
        zipc_queue_close(qh);
        zipc_segment_close(s);
    }
}

#[test]
fn blocking_bulk_waits_for_the_first_element_then_takes_the_rest() {
    let (_n, seg, name) = segment("bulk");
    let ring = Ring::<u32>::create(&seg, "r", 8, RingMode::Lossless).unwrap();
    let q = Queue::<u32, Mpmc>::create(&seg, "q", 8).unwrap();
    let s = open_segment(&name);
    let (mut rh, mut qh, mut rc, mut qc) = (ptr::null_mut(), ptr::null_mut(), ptr::null_mut(), ptr::null_mut());
    // SAFETY: valid arguments; the handles are closed at the end.
    unsafe {
        assert_eq!(zipc_ring_open(s, c"r".as_ptr(), 4, ptr::null(), &mut rh), Status::Ok);
        assert_eq!(zipc_ring_open_consumer(rh, &mut rc), Status::Ok);
        assert_eq!(zipc_queue_open(s, c"q".as_ptr(), 4, ptr::null(), &mut qh), Status::Ok);
        assert_eq!(zipc_queue_open_consumer(qh, &mut qc), Status::Ok);
    }
    let feeder = std::thread::spawn(move || {
        std::thread::sleep(std::time::Duration::from_millis(20));
        let mut tx = ring.producer().unwrap();
        assert_eq!(tx.try_push_bulk(&[1, 2, 3]), 3);
        q.push_bulk(&[4, 5, 6]).unwrap();
    });
    let mut buf = [0u32; 8];
    let mut n = 0;
    // SAFETY: `buf` holds 8 elements of 4 bytes.
    unsafe {
        assert_eq!(zipc_ring_pop_bulk(rc, buf.as_mut_ptr().cast(), 8, 4, -1, &mut n), Status::Ok);
        assert_eq!(&buf[..n], &[1, 2, 3]);
        let mut got = Vec::new();
        while got.len() < 3 {
            assert_eq!(zipc_consumer_pop_bulk(qc, buf.as_mut_ptr().cast(), 8, 4, 5_000_000_000, &mut n), Status::Ok);
            assert!(n >= 1);
            got.extend_from_slice(&buf[..n]);
        }
        assert_eq!(got, [4, 5, 6]);
        assert_eq!(zipc_consumer_pop_bulk(qc, buf.as_mut_ptr().cast(), 8, 4, 1_000_000, &mut n), Status::Timeout);
        assert_eq!(n, 0);
        assert_eq!(zipc_ring_pop_bulk(rc, buf.as_mut_ptr().cast(), 8, 2, 0, &mut n), Status::InvalidArgument);
        zipc_ring_consumer_close(rc);
        zipc_consumer_close(qc);
        zipc_ring_close(rh);
        zipc_queue_close(qh);
        zipc_segment_close(s);
    }
    feeder.join().unwrap();
}

#[test]
fn panics_are_caught_and_reported() {
    let st = call(|| panic!("deliberate"));
    assert_eq!(st, Status::Internal);
    assert_eq!(zipc_last_status(), Status::Internal);
    assert!(last_error().contains("deliberate") && last_error().contains("bug"), "{}", last_error());
    assert_eq!(value(7u32, || panic!("again")), 7);
}

#[test]
fn a_role_handle_used_by_two_threads_at_once_is_refused() {
    let e = Exclusive::new(0u32, "queue producer");
    let nested = e.with(|v| {
        *v += 1;
        // The same handle while it is in use (what a second thread would see).
        Ok(e.with(|_| Ok(())))
    });
    match nested {
        Ok(Err(f)) => {
            assert_eq!(f.status(), Status::Busy);
            assert!(f.message().contains("another thread"));
        }
        other => panic!("expected Busy, got {other:?}"),
    }
    assert!(e.with(|v| Ok(*v)).is_ok_and(|v| v == 1), "usable again afterwards");
}

#[test]
fn sync_primitives_through_the_abi() {
    let (_n, seg, name) = segment("sync");
    let sem = Semaphore::create(&seg, "sem", 1, 1).unwrap();
    let bar = Barrier::create(&seg, "bar", 2).unwrap();
    let mtx = Mutex::create(&seg, "mtx").unwrap();
    let s = open_segment(&name);
    let (mut sh, mut bh, mut mh) = (ptr::null_mut(), ptr::null_mut(), ptr::null_mut());
    // SAFETY: valid arguments; handles closed at the end.
    unsafe {
        assert_eq!(zipc_semaphore_open(s, c"sem".as_ptr(), &mut sh), Status::Ok);
        assert_eq!(zipc_semaphore_try_acquire(sh), Status::Ok);
        assert_eq!(sem.count(), 0, "the permit stays taken after the call");
        assert_eq!(zipc_semaphore_try_acquire(sh), Status::Again);
        assert_eq!(zipc_semaphore_acquire(sh, 1_000_000), Status::Timeout);
        assert_eq!(zipc_semaphore_release(sh), Status::Ok);
        assert_eq!(zipc_semaphore_release(sh), Status::AboveMaximum);
        assert_eq!(last_error(), sem.release().unwrap_err().to_string());

        assert_eq!(zipc_barrier_open(s, c"bar".as_ptr(), &mut bh), Status::Ok);
        let other = std::thread::spawn(move || bar.wait().unwrap().is_leader());
        let (mut leader, mut gen) = (0, 0u32);
        assert_eq!(zipc_barrier_wait(bh, -1, &mut leader, &mut gen), Status::Ok);
        assert_eq!(gen, 0);
        assert_ne!(leader != 0, other.join().unwrap(), "exactly one leader");

        assert_eq!(zipc_mutex_open(s, c"mtx".as_ptr(), &mut mh), Status::Ok);
        let mut died = -1;
        assert_eq!(zipc_mutex_lock(mh, -1, &mut died), Status::Ok);
        assert_eq!(died, 0);
        assert!(mtx.is_locked());
        assert_eq!(zipc_mutex_lock(mh, -1, ptr::null_mut()), Status::WouldDeadlock);
        let m = mh as usize;
        // (Inside this unsafe block: the handle outlives the thread, joined below, and mutex
        // handles may be shared between threads.)
        let from_other = std::thread::spawn(move || zipc_mutex_unlock(m as *const MutexHandle));
        assert_eq!(from_other.join().unwrap(), Status::InvalidArgument, "only the holder unlocks");
        assert_eq!(zipc_mutex_unlock(mh), Status::Ok);
        assert!(!mtx.is_locked());
        assert_eq!(zipc_mutex_unlock(mh), Status::InvalidArgument);
        zipc_semaphore_close(sh);
        zipc_barrier_close(bh);
        zipc_mutex_close(mh);
        zipc_segment_close(s);
    }
}

#[test]
fn checks_against_declarations() {
    let (_n, seg, name) = segment("check");
    Queue::<u64, Mpmc>::create(&seg, "q", 4).unwrap();
    let s = open_segment(&name);
    let decl = |capacity, flags, layout: *const c_char| Decl {
        name: c"q".as_ptr(),
        kind: crate::layout::Kind::Queue.code(),
        flags,
        capacity,
        maximum: 0,
        elem_size: 8,
        layout,
    };
    use crate::layout::flags::{POLICY_MPMC, POLICY_SPSC};
    // SAFETY: valid declarations and handles.
    unsafe {
        assert_eq!(zipc_check(s, &decl(4, POLICY_MPMC, c"u64".as_ptr())), Status::Ok);
        assert_eq!(zipc_check(s, &decl(4, POLICY_MPMC, ptr::null())), Status::Ok);
        assert_eq!(zipc_check(s, &decl(8, POLICY_MPMC, ptr::null())), Status::Capacity);
        assert_eq!(zipc_check(s, &decl(4, POLICY_SPSC, ptr::null())), Status::Parameter);
        assert_eq!(zipc_check(s, &decl(4, POLICY_MPMC, c"f64".as_ptr())), Status::Layout);
        let mut e = Entry::default();
        assert_eq!(zipc_find(s, c"q".as_ptr(), &mut e), Status::Ok);
        assert_eq!((e.kind, e.capacity, e.elem_size, e.flags), (3, 4, 8, POLICY_MPMC));
        assert_eq!(zipc_find(s, c"zz".as_ptr(), &mut e), Status::NotFound);
        zipc_segment_close(s);
    }
}

#[test]
fn the_table_records_each_function_with_its_c_prototype() {
    let table = functions();
    let find = |name: &str| table.iter().find(|f| f.name == name).unwrap_or_else(|| panic!("{name} not in the table"));
    assert_eq!(find("zipc_abi_version").to_string(), "uint32_t zipc_abi_version(void)");
    assert_eq!(
        find("zipc_queue_open").to_string(),
        "zipc_status zipc_queue_open(const zipc_segment *seg, const char *name, size_t elem_size, const char *layout, \
         zipc_queue **out)"
    );
    assert_eq!(find("zipc_array_data").to_string(), "void *zipc_array_data(const zipc_array *a)");
    assert_eq!(find("zipc_pool_release").params, ["const zipc_pool *", "zipc_handle"]);
    assert_eq!(find("zipc_segment_close").ret, "void");
    let mut names: Vec<&str> = table.iter().map(|f| f.name).collect();
    names.sort_unstable();
    names.dedup();
    assert_eq!(names.len(), table.len(), "each function once");
    assert!(table.len() >= 100);
}

/// `zipc_waitset`: attach, the descriptor's readiness, take, wait, detach, and the misuses.
#[cfg(not(loom))]
mod wait_set {
    use super::*;
    use crate::{Atomic, Event, ResetMode, Stack};

    /// Whether `fd` is readable within `ms` milliseconds (a long `ms` is a hang guard only).
    fn readable(fd: c_int, ms: c_int) -> bool {
        let mut p = libc::pollfd { fd, events: libc::POLLIN, revents: 0 };
        // SAFETY: one valid pollfd for the duration of the call.
        let r = unsafe { libc::poll(&mut p, 1, ms) };
        r == 1 && p.revents & libc::POLLIN != 0
    }

    const GUARD_MS: c_int = 60_000;

    fn take(ws: *const WaitSetHandle) -> Vec<u64> {
        let mut keys = [0u64; 16];
        let mut n = 0;
        // SAFETY: a live wait set, a 16-key buffer and a count slot.
        assert_eq!(unsafe { zipc_waitset_take(ws, keys.as_mut_ptr(), 16, &mut n) }, Status::Ok);
        keys[..n].to_vec()
    }

    #[test]
    fn the_descriptor_is_readable_while_a_source_is_ready_and_take_reports_the_keys() {
        let (_n, seg, name) = segment("waitset");
        let q = Queue::<u64, Mpmc>::create(&seg, "q", 4).unwrap();
        let sem = Semaphore::create(&seg, "sem", 0, 0).unwrap();
        let ev = Event::create(&seg, "ev", ResetMode::Auto, false).unwrap();
        let st = Stack::<u64>::create(&seg, "st", 4).unwrap();
        let s = open_segment(&name);
        let (mut qh, mut c, mut sh, mut eh, mut kh, mut ws) =
            (ptr::null_mut(), ptr::null_mut(), ptr::null_mut(), ptr::null_mut(), ptr::null_mut(), ptr::null_mut());
        let (mut kq, mut ks, mut ke, mut kt) = (9, 9, 9, 9);
        // SAFETY: valid arguments throughout; every handle is closed once, at the end.
        unsafe {
            assert_eq!(zipc_queue_open(s, c"q".as_ptr(), 8, ptr::null(), &mut qh), Status::Ok);
            assert_eq!(zipc_queue_open_consumer(qh, &mut c), Status::Ok);
            assert_eq!(zipc_semaphore_open(s, c"sem".as_ptr(), &mut sh), Status::Ok);
            assert_eq!(zipc_event_open(s, c"ev".as_ptr(), &mut eh), Status::Ok);
            assert_eq!(zipc_stack_open(s, c"st".as_ptr(), 8, ptr::null(), &mut kh), Status::Ok);
            assert_eq!(zipc_waitset_open(&mut ws), Status::Ok);
            assert_eq!(zipc_waitset_attach_consumer(ws, c, &mut kq), Status::Ok);
            assert_eq!(zipc_waitset_attach_semaphore(ws, sh, &mut ks), Status::Ok);
            assert_eq!(zipc_waitset_attach_event(ws, eh, &mut ke), Status::Ok);
            assert_eq!(zipc_waitset_attach_stack(ws, kh, &mut kt), Status::Ok);
            assert_eq!((kq, ks, ke, kt), (0, 1, 2, 3), "keys in attachment order");
            assert_eq!(zipc_waitset_len(ws), 4);
            let fd = zipc_waitset_fd(ws);
            assert!(fd > 0);
            // The consumer is free again after the attach.
            let mut v = 0u64;
            assert_eq!(zipc_consumer_try_pop(c, (&mut v as *mut u64).cast(), 8), Status::Again);

            // Nothing ready: not readable, and a wait of 0 or 20 ms times out.
            assert!(take(ws).is_empty());
            assert!(!readable(fd, 0));
            let (mut keys, mut n) = ([0u64; 4], 7usize);
            assert_eq!(zipc_waitset_wait(ws, 0, keys.as_mut_ptr(), 4, &mut n), Status::Timeout);
            assert_eq!(n, 0);
            assert_eq!(zipc_waitset_wait(ws, 20_000_000, keys.as_mut_ptr(), 4, &mut n), Status::Timeout);
            assert_eq!(last_error(), crate::Error::Timeout.to_string());

            // A push from Rust: readable, and the consumer's key is taken.
            q.try_push(42).unwrap();
            assert!(readable(fd, GUARD_MS));
            assert_eq!(take(ws), [kq]);
            assert!(readable(fd, GUARD_MS), "level-triggered: still ready after the take");
            assert_eq!(zipc_consumer_try_pop(c, (&mut v as *mut u64).cast(), 8), Status::Ok);
            assert_eq!(v, 42);
            assert!(take(ws).is_empty(), "nothing ready after the pop");
            assert!(!readable(fd, 0));

            // Two at once; a buffer of one takes one, and the descriptor stays readable.
            sem.release().unwrap();
            ev.set();
            assert!(readable(fd, GUARD_MS));
            assert_eq!(zipc_waitset_ready(ws, keys.as_mut_ptr(), 4, &mut n), Status::Ok);
            assert_eq!(keys[..n], [ks, ke]);
            assert_eq!(zipc_waitset_take(ws, keys.as_mut_ptr(), 1, &mut n), Status::Ok);
            assert_eq!(keys[..n], [ks]);
            assert!(readable(fd, GUARD_MS));
            assert_eq!(zipc_semaphore_try_acquire(sh), Status::Ok);
            assert_eq!(zipc_event_try_wait(eh), Status::Ok, "auto-reset: taken");
            assert!(take(ws).is_empty());

            // wait: blocks until a value is pushed by another thread.
            let pusher = {
                let st = st.clone();
                std::thread::spawn(move || st.try_push(7).unwrap())
            };
            assert_eq!(zipc_waitset_wait(ws, -1, keys.as_mut_ptr(), 4, &mut n), Status::Ok);
            assert_eq!(keys[..n], [kt]);
            assert!(pusher.join().unwrap());
            assert_eq!(zipc_stack_try_pop(kh, (&mut v as *mut u64).cast(), 8), Status::Ok);
            assert_eq!(v, 7);

            // Detach: not reported any more; keys are not reused; an unknown key is refused.
            assert_eq!(zipc_waitset_detach(ws, kq), Status::Ok);
            assert_eq!(zipc_waitset_detach(ws, kq), Status::InvalidArgument);
            assert!(last_error().contains("not attached"), "{}", last_error());
            assert_eq!(zipc_waitset_detach(ws, u64::MAX), Status::InvalidArgument);
            q.try_push(1).unwrap();
            assert!(take(ws).is_empty());
            assert_eq!(zipc_waitset_len(ws), 3);
            let mut k2 = 0;
            assert_eq!(zipc_waitset_attach_consumer(ws, c, &mut k2), Status::Ok);
            assert_eq!(k2, 4);
            assert_eq!(take(ws), [k2]);
            // The set outlives the handles it watches.
            zipc_consumer_close(c);
            zipc_queue_close(qh);
            assert_eq!(take(ws), [k2]);
            zipc_waitset_close(ws);
            zipc_semaphore_close(sh);
            zipc_event_close(eh);
            zipc_stack_close(kh);
            zipc_segment_close(s);
        }
    }

    #[test]
    fn every_kind_attaches_and_misuse_is_refused() {
        let (_n, seg, name) = segment("waitset-kinds");
        Queue::<u64, Spsc>::create(&seg, "q", 4).unwrap();
        Ring::<u64>::create(&seg, "r", 4, RingMode::Lossless).unwrap();
        crate::Topic::<u64, crate::Lossless>::create(&seg, "t", 4, 2, 0).unwrap();
        let pool = crate::Pool::<u64>::create(&seg, "p", 1).unwrap();
        let latch = crate::Latch::create(&seg, "l", 1).unwrap();
        let barrier = Barrier::create(&seg, "b", 2).unwrap();
        let a32 = Atomic::<u32>::create(&seg, "a32", 5).unwrap();
        Atomic::<u64>::create(&seg, "a64", 5).unwrap();
        let s = open_segment(&name);
        let mut ws = ptr::null_mut();
        let mut keys = Vec::new();
        let mut key = 0u64;
        // SAFETY: valid arguments, or NULL where the library must detect it.
        unsafe {
            assert_eq!(zipc_waitset_open(ptr::null_mut()), Status::Null);
            assert_eq!(zipc_waitset_open(&mut ws), Status::Ok);
            let (mut qh, mut p, mut c) = (ptr::null_mut(), ptr::null_mut(), ptr::null_mut());
            assert_eq!(zipc_queue_open(s, c"q".as_ptr(), 8, ptr::null(), &mut qh), Status::Ok);
            assert_eq!(zipc_queue_open_producer(qh, &mut p), Status::Ok);
            assert_eq!(zipc_queue_open_consumer(qh, &mut c), Status::Ok);
            let (mut rh, mut rp, mut rc) = (ptr::null_mut(), ptr::null_mut(), ptr::null_mut());
            assert_eq!(zipc_ring_open(s, c"r".as_ptr(), 8, ptr::null(), &mut rh), Status::Ok);
            assert_eq!(zipc_ring_open_producer(rh, &mut rp), Status::Ok);
            assert_eq!(zipc_ring_open_consumer(rh, &mut rc), Status::Ok);
            let (mut th, mut sub) = (ptr::null_mut(), ptr::null_mut());
            assert_eq!(zipc_topic_open(s, c"t".as_ptr(), 8, ptr::null(), &mut th), Status::Ok);
            assert_eq!(zipc_topic_subscribe(th, &mut sub), Status::Ok);
            let (mut ph, mut lh, mut bh, mut a32h, mut a64h) =
                (ptr::null_mut(), ptr::null_mut(), ptr::null_mut(), ptr::null_mut(), ptr::null_mut());
            assert_eq!(zipc_pool_open(s, c"p".as_ptr(), 8, ptr::null(), &mut ph), Status::Ok);
            assert_eq!(zipc_latch_open(s, c"l".as_ptr(), &mut lh), Status::Ok);
            assert_eq!(zipc_barrier_open(s, c"b".as_ptr(), &mut bh), Status::Ok);
            assert_eq!(zipc_atomic_open(s, c"a32".as_ptr(), &mut a32h), Status::Ok);
            assert_eq!(zipc_atomic_open(s, c"a64".as_ptr(), &mut a64h), Status::Ok);

            // A producer with room, a ring producer with room and a free pool object are ready at once.
            macro_rules! attach {
                ($f:ident($h:expr)) => {{
                    assert_eq!($f(ws, $h, &mut key), Status::Ok, "{}", last_error());
                    keys.push(key);
                }};
            }
            attach!(zipc_waitset_attach_producer(p));
            attach!(zipc_waitset_attach_ring_producer(rp));
            attach!(zipc_waitset_attach_pool(ph));
            assert_eq!(take(ws), keys);
            for k in keys.drain(..) {
                assert_eq!(zipc_waitset_detach(ws, k), Status::Ok);
            }
            let h = pool.try_acquire().unwrap().unwrap();
            attach!(zipc_waitset_attach_consumer(c));
            attach!(zipc_waitset_attach_ring_consumer(rc));
            attach!(zipc_waitset_attach_subscriber(sub));
            attach!(zipc_waitset_attach_pool(ph));
            attach!(zipc_waitset_attach_latch(lh));
            attach!(zipc_waitset_attach_barrier(bh));
            assert_eq!(zipc_waitset_attach_atomic(ws, a32h, 5, &mut key), Status::Ok, "{}", last_error());
            keys.push(key);
            assert!(take(ws).is_empty(), "none of them is ready");
            let fd = zipc_waitset_fd(ws);
            // Make each ready in turn: its key, and only it, is reported.
            let v = 3u64;
            let src = (&v as *const u64).cast();
            assert_eq!(zipc_producer_try_push(p, src, 8), Status::Ok);
            assert!(readable(fd, GUARD_MS));
            assert_eq!(take(ws), [keys[0]]);
            let mut out = 0u64;
            assert_eq!(zipc_consumer_try_pop(c, (&mut out as *mut u64).cast(), 8), Status::Ok);
            assert_eq!(zipc_ring_try_push(rp, src, 8), Status::Ok);
            assert!(readable(fd, GUARD_MS));
            assert_eq!(take(ws), [keys[1]]);
            assert_eq!(zipc_ring_try_pop(rc, (&mut out as *mut u64).cast(), 8), Status::Ok);
            let mut tp = ptr::null_mut();
            assert_eq!(zipc_topic_open_publisher(th, &mut tp), Status::Ok);
            assert_eq!(zipc_topic_try_send_copy(tp, src, 8), Status::Ok);
            assert!(readable(fd, GUARD_MS));
            assert_eq!(take(ws), [keys[2]]);
            assert_eq!(zipc_topic_try_receive_copy(sub, (&mut out as *mut u64).cast(), 8), Status::Ok);
            pool.release(h).unwrap();
            assert!(readable(fd, GUARD_MS));
            assert_eq!(take(ws), [keys[3]]);
            assert_eq!(zipc_waitset_detach(ws, keys[3]), Status::Ok);
            latch.count_down(1);
            assert!(readable(fd, GUARD_MS));
            assert_eq!(take(ws), [keys[4]]);
            assert_eq!(zipc_waitset_detach(ws, keys[4]), Status::Ok);
            let other = std::thread::spawn({
                let b = barrier.clone();
                move || b.wait().unwrap()
            });
            barrier.wait().unwrap();
            other.join().unwrap();
            assert!(readable(fd, GUARD_MS));
            assert_eq!(take(ws), [keys[5]]);
            assert_eq!(zipc_waitset_detach(ws, keys[5]), Status::Ok);
            a32.store(6);
            a32.wake_all();
            assert!(readable(fd, GUARD_MS));
            assert_eq!(take(ws), [keys[6]]);

            // Misuse: a 64-bit atomic, a role handle in use by another call, NULLs.
            assert_eq!(zipc_waitset_attach_atomic(ws, a64h, 5, &mut key), Status::InvalidArgument);
            assert!(last_error().contains("32-bit"), "{}", last_error());
            let consumer = &*c;
            let busy = consumer.0.with(|_| Ok(zipc_waitset_attach_consumer(ws, c, &mut key)));
            assert_eq!(busy.unwrap(), Status::Busy);
            assert_eq!(zipc_waitset_attach_consumer(ws, c, ptr::null_mut()), Status::Null);
            assert_eq!(zipc_waitset_attach_consumer(ptr::null(), c, &mut key), Status::Null);
            assert_eq!(zipc_waitset_attach_stack(ws, ptr::null(), &mut key), Status::Null);
            let mut n = 0;
            assert_eq!(zipc_waitset_take(ws, ptr::null_mut(), 1, &mut n), Status::Null);
            assert_eq!(zipc_waitset_take(ws, ptr::null_mut(), 0, ptr::null_mut()), Status::Null);
            assert_eq!(zipc_waitset_take(ws, ptr::null_mut(), 0, &mut n), Status::Ok);
            assert_eq!(zipc_waitset_detach(ptr::null(), 0), Status::Null);
            assert_eq!(zipc_waitset_fd(ptr::null()), 0);
            assert_eq!(zipc_last_status(), Status::Null);
            assert_eq!(zipc_waitset_len(ptr::null()), 0);
            zipc_waitset_close(ptr::null_mut());
            zipc_waitset_close(ws);

            // An empty set: waiting forever is refused, a timeout times out.
            let mut empty = ptr::null_mut();
            assert_eq!(zipc_waitset_open(&mut empty), Status::Ok);
            assert_eq!(zipc_waitset_wait(empty, -1, ptr::null_mut(), 0, &mut n), Status::InvalidArgument);
            assert_eq!(zipc_waitset_wait(empty, 1_000_000, ptr::null_mut(), 0, &mut n), Status::Timeout);
            zipc_waitset_close(empty);

            zipc_topic_publisher_close(tp);
            zipc_topic_subscriber_close(sub);
            zipc_topic_close(th);
            zipc_producer_close(p);
            zipc_consumer_close(c);
            zipc_queue_close(qh);
            zipc_ring_producer_close(rp);
            zipc_ring_consumer_close(rc);
            zipc_ring_close(rh);
            zipc_pool_close(ph);
            zipc_latch_close(lh);
            zipc_barrier_close(bh);
            zipc_atomic_close(a32h);
            zipc_atomic_close(a64h);
            zipc_segment_close(s);
        }
    }
}
