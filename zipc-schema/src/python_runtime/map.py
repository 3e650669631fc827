def _key_value_dtypes(dtype):
    """The key and value dtypes of a map's entry dtype `{key, value}`."""
    if dtype.names is None or tuple(dtype.names) != ("key", "value"):
        raise InvalidArgumentError("a map's dtype is its entry {key, value}, not %r" % (dtype,))
    return dtype.fields["key"][0], dtype.fields["value"][0]


def _entry_buffers(dtype, n):
    a = np.empty(n, dtype=dtype)
    return a, (a.ctypes.data if n else None)


class Map(_Typed):
    """A fixed-capacity hash map with lock-free lookups: `m[key]`, `m.get(key)`,
    `m.insert(key, value)`, `m.remove(key)`, `key in m`, `len(m)`, `m.items()`. Keys and values
    are numpy values of `key_dtype` and `value_dtype` (the fields of the entry dtype); keys
    compare by their bytes."""

    _CLOSE = "zipc_map_close"

    def __init__(self, seg, decl):
        _Typed.__init__(self, _open("zipc_map_open", seg._p(), _name(decl.name), decl.dtype.itemsize,
                                    _name(decl.canonical)), decl.dtype, seg)
        self.key_dtype, self.value_dtype = _key_value_dtypes(self.dtype)

    capacity = property(lambda self: _LIB.zipc_map_capacity(self._p()))

    def __len__(self):
        return _LIB.zipc_map_len(self._p())

    def _key(self, key):
        return _element(self.key_dtype, key)

    def get(self, key, default=None):
        """The value of `key` (a numpy value of `value_dtype`), or `default` if it is absent."""
        k, out = self._key(key), np.empty(1, dtype=self.value_dtype)
        st = _call(_LIB.zipc_map_get(self._p(), k.ctypes.data, self.key_dtype.itemsize, out.ctypes.data,
                                     self.value_dtype.itemsize))
        return default if st == AGAIN else out[0]

    def __getitem__(self, key):
        k, out = self._key(key), np.empty(1, dtype=self.value_dtype)
        st = _call(_LIB.zipc_map_get(self._p(), k.ctypes.data, self.key_dtype.itemsize, out.ctypes.data,
                                     self.value_dtype.itemsize))
        if st == AGAIN:
            raise KeyError(key)
        return out[0]

    def __contains__(self, key):
        k = self._key(key)
        return _call(_LIB.zipc_map_contains(self._p(), k.ctypes.data, self.key_dtype.itemsize)) == OK

    def insert(self, key, value):
        """Sets `key` to `value`: the value it replaced, or None if the key was new. MapFullError
        if the key is new and the map holds its capacity."""
        k, v, old = self._key(key), _element(self.value_dtype, value), np.empty(1, dtype=self.value_dtype)
        replaced = _INT(0)
        _call(_LIB.zipc_map_insert(self._p(), k.ctypes.data, self.key_dtype.itemsize, v.ctypes.data,
                                   self.value_dtype.itemsize, old.ctypes.data, ctypes.byref(replaced)))
        return old[0] if replaced.value else None

    def __setitem__(self, key, value):
        self.insert(key, value)

    def remove(self, key):
        """Removes `key`: the value it had, or None if it was absent."""
        k, old = self._key(key), np.empty(1, dtype=self.value_dtype)
        st = _call(_LIB.zipc_map_remove(self._p(), k.ctypes.data, self.key_dtype.itemsize, old.ctypes.data,
                                        self.value_dtype.itemsize))
        return None if st == AGAIN else old[0]

    def __delitem__(self, key):
        if self.remove(key) is None:
            raise KeyError(key)

    def entries(self):
        """Every entry, as two numpy arrays `(keys, values)` in table order: each entry is read
        whole, the map not at one instant (entries inserted or removed meanwhile may be missing)."""
        n = len(self) + 16
        while True:
            keys, kp = _entry_buffers(self.key_dtype, n)
            values, vp = _entry_buffers(self.value_dtype, n)
            count = _SZ(0)
            st = _call(_LIB.zipc_map_entries(self._p(), kp, self.key_dtype.itemsize, vp, self.value_dtype.itemsize,
                                             n, ctypes.byref(count)))
            if st == OK:
                return keys[:count.value], values[:count.value]
            n *= 2

    def items(self):
        """Every entry as a list of `(key, value)` pairs (see entries())."""
        keys, values = self.entries()
        return list(zip(keys, values))

    def keys(self):
        """Every key, as a numpy array (see entries())."""
        return self.entries()[0]

    def values(self):
        """Every value, as a numpy array (see entries())."""
        return self.entries()[1]

    def __iter__(self):
        return iter(self.keys())

    def reclaim_dead(self):
        """Repairs the slots whose lock a process held when it died; returns how many."""
        return _LIB.zipc_map_reclaim_dead(self._p())
