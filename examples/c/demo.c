/* The demo's C reader: summarises the telemetry segment from the header zipc-schema generated
 * (telemetry.h + zipc.h; libc only). Prints one line the demo compares with Rust's and Python's. */
#include "telemetry.h" /* first: it sets up the POSIX declarations zipc.h needs */
#include <stdio.h>

int main(int argc, char **argv) {
    zipc_segment seg;
    const char *which = NULL;
    SensorStats *stats;
    uint64_t n, i, count = 0, newest = 0, *consumed;
    uint32_t *visits;
    double sum = 0.0;
    float max = -1e30f;
    zipc_status st;

    if (argc != 2) {
        fprintf(stderr, "usage: %s SEGMENT\n", argv[0]);
        return 2;
    }
    st = telemetry_segment_open(argv[1], &seg, &which); /* checks every structure */
    if (st != ZIPC_OK) {
        fprintf(stderr, "cannot open %s: %s (%s)\n", argv[1], zipc_status_str(st), which ? which : "-");
        return 1;
    }
    if (telemetry_stats(&seg, &stats, &n) != ZIPC_OK || telemetry_consumed(&seg, &consumed) != ZIPC_OK ||
        telemetry_visits(&seg, &visits) != ZIPC_OK) {
        zipc_close(&seg);
        return 1;
    }
    for (i = 0; i < n; i++) {
        count += stats[i].count;
        sum += stats[i].sum;
        if (stats[i].max > max) max = stats[i].max;
        if (stats[i].last_seq > newest) newest = stats[i].last_seq;
    }
    printf("readings %llu (consumed %llu), channel-0 sum %.3f, max %.2f, newest seq %llu\n",
           (unsigned long long)count, (unsigned long long)__atomic_load_n(consumed, __ATOMIC_ACQUIRE), sum,
           (double)max, (unsigned long long)newest);
    __atomic_fetch_add(visits, 1, __ATOMIC_SEQ_CST);
    zipc_close(&seg);
    return 0;
}
