//! ZeroIPC compatibility, checked by an independent reader: a Python script that knows only the
//! ZeroIPC v2 rules (header 32 bytes, entries of name[32], u64 offset, u64 size; an array is a
//! u64 capacity followed by its elements) and uses only `struct`, `mmap` and numpy — no zipc
//! code — finds the array zipc made and reads its f32 values. And the reverse: zipc opens a
//! segment written byte by byte to ZeroIPC's rules (no self-description) as untyped.

use zipc::{Array, Atomic, Error, Segment};
use zipc_tests::{numpy_python, run_python, ShmName};

const ZEROIPC_READER: &str = r#"
import mmap, struct, sys
import numpy as np

name = sys.argv[1]
with open("/dev/shm" + name, "rb") as f:
    m = mmap.mmap(f.fileno(), 0, prot=mmap.PROT_READ)
magic, version, count, max_entries, memory_size, next_offset = struct.unpack_from("<IIIIQQ", m, 0)
assert magic == 0x5A49504D, hex(magic)
assert version == 2, version
assert count <= max_entries and memory_size <= len(m) and next_offset <= memory_size
entries = {}
for i in range(count):
    raw, offset, size = struct.unpack_from("<32sQQ", m, 32 + 48 * i)
    entries[raw.split(b"\0", 1)[0].decode()] = (offset, size)
offset, size = entries["temps"]
(capacity,) = struct.unpack_from("<Q", m, offset)
assert size == 8 + 4 * capacity, (size, capacity)
values = np.frombuffer(m, dtype="<f4", count=capacity, offset=offset + 8)
print("NAMES", " ".join(sorted(entries)))
print("VALUES", " ".join(repr(float(v)) for v in values))
"#;

#[test]
fn python_reads_a_zipc_array_by_zeroipc_rules() {
    let python = numpy_python().unwrap_or_else(|e| panic!("{e}"));
    let name = ShmName::new("zeroipc-py");
    let seg = Segment::create(&name, 1 << 16).unwrap();
    Atomic::<u32>::create(&seg, "counter", 3).unwrap();
    let temps = Array::<f32>::create(&seg, "temps", 6).unwrap();
    let values = [21.5f32, -3.25, 0.0, 1e-3, 1024.0, f32::MAX];
    temps.write_from(&values).unwrap();

    let out = run_python(&python, ZEROIPC_READER, &[&name]);
    let names = out.lines().find_map(|l| l.strip_prefix("NAMES ")).unwrap();
    assert_eq!(names, "__zipc counter temps", "the reserved entry is just another ZeroIPC entry");
    let read: Vec<f32> =
        out.lines().find_map(|l| l.strip_prefix("VALUES ")).unwrap().split(' ').map(|v| v.parse().unwrap()).collect();
    assert_eq!(read, values);
}

/// Writes a segment the way ZeroIPC v2 does (header, table, one array), with Python's `struct`.
const ZEROIPC_WRITER: &str = r#"
import struct, sys
name, size = sys.argv[1], 8192
buf = bytearray(size)
max_entries = 4
table_end = 32 + 48 * max_entries
offset = (table_end + 7) & ~7
cap = 5
struct.pack_into("<Q", buf, offset, cap)
struct.pack_into("<5i", buf, offset + 8, 10, 20, 30, 40, 50)
struct.pack_into("<32sQQ", buf, 32, b"ids", offset, 8 + 4 * cap)
next_offset = offset + 8 + 4 * cap
struct.pack_into("<IIIIQQ", buf, 0, 0x5A49504D, 2, 1, max_entries, size, next_offset)
with open("/dev/shm" + name, "wb") as f:
    f.write(buf)
"#;

#[test]
fn zipc_opens_a_zeroipc_segment_untyped() {
    let python = numpy_python().unwrap_or_else(|e| panic!("{e}"));
    let name = ShmName::new("zeroipc-made");
    run_python(&python, ZEROIPC_WRITER, &[&name]);
    let seg = Segment::open(&name).unwrap();
    assert!(!seg.is_typed());
    let entries = seg.entries().unwrap();
    assert_eq!(entries.len(), 1);
    assert!(entries[0].descriptor.is_none());
    let ids = Array::<i32>::open(&seg, "ids").unwrap();
    assert_eq!(ids.to_vec(), [10, 20, 30, 40, 50]);
    ids.set(0, 11).unwrap();
    // Sizes are all an untyped segment can check: 4-byte elements fit, 8-byte ones do not.
    assert!(matches!(Array::<i64>::open(&seg, "ids"), Err(Error::LayoutMismatch { .. })));
    assert!(matches!(Atomic::<u32>::open(&seg, "ids"), Err(Error::KindMismatch { found: None, .. })));
    // zipc creates nothing in a segment it cannot lock.
    assert!(matches!(Array::<u8>::create(&seg, "new", 1), Err(Error::InvalidArgument { .. })));
}
