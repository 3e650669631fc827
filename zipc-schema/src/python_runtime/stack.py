class Stack(_Typed):
    """A bounded lock-free stack: the last value pushed, by any process, is the first popped."""

    _CLOSE = "zipc_stack_close"

    def __init__(self, seg, decl):
        _Typed.__init__(self, _open("zipc_stack_open", seg._p(), _name(decl.name), decl.dtype.itemsize,
                                    _name(decl.canonical)), decl.dtype, seg)

    capacity = property(lambda self: _LIB.zipc_stack_capacity(self._p()))

    def __len__(self):
        return _LIB.zipc_stack_len(self._p())

    def try_push(self, value):
        """Pushes `value` if there is room: True if pushed, False if the stack is full."""
        return _send(self, "zipc_stack_try_push", value) == OK

    def push(self, value, timeout=None):
        """Pushes `value`, waiting at most `timeout` seconds for room (ZipcTimeoutError)."""
        _send(self, "zipc_stack_push", value, _ns(timeout))

    def try_pop(self):
        """The top value (a numpy scalar), or None if the stack is empty."""
        return _recv(self, "zipc_stack_try_pop")

    def pop(self, timeout=None):
        """The top value, waiting at most `timeout` seconds for one (ZipcTimeoutError)."""
        return _recv(self, "zipc_stack_pop", _ns(timeout))

    async def pop_async(self):
        """The top value, awaited on the running asyncio loop. Cancellation-safe."""
        return await _until(self, self.try_pop)

    def reclaim_dead(self):
        """Gives back the nodes processes were filling when they died; returns how many."""
        return _LIB.zipc_stack_reclaim_dead(self._p())
