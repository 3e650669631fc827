class Once(_Primitive):
    """A one-time initialisation across processes: the first caller runs it, the others wait for
    it to complete. A process that dies running it has it taken over by the next caller."""

    _OPEN, _CLOSE = "zipc_once_open", "zipc_once_close"

    def call_once(self, fn, timeout=None):
        """Calls `fn()` unless the initialisation is complete: True if this call ran it (and
        completed it), False if it was done, perhaps by another after waiting at most `timeout`
        seconds (TimeoutError). If `fn` raises, the initialisation is abandoned (the next caller
        runs it) and the exception goes on."""
        if not self.begin(timeout):
            return False
        try:
            fn()
        except BaseException:
            self.abandon()
            raise
        self.complete()
        return True

    def begin(self, timeout=None):
        """True if this process now holds the initialisation (run it, then complete(), or
        abandon() if it failed), False if it is complete. Waits at most `timeout` seconds while
        another process runs it (TimeoutError)."""
        must_run = _INT(0)
        _call(_LIB.zipc_once_begin(self._p(), _ns(timeout), ctypes.byref(must_run)))
        return bool(must_run.value)

    def complete(self):
        """Marks the initialisation this process holds complete and wakes every waiter."""
        _call(_LIB.zipc_once_complete(self._p()))

    def abandon(self):
        """Gives up the initialisation this process holds: the next caller runs it."""
        _call(_LIB.zipc_once_abandon(self._p()))

    def wait(self, timeout=None):
        """Waits until the initialisation is complete, at most `timeout` seconds (TimeoutError),
        without running it."""
        _call(_LIB.zipc_once_wait(self._p(), _ns(timeout)))

    is_completed = property(lambda self: bool(_LIB.zipc_once_is_completed(self._p())))
    takeovers = property(lambda self: _LIB.zipc_once_takeovers(self._p()))
