# ---------------------------------------------------------------------------------------------
# Without libzipc: the arrays and atomics of a segment mapped with numpy alone
# ---------------------------------------------------------------------------------------------

class NeedsLibraryError(ZipcError, AttributeError):
    """A structure of a MappedSegment that only libzipc can operate (a queue, ring, pool, ...)."""


def _shm_path(name):
    """The file of POSIX shared memory object `name` ("/name", as shm_open takes it)."""
    if not isinstance(name, str) or not name.startswith("/") or len(name) < 2 or "/" in name[1:] \
            or "\0" in name or len(name) > 255:
        raise InvalidArgumentError("%r is not a shared memory name: one '/' then 1 to 254 bytes without '/'"
                                   % (name,), STATUS["ZIPC_ERR_INVALID_NAME"])
    return "/dev/shm" + name


class MappedSegment:
    """A segment this process maps by itself, with numpy alone (STEM.open_mapped): no libzipc, no
    entry in the segment's process registry. Its arrays are attributes holding numpy views of the
    shared elements, its atomics 0-d numpy views of their values (`seg.count[()]` reads,
    `seg.count[...] = 5` writes), each found in the table and checked against its declaration in
    the segment's self-description: kind, element size, layout fingerprint, capacity. The header
    and the table are validated against the file's length first. Refused: a segment made by
    ZeroIPC (no self-description, so nothing to check the layouts against) and one whose process
    registry has another size than the schema's (its descriptors are elsewhere). Queues, rings,
    pools, endpoints and sync primitives need libzipc: reaching for one raises NeedsLibraryError.

    The views are plain shared memory, as in C: numpy reads and writes an aligned 4- or 8-byte
    atomic in one access (no tearing) but orders nothing and has no read-modify-write; use
    STEM.open()'s Atomic (load/store with acquire/release, fetch_add, wait) where that matters."""

    def __init__(self, name, structures, max_processes, descriptors_offset):
        import mmap
        self.name = name
        path = _shm_path(name)
        try:
            fd = os.open(path, os.O_RDWR)
        except FileNotFoundError:
            raise NotFoundError("no segment %r (%s does not exist)" % (name, path), STATUS["ZIPC_ERR_NOT_FOUND"])
        except PermissionError as e:
            raise ZipcError("segment %r: %s" % (name, e), STATUS["ZIPC_ERR_PERMISSION"])
        try:
            length = os.fstat(fd).st_size
            if length < RAW_HEADER_SIZE:
                raise self._corrupt("the file has %d bytes, fewer than a header" % length)
            self._map = mmap.mmap(fd, length)
        finally:
            os.close(fd)
        self._declared = {s.name: s for s in structures}
        table = self._table(max_processes, descriptors_offset)
        for s in structures:
            if s.kind in (KIND_ARRAY, KIND_ATOMIC):
                self.__dict__[s.name] = self._view(s, table)

    def _u32(self, at):
        return int.from_bytes(self._map[at:at + 4], "little")

    def _u64(self, at):
        return int.from_bytes(self._map[at:at + 8], "little")

    def _corrupt(self, what):
        return CorruptError("segment %r is corrupt: %s" % (self.name, what), STATUS["ZIPC_ERR_CORRUPT"])

    def _entry_name(self, at):
        field = self._map[at:at + RAW_NAME_FIELD]
        end = field.find(b"\0")
        if end < 0:
            raise self._corrupt("the table entry at %d has a name without NUL" % at)
        return field[:end].decode("utf-8", "replace")

    def _table(self, max_processes, descriptors_offset):
        """Validates the header, the table and the self-description's header; returns what
        _view needs: (self-description offset, memory size, end of the table, descriptors
        offset, {name: (index, offset, size)})."""
        length = len(self._map)
        if self._u32(0) != RAW_TABLE_MAGIC or self._u32(4) != RAW_TABLE_VERSION:
            raise self._corrupt("no zipc/ZeroIPC header (magic %#x, version %d)" % (self._u32(0), self._u32(4)))
        count = self._u32(RAW_ENTRY_COUNT_AT)
        max_entries = self._u32(RAW_MAX_ENTRIES_AT)
        memory_size = self._u64(RAW_MEMORY_SIZE_AT)
        table_end = RAW_HEADER_SIZE + max_entries * RAW_ENTRY_SIZE
        if memory_size > length:
            raise self._corrupt("its header says %d bytes, the file has %d" % (memory_size, length))
        if count == 0 or count > max_entries or table_end > memory_size:
            raise self._corrupt("%d entries of a table of %d in %d bytes" % (count, max_entries, memory_size))
        entries = {}
        for i in range(count):
            at = RAW_HEADER_SIZE + i * RAW_ENTRY_SIZE
            entries.setdefault(self._entry_name(at), (i, self._u64(at + RAW_ENTRY_OFFSET_AT),
                                                      self._u64(at + RAW_ENTRY_SIZE_AT)))
        if self._entry_name(RAW_HEADER_SIZE) != "__zipc":
            raise MismatchError(
                "segment %r has no self-description (made by ZeroIPC?): without it the structures' layouts "
                "cannot be checked; open it with libzipc (STEM.open), which opens such segments untyped"
                % (self.name,), STATUS["ZIPC_ERR_KIND"])
        _, self_at, self_size = entries.pop("__zipc")
        if self_at < table_end or self_at > memory_size or self_size > memory_size - self_at \
                or self_size < descriptors_offset + max_entries * RAW_DESCRIPTOR_SIZE:
            raise self._corrupt("its self-description (%d bytes at %d) is out of bounds" % (self_size, self_at))
        if self._u32(self_at) != RAW_SELF_MAGIC or self._u32(self_at + RAW_SELF_VERSION_AT) != RAW_FORMAT_VERSION:
            raise self._corrupt("its self-description has magic %#x, format %d (this module reads format %d)"
                                % (self._u32(self_at), self._u32(self_at + RAW_SELF_VERSION_AT), RAW_FORMAT_VERSION))
        found = self._u32(self_at + RAW_SELF_MAX_PROCESSES_AT)
        if found != max_processes:
            raise MismatchError(
                "segment %r has a registry of %d processes, the schema %d: its descriptors are elsewhere; "
                "open it with libzipc (STEM.open)" % (self.name, found, max_processes), STATUS["ZIPC_ERR_PARAMETER"])
        return self_at, memory_size, table_end, descriptors_offset, entries

    def _view(self, decl, table):
        self_at, memory_size, table_end, descriptors_offset, entries = table
        name = decl.name
        if name not in entries:
            raise NotFoundError("segment %r has no structure %r" % (self.name, name), STATUS["ZIPC_ERR_NOT_FOUND"])
        i, offset, size = entries[name]
        if offset < table_end or offset > memory_size or size > memory_size - offset:
            raise self._corrupt("structure %r (%d bytes at %d) is out of bounds" % (name, size, offset))
        d = self_at + descriptors_offset + i * RAW_DESCRIPTOR_SIZE
        kind = self._u32(d + RAW_KIND_AT)
        if kind != decl.kind:
            raise MismatchError('structure "%s" is a %s, the schema declares a %s' % (
                name, KIND_NAMES.get(kind, "kind %d" % kind), KIND_NAMES[decl.kind]), STATUS["ZIPC_ERR_KIND"])
        elem_size, fingerprint = self._u32(d + RAW_ELEM_SIZE_AT), self._u64(d + RAW_FINGERPRINT_AT)
        if elem_size != decl.dtype.itemsize or fingerprint != decl.fingerprint:
            raise MismatchError(
                'structure "%s": element layout differs: %d bytes, fingerprint %#018x in the segment; '
                "%d bytes, %#018x (%s) in the schema" % (name, elem_size, fingerprint, decl.dtype.itemsize,
                                                         decl.fingerprint, decl.canonical), STATUS["ZIPC_ERR_LAYOUT"])
        capacity = self._u64(d + RAW_CAPACITY_AT)
        if kind == KIND_ATOMIC:
            if size < RAW_ATOMIC_SIZE or offset % RAW_ATOMIC_ALIGN != 0:
                raise self._corrupt("atomic %r: a region of %d bytes at %d" % (name, size, offset))
            return np.frombuffer(self._map, dtype=decl.dtype, count=1, offset=offset).reshape(())
        if capacity != decl.capacity:
            raise MismatchError('structure "%s": capacity %d in the segment, %d in the schema' % (
                name, capacity, decl.capacity), STATUS["ZIPC_ERR_CAPACITY"])
        if size < RAW_ARRAY_DATA_AT or capacity > (size - RAW_ARRAY_DATA_AT) // elem_size \
                or self._u64(offset) != capacity:
            raise self._corrupt("array %r: %d elements of %d bytes do not fit its %d-byte region" % (
                name, capacity, elem_size, size))
        return np.frombuffer(self._map, dtype=decl.dtype, count=capacity, offset=offset + RAW_ARRAY_DATA_AT)

    def __getattr__(self, name):
        decl = self.__dict__.get("_declared", {}).get(name)
        if decl is None:
            raise AttributeError("%s has no attribute %r" % (type(self).__name__, name))
        raise NeedsLibraryError(
            "structure %r is a %s: its operations need libzipc; open the segment with STEM.open()"
            % (name, KIND_NAMES[decl.kind]), STATUS["ZIPC_ERR_KIND"])

    def close(self):
        """Drops this object's views; the mapping goes when the last view (or anything derived
        from one) is gone."""
        for s in self.__dict__.pop("_declared", {}).values():
            self.__dict__.pop(s.name, None)
        m = self.__dict__.pop("_map", None)
        if m is not None:
            try:
                m.close()
            except BufferError:
                pass  # views outlive the segment object; the mapping stays until they go

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
