/* Regression replay of a fuzz target without libFuzzer (any compiler): feed
 * every file under PSFWI_FUZZ_DIR/corpus/<target>/ and
 * PSFWI_FUZZ_DIR/regressions/<target>/ (or the files and folders given as
 * arguments) to LLVMFuzzerTestOneInput, one at a time. A crash or sanitizer
 * report fails the test; a missing folder is not an error, an empty run is.
 * tests/fuzz/pending/ (reproducers of defects not fixed yet) is not read.
 * Time-outs and memory blow-ups fail too, with limits looser than the
 * campaign's (1 s, 1 GB under libFuzzer) since this also runs in slow
 * sanitizer builds: an input taking more than PSFWI_FUZZ_REPLAY_SECONDS
 * (default 10) seconds, or a peak RSS above PSFWI_FUZZ_REPLAY_RSS_MB
 * (default 1024) MB.
 * Usage: fuzz_replay_<target> [FILE|DIR ...] */
#define _POSIX_C_SOURCE 200809L
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>

#ifndef PSFWI_FUZZ_DIR
#error "PSFWI_FUZZ_DIR must name tests/fuzz"
#endif
#ifndef PSFWI_FUZZ_TARGET
#error "PSFWI_FUZZ_TARGET must name the target"
#endif

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static size_t nrun = 0;
static double max_seconds = 10.0;

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static double env_limit(const char *name, double def) {
  const char *v = getenv(name);
  if (v == NULL || v[0] == '\0') return def;
  char *end;
  double x = strtod(v, &end);
  return (end != v && x > 0) ? x : def;
}

static int run_file(const char *path) {
  FILE *f = fopen(path, "rb");
  if (f == NULL) {
    perror(path);
    return 1;
  }
  size_t cap = 4096, n = 0;
  uint8_t *buf = malloc(cap);
  if (buf == NULL) abort();
  for (;;) {
    if (n == cap) {
      cap *= 2;
      uint8_t *nb = realloc(buf, cap);
      if (nb == NULL) abort();
      buf = nb;
    }
    size_t got = fread(buf + n, 1, cap - n, f);
    if (got == 0) break;
    n += got;
  }
  int bad = ferror(f);
  fclose(f);
  if (bad) {
    fprintf(stderr, "%s: read error\n", path);
    free(buf);
    return 1;
  }
  printf("replay %s (%zu bytes)\n", path, n);
  fflush(stdout);
  /* libFuzzer passes a buffer of exactly size bytes: copy so that ASan
   * catches reads past the end. */
  uint8_t *exact = malloc(n ? n : 1);
  if (exact == NULL) abort();
  if (n) memcpy(exact, buf, n);
  free(buf);
  const double t0 = now();
  LLVMFuzzerTestOneInput(exact, n);
  const double dt = now() - t0;
  free(exact);
  nrun++;
  if (dt > max_seconds) {
    fprintf(stderr, "%s: took %.1f s (limit %.0f s, PSFWI_FUZZ_REPLAY_SECONDS)\n", path, dt,
            max_seconds);
    return 1;
  }
  return 0;
}

static int cmp_str(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Every regular file in dir (sorted, not recursive); a missing dir is fine. */
static int run_dir(const char *dir, int must_exist) {
  DIR *d = opendir(dir);
  if (d == NULL) {
    if (must_exist) {
      perror(dir);
      return 1;
    }
    return 0;
  }
  char **names = NULL;
  size_t n = 0, cap = 0;
  struct dirent *e;
  while ((e = readdir(d)) != NULL) {
    if (e->d_name[0] == '.') continue;
    if (n == cap) {
      cap = cap ? 2 * cap : 64;
      char **nn = realloc(names, cap * sizeof *names);
      if (nn == NULL) abort();
      names = nn;
    }
    names[n++] = strdup(e->d_name);
  }
  closedir(d);
  if (n) qsort(names, n, sizeof *names, cmp_str);
  int rc = 0;
  for (size_t i = 0; i < n; i++) {
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, names[i]);
    struct stat st;
    if (stat(path, &st) == 0 && S_ISREG(st.st_mode)) rc |= run_file(path);
    free(names[i]);
  }
  free(names);
  return rc;
}

int main(int argc, char **argv) {
  int rc = 0;
  max_seconds = env_limit("PSFWI_FUZZ_REPLAY_SECONDS", 10.0);
  const double max_rss_mb = env_limit("PSFWI_FUZZ_REPLAY_RSS_MB", 1024.0);
  if (argc > 1) {
    for (int i = 1; i < argc; i++) {
      struct stat st;
      if (stat(argv[i], &st) == 0 && S_ISDIR(st.st_mode))
        rc |= run_dir(argv[i], 1);
      else
        rc |= run_file(argv[i]);
    }
  } else {
    rc |= run_dir(PSFWI_FUZZ_DIR "/corpus/" PSFWI_FUZZ_TARGET, 0);
    rc |= run_dir(PSFWI_FUZZ_DIR "/regressions/" PSFWI_FUZZ_TARGET, 0);
  }
  struct rusage ru;
  const double rss_mb = getrusage(RUSAGE_SELF, &ru) == 0 ? (double)ru.ru_maxrss / 1024.0 : 0.0;
  printf("fuzz_replay_%s: %zu inputs, peak RSS %.0f MB\n", PSFWI_FUZZ_TARGET, nrun, rss_mb);
  if (rss_mb > max_rss_mb) {
    fprintf(stderr, "fuzz_replay_%s: peak RSS %.0f MB (limit %.0f MB, PSFWI_FUZZ_REPLAY_RSS_MB)\n",
            PSFWI_FUZZ_TARGET, rss_mb, max_rss_mb);
    rc = 1;
  }
  if (nrun == 0) {
    fprintf(stderr, "fuzz_replay_%s: no inputs found\n", PSFWI_FUZZ_TARGET);
    return 1;
  }
  return rc;
}
