/*
 * The churn of bench/heap.ts, in C, for the C library's malloc (and jemalloc, mimalloc or
 * tcmalloc through LD_PRELOAD): the same seeded generator (mulberry32), the same size and victim
 * tables, the same loop. It shows what the machine's caches allow a native allocator on the same
 * workload, measured in the same run as the JavaScript heaps. With TOUCH 1 the loop writes the
 * first word of each block it gets and reads it back before freeing the block (as real programs
 * use their memory), as bench/heap-case.ts does with TOUCH 1.
 *
 *   usage: churn LIVE MIN_BYTES MAX_BYTES OPS SEED REPS [TOUCH]  ->  prints the median ns per malloc or free
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static uint32_t state;

/* mulberry32 (Tommy Ettinger), as src/util/random.ts: a float in [0, 1). */
static double next_random(void) {
  state += 0x6d2b79f5u;
  uint32_t t = state;
  t = (t ^ (t >> 15)) * (t | 1u);
  t ^= t + (t ^ (t >> 7)) * (t | 61u);
  return (double)(t ^ (t >> 14)) / 4294967296.0;
}

static int by_value(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

int main(int argc, char **argv) {
  if (argc != 7 && argc != 8) {
    fprintf(stderr, "usage: churn LIVE MIN_BYTES MAX_BYTES OPS SEED REPS [TOUCH]\n");
    return 2;
  }
  long live = atol(argv[1]), min_bytes = atol(argv[2]), max_bytes = atol(argv[3]), ops = atol(argv[4]);
  int reps = atoi(argv[6]);
  int touch = argc == 8 && atoi(argv[7]) != 0;
  state = (uint32_t)atol(argv[5]);
  enum { TABLE = 1 << 16 };
  static uint32_t sizes[TABLE], victims[TABLE];
  for (int i = 0; i < TABLE; i++) sizes[i] = (uint32_t)(min_bytes + (long)(next_random() * (max_bytes - min_bytes + 1)));
  for (int i = 0; i < TABLE; i++) victims[i] = (uint32_t)(next_random() * live);
  void **ptrs = malloc((size_t)live * sizeof *ptrs);
  double *ns = malloc((size_t)reps * sizeof *ns);
  if (ptrs == NULL || ns == NULL) return 1;
  for (long i = 0; i < live; i++) {
    ptrs[i] = malloc(sizes[i & (TABLE - 1)]);
    if (ptrs[i] == NULL) return 1;
    if (touch) *(volatile uint32_t *)ptrs[i] = (uint32_t)i;
  }
  for (int r = 0; r < reps; r++) {
    struct timespec start, end;
    clock_gettime(CLOCK_MONOTONIC, &start);
    for (long i = 0; i < ops; i += 2) {
      uint32_t v = victims[(i >> 1) & (TABLE - 1)];
      if (touch) (void)*(volatile uint32_t *)ptrs[v]; /* volatile: the read is kept */
      free(ptrs[v]);
      ptrs[v] = malloc(sizes[(i * 7) & (TABLE - 1)]);
      if (ptrs[v] == NULL) return 1;
      if (touch) *(volatile uint32_t *)ptrs[v] = (uint32_t)i;
    }
    clock_gettime(CLOCK_MONOTONIC, &end);
    ns[r] = ((double)(end.tv_sec - start.tv_sec) * 1e9 + (double)(end.tv_nsec - start.tv_nsec)) / (double)ops;
  }
  qsort(ns, (size_t)reps, sizeof *ns, by_value);
  printf("%.2f\n", ns[reps / 2]);
  return 0;
}
