"""The Python side of the cross_language example.

It imports the module that zipc-schema generates from schemas/telemetry.toml
(`zipc-schema gen schemas/telemetry.toml --out gen --lang python`, which also writes
zipc_runtime.py); the runtime calls libzipc, zipc's C ABI, through ctypes (it finds the library
through ZIPC_LIB). Arrays are numpy views straight into the shared segment.

It checks the statistics C wrote against numpy's own computation from the readings Rust wrote,
and pops from the lock-free queue the readings C pushed.
"""

import sys

import numpy as np

import telemetry

seg = telemetry.open(sys.argv[1])  # checks every structure against the schema
latest, stats = seg.latest, seg.stats  # structured arrays over shared memory: no copies

vals = latest["vals"]  # shape (8, 8): sensors x channels
assert (stats["count"] == 1).all()
assert np.array_equal(stats["min"], vals.min(axis=1)), "min differs"
assert np.array_equal(stats["max"], vals.max(axis=1)), "max differs"
assert np.array_equal(stats["last_seq"], latest["seq"]), "last_seq differs"
print("checked the statistics of %d sensors; channel means: %s"
      % (len(stats), np.array2string(vals.mean(axis=1), precision=1)))

rx = seg.readings.consumer()  # claims the queue's consumer role
got = rx.pop_bulk(len(latest), timeout=10.0)  # a numpy array of Reading, in one call
rx.close()
assert len(got) == len(latest), "popped %d readings" % len(got)
assert np.array_equal(got["seq"], latest["seq"]) and np.array_equal(got["vals"], latest["vals"])
print("popped the %d readings C pushed, in order and intact" % len(got))

seg.consumed.store(len(got))  # atomics go through libzipc: real atomic operations
seg.visits.fetch_add(1)
seg.close()
