class RingProducer(_Typed):
    """A ring's producer role."""

    _CLOSE = "zipc_ring_producer_close"

    def try_push(self, value):
        """Pushes `value` if there is room (always, in overwrite mode): True if pushed. Every
        push raises ClosedError once the stream is closed (the value is not pushed)."""
        return _send(self, "zipc_ring_try_push", value) == OK

    def close_stream(self):
        """Closes the stream (not this handle: close() releases the role): pushes raise
        ClosedError from now on; the consumer receives everything pushed before, then
        ClosedError. Wakes every sleeper; idempotent."""
        _call(_LIB.zipc_ring_producer_close_stream(self._p()))

    def push(self, value, timeout=None):
        _send(self, "zipc_ring_push", value, _ns(timeout))

    def push_bulk(self, values, timeout=0):
        """Pushes as many of `values` as fit in one batch (all, in overwrite mode); if none fits
        and `timeout` is not 0, waits at most that long. Returns how many."""
        return _send_bulk(self, "zipc_ring_push_bulk", values, timeout)

    async def push_async(self, value):
        """Pushes `value`, awaiting room on the running asyncio loop. Cancellation-safe."""
        await _until(self, lambda: _done(self.try_push(value)))


class RingConsumer(_Typed):
    """A ring's consumer role."""

    _CLOSE = "zipc_ring_consumer_close"

    def try_pop(self):
        """The oldest available element, or None. Every pop and peek raises ClosedError once the
        stream is closed and everything pushed before the close was received."""
        return _recv(self, "zipc_ring_try_pop")

    @property
    def is_finished(self):
        """True once the stream is closed and this consumer has passed everything pushed before."""
        return bool(_LIB.zipc_ring_consumer_is_finished(self._p()))

    def pop(self, timeout=None):
        """The oldest element, waiting at most `timeout` seconds for one."""
        return _recv(self, "zipc_ring_pop", _ns(timeout))

    def pop_bulk(self, max, timeout=0):
        """Up to `max` elements in one batch; if none and `timeout` is not 0, waits that long."""
        return _recv_bulk(self, "zipc_ring_pop_bulk", max, timeout)

    async def pop_async(self):
        """The oldest available element, awaited on the running asyncio loop. Cancellation-safe:
        an element is taken only when it is returned."""
        return await _until(self, self.try_pop)

    def peek(self):
        """The element the next pop returns, without consuming it, or None."""
        return _recv(self, "zipc_ring_peek")

    @property
    def missed(self):
        """Elements skipped because they were overwritten before they could be read."""
        return _LIB.zipc_ring_missed(self._p())

    @property
    def lost_on_takeover(self):
        """Elements a dead predecessor's pop held when this consumer took the role over."""
        return _LIB.zipc_ring_lost_on_takeover(self._p())


class Ring(_Typed):
    """A ring, observed; producer() and consumer() claim its roles."""

    _CLOSE = "zipc_ring_close"

    def __init__(self, seg, decl):
        _Typed.__init__(self, _open("zipc_ring_open", seg._p(), _name(decl.name), decl.dtype.itemsize,
                                    _name(decl.canonical)), decl.dtype, seg)

    capacity = property(lambda self: _LIB.zipc_ring_capacity(self._p()))
    overwrites = property(lambda self: bool(_LIB.zipc_ring_overwrites(self._p())))
    total_written = property(lambda self: _LIB.zipc_ring_total_written(self._p()))
    total_read = property(lambda self: _LIB.zipc_ring_total_read(self._p()))
    total_missed = property(lambda self: _LIB.zipc_ring_total_missed(self._p()))
    total_lost = property(lambda self: _LIB.zipc_ring_total_lost(self._p()))
    is_closed = property(lambda self: bool(_LIB.zipc_ring_is_closed(self._p())),
                         doc="True once the producer closed the stream (close_stream()).")

    def __len__(self):
        return _LIB.zipc_ring_len(self._p())

    def get_last_n(self, n):
        """The newest `n` elements (fewer if fewer were written), oldest first, every one intact."""
        a = np.empty(n, dtype=self.dtype)
        got = _SZ(0)
        _call(_LIB.zipc_ring_get_last_n(self._p(), a.ctypes.data, n, self.dtype.itemsize, ctypes.byref(got)))
        return a[:got.value]

    def producer(self):
        return RingProducer(_open("zipc_ring_open_producer", self._p()), self.dtype, self)

    def consumer(self):
        return RingConsumer(_open("zipc_ring_open_consumer", self._p()), self.dtype, self)
