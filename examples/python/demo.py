"""The demo's Python program, on the module zipc-schema generated (telemetry.py +
zipc_runtime.py, which calls libzipc through ctypes):

    demo.py SEGMENT summary          one line the demo compares with Rust's and C's
    demo.py SEGMENT pop FIRST COUNT  pops readings FIRST.. from the queue `readings`, checks them
"""

import sys

import numpy as np

import telemetry


def summary(seg):
    stats = seg.stats  # a structured numpy array over the shared memory
    total = 0.0
    for s in stats["sum"]:  # in order, as Rust and C add them, so the float sums agree exactly
        total += float(s)
    print("readings %d (consumed %d), channel-0 sum %.3f, max %.2f, newest seq %d"
          % (stats["count"].sum(), seg.consumed.load(), total, stats["max"].max(), stats["last_seq"].max()))


def pop(seg, first, count):
    rx = seg.readings.consumer()  # the queue's one consumer
    expected = first
    while expected < first + count:
        batch = rx.pop_bulk(min(1024, first + count - expected), timeout=60.0)  # numpy array
        seq = batch["seq"]
        if not np.array_equal(seq, np.arange(expected, expected + len(batch), dtype=np.uint64)):
            raise SystemExit("readings out of order near %d" % expected)
        # The same formula as Rust and C, in float32.
        vals = (seq % 1000).astype(np.float32)[:, None] * np.float32(0.01) + np.arange(8, dtype=np.float32)
        if not np.array_equal(batch["vals"], vals) or not np.array_equal(batch["sensor"], seq % 8):
            raise SystemExit("a reading near %d arrived damaged" % expected)
        expected += len(batch)
    rx.close()
    seg.consumed.fetch_add(count)
    print("popped %d readings in bulk into numpy arrays, in order and intact" % count)


seg = telemetry.open(sys.argv[1])  # checks every structure against the schema
if sys.argv[2] == "summary":
    summary(seg)
else:
    pop(seg, int(sys.argv[3]), int(sys.argv[4]))
seg.close()
