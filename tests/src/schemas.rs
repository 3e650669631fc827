//! Support for the schema tests: the schema files; the Rust generated from each of them (by
//! `zipc_schema::Builder` in `tests/build.rs`, included with `zipc::include_schema!`) and
//! type-erased access to it; segments made from them; comparisons of layouts; value plans —
//! deterministic values for sampled elements and fields of every array and atomic, written by one
//! language and checked by another; and C and Python probes that open segments.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use zipc::layout::{Kind, Primitive, SegmentLayout, StructureLayout, TypeLayout};
use zipc::{Array, Atomic, AtomicValue, Segment, ShmType, Structure};
use zipc_schema::Schema;

/// The Rust that `zipc_schema::Builder` generated from every schema (`tests/build.rs`), included
/// the way a user includes it: a module per schema with `zipc::include_schema!`. A new schema
/// file needs a line here (the build's glue names these modules, so a missing one is a compile
/// error).
#[allow(missing_docs)] // generated declarations carry the schema's docs only
pub mod generated {
    pub mod game_server {
        zipc::include_schema!("game_server");
    }
    pub mod particle_sim {
        zipc::include_schema!("particle_sim");
    }
    pub mod producer_consumer {
        zipc::include_schema!("producer_consumer");
    }
    pub mod sensor_pipeline {
        zipc::include_schema!("sensor_pipeline");
    }
    pub mod task_scheduler {
        zipc::include_schema!("task_scheduler");
    }
    pub mod telemetry {
        zipc::include_schema!("telemetry");
    }
    pub mod all_kinds {
        zipc::include_schema!("all_kinds");
    }
    pub mod arrays {
        zipc::include_schema!("arrays");
    }
    pub mod explicit_padding {
        zipc::include_schema!("explicit_padding");
    }
    pub mod full_table {
        zipc::include_schema!("full_table");
    }
    pub mod nested {
        zipc::include_schema!("nested");
    }
    pub mod primitives {
        zipc::include_schema!("primitives");
    }
}

/// Type-erased access to the generated segment structs (written by `tests/build.rs`).
mod glue {
    use super::{create_field, Handle, RustSide};
    use zipc::layout::StructureLayout;
    use zipc::Segment;

    include!(concat!(env!("OUT_DIR"), "/schema_glue.rs"));
}

/// A schema's generated segment struct, type-erased: its compile-time layout and size, and its
/// `create`/`open` returning the structures' handles in schema order.
#[derive(Clone, Copy)]
pub struct RustSide {
    /// The schema's file stem.
    pub stem: &'static str,
    /// The struct's `LAYOUT` (from `#[derive(ShmSegment)]`).
    pub layout: SegmentLayout<'static>,
    /// The struct's `SIZE`.
    pub size: u64,
    /// `Struct::create(name)`, its fields as handles.
    pub create: fn(&str) -> zipc::Result<Vec<Handle>>,
    /// `Struct::open(name)`, its fields as handles.
    pub open: fn(&str) -> zipc::Result<Vec<Handle>>,
    /// Creates structure `i` as declared by `decl` (which may differ from the struct's own
    /// declaration in its parameters) with the Rust type of field `i`.
    pub create_structure: fn(&Segment, usize, &StructureLayout<'_>) -> zipc::Result<Handle>,
}

/// The Rust side generated for schema `stem`.
pub fn rust_side(stem: &str) -> Option<RustSide> {
    glue::SIDES.iter().find(|s| s.stem == stem).copied()
}

/// Every schema's Rust side.
pub fn rust_sides() -> &'static [RustSide] {
    glue::SIDES
}

/// Creates structure `decl` with the type of the field that `_field` projects (only its type is
/// used): the glue names fields, the generated struct supplies their types.
pub fn create_field<Seg, S: Structure>(
    segment: &Segment,
    decl: &StructureLayout<'_>,
    _field: fn(&Seg) -> &S,
) -> zipc::Result<S> {
    S::create_in(segment, decl)
}

/// A structure handle, type-erased for the tests.
pub enum Handle {
    /// An array: its elements as bytes.
    Array(Box<dyn ByteArray>),
    /// An atomic: its value as bits.
    Atomic(Box<dyn BitsAtomic>),
    /// Any other kind (created and opened; C and Python cannot operate on it yet).
    Other(Box<dyn std::any::Any>),
}

impl Handle {
    /// An array's handle.
    pub fn array<T: ShmType>(a: Array<T>) -> Handle {
        Handle::Array(Box::new(a))
    }

    /// An atomic's handle.
    pub fn atomic<T: AtomicValue>(a: Atomic<T>) -> Handle {
        Handle::Atomic(Box::new(a))
    }

    /// Any other structure's handle.
    pub fn other<S: Structure + 'static>(s: S) -> Handle {
        Handle::Other(Box::new(s))
    }
}

/// An array's elements as little-endian bytes.
pub trait ByteArray {
    /// Number of elements.
    fn len(&self) -> usize;
    /// True if empty.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// Element `i`'s bytes.
    fn read(&self, i: usize) -> Vec<u8>;
    /// Overwrites element `i`.
    fn write(&self, i: usize, bytes: &[u8]);
}

impl<T: ShmType> ByteArray for Array<T> {
    fn len(&self) -> usize {
        Array::len(self)
    }
    fn read(&self, i: usize) -> Vec<u8> {
        zipc::IntoBytes::as_bytes(&self.get(i).expect("index in bounds")).to_vec()
    }
    fn write(&self, i: usize, bytes: &[u8]) {
        let v = <T as zipc::FromBytes>::read_from_bytes(bytes).expect("element-sized bytes");
        self.set(i, v).expect("index in bounds");
    }
}

/// An atomic's value as the i64 bits a declaration stores.
pub trait BitsAtomic {
    /// Loads the value.
    fn load_bits(&self) -> i64;
    /// Stores a value.
    fn store_bits(&self, bits: i64);
}

impl<T: AtomicValue> BitsAtomic for Atomic<T> {
    fn load_bits(&self) -> i64 {
        self.load().to_bits()
    }
    fn store_bits(&self, bits: i64) {
        self.store(T::from_bits(bits))
    }
}

/// The schema files the golden and cross-language tests cover: `schemas/*.toml` and
/// `schemas/fixtures/*.toml`, sorted.
pub fn schema_files() -> Vec<PathBuf> {
    let root = crate::workspace_root();
    let mut out = Vec::new();
    for dir in ["schemas", "schemas/fixtures"] {
        let mut found: Vec<PathBuf> = std::fs::read_dir(root.join(dir))
            .expect("schemas directory")
            .map(|e| e.expect("dir entry").path())
            .filter(|p| p.extension().is_some_and(|e| e == "toml"))
            .collect();
        found.sort();
        out.extend(found);
    }
    out
}

/// The path of `file` relative to the workspace root, as messages and goldens show it.
pub fn relative(file: &Path) -> String {
    file.strip_prefix(crate::workspace_root()).unwrap_or(file).display().to_string()
}

/// Loads a schema from `schemas/` (relative path in messages). Every schema there is valid:
/// panics with the diagnostics otherwise.
pub fn load<'a>(file: &Path, arena: &'a zipc_schema::Arena) -> Schema<'a> {
    let rel = relative(file);
    let source = std::fs::read_to_string(file).expect("read schema");
    Schema::parse(&rel, &source, arena).unwrap_or_else(|d| panic!("{rel} is invalid:\n{d}"))
}

/// Every difference between two segment layouts, structure by structure: name, docs, kind,
/// element type (name, canonical layout string, fingerprint), capacity, flags, initial value,
/// maximum; and the segment's name, table and registry sizes. Empty when they are identical.
pub fn layout_differences(a: &SegmentLayout<'_>, b: &SegmentLayout<'_>) -> Vec<String> {
    let mut out = Vec::new();
    let mut diff = |what: String, x: String, y: String| {
        if x != y {
            out.push(format!("{what}: {x} != {y}"));
        }
    };
    diff("segment name".into(), format!("{:?}", a.name), format!("{:?}", b.name));
    diff("max_entries".into(), a.max_entries.to_string(), b.max_entries.to_string());
    diff("max_processes".into(), a.max_processes.to_string(), b.max_processes.to_string());
    diff("structures".into(), a.structures.len().to_string(), b.structures.len().to_string());
    let elem = |t: &Option<TypeLayout<'_>>| {
        t.as_ref().map(|t| {
            format!("{} {} {:#018x}", t.display_name(), zipc::layout::canonical(t), zipc::layout::fingerprint(t))
        })
    };
    for (i, (x, y)) in a.structures.iter().zip(b.structures).enumerate() {
        let at = |field: &str| format!("structure #{i} ({}) {field}", x.name);
        diff(at("name"), x.name.into(), y.name.into());
        diff(at("doc"), format!("{:?}", x.doc), format!("{:?}", y.doc));
        diff(at("kind"), x.kind.to_string(), y.kind.to_string());
        diff(at("element"), format!("{:?}", elem(&x.elem)), format!("{:?}", elem(&y.elem)));
        diff(at("capacity"), x.capacity.to_string(), y.capacity.to_string());
        diff(at("flags"), x.flags.to_string(), y.flags.to_string());
        diff(at("initial"), x.initial.to_string(), y.initial.to_string());
        diff(at("maximum"), x.maximum.to_string(), y.maximum.to_string());
    }
    out
}

/// A segment made from a schema by its generated struct's `create`, with its structures'
/// handles. The name is unlinked on drop.
pub struct SchemaSegment {
    /// The segment's unique name.
    pub name: crate::ShmName,
    /// One handle per structure, in schema order.
    pub handles: Vec<Handle>,
}

/// Creates a segment with the struct generated from `schema` (`Struct::create`), and checks that
/// the segment uses exactly the size the TOML model computes.
pub fn create(schema: &Schema<'_>) -> SchemaSegment {
    let name = crate::ShmName::new(&schema.stem.replace('_', "-"));
    let side = rust_side(&schema.stem).expect("tests/build.rs generated every schema");
    let handles = (side.create)(&name).expect("create the segment");
    let segment = Segment::open_unattached(&name).expect("open the segment");
    assert_eq!(segment.free_bytes().unwrap(), segment.size() - schema.size, "SegmentLayout::size is exact");
    SchemaSegment { name, handles }
}

/// One value of a plan: a primitive at a byte offset inside an element (or an atomic's value).
#[derive(Clone, Debug)]
pub struct Leaf {
    /// Index of the structure in the schema.
    pub structure: usize,
    /// Element index (0 for atomics).
    pub element: usize,
    /// Byte offset in the element.
    pub offset: u64,
    /// The primitive.
    pub prim: Primitive,
    /// Access path below the element: field names and array indices.
    pub path: Vec<Step>,
    /// The value.
    pub value: Value,
}

/// A step of an access path.
#[derive(Clone, Debug)]
pub enum Step {
    /// A struct field.
    Field(String),
    /// An array index.
    Index(u64),
}

/// A primitive value.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Value {
    /// Any integer type (fits its primitive).
    Int(i128),
    /// f32 or f64 (exactly representable in f32).
    Float(f64),
}

/// Sample indices of a length: first, middle, last.
fn samples(len: u64) -> Vec<u64> {
    let mut v = vec![0, len / 2, len.saturating_sub(1)];
    v.dedup();
    v
}

fn leaves(t: &TypeLayout<'_>, base: u64, path: &mut Vec<Step>, out: &mut Vec<(u64, Primitive, Vec<Step>)>) {
    match t {
        TypeLayout::Primitive(p) => out.push((base, *p, path.clone())),
        TypeLayout::Array { elem, len } => {
            for i in samples(*len) {
                path.push(Step::Index(i));
                leaves(elem, base + i * elem.size(), path, out);
                path.pop();
            }
        }
        TypeLayout::Struct(s) => {
            for f in s.fields {
                path.push(Step::Field(f.name.to_owned()));
                leaves(&f.ty, base + f.offset, path, out);
                path.pop();
            }
        }
    }
}

fn mix(mut x: u64) -> u64 {
    // splitmix64
    x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

fn value(p: Primitive, seed: u64, n: u64) -> Value {
    let h = mix(seed.wrapping_mul(1_000_003) ^ n);
    match p {
        Primitive::F32 | Primitive::F64 => Value::Float((h % 2_000_000) as f64 / 8.0 - 125_000.0),
        _ => {
            let bits = p.size() * 8;
            // Full range, but clear of the extremes that need special literal syntax in C.
            let span = if bits == 64 { 1u128 << 62 } else { 1u128 << (bits - 1) };
            let r = (h as u128) % span;
            Value::Int(if p.is_signed() && h & 1 == 1 {
                -(r as i128)
            } else if p.is_signed() {
                r as i128
            } else {
                r as i128 * 2
            })
        }
    }
}

/// The values a plan with `seed` puts into the arrays and atomics of `schema`: sampled elements
/// (first, middle, last), every field, sampled array indices.
pub fn plan(schema: &Schema<'_>, seed: u64) -> Vec<Leaf> {
    let mut out = Vec::new();
    let mut n = 0u64;
    for (si, s) in schema.layout.structures.iter().enumerate() {
        let Some(elem) = &s.elem else { continue };
        let elements = match s.kind {
            Kind::Array => samples(s.capacity),
            Kind::Atomic => vec![0],
            _ => continue,
        };
        let mut ls = Vec::new();
        leaves(elem, 0, &mut Vec::new(), &mut ls);
        for e in elements {
            for (offset, prim, path) in &ls {
                n += 1;
                out.push(Leaf {
                    structure: si,
                    element: e as usize,
                    offset: *offset,
                    prim: *prim,
                    path: path.clone(),
                    value: value(*prim, seed, n),
                });
            }
        }
    }
    out
}

fn encode(p: Primitive, v: Value) -> Vec<u8> {
    match (p, v) {
        (Primitive::F32, Value::Float(f)) => (f as f32).to_le_bytes().to_vec(),
        (Primitive::F64, Value::Float(f)) => f.to_le_bytes().to_vec(),
        (_, Value::Int(i)) => i.to_le_bytes()[..p.size() as usize].to_vec(),
        _ => unreachable!("value of the wrong class"),
    }
}

fn decode(p: Primitive, b: &[u8]) -> Value {
    match p {
        Primitive::F32 => Value::Float(f32::from_le_bytes(b.try_into().unwrap()) as f64),
        Primitive::F64 => Value::Float(f64::from_le_bytes(b.try_into().unwrap())),
        _ => {
            let mut buf = [0u8; 16];
            buf[..b.len()].copy_from_slice(b);
            let mut v = i128::from_le_bytes(buf);
            if p.is_signed() && b[b.len() - 1] & 0x80 != 0 {
                v -= 1i128 << (8 * b.len());
            }
            Value::Int(v)
        }
    }
}

/// Writes a plan's values through the Rust handles.
pub fn write_plan(handles: &[Handle], plan: &[Leaf]) {
    for l in plan {
        match &handles[l.structure] {
            Handle::Array(a) => {
                let mut bytes = a.read(l.element);
                let at = l.offset as usize;
                bytes[at..at + l.prim.size() as usize].copy_from_slice(&encode(l.prim, l.value));
                a.write(l.element, &bytes);
            }
            Handle::Atomic(a) => {
                let Value::Int(v) = l.value else { unreachable!() };
                a.store_bits(v as i64);
            }
            Handle::Other(_) => unreachable!("plans cover arrays and atomics"),
        }
    }
}

/// Reads a plan's locations through the Rust handles; returns a description of every mismatch.
pub fn check_plan(handles: &[Handle], schema: &Schema<'_>, plan: &[Leaf]) -> Vec<String> {
    let mut bad = Vec::new();
    for l in plan {
        let found = match &handles[l.structure] {
            Handle::Array(a) => {
                let bytes = a.read(l.element);
                let at = l.offset as usize;
                decode(l.prim, &bytes[at..at + l.prim.size() as usize])
            }
            Handle::Atomic(a) => {
                let bits = a.load_bits();
                decode(l.prim, &bits.to_le_bytes()[..l.prim.size() as usize])
            }
            Handle::Other(_) => unreachable!(),
        };
        if found != l.value {
            bad.push(format!(
                "{}[{}]{}: expected {:?}, found {:?}",
                schema.layout.structures[l.structure].name,
                l.element,
                c_path(&l.path),
                l.value,
                found
            ));
        }
    }
    bad
}

fn c_path(path: &[Step]) -> String {
    path.iter()
        .map(|s| match s {
            Step::Field(f) => format!(".{f}"),
            Step::Index(i) => format!("[{i}]"),
        })
        .collect()
}

fn c_literal(p: Primitive, v: Value) -> String {
    match (p, v) {
        (Primitive::F32, Value::Float(f)) => format!("{:?}f", f as f32),
        (Primitive::F64, Value::Float(f)) => format!("{f:?}"),
        (Primitive::U64, Value::Int(i)) => format!("UINT64_C({i})"),
        (Primitive::I64, Value::Int(i)) => format!("INT64_C({i})"),
        (Primitive::U32, Value::Int(i)) => format!("{i}u"),
        (_, Value::Int(i)) => format!("({}){i}", p.c_type()),
        _ => unreachable!(),
    }
}

/// How a generated test program reaches the segment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    /// Through libzipc. C: `STEM_segment_open` (registers, checks every structure) and the typed
    /// accessors `STEM_NAME(seg, ...)`; Python: `STEM.open(name)`.
    Libzipc,
    /// Without it. C, with nothing but libc: the program maps the segment itself (`shm_open`,
    /// `fstat`, `mmap`) and finds each array and atomic with the header-only
    /// `STEM_NAME_raw(base, len, ...)`; Python, with nothing but numpy: `STEM.open_mapped(name)`
    /// (and the script checks that libzipc was never loaded).
    Raw,
}

/// The C preamble of a [`Access::Raw`] program: POSIX headers and `map_segment`, which maps a
/// segment read-write and returns a `zipc_status` (the only libzipc-free code a user writes).
fn c_raw_preamble(o: &mut String) {
    o.push_str(
        "#include <errno.h>\n#include <fcntl.h>\n#include <sys/mman.h>\n#include <sys/stat.h>\n#include <unistd.h>\n\n",
    );
    o.push_str(concat!(
        "static zipc_status map_segment(const char *name, void **base, size_t *len) {\n",
        "    struct stat sb;\n",
        "    void *p;\n",
        "    int fd = shm_open(name, O_RDWR, 0);\n",
        "    if (fd < 0) return errno == ENOENT ? ZIPC_ERR_NOT_FOUND : ZIPC_ERR_OS;\n",
        "    if (fstat(fd, &sb) != 0 || sb.st_size <= 0) { close(fd); return ZIPC_ERR_CORRUPT; }\n",
        "    p = mmap(NULL, (size_t)sb.st_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);\n",
        "    close(fd);\n",
        "    if (p == MAP_FAILED) return ZIPC_ERR_OS;\n",
        "    *base = p;\n",
        "    *len = (size_t)sb.st_size;\n",
        "    return ZIPC_OK;\n",
        "}\n\n",
    ));
}

/// The includes of a generated C test program: `_POSIX_C_SOURCE` first for a raw one (strict C11
/// hides `shm_open` otherwise).
fn c_includes(o: &mut String, schema: &Schema<'_>, access: Access) {
    if access == Access::Raw {
        o.push_str("#define _POSIX_C_SOURCE 200809L\n");
    }
    let _ = writeln!(o, "#include \"{}.h\"\n#include <stdio.h>", schema.stem);
    if access == Access::Raw {
        c_raw_preamble(o);
    } else {
        o.push('\n');
    }
}

/// The declaration `T *e` (or `T (*e)[2][3]`) of a pointer to an array's elements.
fn c_elems_decl(t: &TypeLayout<'_>) -> String {
    let (base, dims) = c_dims(t);
    if dims.is_empty() {
        format!("{base} *e")
    } else {
        format!("{base} (*e){}", dims.iter().map(|d| format!("[{d}]")).collect::<String>())
    }
}

/// A C program (on the generated header `STEM.h`) that opens the segment named by `argv[1]` as
/// `access` says, checks every value of `expect` and then writes every value of `write`. Exits 0
/// only if every check passed; prints each mismatch.
pub fn c_program(schema: &Schema<'_>, expect: &[Leaf], write: &[Leaf], access: Access) -> String {
    let lower = schema.stem.to_lowercase();
    let raw = access == Access::Raw;
    let mut o = String::new();
    c_includes(&mut o, schema, access);
    o.push_str("static int failures = 0;\n");
    o.push_str("#define CHECK(cond, what) do { if (!(cond)) { fprintf(stderr, \"mismatch: %s\\n\", what); failures++; } } while (0)\n\n");
    o.push_str("int main(int argc, char **argv) {\n    zipc_status st;\n");
    if raw {
        o.push_str("    void *base = NULL;\n    size_t size = 0;\n");
        o.push_str("    if (argc != 2) return 64;\n");
        o.push_str("    st = map_segment(argv[1], &base, &size);\n");
        o.push_str("    if (st != ZIPC_OK) { fprintf(stderr, \"map: status %d\\n\", (int)st); return 2; }\n");
    } else {
        o.push_str("    zipc_segment *seg = NULL;\n    const char *which = NULL;\n");
        o.push_str("    if (argc != 2) return 64;\n");
        let _ = writeln!(o, "    st = {lower}_segment_open(argv[1], &seg, &which);");
        o.push_str("    if (st != ZIPC_OK) {\n        fprintf(stderr, \"open: %s (structure %s)\\n\", zipc_last_error(), which ? which : \"-\");\n        return 2;\n    }\n");
    }
    o.push_str("    if (!zipc_fnv1a64_selftest()) { fprintf(stderr, \"fnv selftest\\n\"); return 3; }\n");
    let (args, suffix) = if raw { ("base, size", "_raw") } else { ("seg", "") };
    for (si, s) in schema.layout.structures.iter().enumerate() {
        let mine_e: Vec<&Leaf> = expect.iter().filter(|l| l.structure == si).collect();
        let mine_w: Vec<&Leaf> = write.iter().filter(|l| l.structure == si).collect();
        if mine_e.is_empty() && mine_w.is_empty() {
            continue;
        }
        let n = s.name;
        let mac = format!("{}_{}", schema.c_prefix, n.to_uppercase());
        let _ = writeln!(
            o,
            "    if (zipc_fnv1a64({mac}_CANONICAL, sizeof({mac}_CANONICAL) - 1) != {mac}_FINGERPRINT) {{ fprintf(stderr, \"{n}: fingerprint constant\\n\"); failures++; }}"
        );
        let fail =
            format!("        if (st != ZIPC_OK) {{ fprintf(stderr, \"{n}: status %d\\n\", (int)st); return 4; }}");
        match (s.kind, &s.elem) {
            (Kind::Array, Some(t)) => {
                let _ = writeln!(o, "    {{\n        {};\n        uint64_t len;", c_elems_decl(t));
                let _ = writeln!(o, "        st = {lower}_{n}{suffix}({args}, &e, &len);");
                let _ = writeln!(o, "{fail}");
                let _ = writeln!(o, "        CHECK(len == {mac}_CAPACITY, \"{n}: length\");");
                for l in mine_e {
                    let path = format!("e[{}]{}", l.element, c_path(&l.path));
                    let _ =
                        writeln!(o, "        CHECK({path} == {}, \"{n}{}\");", c_literal(l.prim, l.value), &path[1..]);
                }
                for l in mine_w {
                    let _ =
                        writeln!(o, "        e[{}]{} = {};", l.element, c_path(&l.path), c_literal(l.prim, l.value));
                }
                o.push_str("    }\n");
            }
            (Kind::Atomic, Some(TypeLayout::Primitive(p))) => {
                let _ = writeln!(o, "    {{\n        {} *v;", p.c_type());
                let _ = writeln!(o, "        st = {lower}_{n}{suffix}({args}, &v);");
                let _ = writeln!(o, "{fail}");
                for l in mine_e {
                    let _ = writeln!(
                        o,
                        "        CHECK(__atomic_load_n(v, __ATOMIC_ACQUIRE) == {}, \"{n}\");",
                        c_literal(l.prim, l.value)
                    );
                }
                for l in mine_w {
                    let _ =
                        writeln!(o, "        __atomic_store_n(v, {}, __ATOMIC_RELEASE);", c_literal(l.prim, l.value));
                }
                o.push_str("    }\n");
            }
            _ => {}
        }
    }
    if raw {
        o.push_str("    munmap(base, size);\n");
    } else {
        o.push_str("    zipc_segment_close(seg);\n");
    }
    o.push_str("    if (failures) fprintf(stderr, \"%d mismatches\\n\", failures);\n    return failures ? 1 : 0;\n}\n");
    o
}

/// A C program (on `STEM.h`) that opens every segment named on its command line and takes every
/// array's elements and every atomic's value with the generated accessors. With
/// [`Access::Libzipc`] it opens with `STEM_segment_open` (which checks every structure against
/// the schema) and then uses `STEM_NAME(seg, ...)`; with [`Access::Raw`] it maps the segment
/// itself and uses `STEM_NAME_raw(base, len, ...)`, which checks the table and the arrays' and
/// atomics' descriptors. Prints one line per segment: the `zipc_status` as a number and the
/// structure it concerns (`-` if none). Exits 0 unless it cannot run.
pub fn c_probe(schema: &Schema<'_>, access: Access) -> String {
    let lower = schema.stem.to_lowercase();
    let raw = access == Access::Raw;
    let mut o = String::new();
    c_includes(&mut o, schema, access);
    o.push_str("int main(int argc, char **argv) {\n    int i;\n    for (i = 1; i < argc; i++) {\n");
    o.push_str("        const char *which = NULL;\n");
    if raw {
        o.push_str("        void *base = NULL;\n        size_t size = 0;\n");
        o.push_str("        zipc_status st = map_segment(argv[i], &base, &size);\n");
    } else {
        o.push_str("        zipc_segment *seg = NULL;\n");
        let _ = writeln!(o, "        zipc_status st = {lower}_segment_open(argv[i], &seg, &which);");
    }
    o.push_str("        if (st == ZIPC_OK) {\n");
    let (args, suffix) = if raw { ("base, size", "_raw") } else { ("seg", "") };
    for s in schema.layout.structures {
        let n = s.name;
        let decl = match (s.kind, &s.elem) {
            (Kind::Array, Some(t)) => format!("{}; uint64_t len", c_elems_decl(t)),
            (Kind::Atomic, Some(TypeLayout::Primitive(p))) => format!("{} *v", p.c_type()),
            _ => continue,
        };
        let out = if s.kind == Kind::Array { "&e, &len" } else { "&v" };
        let _ = writeln!(
            o,
            "            if (st == ZIPC_OK) {{ {decl}; st = {lower}_{n}{suffix}({args}, {out}); if (st != ZIPC_OK) which = \"{n}\"; }}"
        );
    }
    if raw {
        o.push_str("            munmap(base, size);\n        }\n");
    } else {
        o.push_str("            zipc_segment_close(seg);\n        }\n");
    }
    o.push_str("        printf(\"%d %s\\n\", (int)st, which ? which : \"-\");\n    }\n    return 0;\n}\n");
    o
}

/// A Python script (importing the generated module `STEM`) that opens every segment named on its
/// command line with the generated `open` (which validates the segment and checks every
/// structure, making views of the arrays and atomics). Prints one line per segment: `ok`, or the
/// `ZipcError`'s class and message (newlines as ` | `), tab-separated.
pub fn python_probe(schema: &Schema<'_>, access: Access) -> String {
    let opener = if access == Access::Raw { "open_mapped" } else { "open" };
    let mut o = String::new();
    let _ = writeln!(o, "import sys\nimport zipc_runtime\nimport {} as m\n", schema.stem);
    let _ = writeln!(o, "for name in sys.argv[1:]:\n    try:\n        m.{opener}(name).close()\n        print('ok')");
    o.push_str("    except zipc_runtime.ZipcError as e:\n        print(type(e).__name__ + '\\t' + str(e).replace('\\n', ' | '))\n");
    if access == Access::Raw {
        o.push_str("assert zipc_runtime._LIB is None, 'open_mapped loaded libzipc'\n");
    }
    o
}

fn c_dims(t: &TypeLayout<'_>) -> (String, Vec<u64>) {
    let mut dims = Vec::new();
    let mut t = *t;
    loop {
        match t {
            TypeLayout::Primitive(p) => return (p.c_type().to_owned(), dims),
            TypeLayout::Struct(s) => return (s.name.to_owned(), dims),
            TypeLayout::Array { elem, len } => {
                dims.push(len);
                t = *elem;
            }
        }
    }
}

fn py_value(v: Value) -> String {
    match v {
        Value::Int(i) => i.to_string(),
        Value::Float(f) => format!("{f:?}"),
    }
}

fn py_path(path: &[Step]) -> String {
    let items: Vec<String> = path
        .iter()
        .map(|s| match s {
            Step::Field(f) => format!("{f:?}"),
            Step::Index(i) => i.to_string(),
        })
        .collect();
    format!("[{}]", items.join(", "))
}

/// A Python script (importing the generated module `STEM`) that opens the segment named by
/// `sys.argv[1]`, checks every value of `expect`, then writes every value of `write`. Exits 0
/// only if every check passed.
pub fn python_script(schema: &Schema<'_>, expect: &[Leaf], write: &[Leaf], access: Access) -> String {
    let opener = if access == Access::Raw { "open_mapped" } else { "open" };
    let mut o = String::new();
    let _ = writeln!(o, "import sys\nimport numpy as np\nimport {} as m\n", schema.stem);
    let _ = writeln!(o, "seg = m.{opener}(sys.argv[1])\nfailures = []\n");
    o.push_str("def node(v, path):\n    for p in path:\n        v = v[p]\n    return v\n\n");
    o.push_str("def check(name, path, want):\n    v = getattr(seg, name)\n    got = v.load() if hasattr(v, 'load') else node(v, path)\n    got = got.item() if hasattr(got, 'item') else got\n    if got != want:\n        failures.append('%s%r: expected %r, found %r' % (name, path, want, got))\n\n");
    // An atomic is an Atomic (load/store) through libzipc, a 0-d numpy view without it.
    o.push_str("def put(name, path, value):\n    v = getattr(seg, name)\n    if hasattr(v, 'store'):\n        v.store(value)\n    elif not path:\n        v[...] = value\n    else:\n        node(v, path[:-1])[path[-1]] = value\n\n");
    let full_path = |l: &Leaf| {
        let mut p = Vec::new();
        if schema.layout.structures[l.structure].kind == Kind::Array {
            p.push(Step::Index(l.element as u64));
        }
        p.extend(l.path.iter().cloned());
        py_path(&p)
    };
    for l in expect {
        let _ = writeln!(
            o,
            "check({:?}, {}, {})",
            schema.layout.structures[l.structure].name,
            full_path(l),
            py_value(l.value)
        );
    }
    for l in write {
        let _ = writeln!(
            o,
            "put({:?}, {}, {})",
            schema.layout.structures[l.structure].name,
            full_path(l),
            py_value(l.value)
        );
    }
    o.push_str("seg.close()\nif failures:\n    print('\\n'.join(failures), file=sys.stderr)\n    sys.exit(1)\n");
    if access == Access::Raw {
        o.push_str("assert m._zipc._LIB is None, 'open_mapped loaded libzipc'\n");
    }
    o
}

/// One structure declaration that must be refused: the file name the diagnostic names, the
/// TOML lines after `name` and `kind`, where the one error must point (line, column), and a
/// word its message must contain.
pub type Refusal<'a> = (&'a str, &'a str, (usize, usize), &'a str);

/// Parses each of `cases` as one `[[structures]]` entry named `name` of `kind`, and returns what
/// went wrong: a case accepted, an error at another place or more than one, or a message without
/// `FILE:LINE:COLUMN: error: ` and the expected word. Empty when every case is refused as said.
pub fn refusals(name: &str, kind: &str, cases: &[Refusal<'_>]) -> Vec<String> {
    let mut problems = Vec::new();
    for &(file, extra, (line, column), needle) in cases {
        let src = format!("[[structures]]\nname = \"{name}\"\nkind = \"{kind}\"\n{extra}");
        let arena = zipc_schema::Arena::new();
        let diags = match zipc_schema::Schema::parse(file, &src, &arena) {
            Ok(_) => {
                problems.push(format!("{file}: accepted"));
                continue;
            }
            Err(d) => d,
        };
        let text = diags.to_string();
        let positions: Vec<(usize, usize)> = diags.iter().map(|d| (d.line, d.column)).collect();
        if positions != [(line, column)] {
            problems.push(format!("{file}: errors at {positions:?}, expected [({line}, {column})]:\n{text}"));
        }
        if !text.starts_with(&format!("{file}:{line}:{column}: error: ")) || !text.contains(needle) {
            problems.push(format!("{file}: expected `{file}:{line}:{column}: error: ` mentioning {needle:?}:\n{text}"));
        }
    }
    problems
}
