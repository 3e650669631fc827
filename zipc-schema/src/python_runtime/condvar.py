class Condvar(_Primitive):
    """A process-shared condition variable, used with a Mutex the calling thread holds (like
    threading.Condition, with the lock passed to each wait)."""

    _OPEN, _CLOSE = "zipc_condvar_open", "zipc_condvar_close"

    def wait(self, mutex, timeout=None):
        """Unlocks `mutex` (held by this thread), sleeps until notified or `timeout` seconds
        passed, and locks `mutex` again, in both cases. Returns True if notified, False on
        timeout. Wake-ups may be spurious: check the condition in a loop, or use wait_for."""
        died = _INT(0)
        st = _LIB.zipc_condvar_wait(self._p(), mutex._p(), _ns(timeout), ctypes.byref(died))
        # Whether the relock found that a holder of `mutex` died meanwhile (as Mutex.lock's
        # result): repair, then mutex.mark_consistent().
        self.owner_died = bool(died.value)
        if st == STATUS["ZIPC_ERR_TIMEOUT"]:
            return False
        _call(st)
        return True

    def wait_for(self, mutex, predicate, timeout=None):
        """Waits until `predicate()` is true, holding `mutex` whenever it is called, as
        threading.Condition.wait_for; returns the last value of `predicate()` (false if
        `timeout` seconds passed first)."""
        import time

        end = None if timeout is None else time.monotonic() + timeout
        result = predicate()
        while not result:
            left = None
            if end is not None:
                left = end - time.monotonic()
                if left <= 0:
                    break
            self.wait(mutex, left)
            result = predicate()
        return result

    def notify_one(self):
        """Wakes one waiter, if any."""
        _call(_LIB.zipc_condvar_notify_one(self._p()))

    notify = notify_one

    def notify_all(self):
        """Wakes every waiter."""
        _call(_LIB.zipc_condvar_notify_all(self._p()))

    waiters = property(lambda self: _LIB.zipc_condvar_waiters(self._p()))
