class Producer(_Typed):
    """A queue's producer (holds the producer role of an spsc queue until closed)."""

    _CLOSE = "zipc_producer_close"

    def try_push(self, value):
        """Pushes `value` if there is room: True if pushed, False if the queue is full."""
        return _send(self, "zipc_producer_try_push", value) == OK

    def push(self, value, timeout=None):
        """Pushes `value`, waiting at most `timeout` seconds for room (ZipcTimeoutError)."""
        _send(self, "zipc_producer_push", value, _ns(timeout))

    def push_bulk(self, values, timeout=0):
        """Pushes as many of `values` (an array of the dtype) as fit, in order; if none fits
        and `timeout` is not 0, waits at most that long for room. Returns how many."""
        return _send_bulk(self, "zipc_producer_push_bulk", values, timeout)

    async def push_async(self, value):
        """Pushes `value`, awaiting room on the running asyncio loop (no thread blocks).
        Cancellation-safe: pushed only when the call completes."""
        await _until(self, lambda: _done(self.try_push(value)))

    def close_stream(self):
        """Closes the queue itself (any policy): pushes then raise ClosedError; consumers get
        what was pushed before, then ClosedError. close() only releases this handle."""
        _call(_LIB.zipc_producer_close_stream(self._p()))

    @property
    def is_closed(self):
        """Whether the queue is closed."""
        return bool(_LIB.zipc_producer_is_closed(self._p()))


class Consumer(_Typed):
    """A queue's consumer (holds the consumer role of an spsc or mpsc queue until closed)."""

    _CLOSE = "zipc_consumer_close"

    def try_pop(self):
        """The oldest element (a numpy scalar), or None if the queue is empty."""
        return _recv(self, "zipc_consumer_try_pop")

    def pop(self, timeout=None):
        """The oldest element, waiting at most `timeout` seconds for one (ZipcTimeoutError)."""
        return _recv(self, "zipc_consumer_pop", _ns(timeout))

    def pop_bulk(self, max, timeout=0):
        """Up to `max` of the oldest elements (a numpy array); if there are none and `timeout`
        is not 0, waits at most that long for the first."""
        return _recv_bulk(self, "zipc_consumer_pop_bulk", max, timeout)

    async def pop_async(self):
        """The oldest element, awaited on the running asyncio loop (no thread blocks).
        Cancellation-safe: an element is taken only when it is returned."""
        return await _until(self, self.try_pop)

    @property
    def is_closed(self):
        """Whether the queue is closed (pops still drain what was pushed before the close)."""
        return bool(_LIB.zipc_consumer_is_closed(self._p()))

    @property
    def lost_on_takeover(self):
        """If this consumer took the role over from a process that died mid-pop: the elements
        that pop held (skipped and counted lost)."""
        return _LIB.zipc_consumer_lost_on_takeover(self._p())


class Queue(_Typed):
    """A queue. Push and pop through producer() and consumer()."""

    _CLOSE = "zipc_queue_close"

    def __init__(self, seg, decl):
        _Typed.__init__(self, _open("zipc_queue_open", seg._p(), _name(decl.name), decl.dtype.itemsize,
                                    _name(decl.canonical)), decl.dtype, seg)

    @property
    def capacity(self):
        return _LIB.zipc_queue_capacity(self._p())

    def __len__(self):
        return _LIB.zipc_queue_len(self._p())

    @property
    def lost(self):
        """Messages lost to processes that died in the middle of an operation."""
        return _LIB.zipc_queue_lost(self._p())

    def recover(self):
        """Settles the operations dead processes left half-done on this queue now; returns the
        messages found lost (survivors settle them anyway when they run into them)."""
        return _LIB.zipc_queue_recover(self._p())

    def close_stream(self):
        """Closes the queue itself: pushes then raise ClosedError, pops drain what was pushed
        before and then raise it, blocked calls wake. An spsc queue is closed through its
        producer role (RoleTakenError while a live producer holds it: use its close_stream)."""
        _call(_LIB.zipc_queue_close_stream(self._p()))

    @property
    def is_closed(self):
        """Whether the queue is closed."""
        return bool(_LIB.zipc_queue_is_closed(self._p()))

    def producer(self):
        """A Producer (claims the producer role of an spsc queue: RoleTakenError while held)."""
        return Producer(_open("zipc_queue_open_producer", self._p()), self.dtype, self)

    def consumer(self):
        """A Consumer (claims the consumer role of an spsc or mpsc queue)."""
        return Consumer(_open("zipc_queue_open_consumer", self._p()), self.dtype, self)
