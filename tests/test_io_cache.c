/* io: the per-user, per-build cache of computed lines (src/io/cache.c):
 *  - lines appended are found by a scan, in a file named after the build
 *    id in $PSFWI_CACHE_DIR (its folders made), else $XDG_CACHE_HOME/psfwi,
 *    else $HOME/.cache/psfwi; PSFWI_CACHE_DIR empty means no cache;
 *  - a line without its newline, or too long, is not appended;
 *  - four processes appending at once leave only whole lines. */
#define _POSIX_C_SOURCE 200809L
#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "psfwi_io.h"
#include "testutil.h"

typedef struct find {
  const char *key;
  int lines, whole;
  char value[64];
} find;

/* "key value\n" lines: stops at key (returns 1); counts every line seen. */
static int match(const char *line, void *ctx) {
  find *f = ctx;
  f->lines++;
  char k[64], v[64];
  if (sscanf(line, "%63s %63s", k, v) == 2 && line[strlen(line) - 1] == '\n') f->whole++;
  if (f->key != NULL && strcmp(k, f->key) == 0) {
    strcpy(f->value, v);
    return 1;
  }
  return 0;
}

/* The one cache file under dir (a pattern relative to it), or "" */
static const char *one_file(const char *pattern) {
  static char path[1024];
  glob_t g;
  path[0] = '\0';
  if (glob(pattern, 0, NULL, &g) == 0) {
    assert_int_equal(g.gl_pathc, 1);
    snprintf(path, sizeof path, "%s", g.gl_pathv[0]);
    globfree(&g);
  }
  return path;
}

static void test_append_and_scan(void **state) {
  (void)state;
  char dir[512], pat[600];
  snprintf(dir, sizeof dir, "%s", tu_path("c/d"));
  setenv("PSFWI_CACHE_DIR", dir, 1);
  find f = {.key = "b"};
  assert_int_equal(psfwi_cache_scan("t", match, &f), 0); /* no file yet */
  psfwi_cache_append("t", "a 1\n");
  psfwi_cache_append("t", "b 2\n");
  psfwi_cache_append("t", "c 3"); /* no newline: refused */
  char longline[1100];
  memset(longline, 'x', sizeof longline - 2);
  longline[sizeof longline - 2] = '\n';
  longline[sizeof longline - 1] = '\0';
  psfwi_cache_append("t", longline); /* too long: refused */
  assert_int_equal(psfwi_cache_scan("t", match, &f), 1);
  assert_string_equal(f.value, "2");
  find all = {.key = NULL};
  assert_int_equal(psfwi_cache_scan("t", match, &all), 0);
  assert_int_equal(all.lines, 2);
  snprintf(pat, sizeof pat, "%s/t-*.txt", dir);
  const char *file = one_file(pat);
  printf("  %s\n", file);
  /* the build id: 40 hex digits for GNU ld's default sha1 */
  const char *id = strrchr(file, '-') + 1;
  assert_true(strspn(id, "0123456789abcdef") >= 16);
  /* empty PSFWI_CACHE_DIR: no cache at all */
  setenv("PSFWI_CACHE_DIR", "", 1);
  find g = {.key = "b"};
  assert_int_equal(psfwi_cache_scan("t", match, &g), 0);
  psfwi_cache_append("t2", "z 9\n");
  assert_int_equal(psfwi_cache_scan("t2", match, &g), 0);
}

static void test_fallback_folders(void **state) {
  (void)state;
  char xdg[512], home[512], pat[600];
  snprintf(xdg, sizeof xdg, "%s", tu_path("xdg"));
  snprintf(home, sizeof home, "%s", tu_path("home"));
  unsetenv("PSFWI_CACHE_DIR");
  setenv("XDG_CACHE_HOME", xdg, 1);
  psfwi_cache_append("u", "k 1\n");
  snprintf(pat, sizeof pat, "%s/psfwi/u-*.txt", xdg);
  assert_true(one_file(pat)[0] != '\0');
  unsetenv("XDG_CACHE_HOME");
  setenv("HOME", home, 1);
  psfwi_cache_append("u", "k 2\n");
  snprintf(pat, sizeof pat, "%s/.cache/psfwi/u-*.txt", home);
  assert_true(one_file(pat)[0] != '\0');
  find f = {.key = "k"};
  assert_int_equal(psfwi_cache_scan("u", match, &f), 1);
  assert_string_equal(f.value, "2"); /* HOME's file, not XDG's */
}

static void test_concurrent_appends(void **state) {
  (void)state;
  setenv("PSFWI_CACHE_DIR", tu_path("conc"), 1);
  enum { NP = 4, NL = 200 };
  for (int p = 0; p < NP; p++) {
    const pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
      char line[128];
      for (int i = 0; i < NL; i++) {
        snprintf(line, sizeof line, "p%d_%03d %0100d\n", p, i, i);
        psfwi_cache_append("w", line);
      }
      _exit(0);
    }
  }
  for (int p = 0; p < NP; p++) {
    int st = 0;
    assert_true(wait(&st) > 0);
    assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
  }
  find all = {.key = NULL};
  psfwi_cache_scan("w", match, &all);
  assert_int_equal(all.lines, NP * NL);
  assert_int_equal(all.whole, NP * NL);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_append_and_scan),
      cmocka_unit_test(test_fallback_folders),
      cmocka_unit_test(test_concurrent_appends),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
