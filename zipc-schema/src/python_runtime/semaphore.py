class Semaphore(_Primitive):
    """A counting semaphore; `with sem:` acquires and releases."""

    _OPEN, _CLOSE = "zipc_semaphore_open", "zipc_semaphore_close"

    def acquire(self, timeout=None):
        _call(_LIB.zipc_semaphore_acquire(self._p(), _ns(timeout)))

    def try_acquire(self):
        return _call(_LIB.zipc_semaphore_try_acquire(self._p())) == OK

    async def acquire_async(self):
        """Takes a permit, awaited on the running asyncio loop. Cancellation-safe: a cancelled
        call took none."""
        await _until(self, lambda: _done(self.try_acquire()))

    def release(self):
        _call(_LIB.zipc_semaphore_release(self._p()))

    count = property(lambda self: _LIB.zipc_semaphore_count(self._p()))

    def __enter__(self):
        self.acquire()
        return self

    def __exit__(self, *exc):
        self.release()
        return False
