class RwLock(_Primitive):
    """A robust process-shared readers-writer lock: many threads (up to max_readers at once) hold
    it for reading, or one for writing; a waiting writer is not starved by readers. A dead
    writer's lock is taken over by the next locker, which reports writer_died until a writer marks
    it consistent; a dead reader's slot is freed. Locks are the process's: a process holding it
    for reading that asks for it for writing waits for itself (give a timeout if that can
    happen).

        with lock.write() as w:
            if w.writer_died:
                repair()
                w.mark_consistent()
            update()
        with lock.read():
            read()
    """

    _OPEN, _CLOSE = "zipc_rwlock_open", "zipc_rwlock_close"

    def read(self, timeout=None):
        """Acquires the lock for reading, waiting at most `timeout` seconds (TimeoutError) while a
        writer holds or waits for it: a RwLockReadGuard (`with`, or its unlock())."""
        died = _INT(0)
        _call(_LIB.zipc_rwlock_read(self._p(), _ns(timeout), ctypes.byref(died)))
        return RwLockReadGuard(self, bool(died.value))

    def try_read(self):
        """The read lock if it can be had without waiting (a RwLockReadGuard), else None."""
        died = _INT(0)
        st = _call(_LIB.zipc_rwlock_try_read(self._p(), ctypes.byref(died)))
        return RwLockReadGuard(self, bool(died.value)) if st == OK else None

    def write(self, timeout=None):
        """Acquires the lock for writing, waiting at most `timeout` seconds (TimeoutError) for the
        writer before it and every reader to leave: a RwLockWriteGuard (`with`, or its
        unlock())."""
        died = _INT(0)
        _call(_LIB.zipc_rwlock_write(self._p(), _ns(timeout), ctypes.byref(died)))
        return RwLockWriteGuard(self, bool(died.value))

    def try_write(self):
        """The write lock if it can be had without waiting (a RwLockWriteGuard), else None."""
        died = _INT(0)
        st = _call(_LIB.zipc_rwlock_try_write(self._p(), ctypes.byref(died)))
        return RwLockWriteGuard(self, bool(died.value)) if st == OK else None

    readers = property(lambda self: _LIB.zipc_rwlock_readers(self._p()))
    max_readers = property(lambda self: _LIB.zipc_rwlock_max_readers(self._p()))
    is_write_locked = property(lambda self: bool(_LIB.zipc_rwlock_is_write_locked(self._p())))
    writer_died = property(lambda self: bool(_LIB.zipc_rwlock_writer_died(self._p())))
    writer_deaths = property(lambda self: _LIB.zipc_rwlock_writer_deaths(self._p()))
    reader_deaths = property(lambda self: _LIB.zipc_rwlock_reader_deaths(self._p()))


class RwLockReadGuard:
    """Holding an RwLock for reading, until unlock() or the end of its `with`. `writer_died`: a
    writer died holding the lock and nobody marked it consistent since (what it protects may be
    half-written)."""

    def __init__(self, lock, writer_died):
        self.lock = lock
        self.writer_died = writer_died
        self.held = True

    def unlock(self):
        """Leaves the read lock (once; later calls do nothing)."""
        if self.held:
            self.held = False
            _call(_LIB.zipc_rwlock_read_unlock(self.lock._p()))

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.unlock()
        return False


class RwLockWriteGuard:
    """Holding an RwLock for writing, until unlock() or the end of its `with`. `writer_died`: a
    writer died holding the lock (perhaps the one this guard took it over from) and nobody marked
    it consistent since: repair what it protects, then mark_consistent()."""

    def __init__(self, lock, writer_died):
        self.lock = lock
        self.writer_died = writer_died
        self.held = True
        self._consistent = False

    def mark_consistent(self):
        """Declares what the lock protects repaired: once this guard unlocks, later lockers no
        longer see writer_died."""
        self._consistent = True
        self.writer_died = False

    def unlock(self):
        """Releases the write lock (once; later calls do nothing), marking it consistent first if
        mark_consistent() was called."""
        if self.held:
            self.held = False
            _call(_LIB.zipc_rwlock_write_unlock(self.lock._p(), int(self._consistent)))

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.unlock()
        return False
