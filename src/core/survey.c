#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "psfwi_core.h"

psfwi_survey *psfwi_survey_create(size_t nshot, size_t nrec, psfwi_error *err) {
  if (nshot < 1 || nrec < 1) {
    psfwi_fail(err, PSFWI_ERANGE, "survey with %zu shots and %zu receivers; expected >= 1 of each",
               nshot, nrec);
    return NULL;
  }
  psfwi_survey *s = calloc(1, sizeof *s);
  if (s == NULL) goto fail;
  s->nshot = nshot;
  s->nrec = nrec;
  s->sx = calloc(nshot, sizeof *s->sx);
  s->sz = calloc(nshot, sizeof *s->sz);
  s->rx = calloc(nshot * nrec, sizeof *s->rx);
  s->rz = calloc(nshot * nrec, sizeof *s->rz);
  if (!s->sx || !s->sz || !s->rx || !s->rz) goto fail;
  return s;
fail:
  psfwi_survey_destroy(s);
  psfwi_fail(err, PSFWI_ENOMEM, "cannot allocate a survey of %zu shots x %zu receivers", nshot,
             nrec);
  return NULL;
}

void psfwi_survey_destroy(psfwi_survey *s) {
  if (s == NULL) return;
  free(s->sx);
  free(s->sz);
  free(s->rx);
  free(s->rz);
  free(s);
}

psfwi_survey *psfwi_survey_create_line(double sx0, double dsx, size_t nshot, double sz, double rx0,
                                       double drx, size_t nrec, double rz, int moving,
                                       psfwi_error *err) {
  psfwi_survey *s = psfwi_survey_create(nshot, nrec, err);
  if (s == NULL) return NULL;
  for (size_t is = 0; is < nshot; is++) {
    s->sx[is] = sx0 + (double)is * dsx;
    s->sz[is] = sz;
    const double shift = moving ? (double)is * dsx : 0.0;
    for (size_t ir = 0; ir < nrec; ir++) {
      s->rx[is * nrec + ir] = rx0 + (double)ir * drx + shift;
      s->rz[is * nrec + ir] = rz;
    }
  }
  return s;
}

int psfwi_grid_inside(const psfwi_grid *g, double x, double z) {
  const double x1 = g->x0 + (double)(g->nx - 1) * g->dx;
  const double z1 = g->z0 + (double)(g->nz - 1) * g->dz;
  const double tol = 1e-9 * (g->dx + g->dz);
  return isfinite(x) && isfinite(z) && x >= g->x0 - tol && x <= x1 + tol && z >= g->z0 - tol &&
         z <= z1 + tol;
}

int psfwi_survey_check(const psfwi_survey *s, const psfwi_grid *g, psfwi_error *err) {
  const double x1 = g->x0 + (double)(g->nx - 1) * g->dx;
  const double z1 = g->z0 + (double)(g->nz - 1) * g->dz;
  for (size_t is = 0; is < s->nshot; is++) {
    if (!psfwi_grid_inside(g, s->sx[is], s->sz[is]))
      return psfwi_fail(err, PSFWI_ERANGE,
                        "source %zu at (x = %g m, z = %g m) is outside the model "
                        "(x in [%g, %g] m, z in [%g, %g] m)",
                        is, s->sx[is], s->sz[is], g->x0, x1, g->z0, z1);
    for (size_t ir = 0; ir < s->nrec; ir++) {
      const size_t k = is * s->nrec + ir;
      if (!psfwi_grid_inside(g, s->rx[k], s->rz[k]))
        return psfwi_fail(err, PSFWI_ERANGE,
                          "receiver %zu of shot %zu at (x = %g m, z = %g m) is outside the "
                          "model (x in [%g, %g] m, z in [%g, %g] m)",
                          ir, is, s->rx[k], s->rz[k], g->x0, x1, g->z0, z1);
    }
  }
  return PSFWI_OK;
}

int psfwi_ricker(double f_peak, double delay, double dt, size_t nt, float *w, psfwi_error *err) {
  if (!(f_peak > 0.0) || !isfinite(f_peak))
    return psfwi_fail(err, PSFWI_ERANGE, "Ricker peak frequency %g Hz; expected > 0", f_peak);
  if (!(dt > 0.0) || !isfinite(dt))
    return psfwi_fail(err, PSFWI_ERANGE, "wavelet sample interval %g s; expected > 0", dt);
  if (!isfinite(delay)) return psfwi_fail(err, PSFWI_ENONFINITE, "Ricker delay is not finite");
  const double pi = 3.14159265358979323846;
  for (size_t i = 0; i < nt; i++) {
    const double t = (double)i * dt - delay;
    const double a = (pi * f_peak * t) * (pi * f_peak * t);
    w[i] = (float)((1.0 - 2.0 * a) * exp(-a));
  }
  return PSFWI_OK;
}

static int parse_double(const char *s, char **end, double *out) {
  errno = 0;
  *out = strtod(s, end);
  return errno == 0 && *end != s && isfinite(*out);
}

int psfwi_parse_range(const char *text, double *first, double *step, size_t *count,
                      psfwi_error *err) {
  const char *p = text;
  char *end;
  double a, b, c;
  if (!parse_double(p, &end, &a) || *end != ':') goto bad;
  p = end + 1;
  if (!parse_double(p, &end, &b) || *end != ':') goto bad;
  p = end + 1;
  if (!parse_double(p, &end, &c) || *end != '\0') goto bad;
  if (c < 1.0 || c != floor(c) || c > 1e9)
    return psfwi_fail(err, PSFWI_ERANGE, "'%s': count %g must be a positive integer", text, c);
  *first = a;
  *step = b;
  *count = (size_t)c;
  return PSFWI_OK;
bad:
  return psfwi_fail(err, PSFWI_EINVAL,
                    "'%s' is not a range; expected first:step:count, e.g. 100:20:50", text);
}

psfwi_survey *psfwi_survey_subset(const psfwi_survey *s, size_t first, size_t count,
                                  psfwi_error *err) {
  if (count == 0 || first > s->nshot || count > s->nshot - first) {
    psfwi_fail(err, PSFWI_ERANGE,
               "survey subset: %zu shots from shot %zu of a survey of %zu shots; expected "
               "count >= 1 and first + count <= %zu",
               count, first, s->nshot, s->nshot);
    return NULL;
  }
  psfwi_survey *t = psfwi_survey_create(count, s->nrec, err);
  if (t == NULL) return NULL;
  memcpy(t->sx, s->sx + first, count * sizeof *t->sx);
  memcpy(t->sz, s->sz + first, count * sizeof *t->sz);
  memcpy(t->rx, s->rx + first * s->nrec, count * s->nrec * sizeof *t->rx);
  memcpy(t->rz, s->rz + first * s->nrec, count * s->nrec * sizeof *t->rz);
  return t;
}
