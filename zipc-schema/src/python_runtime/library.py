# ---------------------------------------------------------------------------------------------
# Loading libzipc
# ---------------------------------------------------------------------------------------------

_P = ctypes.c_void_p
_S = ctypes.c_char_p
_SZ = ctypes.c_size_t
_I64 = ctypes.c_int64
_U64 = ctypes.c_uint64
_U32 = ctypes.c_uint32
_INT = ctypes.c_int
_ST = ctypes.c_int


class Entry(ctypes.Structure):
    """zipc_entry: a structure's table entry and descriptor."""
    _fields_ = [("index", _U32), ("kind", _U32), ("offset", _U64), ("size", _U64), ("flags", _U32),
                ("elem_size", _U32), ("capacity", _U64), ("fingerprint", _U64), ("elem_align", _U32),
                ("reserved", _U32), ("initial", _I64), ("maximum", _I64)]

    def __repr__(self):
        return "Entry(kind=%s, capacity=%d, elem_size=%d)" % (
            KIND_NAMES.get(self.kind, self.kind), self.capacity, self.elem_size)


class _Decl(ctypes.Structure):
    _fields_ = [("name", _S), ("kind", _U32), ("flags", _U32), ("capacity", _U64), ("maximum", _I64),
                ("elem_size", _SZ), ("layout", _S)]


class Handle(ctypes.Structure):
    """zipc_handle: a pool object's slot index and generation (plain data, valid in every process)."""
    _fields_ = [("index", _U32), ("generation", _U32)]

    def __eq__(self, other):
        return isinstance(other, Handle) and (self.index, self.generation) == (other.index, other.generation)

    def __hash__(self):
        return hash((self.index, self.generation))

    def __repr__(self):
        return "Handle(%d:%d)" % (self.index, self.generation)


assert ctypes.sizeof(Entry) == SIZEOF_ENTRY and ctypes.sizeof(_Decl) == SIZEOF_DECL
assert ctypes.sizeof(Handle) == SIZEOF_HANDLE

_PP = ctypes.POINTER(_P)

# name: (result type, argument types)
_SIGNATURES = {
    "zipc_abi_version": (_U32, []),
    "zipc_fence_free_fast_path": (_INT, []),
    "zipc_last_error": (_S, []),
    "zipc_last_status": (_ST, []),
    "zipc_segment_open": (_ST, [_S, _PP]),
    "zipc_segment_close": (None, [_P]),
    "zipc_segment_unlink": (_ST, [_S]),
    "zipc_segment_size": (_U64, [_P]),
    "zipc_segment_recover_dead": (_ST, [_P, ctypes.POINTER(_U64), ctypes.POINTER(_U64)]),
    "zipc_find": (_ST, [_P, _S, ctypes.POINTER(Entry)]),
    "zipc_check": (_ST, [_P, ctypes.POINTER(_Decl)]),
    "zipc_queue_open": (_ST, [_P, _S, _SZ, _S, _PP]),
    "zipc_queue_close": (None, [_P]),
    "zipc_queue_capacity": (_U64, [_P]),
    "zipc_queue_len": (_U64, [_P]),
    "zipc_queue_lost": (_U64, [_P]),
    "zipc_queue_recover": (_U64, [_P]),
    "zipc_queue_open_producer": (_ST, [_P, _PP]),
    "zipc_queue_open_consumer": (_ST, [_P, _PP]),
    "zipc_producer_close": (None, [_P]),
    "zipc_consumer_close": (None, [_P]),
    "zipc_producer_try_push": (_ST, [_P, _P, _SZ]),
    "zipc_producer_push": (_ST, [_P, _P, _SZ, _I64]),
    "zipc_producer_push_bulk": (_ST, [_P, _P, _SZ, _SZ, _I64, ctypes.POINTER(_SZ)]),
    "zipc_consumer_try_pop": (_ST, [_P, _P, _SZ]),
    "zipc_consumer_pop": (_ST, [_P, _P, _SZ, _I64]),
    "zipc_consumer_pop_bulk": (_ST, [_P, _P, _SZ, _SZ, _I64, ctypes.POINTER(_SZ)]),
    "zipc_consumer_lost_on_takeover": (_U64, [_P]),
    "zipc_endpoint_open": (_ST, [_P, _S, _SZ, _S, _PP]),
    "zipc_endpoint_close": (None, [_P]),
    "zipc_endpoint_open_side": (_ST, [_P, _INT, _PP]),
    "zipc_side_close": (None, [_P]),
    "zipc_side_try_send": (_ST, [_P, _P, _SZ]),
    "zipc_side_send": (_ST, [_P, _P, _SZ, _I64]),
    "zipc_side_send_bulk": (_ST, [_P, _P, _SZ, _SZ, _I64, ctypes.POINTER(_SZ)]),
    "zipc_side_try_recv": (_ST, [_P, _P, _SZ]),
    "zipc_side_recv": (_ST, [_P, _P, _SZ, _I64]),
    "zipc_side_recv_bulk": (_ST, [_P, _P, _SZ, _SZ, _I64, ctypes.POINTER(_SZ)]),
    "zipc_ring_open": (_ST, [_P, _S, _SZ, _S, _PP]),
    "zipc_ring_close": (None, [_P]),
    "zipc_ring_capacity": (_U64, [_P]),
    "zipc_ring_overwrites": (_INT, [_P]),
    "zipc_ring_total_written": (_U64, [_P]),
    "zipc_ring_total_read": (_U64, [_P]),
    "zipc_ring_total_missed": (_U64, [_P]),
    "zipc_ring_total_lost": (_U64, [_P]),
    "zipc_ring_len": (_U64, [_P]),
    "zipc_ring_get_last_n": (_ST, [_P, _P, _SZ, _SZ, ctypes.POINTER(_SZ)]),
    "zipc_ring_open_producer": (_ST, [_P, _PP]),
    "zipc_ring_open_consumer": (_ST, [_P, _PP]),
    "zipc_ring_producer_close": (None, [_P]),
    "zipc_ring_consumer_close": (None, [_P]),
    "zipc_ring_try_push": (_ST, [_P, _P, _SZ]),
    "zipc_ring_push": (_ST, [_P, _P, _SZ, _I64]),
    "zipc_ring_push_bulk": (_ST, [_P, _P, _SZ, _SZ, _I64, ctypes.POINTER(_SZ)]),
    "zipc_ring_try_pop": (_ST, [_P, _P, _SZ]),
    "zipc_ring_pop": (_ST, [_P, _P, _SZ, _I64]),
    "zipc_ring_pop_bulk": (_ST, [_P, _P, _SZ, _SZ, _I64, ctypes.POINTER(_SZ)]),
    "zipc_ring_peek": (_ST, [_P, _P, _SZ]),
    "zipc_ring_missed": (_U64, [_P]),
    "zipc_ring_lost_on_takeover": (_U64, [_P]),
    "zipc_pool_open": (_ST, [_P, _S, _SZ, _S, _PP]),
    "zipc_pool_close": (None, [_P]),
    "zipc_pool_capacity": (_U64, [_P]),
    "zipc_pool_allocated": (_U64, [_P]),
    "zipc_pool_try_acquire": (_ST, [_P, ctypes.POINTER(Handle)]),
    "zipc_pool_acquire": (_ST, [_P, _I64, ctypes.POINTER(Handle)]),
    "zipc_pool_release": (_ST, [_P, Handle]),
    "zipc_pool_is_live": (_INT, [_P, Handle]),
    "zipc_pool_adopt": (_ST, [_P, Handle]),
    "zipc_pool_reclaim_dead": (_U64, [_P]),
    "zipc_pool_read": (_ST, [_P, Handle, _P, _SZ]),
    "zipc_pool_write": (_ST, [_P, Handle, _P, _SZ]),
    "zipc_array_open": (_ST, [_P, _S, _SZ, _S, _PP]),
    "zipc_array_close": (None, [_P]),
    "zipc_array_len": (_U64, [_P]),
    "zipc_array_data": (_P, [_P]),
    "zipc_atomic_open": (_ST, [_P, _S, _PP]),
    "zipc_atomic_close": (None, [_P]),
    "zipc_atomic_type": (_U32, [_P]),
    "zipc_atomic_ptr": (_P, [_P]),
    "zipc_atomic_load": (_ST, [_P, ctypes.POINTER(_I64)]),
    "zipc_atomic_store": (_ST, [_P, _I64]),
    "zipc_atomic_fetch_add": (_ST, [_P, _I64, ctypes.POINTER(_I64)]),
    "zipc_atomic_fetch_sub": (_ST, [_P, _I64, ctypes.POINTER(_I64)]),
    "zipc_atomic_swap": (_ST, [_P, _I64, ctypes.POINTER(_I64)]),
    "zipc_atomic_compare_exchange": (_ST, [_P, _I64, _I64, ctypes.POINTER(_I64)]),
    "zipc_atomic_wait": (_ST, [_P, _I64, _I64]),
    "zipc_atomic_wake": (_ST, [_P, _INT]),
    "zipc_semaphore_open": (_ST, [_P, _S, _PP]),
    "zipc_semaphore_close": (None, [_P]),
    "zipc_semaphore_acquire": (_ST, [_P, _I64]),
    "zipc_semaphore_try_acquire": (_ST, [_P]),
    "zipc_semaphore_release": (_ST, [_P]),
    "zipc_semaphore_count": (_U32, [_P]),
    "zipc_barrier_open": (_ST, [_P, _S, _PP]),
    "zipc_barrier_close": (None, [_P]),
    "zipc_barrier_wait": (_ST, [_P, _I64, ctypes.POINTER(_INT), ctypes.POINTER(_U32)]),
    "zipc_barrier_participants": (_U32, [_P]),
    "zipc_latch_open": (_ST, [_P, _S, _PP]),
    "zipc_latch_close": (None, [_P]),
    "zipc_latch_count_down": (_ST, [_P, _U32, ctypes.POINTER(_U32)]),
    "zipc_latch_wait": (_ST, [_P, _I64]),
    "zipc_latch_try_wait": (_ST, [_P]),
    "zipc_latch_count": (_U32, [_P]),
    "zipc_mutex_open": (_ST, [_P, _S, _PP]),
    "zipc_mutex_close": (None, [_P]),
    "zipc_mutex_lock": (_ST, [_P, _I64, ctypes.POINTER(_INT)]),
    "zipc_mutex_try_lock": (_ST, [_P, ctypes.POINTER(_INT)]),
    "zipc_mutex_mark_consistent": (_ST, [_P]),
    "zipc_mutex_unlock": (_ST, [_P]),
    "zipc_event_open": (_ST, [_P, _S, _PP]),
    "zipc_event_close": (None, [_P]),
    "zipc_event_set": (_ST, [_P]),
    "zipc_event_reset": (_ST, [_P]),
    "zipc_event_wait": (_ST, [_P, _I64]),
    "zipc_event_try_wait": (_ST, [_P]),
    "zipc_event_is_set": (_INT, [_P]),
}

_LIB = None


def _candidates():
    """Where libzipc is looked for, in order, as (description, path or name)."""
    found = []
    env = os.environ.get("ZIPC_LIB")
    if env:
        found.append(("ZIPC_LIB", os.path.join(env, LIBRARY_FILE) if os.path.isdir(env) else env))
    found.append(("beside zipc_runtime.py", os.path.join(os.path.dirname(os.path.abspath(__file__)), LIBRARY_FILE)))
    system = ctypes.util.find_library("zipc")
    found.append(("the system library path", system or LIBRARY_FILE))
    return found


def library():
    """libzipc, loaded once (see the module docs for where it is looked for)."""
    global _LIB
    if _LIB is not None:
        return _LIB
    tried = []
    for where, path in _candidates():
        if os.sep in path and not os.path.exists(path):
            tried.append("%s: %s (no such file)" % (where, path))
            continue
        try:
            lib = ctypes.CDLL(path)
        except OSError as e:
            tried.append("%s: %s (%s)" % (where, path, e))
            continue
        try:
            version = lib.zipc_abi_version()
        except AttributeError:
            tried.append("%s: %s (not libzipc: no zipc_abi_version)" % (where, path))
            continue
        if version != ABI_VERSION:
            raise LibraryNotFoundError(
                "%s (%s) implements zipc ABI version %d, but this module was generated for version %d: "
                "rebuild libzipc and regenerate with the same zipc version" % (path, where, version, ABI_VERSION))
        for name, (restype, argtypes) in _SIGNATURES.items():
            fn = getattr(lib, name)
            fn.restype = restype
            fn.argtypes = argtypes
        _LIB = lib
        return lib
    raise LibraryNotFoundError(
        "cannot load libzipc, which the zipc Python modules call for every operation.\n"
        "Build it with `cargo build --release -p libzipc` (it is target/release/%s), then either\n"
        "  - set ZIPC_LIB to its path (or to the directory holding it), or\n"
        "  - copy it beside zipc_runtime.py (%s), or\n"
        "  - install it where the dynamic linker looks (e.g. /usr/local/lib, then run ldconfig).\n"
        "Tried:\n  %s" % (LIBRARY_FILE, os.path.dirname(os.path.abspath(__file__)), "\n  ".join(tried)))


def _error(status):
    lib = library()
    message = lib.zipc_last_error().decode("utf-8", "replace")
    cls = _ERRORS.get(status, ZipcError)
    return cls(message, status)


def _call(status):
    """Raises the error for a failed status; returns OK or AGAIN."""
    if status == OK or status == AGAIN:
        return status
    raise _error(status)


def _ns(timeout):
    """A timeout in seconds (None: forever) as the ABI's nanoseconds."""
    if timeout is None:
        return -1
    if timeout < 0:
        raise InvalidArgumentError("timeout must be None or at least 0 seconds, not %r" % (timeout,))
    return int(timeout * 1e9)


def _name(s):
    return s.encode() if isinstance(s, str) else s



def fence_free_fast_path():
    """True once this process has registered for the membarrier-based fence that keeps queue
    fast paths fence-free (on opening its first queue or endpoint, as Rust processes do)."""
    return bool(library().zipc_fence_free_fast_path())
