class Latch(_Primitive):
    """A single-use countdown latch."""

    _OPEN, _CLOSE = "zipc_latch_open", "zipc_latch_close"

    def count_down(self, n=1):
        rem = _U32(0)
        _call(_LIB.zipc_latch_count_down(self._p(), n, ctypes.byref(rem)))
        return rem.value

    def wait(self, timeout=None):
        _call(_LIB.zipc_latch_wait(self._p(), _ns(timeout)))

    def try_wait(self):
        return _call(_LIB.zipc_latch_try_wait(self._p())) == OK

    async def wait_async(self):
        """Awaits the latch opening, on the running asyncio loop."""
        await _until(self, lambda: _done(self.try_wait()))

    count = property(lambda self: _LIB.zipc_latch_count(self._p()))
