/* Model norms with their gradients: L1, group l1,2, anisotropic TV, nuclear
 * and spectral k-support (value); the definitions are in psfwi_regularize.h
 * and docs/regularize.md. */
#include <math.h>
#include <string.h>

#include <cblas.h>

#include "psfwi_regularize.h"
#include "reg_internal.h"

static void add(double *grad, const unsigned char *mask, size_t i, double v) {
  if (mask == NULL || mask[i] == 0) grad[i] += v;
}

/* The checks every model norm starts with. */
static int check_common(const char *who, size_t nx, size_t nz, double dx, double dz, double lam,
                        double eps, const float *m, const float *m0, const double *value_ptr,
                        psfwi_error *err) {
  int st;
  if ((st = reg_check_grid(who, nx, nz, dx, dz, err)) ||
      (st = reg_check_nonneg(who, "weight lam", lam, err)) ||
      (st = reg_check_nonneg(who, "smoothing eps", eps, err)) ||
      (st = reg_check_values(who, "model", m, NULL, nx, nx * nz, 0, err)) ||
      (st = reg_check_values(who, "prior model", m0, NULL, nx, nx * nz, 1, err)))
    return st;
  if (value_ptr == NULL) return psfwi_fail(err, PSFWI_EINVAL, "%s: value pointer is NULL", who);
  return PSFWI_OK;
}

static double diff(const float *m, const float *m0, size_t i) {
  return m0 ? (double)m[i] - (double)m0[i] : (double)m[i];
}

int psfwi_reg_l1_model(size_t nx, size_t nz, double dx, double dz, double lam, double eps,
                       const float *m, const float *m0, const unsigned char *mask, double *value,
                       double *grad_accum, psfwi_error *err) {
  int st;
  if ((st = check_common("L1 penalty", nx, nz, dx, dz, lam, eps, m, m0, value, err))) return st;
  const double da = dx * dz;
  double sum = 0.0;
  for (size_t i = 0; i < nx * nz; i++) {
    const double r = diff(m, m0, i);
    sum += reg_phi(r, eps);
    if (grad_accum && lam > 0.0) add(grad_accum, mask, i, lam * da * reg_dphi(r, eps));
  }
  *value = lam * da * sum;
  return PSFWI_OK;
}

int psfwi_reg_group(size_t nx, size_t nz, double dx, double dz, int kind, double lam, double eps,
                    const float *m, const float *m0, const unsigned char *mask, double *value,
                    double *grad_accum, psfwi_error *err) {
  static const char who[] = "group l1,2 penalty";
  int st;
  if ((st = check_common(who, nx, nz, dx, dz, lam, eps, m, m0, value, err))) return st;
  if (kind != PSFWI_REG_GROUP_COLUMNS && kind != PSFWI_REG_GROUP_ROWS)
    return psfwi_fail(err, PSFWI_EINVAL, "%s: group kind %d; expected columns (0) or rows (1)", who,
                      kind);
  /* Columns: groups ix, members iz (stride nx), in-group spacing dz. */
  const int cols = kind == PSFWI_REG_GROUP_COLUMNS;
  const size_t ng = cols ? nx : nz, len = cols ? nz : nx;
  const size_t stride = cols ? nx : 1, gstep = cols ? 1 : nx;
  const double h_in = cols ? dz : dx, h_out = cols ? dx : dz;
  double sum = 0.0;
  for (size_t g = 0; g < ng; g++) {
    double q = 0.0;
    for (size_t j = 0; j < len; j++) {
      const double r = diff(m, m0, g * gstep + j * stride);
      q += r * r;
    }
    const double nrm = sqrt(h_in * q);
    sum += reg_phi(nrm, eps);
    if (grad_accum && lam > 0.0 && nrm > 0.0) {
      /* d phi(N) / dr = phi'(N) h_in r / N */
      const double k = lam * h_out * h_in * reg_dphi(nrm, eps) / nrm;
      for (size_t j = 0; j < len; j++) {
        const size_t i = g * gstep + j * stride;
        add(grad_accum, mask, i, k * diff(m, m0, i));
      }
    }
  }
  *value = lam * h_out * sum;
  return PSFWI_OK;
}

int psfwi_reg_tv_aniso(size_t nx, size_t nz, double dx, double dz, double lam, double eps,
                       const float *m, const unsigned char *mask, double *value, double *grad_accum,
                       psfwi_error *err) {
  int st;
  if ((st = check_common("anisotropic TV penalty", nx, nz, dx, dz, lam, eps, m, NULL, value, err)))
    return st;
  const double da = dx * dz;
  double sum = 0.0;
  for (size_t iz = 0; iz < nz; iz++)
    for (size_t ix = 0; ix < nx; ix++) {
      const size_t c = iz * nx + ix;
      if (ix + 1 < nx) {
        const double gx = ((double)m[c + 1] - (double)m[c]) / dx;
        sum += reg_phi(gx, eps);
        if (grad_accum && lam > 0.0) {
          const double k = lam * da * reg_dphi(gx, eps) / dx;
          add(grad_accum, mask, c + 1, k);
          add(grad_accum, mask, c, -k);
        }
      }
      if (iz + 1 < nz) {
        const double gz = ((double)m[c + nx] - (double)m[c]) / dz;
        sum += reg_phi(gz, eps);
        if (grad_accum && lam > 0.0) {
          const double k = lam * da * reg_dphi(gz, eps) / dz;
          add(grad_accum, mask, c + nx, k);
          add(grad_accum, mask, c, -k);
        }
      }
    }
  *value = lam * da * sum;
  return PSFWI_OK;
}

/* ws->a = m - m0 (after the checks of the caller). */
static void load(psfwi_reg_ws *ws, const float *m, const float *m0) {
  for (size_t i = 0; i < ws->nx * ws->nz; i++) ws->a[i] = diff(m, m0, i);
}

int psfwi_reg_nuclear(psfwi_reg_ws *ws, double dx, double dz, double lam, double eps,
                      const float *m, const float *m0, const unsigned char *mask, double *value,
                      double *grad_accum, psfwi_error *err) {
  static const char who[] = "nuclear-norm penalty";
  int st;
  if ((st = reg_check_ws(who, ws, err)) ||
      (st = check_common(who, ws->nx, ws->nz, dx, dz, lam, eps, m, m0, value, err)))
    return st;
  const int vectors = grad_accum != NULL && lam > 0.0;
  load(ws, m, m0);
  if ((st = reg_svd(ws, vectors, who, err))) return st;
  const double sa = sqrt(dx * dz);
  double sum = 0.0;
  for (size_t j = 0; j < ws->r; j++) sum += reg_phi(sa * ws->s[j], eps);
  *value = lam * sum;
  if (!vectors) return PSFWI_OK;
  /* gradient lam sqrt(dA) sum_j phi'(sqrt(dA) s_j) u_j v_j^T (phi' >= 0 here) */
  const size_t nx = ws->nx, nz = ws->nz, r = ws->r;
  for (size_t j = 0; j < r; j++) {
    const double w = lam * sa * reg_dphi(sa * ws->s[j], eps);
    for (size_t i = 0; i < nx; i++) ws->u[j * nx + i] *= w;
  }
  cblas_dgemm(CblasColMajor, CblasNoTrans, CblasNoTrans, (blasint)nx, (blasint)nz, (blasint)r, 1.0,
              ws->u, (blasint)nx, ws->vt, (blasint)r, 0.0, ws->a, (blasint)nx);
  for (size_t i = 0; i < nx * nz; i++) add(grad_accum, mask, i, ws->a[i]);
  return PSFWI_OK;
}

int psfwi_reg_ksupport(psfwi_reg_ws *ws, double dx, double dz, double lam, size_t k, const float *m,
                       const float *m0, const unsigned char *mask, double *value,
                       double *grad_accum, psfwi_error *err) {
  static const char who[] = "spectral k-support penalty";
  int st;
  if ((st = reg_check_ws(who, ws, err)) ||
      (st = check_common(who, ws->nx, ws->nz, dx, dz, lam, 0.0, m, m0, value, err)))
    return st;
  if (k < 1 || k > ws->r)
    return psfwi_fail(err, PSFWI_EINVAL, "%s: k = %zu; expected 1 <= k <= min(nx, nz) = %zu", who,
                      k, ws->r);
  const int vectors = grad_accum != NULL && lam > 0.0;
  load(ws, m, m0);
  if ((st = reg_svd(ws, vectors, who, err))) return st;
  const size_t nx = ws->nx, nz = ws->nz, r = ws->r;
  double gs[r > 0 ? r : 1];
  const double nk = psfwi_reg_ksupport_grad_vec(r, k, ws->s, vectors ? gs : NULL);
  *value = 0.5 * lam * dx * dz * nk * nk;
  if (!vectors) return PSFWI_OK;
  /* (dA / 2) ||s||_(k)^2 is an absolutely symmetric function of the singular
   * values; its gradient is U diag(dA g(s)) V^T (Lewis 1995) */
  for (size_t j = 0; j < r; j++) {
    const double w = lam * dx * dz * gs[j];
    for (size_t i = 0; i < nx; i++) ws->u[j * nx + i] *= w;
  }
  cblas_dgemm(CblasColMajor, CblasNoTrans, CblasNoTrans, (blasint)nx, (blasint)nz, (blasint)r, 1.0,
              ws->u, (blasint)nx, ws->vt, (blasint)r, 0.0, ws->a, (blasint)nx);
  for (size_t i = 0; i < nx * nz; i++) add(grad_accum, mask, i, ws->a[i]);
  return PSFWI_OK;
}
