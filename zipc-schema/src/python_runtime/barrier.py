BarrierWaitResult = namedtuple("BarrierWaitResult", "is_leader generation")


class Barrier(_Primitive):
    """A reusable barrier."""

    _OPEN, _CLOSE = "zipc_barrier_open", "zipc_barrier_close"

    def wait(self, timeout=None):
        """Waits for every participant; returns (is_leader, generation)."""
        leader, gen = _INT(0), _U32(0)
        _call(_LIB.zipc_barrier_wait(self._p(), _ns(timeout), ctypes.byref(leader), ctypes.byref(gen)))
        return BarrierWaitResult(bool(leader.value), gen.value)

    participants = property(lambda self: _LIB.zipc_barrier_participants(self._p()))
