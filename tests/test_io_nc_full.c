/* io/netcdf on a full disk: every NetCDF writer (model, gather, history,
 * snapshots, fields, state) fails with PSFWI_EIO and "No space left on
 * device", leaves neither the file nor a temporary, and the process exits
 * cleanly afterwards (each writer runs in a forked child whose exit status
 * is checked: HDF5 used to crash in its exit handler). Also `psfwi model
 * synth` on the full disk. Needs root to mount a 16 KiB tmpfs in the test
 * folder; skipped (with a message) otherwise. */
#define _DEFAULT_SOURCE
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "psfwi_io.h"
#include "testutil.h"

static char mnt[4096];
static int mounted;
static const char *self; /* this program, re-run as a writer child */

static int setup(void **state) {
  (void)state;
  if (geteuid() != 0) {
    fprintf(stderr, "test_io_nc_full: not root, cannot mount a tiny tmpfs: skipped\n");
    return 0;
  }
  snprintf(mnt, sizeof mnt, "%s", tu_path("full"));
  if (tu_system("mkdir -p '%s' && mount -t tmpfs -o size=16k tmpfs '%s' 2>/dev/null", mnt, mnt) !=
      0) {
    fprintf(stderr, "test_io_nc_full: mount -t tmpfs failed: skipped\n");
    return 0;
  }
  mounted = 1;
  return 0;
}

static int teardown(void **state) {
  (void)state;
  if (mounted) tu_system("umount '%s'", mnt);
  mounted = 0;
  return 0;
}

/* Incompressible values, so that deflate cannot make them fit. */
static float noise(size_t i) {
  unsigned x = (unsigned)(i * 2654435761u) ^ 0x5bd1e995u;
  x ^= x >> 13;
  x *= 0x85ebca6bu;
  x ^= x >> 16;
  return 1500.0f + (float)(x % 100000u) / 37.0f;
}

enum writer { W_MODEL, W_GATHER, W_HISTORY, W_SNAPSHOTS, W_FIELDS, W_STATE, W_COUNT };
static const char *const wname[W_COUNT] = {"model",     "gather", "history",
                                           "snapshots", "fields", "state"};

/* In the child: run one writer into the full folder; 0 if it failed as it
 * should, else a small code saying what was wrong. */
static int run_writer(enum writer w, const char *path) {
  psfwi_error e = {0};
  psfwi_grid g = {.nx = 150, .nz = 120, .dx = 10, .dz = 10};
  psfwi_model *m = psfwi_model_create(&g, &e);
  if (m == NULL) return 10;
  for (size_t i = 0; i < 150 * 120; i++) m->vp[i] = noise(i);
  int st = PSFWI_OK;
  if (w == W_MODEL) {
    st = psfwi_nc_write_model(path, m, NULL, &e);
  } else if (w == W_GATHER) {
    psfwi_survey *s = psfwi_survey_create_line(10.0, 20.0, 2, 5.0, 0.0, 10.0, 20, 2.5, 1, &e);
    psfwi_gather *ga = s ? psfwi_gather_create(s, 500, 0.002, &e) : NULL;
    if (ga == NULL) return 11;
    for (size_t i = 0; i < 2 * 20 * 500; i++) ga->data[i] = noise(i);
    st = psfwi_nc_write_gather(path, ga, NULL, &e);
    psfwi_gather_destroy(ga);
    psfwi_survey_destroy(s);
  } else if (w == W_HISTORY || w == W_SNAPSHOTS) {
    static const char *const names[] = {"objective"};
    psfwi_history *h = w == W_HISTORY ? psfwi_history_create(path, &g, 1, names, NULL, NULL, &e)
                                      : psfwi_snapshots_create(path, &g, NULL, &e);
    if (h == NULL) {
      st = e.status;
    } else {
      for (int k = 0; k < 3 && st == PSFWI_OK; k++) {
        const double t = k;
        m->vp[0] = (float)k;
        st = psfwi_history_append(h, m, &t, &e);
      }
      const int cst = psfwi_history_close(h, st == PSFWI_OK, st == PSFWI_OK ? &e : NULL);
      if (st == PSFWI_OK) st = cst;
    }
  } else if (w == W_FIELDS) {
    double *f = malloc(150 * 120 * sizeof *f);
    for (size_t i = 0; i < 150 * 120; i++) f[i] = noise(i);
    psfwi_nc_field fld = {"gradient", "1", "a gradient", f};
    st = psfwi_nc_write_fields(path, &g, 1, &fld, 0, NULL, NULL, &e);
    free(f);
  } else {
    psfwi_state_item it = {"vp", PSFWI_STATE_F32, 150 * 120, m->vp};
    st = psfwi_state_write(path, "unit", &it, 1, NULL, &e);
  }
  psfwi_model_destroy(m);
  if (st != PSFWI_EIO) {
    fprintf(stderr, "%s: status %d (%s)\n", wname[w], st, e.msg);
    return 1;
  }
  if (strstr(e.msg, "No space left on device") == NULL || strstr(e.msg, path) == NULL) {
    fprintf(stderr, "%s: message lacks the cause or the file: %s\n", wname[w], e.msg);
    return 2;
  }
  return 0;
}

static void test_writers_on_full_disk(void **state) {
  (void)state;
  if (!mounted) skip();
  for (int w = 0; w < W_COUNT; w++) {
    char path[4200];
    snprintf(path, sizeof path, "%s/%s.nc", mnt, wname[w]);
    fflush(NULL);
    const pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) { /* a fresh program: no test folder of its own to clean up at exit */
      char wnum[16];
      snprintf(wnum, sizeof wnum, "%d", w);
      execl(self, self, "--writer", wnum, path, (char *)NULL);
      _exit(127);
    }
    int wst = 0;
    assert_int_equal(waitpid(pid, &wst, 0), pid);
    if (!WIFEXITED(wst)) fail_msg("%s writer: child killed by signal %d", wname[w], WTERMSIG(wst));
    if (WEXITSTATUS(wst) == 127) fail_msg("cannot run '%s' as a writer", self);
    if (WEXITSTATUS(wst) != 0) fail_msg("%s writer: check %d failed", wname[w], WEXITSTATUS(wst));
    /* Neither the file nor a temporary is left. */
    if (tu_system("[ -z \"$(ls -A '%s')\" ]", mnt) != 0) {
      tu_system("ls -la '%s' >&2", mnt);
      fail_msg("%s writer left files behind", wname[w]);
    }
  }
}

static void test_cli_model_synth_on_full_disk(void **state) {
  (void)state;
  if (!mounted) skip();
  const char *errf = tu_path("synth.err");
  const int st = tu_system(
      "'%s' model synth --family salt --nx 600 --nz 600 --dx 10 --seed 3 "
      "-o '%s/m.nc' >/dev/null 2>'%s'",
      PSFWI_CLI, mnt, errf);
  assert_int_equal(st, 1);
  assert_int_equal(tu_system("grep -q 'No space left on device' '%s'", errf), 0);
  assert_int_equal(tu_system("[ -z \"$(ls -A '%s')\" ]", mnt), 0);
}

int main(int argc, char **argv) {
  self = argv[0];
  /* Child mode: run one writer and return through exit(), so that HDF5's
   * exit handler runs (it crashed there before). */
  if (argc == 4 && strcmp(argv[1], "--writer") == 0)
    return run_writer((enum writer)atoi(argv[2]), argv[3]);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_writers_on_full_disk),
      cmocka_unit_test(test_cli_model_synth_on_full_disk),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
