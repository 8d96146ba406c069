/* Proximal operators of the model norms (soft, group and singular-value
 * thresholds, the k-support prox, a dual TV prox), the workspace they share
 * and the SVD. Definitions in psfwi_regularize.h; algorithms and tests in
 * docs/regularize.md. */
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <cblas.h>

#include "psfwi_regularize.h"
#include "reg_internal.h"

/* ---- Workspace and SVD -------------------------------------------------------- */

psfwi_reg_ws *psfwi_reg_ws_create(size_t nx, size_t nz, psfwi_error *err) {
  static const char who[] = "regularization workspace";
  if (reg_check_grid(who, nx, nz, 1.0, 1.0, err)) return NULL;
  if (nx > (size_t)INT_MAX / 8 || nz > (size_t)INT_MAX / 8 || nx * nz > (size_t)INT_MAX) {
    psfwi_fail(err, PSFWI_ERANGE, "%s: grid %zu x %zu exceeds LAPACK's int sizes", who, nx, nz);
    return NULL;
  }
  psfwi_reg_ws *ws = calloc(1, sizeof *ws);
  if (ws == NULL) goto nomem;
  ws->nx = nx;
  ws->nz = nz;
  ws->r = nx < nz ? nx : nz;
  const size_t n = nx * nz, r = ws->r;
  ws->a = malloc(n * sizeof(double));
  ws->s = malloc(r * sizeof(double));
  ws->u = malloc(nx * r * sizeof(double));
  ws->vt = malloc(r * nz * sizeof(double));
  ws->iwork = malloc(8 * r * sizeof(lapack_int));
  ws->tv = calloc(7 * n, sizeof(double));
  if (!ws->a || !ws->s || !ws->u || !ws->vt || !ws->iwork || !ws->tv) goto nomem;
  double q = 0.0; /* workspace query for jobz = 'S' (enough for 'N' too) */
  const lapack_int info = LAPACKE_dgesdd_work(LAPACK_COL_MAJOR, 'S', (lapack_int)nx, (lapack_int)nz,
                                              ws->a, (lapack_int)nx, ws->s, ws->u, (lapack_int)nx,
                                              ws->vt, (lapack_int)r, &q, -1, ws->iwork);
  if (info != 0 || !(q >= 1.0) || q > (double)INT_MAX) {
    psfwi_fail(err, PSFWI_EINTERNAL, "%s: dgesdd workspace query failed (info %d, lwork %g)", who,
               (int)info, q);
    psfwi_reg_ws_destroy(ws);
    return NULL;
  }
  ws->lwork = (lapack_int)q;
  ws->work = malloc((size_t)ws->lwork * sizeof(double));
  if (ws->work == NULL) goto nomem;
  return ws;
nomem:
  psfwi_reg_ws_destroy(ws);
  psfwi_fail(err, PSFWI_ENOMEM, "%s: out of memory for a %zu x %zu grid", who, nx, nz);
  return NULL;
}

void psfwi_reg_ws_destroy(psfwi_reg_ws *ws) {
  if (ws == NULL) return;
  free(ws->a);
  free(ws->s);
  free(ws->u);
  free(ws->vt);
  free(ws->work);
  free(ws->iwork);
  free(ws->tv);
  free(ws);
}

int reg_svd(psfwi_reg_ws *ws, int vectors, const char *who, psfwi_error *err) {
  const lapack_int info = LAPACKE_dgesdd_work(
      LAPACK_COL_MAJOR, vectors ? 'S' : 'N', (lapack_int)ws->nx, (lapack_int)ws->nz, ws->a,
      (lapack_int)ws->nx, ws->s, ws->u, (lapack_int)ws->nx, ws->vt, (lapack_int)ws->r, ws->work,
      ws->lwork, ws->iwork);
  if (info != 0)
    return psfwi_fail(err, PSFWI_EINTERNAL, "%s: dgesdd failed on a %zu x %zu model (info %d)", who,
                      ws->nz, ws->nx, (int)info);
  return PSFWI_OK;
}

/* ---- Vector building blocks ------------------------------------------------------ */

/* The root of the nondecreasing, continuous, piecewise-linear S(a) = k on
 * [lo, hi] (S(lo) <= k <= S(hi)) by bisection to the last bit. */
typedef double (*count_fn)(size_t n, const double *w, double lam, double a);

static double bisect(count_fn S, size_t n, const double *w, double lam, double k, double lo,
                     double hi) {
  for (int it = 0; it < 2000; it++) {
    const double mid = 0.5 * (lo + hi);
    if (!(mid > lo && mid < hi)) break;
    if (S(n, w, lam, mid) < k)
      lo = mid;
    else
      hi = mid;
  }
  return 0.5 * (lo + hi);
}

/* ||w||_(k)^2 = min sum w_i^2 / th_i, 0 <= th <= 1, sum th = k: th_i =
 * min(1, b |w_i|) with sum th = k. */
static double count_norm(size_t n, const double *w, double lam, double b) {
  (void)lam;
  double s = 0.0;
  for (size_t i = 0; i < n; i++) s += fmin(1.0, b * fabs(w[i]));
  return s;
}

double psfwi_reg_ksupport_norm(size_t n, size_t k, const double *w) {
  return psfwi_reg_ksupport_grad_vec(n, k, w, NULL);
}

double psfwi_reg_ksupport_grad_vec(size_t n, size_t k, const double *w, double *g) {
  size_t nnz = 0;
  double amin = INFINITY, sq = 0.0;
  for (size_t i = 0; i < n; i++) {
    const double a = fabs(w[i]);
    sq += a * a;
    if (a > 0.0) {
      nnz++;
      amin = fmin(amin, a);
    }
  }
  if (nnz <= k) { /* all of them saturated: the l2 norm */
    if (g)
      for (size_t i = 0; i < n; i++) g[i] = w[i];
    return sqrt(sq);
  }
  const double b = bisect(count_norm, n, w, 0.0, (double)k, 0.0, 1.0 / amin);
  /* Sets at b; then the exact value sum_sat w^2 + (sum_int |w|)^2 / (k - n_sat). */
  double ssat = 0.0, sint = 0.0;
  size_t nsat = 0;
  for (size_t i = 0; i < n; i++) {
    const double a = fabs(w[i]);
    if (b * a >= 1.0) {
      ssat += a * a;
      nsat++;
    } else {
      sint += a;
    }
  }
  /* d/dw_i of half the square: w_i on the saturated set (th_i = 1), and
   * sign(w_i) sum_int |w| / (k - n_sat) = w_i / th_i on the rest */
  const double c = nsat < k ? sint / (double)(k - nsat) : 0.0;
  if (g)
    for (size_t i = 0; i < n; i++)
      g[i] = b * fabs(w[i]) >= 1.0 ? w[i] : (w[i] > 0.0 ? c : (w[i] < 0.0 ? -c : 0.0));
  if (nsat >= k) return sqrt(ssat); /* only at a tie, where both forms agree */
  return sqrt(ssat + sint * sint / (double)(k - nsat));
}

/* The prox: th_i = clip(a |w_i| - lam, 0, 1) with sum th = k. */
static double count_prox(size_t n, const double *w, double lam, double a) {
  double s = 0.0;
  for (size_t i = 0; i < n; i++) s += fmin(1.0, fmax(0.0, a * fabs(w[i]) - lam));
  return s;
}

void psfwi_reg_ksupport_prox_vec(size_t n, size_t k, double lam, double *w) {
  if (!(lam > 0.0)) return;
  size_t nnz = 0;
  double amin = INFINITY;
  for (size_t i = 0; i < n; i++) {
    const double a = fabs(w[i]);
    if (a > 0.0) {
      nnz++;
      amin = fmin(amin, a);
    }
  }
  if (nnz <= k) { /* th = 1 on the support: a ridge step */
    for (size_t i = 0; i < n; i++) w[i] /= 1.0 + lam;
    return;
  }
  double a = bisect(count_prox, n, w, lam, (double)k, 0.0, (1.0 + lam) / amin);
  /* Exact multiplier on the sets found: sum_sat 1 + sum_int (a |w| - lam) = k. */
  double sint = 0.0;
  size_t nsat = 0, nint = 0;
  for (size_t i = 0; i < n; i++) {
    const double v = a * fabs(w[i]) - lam;
    if (v >= 1.0)
      nsat++;
    else if (v > 0.0) {
      nint++;
      sint += fabs(w[i]);
    }
  }
  if (nint > 0 && nsat <= k) {
    const double ae = ((double)(k - nsat) + lam * (double)nint) / sint;
    if (fabs(ae - a) <= 1e-6 * a) a = ae; /* same sets: keep the exact one */
  }
  for (size_t i = 0; i < n; i++) {
    const double th = fmin(1.0, fmax(0.0, a * fabs(w[i]) - lam));
    w[i] = th * w[i] / (th + lam);
  }
}

void psfwi_reg_group_prox_vec(size_t n, double t, double *w) {
  double q = 0.0;
  for (size_t i = 0; i < n; i++) q += w[i] * w[i];
  const double nrm = sqrt(q), f = nrm > t ? 1.0 - t / nrm : 0.0;
  for (size_t i = 0; i < n; i++) w[i] *= f;
}

/* ---- Model proxes -------------------------------------------------------------------- */

static int check_prox(const char *who, size_t nx, size_t nz, double dx, double dz, double t,
                      const float *m0, const double *u, psfwi_error *err) {
  int st;
  if ((st = reg_check_grid(who, nx, nz, dx, dz, err)) ||
      (st = reg_check_nonneg(who, "t", t, err)) ||
      (st = reg_check_values(who, "prior model", m0, NULL, nx, nx * nz, 1, err)) ||
      (st = reg_check_values(who, "u", NULL, u, nx, nx * nz, 0, err)))
    return st;
  return PSFWI_OK;
}

static void sub_prior(size_t n, const float *m0, double *u) {
  if (m0)
    for (size_t i = 0; i < n; i++) u[i] -= (double)m0[i];
}
static void add_prior(size_t n, const float *m0, double *u) {
  if (m0)
    for (size_t i = 0; i < n; i++) u[i] += (double)m0[i];
}

int psfwi_reg_l1_model_prox(size_t nx, size_t nz, double dx, double dz, double t, const float *m0,
                            double *u, psfwi_error *err) {
  int st;
  if ((st = check_prox("L1 prox", nx, nz, dx, dz, t, m0, u, err))) return st;
  sub_prior(nx * nz, m0, u);
  psfwi_reg_l1_prox(nx * nz, t * dx * dz, u);
  add_prior(nx * nz, m0, u);
  return PSFWI_OK;
}

int psfwi_reg_group_prox(size_t nx, size_t nz, double dx, double dz, int kind, double t,
                         const float *m0, double *u, psfwi_error *err) {
  static const char who[] = "group l1,2 prox";
  int st;
  if ((st = check_prox(who, nx, nz, dx, dz, t, m0, u, err))) return st;
  if (kind != PSFWI_REG_GROUP_COLUMNS && kind != PSFWI_REG_GROUP_ROWS)
    return psfwi_fail(err, PSFWI_EINVAL, "%s: group kind %d; expected columns (0) or rows (1)", who,
                      kind);
  sub_prior(nx * nz, m0, u);
  if (kind == PSFWI_REG_GROUP_ROWS) {
    for (size_t iz = 0; iz < nz; iz++) psfwi_reg_group_prox_vec(nx, t * dz * sqrt(dx), u + iz * nx);
  } else { /* columns are strided: norm, then scale */
    const double tau = t * dx * sqrt(dz);
    for (size_t ix = 0; ix < nx; ix++) {
      double q = 0.0;
      for (size_t iz = 0; iz < nz; iz++) q += u[iz * nx + ix] * u[iz * nx + ix];
      const double nrm = sqrt(q), f = nrm > tau ? 1.0 - tau / nrm : 0.0;
      for (size_t iz = 0; iz < nz; iz++) u[iz * nx + ix] *= f;
    }
  }
  add_prior(nx * nz, m0, u);
  return PSFWI_OK;
}

/* u <- m0 + U diag(g(s)) V^T of u - m0, with g the caller's map of the
 * singular values (applied in place to ws->s). */
typedef void (*spectral_fn)(size_t r, double *s, double p1, size_t k);

static int spectral_prox(const char *who, psfwi_reg_ws *ws, double dx, double dz, double t,
                         const float *m0, double *u, spectral_fn g, double p1, size_t k,
                         psfwi_error *err) {
  int st;
  if ((st = reg_check_ws(who, ws, err)) ||
      (st = check_prox(who, ws->nx, ws->nz, dx, dz, t, m0, u, err)))
    return st;
  const size_t nx = ws->nx, nz = ws->nz, r = ws->r, n = nx * nz;
  if (k > r)
    return psfwi_fail(err, PSFWI_EINVAL, "%s: k = %zu; expected 1 <= k <= min(nx, nz) = %zu", who,
                      k, r);
  if (t == 0.0) return PSFWI_OK;
  for (size_t i = 0; i < n; i++) ws->a[i] = m0 ? u[i] - (double)m0[i] : u[i];
  if ((st = reg_svd(ws, 1, who, err))) return st;
  g(r, ws->s, p1, k);
  for (size_t j = 0; j < r; j++)
    for (size_t i = 0; i < nx; i++) ws->u[j * nx + i] *= ws->s[j];
  cblas_dgemm(CblasColMajor, CblasNoTrans, CblasNoTrans, (blasint)nx, (blasint)nz, (blasint)r, 1.0,
              ws->u, (blasint)nx, ws->vt, (blasint)r, 0.0, u, (blasint)nx);
  add_prior(n, m0, u);
  return PSFWI_OK;
}

static void svt(size_t r, double *s, double tau, size_t k) {
  (void)k;
  for (size_t j = 0; j < r; j++) s[j] = s[j] > tau ? s[j] - tau : 0.0;
}

static void ksupport_sv(size_t r, double *s, double lam, size_t k) {
  psfwi_reg_ksupport_prox_vec(r, k, lam, s);
}

int psfwi_reg_nuclear_prox(psfwi_reg_ws *ws, double dx, double dz, double t, const float *m0,
                           double *u, psfwi_error *err) {
  return spectral_prox("nuclear-norm prox", ws, dx, dz, t, m0, u, svt, t * sqrt(dx * dz), 0, err);
}

int psfwi_reg_ksupport_prox(psfwi_reg_ws *ws, double dx, double dz, size_t k, double t,
                            const float *m0, double *u, psfwi_error *err) {
  if (k < 1)
    return psfwi_fail(err, PSFWI_EINVAL, "spectral k-support prox: k = 0; expected k >= 1");
  return spectral_prox("spectral k-support prox", ws, dx, dz, t, m0, u, ksupport_sv, t * dx * dz, k,
                       err);
}

/* ---- TV prox by the dual method ---------------------------------------------------------
 * min_x t sum_cells |(K x)_c| + ||x - b||^2 / 2, K x = (cx dX x, cz dZ x),
 * cx = dz, cz = dx (so that t sum |K x| = t dA sum |grad x|), dX, dZ unit
 * forward differences with no difference across the edges. Dual: x = b -
 * K^T q with |q_c| <= t (l2 per cell for isotropic, l_inf for anisotropic,
 * the dual norms), q minimising ||b - K^T q||^2 / 2; FGP (Beck & Teboulle
 * 2009): projected gradient steps 1 / L, L = 4 (cx^2 + cz^2) >= ||K||^2,
 * with Nesterov's extrapolation. Duality gap at q (x = b - K^T q):
 *   gap = sum_c t |(K x)_c| - <(K x)_c, q_c> >= 0,
 * and ||x - x*||^2 / 2 <= gap (the primal is 1-strongly convex). */

void psfwi_reg_tv_prox_opts_init(psfwi_reg_tv_prox_opts *o) {
  o->max_iter = 500;
  o->tol = 1e-3;
  o->warm = 0;
}

/* x = b - K^T q. */
static void apply_kt(size_t nx, size_t nz, double cx, double cz, const double *b, const double *qx,
                     const double *qz, double *x) {
  for (size_t iz = 0; iz < nz; iz++)
    for (size_t ix = 0; ix < nx; ix++) {
      const size_t c = iz * nx + ix;
      double v = 0.0; /* (K^T q)_c */
      if (ix + 1 < nx) v -= cx * qx[c];
      if (ix > 0) v += cx * qx[c - 1];
      if (iz + 1 < nz) v -= cz * qz[c];
      if (iz > 0) v += cz * qz[c - nx];
      x[c] = b[c] - v;
    }
}

/* (K x)_c into kx, kz (0 where no difference exists). */
static inline void kx_at(size_t nx, size_t nz, double cx, double cz, const double *x, size_t ix,
                         size_t iz, double *kx, double *kz) {
  const size_t c = iz * nx + ix;
  *kx = ix + 1 < nx ? cx * (x[c + 1] - x[c]) : 0.0;
  *kz = iz + 1 < nz ? cz * (x[c + nx] - x[c]) : 0.0;
}

static void project(int iso, double t, double *px, double *pz) {
  if (iso) {
    const double a = sqrt(*px * *px + *pz * *pz);
    if (a > t) {
      const double f = t / a;
      *px *= f;
      *pz *= f;
    }
  } else {
    *px = fmin(t, fmax(-t, *px));
    *pz = fmin(t, fmax(-t, *pz));
  }
}

static double tv_gap(size_t nx, size_t nz, double cx, double cz, int iso, double t, const double *x,
                     const double *qx, const double *qz) {
  double gap = 0.0;
  for (size_t iz = 0; iz < nz; iz++)
    for (size_t ix = 0; ix < nx; ix++) {
      const size_t c = iz * nx + ix;
      double kx, kz;
      kx_at(nx, nz, cx, cz, x, ix, iz, &kx, &kz);
      /* t |k| - <k, q>, written as sums of terms >= 0 so that the cells
       * where q sits on its bound (|q| = t, k parallel to q: the terms
       * vanish) add no rounding error:
       *   anisotropic: |kx| (t - sign(kx) qx) + |kz| (t - sign(kz) qz)
       *   isotropic:   |k| (t - |q|) + |k| |q| |k/|k| - q/|q||^2 / 2 */
      if (iso) {
        const double kn = sqrt(kx * kx + kz * kz), qn = sqrt(qx[c] * qx[c] + qz[c] * qz[c]);
        if (kn > 0.0) {
          gap += kn * fmax(0.0, t - qn);
          if (qn > 0.0) {
            const double ex = kx / kn - qx[c] / qn, ez = kz / kn - qz[c] / qn;
            gap += 0.5 * kn * qn * (ex * ex + ez * ez);
          }
        }
      } else {
        gap += fabs(kx) * fmax(0.0, t - (kx > 0.0 ? qx[c] : -qx[c])) +
               fabs(kz) * fmax(0.0, t - (kz > 0.0 ? qz[c] : -qz[c]));
      }
    }
  return gap;
}

int psfwi_reg_tv_prox(psfwi_reg_ws *ws, int kind, double dx, double dz, double t,
                      const psfwi_reg_tv_prox_opts *opt, double *u, psfwi_reg_tv_prox_info *info,
                      psfwi_error *err) {
  static const char who[] = "TV prox";
  int st;
  if ((st = reg_check_ws(who, ws, err)) ||
      (st = check_prox(who, ws->nx, ws->nz, dx, dz, t, NULL, u, err)))
    return st;
  if (kind != PSFWI_REG_TV_ISOTROPIC && kind != PSFWI_REG_TV_ANISOTROPIC)
    return psfwi_fail(err, PSFWI_EINVAL, "%s: kind %d; expected isotropic (0) or anisotropic (1)",
                      who, kind);
  psfwi_reg_tv_prox_opts o;
  psfwi_reg_tv_prox_opts_init(&o);
  if (opt) o = *opt;
  if (!(o.tol >= 0.0) || !isfinite(o.tol))
    return psfwi_fail(err, PSFWI_ERANGE, "%s: tol = %g; expected finite and >= 0", who, o.tol);
  const size_t nx = ws->nx, nz = ws->nz, n = nx * nz;
  const int iso = kind == PSFWI_REG_TV_ISOTROPIC;
  const double cx = dz, cz = dx, step = 1.0 / (4.0 * (cx * cx + cz * cz));
  double *qx = ws->tv, *qz = qx + n, *ox = qz + n, *oz = ox + n, *rx = oz + n, *rz = rx + n,
         *x = rz + n;
  psfwi_reg_tv_prox_info inf = {0, 0.0, 0.0, 1};
  if (t == 0.0) {
    if (info) *info = inf;
    return PSFWI_OK;
  }
  if (!(o.warm && ws->tv_warm)) {
    memset(qx, 0, n * sizeof(double));
    memset(qz, 0, n * sizeof(double));
  } else {
    for (size_t c = 0; c < n; c++) project(iso, t, &qx[c], &qz[c]);
  }
  const double scale = 1.0 / (double)n;
  apply_kt(nx, nz, cx, cz, u, qx, qz, x);
  inf.gap = tv_gap(nx, nz, cx, cz, iso, t, x, qx, qz);
  inf.rms_bound = sqrt(2.0 * inf.gap * scale);
  inf.converged = inf.rms_bound <= o.tol;
  memcpy(rx, qx, n * sizeof(double));
  memcpy(rz, qz, n * sizeof(double));
  double tk = 1.0;
  while (!inf.converged && inf.iter < o.max_iter) {
    memcpy(ox, qx, n * sizeof(double));
    memcpy(oz, qz, n * sizeof(double));
    apply_kt(nx, nz, cx, cz, u, rx, rz, x); /* x(r) */
    for (size_t iz = 0; iz < nz; iz++)
      for (size_t ix = 0; ix < nx; ix++) {
        const size_t c = iz * nx + ix;
        double kx, kz;
        kx_at(nx, nz, cx, cz, x, ix, iz, &kx, &kz);
        double px = rx[c] + step * kx, pz = rz[c] + step * kz;
        project(iso, t, &px, &pz);
        qx[c] = ix + 1 < nx ? px : 0.0;
        qz[c] = iz + 1 < nz ? pz : 0.0;
      }
    const double tn = 0.5 * (1.0 + sqrt(1.0 + 4.0 * tk * tk)), beta = (tk - 1.0) / tn;
    tk = tn;
    for (size_t c = 0; c < n; c++) {
      rx[c] = qx[c] + beta * (qx[c] - ox[c]);
      rz[c] = qz[c] + beta * (qz[c] - oz[c]);
    }
    inf.iter++;
    if (inf.iter < 5 || inf.iter % 5 == 0 || inf.iter == o.max_iter) {
      apply_kt(nx, nz, cx, cz, u, qx, qz, x);
      inf.gap = tv_gap(nx, nz, cx, cz, iso, t, x, qx, qz);
      inf.rms_bound = sqrt(2.0 * inf.gap * scale);
      inf.converged = inf.rms_bound <= o.tol;
    }
  }
  /* The loop stops only right after a gap check, so x(q) and the gap agree. */
  apply_kt(nx, nz, cx, cz, u, qx, qz, x);
  memcpy(u, x, n * sizeof(double));
  ws->tv_warm = 1;
  if (info) *info = inf;
  return PSFWI_OK;
}
