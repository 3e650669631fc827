"""The Python side of the cross_language example.

It imports the module that zipc-schema generates from schemas/telemetry.toml
(`zipc-schema gen schemas/telemetry.toml --out gen --lang python`, which also writes
zipc_runtime.py), whose structures are numpy views straight into the shared segment. It checks
the statistics C wrote against numpy's own computation from the readings Rust wrote.
"""

import sys

import numpy as np

import telemetry

seg = telemetry.open(sys.argv[1])  # checks every structure against the schema
latest, stats = seg.latest, seg.stats  # structured arrays over shared memory: no copies

vals = latest["vals"]  # shape (8, 8): sensors × channels
assert (stats["count"] == 1).all()
assert np.array_equal(stats["min"], vals.min(axis=1)), "min differs"
assert np.array_equal(stats["max"], vals.max(axis=1)), "max differs"
assert np.array_equal(stats["last_seq"], latest["seq"]), "last_seq differs"
print("checked the statistics of %d sensors; channel means: %s"
      % (len(stats), np.array2string(vals.mean(axis=1), precision=1)))

# Atomics are 0-d views. Python has no atomic read-modify-write on them; this is safe here
# because no other process writes these two while Python runs.
seg.consumed[()] = len(stats)
seg.visits[()] += 1
seg.close()
