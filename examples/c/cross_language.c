/* The C side of the cross_language example. It is compiled against the header that zipc-schema
 * generates from schemas/telemetry.toml (and zipc.h, the libc-only runtime written beside it):
 *
 *     zipc-schema gen schemas/telemetry.toml --out gen --lang c
 *     gcc -std=c11 -Wall -Wextra -Werror -I gen cross_language.c -o cross_language
 *
 * It reads the readings Rust wrote into `latest`, writes each sensor's statistics into `stats`,
 * and counts its visit in the atomic `visits`. */
#include "telemetry.h" /* first: it sets up the POSIX declarations zipc.h needs */
#include <stdio.h>

int main(int argc, char **argv) {
    zipc_segment seg;
    const char *which = NULL;
    Reading *latest;
    SensorStats *stats;
    uint64_t n_latest, n_stats, i;
    uint32_t *visits;
    zipc_status st;

    if (argc != 2) {
        fprintf(stderr, "usage: %s SEGMENT\n", argv[0]);
        return 2;
    }
    /* Maps the segment and checks every structure against the schema: kind, element layout
     * (fingerprint), capacity and parameters. */
    st = telemetry_segment_open(argv[1], &seg, &which);
    if (st != ZIPC_OK) {
        fprintf(stderr, "cannot open %s: %s (%s)\n", argv[1], zipc_status_str(st), which ? which : "-");
        return 1;
    }
    /* Typed pointers straight into shared memory. */
    if (telemetry_latest(&seg, &latest, &n_latest) != ZIPC_OK || telemetry_stats(&seg, &stats, &n_stats) != ZIPC_OK ||
        telemetry_visits(&seg, &visits) != ZIPC_OK || n_latest != n_stats) {
        fprintf(stderr, "unexpected segment contents\n");
        zipc_close(&seg);
        return 1;
    }
    for (i = 0; i < n_latest; i++) {
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
    /* Other processes may touch the atomic at the same time: use atomic operations on it. */
    __atomic_fetch_add(visits, 1, __ATOMIC_SEQ_CST);
    zipc_close(&seg);
    return 0;
}
