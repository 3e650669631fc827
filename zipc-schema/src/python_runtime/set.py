class Set(_Typed):
    """A fixed-capacity hash set with lock-free lookups: `s.add(key)`, `key in s`,
    `s.remove(key)`, `len(s)`, `s.keys()`. Keys are numpy values of `dtype` and compare by their
    bytes."""

    _CLOSE = "zipc_set_close"

    def __init__(self, seg, decl):
        _Typed.__init__(self, _open("zipc_set_open", seg._p(), _name(decl.name), decl.dtype.itemsize,
                                    _name(decl.canonical)), decl.dtype, seg)

    capacity = property(lambda self: _LIB.zipc_set_capacity(self._p()))

    def __len__(self):
        return _LIB.zipc_set_len(self._p())

    def add(self, key):
        """Adds `key`: True if it was new, False if it was there. MapFullError if it is new and
        the set holds its capacity."""
        k, added = _element(self.dtype, key), _INT(0)
        _call(_LIB.zipc_set_insert(self._p(), k.ctypes.data, self.dtype.itemsize, ctypes.byref(added)))
        return bool(added.value)

    insert = add

    def __contains__(self, key):
        k = _element(self.dtype, key)
        return _call(_LIB.zipc_set_contains(self._p(), k.ctypes.data, self.dtype.itemsize)) == OK

    def remove(self, key):
        """Removes `key`: whether it was there."""
        k = _element(self.dtype, key)
        return _call(_LIB.zipc_set_remove(self._p(), k.ctypes.data, self.dtype.itemsize)) == OK

    discard = remove

    def keys(self):
        """Every key, as a numpy array in table order (each read whole; keys added or removed
        meanwhile may be missing)."""
        n = len(self) + 16
        while True:
            keys, kp = _entry_buffers(self.dtype, n)
            count = _SZ(0)
            st = _call(_LIB.zipc_set_keys(self._p(), kp, self.dtype.itemsize, n, ctypes.byref(count)))
            if st == OK:
                return keys[:count.value]
            n *= 2

    def __iter__(self):
        return iter(self.keys())

    def reclaim_dead(self):
        """Repairs the slots whose lock a process held when it died; returns how many."""
        return _LIB.zipc_set_reclaim_dead(self._p())
