# ---------------------------------------------------------------------------------------------
# Handles
# ---------------------------------------------------------------------------------------------

class _Handle:
    """An open libzipc handle, closed by close(), by `with`, or when garbage-collected."""

    _CLOSE = None

    def __init__(self, ptr, keep=None):
        self._ptr = ptr
        self._keep = keep  # what must outlive this handle (nothing needs to, but it is cheap)

    def _p(self):
        if self._ptr is None:
            raise ZipcError("%s is closed" % type(self).__name__)
        return self._ptr

    def close(self):
        """Closes the handle (releasing its role, for role handles). Idempotent."""
        ws = self.__dict__.pop("_async_waitset", None)  # the *_async methods' (wait_set.py)
        if ws is not None:
            ws.close()
        ptr, self._ptr = getattr(self, "_ptr", None), None
        if ptr is not None and _LIB is not None:
            getattr(_LIB, self._CLOSE)(ptr)

    def __del__(self):
        try:
            self.close()
        except Exception:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False


def _open(fn, *args):
    out = _P()
    _call(getattr(library(), fn)(*args, ctypes.byref(out)))
    return out.value


def _element(dtype, value):
    """`value` (a numpy scalar of `dtype`, a tuple, a number, a row) as a one-element array."""
    a = np.empty(1, dtype=dtype)
    a[0] = value
    return a


def _elements(dtype, values):
    """`values` as a contiguous array of elements of `dtype` (no copy if it is one already)."""
    a = np.ascontiguousarray(values, dtype=dtype)
    if a.ndim == 0 or (dtype.subdtype is not None and a.ndim == len(dtype.shape)):
        a = a.reshape((1,) + a.shape)
    return a


def _send(h, fn, value, *extra):
    a = _element(h.dtype, value)
    return _call(getattr(_LIB, fn)(h._p(), a.ctypes.data, h.dtype.itemsize, *extra))


def _send_bulk(h, fn, values, timeout):
    a = _elements(h.dtype, values)
    done = _SZ(0)
    _call(getattr(_LIB, fn)(h._p(), a.ctypes.data, len(a), h.dtype.itemsize, _ns(timeout), ctypes.byref(done)))
    return done.value


def _recv(h, fn, *extra):
    a = np.empty(1, dtype=h.dtype)
    st = _call(getattr(_LIB, fn)(h._p(), a.ctypes.data, h.dtype.itemsize, *extra))
    return None if st == AGAIN else a[0]


def _recv_bulk(h, fn, max, timeout):
    a = np.empty(max, dtype=h.dtype)
    done = _SZ(0)
    _call(getattr(_LIB, fn)(h._p(), a.ctypes.data, max, h.dtype.itemsize, _ns(timeout), ctypes.byref(done)))
    return a[:done.value]


class _Typed(_Handle):
    """A handle on a structure with elements of numpy dtype `dtype`."""

    def __init__(self, ptr, dtype, keep=None):
        _Handle.__init__(self, ptr, keep)
        self.dtype = np.dtype(dtype)


class _Primitive(_Handle):
    _OPEN = None

    def __init__(self, seg, decl):
        _Handle.__init__(self, _open(self._OPEN, seg._p(), _name(decl.name)), seg)
        self.name = decl.name
