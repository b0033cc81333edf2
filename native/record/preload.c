/*
 * heapkit record's LD_PRELOAD library: logs every malloc, calloc, realloc, reallocarray, free,
 * memalign, posix_memalign, aligned_alloc, valloc and pvalloc call of a process (and of every
 * process it forks or execs) as fixed-size binary events, which `heapkit record` then turns into
 * a malloc-lab trace (src/node/record/convert.ts).
 *
 * One file per process image, HEAPKIT_RECORD_DIR/PID-SEQ.events, mapped MAP_SHARED and written
 * in place, so events reach the file without a write() per call and survive exit, exec, a
 * crash and SIGKILL alike: nothing needs flushing.
 *
 *   offset 0     file header, HEADER_BYTES:
 *                  0  magic "HKREC001"   8  pid (u64)   16  parent pid (u64)
 *                 24  command line: /proc/self/cmdline, NUL-separated, cut to fit
 *   HEADER_BYTES event 0, event 1, ... (struct event, 32 bytes each; kind 0 = none yet: the end;
 *                at most HEAPKIT_RECORD_MAX_EVENTS of them when that is set)
 *
 *   event:  0 result (u64: the block returned, 0 for none)   8 argument (u64: the block passed
 *           in, or the alignment)   16 size (u64: bytes asked for)   24 thread (u32: 1, 2, ...
 *           in order of each thread's first call)   28 kind (u32: EVENT_*)
 *
 * The traps of an LD_PRELOAD allocator shim, and what this file does about each:
 * - dlsym(RTLD_NEXT, ...) may itself call calloc/malloc before the real ones are known: those
 *   early requests are carved from a small static bootstrap arena, never logged, never freed.
 * - Reentrancy: the real allocator, or this file's own work, may call malloc again; a
 *   thread-local guard (initial-exec TLS, which itself never allocates) forwards nested calls
 *   unlogged.
 * - Threads: one lock around each call and its event, so the log's order is an order in which
 *   the calls could have happened (a free is logged before another thread can be handed the
 *   same block). Each event names its thread.
 * - fork: pthread_atfork takes the lock before the fork and gives the child a file of its own.
 *   exec: the next image loads this library anew and opens its own file; the old mapping's
 *   pages are already in the file.
 *
 * Written for glibc on Linux; built by `heapkit record` with the machine's cc.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

enum {
  EVENT_MALLOC = 1,
  EVENT_CALLOC = 2,
  EVENT_REALLOC = 3,
  EVENT_FREE = 4,
  EVENT_ALIGNED = 5,
};

#define HEADER_BYTES 4096u
#define WINDOW_BYTES (16u << 20) /* the file grows and is mapped this much at a time */
#define BOOTSTRAP_BYTES (64u << 10)
#define HIGH_FD 900

struct event {
  uint64_t result;
  uint64_t argument;
  uint64_t size;
  uint32_t thread;
  uint32_t kind;
};

_Static_assert(sizeof(struct event) == 32, "the event layout is 32 bytes");
_Static_assert(WINDOW_BYTES % sizeof(struct event) == 0, "windows hold whole events");

static void *(*real_malloc)(size_t);
static void *(*real_calloc)(size_t, size_t);
static void *(*real_realloc)(void *, size_t);
static void (*real_free)(void *);
static void *(*real_memalign)(size_t, size_t);
static int (*real_posix_memalign)(void **, size_t, size_t);
static void *(*real_aligned_alloc)(size_t, size_t);
static void *(*real_valloc)(size_t);
static void *(*real_pvalloc)(size_t);

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static int log_fd = -1;
static uint64_t file_bytes;   /* the file's length: HEADER_BYTES plus whole windows */
static char *window;          /* the mapped window events go to, or NULL */
static uint64_t window_start; /* its offset in the file */
static uint64_t next_offset;  /* where the next event goes */
static uint32_t thread_count;
static uint64_t max_events; /* HEAPKIT_RECORD_MAX_EVENTS: events kept per process, 0 for all */
static int resolving;

static __thread int in_hook __attribute__((tls_model("initial-exec")));
static __thread uint32_t thread_number __attribute__((tls_model("initial-exec")));

static _Alignas(64) char bootstrap[BOOTSTRAP_BYTES];
static size_t bootstrap_used;

static int from_bootstrap(const void *p) {
  return (const char *)p >= bootstrap && (const char *)p < bootstrap + BOOTSTRAP_BYTES;
}

/* Bump allocation for the calls dlsym makes before the real functions are known. */
static void *bootstrap_alloc(size_t size) {
  size_t start = (bootstrap_used + 15) & ~(size_t)15;
  if (size > BOOTSTRAP_BYTES - start) return NULL;
  bootstrap_used = start + size;
  return bootstrap + start; /* static storage: already zero, as calloc must return */
}

static void resolve(void) {
  if (real_free != NULL || resolving) return;
  resolving = 1;
  real_malloc = dlsym(RTLD_NEXT, "malloc");
  real_calloc = dlsym(RTLD_NEXT, "calloc");
  real_realloc = dlsym(RTLD_NEXT, "realloc");
  real_memalign = dlsym(RTLD_NEXT, "memalign");
  real_posix_memalign = dlsym(RTLD_NEXT, "posix_memalign");
  real_aligned_alloc = dlsym(RTLD_NEXT, "aligned_alloc");
  real_valloc = dlsym(RTLD_NEXT, "valloc");
  real_pvalloc = dlsym(RTLD_NEXT, "pvalloc");
  real_free = dlsym(RTLD_NEXT, "free");
  resolving = 0;
}

/* Maps the window that holds next_offset, growing the file by a window when needed. */
static int map_window(void) {
  if (window != NULL) munmap(window, WINDOW_BYTES);
  window = NULL;
  window_start = next_offset;
  if (window_start + WINDOW_BYTES > file_bytes) {
    if (ftruncate(log_fd, (off_t)(window_start + WINDOW_BYTES)) != 0) return -1;
    file_bytes = window_start + WINDOW_BYTES;
  }
  void *p = mmap(NULL, WINDOW_BYTES, PROT_READ | PROT_WRITE, MAP_SHARED, log_fd, (off_t)window_start);
  if (p == MAP_FAILED) return -1;
  window = p;
  return 0;
}

static void write_header(void) {
  char header[HEADER_BYTES];
  memset(header, 0, sizeof header);
  memcpy(header, "HKREC001", 8);
  uint64_t ids[2] = {(uint64_t)getpid(), (uint64_t)getppid()};
  memcpy(header + 8, ids, sizeof ids);
  int fd = open("/proc/self/cmdline", O_RDONLY | O_CLOEXEC);
  if (fd >= 0) {
    ssize_t n = read(fd, header + 24, HEADER_BYTES - 25);
    (void)n;
    close(fd);
  }
  if (pwrite(log_fd, header, sizeof header, 0) != (ssize_t)sizeof header) {
    close(log_fd);
    log_fd = -1;
  }
}

/* Opens this process image's own file: PID-SEQ.events, the first SEQ not taken (exec keeps the pid). */
static void open_log(void) {
  const char *dir = getenv("HEAPKIT_RECORD_DIR");
  log_fd = -1;
  window = NULL;
  if (dir == NULL) return;
  const char *limit = getenv("HEAPKIT_RECORD_MAX_EVENTS");
  max_events = limit == NULL ? 0 : strtoull(limit, NULL, 10);
  char path[4096];
  for (int seq = 0; seq < 1000 && log_fd < 0; seq++) {
    if (snprintf(path, sizeof path, "%s/%d-%d.events", dir, (int)getpid(), seq) >= (int)sizeof path) return;
    log_fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (log_fd < 0 && errno != EEXIST) return;
  }
  if (log_fd < 0) return;
  int high = fcntl(log_fd, F_DUPFD_CLOEXEC, HIGH_FD); /* out of the way of programs that manage low fds */
  if (high >= 0) {
    close(log_fd);
    log_fd = high;
  }
  file_bytes = HEADER_BYTES;
  next_offset = HEADER_BYTES;
  write_header();
  if (log_fd >= 0 && map_window() != 0) {
    close(log_fd);
    log_fd = -1;
  }
}

static void append(uint32_t kind, const void *result, uint64_t argument, uint64_t size) {
  if (log_fd < 0) return;
  if (max_events != 0 && (next_offset - HEADER_BYTES) / sizeof(struct event) >= max_events) return;
  if (thread_number == 0) thread_number = ++thread_count;
  if (next_offset >= window_start + WINDOW_BYTES && map_window() != 0) {
    close(log_fd);
    log_fd = -1;
    return;
  }
  struct event *e = (struct event *)(window + (next_offset - window_start));
  e->result = (uint64_t)(uintptr_t)result;
  e->argument = argument;
  e->size = size;
  e->thread = thread_number;
  e->kind = kind; /* written last: a reader stops at the first kind 0 */
  next_offset += sizeof(struct event);
}

/* Before fork: no thread may hold the lock in the child. After: the child logs to a file of its own. */
static void before_fork(void) { pthread_mutex_lock(&lock); }
static void after_fork_parent(void) { pthread_mutex_unlock(&lock); }
static void after_fork_child(void) {
  if (window != NULL) munmap(window, WINDOW_BYTES);
  if (log_fd >= 0) close(log_fd);
  thread_count = 0;
  thread_number = 0;
  open_log();
  pthread_mutex_unlock(&lock);
}

__attribute__((constructor)) static void start_recording(void) {
  in_hook = 1;
  resolve();
  pthread_mutex_lock(&lock);
  if (log_fd < 0 && window == NULL) open_log();
  pthread_mutex_unlock(&lock);
  pthread_atfork(before_fork, after_fork_parent, after_fork_child);
  in_hook = 0;
}

/* True once the real functions are known; before that (inside dlsym) callers use the bootstrap arena. */
static int ready(void) {
  if (real_free == NULL) resolve();
  return real_free != NULL;
}

/*
 * Every entry point: early calls use the bootstrap arena, nested ones go straight through, the
 * rest run under the lock with their event.
 */
void *malloc(size_t size) {
  if (!ready()) return bootstrap_alloc(size);
  if (in_hook) return real_malloc(size);
  in_hook = 1;
  pthread_mutex_lock(&lock);
  void *p = real_malloc(size);
  append(EVENT_MALLOC, p, 0, size);
  pthread_mutex_unlock(&lock);
  in_hook = 0;
  return p;
}

void *calloc(size_t count, size_t size) {
  size_t total;
  if (__builtin_mul_overflow(count, size, &total)) total = SIZE_MAX;
  if (!ready()) return total == SIZE_MAX ? NULL : bootstrap_alloc(total);
  if (in_hook) return real_calloc(count, size);
  in_hook = 1;
  pthread_mutex_lock(&lock);
  void *p = real_calloc(count, size);
  append(EVENT_CALLOC, p, 0, total);
  pthread_mutex_unlock(&lock);
  in_hook = 0;
  return p;
}

void free(void *p) {
  if (from_bootstrap(p) || !ready()) return;
  if (in_hook) {
    real_free(p);
    return;
  }
  in_hook = 1;
  pthread_mutex_lock(&lock);
  append(EVENT_FREE, NULL, (uint64_t)(uintptr_t)p, 0); /* before the block can go to another thread */
  real_free(p);
  pthread_mutex_unlock(&lock);
  in_hook = 0;
}

/* A bootstrap block moves to the real heap; its size is not kept, so copy what can be: up to the arena's end. */
static void *realloc_from_bootstrap(void *p, size_t size) {
  void *q = malloc(size);
  if (q == NULL) return NULL;
  size_t room = (size_t)(bootstrap + BOOTSTRAP_BYTES - (char *)p);
  memcpy(q, p, size < room ? size : room);
  return q;
}

void *realloc(void *p, size_t size) {
  if (from_bootstrap(p)) return realloc_from_bootstrap(p, size);
  if (!ready()) return p == NULL ? bootstrap_alloc(size) : NULL;
  if (in_hook) return real_realloc(p, size);
  in_hook = 1;
  pthread_mutex_lock(&lock);
  void *q = real_realloc(p, size);
  append(EVENT_REALLOC, q, (uint64_t)(uintptr_t)p, size);
  pthread_mutex_unlock(&lock);
  in_hook = 0;
  return q;
}

void *reallocarray(void *p, size_t count, size_t size) {
  size_t total;
  if (__builtin_mul_overflow(count, size, &total)) {
    errno = ENOMEM;
    return NULL;
  }
  return realloc(p, total);
}

/* The aligned family: one event kind, the alignment as its argument. */
static void *aligned_call(int which, size_t alignment, size_t size) {
  switch (which) {
    case 0: return real_memalign(alignment, size);
    case 1: return real_aligned_alloc(alignment, size);
    case 2: return real_valloc(size);
    default: return real_pvalloc(size);
  }
}

static void *logged_aligned(int which, size_t alignment, size_t size) {
  if (!ready()) return NULL;
  if (in_hook) return aligned_call(which, alignment, size);
  in_hook = 1;
  pthread_mutex_lock(&lock);
  void *p = aligned_call(which, alignment, size);
  append(EVENT_ALIGNED, p, alignment, size);
  pthread_mutex_unlock(&lock);
  in_hook = 0;
  return p;
}

void *memalign(size_t alignment, size_t size) { return logged_aligned(0, alignment, size); }
void *aligned_alloc(size_t alignment, size_t size) { return logged_aligned(1, alignment, size); }
void *valloc(size_t size) { return logged_aligned(2, 4096, size); }
void *pvalloc(size_t size) { return logged_aligned(3, 4096, size); }

int posix_memalign(void **out, size_t alignment, size_t size) {
  if (!ready()) return ENOMEM;
  if (in_hook) return real_posix_memalign(out, alignment, size);
  in_hook = 1;
  pthread_mutex_lock(&lock);
  int rc = real_posix_memalign(out, alignment, size);
  append(EVENT_ALIGNED, rc == 0 ? *out : NULL, alignment, size);
  pthread_mutex_unlock(&lock);
  in_hook = 0;
  return rc;
}
