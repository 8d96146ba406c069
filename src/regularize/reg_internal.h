/* Internal to src/regularize: the workspace's layout, the SVD helper and
 * argument checks shared by norms.c and prox.c (not installed). */
#ifndef PSFWI_REG_INTERNAL_H
#define PSFWI_REG_INTERNAL_H

#include <lapacke.h>
#include <math.h>

#include "psfwi_regularize.h"

/* The model r (nx * nz values, r[iz * nx + ix]) is, read column-major, the
 * nx x nz matrix A = M^T (leading dimension nx): A has M's singular values,
 * and an operator g(s) applied to them maps A to (g applied to M)^T in the
 * same memory, so no transposition is ever needed. dgesdd, jobz = 'S':
 * A = U diag(s) VT, U nx x r (ld nx), VT r x nz (ld r), r = min(nx, nz). */
struct psfwi_reg_ws {
  size_t nx, nz, r;
  double *a;  /* nx * nz, input of dgesdd (destroyed by it) */
  double *s;  /* r, decreasing */
  double *u;  /* nx * r */
  double *vt; /* r * nz */
  double *work;
  lapack_int lwork;
  lapack_int *iwork; /* 8 r */
  double *tv;        /* 7 nx nz: qx, qz, ox, oz, rx, rz, x */
  int tv_warm;       /* tv holds a dual field from a previous call */
};

/* SVD of ws->a (overwritten); vectors != 0 also fills u and vt. */
int reg_svd(psfwi_reg_ws *ws, int vectors, const char *who, psfwi_error *err);

static inline int reg_check_grid(const char *who, size_t nx, size_t nz, double dx, double dz,
                                 psfwi_error *err) {
  if (nx < 1 || nz < 1 || nx > ((size_t)-1) / nz)
    return psfwi_fail(err, PSFWI_ERANGE, "%s: grid nx = %zu, nz = %zu; expected >= 1 each", who, nx,
                      nz);
  if (!(dx > 0.0) || !(dz > 0.0) || !isfinite(dx) || !isfinite(dz))
    return psfwi_fail(err, PSFWI_ERANGE, "%s: spacing dx = %g, dz = %g m; expected finite, > 0",
                      who, dx, dz);
  return PSFWI_OK;
}

/* A finite value >= 0 (a weight, eps or t). */
static inline int reg_check_nonneg(const char *who, const char *name, double v, psfwi_error *err) {
  if (!(v >= 0.0) || !isfinite(v))
    return psfwi_fail(err, PSFWI_ERANGE, "%s: %s = %g; expected finite and >= 0", who, name, v);
  return PSFWI_OK;
}

/* Every value finite (float or double array; exactly one non-NULL unless
 * optional, when both may be NULL). */
static inline int reg_check_values(const char *who, const char *what, const float *af,
                                   const double *ad, size_t nx, size_t n, int optional,
                                   psfwi_error *err) {
  if (af == NULL && ad == NULL) {
    if (optional) return PSFWI_OK;
    return psfwi_fail(err, PSFWI_EINVAL, "%s: %s is NULL", who, what);
  }
  for (size_t i = 0; i < n; i++) {
    const double v = af ? (double)af[i] : ad[i];
    if (!isfinite(v))
      return psfwi_fail(err, PSFWI_ENONFINITE, "%s: %s = %g at ix = %zu, iz = %zu", who, what, v,
                        i % nx, i / nx);
  }
  return PSFWI_OK;
}

static inline int reg_check_ws(const char *who, const psfwi_reg_ws *ws, psfwi_error *err) {
  if (ws == NULL) return psfwi_fail(err, PSFWI_EINVAL, "%s: workspace is NULL", who);
  return PSFWI_OK;
}

/* phi(a) = sqrt(a^2 + eps^2) - eps without cancellation (|a| for eps = 0),
 * and phi'(a) = a / sqrt(a^2 + eps^2) (sign(a) for eps = 0). */
static inline double reg_phi(double a, double eps) {
  const double q = a * a;
  return q > 0.0 ? q / (sqrt(q + eps * eps) + eps) : 0.0;
}
static inline double reg_dphi(double a, double eps) {
  if (eps > 0.0) return a / sqrt(a * a + eps * eps);
  return a > 0.0 ? 1.0 : (a < 0.0 ? -1.0 : 0.0);
}

#endif
