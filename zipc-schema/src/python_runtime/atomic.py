class Atomic(_Handle):
    """An atomic integer. Every operation is atomic with respect to every process."""

    _CLOSE = "zipc_atomic_close"
    _MASKS = {PRIMITIVE_U32: (0xFFFFFFFF, False), PRIMITIVE_I32: (0xFFFFFFFF, True),
              PRIMITIVE_U64: (0xFFFFFFFFFFFFFFFF, False), PRIMITIVE_I64: (0xFFFFFFFFFFFFFFFF, True)}

    def __init__(self, seg, decl):
        _Handle.__init__(self, _open("zipc_atomic_open", seg._p(), _name(decl.name)), seg)
        self.dtype = decl.dtype
        self._mask, self._signed = self._MASKS[_LIB.zipc_atomic_type(self._p())]

    def _value(self, bits):
        v = bits & self._mask
        if self._signed and v > self._mask >> 1:
            v -= self._mask + 1
        return v

    def _bits(self, v):
        v = int(v) & 0xFFFFFFFFFFFFFFFF
        return v - (1 << 64) if v >= 1 << 63 else v

    def _rmw(self, fn, v):
        prev = _I64(0)
        _call(getattr(_LIB, fn)(self._p(), self._bits(v), ctypes.byref(prev)))
        return self._value(prev.value)

    def load(self):
        out = _I64(0)
        _call(_LIB.zipc_atomic_load(self._p(), ctypes.byref(out)))
        return self._value(out.value)

    def store(self, v):
        _call(_LIB.zipc_atomic_store(self._p(), self._bits(v)))

    def fetch_add(self, v):
        return self._rmw("zipc_atomic_fetch_add", v)

    def fetch_sub(self, v):
        return self._rmw("zipc_atomic_fetch_sub", v)

    def swap(self, v):
        return self._rmw("zipc_atomic_swap", v)

    def compare_exchange(self, expected, desired):
        """(True, previous) if the value was `expected` and is now `desired`, else (False, actual)."""
        actual = _I64(0)
        st = _call(_LIB.zipc_atomic_compare_exchange(self._p(), self._bits(expected), self._bits(desired),
                                                     ctypes.byref(actual)))
        return st == OK, self._value(actual.value)

    def wait(self, expected, timeout=None):
        """Blocks while the value equals `expected` (32-bit atomics), at most `timeout` seconds."""
        _call(_LIB.zipc_atomic_wait(self._p(), self._bits(expected), _ns(timeout)))

    def wake(self, all=True):
        _call(_LIB.zipc_atomic_wake(self._p(), 1 if all else 0))

    value = property(load, store)
