class Mutex(_Primitive):
    """A robust process-shared mutex (lock and unlock from the same thread)."""

    _OPEN, _CLOSE = "zipc_mutex_open", "zipc_mutex_close"

    def lock(self, timeout=None):
        """Locks; returns True if the previous holder died inside (repair, then mark_consistent)."""
        died = _INT(0)
        _call(_LIB.zipc_mutex_lock(self._p(), _ns(timeout), ctypes.byref(died)))
        return bool(died.value)

    def try_lock(self):
        """(locked, owner_died)."""
        died = _INT(0)
        st = _call(_LIB.zipc_mutex_try_lock(self._p(), ctypes.byref(died)))
        return st == OK, bool(died.value)

    def mark_consistent(self):
        _call(_LIB.zipc_mutex_mark_consistent(self._p()))

    def unlock(self):
        _call(_LIB.zipc_mutex_unlock(self._p()))

    def __enter__(self):
        self.lock()
        return self

    def __exit__(self, *exc):
        self.unlock()
        return False
