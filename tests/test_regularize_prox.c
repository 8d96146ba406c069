/* regularize: proximal operators and FISTA (prox.c, fista.c).
 *
 * Each prox p = prox(u) of t R is checked against its definition
 *   p = argmin_z  Phi(z) = t R(z) + ||z - u||^2 / 2
 * on small models (4 x 3 cells, dx = 2.5 m, dz = 0.5 m, so the area factors
 * are exercised), with R computed here independently in double (singular
 * values by one-sided Jacobi, the k-support norm by Argyriou et al.'s
 * sorted formula):
 *  - strong convexity: Phi(p + d) - Phi(p) >= |d|^2 / 2 for 4000 random d
 *    of sizes 1e-5 .. 1 (true for the exact minimiser only, up to rounding);
 *  - a derivative-free pattern search from u never finds a lower Phi;
 *  - the optimality condition u - p in t dR(p), in closed form per norm;
 *  - closed forms: singular-value and k-support thresholds of diagonal
 *    matrices, the 1-D TV prox of a step, the 2-D anisotropic TV prox of a
 *    rectangle (two plateaus moved by t x perimeter / area).
 * FISTA: a Lasso against coordinate descent run to convergence, and TV
 * denoising of a step and of a rectangle against their closed forms; state
 * save / restore continues bit for bit; error paths. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "psfwi_regularize.h"
#include "testutil.h"

enum { NX = 4, NZ = 3, N = NX * NZ, R = NZ };
static const double DX = 2.5, DZ = 0.5, DA = 2.5 * 0.5;

/* ---- Independent R (eps = 0, no prior) --------------------------------------- */

static int cmp_desc(const void *pa, const void *pb) {
  const double a = *(const double *)pa, b = *(const double *)pb;
  return a < b ? 1 : (a > b ? -1 : 0);
}

static double ksupport_sorted(size_t n, size_t k, const double *w) {
  double a[64];
  for (size_t i = 0; i < n; i++) a[i] = fabs(w[i]);
  qsort(a, n, sizeof(double), cmp_desc);
  for (size_t r = 0; r < k; r++) {
    double T = 0.0, head = 0.0;
    for (size_t i = k - r; i <= n; i++) T += a[i - 1];
    for (size_t i = 1; i < k - r; i++) head += a[i - 1] * a[i - 1];
    /* (ties make both inequalities equalities at a boundary: a relative
     * allowance of 1e-12 keeps rounding from rejecting every r) */
    const double upper = k - r - 1 == 0 ? INFINITY : a[k - r - 2], m = T / (double)(r + 1);
    if (upper > m * (1.0 - 1e-12) && m >= a[k - r - 1] * (1.0 - 1e-12))
      return sqrt(head + T * T / (double)(r + 1));
  }
  fail();
  return 0.0;
}

enum op { OP_L1, OP_GCOL, OP_GROW, OP_NUC, OP_KSUP, OP_TVI, OP_TVA };
static const char *op_name[] = {"L1",        "group columns", "group rows",    "nuclear",
                                "k-support", "TV isotropic",  "TV anisotropic"};

typedef struct problem {
  int op;
  size_t nx, nz, k;
  double dx, dz, t;
  const double *u;
} problem;

static double r_value(const problem *p, const double *z) {
  const size_t nx = p->nx, nz = p->nz, n = nx * nz;
  const double da = p->dx * p->dz;
  double v = 0.0;
  switch (p->op) {
    case OP_L1:
      for (size_t i = 0; i < n; i++) v += fabs(z[i]);
      return da * v;
    case OP_GCOL:
      for (size_t ix = 0; ix < nx; ix++) {
        double q = 0.0;
        for (size_t iz = 0; iz < nz; iz++) q += z[iz * nx + ix] * z[iz * nx + ix];
        v += p->dx * sqrt(p->dz * q);
      }
      return v;
    case OP_GROW:
      for (size_t iz = 0; iz < nz; iz++) {
        double q = 0.0;
        for (size_t ix = 0; ix < nx; ix++) q += z[iz * nx + ix] * z[iz * nx + ix];
        v += p->dz * sqrt(p->dx * q);
      }
      return v;
    case OP_NUC:
    case OP_KSUP: {
      double s[64];
      tu_singular_values(nx, nz, z, s);
      const size_t r = nx < nz ? nx : nz;
      if (p->op == OP_NUC) {
        for (size_t j = 0; j < r; j++) v += s[j];
        return sqrt(da) * v;
      }
      const double kn = ksupport_sorted(r, p->k, s);
      return 0.5 * da * kn * kn;
    }
    default:
      for (size_t iz = 0; iz < nz; iz++)
        for (size_t ix = 0; ix < nx; ix++) {
          const size_t c = iz * nx + ix;
          const double gx = ix + 1 < nx ? (z[c + 1] - z[c]) / p->dx : 0.0;
          const double gz = iz + 1 < nz ? (z[c + nx] - z[c]) / p->dz : 0.0;
          v += p->op == OP_TVI ? sqrt(gx * gx + gz * gz) : fabs(gx) + fabs(gz);
        }
      return da * v;
  }
}

static double phi(const problem *p, const double *z) {
  double q = 0.0;
  for (size_t i = 0; i < p->nx * p->nz; i++) q += (z[i] - p->u[i]) * (z[i] - p->u[i]);
  return p->t * r_value(p, z) + 0.5 * q;
}

static psfwi_reg_ws *g_ws;

static void apply_prox(const problem *p, double *x, double tol) {
  psfwi_error err;
  int st = 0;
  switch (p->op) {
    case OP_L1:
      st = psfwi_reg_l1_model_prox(p->nx, p->nz, p->dx, p->dz, p->t, NULL, x, &err);
      break;
    case OP_GCOL:
    case OP_GROW:
      st = psfwi_reg_group_prox(p->nx, p->nz, p->dx, p->dz,
                                p->op == OP_GCOL ? PSFWI_REG_GROUP_COLUMNS : PSFWI_REG_GROUP_ROWS,
                                p->t, NULL, x, &err);
      break;
    case OP_NUC: st = psfwi_reg_nuclear_prox(g_ws, p->dx, p->dz, p->t, NULL, x, &err); break;
    case OP_KSUP:
      st = psfwi_reg_ksupport_prox(g_ws, p->dx, p->dz, p->k, p->t, NULL, x, &err);
      break;
    default: {
      psfwi_reg_tv_prox_opts o;
      psfwi_reg_tv_prox_opts_init(&o);
      o.tol = tol;
      o.max_iter = 200000;
      psfwi_reg_tv_prox_info info;
      st = psfwi_reg_tv_prox(g_ws,
                             p->op == OP_TVI ? PSFWI_REG_TV_ISOTROPIC : PSFWI_REG_TV_ANISOTROPIC,
                             p->dx, p->dz, p->t, &o, x, &info, &err);
      assert_true(info.converged);
    }
  }
  if (st) printf("prox failed: %s\n", err.msg);
  assert_int_equal(st, 0);
}

/* Pattern search from u: coordinate and random directions, halving steps. */
static double pattern_search(const problem *p, unsigned long long *seed, double *z) {
  const size_t n = p->nx * p->nz;
  memcpy(z, p->u, n * sizeof(double));
  double fz = phi(p, z), step = 1.0, d[64];
  while (step > 1e-10) {
    int improved = 0;
    for (size_t i = 0; i < 2 * n + 8; i++) {
      if (i < 2 * n) {
        memset(d, 0, n * sizeof(double));
        d[i / 2] = i % 2 ? -step : step;
      } else {
        for (size_t j = 0; j < n; j++) d[j] = step * tu_urand(seed);
      }
      for (size_t j = 0; j < n; j++) z[j] += d[j];
      const double f = phi(p, z);
      if (f < fz) {
        fz = f;
        improved = 1;
      } else {
        for (size_t j = 0; j < n; j++) z[j] -= d[j];
      }
    }
    if (!improved) step *= 0.5;
  }
  return fz;
}

/* The definition checks; returns the smallest strong-convexity margin. */
static void check_definition(const problem *p, const double *x, double tol_abs) {
  const size_t n = p->nx * p->nz;
  unsigned long long seed = 12345;
  const double f0 = phi(p, x);
  double worst = INFINITY, z[64];
  for (int trial = 0; trial < 4000; trial++) {
    const double sc = pow(10.0, -5.0 * tu_uniform(&seed));
    double dd = 0.0;
    for (size_t i = 0; i < n; i++) {
      /* half of the trials move only some coordinates (faces of kinks) */
      const double d = (trial % 2 && tu_uniform(&seed) < 0.5) ? 0.0 : sc * tu_urand(&seed);
      z[i] = x[i] + d;
      dd += d * d;
    }
    worst = fmin(worst, phi(p, z) - f0 - 0.5 * dd);
  }
  const double fs = pattern_search(p, &seed, z);
  printf(
      "  %-15s Phi(prox) = %.12f; random points: min [Phi - Phi(prox) - |d|^2/2] = %+.1e; "
      "pattern search: Phi = %.12f\n",
      op_name[p->op], f0, worst, fs);
  assert_true(worst >= -tol_abs);
  assert_true(fs >= f0 - tol_abs);
}

static void random_u(double *u, size_t n, unsigned long long *s) {
  for (size_t i = 0; i < n; i++) u[i] = tu_urand(s);
}

static void test_prox_definitions(void **state) {
  (void)state;
  g_ws = psfwi_reg_ws_create(NX, NZ, NULL);
  assert_non_null(g_ws);
  unsigned long long s = 2024;
  double u[N], x[N];
  /* t chosen so that each threshold zeroes some but not all of u's parts */
  const struct {
    int op;
    double t;
    size_t k;
  } cases[] = {{OP_L1, 0.4, 0},   {OP_GCOL, 0.5, 0}, {OP_GROW, 0.4, 0},
               {OP_NUC, 0.6, 0},  {OP_KSUP, 0.5, 1}, {OP_KSUP, 0.7, 2},
               {OP_KSUP, 0.3, 3}, {OP_TVI, 0.05, 0}, {OP_TVA, 0.05, 0}};
  for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++)
    for (int rep = 0; rep < 3; rep++) {
      random_u(u, N, &s);
      const problem p = {cases[c].op, NX, NZ, cases[c].k, DX, DZ, cases[c].t, u};
      memcpy(x, u, sizeof x);
      apply_prox(&p, x, 1e-7); /* TV: Phi(x) - min Phi <= gap = n tol^2 / 2 = 6e-14 */
      if (cases[c].op == OP_KSUP) printf("  (k = %zu)", cases[c].k);
      check_definition(&p, x, 1e-12);
      double moved = 0.0;
      for (size_t i = 0; i < N; i++) moved = fmax(moved, fabs(x[i] - u[i]));
      assert_true(moved > 1e-3); /* the prox did something */
    }
  psfwi_reg_ws_destroy(g_ws);
  g_ws = NULL;
}

/* Optimality conditions in closed form. */
static void test_prox_optimality(void **state) {
  (void)state;
  g_ws = psfwi_reg_ws_create(NX, NZ, NULL);
  unsigned long long s = 77;
  double u[N], x[N], v[N], sv[R];
  for (int rep = 0; rep < 20; rep++) {
    random_u(u, N, &s);
    /* L1: |u - x| <= t dA, = t dA sign(x) where x != 0 */
    const double t = 0.3, tau = t * DA;
    memcpy(x, u, sizeof x);
    assert_int_equal(psfwi_reg_l1_model_prox(NX, NZ, DX, DZ, t, NULL, x, NULL), 0);
    for (size_t i = 0; i < N; i++) {
      if (x[i] != 0.0)
        assert_true(fabs(u[i] - x[i] - tau * (x[i] > 0 ? 1.0 : -1.0)) <= 1e-15);
      else
        assert_true(fabs(u[i]) <= tau);
    }
    /* group columns: u_g - x_g = tau x_g / |x_g| or |u_g| <= tau */
    const double tg = t * DX * sqrt(DZ);
    memcpy(x, u, sizeof x);
    assert_int_equal(
        psfwi_reg_group_prox(NX, NZ, DX, DZ, PSFWI_REG_GROUP_COLUMNS, t, NULL, x, NULL), 0);
    for (size_t ix = 0; ix < NX; ix++) {
      double nx2 = 0.0, nu2 = 0.0;
      for (size_t iz = 0; iz < NZ; iz++) nx2 += x[iz * NX + ix] * x[iz * NX + ix];
      for (size_t iz = 0; iz < NZ; iz++) nu2 += u[iz * NX + ix] * u[iz * NX + ix];
      if (nx2 > 0.0) {
        for (size_t iz = 0; iz < NZ; iz++)
          assert_true(fabs(u[iz * NX + ix] - x[iz * NX + ix] - tg * x[iz * NX + ix] / sqrt(nx2)) <=
                      1e-15);
      } else {
        assert_true(sqrt(nu2) <= tg);
      }
    }
    /* nuclear: ||u - x||_2 <= tau and <u - x, x> = tau ||x||_* (tau = t sqrt(dA)) */
    const double tn = 2.0 * t * sqrt(DA);
    memcpy(x, u, sizeof x);
    assert_int_equal(psfwi_reg_nuclear_prox(g_ws, DX, DZ, 2.0 * t, NULL, x, NULL), 0);
    double ip = 0.0, nuc = 0.0;
    for (size_t i = 0; i < N; i++) v[i] = u[i] - x[i], ip += v[i] * x[i];
    tu_singular_values(NX, NZ, x, sv);
    for (size_t j = 0; j < R; j++) nuc += sv[j];
    tu_singular_values(NX, NZ, v, sv);
    double smax = 0.0;
    for (size_t j = 0; j < R; j++) smax = fmax(smax, sv[j]);
    assert_true(smax <= tn * (1.0 + 1e-13));
    assert_true(fabs(ip - tn * nuc) <= 1e-13 * (1.0 + tn * nuc));
    /* k-support (squared): Fenchel equality with the dual norm of v = (u - x) / lam,
     * ||v||_(k)* = l2 norm of the k largest singular values:
     * ||x||_(k)^2 / 2 + ||v||_*^2 / 2 = <x, v> */
    for (size_t k = 1; k <= R; k++) {
      const double lam = 0.8 * DA;
      memcpy(x, u, sizeof x);
      assert_int_equal(psfwi_reg_ksupport_prox(g_ws, DX, DZ, k, 0.8, NULL, x, NULL), 0);
      ip = 0.0;
      for (size_t i = 0; i < N; i++) v[i] = (u[i] - x[i]) / lam, ip += v[i] * x[i];
      tu_singular_values(NX, NZ, x, sv);
      const double kn = ksupport_sorted(R, k, sv);
      tu_singular_values(NX, NZ, v, sv);
      qsort(sv, R, sizeof(double), cmp_desc);
      double dual = 0.0;
      for (size_t j = 0; j < k; j++) dual += sv[j] * sv[j];
      const double gap = 0.5 * kn * kn + 0.5 * dual - ip;
      if (rep == 0) printf("  k-support k = %zu: Fenchel gap %.1e\n", k, gap);
      assert_true(fabs(gap) <= 1e-12 * (1.0 + ip));
    }
  }
  psfwi_reg_ws_destroy(g_ws);
  g_ws = NULL;
}

/* Spectral proxes of diagonal matrices (signs and order mixed; rectangular). */
static void test_diagonal_closed_forms(void **state) {
  (void)state;
  enum { DNX = 6, DNZ = 4 };
  const double d[DNZ] = {-3.0, 0.4, 2.2, -1.1};
  psfwi_reg_ws *ws = psfwi_reg_ws_create(DNX, DNZ, NULL);
  assert_non_null(ws);
  double a[DNX * DNZ];
  /* nuclear: diag(sign(d) max(|d| - tau, 0)), tau = t sqrt(dA), dA = 1.25 */
  const double t = 0.8, tau = t * sqrt(DA);
  memset(a, 0, sizeof a);
  for (size_t j = 0; j < DNZ; j++) a[j * DNX + j] = d[j];
  assert_int_equal(psfwi_reg_nuclear_prox(ws, DX, DZ, t, NULL, a, NULL), 0);
  double err = 0.0;
  for (size_t iz = 0; iz < DNZ; iz++)
    for (size_t ix = 0; ix < DNX; ix++) {
      const double e = ix == iz ? (d[iz] > 0 ? 1 : -1) * fmax(fabs(d[iz]) - tau, 0.0) : 0.0;
      err = fmax(err, fabs(a[iz * DNX + ix] - e));
    }
  printf("  singular-value threshold of a diagonal 4 x 6: max error %.1e\n", err);
  assert_true(err <= 1e-14);
  /* k-support, lam = t dA: k = 1 is (lam / 2) ||x||_1^2, closed form
   * x = soft(d, lam L), L = S_s / (1 + lam s) over the s largest |d|;
   * k = 4 is the ridge d / (1 + lam); k = 2 against the vector prox, which
   * the brute-force test checks on its own */
  const double lam = t * DA;
  double sorted[DNZ];
  for (size_t j = 0; j < DNZ; j++) sorted[j] = fabs(d[j]);
  qsort(sorted, DNZ, sizeof(double), cmp_desc);
  double theta = -1.0, S = 0.0;
  for (size_t sz = 1; sz <= DNZ; sz++) {
    S += sorted[sz - 1];
    const double th = lam * S / (1.0 + lam * (double)sz);
    if (sorted[sz - 1] > th && (sz == DNZ || sorted[sz] <= th)) theta = th;
  }
  assert_true(theta > 0.0);
  for (size_t k = 1; k <= DNZ; k++) {
    memset(a, 0, sizeof a);
    for (size_t j = 0; j < DNZ; j++) a[j * DNX + j] = d[j];
    assert_int_equal(psfwi_reg_ksupport_prox(ws, DX, DZ, k, t, NULL, a, NULL), 0);
    double w[DNZ];
    memcpy(w, d, sizeof w);
    psfwi_reg_ksupport_prox_vec(DNZ, k, lam, w);
    err = 0.0;
    for (size_t iz = 0; iz < DNZ; iz++)
      for (size_t ix = 0; ix < DNX; ix++) {
        double e = 0.0;
        if (ix == iz) {
          if (k == 1)
            e = (d[iz] > 0 ? 1 : -1) * fmax(fabs(d[iz]) - theta, 0.0);
          else if (k == DNZ)
            e = d[iz] / (1.0 + lam);
          else
            e = w[iz];
        }
        err = fmax(err, fabs(a[iz * DNX + ix] - e));
      }
    printf("  k-support prox of a diagonal 4 x 6, k = %zu: max error %.1e\n", k, err);
    assert_true(err <= 1e-14);
  }
  psfwi_reg_ws_destroy(ws);
}

/* The vector k-support prox by brute force on random vectors. */
static void test_ksupport_vector_prox(void **state) {
  (void)state;
  unsigned long long s = 5;
  double worst = INFINITY;
  for (int trial = 0; trial < 300; trial++) {
    enum { M = 5 };
    double w[M], x[M], z[M];
    for (size_t i = 0; i < M; i++) w[i] = trial % 4 == 0 ? round(3.0 * tu_urand(&s)) : tu_urand(&s);
    const size_t k = 1 + (size_t)trial % M;
    const double lam = 0.1 + 2.0 * tu_uniform(&s);
    memcpy(x, w, sizeof x);
    psfwi_reg_ksupport_prox_vec(M, k, lam, x);
    const double f0 = 0.5 * lam * pow(ksupport_sorted(M, k, x), 2.0);
    double q0 = 0.0;
    for (size_t i = 0; i < M; i++) q0 += (x[i] - w[i]) * (x[i] - w[i]);
    for (int r = 0; r < 300; r++) {
      const double sc = pow(10.0, -4.0 * tu_uniform(&s));
      double dd = 0.0, q = 0.0;
      for (size_t i = 0; i < M; i++) {
        const double d = sc * tu_urand(&s);
        z[i] = x[i] + d;
        dd += d * d;
        q += (z[i] - w[i]) * (z[i] - w[i]);
      }
      const double f = 0.5 * lam * pow(ksupport_sorted(M, k, z), 2.0) + 0.5 * q;
      worst = fmin(worst, f - (f0 + 0.5 * q0) - 0.5 * dd);
    }
  }
  printf("  vector k-support prox, 300 vectors x 300 points: min strong-convexity margin %+.1e\n",
         worst);
  assert_true(worst >= -1e-13);
}

/* The anisotropic TV prox (t, cx = dz, cz = dx) of a rectangle of height h
 * (RX x RY cells at X0, Z0) in a 9 x 7 grid, 0 elsewhere. With dx = 5 dz
 * a jump across a vertical edge (weight cx = 0.5) is cheap, so the outside
 * splits along the rectangle's sides into five plateaus: the rectangle I,
 * the strips T above and below it (ZT rows each), the columns L to its left
 * and Rr to its right. Each plateau moves by t x (weighted length of its
 * border, signed by the neighbour's side) / (its cell count):
 *   I = h - t (2 RY cx + 2 RX cz) / (RX RY)
 *   T = t (RX cz - 2 ZT cx) / (ZT RX)    (above I, below L and Rr)
 *   L = t GZ cx / (X0 GZ),  Rr = t GZ cx / ((GX - X0 - RX) GZ)
 * and the values keep that order (I > T > L > Rr > 0), so the signs hold. */
enum { GX = 9, GZ = 7, GN = GX * GZ, RX = 4, RY = 3, X0 = 2, Z0 = 2, ZT = 2 };
static void rect_problem(double h, double t, double *b, double *expect) {
  const double cx = DZ, cz = DX;
  const double I = h - t * (2.0 * RY * cx + 2.0 * RX * cz) / (RX * RY);
  const double T = t * (RX * cz - 2.0 * ZT * cx) / (ZT * RX);
  const double Lv = t * cx / X0, Rv = t * cx / (GX - X0 - RX);
  assert_true(I > T && T > Lv && Lv > Rv && Rv > 0.0);
  for (size_t iz = 0; iz < GZ; iz++)
    for (size_t ix = 0; ix < GX; ix++) {
      const size_t c = iz * GX + ix;
      const int inx = ix >= X0 && ix < X0 + RX, inz = iz >= Z0 && iz < Z0 + RY;
      b[c] = inx && inz ? h : 0.0;
      expect[c] = inx ? (inz ? I : T) : (ix < X0 ? Lv : Rv);
    }
}

/* 1-D step and 2-D rectangle: TV proxes in closed form; warm start. */
static void test_tv_closed_forms(void **state) {
  (void)state;
  /* 1-D (nz = 1): R = dz sum |dX x|; step a (n1 cells) | c (n2 cells):
   * left a + tau / n1, right c - tau / n2, tau = t dz */
  enum { L = 10, N1 = 4 };
  psfwi_reg_ws *ws = psfwi_reg_ws_create(L, 1, NULL);
  double u[L], x[L];
  for (size_t i = 0; i < L; i++) u[i] = i < N1 ? 1500.0 : 1800.0;
  const double t = 400.0, tau = t * DZ;
  for (int kind = 0; kind < 2; kind++) {
    memcpy(x, u, sizeof x);
    psfwi_reg_tv_prox_opts o;
    psfwi_reg_tv_prox_opts_init(&o);
    o.tol = 1e-4; /* the certificate is loose: RMS bound ~ sqrt(t |K (x - x*)|_1 / n) */
    o.max_iter = 100000;
    psfwi_reg_tv_prox_info info;
    assert_int_equal(psfwi_reg_tv_prox(ws, kind, DX, DZ, t, &o, x, &info, NULL), 0);
    double err = 0.0;
    for (size_t i = 0; i < L; i++)
      err = fmax(err, fabs(x[i] - (i < N1 ? 1500.0 + tau / N1 : 1800.0 - tau / (L - N1))));
    printf("  1-D step, %s: %zu dual iterations, certified RMS bound %.1e, max error %.1e\n",
           kind ? "anisotropic" : "isotropic", info.iter, info.rms_bound, err);
    assert_true(info.converged && err <= 1e-8);
  }
  psfwi_reg_ws_destroy(ws);

  /* 2-D anisotropic: the rectangle of rect_problem */
  ws = psfwi_reg_ws_create(GX, GZ, NULL);
  double b[GN], y[GN], ex[GN];
  const double h = 100.0, t2 = 4.0;
  rect_problem(h, t2, b, ex);
  psfwi_reg_tv_prox_opts o;
  psfwi_reg_tv_prox_opts_init(&o);
  o.tol = 1e-4;
  o.max_iter = 200000;
  psfwi_reg_tv_prox_info info;
  memcpy(y, b, sizeof y);
  assert_int_equal(psfwi_reg_tv_prox(ws, PSFWI_REG_TV_ANISOTROPIC, DX, DZ, t2, &o, y, &info, NULL),
                   0);
  double err = 0.0;
  for (size_t i = 0; i < GN; i++) err = fmax(err, fabs(y[i] - ex[i]));
  printf("  2-D rectangle, anisotropic: %zu dual iterations, RMS bound %.1e, max error %.1e\n",
         info.iter, info.rms_bound, err);
  assert_true(info.converged && err <= 1e-6);
  /* warm start: the same problem again converges at once */
  memcpy(y, b, sizeof y);
  o.warm = 1;
  assert_int_equal(psfwi_reg_tv_prox(ws, PSFWI_REG_TV_ANISOTROPIC, DX, DZ, t2, &o, y, &info, NULL),
                   0);
  printf("  warm restart of the same problem: %zu dual iterations\n", info.iter);
  assert_true(info.converged && info.iter <= 1);
  /* the certified bound holds: a loose solve is within its bound of the tight one */
  double ref[GN];
  memcpy(ref, b, sizeof ref);
  o.warm = 0;
  o.tol = 1e-5;
  assert_int_equal(psfwi_reg_tv_prox(ws, PSFWI_REG_TV_ISOTROPIC, DX, DZ, t2, &o, ref, &info, NULL),
                   0);
  memcpy(y, b, sizeof y);
  o.tol = 0.5;
  assert_int_equal(psfwi_reg_tv_prox(ws, PSFWI_REG_TV_ISOTROPIC, DX, DZ, t2, &o, y, &info, NULL),
                   0);
  double d2 = 0.0;
  for (size_t i = 0; i < GN; i++) d2 += (y[i] - ref[i]) * (y[i] - ref[i]);
  printf("  isotropic, tol 0.5: %zu iterations, RMS distance %.3g <= bound %.3g\n", info.iter,
         sqrt(d2 / GN), info.rms_bound);
  assert_true(sqrt(d2 / GN) <= info.rms_bound + 1e-9 && info.rms_bound <= 0.5);
  /* max_iter reached: not an error, converged = 0 */
  memcpy(y, b, sizeof y);
  o.tol = 1e-12;
  o.max_iter = 3;
  assert_int_equal(psfwi_reg_tv_prox(ws, PSFWI_REG_TV_ISOTROPIC, DX, DZ, t2, &o, y, &info, NULL),
                   0);
  assert_true(!info.converged && info.iter == 3);
  psfwi_reg_ws_destroy(ws);
}

/* A prior shifts every prox: prox(u; m0) = m0 + prox(u - m0). */
static void test_prior_shift(void **state) {
  (void)state;
  psfwi_reg_ws *ws = psfwi_reg_ws_create(NX, NZ, NULL);
  unsigned long long s = 3;
  float m0[N];
  double u[N], a[N], b[N];
  for (size_t i = 0; i < N; i++) m0[i] = (float)(1500.0 + round(64.0 * tu_urand(&s)) / 8.0);
  for (size_t i = 0; i < N; i++) u[i] = (double)m0[i] + tu_urand(&s);
  for (int op = 0; op < 4; op++) {
    memcpy(a, u, sizeof a);
    for (size_t i = 0; i < N; i++) b[i] = u[i] - (double)m0[i];
    switch (op) {
      case 0:
        assert_int_equal(psfwi_reg_l1_model_prox(NX, NZ, DX, DZ, 0.3, m0, a, NULL), 0);
        assert_int_equal(psfwi_reg_l1_model_prox(NX, NZ, DX, DZ, 0.3, NULL, b, NULL), 0);
        break;
      case 1:
        assert_int_equal(psfwi_reg_group_prox(NX, NZ, DX, DZ, 1, 0.3, m0, a, NULL), 0);
        assert_int_equal(psfwi_reg_group_prox(NX, NZ, DX, DZ, 1, 0.3, NULL, b, NULL), 0);
        break;
      case 2:
        assert_int_equal(psfwi_reg_nuclear_prox(ws, DX, DZ, 0.3, m0, a, NULL), 0);
        assert_int_equal(psfwi_reg_nuclear_prox(ws, DX, DZ, 0.3, NULL, b, NULL), 0);
        break;
      default:
        assert_int_equal(psfwi_reg_ksupport_prox(ws, DX, DZ, 2, 0.3, m0, a, NULL), 0);
        assert_int_equal(psfwi_reg_ksupport_prox(ws, DX, DZ, 2, 0.3, NULL, b, NULL), 0);
    }
    for (size_t i = 0; i < N; i++) assert_true(fabs(a[i] - ((double)m0[i] + b[i])) <= 1e-11);
  }
  psfwi_reg_ws_destroy(ws);
}

/* ---- FISTA ------------------------------------------------------------------------ */

typedef struct lasso {
  size_t m, n;
  const double *A, *b; /* A[i * n + j] */
  double lam;
} lasso;

static double lasso_f(const lasso *L, const double *x, double *g) {
  double f = 0.0;
  if (g) memset(g, 0, L->n * sizeof(double));
  for (size_t i = 0; i < L->m; i++) {
    double r = -L->b[i];
    for (size_t j = 0; j < L->n; j++) r += L->A[i * L->n + j] * x[j];
    f += 0.5 * r * r;
    if (g)
      for (size_t j = 0; j < L->n; j++) g[j] += L->A[i * L->n + j] * r;
  }
  return f;
}

static int prox_l1(void *ctx, size_t n, double t, double *x, psfwi_error *err) {
  (void)err;
  psfwi_reg_l1_prox(n, t * ((const lasso *)ctx)->lam, x);
  return 0;
}

/* Drive FISTA on f; returns the info at the end. */
typedef double (*smooth_fn)(const void *ctx, const double *x, double *g);

static psfwi_reg_fista_info run_fista(psfwi_reg_fista *o, const double *x0, smooth_fn f,
                                      const void *ctx, size_t n, size_t stop_after_iter) {
  double g[128];
  assert_true(n <= 128);
  if (x0) assert_int_equal(psfwi_reg_fista_set(o, x0, NULL), 0);
  psfwi_reg_fista_info info;
  for (;;) {
    int task;
    psfwi_error err;
    const int st = psfwi_reg_fista_iterate(o, &task, &err);
    if (st) printf("FISTA: %s\n", err.msg);
    assert_int_equal(st, 0);
    if (task == PSFWI_FISTA_EVAL_FG) {
      const double fv = f(ctx, psfwi_reg_fista_x(o), g);
      assert_int_equal(psfwi_reg_fista_tell(o, fv, g, NULL), 0);
    } else if (task == PSFWI_FISTA_EVAL_F) {
      assert_int_equal(psfwi_reg_fista_tell(o, f(ctx, psfwi_reg_fista_x(o), NULL), NULL, NULL), 0);
    } else if (task == PSFWI_FISTA_NEW_X) {
      psfwi_reg_fista_get_info(o, &info);
      if (stop_after_iter && info.iter == stop_after_iter) return info;
    } else {
      break;
    }
  }
  psfwi_reg_fista_get_info(o, &info);
  return info;
}

static double lasso_fn(const void *ctx, const double *x, double *g) { return lasso_f(ctx, x, g); }

static void test_fista_lasso(void **state) {
  (void)state;
  enum { M = 12, P = 8 };
  double A[M * P], b[M], xcd[P], x0[P];
  unsigned long long s = 31;
  for (size_t i = 0; i < M * P; i++) A[i] = tu_urand(&s);
  for (size_t i = 0; i < M; i++) b[i] = 2.0 * tu_urand(&s);
  double atb = 0.0;
  for (size_t j = 0; j < P; j++) {
    double c = 0.0;
    for (size_t i = 0; i < M; i++) c += A[i * P + j] * b[i];
    atb = fmax(atb, fabs(c));
  }
  const lasso L = {M, P, A, b, 0.25 * atb};
  /* reference: cyclic coordinate descent to a fixed point */
  memset(xcd, 0, sizeof xcd);
  for (int sweep = 0; sweep < 200000; sweep++) {
    double change = 0.0;
    for (size_t j = 0; j < P; j++) {
      double aj2 = 0.0, rho = 0.0;
      for (size_t i = 0; i < M; i++) {
        double r = b[i];
        for (size_t k = 0; k < P; k++)
          if (k != j) r -= A[i * P + k] * xcd[k];
        rho += A[i * P + j] * r;
        aj2 += A[i * P + j] * A[i * P + j];
      }
      const double v = (rho > L.lam ? rho - L.lam : (rho < -L.lam ? rho + L.lam : 0.0)) / aj2;
      change = fmax(change, fabs(v - xcd[j]));
      xcd[j] = v;
    }
    if (change == 0.0) break;
  }
  size_t nz = 0;
  for (size_t j = 0; j < P; j++) nz += xcd[j] != 0.0;
  assert_true(nz > 0 && nz < P); /* a real Lasso: some zeros, some not */
  for (size_t j = 0; j < P; j++) x0[j] = 1.0;
  for (int restart = 0; restart < 2; restart++) {
    psfwi_reg_fista_options opt;
    psfwi_reg_fista_options_init(&opt);
    opt.step0 = 10.0; /* far above 1 / L: backtracking must act */
    opt.restart = restart;
    opt.gtol = 1e-12;
    opt.max_iter = 100000;
    psfwi_reg_fista *o = psfwi_reg_fista_create(P, &opt, prox_l1, (void *)&L, NULL);
    assert_non_null(o);
    const psfwi_reg_fista_info info = run_fista(o, x0, lasso_fn, &L, P, 0);
    const double *x;
    psfwi_reg_fista_current(o, &x, NULL);
    double err = 0.0;
    for (size_t j = 0; j < P; j++) err = fmax(err, fabs(x[j] - xcd[j]));
    printf(
        "  Lasso %dx%d (%zu nonzeros), restart %d: %s after %zu iterations, %zu f, %zu grad, "
        "%zu backtracks, %zu restarts; max |x - x_cd| = %.1e\n",
        M, P, nz, restart, psfwi_fista_reason_text(info.reason), info.iter, info.nfev, info.ngev,
        info.n_backtrack, info.n_restart, err);
    assert_int_equal(info.reason, PSFWI_FISTA_GTOL);
    assert_true(info.n_backtrack > 0);
    assert_true(err <= 1e-10);
    for (size_t j = 0; j < P; j++) assert_true((x[j] == 0.0) == (xcd[j] == 0.0)); /* support */
    psfwi_reg_fista_destroy(o);
  }
}

/* TV denoising: f = |x - b|^2 / 2, g = t TV; the answer is the TV prox of b. */
typedef struct denoise {
  size_t nx, nz;
  const double *b;
  int kind;
  double t;
  psfwi_reg_ws *ws;
  size_t inner; /* dual iterations in all */
} denoise;

static double denoise_f(const void *ctx, const double *x, double *g) {
  const denoise *D = ctx;
  double f = 0.0;
  for (size_t i = 0; i < D->nx * D->nz; i++) {
    f += 0.5 * (x[i] - D->b[i]) * (x[i] - D->b[i]);
    if (g) g[i] = x[i] - D->b[i];
  }
  return f;
}

static int prox_tv(void *ctx, size_t n, double a, double *x, psfwi_error *err) {
  denoise *D = ctx;
  (void)n;
  psfwi_reg_tv_prox_opts o;
  psfwi_reg_tv_prox_opts_init(&o);
  o.tol = 1e-5;
  o.max_iter = 100000;
  o.warm = 1;
  psfwi_reg_tv_prox_info info;
  const int st = psfwi_reg_tv_prox(D->ws, D->kind, DX, DZ, a * D->t, &o, x, &info, err);
  D->inner += info.iter;
  return st;
}

static void test_fista_tv_denoising(void **state) {
  (void)state;
  /* the 2-D rectangle of test_tv_closed_forms, anisotropic, and the 1-D step */
  double b[GN], expect[GN], x0[GN];
  const double h = 100.0, t = 4.0;
  rect_problem(h, t, b, expect);
  for (size_t i = 0; i < GN; i++) x0[i] = 50.0;
  for (int one_d = 0; one_d < 2; one_d++) {
    const size_t nx = GX, nz = one_d ? 1 : GZ, n = nx * nz;
    double bb[GN], ee[GN];
    if (one_d) { /* the middle row: a step 0 | 100 | 0 over 2, 4, 3 cells */
      for (size_t ix = 0; ix < GX; ix++) {
        bb[ix] = b[Z0 * GX + ix];
        const int in = ix >= X0 && ix < X0 + RX;
        ee[ix] = in ? h - 2.0 * t * DZ / RX : (ix < X0 ? t * DZ / X0 : t * DZ / (GX - X0 - RX));
      }
    } else {
      memcpy(bb, b, sizeof bb);
      memcpy(ee, expect, sizeof ee);
    }
    denoise D = {nx, nz, bb, PSFWI_REG_TV_ANISOTROPIC, t, psfwi_reg_ws_create(nx, nz, NULL), 0};
    psfwi_reg_fista_options opt;
    psfwi_reg_fista_options_init(&opt);
    opt.step0 = 0.3; /* below 1 / L = 1: many iterations, not one exact step */
    opt.gtol = 1e-9;
    opt.max_iter = 10000;
    psfwi_reg_fista *o = psfwi_reg_fista_create(n, &opt, prox_tv, &D, NULL);
    const psfwi_reg_fista_info info = run_fista(o, x0, denoise_f, &D, n, 0);
    const double *x;
    psfwi_reg_fista_current(o, &x, NULL);
    double err = 0.0;
    for (size_t i = 0; i < n; i++) err = fmax(err, fabs(x[i] - ee[i]));
    printf(
        "  TV denoising %s (anisotropic): %s after %zu iterations (%zu dual iterations in "
        "all), max error vs closed form %.1e\n",
        one_d ? "1-D step" : "2-D rectangle", psfwi_fista_reason_text(info.reason), info.iter,
        D.inner, err);
    assert_int_equal(info.reason, PSFWI_FISTA_GTOL);
    assert_true(err <= 1e-7);
    psfwi_reg_fista_destroy(o);
    psfwi_reg_ws_destroy(D.ws);
  }
}

static void test_fista_state_and_errors(void **state) {
  (void)state;
  enum { M = 10, P = 6 };
  double A[M * P], b[M], x0[P];
  unsigned long long s = 8;
  for (size_t i = 0; i < M * P; i++) A[i] = tu_urand(&s);
  for (size_t i = 0; i < M; i++) b[i] = tu_urand(&s);
  for (size_t j = 0; j < P; j++) x0[j] = 0.5;
  const lasso L = {M, P, A, b, 0.3};
  psfwi_reg_fista_options opt;
  psfwi_reg_fista_options_init(&opt);
  opt.step0 = 5.0;
  opt.max_iter = 60;
  psfwi_reg_fista *a = psfwi_reg_fista_create(P, &opt, prox_l1, (void *)&L, NULL);
  psfwi_reg_fista *c = psfwi_reg_fista_create(P, &opt, prox_l1, (void *)&L, NULL);
  run_fista(a, x0, lasso_fn, &L, P, 0);
  const double *xa, *xc;
  psfwi_reg_fista_current(a, &xa, NULL);
  /* second run: stop at iteration 17, save, restore into c, continue */
  psfwi_reg_fista *bb = psfwi_reg_fista_create(P, &opt, prox_l1, (void *)&L, NULL);
  run_fista(bb, x0, lasso_fn, &L, P, 17);
  const size_t sz = psfwi_reg_fista_state_size(bb);
  unsigned char *buf = malloc(sz);
  assert_int_equal(psfwi_reg_fista_state_save(bb, buf, sz, NULL), 0);
  psfwi_reg_fista_destroy(bb);
  psfwi_error err;
  buf[sz / 2] ^= 1;
  assert_int_equal(psfwi_reg_fista_state_restore(c, buf, sz, &err), PSFWI_EFORMAT);
  buf[sz / 2] ^= 1;
  assert_int_equal(psfwi_reg_fista_state_restore(c, buf, sz - 1, &err), PSFWI_EFORMAT);
  assert_int_equal(psfwi_reg_fista_state_restore(c, buf, sz, &err), 0);
  psfwi_reg_fista_info ia, ic;
  ic = run_fista(c, NULL, lasso_fn, &L, P, 0);
  psfwi_reg_fista_get_info(a, &ia);
  psfwi_reg_fista_current(c, &xc, NULL);
  assert_memory_equal(xa, xc, P * sizeof(double));
  assert_int_equal(ia.nfev, ic.nfev);
  assert_int_equal(ia.reason, PSFWI_FISTA_MAXITER);
  printf("  save at iteration 17, restore, continue: bit-identical after %zu iterations\n",
         ic.iter);
  /* another n */
  psfwi_reg_fista *d = psfwi_reg_fista_create(P + 1, &opt, prox_l1, (void *)&L, NULL);
  assert_int_equal(psfwi_reg_fista_state_restore(d, buf, sz, &err), PSFWI_EINVAL);
  free(buf);
  /* call order and values */
  int task;
  assert_int_equal(psfwi_reg_fista_iterate(d, &task, &err), PSFWI_EINVAL);
  assert_int_equal(psfwi_reg_fista_tell(d, 1.0, x0, &err), PSFWI_EINVAL);
  psfwi_reg_fista_destroy(d);
  assert_int_equal(psfwi_reg_fista_set(c, x0, NULL), 0);
  assert_int_equal(psfwi_reg_fista_iterate(c, &task, NULL), 0);
  assert_int_equal(task, PSFWI_FISTA_EVAL_FG);
  assert_int_equal(psfwi_reg_fista_tell(c, 1.0, NULL, &err), PSFWI_EINVAL);
  assert_int_equal(psfwi_reg_fista_tell(c, NAN, x0, &err), PSFWI_ENONFINITE);
  assert_int_equal(psfwi_reg_fista_iterate(c, &task, NULL), 0);
  assert_int_equal(task, PSFWI_FISTA_FAILED);
  psfwi_reg_fista_get_info(c, &ic);
  assert_int_equal(ic.reason, PSFWI_FISTA_NONFINITE);
  /* a smooth part that never decreases enough: backtracking gives up */
  opt.max_backtrack = 5;
  psfwi_reg_fista_destroy(c);
  c = psfwi_reg_fista_create(P, &opt, prox_l1, (void *)&L, NULL);
  assert_int_equal(psfwi_reg_fista_set(c, x0, NULL), 0);
  for (int i = 0; i < 20; i++) {
    assert_int_equal(psfwi_reg_fista_iterate(c, &task, NULL), 0);
    if (task == PSFWI_FISTA_EVAL_FG || task == PSFWI_FISTA_EVAL_F) {
      double g[P];
      for (size_t j = 0; j < P; j++) g[j] = 1.0;
      assert_int_equal(psfwi_reg_fista_tell(c, task == PSFWI_FISTA_EVAL_F ? 1e9 : 0.0, g, NULL), 0);
    } else if (task != PSFWI_FISTA_NEW_X) {
      break;
    }
  }
  assert_int_equal(task, PSFWI_FISTA_FAILED);
  psfwi_reg_fista_get_info(c, &ic);
  assert_int_equal(ic.reason, PSFWI_FISTA_BACKTRACK);
  assert_int_equal(ic.n_backtrack, 5);
  psfwi_reg_fista_destroy(c);
  psfwi_reg_fista_destroy(a);
  /* options */
  psfwi_reg_fista_options_init(&opt);
  opt.shrink = 1.0;
  assert_null(psfwi_reg_fista_create(P, &opt, prox_l1, NULL, &err));
  assert_non_null(strstr(err.msg, "shrink"));
  psfwi_reg_fista_options_init(&opt);
  opt.step0 = 0.0;
  assert_null(psfwi_reg_fista_create(P, &opt, prox_l1, NULL, &err));
  assert_null(psfwi_reg_fista_create(P, NULL, NULL, NULL, &err));
  assert_null(psfwi_reg_fista_create(0, NULL, prox_l1, NULL, &err));
  assert_string_equal(psfwi_fista_task_text(PSFWI_FISTA_EVAL_F),
                      "evaluate f (gradient not needed) at fista_x");
  assert_string_equal(psfwi_fista_reason_text(99), "unknown reason");
  /* prox errors */
  psfwi_reg_ws *ws = psfwi_reg_ws_create(NX, NZ, NULL);
  double u[N];
  memset(u, 0, sizeof u);
  assert_int_equal(psfwi_reg_nuclear_prox(ws, DX, DZ, -1.0, NULL, u, &err), PSFWI_ERANGE);
  assert_int_equal(psfwi_reg_ksupport_prox(ws, DX, DZ, 0, 1.0, NULL, u, &err), PSFWI_EINVAL);
  assert_int_equal(psfwi_reg_ksupport_prox(ws, DX, DZ, 4, 1.0, NULL, u, &err), PSFWI_EINVAL);
  assert_int_equal(psfwi_reg_tv_prox(ws, 2, DX, DZ, 1.0, NULL, u, NULL, &err), PSFWI_EINVAL);
  assert_int_equal(psfwi_reg_tv_prox(NULL, 0, DX, DZ, 1.0, NULL, u, NULL, &err), PSFWI_EINVAL);
  assert_int_equal(psfwi_reg_group_prox(NX, NZ, DX, DZ, 5, 1.0, NULL, u, &err), PSFWI_EINVAL);
  u[3] = INFINITY;
  assert_int_equal(psfwi_reg_l1_model_prox(NX, NZ, DX, DZ, 1.0, NULL, u, &err), PSFWI_ENONFINITE);
  assert_int_equal(psfwi_reg_tv_prox(ws, 0, DX, DZ, 1.0, NULL, u, NULL, &err), PSFWI_ENONFINITE);
  assert_true(isinf(u[3])); /* unchanged */
  psfwi_reg_ws_destroy(ws);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_prox_definitions),
      cmocka_unit_test(test_prox_optimality),
      cmocka_unit_test(test_diagonal_closed_forms),
      cmocka_unit_test(test_ksupport_vector_prox),
      cmocka_unit_test(test_tv_closed_forms),
      cmocka_unit_test(test_prior_shift),
      cmocka_unit_test(test_fista_lasso),
      cmocka_unit_test(test_fista_tv_denoising),
      cmocka_unit_test(test_fista_state_and_errors),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
