class Future(_Typed):
    """A one-shot value: one process sets it, once; any number wait for it and read it (numpy
    scalars of its dtype). With get_or_init it is a lazy value: the first caller computes it, the
    others wait for it. A process that dies setting it has its setting taken over by the next
    setter, which sets its own value."""

    _CLOSE = "zipc_future_close"

    def __init__(self, seg, decl):
        _Typed.__init__(self, _open("zipc_future_open", seg._p(), _name(decl.name), decl.dtype.itemsize,
                                    _name(decl.canonical)), decl.dtype, seg)

    def set(self, value, timeout=None):
        """Sets the value unless it is set: True if this call set it, False if it was set already
        (the value stays the first one). Waits at most `timeout` seconds while another process is
        setting it (ZipcTimeoutError, nothing set)."""
        was_set = _INT(0)
        _send(self, "zipc_future_set", value, _ns(timeout), ctypes.byref(was_set))
        return bool(was_set.value)

    def try_get(self):
        """The value (a numpy scalar), or None if it is not set. Never waits."""
        return _recv(self, "zipc_future_try_get")

    def wait(self, timeout=None):
        """The value, waiting at most `timeout` seconds for it (ZipcTimeoutError). Never sets it."""
        return _recv(self, "zipc_future_wait", _ns(timeout))

    def get_or_init(self, fn, timeout=None):
        """The value, computing it with `fn()` if nobody has: the first caller computes and sets
        it, the others wait for it (at most `timeout` seconds while another computes it,
        ZipcTimeoutError). If `fn` raises (or its result is not a value), the setting is abandoned
        (the next caller computes it) and the exception goes on."""
        value = self.try_get()
        if value is not None:
            return value
        if self.begin(timeout):
            try:
                a = _element(self.dtype, fn())
            except BaseException:
                self.abandon()
                raise
            _call(_LIB.zipc_future_complete(self._p(), a.ctypes.data, self.dtype.itemsize))
        return self.wait(timeout)

    def begin(self, timeout=None):
        """True if this process now holds the setting (compute the value, then complete(value),
        or abandon() if that failed), False if the value is set. Waits at most `timeout` seconds
        while another process holds it (ZipcTimeoutError); takes it over if that process died."""
        must_set = _INT(0)
        _call(_LIB.zipc_future_begin(self._p(), _ns(timeout), ctypes.byref(must_set)))
        return bool(must_set.value)

    def complete(self, value):
        """Stores `value` as the value of the setting this process holds and wakes every waiter."""
        _send(self, "zipc_future_complete", value)

    def abandon(self):
        """Gives up the setting this process holds: the next setter sets it."""
        _call(_LIB.zipc_future_abandon(self._p()))

    is_ready = property(lambda self: bool(_LIB.zipc_future_is_ready(self._p())))
    takeovers = property(lambda self: _LIB.zipc_future_takeovers(self._p()))
