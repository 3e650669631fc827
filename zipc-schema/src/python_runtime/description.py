# ---------------------------------------------------------------------------------------------
# Layouts
# ---------------------------------------------------------------------------------------------

def fnv1a64(data):
    """64-bit FNV-1a of `data` (bytes): the hash of canonical layout strings."""
    h = 0xCBF29CE484222325
    for b in data:
        h = ((h ^ b) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return h


def canonical(dtype):
    """The canonical layout string of a numpy dtype (docs/FORMAT.md), derived from numpy's own
    view of the dtype: names, primitive kinds, counts, offsets and sizes."""
    dtype = np.dtype(dtype)
    if dtype.subdtype is not None:
        base, shape = dtype.subdtype
        s = canonical(base)
        for n in reversed(shape):
            s = "[%s;%d]" % (s, n)
        return s
    if dtype.names is not None:
        fields = sorted(((dtype.fields[n][1], n, dtype.fields[n][0]) for n in dtype.names), key=lambda f: f[0])
        inner = ",".join("%s:%s@%d" % (n, canonical(t), off) for off, n, t in fields)
        return "{%s}#%d" % (inner, dtype.itemsize)
    if dtype.byteorder not in ("<", "|", "="):
        raise ZipcError("dtype %s is not little-endian" % dtype)
    name = PRIMITIVES.get((dtype.kind, dtype.itemsize))
    if name is None:
        raise ZipcError("dtype %s is not one of zipc's primitives" % dtype)
    return name


class Structure:
    """A structure as a schema declares it."""

    def __init__(self, name, kind, dtype, canonical, fingerprint, capacity, flags, initial, maximum):
        self.name = name
        self.kind = kind
        self.dtype = dtype
        self.canonical = canonical
        self.fingerprint = fingerprint
        self.capacity = capacity
        self.flags = flags
        self.initial = initial
        self.maximum = maximum

    def verify(self):
        """Asserts that numpy lays the element dtype out as the schema does."""
        assert fnv1a64(b"a") == FNV1A64_A, "FNV-1a self-check failed"
        if self.dtype is None:
            return
        derived = canonical(self.dtype)
        assert derived == self.canonical, "%s: numpy's layout %s differs from the schema's %s" % (
            self.name, derived, self.canonical)
        assert fnv1a64(derived.encode()) == self.fingerprint, "%s: fingerprint differs" % self.name

    def _decl(self):
        return _Decl(_name(self.name), self.kind, self.flags, self.capacity, self.maximum,
                     self.dtype.itemsize if self.dtype is not None else 0,
                     _name(self.canonical) if self.canonical is not None else None)

    def __repr__(self):
        return "Structure(%r, %s)" % (self.name, KIND_NAMES.get(self.kind, self.kind))
