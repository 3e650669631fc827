def _slot_view(address, dtype, writeable):
    """A one-element numpy array over the `dtype.itemsize` bytes at `address` (a topic slot)."""
    a = np.frombuffer((ctypes.c_char * dtype.itemsize).from_address(address), dtype=dtype, count=1)
    a.flags.writeable = writeable
    return a


class _InPlace:
    """A slot of a lossless topic held in place: `.array` is a one-element numpy array over it
    (read-only for a received sample), valid until the `with` block ends or release() /
    send() — do not keep it, or views of it, past that."""

    def __init__(self, owner, address, finish):
        self._owner, self._finish = owner, finish
        self.array = _slot_view(address, owner.dtype, finish != "zipc_topic_release")

    @property
    def value(self):
        """The sample (a numpy scalar: a copy of the slot's current bytes)."""
        return self.array[0].copy()

    def __enter__(self):
        return self

    def __exit__(self, exc_type, *exc):
        if exc_type is not None and self._finish == "zipc_topic_send":
            self.unloan()  # an exception while writing: publish nothing
        else:
            self.done()
        return False

    def done(self):
        """Sends the loan (publisher) or releases the sample (subscriber). Idempotent."""
        if self._owner is not None:
            owner, self._owner = self._owner, None
            _call(getattr(_LIB, self._finish)(owner._p()))

    def unloan(self):
        """Gives a loan back unpublished."""
        if self._owner is not None:
            owner, self._owner = self._owner, None
            _call(_LIB.zipc_topic_unloan(owner._p()))


class TopicPublisher(_Typed):
    """A topic's publisher role. send() publishes a copy; `with pub.loan() as s: s.array[0] = x`
    writes the sample in place (lossless topics) and publishes it when the block ends."""

    _CLOSE = "zipc_topic_publisher_close"

    def try_send(self, value):
        """Publishes a copy of `value` if there is space now (always, when lossy): True if sent.
        Every send and loan raises ClosedError once the stream is closed (nothing is sent; a
        loan's done() raises it too, and gives the slot back)."""
        return _send(self, "zipc_topic_try_send_copy", value) == OK

    def close_stream(self):
        """Closes the stream (not this handle: close() releases the role): sends raise
        ClosedError from now on; each subscriber receives everything published before, then
        ClosedError. Wakes every sleeper; idempotent."""
        _call(_LIB.zipc_topic_publisher_close_stream(self._p()))

    def send(self, value, timeout=None):
        """Publishes a copy of `value`, waiting at most `timeout` seconds for space (lossy: never)."""
        _send(self, "zipc_topic_send_copy", value, _ns(timeout))

    def try_loan(self):
        """The next slot, in place, or None while the slowest subscriber is a capacity behind."""
        at = _P()
        if _call(_LIB.zipc_topic_try_loan(self._p(), ctypes.byref(at))) == AGAIN:
            return None
        return _InPlace(self, at.value, "zipc_topic_send")

    def loan(self, timeout=None):
        """The next slot, in place, waiting at most `timeout` seconds for it."""
        at = _P()
        _call(_LIB.zipc_topic_loan(self._p(), _ns(timeout), ctypes.byref(at)))
        return _InPlace(self, at.value, "zipc_topic_send")


class TopicSubscriber(_Typed):
    """One subscriber of a topic, with its own cursor; leaves the topic when closed."""

    _CLOSE = "zipc_topic_subscriber_close"

    def try_receive(self):
        """A copy of the next sample, or None. Every receive raises ClosedError once the stream is
        closed and everything published before the close was received."""
        return _recv(self, "zipc_topic_try_receive_copy")

    @property
    def is_finished(self):
        """True once the stream is closed and this subscriber has passed everything published
        before."""
        return bool(_LIB.zipc_topic_subscriber_is_finished(self._p()))

    def receive(self, timeout=None):
        """A copy of the next sample, waiting at most `timeout` seconds for one."""
        return _recv(self, "zipc_topic_receive_copy", _ns(timeout))

    async def receive_async(self):
        """A copy of the next sample, awaited on the running asyncio loop. Cancellation-safe: a
        sample is taken only when it is returned."""
        return await _until(self, self.try_receive)

    def try_receive_view(self):
        """The next sample in place (lossless topics): `with sub.try_receive_view() as s:` reads
        `s.array` without a copy and releases the slot when the block ends. None if nothing new."""
        at = _P()
        if _call(_LIB.zipc_topic_try_receive(self._p(), ctypes.byref(at))) == AGAIN:
            return None
        return _InPlace(self, at.value, "zipc_topic_release")

    def receive_view(self, timeout=None):
        """try_receive_view(), waiting at most `timeout` seconds for a sample."""
        at = _P()
        _call(_LIB.zipc_topic_receive(self._p(), _ns(timeout), ctypes.byref(at)))
        return _InPlace(self, at.value, "zipc_topic_release")

    received = property(lambda self: _LIB.zipc_topic_received(self._p()), doc="Samples received since joining.")
    missed = property(lambda self: _LIB.zipc_topic_missed(self._p()),
                      doc="Samples skipped because they were overwritten first (lossy topics).")


class Topic(_Typed):
    """A topic, observed; publisher() claims its one publisher role, subscribe() joins it."""

    _CLOSE = "zipc_topic_close"

    def __init__(self, seg, decl):
        _Typed.__init__(self, _open("zipc_topic_open", seg._p(), _name(decl.name), decl.dtype.itemsize,
                                    _name(decl.canonical)), decl.dtype, seg)

    capacity = property(lambda self: _LIB.zipc_topic_capacity(self._p()))
    max_subscribers = property(lambda self: _LIB.zipc_topic_max_subscribers(self._p()))
    history = property(lambda self: _LIB.zipc_topic_history(self._p()))
    lossy = property(lambda self: bool(_LIB.zipc_topic_is_lossy(self._p())))
    published = property(lambda self: _LIB.zipc_topic_published(self._p()))
    released = property(lambda self: _LIB.zipc_topic_released(self._p()))
    is_closed = property(lambda self: bool(_LIB.zipc_topic_is_closed(self._p())),
                         doc="True once the publisher closed the stream (close_stream()).")

    def publisher(self):
        return TopicPublisher(_open("zipc_topic_open_publisher", self._p()), self.dtype, self)

    def subscribe(self):
        return TopicSubscriber(_open("zipc_topic_subscribe", self._p()), self.dtype, self)
