#define _POSIX_C_SOURCE 200809L /* clock_gettime */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "psfwi_core.h"

int psfwi_grid_check(const psfwi_grid *g, const char *what, psfwi_error *err) {
  if (what == NULL) what = "grid";
  if (g->nx < 1 || g->nz < 1)
    return psfwi_fail(err, PSFWI_ERANGE, "%s: grid has %zu x %zu points; expected nx, nz >= 1",
                      what, g->nx, g->nz);
  if (g->nx > SIZE_MAX / sizeof(float) / g->nz)
    return psfwi_fail(err, PSFWI_ERANGE, "%s: grid of %zu x %zu points is too large", what, g->nx,
                      g->nz);
  if (!isfinite(g->dx) || !isfinite(g->dz) || g->dx <= 0.0 || g->dz <= 0.0)
    return psfwi_fail(err, PSFWI_ERANGE,
                      "%s: grid spacing dx = %g m, dz = %g m; expected finite values > 0", what,
                      g->dx, g->dz);
  if (!isfinite(g->x0) || !isfinite(g->z0))
    return psfwi_fail(err, PSFWI_ENONFINITE, "%s: grid origin (%g, %g) m is not finite", what,
                      g->x0, g->z0);
  return PSFWI_OK;
}

size_t psfwi_grid_size(const psfwi_grid *g) { return g->nx * g->nz; }

psfwi_model *psfwi_model_create(const psfwi_grid *g, psfwi_error *err) {
  if (psfwi_grid_check(g, "model", err) != PSFWI_OK) return NULL;
  psfwi_model *m = malloc(sizeof *m);
  if (m == NULL) goto fail;
  m->grid = *g;
  m->vp = calloc(psfwi_grid_size(g), sizeof *m->vp);
  if (m->vp == NULL) goto fail;
  return m;
fail:
  free(m);
  psfwi_fail(err, PSFWI_ENOMEM, "cannot allocate a %zu x %zu model", g->nx, g->nz);
  return NULL;
}

psfwi_model *psfwi_model_copy(const psfwi_model *src, psfwi_error *err) {
  psfwi_model *m = psfwi_model_create(&src->grid, err);
  if (m != NULL) memcpy(m->vp, src->vp, psfwi_grid_size(&src->grid) * sizeof *m->vp);
  return m;
}

void psfwi_model_destroy(psfwi_model *m) {
  if (m == NULL) return;
  free(m->vp);
  free(m);
}

int psfwi_model_check(const psfwi_model *m, const char *what, psfwi_error *err) {
  if (what == NULL) what = "model";
  int st = psfwi_grid_check(&m->grid, what, err);
  if (st != PSFWI_OK) return st;
  const size_t nx = m->grid.nx, n = psfwi_grid_size(&m->grid);
  for (size_t i = 0; i < n; i++) {
    const float v = m->vp[i];
    if (!isfinite(v))
      return psfwi_fail(
          err, PSFWI_ENONFINITE,
          "%s: velocity at (ix = %zu, iz = %zu) is %g; expected a finite value in m/s", what,
          i % nx, i / nx, (double)v);
    if (v <= 0.0f)
      return psfwi_fail(err, PSFWI_ERANGE,
                        "%s: velocity at (ix = %zu, iz = %zu) is %g m/s; expected > 0", what,
                        i % nx, i / nx, (double)v);
  }
  return PSFWI_OK;
}

void psfwi_model_range(const psfwi_model *m, float *vmin, float *vmax) {
  const size_t n = psfwi_grid_size(&m->grid);
  float lo = m->vp[0], hi = m->vp[0];
  for (size_t i = 1; i < n; i++) {
    if (m->vp[i] < lo) lo = m->vp[i];
    if (m->vp[i] > hi) hi = m->vp[i];
  }
  if (vmin) *vmin = lo;
  if (vmax) *vmax = hi;
}

double psfwi_seconds(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

size_t psfwi_fft_size(size_t n) {
  for (size_t m = n < 2 ? 2 : n;; m++) {
    if (m % 2 != 0) continue;
    size_t r = m;
    while (r % 2 == 0) r /= 2;
    while (r % 3 == 0) r /= 3;
    while (r % 5 == 0) r /= 5;
    if (r == 1) return m;
  }
}
