/* Model penalties (Tikhonov, total variation, prior) and vector norms; the
 * definitions are in psfwi_regularize.h. */
#include <math.h>
#include <string.h>

#include "psfwi_regularize.h"
#include "reg_internal.h"

static int check_grid(const char *who, size_t nx, size_t nz, double dx, double dz,
                      psfwi_error *err) {
  if (nx < 1 || nz < 1 || nx > ((size_t)-1) / nz)
    return psfwi_fail(err, PSFWI_ERANGE, "%s: grid nx = %zu, nz = %zu; expected >= 1 each", who, nx,
                      nz);
  if (!(dx > 0.0) || !(dz > 0.0) || !isfinite(dx) || !isfinite(dz))
    return psfwi_fail(err, PSFWI_ERANGE, "%s: spacing dx = %g, dz = %g m; expected finite, > 0",
                      who, dx, dz);
  return PSFWI_OK;
}

static int check_weight(const char *who, const char *name, double lam, psfwi_error *err) {
  if (!(lam >= 0.0) || !isfinite(lam))
    return psfwi_fail(err, PSFWI_ERANGE, "%s: weight %s = %g; expected finite and >= 0", who, name,
                      lam);
  return PSFWI_OK;
}

/* Every value of the nx x nz array a finite (and >= 0 if nonneg). */
static int check_array(const char *who, const char *what, const float *a, size_t nx, size_t nz,
                       int nonneg, psfwi_error *err) {
  if (a == NULL) return psfwi_fail(err, PSFWI_EINVAL, "%s: %s is NULL", who, what);
  for (size_t i = 0; i < nx * nz; i++) {
    if (!isfinite(a[i]))
      return psfwi_fail(err, PSFWI_ENONFINITE, "%s: %s = %g at ix = %zu, iz = %zu", who, what,
                        (double)a[i], i % nx, i / nx);
    if (nonneg && a[i] < 0.0f)
      return psfwi_fail(err, PSFWI_ERANGE, "%s: %s = %g at ix = %zu, iz = %zu; expected >= 0", who,
                        what, (double)a[i], i % nx, i / nx);
  }
  return PSFWI_OK;
}

static void add(double *grad, const unsigned char *mask, size_t i, double v) {
  if (mask == NULL || mask[i] == 0) grad[i] += v;
}

int psfwi_reg_tikhonov(size_t nx, size_t nz, double dx, double dz, double lam_x, double lam_z,
                       const float *m, const unsigned char *mask, double *value, double *grad_accum,
                       psfwi_error *err) {
  static const char who[] = "Tikhonov penalty";
  int st;
  if ((st = check_grid(who, nx, nz, dx, dz, err)) ||
      (st = check_weight(who, "lam_x", lam_x, err)) ||
      (st = check_weight(who, "lam_z", lam_z, err)) ||
      (st = check_array(who, "model", m, nx, nz, 0, err)))
    return st;
  if (value == NULL) return psfwi_fail(err, PSFWI_EINVAL, "%s: value pointer is NULL", who);
  const double da = dx * dz;
  double sx = 0.0, sz = 0.0;
  for (size_t iz = 0; iz < nz; iz++)
    for (size_t ix = 0; ix < nx; ix++) {
      const size_t c = iz * nx + ix;
      if (ix + 1 < nx) {
        const double e = ((double)m[c + 1] - (double)m[c]) / dx;
        sx += e * e;
        if (grad_accum && lam_x > 0.0) {
          const double k = lam_x * da * e / dx;
          add(grad_accum, mask, c + 1, k);
          add(grad_accum, mask, c, -k);
        }
      }
      if (iz + 1 < nz) {
        const double e = ((double)m[c + nx] - (double)m[c]) / dz;
        sz += e * e;
        if (grad_accum && lam_z > 0.0) {
          const double k = lam_z * da * e / dz;
          add(grad_accum, mask, c + nx, k);
          add(grad_accum, mask, c, -k);
        }
      }
    }
  *value = 0.5 * da * (lam_x * sx + lam_z * sz);
  return PSFWI_OK;
}

int psfwi_reg_tv(size_t nx, size_t nz, double dx, double dz, double lam, double eps, const float *m,
                 const unsigned char *mask, double *value, double *grad_accum, psfwi_error *err) {
  static const char who[] = "total-variation penalty";
  int st;
  if ((st = check_grid(who, nx, nz, dx, dz, err)) || (st = check_weight(who, "lam", lam, err)))
    return st;
  if (!(eps > 0.0) || !isfinite(eps))
    return psfwi_fail(err, PSFWI_ERANGE,
                      "%s: smoothing eps = %g; expected finite and > 0 (units of |grad m|)", who,
                      eps);
  if ((st = check_array(who, "model", m, nx, nz, 0, err))) return st;
  if (value == NULL) return psfwi_fail(err, PSFWI_EINVAL, "%s: value pointer is NULL", who);
  const double da = dx * dz;
  double sum = 0.0;
  for (size_t iz = 0; iz < nz; iz++)
    for (size_t ix = 0; ix < nx; ix++) {
      const size_t c = iz * nx + ix;
      const double gx = ix + 1 < nx ? ((double)m[c + 1] - (double)m[c]) / dx : 0.0;
      const double gz = iz + 1 < nz ? ((double)m[c + nx] - (double)m[c]) / dz : 0.0;
      const double q = gx * gx + gz * gz, s = sqrt(q + eps * eps);
      sum += q / (s + eps); /* = s - eps without cancellation */
      if (grad_accum && lam > 0.0 && q > 0.0) {
        const double k = lam * da / s, ax = k * gx / dx, az = k * gz / dz;
        if (ix + 1 < nx) add(grad_accum, mask, c + 1, ax);
        if (iz + 1 < nz) add(grad_accum, mask, c + nx, az);
        add(grad_accum, mask, c, -(ax + az));
      }
    }
  *value = lam * da * sum;
  return PSFWI_OK;
}

int psfwi_reg_prior(size_t nx, size_t nz, double dx, double dz, double lam, const float *m,
                    const float *m0, const float *w, const unsigned char *mask, double *value,
                    double *grad_accum, psfwi_error *err) {
  static const char who[] = "prior penalty";
  int st;
  if ((st = check_grid(who, nx, nz, dx, dz, err)) || (st = check_weight(who, "lam", lam, err)) ||
      (st = check_array(who, "model", m, nx, nz, 0, err)) ||
      (st = check_array(who, "prior model", m0, nx, nz, 0, err)) ||
      (w != NULL && (st = check_array(who, "prior weight", w, nx, nz, 1, err))))
    return st;
  if (value == NULL) return psfwi_fail(err, PSFWI_EINVAL, "%s: value pointer is NULL", who);
  const double da = dx * dz;
  double sum = 0.0;
  for (size_t i = 0; i < nx * nz; i++) {
    const double r = (double)m[i] - (double)m0[i], wi = w ? (double)w[i] : 1.0;
    sum += wi * r * r;
    if (grad_accum && lam > 0.0) add(grad_accum, mask, i, lam * da * wi * r);
  }
  *value = 0.5 * lam * da * sum;
  return PSFWI_OK;
}

void psfwi_reg_init(psfwi_reg *r, const psfwi_grid *g) {
  memset(r, 0, sizeof *r);
  r->nx = g->nx;
  r->nz = g->nz;
  r->dx = g->dx;
  r->dz = g->dz;
}

int psfwi_reg_check(const psfwi_reg *r, psfwi_error *err) {
  static const char who[] = "regularization";
  int st;
  if ((st = check_grid(who, r->nx, r->nz, r->dx, r->dz, err))) return st;
  const struct {
    const char *name;
    double v;
  } w[] = {{"tikhonov", r->tikhonov},     {"tikhonov_x", r->tikhonov_x},
           {"tikhonov_z", r->tikhonov_z}, {"tv", r->tv},
           {"prior", r->prior},           {"l1", r->l1},
           {"group", r->group},           {"nuclear", r->nuclear},
           {"ksupport", r->ksupport},     {"norm_eps", r->norm_eps}};
  for (size_t k = 0; k < sizeof w / sizeof w[0]; k++)
    if ((st = check_weight(who, w[k].name, w[k].v, err))) return st;
  if (r->tv > 0.0 && (!(r->tv_eps >= 0.0) || !isfinite(r->tv_eps)))
    return psfwi_fail(err, PSFWI_ERANGE, "%s: tv_eps = %g; expected finite and >= 0", who,
                      r->tv_eps);
  /* the smoothed isotropic TV needs eps > 0 (the others take 0: exact) */
  if (r->tv > 0.0 && !r->proximal && r->tv_kind == PSFWI_REG_TV_ISOTROPIC && !(r->tv_eps > 0.0))
    return psfwi_fail(err, PSFWI_ERANGE,
                      "%s: tv = %g needs tv_eps > 0 (units of |grad m|); got tv_eps = %g", who,
                      r->tv, r->tv_eps);
  if (r->prior > 0.0 && r->prior_model == NULL)
    return psfwi_fail(err, PSFWI_EINVAL, "%s: prior = %g but no prior model was given", who,
                      r->prior);
  if (r->tv_kind != PSFWI_REG_TV_ISOTROPIC && r->tv_kind != PSFWI_REG_TV_ANISOTROPIC)
    return psfwi_fail(err, PSFWI_EINVAL, "%s: tv_kind = %d; expected isotropic or anisotropic", who,
                      r->tv_kind);
  if (r->group_kind != PSFWI_REG_GROUP_COLUMNS && r->group_kind != PSFWI_REG_GROUP_ROWS)
    return psfwi_fail(err, PSFWI_EINVAL, "%s: group_kind = %d; expected columns or rows", who,
                      r->group_kind);
  const size_t rank = r->nx < r->nz ? r->nx : r->nz;
  if (r->ksupport > 0.0 && (r->ksupport_k < 1 || r->ksupport_k > rank))
    return psfwi_fail(err, PSFWI_ERANGE,
                      "%s: ksupport_k = %zu; expected 1 <= k <= min(nx, nz) = %zu", who,
                      r->ksupport_k, rank);
  if ((r->nuclear > 0.0 || r->ksupport > 0.0 || (r->proximal && r->tv > 0.0)) && r->ws == NULL)
    return psfwi_fail(err, PSFWI_EINVAL, "%s: nuclear, ksupport or a TV prox need a workspace",
                      who);
  return PSFWI_OK;
}

/* norm_eps (an RMS residual in m/s) in the units of each norm's argument:
 * a column's l2 norm sqrt(dz sum r^2) is rho sqrt(nz dz) for a residual of
 * RMS rho, a singular value sqrt(dA) s of a rank-one residual rho sqrt(area). */
static double eps_group(const psfwi_reg *r) {
  return r->norm_eps * (r->group_kind == PSFWI_REG_GROUP_ROWS ? sqrt((double)r->nx * r->dx)
                                                              : sqrt((double)r->nz * r->dz));
}
static double eps_nuclear(const psfwi_reg *r) {
  return r->norm_eps * sqrt((double)r->nx * r->dx * (double)r->nz * r->dz);
}

/* The sparsity, low-rank and (when proximal) TV terms. */
static int eval_norms(const psfwi_reg *r, const float *m, psfwi_reg_terms *t, double *grad_accum,
                      psfwi_error *err) {
  int st;
  const int px = r->proximal != 0;
  double *g = px ? NULL : grad_accum;
  const double eps_l1 = px ? 0.0 : r->norm_eps;
  if (r->l1 > 0.0 && (st = psfwi_reg_l1_model(r->nx, r->nz, r->dx, r->dz, r->l1, eps_l1, m,
                                              r->norm_ref, r->mask, &t->l1, g, err)))
    return st;
  if (r->group > 0.0 &&
      (st = psfwi_reg_group(r->nx, r->nz, r->dx, r->dz, r->group_kind, r->group,
                            px ? 0.0 : eps_group(r), m, r->norm_ref, r->mask, &t->group, g, err)))
    return st;
  if (r->nuclear > 0.0 &&
      (st = psfwi_reg_nuclear(r->ws, r->dx, r->dz, r->nuclear, px ? 0.0 : eps_nuclear(r), m,
                              r->norm_ref, r->mask, &t->nuclear, g, err)))
    return st;
  if (r->ksupport > 0.0 && (st = psfwi_reg_ksupport(r->ws, r->dx, r->dz, r->ksupport, r->ksupport_k,
                                                    m, r->norm_ref, r->mask, &t->ksupport, g, err)))
    return st;
  if (r->tv > 0.0 && r->tv_kind == PSFWI_REG_TV_ANISOTROPIC &&
      (st = psfwi_reg_tv_aniso(r->nx, r->nz, r->dx, r->dz, r->tv, px ? 0.0 : r->tv_eps, m, r->mask,
                               &t->tv, g, err)))
    return st;
  /* the exact isotropic TV for the proximal solver's report (eps 1e-30 1/s
   * changes the value by at most 1e-30 times the area) */
  if (r->tv > 0.0 && r->tv_kind == PSFWI_REG_TV_ISOTROPIC && px &&
      (st = psfwi_reg_tv(r->nx, r->nz, r->dx, r->dz, r->tv, 1e-30, m, r->mask, &t->tv, NULL, err)))
    return st;
  t->smooth = t->tikhonov + t->prior + (px ? 0.0 : t->l1 + t->group + t->nuclear + t->ksupport);
  if (!px) t->smooth += t->tv;
  return PSFWI_OK;
}

int psfwi_reg_eval_terms(const psfwi_reg *r, const float *m, psfwi_reg_terms *terms,
                         double *grad_accum, psfwi_error *err) {
  int st;
  if ((st = psfwi_reg_check(r, err))) return st;
  if (m == NULL) return psfwi_fail(err, PSFWI_EINVAL, "regularization: model is NULL");
  /* Check all inputs before adding anything, so a failure adds nothing. */
  if ((st = check_array("regularization", "model", m, r->nx, r->nz, 0, err))) return st;
  if (r->prior > 0.0 &&
      ((st = check_array("regularization", "prior model", r->prior_model, r->nx, r->nz, 0, err)) ||
       (r->prior_weight && (st = check_array("regularization", "prior weight", r->prior_weight,
                                             r->nx, r->nz, 1, err)))))
    return st;
  if (r->norm_ref && (r->l1 > 0.0 || r->group > 0.0 || r->nuclear > 0.0 || r->ksupport > 0.0) &&
      (st = check_array("regularization", "reference model", r->norm_ref, r->nx, r->nz, 0, err)))
    return st;
  psfwi_reg_terms t = {0};
  const double lx = r->tikhonov + r->tikhonov_x, lz = r->tikhonov + r->tikhonov_z;
  if ((lx > 0.0 || lz > 0.0) && (st = psfwi_reg_tikhonov(r->nx, r->nz, r->dx, r->dz, lx, lz, m,
                                                         r->mask, &t.tikhonov, grad_accum, err)))
    return st;
  if (r->tv > 0.0 && r->tv_kind == PSFWI_REG_TV_ISOTROPIC && !r->proximal &&
      (st = psfwi_reg_tv(r->nx, r->nz, r->dx, r->dz, r->tv, r->tv_eps, m, r->mask, &t.tv,
                         grad_accum, err)))
    return st;
  if (r->prior > 0.0 &&
      (st = psfwi_reg_prior(r->nx, r->nz, r->dx, r->dz, r->prior, m, r->prior_model,
                            r->prior_weight, r->mask, &t.prior, grad_accum, err)))
    return st;
  if ((st = eval_norms(r, m, &t, grad_accum, err))) return st;
  t.total = t.tikhonov + t.tv + t.prior;
  t.total += t.l1 + t.group + t.nuclear + t.ksupport;
  if (terms) *terms = t;
  return PSFWI_OK;
}

int psfwi_reg_eval(const psfwi_reg *r, const float *m, double *value, double *grad_accum,
                   psfwi_error *err) {
  psfwi_reg_terms t;
  const int st = psfwi_reg_eval_terms(r, m, &t, grad_accum, err);
  if (st == PSFWI_OK && value) *value = t.total;
  return st;
}

/* ---- Vector norms ------------------------------------------------------------ */
double psfwi_reg_l2(size_t n, double lam, const double *u, double *grad_accum) {
  double s = 0.0;
  for (size_t i = 0; i < n; i++) {
    s += u[i] * u[i];
    if (grad_accum) grad_accum[i] += lam * u[i];
  }
  return 0.5 * lam * s;
}

static double sgn(double v) { return v > 0.0 ? 1.0 : (v < 0.0 ? -1.0 : 0.0); }

double psfwi_reg_l1(size_t n, double lam, const double *u, double *grad_accum) {
  double s = 0.0;
  for (size_t i = 0; i < n; i++) {
    s += fabs(u[i]);
    if (grad_accum) grad_accum[i] += lam * sgn(u[i]);
  }
  return lam * s;
}

double psfwi_reg_l2f(size_t n, double lam, const float *u, float *grad_accum) {
  double s = 0.0;
  for (size_t i = 0; i < n; i++) {
    const double v = (double)u[i];
    s += v * v;
    if (grad_accum) grad_accum[i] = (float)((double)grad_accum[i] + lam * v);
  }
  return 0.5 * lam * s;
}

double psfwi_reg_l1f(size_t n, double lam, const float *u, float *grad_accum) {
  double s = 0.0;
  for (size_t i = 0; i < n; i++) {
    const double v = (double)u[i];
    s += fabs(v);
    if (grad_accum) grad_accum[i] = (float)((double)grad_accum[i] + lam * sgn(v));
  }
  return lam * s;
}

void psfwi_reg_l1_prox(size_t n, double t, double *u) {
  for (size_t i = 0; i < n; i++) {
    const double a = fabs(u[i]) - t;
    u[i] = a > 0.0 ? sgn(u[i]) * a : 0.0;
  }
}

void psfwi_reg_l1_proxf(size_t n, double t, float *u) {
  for (size_t i = 0; i < n; i++) {
    const double a = fabs((double)u[i]) - t;
    u[i] = a > 0.0 ? (float)(sgn((double)u[i]) * a) : 0.0f;
  }
}
