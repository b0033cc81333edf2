/*
 * Replays a malloc-lab trace (decompressed text, the format of ../shared/traces) under the C
 * library's malloc, or under jemalloc, mimalloc or tcmalloc through LD_PRELOAD: the native side
 * of bench/replay-native.ts. Like heapkit's timed replay (src/trace/replay.ts) it makes the bare
 * calls and touches no block's bytes.
 *
 *   usage: replay time FILE   ->  ns per op of one pass (the caller runs fresh processes and
 *                                 keeps the fastest, as heapkit keeps its fastest pass)
 *          replay util FILE   ->  "PEAK_LIVE PEAK_FOOTPRINT": requested bytes live at the worst
 *                                 moment, and the high-water of glibc's footprint, mallinfo2()'s
 *                                 arena + hblkhd, as if sampled after every op (decision 11 of
 *                                 ../shared/notes/decisions.md); glibc only
 *          replay util-every-op FILE  the same, calling mallinfo2() after every op
 *
 * mallinfo2() walks every free chunk, so after every op it takes minutes on a fragmented trace.
 * `util` calls it only after an op that can change arena + hblkhd: in one thread glibc's main
 * arena grows and shrinks by sbrk (seen as a new sbrk(0)), and hblkhd moves only when a chunk of
 * at least the mmap threshold (128 KiB or more) is mapped, unmapped or remapped, so after any op
 * on a block of MMAP_CANDIDATE_BYTES or more. Between those ops the footprint is constant, so
 * the high-water is the same; `util-every-op` is there to check it (bench/replay-native.ts does,
 * on the smallest trace).
 *
 * The driver's own memory (the file, the op arrays, the pointer table) is mapped with mmap,
 * never taken from malloc, and stdio is not used before the replay: the allocator starts
 * untouched, and its footprint is the trace's alone.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <malloc.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

enum { OP_ALLOC, OP_REALLOC, OP_FREE };

/* Half of glibc's smallest mmap threshold (M_MMAP_THRESHOLD starts at 128 KiB and only rises). */
#define MMAP_CANDIDATE_BYTES (64u << 10)

struct trace {
  size_t count;
  uint8_t *kinds;
  uint32_t *ids;
  size_t *sizes;
  size_t id_count;
};

static void fail(const char *what) {
  fprintf(stderr, "replay: %s\n", what);
  exit(2);
}

/* Zeroed memory straight from the kernel, outside every allocator. */
static void *map(size_t bytes) {
  void *p = mmap(NULL, bytes == 0 ? 1 : bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) fail("out of memory");
  return p;
}

/* The whole file, NUL-terminated (the mapping is one byte longer than the file). */
static char *read_file(const char *path) {
  int fd = open(path, O_RDONLY);
  struct stat st;
  if (fd < 0 || fstat(fd, &st) != 0) fail("cannot open the trace");
  char *text = map((size_t)st.st_size + 1);
  for (size_t got = 0; got < (size_t)st.st_size;) {
    ssize_t n = read(fd, text + got, (size_t)st.st_size - got);
    if (n <= 0) fail("cannot read the trace");
    got += (size_t)n;
  }
  close(fd);
  return text;
}

/* Reads the next integer after *p (skipping blanks); returns 0 when the line has none. */
static int next_number(char **p, long long *out) {
  char *s = *p;
  while (*s == ' ' || *s == '\t' || *s == '\r') s++;
  if (*s == '\n' || *s == 0) return 0;
  char *end;
  *out = strtoll(s, &end, 10);
  if (end == s) fail("a field is not a number");
  *p = end;
  return 1;
}

static char *next_line(char *s) {
  while (*s != '\n' && *s != 0) s++;
  return *s == '\n' ? s + 1 : s;
}

static struct trace parse(char *text) {
  struct trace t = {0};
  long long header[4];
  char *s = text;
  for (int i = 0; i < 4; i++) {
    while (*s == '\n' || *s == '\r') s++;
    if (!next_number(&s, &header[i])) fail("the header is short");
    s = next_line(s);
  }
  t.id_count = (size_t)header[1];
  size_t capacity = (size_t)header[2];
  t.kinds = map(capacity);
  t.ids = map(capacity * sizeof *t.ids);
  t.sizes = map(capacity * sizeof *t.sizes);
  long long previous = 0;
  for (; *s != 0; s = next_line(s)) {
    while (*s == ' ' || *s == '\t') s++;
    char op = *s;
    if (op == '\n' || op == '\r' || op == 0) continue;
    s++;
    long long id, size = previous;
    if (!next_number(&s, &id)) fail("a line has no id");
    if (op == 'f' && id < 0) continue; /* free(NULL) */
    if (op != 'f' && !next_number(&s, &size) && op != 'a') fail("a realloc has no size");
    if (id < 0 || (size_t)id >= t.id_count || t.count == capacity) fail("an id or the op count is out of range");
    t.kinds[t.count] = op == 'a' ? OP_ALLOC : op == 'r' ? OP_REALLOC : OP_FREE;
    if (op != 'a' && op != 'r' && op != 'f') fail("an unknown op");
    t.ids[t.count] = (uint32_t)id;
    t.sizes[t.count] = (size_t)size;
    if (op != 'f') previous = size;
    t.count++;
  }
  return t;
}

static double now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static double time_pass(const struct trace *t, void **ptrs) {
  double start = now_ns();
  for (size_t op = 0; op < t->count; op++) {
    uint32_t id = t->ids[op];
    uint8_t kind = t->kinds[op];
    if (kind == OP_ALLOC) ptrs[id] = malloc(t->sizes[op]);
    else if (kind == OP_REALLOC) ptrs[id] = realloc(ptrs[id], t->sizes[op]);
    else free(ptrs[id]);
  }
  return t->count == 0 ? 0 : (now_ns() - start) / (double)t->count;
}

static size_t footprint(void) {
  struct mallinfo2 info = mallinfo2();
  return info.arena + info.hblkhd;
}

static void utilization_pass(const struct trace *t, void **ptrs, int every_op) {
  size_t *live = map(t->id_count * sizeof *live);
  size_t peak_footprint = 0, live_bytes = 0, peak_live = 0;
  void *brk = sbrk(0);
  if (footprint() != 0) fail("the allocator was used before the replay");
  for (size_t op = 0; op < t->count; op++) {
    uint32_t id = t->ids[op];
    uint8_t kind = t->kinds[op];
    int large = live[id] >= MMAP_CANDIDATE_BYTES || (kind != OP_FREE && t->sizes[op] >= MMAP_CANDIDATE_BYTES);
    live_bytes -= live[id];
    if (kind == OP_ALLOC) ptrs[id] = malloc(t->sizes[op]);
    else if (kind == OP_REALLOC) ptrs[id] = realloc(ptrs[id], t->sizes[op]);
    else free(ptrs[id]);
    live[id] = kind == OP_FREE ? 0 : t->sizes[op];
    live_bytes += live[id];
    if (live_bytes > peak_live) peak_live = live_bytes;
    void *now_brk = sbrk(0);
    if (!every_op && !large && now_brk == brk) continue;
    brk = now_brk;
    size_t now = footprint();
    if (now > peak_footprint) peak_footprint = now;
  }
  printf("%zu %zu\n", peak_live, peak_footprint);
}

int main(int argc, char **argv) {
  int timing = argc == 3 && strcmp(argv[1], "time") == 0;
  int every_op = argc == 3 && strcmp(argv[1], "util-every-op") == 0;
  if (argc != 3 || (!timing && !every_op && strcmp(argv[1], "util") != 0)) {
    fprintf(stderr, "usage: replay time|util|util-every-op FILE\n");
    return 2;
  }
  struct trace t = parse(read_file(argv[2]));
  void **ptrs = map(t.id_count * sizeof *ptrs);
  if (timing) printf("%.2f\n", time_pass(&t, ptrs));
  else utilization_pass(&t, ptrs, every_op);
  return 0;
}
