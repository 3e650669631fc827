class EndpointSide(_Typed):
    """A claimed side of an endpoint: sends to the other side and receives from it."""

    _CLOSE = "zipc_side_close"

    def try_send(self, value):
        return _send(self, "zipc_side_try_send", value) == OK

    def send(self, value, timeout=None):
        _send(self, "zipc_side_send", value, _ns(timeout))

    def send_bulk(self, values, timeout=0):
        return _send_bulk(self, "zipc_side_send_bulk", values, timeout)

    def try_recv(self):
        return _recv(self, "zipc_side_try_recv")

    def recv(self, timeout=None):
        return _recv(self, "zipc_side_recv", _ns(timeout))

    def recv_bulk(self, max, timeout=0):
        return _recv_bulk(self, "zipc_side_recv_bulk", max, timeout)


class Endpoint(_Typed):
    """An endpoint: two spsc queues; claim a side with side("A") or side("B")."""

    _CLOSE = "zipc_endpoint_close"

    def __init__(self, seg, decl):
        _Typed.__init__(self, _open("zipc_endpoint_open", seg._p(), _name(decl.name), decl.dtype.itemsize,
                                    _name(decl.canonical)), decl.dtype, seg)

    def side(self, which):
        """Claims side "A" (or 0) or "B" (or 1) until the returned EndpointSide is closed."""
        code = {"A": SIDE_A, "B": SIDE_B, 0: SIDE_A, 1: SIDE_B}.get(which)
        if code is None:
            raise InvalidArgumentError("side must be \"A\" or \"B\", not %r" % (which,))
        return EndpointSide(_open("zipc_endpoint_open_side", self._p(), code), self.dtype, self)
