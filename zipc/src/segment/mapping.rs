//! A mapped POSIX shared-memory object, and the system calls that make, open and remove one.
//!
//! Nothing here hands out `&[u8]` over the mapping: other processes write it concurrently. Bytes
//! are read and written through raw pointers, words through `&AtomicU32`/`&AtomicU64` (which may
//! alias concurrent writers by definition), and untrusted bytes one atomic byte at a time.
//!
//! Creation is atomic: the segment is built under a temporary name and published with `link(2)`,
//! which fails if the name exists. An opener therefore sees either no segment or a complete one,
//! and of several concurrent creators exactly one wins.

use std::ffi::CString;
use std::fs::File;
use std::os::fd::{AsFd, FromRawFd, IntoRawFd, OwnedFd};
use std::ptr::NonNull;
use std::sync::atomic::{AtomicU32, AtomicU64, AtomicU8, Ordering};

use memmap2::{MmapOptions, MmapRaw};
use nix::fcntl::OFlag;
use nix::sys::stat::Mode;

use crate::error::{Error, Object, Result};

/// Where glibc's `shm_open` keeps its objects on Linux.
pub(crate) const SHM_DIR: &str = "/dev/shm";

/// Longest segment name, leading `/` included (NAME_MAX for the file in `/dev/shm`, less room
/// for zipc's temporary-name prefix).
pub const MAX_SEGMENT_NAME_LEN: usize = 200;

/// Prefix of the temporary names segments are built under before publication.
pub(crate) const TEMP_PREFIX: &str = "/.zipc-tmp-";

/// Checks a segment name: a leading `/`, no other `/`, 2..=200 bytes, no NUL, not `/.`/`/..`.
pub fn check_segment_name(name: &str) -> Result<()> {
    let bad = |reason: &str| {
        Err(Error::InvalidName { object: Object::Segment, name: name.to_owned(), reason: reason.to_owned() })
    };
    if !name.starts_with('/') {
        return bad("segment names start with '/', as in \"/telemetry\"");
    }
    if name.len() < 2 {
        return bad("the name after '/' is empty");
    }
    if name[1..].contains('/') {
        return bad("segment names contain no '/' after the leading one");
    }
    if name.len() > MAX_SEGMENT_NAME_LEN {
        return bad(&format!("the name is {} bytes long; at most {MAX_SEGMENT_NAME_LEN} are allowed", name.len()));
    }
    if name.contains('\0') {
        return bad("the name contains a NUL byte");
    }
    if name == "/." || name == "/.." {
        return bad("'.' and '..' are not segment names");
    }
    if name.starts_with(TEMP_PREFIX) {
        return bad("names starting with \"/.zipc-tmp-\" are reserved for segments under construction");
    }
    Ok(())
}

/// The system page size.
pub fn page_size() -> u64 {
    // SAFETY: sysconf has no preconditions.
    let p = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    if p > 0 {
        p as u64
    } else {
        4096
    }
}

/// A shared mapping of a whole segment file. Dropping it unmaps. (What this process holds
/// through it — its registry slot and lanes — is the [`Attachment`](super::attachment::Attachment)
/// that owns it.)
#[derive(Debug)]
pub(crate) struct Mapping {
    raw: MmapRaw,
    name: String,
}

// SAFETY: the mapping is plain shared memory; every access goes through raw pointers or atomics,
// so sharing the handle between threads adds nothing a second process does not already do.
unsafe impl Send for Mapping {}
// SAFETY: as above.
unsafe impl Sync for Mapping {}

impl Mapping {
    fn map(file: &File, len: u64, name: &str) -> Result<Mapping> {
        let len_usize = usize::try_from(len).map_err(|_| Error::invalid("segment size", "too large"))?;
        let raw = MmapOptions::new().len(len_usize).map_raw(file).map_err(|e| Error::os("mmap", name, e))?;
        Ok(Mapping { raw, name: name.to_owned() })
    }

    /// The segment name this mapping was opened under.
    pub(crate) fn name(&self) -> &str {
        &self.name
    }

    /// Length in bytes.
    pub(crate) fn len(&self) -> u64 {
        self.raw.len() as u64
    }

    /// Base address.
    pub(crate) fn base(&self) -> NonNull<u8> {
        // SAFETY: a successful mmap never returns null.
        unsafe { NonNull::new_unchecked(self.raw.as_mut_ptr()) }
    }

    /// Pointer to `offset`, which must leave `len` bytes in the mapping.
    #[track_caller]
    pub(crate) fn ptr(&self, offset: u64, len: u64) -> *mut u8 {
        assert!(
            offset.checked_add(len).is_some_and(|end| end <= self.len()),
            "zipc bug: access {offset}+{len} outside a mapping of {}",
            self.len()
        );
        // SAFETY: in bounds, checked above.
        unsafe { self.base().as_ptr().add(offset as usize) }
    }

    /// The 32-bit word at `offset` (4-aligned, in bounds) as an atomic.
    #[track_caller]
    pub(crate) fn u32_at(&self, offset: u64) -> &AtomicU32 {
        assert!(offset % 4 == 0, "zipc bug: unaligned u32 at {offset}");
        let p = self.ptr(offset, 4).cast::<u32>();
        // SAFETY: in bounds and aligned (checked); the mapping lives as long as `self`; atomics may
        // alias concurrent writers, which is exactly what other processes are.
        unsafe { AtomicU32::from_ptr(p) }
    }

    /// The 64-bit word at `offset` (8-aligned, in bounds) as an atomic.
    #[track_caller]
    pub(crate) fn u64_at(&self, offset: u64) -> &AtomicU64 {
        assert!(offset % 8 == 0, "zipc bug: unaligned u64 at {offset}");
        let p = self.ptr(offset, 8).cast::<u64>();
        // SAFETY: as for `u32_at`.
        unsafe { AtomicU64::from_ptr(p) }
    }

    /// Copies `len` bytes out, one relaxed atomic load per byte: defined behaviour even if a
    /// hostile peer writes them meanwhile. For small untrusted data (names, type records).
    pub(crate) fn read_bytes(&self, offset: u64, len: u64) -> Vec<u8> {
        let p = self.ptr(offset, len);
        (0..len as usize)
            .map(|i| {
                // SAFETY: in bounds (checked by `ptr`); byte atomics have no alignment needs.
                unsafe { AtomicU8::from_ptr(p.add(i)) }.load(Ordering::Relaxed)
            })
            .collect()
    }

    /// Writes bytes into memory this process owns by protocol (not yet published).
    pub(crate) fn write_bytes(&self, offset: u64, bytes: &[u8]) {
        let p = self.ptr(offset, bytes.len() as u64);
        // SAFETY: in bounds (checked); the region is unpublished, so no other process reads it
        // under the protocol; `bytes` is a distinct allocation.
        unsafe { std::ptr::copy_nonoverlapping(bytes.as_ptr(), p, bytes.len()) };
    }
}

fn cname(name: &str) -> CString {
    CString::new(name).expect("segment names are checked for NUL before use")
}

pub(crate) fn shm_path(name: &str) -> String {
    format!("{SHM_DIR}{name}")
}

/// Creates segment `name` of `size` bytes with permissions `mode`, hands the fresh, zero-filled
/// mapping to `init` (which builds the segment and returns what the caller keeps of it), and only
/// then publishes it under `name`. Fails with `AlreadyExists` if the name is taken (before or
/// during the build); nothing is left behind on failure.
pub(crate) fn create_published<T>(
    name: &str,
    size: u64,
    mode: u32,
    init: impl FnOnce(Mapping) -> Result<T>,
) -> Result<T> {
    check_segment_name(name)?;
    let temp = temp_name();
    let fd = nix::sys::mman::shm_open(
        temp.as_str(),
        OFlag::O_RDWR | OFlag::O_CREAT | OFlag::O_EXCL | OFlag::O_CLOEXEC,
        Mode::from_bits_truncate(mode),
    )
    .map_err(|e| Error::os("shm_open", name, e.into()))?;
    // From here on the temporary object must disappear whatever happens.
    let guard = UnlinkOnDrop(temp.clone());
    // The umask may have narrowed the mode; set it exactly.
    nix::sys::stat::fchmod(fd.as_fd(), Mode::from_bits_truncate(mode))
        .map_err(|e| Error::os("fchmod", name, e.into()))?;
    let len = i64::try_from(size).map_err(|_| Error::invalid("segment size", "too large"))?;
    nix::unistd::ftruncate(fd.as_fd(), len).map_err(|e| Error::os("ftruncate", name, e.into()))?;
    let file = file_from(fd);
    let map = Mapping::map(&file, size, name)?;
    let built = init(map)?;
    match std::fs::hard_link(shm_path(&temp), shm_path(name)) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            return Err(Error::AlreadyExists { object: Object::Segment, name: name.to_owned() });
        }
        Err(e) => return Err(Error::os("link", name, e)),
    }
    drop(guard);
    Ok(built)
}

/// Opens and maps an existing segment, whole. Returns the mapping of exactly the file's size as
/// `fstat` reports it (checked against `min_len` before any page is touched).
pub(crate) fn open_existing(name: &str, min_len: u64) -> Result<Mapping> {
    check_segment_name(name)?;
    let fd = nix::sys::mman::shm_open(name, OFlag::O_RDWR | OFlag::O_CLOEXEC, Mode::empty())
        .map_err(|e| Error::os("shm_open", name, e.into()))?;
    let st = nix::sys::stat::fstat(fd.as_fd()).map_err(|e| Error::os("fstat", name, e.into()))?;
    let len = u64::try_from(st.st_size).unwrap_or(0);
    if len < min_len {
        return Err(Error::corrupt(
            name,
            "file size",
            format!("the segment is {len} bytes, smaller than a table header ({min_len} bytes)"),
        ));
    }
    let file = file_from(fd);
    Mapping::map(&file, len, name)
}

/// Removes segment `name`. Processes that have it mapped keep using it.
pub(crate) fn unlink(name: &str) -> Result<()> {
    check_segment_name(name)?;
    nix::sys::mman::shm_unlink(cname(name).as_c_str()).map_err(|e| Error::os("shm_unlink", name, e.into()))
}

/// Removes the object `name` whatever it is (a temporary name included): for cleaning up.
pub(crate) fn unlink_object(name: &str) -> Result<()> {
    if !name.starts_with('/') || name.len() < 2 || name[1..].contains(['/', '\0']) || name == "/." || name == "/.." {
        return Err(Error::InvalidName {
            object: Object::Segment,
            name: name.to_owned(),
            reason: "not the name of an object in /dev/shm".to_owned(),
        });
    }
    std::fs::remove_file(shm_path(name)).map_err(|e| Error::os("unlink", name, e))
}

/// The creator pid in a temporary name (`/.zipc-tmp-PID-N-T`), if `name` is one.
pub(crate) fn temp_owner(name: &str) -> Option<u32> {
    name.strip_prefix(TEMP_PREFIX)?.split('-').next()?.parse().ok()
}

fn file_from(fd: OwnedFd) -> File {
    // SAFETY: `into_raw_fd` transfers ownership of a valid, open descriptor.
    unsafe { File::from_raw_fd(fd.into_raw_fd()) }
}

pub(crate) fn temp_name() -> String {
    use std::sync::atomic::AtomicU64 as Counter;
    static NEXT: Counter = Counter::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let t = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
    format!("{TEMP_PREFIX}{}-{n}-{t:x}", std::process::id())
}

struct UnlinkOnDrop(String);

impl Drop for UnlinkOnDrop {
    fn drop(&mut self) {
        let _ = nix::sys::mman::shm_unlink(cname(&self.0).as_c_str());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segment_names() {
        assert!(check_segment_name("/telemetry").is_ok());
        for bad in ["telemetry", "/", "/a/b", "/.", "/..", "/a\0b", "/.zipc-tmp-1"] {
            assert!(matches!(check_segment_name(bad), Err(Error::InvalidName { .. })), "{bad:?}");
        }
        let long = format!("/{}", "x".repeat(MAX_SEGMENT_NAME_LEN));
        assert!(check_segment_name(&long).is_err());
        assert!(check_segment_name(&long[..MAX_SEGMENT_NAME_LEN]).is_ok());
    }
}
