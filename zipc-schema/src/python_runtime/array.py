class _ArrayHandle(_Handle):
    _CLOSE = "zipc_array_close"


def _array_view(seg, decl):
    """A numpy array over an array's elements, sharing memory with every process (no copy, no
    synchronisation). It keeps its own array handle, so the memory stays mapped while the view
    (or anything derived from it) exists, even after the segment is closed."""
    h = _ArrayHandle(_open("zipc_array_open", seg._p(), _name(decl.name), decl.dtype.itemsize,
                           _name(decl.canonical)))
    n = _LIB.zipc_array_len(h._p())
    raw = (ctypes.c_uint8 * (n * decl.dtype.itemsize)).from_address(_LIB.zipc_array_data(h._p()))
    raw._zipc_handle = h  # closed when the last view goes
    return np.frombuffer(raw, dtype=decl.dtype, count=n)
