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
