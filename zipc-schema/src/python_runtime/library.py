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

# name: (result type, argument types) of every function of the C ABI, printed from its table
# (zipc::ffi::functions()). library() sets them on each: a libzipc of ABI_VERSION exports them all.
@SIGNATURES@

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
