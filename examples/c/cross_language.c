/* The C side of the cross_language example. It is compiled against the header that zipc-schema
 * generates from schemas/telemetry.toml, and linked with libzipc, zipc's C ABI:
 *
 *     zipc-schema gen schemas/telemetry.toml --out gen --lang c     # telemetry.h + zipc.h
 *     cargo build --release -p libzipc                              # libzipc.so and .a
 *     cc -std=c11 -Igen cross_language.c -Ltarget/release -lzipc -o cross_language
 *
 * It reads the readings Rust wrote into the array `latest`, writes each sensor's statistics into
 * the array `stats`, pushes the readings into the lock-free queue `readings` for Python, and
 * counts its visit in the atomic `visits`. */
#include "telemetry.h"
#include <stdio.h>

/* zipc_last_error() is the message a Rust caller would get: it says what to do. */
static int fail(const char *what) {
    fprintf(stderr, "%s: %s\n", what, zipc_last_error());
    return 1;
}

int main(int argc, char **argv) {
    zipc_segment *seg;
    zipc_queue *readings;
    zipc_producer *tx;
    zipc_atomic *visits;
    const char *which = NULL;
    Reading *latest;
    SensorStats *stats;
    uint64_t n_latest, n_stats, i;

    if (argc != 2) {
        fprintf(stderr, "usage: %s SEGMENT\n", argv[0]);
        return 2;
    }
    /* Opens the segment and checks every structure against the schema: kind, element layout
     * (fingerprint), capacity and parameters. `which` names a structure that differs. */
    if (telemetry_segment_open(argv[1], &seg, &which) != ZIPC_OK) {
        fprintf(stderr, "cannot open %s (%s): %s\n", argv[1], which ? which : "-", zipc_last_error());
        return 1;
    }
    /* Arrays: typed pointers straight into shared memory. */
    if (telemetry_latest(seg, &latest, &n_latest) != ZIPC_OK) return fail("latest");
    if (telemetry_stats(seg, &stats, &n_stats) != ZIPC_OK) return fail("stats");
    for (i = 0; i < n_latest && i < n_stats; i++) {
        const Reading *r = &latest[i];
        SensorStats s;
        int c;
        s.count = 1;
        s.sum = r->vals[0];
        s.min = s.max = r->vals[0];
        for (c = 1; c < 8; c++) {
            if (r->vals[c] < s.min) s.min = r->vals[c];
            if (r->vals[c] > s.max) s.max = r->vals[c];
        }
        s.last_seq = r->seq;
        stats[i] = s;
        printf("sensor %u: seq %llu, channels %.1f .. %.1f\n", (unsigned)r->sensor, (unsigned long long)r->seq,
               (double)s.min, (double)s.max);
    }
    /* The queue: claim the producer role of this SPSC queue, push each reading (typed wrapper:
     * the element size is checked), release the role. */
    if (telemetry_readings_open(seg, &readings) != ZIPC_OK) return fail("readings");
    if (zipc_queue_open_producer(readings, &tx) != ZIPC_OK) return fail("producer role");
    for (i = 0; i < n_latest; i++) {
        if (telemetry_readings_push(tx, &latest[i], ZIPC_FOREVER) != ZIPC_OK) return fail("push");
    }
    printf("pushed %llu readings into the queue `readings`\n", (unsigned long long)n_latest);
    zipc_producer_close(tx);
    zipc_queue_close(readings);
    /* The atomic: other processes may change it at the same time. */
    if (telemetry_visits_open(seg, &visits) != ZIPC_OK) return fail("visits");
    if (zipc_atomic_fetch_add(visits, 1, NULL) != ZIPC_OK) return fail("fetch_add");
    zipc_atomic_close(visits);
    zipc_segment_close(seg);
    return 0;
}
