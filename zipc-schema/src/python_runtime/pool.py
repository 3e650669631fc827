class Pool(_Typed):
    """A pool of objects handed out by Handles."""

    _CLOSE = "zipc_pool_close"

    def __init__(self, seg, decl):
        _Typed.__init__(self, _open("zipc_pool_open", seg._p(), _name(decl.name), decl.dtype.itemsize,
                                    _name(decl.canonical)), decl.dtype, seg)

    capacity = property(lambda self: _LIB.zipc_pool_capacity(self._p()))
    allocated = property(lambda self: _LIB.zipc_pool_allocated(self._p()))

    def try_acquire(self):
        """A free object's Handle, or None if all are in use."""
        h = Handle()
        return h if _call(_LIB.zipc_pool_try_acquire(self._p(), ctypes.byref(h))) == OK else None

    def acquire(self, timeout=None):
        h = Handle()
        _call(_LIB.zipc_pool_acquire(self._p(), _ns(timeout), ctypes.byref(h)))
        return h

    async def acquire_async(self):
        """A free object's Handle, awaited on the running asyncio loop. Cancellation-safe: a
        cancelled call acquired nothing."""
        return await _until(self, self.try_acquire)

    def release(self, handle):
        """Releases the object (StaleHandleError if it was released already)."""
        _call(_LIB.zipc_pool_release(self._p(), handle))

    def is_live(self, handle):
        return bool(_LIB.zipc_pool_is_live(self._p(), handle))

    def adopt(self, handle):
        """Becomes the owner of a handle received from another process: the object is then
        reclaimed if this process dies, not its sender (StaleHandleError if it is stale)."""
        _call(_LIB.zipc_pool_adopt(self._p(), handle))

    def reclaim_dead(self):
        """Releases every object whose owner died; returns how many."""
        return _LIB.zipc_pool_reclaim_dead(self._p())

    def read(self, handle):
        """A copy of the object (StaleHandleError if the handle is not live)."""
        a = np.empty(1, dtype=self.dtype)
        _call(_LIB.zipc_pool_read(self._p(), handle, a.ctypes.data, self.dtype.itemsize))
        return a[0]

    def write(self, handle, value):
        """Overwrites the object."""
        a = _element(self.dtype, value)
        _call(_LIB.zipc_pool_write(self._p(), handle, a.ctypes.data, self.dtype.itemsize))
