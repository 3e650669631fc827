/* The demo's C program, on the header zipc-schema generated (telemetry.h + zipc.h) and libzipc:
 *
 *   demo_c SEGMENT summary           one line the demo compares with Rust's and Python's
 *   demo_c SEGMENT push FIRST COUNT  pushes readings FIRST.. into the queue `readings` */
#include "telemetry.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int fail(const char *what) {
    fprintf(stderr, "%s: %s\n", what, zipc_last_error());
    return 1;
}

/* Channel c of reading seq: the demo's formula, in the same float arithmetic as Rust's. */
static float value(uint64_t seq, int c) {
    return (float)(seq % 1000) * 0.01f + (float)c;
}

static int summary(zipc_segment *seg) {
    SensorStats *stats;
    uint64_t n, i, count = 0, newest = 0, *consumed;
    double sum = 0.0;
    float max = -1e30f;
    if (telemetry_stats(seg, &stats, &n) != ZIPC_OK) return fail("stats");
    if (telemetry_consumed(seg, &consumed) != ZIPC_OK) return fail("consumed");
    for (i = 0; i < n; i++) {
        count += stats[i].count;
        sum += stats[i].sum;
        if (stats[i].max > max) max = stats[i].max;
        if (stats[i].last_seq > newest) newest = stats[i].last_seq;
    }
    printf("readings %llu (consumed %llu), channel-0 sum %.3f, max %.2f, newest seq %llu\n",
           (unsigned long long)count, (unsigned long long)__atomic_load_n(consumed, __ATOMIC_ACQUIRE), sum,
           (double)max, (unsigned long long)newest);
    return 0;
}

static int push(zipc_segment *seg, uint64_t first, uint64_t count) {
    zipc_queue *q;
    zipc_producer *tx;
    zipc_atomic *produced;
    Reading r;
    uint64_t seq;
    int c;
    if (telemetry_readings_open(seg, &q) != ZIPC_OK) return fail("readings");
    if (zipc_queue_open_producer(q, &tx) != ZIPC_OK) return fail("producer role"); /* SPSC: one producer */
    memset(&r, 0, sizeof r);
    for (seq = first; seq < first + count; seq++) {
        r.seq = seq;
        r.sensor = (uint32_t)(seq % 8);
        for (c = 0; c < 8; c++) r.vals[c] = value(seq, c);
        if (telemetry_readings_push(tx, &r, ZIPC_FOREVER) != ZIPC_OK) return fail("push"); /* waits while full */
    }
    zipc_producer_close(tx);
    zipc_queue_close(q);
    if (telemetry_produced_open(seg, &produced) != ZIPC_OK) return fail("produced");
    if (zipc_atomic_fetch_add(produced, (int64_t)count, NULL) != ZIPC_OK) return fail("fetch_add");
    zipc_atomic_close(produced);
    printf("pushed %llu readings\n", (unsigned long long)count);
    return 0;
}

int main(int argc, char **argv) {
    zipc_segment *seg;
    const char *which = NULL;
    int rc;
    if (argc < 3) {
        fprintf(stderr, "usage: %s SEGMENT summary | push FIRST COUNT\n", argv[0]);
        return 2;
    }
    if (telemetry_segment_open(argv[1], &seg, &which) != ZIPC_OK) { /* checks every structure */
        fprintf(stderr, "cannot open %s (%s): %s\n", argv[1], which ? which : "-", zipc_last_error());
        return 1;
    }
    if (strcmp(argv[2], "summary") == 0) {
        rc = summary(seg);
    } else if (strcmp(argv[2], "push") == 0 && argc == 5) {
        rc = push(seg, strtoull(argv[3], NULL, 10), strtoull(argv[4], NULL, 10));
    } else {
        fprintf(stderr, "unknown command %s\n", argv[2]);
        rc = 2;
    }
    zipc_segment_close(seg);
    return rc;
}
