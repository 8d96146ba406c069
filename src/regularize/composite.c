/* What an inversion needs from a psfwi_reg beyond values and gradients: the
 * proximal operator of the sum of its non-smooth terms within box bounds
 * (for the proximal-gradient solver), and the automatic scale of the
 * weights from the first data gradient. Definitions in psfwi_regularize.h,
 * reasons in docs/regularize.md. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "psfwi_regularize.h"
#include "reg_internal.h"

enum { T_L1, T_GROUP, T_NUCLEAR, T_KSUPPORT, T_TV, T_COUNT };

static double term_weight(const psfwi_reg *r, int k) {
  switch (k) {
    case T_L1: return r->l1;
    case T_GROUP: return r->group;
    case T_NUCLEAR: return r->nuclear;
    case T_KSUPPORT: return r->ksupport;
    default: return r->tv;
  }
}

size_t psfwi_reg_prox_count(const psfwi_reg *r) {
  size_t n = 0;
  if (!r->proximal) return 0;
  for (int k = 0; k < T_COUNT; k++) n += term_weight(r, k) > 0.0;
  return n;
}

void psfwi_reg_prox_opts_init(psfwi_reg_prox_opts *o) {
  o->max_iter = 100;
  o->tol = 0.1;
  o->accelerate = 1;
  psfwi_reg_tv_prox_opts_init(&o->tv);
  o->tv.warm = 1;
  o->tv.tol = 0.1;
  o->tv.max_iter = 100;
}

/* u <- prox of s * (term k) */
static int prox_one(const psfwi_reg *r, int k, double s, const psfwi_reg_tv_prox_opts *tv,
                    double *u, psfwi_error *err) {
  const double lam = s * term_weight(r, k);
  switch (k) {
    case T_L1: return psfwi_reg_l1_model_prox(r->nx, r->nz, r->dx, r->dz, lam, r->norm_ref, u, err);
    case T_GROUP:
      return psfwi_reg_group_prox(r->nx, r->nz, r->dx, r->dz, r->group_kind, lam, r->norm_ref, u,
                                  err);
    case T_NUCLEAR: return psfwi_reg_nuclear_prox(r->ws, r->dx, r->dz, lam, r->norm_ref, u, err);
    case T_KSUPPORT:
      return psfwi_reg_ksupport_prox(r->ws, r->dx, r->dz, r->ksupport_k, lam, r->norm_ref, u, err);
    default: return psfwi_reg_tv_prox(r->ws, r->tv_kind, r->dx, r->dz, lam, tv, u, NULL, err);
  }
}

static void clip(size_t n, const double *lo, const double *hi, double *u) {
  for (size_t i = 0; i < n; i++) {
    if (lo && u[i] < lo[i]) u[i] = lo[i];
    if (hi && u[i] > hi[i]) u[i] = hi[i];
  }
}

static int inside(size_t n, const double *lo, const double *hi, const double *u) {
  for (size_t i = 0; i < n; i++)
    if ((lo && u[i] < lo[i]) || (hi && u[i] > hi[i])) return 0;
  return 1;
}

int psfwi_reg_prox(const psfwi_reg *r, double t, const double *lo, const double *hi,
                   const psfwi_reg_prox_opts *opt, double *u, psfwi_reg_prox_info *info,
                   psfwi_error *err) {
  static const char who[] = "regularization prox";
  int st;
  psfwi_reg_prox_opts o;
  if (opt)
    o = *opt;
  else
    psfwi_reg_prox_opts_init(&o);
  if (info) memset(info, 0, sizeof *info);
  if ((st = psfwi_reg_check(r, err))) return st;
  if (u == NULL) return psfwi_fail(err, PSFWI_EINVAL, "%s: u is NULL", who);
  if (!(t >= 0.0) || !isfinite(t))
    return psfwi_fail(err, PSFWI_ERANGE, "%s: step t = %g; expected finite and >= 0", who, t);
  const size_t n = r->nx * r->nz;
  for (size_t i = 0; i < n; i++)
    if (!isfinite(u[i]))
      return psfwi_fail(err, PSFWI_ENONFINITE, "%s: u = %g at ix = %zu, iz = %zu", who, u[i],
                        i % r->nx, i / r->nx);
  int terms[T_COUNT];
  size_t K = 0;
  if (r->proximal)
    for (int k = 0; k < T_COUNT; k++)
      if (term_weight(r, k) > 0.0) terms[K++] = k;
  if (info) info->nterms = K;
  if (K == 0 || t == 0.0) {
    clip(n, lo, hi, u);
    if (info) info->converged = 1;
    return PSFWI_OK;
  }
  const int boxed = lo != NULL || hi != NULL;
  const size_t M = K + (size_t)boxed; /* functions in the sum */
  double *mem = malloc((2 * M + 4) * n * sizeof *mem);
  if (mem == NULL) return psfwi_fail(err, PSFWI_ENOMEM, "%s: out of memory", who);
  double *x = mem, *xn = mem + n, *p = mem + 2 * n, *zh = mem + 3 * n;
  double *y = mem + 4 * n, *w = y + M * n;
  /* One term: its prox is the answer when it lies in the box (it then
   * minimises over the box too). */
  /* The TV prox starts cold at each call, so that the result depends on u
   * alone (a resumed run repeats it bit for bit); warm within the splitting. */
  psfwi_reg_tv_prox_opts tv = o.tv;
  const int warm = tv.warm;
  tv.warm = 0;
  if (K == 1) {
    memcpy(p, u, n * sizeof *p);
    if ((st = prox_one(r, terms[0], t, &tv, p, err))) goto done;
    if (inside(n, lo, hi, p)) {
      memcpy(u, p, n * sizeof *u);
      if (info) info->converged = 1;
      goto done;
    }
  }
  /* The dual of min_z sum_i h_i(z) + |z - u|^2 / 2 (h_i = t f_i, the box
   * an indicator) is min_y |u - sum_i y_i|^2 / 2 + sum_i h_i*(y_i), whose
   * smooth part has an M-Lipschitz gradient -(u - sum y) in every block.
   * Its proximal-gradient step 1 / M, written with Moreau's identity,
   *   zh = u - sum_i w_i,  p_i = prox_{M h_i}(M w_i + zh),
   *   y_i <- w_i + (zh - p_i) / M,  x = u - sum_i y_i = mean_i p_i,
   * is the parallel Dykstra-like splitting of Combettes & Pesquet (2011,
   * Algorithm 10.31, equal weights) when w = y. accelerate: w extrapolates
   * y with FISTA's momentum (the fast dual proximal gradient of Beck &
   * Teboulle 2014), restarted whenever <w - y_new, y_new - y_old> > 0
   * (O'Donoghue & Candes 2015). x -> prox_{sum f_i}(u). */
  memcpy(x, u, n * sizeof *x);
  memset(y, 0, 2 * M * n * sizeof *y);
  const double scale = t * (double)M, inv = 1.0 / (double)M;
  double change = INFINITY, tk = 1.0;
  size_t it = 0;
  while (it < o.max_iter) {
    for (size_t c = 0; c < n; c++) zh[c] = u[c];
    for (size_t i = 0; i < M; i++)
      for (size_t c = 0; c < n; c++) zh[c] -= w[i * n + c];
    memset(xn, 0, n * sizeof *xn);
    double dot = 0.0, res = 0.0; /* res: the largest term's RMS distance */
    for (size_t i = 0; i < M; i++) {
      double *wi = w + i * n;
      const double *yi = y + i * n;
      for (size_t c = 0; c < n; c++) p[c] = (double)M * wi[c] + zh[c];
      if (i < K) {
        if ((st = prox_one(r, terms[i], scale, &tv, p, err))) goto done;
        if (terms[i] == T_TV) tv.warm = warm;
      } else {
        clip(n, lo, hi, p);
      }
      double r2 = 0.0;
      for (size_t c = 0; c < n; c++) {
        const double yn = wi[c] + (zh[c] - p[c]) * inv;
        r2 += (zh[c] - p[c]) * (zh[c] - p[c]);
        dot += (wi[c] - yn) * (yn - yi[c]);
        wi[c] = yn; /* w holds y_new until the momentum below */
        xn[c] += p[c] * inv;
      }
      res = fmax(res, sqrt(r2 / (double)n));
    }
    /* RMS, as the TV prox's tol. x may stand still while the dual blocks
     * trade among themselves, so the prox outputs' distance to the point
     * they were taken at (zero at the fixed point, M times the dual step)
     * counts too. */
    double c2 = 0.0;
    for (size_t c = 0; c < n; c++) {
      c2 += (xn[c] - x[c]) * (xn[c] - x[c]);
      x[c] = xn[c];
    }
    change = fmax(res, sqrt(c2 / (double)n));
    double beta = 0.0;
    if (o.accelerate && dot <= 0.0) {
      const double tn = 0.5 * (1.0 + sqrt(1.0 + 4.0 * tk * tk));
      beta = (tk - 1.0) / tn;
      tk = tn;
    } else {
      tk = 1.0; /* restart (or no momentum) */
    }
    for (size_t c = 0; c < M * n; c++) {
      const double yn = w[c];
      w[c] = yn + beta * (yn - y[c]);
      y[c] = yn;
    }
    it++;
    if (change <= o.tol) break;
  }
  clip(n, lo, hi, x); /* the bounds hold exactly whatever the iterations did */
  memcpy(u, x, n * sizeof *u);
  if (info) {
    info->iter = it;
    info->change = change;
    info->converged = change <= o.tol;
  }
done:
  free(mem);
  return st;
}

int psfwi_reg_auto_scale(psfwi_reg *r, const double *g, double step, double *factors,
                         psfwi_error *err) {
  static const char who[] = "regularization auto_scale";
  int st;
  if ((st = psfwi_reg_check(r, err))) return st;
  if (g == NULL) return psfwi_fail(err, PSFWI_EINVAL, "%s: gradient is NULL", who);
  if (!(step > 0.0) || !isfinite(step))
    return psfwi_fail(err, PSFWI_ERANGE, "%s: step = %g; expected finite and > 0", who, step);
  const size_t n = r->nx * r->nz;
  double gmax = 0.0, g2 = 0.0;
  for (size_t i = 0; i < n; i++) {
    if (!isfinite(g[i]))
      return psfwi_fail(err, PSFWI_ENONFINITE, "%s: data gradient = %g at ix = %zu, iz = %zu", who,
                        g[i], i % r->nx, i / r->nx);
    if (r->mask && r->mask[i]) continue;
    gmax = fmax(gmax, fabs(g[i]));
    g2 += g[i] * g[i];
  }
  for (int k = 0; k < PSFWI_REG_NSCALE; k++) factors[k] = 1.0;
  if (!(gmax > 0.0))
    return psfwi_fail(err, PSFWI_ERANGE,
                      "%s: the data gradient is zero: nothing to scale the weights by", who);
  /* delta: the steepest-descent update whose largest change is step; D the
   * first-order change of the data term along it */
  float *d = malloc(n * sizeof *d);
  if (d == NULL) return psfwi_fail(err, PSFWI_ENOMEM, "%s: out of memory", who);
  for (size_t i = 0; i < n; i++)
    d[i] = (r->mask && r->mask[i]) ? 0.0f : (float)(-step * g[i] / gmax);
  const double D = step * g2 / gmax;
  /* each term with unit weight, exact (unsmoothed) where it can be, of delta */
  double v[PSFWI_REG_NSCALE] = {0};
  const size_t nx = r->nx, nz = r->nz;
  const double dx = r->dx, dz = r->dz;
  st = PSFWI_OK;
  if (r->tikhonov > 0.0 || r->tikhonov_x > 0.0 || r->tikhonov_z > 0.0)
    st = psfwi_reg_tikhonov(nx, nz, dx, dz, 1.0, 1.0, d, NULL, &v[PSFWI_REG_SCALE_TIKHONOV], NULL,
                            err);
  if (st == PSFWI_OK && r->tv > 0.0)
    st = r->tv_kind == PSFWI_REG_TV_ANISOTROPIC
             ? psfwi_reg_tv_aniso(nx, nz, dx, dz, 1.0, 0.0, d, NULL, &v[PSFWI_REG_SCALE_TV], NULL,
                                  err)
             : psfwi_reg_tv(nx, nz, dx, dz, 1.0, 1e-30, d, NULL, &v[PSFWI_REG_SCALE_TV], NULL, err);
  if (st == PSFWI_OK && r->prior > 0.0) {
    double s = 0.0;
    for (size_t i = 0; i < n; i++) s += (double)d[i] * (double)d[i];
    v[PSFWI_REG_SCALE_L2] = 0.5 * s * dx * dz;
  }
  if (st == PSFWI_OK && r->l1 > 0.0)
    st = psfwi_reg_l1_model(nx, nz, dx, dz, 1.0, 0.0, d, NULL, NULL, &v[PSFWI_REG_SCALE_L1], NULL,
                            err);
  if (st == PSFWI_OK && r->group > 0.0)
    st = psfwi_reg_group(nx, nz, dx, dz, r->group_kind, 1.0, 0.0, d, NULL, NULL,
                         &v[PSFWI_REG_SCALE_GROUP], NULL, err);
  if (st == PSFWI_OK && r->nuclear > 0.0)
    st = psfwi_reg_nuclear(r->ws, dx, dz, 1.0, 0.0, d, NULL, NULL, &v[PSFWI_REG_SCALE_NUCLEAR],
                           NULL, err);
  if (st == PSFWI_OK && r->ksupport > 0.0)
    st = psfwi_reg_ksupport(r->ws, dx, dz, 1.0, r->ksupport_k, d, NULL, NULL,
                            &v[PSFWI_REG_SCALE_KSUPPORT], NULL, err);
  free(d);
  if (st != PSFWI_OK) return st;
  for (int k = 0; k < PSFWI_REG_NSCALE; k++)
    if (v[k] > 0.0) factors[k] = D / v[k];
  psfwi_reg_apply_scale(r, factors);
  return PSFWI_OK;
}

void psfwi_reg_apply_scale(psfwi_reg *r, const double *f) {
  r->tikhonov *= f[PSFWI_REG_SCALE_TIKHONOV];
  r->tikhonov_x *= f[PSFWI_REG_SCALE_TIKHONOV];
  r->tikhonov_z *= f[PSFWI_REG_SCALE_TIKHONOV];
  r->tv *= f[PSFWI_REG_SCALE_TV];
  r->prior *= f[PSFWI_REG_SCALE_L2];
  r->l1 *= f[PSFWI_REG_SCALE_L1];
  r->group *= f[PSFWI_REG_SCALE_GROUP];
  r->nuclear *= f[PSFWI_REG_SCALE_NUCLEAR];
  r->ksupport *= f[PSFWI_REG_SCALE_KSUPPORT];
}

void psfwi_reg_copy_weights(psfwi_reg *dst, const psfwi_reg *src) {
  dst->tikhonov = src->tikhonov;
  dst->tikhonov_x = src->tikhonov_x;
  dst->tikhonov_z = src->tikhonov_z;
  dst->tv = src->tv;
  dst->prior = src->prior;
  dst->l1 = src->l1;
  dst->group = src->group;
  dst->nuclear = src->nuclear;
  dst->ksupport = src->ksupport;
}

void psfwi_reg_scale_text(const double *f, char *buf, size_t n) {
  snprintf(buf, n,
           "auto_scale: weights x tikhonov %.4g, tv %.4g, l2 %.4g, l1 %.4g, group %.4g, "
           "nuclear %.4g, ksupport %.4g",
           f[PSFWI_REG_SCALE_TIKHONOV], f[PSFWI_REG_SCALE_TV], f[PSFWI_REG_SCALE_L2],
           f[PSFWI_REG_SCALE_L1], f[PSFWI_REG_SCALE_GROUP], f[PSFWI_REG_SCALE_NUCLEAR],
           f[PSFWI_REG_SCALE_KSUPPORT]);
}
