# ---------------------------------------------------------------------------------------------
# Wait sets, the readiness descriptor and asyncio
# ---------------------------------------------------------------------------------------------

class WaitSet(_Handle):
    """Structures waited on together; also a file descriptor for `select`, `selectors` and
    asyncio. attach() returns each source's key (0, 1, 2, ... in order, never reused).

    fileno() is readable while a source is ready and take() has not been called since
    (level-triggered, like a socket); take() clears it, returns the keys ready now and re-arms it.
    Readiness is a hint: act on it with the try_ calls, and wait again when they find nothing.
    The set keeps its own view of each structure: handles stay free for their calls (a role
    handle is used only while attach() runs) and may be closed before the set.

        with WaitSet() as ws:
            jobs = ws.attach(consumer)
            sel = selectors.DefaultSelector()
            sel.register(ws, selectors.EVENT_READ)
            while sel.select():
                if jobs in ws.take():
                    while (job := consumer.try_pop()) is not None: ...
    """

    _CLOSE = "zipc_waitset_close"

    def __init__(self):
        _Handle.__init__(self, _open("zipc_waitset_open"))

    def attach(self, handle, changed_from=None):
        """Attaches `handle` and returns its key. Ready when: a queue or ring Consumer would pop,
        a Producer or RingProducer would push, a TopicSubscriber would receive, a Stack would pop,
        a Pool would acquire, a Semaphore has a permit, an Event is set, a Latch is open, a
        Barrier's current generation has completed, a 32-bit Atomic differs from `changed_from`
        (required for an Atomic only)."""
        key = _U64(0)
        if isinstance(handle, Atomic):
            if changed_from is None:
                raise InvalidArgumentError("attaching an Atomic needs changed_from: the value it is ready to leave")
            _call(_LIB.zipc_waitset_attach_atomic(self._p(), handle._p(), handle._bits(changed_from),
                                                  ctypes.byref(key)))
            return key.value
        if changed_from is not None:
            raise InvalidArgumentError("changed_from is for an Atomic, not a %s" % type(handle).__name__)
        for cls, fn in _WAIT_ATTACH:
            if isinstance(handle, cls):
                _call(getattr(_LIB, fn)(self._p(), handle._p(), ctypes.byref(key)))
                return key.value
        raise InvalidArgumentError("a %s cannot be attached to a WaitSet" % type(handle).__name__)

    def detach(self, key):
        """Removes the source `key` (InvalidArgumentError if it is not attached)."""
        _call(_LIB.zipc_waitset_detach(self._p(), key))

    def __len__(self):
        return _LIB.zipc_waitset_len(self._p())

    def fileno(self):
        """The descriptor to wait on for reading (owned by the set: do not read or close it)."""
        return _LIB.zipc_waitset_fd(self._p())

    def _keys(self, fn, *args):
        cap = max(len(self), 1)
        keys = (_U64 * cap)()
        n = _SZ(0)
        _call(getattr(_LIB, fn)(self._p(), *args, keys, cap, ctypes.byref(n)))
        return list(keys[:n.value])

    def take(self):
        """Clears the descriptor and re-arms it; returns the keys ready now (maybe none)."""
        return self._keys("zipc_waitset_take")

    def ready(self):
        """The keys ready now, leaving the descriptor as it is."""
        return self._keys("zipc_waitset_ready")

    def wait(self, timeout=None):
        """Waits at most `timeout` seconds until a source is ready (ZipcTimeoutError), then
        take()s: at least one key."""
        return self._keys("zipc_waitset_wait", _ns(timeout))

    async def readable(self):
        """Awaits the descriptor being readable, on the running asyncio loop (one reader for
        every task awaiting this set). Act with the try_ calls, and take() before awaiting
        again."""
        import asyncio
        loop = asyncio.get_running_loop()
        fd = self.fileno()
        waiters = self.__dict__.setdefault("_waiters", {})
        futures = waiters.setdefault(loop, [])
        fut = loop.create_future()
        if not futures:
            loop.add_reader(fd, self._wake, loop)
        futures.append(fut)
        try:
            await fut
        finally:
            # Cancelled (or closed) before a wake-up: this waiter leaves; the last one out
            # removes the reader. After a wake-up, _wake has done both already (and the list
            # registered now, if any, belongs to later waiters).
            if waiters.get(loop) is futures:
                if fut in futures:
                    futures.remove(fut)
                if not futures:
                    del waiters[loop]
                    if not loop.is_closed():
                        loop.remove_reader(fd)

    def _wake(self, loop):
        futures = self.__dict__.get("_waiters", {}).pop(loop, [])
        loop.remove_reader(self.fileno())
        for f in futures:
            if not f.done():
                f.set_result(None)

    def close(self):
        """Closes the set (its descriptor and helper thread); tasks awaiting readable() wake up
        (to try again). Idempotent."""
        if getattr(self, "_ptr", None) is not None:
            for loop in list(self.__dict__.get("_waiters", {})):
                if not loop.is_closed():
                    self._wake(loop)
        self.__dict__.pop("_waiters", None)
        _Handle.close(self)


# Handle class: the function attaching it (Atomic has its own, with the value).
_WAIT_ATTACH = (
    (Consumer, "zipc_waitset_attach_consumer"),
    (Producer, "zipc_waitset_attach_producer"),
    (RingConsumer, "zipc_waitset_attach_ring_consumer"),
    (RingProducer, "zipc_waitset_attach_ring_producer"),
    (TopicSubscriber, "zipc_waitset_attach_subscriber"),
    (Stack, "zipc_waitset_attach_stack"),
    (Pool, "zipc_waitset_attach_pool"),
    (Semaphore, "zipc_waitset_attach_semaphore"),
    (Event, "zipc_waitset_attach_event"),
    (Latch, "zipc_waitset_attach_latch"),
    (Barrier, "zipc_waitset_attach_barrier"),
)


async def _until(handle, attempt):
    """The first result of `attempt()` (a try_ call) that is not None, awaiting readiness of
    `handle` between tries on a WaitSet cached on it. Cancellation-safe: nothing is taken but
    what `attempt` returns, and a cancelled wait has taken nothing.

    The set's descriptor is re-armed (take()) just before each wait, not after it: a set that
    signalled and was not taken since is disarmed, so between calls its helper thread is not one
    of the structure's waiters (an auto-reset event or a semaphore wakes one waiter: an idle
    watcher would take that wake-up from a waiter in this or another process)."""
    while True:
        result = attempt()
        if result is not None:
            return result
        ws = handle.__dict__.get("_async_waitset")
        if ws is None:
            ws = WaitSet()  # armed: it looks at the source first, so nothing since the try is missed
            try:
                ws.attach(handle)
            except BaseException:
                ws.close()
                raise
            handle._async_waitset = ws
        else:
            ws.take()  # clears a signal already acted on, and re-arms
        try:
            await ws.readable()
        except BaseException:
            # Cancelled: if no other task waits on the set, drop it rather than leave it armed.
            if not ws.__dict__.get("_waiters"):
                handle.__dict__.pop("_async_waitset", None)
                ws.close()
            raise


def _done(ok):
    """True for a try_ call that succeeded, None for one to retry."""
    return True if ok else None
