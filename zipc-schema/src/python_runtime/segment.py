# kind code: what opens a structure of the kind, called with (segment, declaration); printed from
# Kind::ALL, so every kind has its entry.
@KINDS@


class Segment(_Handle):
    """An open segment (the process joins its registry). Subclasses name their STRUCTURES, each
    checked at open (kind, element layout, capacity, parameters) and made an attribute: a numpy
    array for an array, a Queue, Ring, Pool, Endpoint, Atomic, Semaphore, Barrier, Latch, Mutex
    or Event for the others."""

    STRUCTURES = ()
    _CLOSE = "zipc_segment_close"

    def __init__(self, name):
        _Handle.__init__(self, _open("zipc_segment_open", _name(name)))
        self.name = name
        try:
            for s in self.STRUCTURES:
                self.check(s)
            for s in self.STRUCTURES:
                setattr(self, s.name, self.structure(s))
        except BaseException:
            self.close()
            raise

    def find(self, name):
        """The Entry of structure `name` (NotFoundError if there is none)."""
        e = Entry()
        _call(_LIB.zipc_find(self._p(), _name(name), ctypes.byref(e)))
        return e

    def recover_dead(self):
        """Settles every queue operation dead processes left half-done and frees their lanes;
        returns (operations found, messages lost in them)."""
        ops, lost = _U64(0), _U64(0)
        _call(_LIB.zipc_segment_recover_dead(self._p(), ctypes.byref(ops), ctypes.byref(lost)))
        return ops.value, lost.value

    def check(self, decl):
        """Checks structure `decl.name` against its declaration (MismatchError names the difference)."""
        d = decl._decl()
        _call(_LIB.zipc_check(self._p(), ctypes.byref(d)))

    def structure(self, decl):
        """The Python object for `decl` (see the class docs)."""
        return _KINDS[decl.kind](self, decl)

    def close(self):
        """Closes the segment handle and the structure handles made at open. numpy views of
        arrays keep the mapping until they are gone."""
        for s in self.STRUCTURES:
            v = self.__dict__.pop(s.name, None)
            if isinstance(v, _Handle):
                v.close()
        _Handle.close(self)

    def __del__(self):
        # Only the segment handle: structures taken from it (`q = seg.q`) outlive it and are
        # closed when they go (each handle keeps the mapping).
        try:
            _Handle.close(self)
        except Exception:
            pass


def unlink(name):
    """Removes segment `name` from the system (processes that have it open keep it)."""
    _call(library().zipc_segment_unlink(_name(name)))
