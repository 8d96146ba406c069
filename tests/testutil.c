#define _POSIX_C_SOURCE 200809L
#include "testutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "psfwi_io.h"

static char tmpdir[256];

static void cleanup(void) {
  if (tmpdir[0] != '\0' && getenv("PSFWI_KEEP_TMP") == NULL) {
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", tmpdir);
  }
}

const char *tu_tmpdir(void) {
  if (tmpdir[0] == '\0') {
    snprintf(tmpdir, sizeof tmpdir, "%s/psfwi_test_XXXXXX",
             getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    if (mkdtemp(tmpdir) == NULL) {
      perror("mkdtemp");
      abort();
    }
    atexit(cleanup);
  }
  return tmpdir;
}

const char *tu_path(const char *name) {
  static char ring[8][512];
  static int k = 0;
  k = (k + 1) % 8;
  snprintf(ring[k], sizeof ring[k], "%s/%s", tu_tmpdir(), name);
  return ring[k];
}

int tu_exists(const char *path) {
  struct stat st;
  return stat(path, &st) == 0;
}

const char *tu_shared(const char *rel) {
  static char ring[4][1024];
  static int k = 0;
  k = (k + 1) % 4;
  snprintf(ring[k], sizeof ring[k], "%s/%s", PSFWI_SHARED_DATA, rel);
  if (!tu_exists(ring[k])) {
    fprintf(stderr, "SKIP: %s is absent (../shared/data not beside the checkout)\n", ring[k]);
    return NULL;
  }
  return ring[k];
}

void tu_write_file(const char *path, const void *data, size_t len) {
  FILE *f = fopen(path, "wb");
  assert_non_null(f);
  assert_int_equal(fwrite(data, 1, len, f), len);
  assert_int_equal(fclose(f), 0);
}

int tu_system(const char *fmt, ...) {
  char cmd[4096];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(cmd, sizeof cmd, fmt, ap);
  va_end(ap);
  int st = system(cmd);
  if (st == -1 || !WIFEXITED(st)) return -1;
  return WEXITSTATUS(st);
}

double tu_rel_l2(const float *a, const float *b, size_t n) {
  double num = 0.0, den = 0.0;
  for (size_t i = 0; i < n; i++) {
    const double d = (double)a[i] - (double)b[i];
    num += d * d;
    den += (double)b[i] * (double)b[i];
  }
  return den > 0.0 ? sqrt(num / den) : sqrt(num);
}

double tu_uniform(unsigned long long *state) {
  unsigned long long x = *state;
  x ^= x >> 12;
  x ^= x << 25;
  x ^= x >> 27;
  *state = x;
  return (double)((x * 2685821657736338717ULL) >> 11) / 9007199254740992.0;
}

double tu_urand(unsigned long long *state) { return tu_uniform(state) * 2.0 - 1.0; }

void tu_state_f64(const char *path, const char *kind, const char *name, double *out, size_t n) {
  psfwi_error e;
  psfwi_state_item *it;
  size_t nit;
  if (psfwi_state_read(path, kind, &it, &nit, &e) != PSFWI_OK) fail_msg("%s", e.msg);
  int found = 0;
  for (size_t i = 0; i < nit; i++)
    if (strcmp(it[i].name, name) == 0 && it[i].type == PSFWI_STATE_F64 && it[i].n == n) {
      memcpy(out, it[i].data, n * sizeof *out);
      found = 1;
    }
  psfwi_state_free(it, nit);
  if (!found) fail_msg("'%s': no double item '%s' of %zu values", path, name, n);
}

/* One-sided Jacobi: the columns of the nz x nx matrix (or of its transpose,
 * whichever has fewer) are orthogonalised by plane rotations; their norms
 * are the singular values. */
void tu_singular_values(size_t nx, size_t nz, const double *r, double *s) {
  const int tr = nx > nz; /* columns = the shorter side's count */
  const size_t nc = tr ? nz : nx, len = tr ? nx : nz;
  double *a = malloc(nc * len * sizeof(double));
  for (size_t c = 0; c < nc; c++)
    for (size_t l = 0; l < len; l++) a[c * len + l] = tr ? r[c * nx + l] : r[l * nx + c];
  for (int sweep = 0; sweep < 60; sweep++) {
    double off = 0.0;
    for (size_t i = 0; i < nc; i++)
      for (size_t j = i + 1; j < nc; j++) {
        double al = 0.0, be = 0.0, ga = 0.0;
        for (size_t l = 0; l < len; l++) {
          al += a[i * len + l] * a[i * len + l];
          be += a[j * len + l] * a[j * len + l];
          ga += a[i * len + l] * a[j * len + l];
        }
        if (ga == 0.0) continue;
        off = fmax(off, fabs(ga) / sqrt(al * be));
        const double ze = (be - al) / (2.0 * ga);
        const double t = (ze >= 0.0 ? 1.0 : -1.0) / (fabs(ze) + sqrt(1.0 + ze * ze));
        const double c = 1.0 / sqrt(1.0 + t * t), sn = c * t;
        for (size_t l = 0; l < len; l++) {
          const double ai = a[i * len + l], aj = a[j * len + l];
          a[i * len + l] = c * ai - sn * aj;
          a[j * len + l] = sn * ai + c * aj;
        }
      }
    if (off < 1e-15) break;
  }
  for (size_t c = 0; c < nc; c++) {
    double q = 0.0;
    for (size_t l = 0; l < len; l++) q += a[c * len + l] * a[c * len + l];
    s[c] = sqrt(q);
  }
  free(a);
}
