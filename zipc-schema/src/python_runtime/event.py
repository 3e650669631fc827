class Event(_Primitive):
    """An auto- or manual-reset event."""

    _OPEN, _CLOSE = "zipc_event_open", "zipc_event_close"

    def set(self):
        _call(_LIB.zipc_event_set(self._p()))

    def reset(self):
        _call(_LIB.zipc_event_reset(self._p()))

    def wait(self, timeout=None):
        _call(_LIB.zipc_event_wait(self._p(), _ns(timeout)))

    def try_wait(self):
        return _call(_LIB.zipc_event_try_wait(self._p())) == OK

    async def wait_async(self):
        """Awaits the event being set (and takes it, if auto-reset) on the running asyncio loop.
        Cancellation-safe: a cancelled call took nothing."""
        await _until(self, lambda: _done(self.try_wait()))

    is_set = property(lambda self: bool(_LIB.zipc_event_is_set(self._p())))
