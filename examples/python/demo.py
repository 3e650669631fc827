"""The demo's Python reader: summarises the telemetry segment with the numpy module zipc-schema
generated (telemetry.py + zipc_runtime.py). Prints one line the demo compares with Rust's and C's."""

import sys

import telemetry

seg = telemetry.open(sys.argv[1])  # checks every structure against the schema
stats = seg.stats  # a structured numpy array over the shared memory
total = 0.0
for s in stats["sum"]:  # in order, as Rust and C add them, so the float sums agree exactly
    total += float(s)
print("readings %d (consumed %d), channel-0 sum %.3f, max %.2f, newest seq %d"
      % (stats["count"].sum(), seg.consumed, total, stats["max"].max(), stats["last_seq"].max()))
seg.close()
