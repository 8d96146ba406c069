/* regularize: the sparsity, group, Jacobian and spectral norms of the model
 * (norms.c). Exact gradients of the smoothed norms by central finite
 * differences (with and without a prior and a mask), closed-form values of
 * the unsmoothed norms (a rank-one matrix, a ramp, a step, the k-support
 * norm against Argyriou et al.'s sorted formula), grid-refinement
 * invariance, and the error paths.
 *
 * Exactness of the perturbations: model values are multiples of 2^-6 below
 * 2048 and steps h multiples of 2^-12, so m +- h is exact in float32. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "psfwi_regularize.h"
#include "testutil.h"

enum { NX = 9, NZ = 7, N = NX * NZ };
static const double DX = 12.5, DZ = 10.0, DA = 12.5 * 10.0;

static float lattice(double v) { return (float)(round(v * 64.0) / 64.0); }

static void smooth_model(float *m) {
  for (size_t iz = 0; iz < NZ; iz++)
    for (size_t ix = 0; ix < NX; ix++)
      m[iz * NX + ix] = lattice(
          1750.0 + 120.0 * sin(0.7 * (double)ix + 0.3) * cos(0.5 * (double)iz) + 15.0 * (double)iz);
}

/* A prior a few m/s away from the smooth model, with some exact zeros of
 * m - m0 kept away (|m - m0| >= 1/4): values on the same lattice. */
static void prior_model(const float *m, float *m0) {
  unsigned long long s = 7;
  for (size_t i = 0; i < N; i++) {
    double d = 12.0 * tu_urand(&s);
    if (fabs(d) < 0.25) d = 0.5;
    m0[i] = lattice((double)m[i] - d);
  }
}

static psfwi_reg_ws *g_ws;
static const float *g_m0;
static const unsigned char *g_mask;

typedef double (*pen_fn)(const float *m, double *g);

static double pen_l1(const float *m, double *g) {
  double v;
  assert_int_equal(psfwi_reg_l1_model(NX, NZ, DX, DZ, 0.8, 2.0, m, g_m0, g_mask, &v, g, NULL), 0);
  return v;
}
static double pen_group_cols(const float *m, double *g) {
  double v;
  assert_int_equal(psfwi_reg_group(NX, NZ, DX, DZ, PSFWI_REG_GROUP_COLUMNS, 0.6, 3.0, m, g_m0,
                                   g_mask, &v, g, NULL),
                   0);
  return v;
}
static double pen_group_rows(const float *m, double *g) {
  double v;
  assert_int_equal(
      psfwi_reg_group(NX, NZ, DX, DZ, PSFWI_REG_GROUP_ROWS, 1.1, 3.0, m, g_m0, g_mask, &v, g, NULL),
      0);
  return v;
}
static double pen_tva(const float *m, double *g) {
  double v;
  assert_int_equal(psfwi_reg_tv_aniso(NX, NZ, DX, DZ, 2.0, 0.05, m, g_mask, &v, g, NULL), 0);
  return v;
}
static double pen_ksupport2(const float *m, double *g) {
  double v;
  assert_int_equal(psfwi_reg_ksupport(g_ws, DX, DZ, 0.7, 2, m, g_m0, g_mask, &v, g, NULL), 0);
  return v;
}
static double pen_nuclear(const float *m, double *g) {
  double v;
  assert_int_equal(psfwi_reg_nuclear(g_ws, DX, DZ, 0.9, 20.0, m, g_m0, g_mask, &v, g, NULL), 0);
  return v;
}

/* Central differences per cell against the gradient; returns max error /
 * max gradient. */
static double central_fd(pen_fn R, double h, const float *m_in) {
  float m[N];
  memcpy(m, m_in, sizeof m);
  double g[N], gmax = 0.0, emax = 0.0;
  memset(g, 0, sizeof g);
  R(m, g);
  for (size_t i = 0; i < N; i++) {
    if (g_mask && g_mask[i]) {
      assert_true(g[i] == 0.0);
      continue;
    }
    const float keep = m[i];
    m[i] = (float)((double)keep + h);
    assert_true((double)m[i] == (double)keep + h);
    const double fp = R(m, NULL);
    m[i] = (float)((double)keep - h);
    const double fm = R(m, NULL);
    m[i] = keep;
    gmax = fmax(gmax, fabs(g[i]));
    emax = fmax(emax, fabs((fp - fm) / (2.0 * h) - g[i]));
  }
  assert_true(gmax > 0.0);
  return emax / gmax;
}

static void test_gradients(void **state) {
  (void)state;
  static float m[N], m0[N];
  smooth_model(m);
  prior_model(m, m0);
  unsigned char mask[N];
  for (size_t i = 0; i < N; i++) mask[i] = (i / NX < 2) || (i % NX == 4 && i / NX == 3);
  g_ws = psfwi_reg_ws_create(NX, NZ, NULL);
  assert_non_null(g_ws);
  const struct {
    pen_fn f;
    const char *name;
    int prior;     /* uses m0; 2: only with it (see below) */
    double h, tol; /* h with the prior (small differences, more curvature) */
    double h0;     /* h without it */
  } cases[] = {{pen_l1, "L1 (eps 2 m/s)", 1, 0x1p-12, 1e-7, 0x1p-6},
               {pen_group_cols, "group columns", 1, 0x1p-10, 1e-7, 0x1p-8},
               {pen_group_rows, "group rows", 1, 0x1p-10, 1e-7, 0x1p-8},
               {pen_tva, "aniso TV (eps 0.05/s)", 0, 0x1p-10, 1e-6, 0x1p-10},
               {pen_nuclear, "nuclear (eps 20)", 1, 0x1p-11, 1e-7, 0x1p-11},
               {pen_ksupport2, "k-support (k = 2)", 2, 0x1p-11, 1e-7, 0x1p-11}};
  for (int variant = 0; variant < 3; variant++) { /* 0: plain, 1: prior, 2: prior + mask */
    g_m0 = variant >= 1 ? m0 : NULL;
    g_mask = variant == 2 ? mask : NULL;
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
      if (variant == 1 && !cases[k].prior) continue; /* nothing new */
      /* the smooth model alone is nearly of rank 2 (its other singular values
       * are tiny): the k-support norm, an l1-like function of the small
       * singular values, has its kinks there; m - m0 is of full rank */
      if (variant == 0 && cases[k].prior == 2) continue;
      const double e = central_fd(cases[k].f, g_m0 ? cases[k].h : cases[k].h0, m);
      printf("  %-22s %-12s central FD: max error / max gradient %.2e (tol %.0e)\n", cases[k].name,
             variant == 0 ? "" : (variant == 1 ? "prior" : "prior+mask"), e, cases[k].tol);
      assert_true(e <= cases[k].tol);
    }
  }
  g_m0 = NULL;
  g_mask = NULL;
  psfwi_reg_ws_destroy(g_ws);
  g_ws = NULL;
}

static int cmp_desc(const void *pa, const void *pb) {
  const double a = *(const double *)pa, b = *(const double *)pb;
  return a < b ? 1 : (a > b ? -1 : 0);
}

/* Argyriou, Foygel & Srebro (2012), Prop. 2.1: with |w| sorted decreasing
 * (1-based, |w|_0 = inf), r in 0..k-1 the integer with
 * |w|_{k-r-1} > T_r / (r + 1) >= |w|_{k-r}, T_r = sum_{i >= k-r} |w|_i:
 * ||w||_(k)^2 = sum_{i < k-r} |w|_i^2 + T_r^2 / (r + 1). */
static double ksupport_sorted(size_t n, size_t k, const double *w) {
  double *a = malloc(n * sizeof(double));
  for (size_t i = 0; i < n; i++) a[i] = fabs(w[i]);
  qsort(a, n, sizeof(double), cmp_desc);
  double best = -1.0;
  for (size_t r = 0; r < k; r++) {
    double T = 0.0, head = 0.0;
    for (size_t i = k - r; i <= n; i++) T += a[i - 1];
    for (size_t i = 1; i < k - r; i++) head += a[i - 1] * a[i - 1];
    const double upper = k - r - 1 == 0 ? INFINITY : a[k - r - 2];
    if (upper > T / (double)(r + 1) && T / (double)(r + 1) >= a[k - r - 1]) {
      best = sqrt(head + T * T / (double)(r + 1));
      break;
    }
  }
  free(a);
  assert_true(best >= 0.0);
  return best;
}

static void test_closed_forms(void **state) {
  (void)state;
  float m[N], m0[N];
  double v, r[N];
  /* L1 and groups of a difference to a prior, eps = 0 */
  smooth_model(m);
  prior_model(m, m0);
  double l1 = 0.0, gc = 0.0, gr = 0.0;
  for (size_t i = 0; i < N; i++) r[i] = (double)m[i] - (double)m0[i], l1 += fabs(r[i]);
  for (size_t ix = 0; ix < NX; ix++) {
    double q = 0.0;
    for (size_t iz = 0; iz < NZ; iz++) q += r[iz * NX + ix] * r[iz * NX + ix];
    gc += DX * sqrt(DZ * q);
  }
  for (size_t iz = 0; iz < NZ; iz++) {
    double q = 0.0;
    for (size_t ix = 0; ix < NX; ix++) q += r[iz * NX + ix] * r[iz * NX + ix];
    gr += DZ * sqrt(DX * q);
  }
  assert_int_equal(psfwi_reg_l1_model(NX, NZ, DX, DZ, 1.5, 0.0, m, m0, NULL, &v, NULL, NULL), 0);
  assert_true(fabs(v - 1.5 * DA * l1) <= 1e-13 * v);
  assert_int_equal(psfwi_reg_group(NX, NZ, DX, DZ, PSFWI_REG_GROUP_COLUMNS, 0.5, 0.0, m, m0, NULL,
                                   &v, NULL, NULL),
                   0);
  assert_true(fabs(v - 0.5 * gc) <= 1e-13 * v);
  assert_int_equal(
      psfwi_reg_group(NX, NZ, DX, DZ, PSFWI_REG_GROUP_ROWS, 0.5, 0.0, m, m0, NULL, &v, NULL, NULL),
      0);
  assert_true(fabs(v - 0.5 * gr) <= 1e-13 * v);
  /* smoothing: within eps per term, below the exact value */
  double vs;
  assert_int_equal(psfwi_reg_l1_model(NX, NZ, DX, DZ, 1.5, 0.5, m, m0, NULL, &vs, NULL, NULL), 0);
  assert_true(vs < 1.5 * DA * l1 && vs >= 1.5 * DA * (l1 - 0.5 * N));

  /* anisotropic TV of a ramp: lam dA (|a| (nx - 1) nz + |b| nx (nz - 1)) */
  const double a = 0.5, b = -0.8, lam = 2.0;
  for (size_t iz = 0; iz < NZ; iz++)
    for (size_t ix = 0; ix < NX; ix++)
      m[iz * NX + ix] = (float)(1500.0 + a * DX * (double)ix + b * DZ * (double)iz);
  assert_int_equal(psfwi_reg_tv_aniso(NX, NZ, DX, DZ, lam, 0.0, m, NULL, &v, NULL, NULL), 0);
  const double tva = lam * DA * (fabs(a) * (NX - 1) * NZ + fabs(b) * NX * (NZ - 1));
  assert_true(fabs(v - tva) <= 1e-12 * tva);
  /* a diagonal step: J (Lx + Lz) for the anisotropic, the staircase */
  for (size_t iz = 0; iz < NZ; iz++)
    for (size_t ix = 0; ix < NX; ix++) m[iz * NX + ix] = (float)(ix + iz < 6 ? 1500.0 : 1800.0);
  assert_int_equal(psfwi_reg_tv_aniso(NX, NZ, DX, DZ, 1.0, 0.0, m, NULL, &v, NULL, NULL), 0);
  assert_true(fabs(v - 300.0 * 6.0 * (DZ + DX)) <= 1e-12 * v);

  /* nuclear norm of a rank-one model x_iz y_ix: sqrt(dA) ||x|| ||y|| */
  psfwi_reg_ws *ws = psfwi_reg_ws_create(NX, NZ, NULL);
  assert_non_null(ws);
  double nx2 = 0.0, ny2 = 0.0;
  for (size_t iz = 0; iz < NZ; iz++) nx2 += (1.0 + 0.25 * (double)iz) * (1.0 + 0.25 * (double)iz);
  for (size_t ix = 0; ix < NX; ix++) ny2 += (double)(ix + 1) * (double)(ix + 1);
  for (size_t iz = 0; iz < NZ; iz++)
    for (size_t ix = 0; ix < NX; ix++)
      m[iz * NX + ix] = (float)((1.0 + 0.25 * (double)iz) * (double)(ix + 1) * 64.0);
  assert_int_equal(psfwi_reg_nuclear(ws, DX, DZ, 0.3, 0.0, m, NULL, NULL, &v, NULL, NULL), 0);
  const double nuc = 0.3 * sqrt(DA) * 64.0 * sqrt(nx2 * ny2);
  printf("  nuclear norm of a rank-one model: %.15g vs %.15g\n", v, nuc);
  assert_true(fabs(v - nuc) <= 1e-13 * nuc);
  /* k-support of any rank-one matrix: the Frobenius norm for every k */
  for (size_t k = 1; k <= NZ; k++) {
    assert_int_equal(psfwi_reg_ksupport(ws, DX, DZ, 2.0, k, m, NULL, NULL, &v, NULL, NULL), 0);
    const double e = 0.5 * 2.0 * DA * 64.0 * 64.0 * nx2 * ny2;
    assert_true(fabs(v - e) <= 1e-12 * e);
  }
  /* a general model against independent singular values (Jacobi) */
  smooth_model(m);
  prior_model(m, m0);
  double sv[NZ];
  for (size_t i = 0; i < N; i++) r[i] = (double)m[i] - (double)m0[i];
  tu_singular_values(NX, NZ, r, sv);
  double sum = 0.0, fro = 0.0;
  for (size_t j = 0; j < NZ; j++) sum += sv[j], fro += sv[j] * sv[j];
  assert_int_equal(psfwi_reg_nuclear(ws, DX, DZ, 1.0, 0.0, m, m0, NULL, &v, NULL, NULL), 0);
  printf("  nuclear norm vs Jacobi singular values: rel. difference %.1e\n",
         fabs(v - sqrt(DA) * sum) / v);
  assert_true(fabs(v - sqrt(DA) * sum) <= 1e-13 * v);
  double worst = 0.0;
  for (size_t k = 1; k <= NZ; k++) {
    assert_int_equal(psfwi_reg_ksupport(ws, DX, DZ, 1.0, k, m, m0, NULL, &v, NULL, NULL), 0);
    const double e = ksupport_sorted(NZ, k, sv);
    worst = fmax(worst, fabs(v - 0.5 * DA * e * e) / v);
    if (k == 1) assert_true(fabs(v - 0.5 * DA * sum * sum) <= 1e-12 * v);
    if (k == NZ) assert_true(fabs(v - 0.5 * DA * fro) <= 1e-12 * v);
  }
  printf("  spectral k-support vs Argyriou's sorted formula, k = 1..%d: rel. difference %.1e\n", NZ,
         worst);
  assert_true(worst <= 1e-12);
  /* the vector norm on many random vectors with ties and zeros */
  unsigned long long s = 99;
  worst = 0.0;
  for (int trial = 0; trial < 2000; trial++) {
    double w[12];
    const size_t n = 1 + (size_t)(tu_uniform(&s) * 12.0);
    for (size_t i = 0; i < n; i++) {
      const double u = tu_urand(&s);
      w[i] = trial % 3 == 0 ? round(4.0 * u) : u; /* ties and zeros */
    }
    for (size_t k = 1; k <= n; k++) {
      const double e = ksupport_sorted(n, k, w), got = psfwi_reg_ksupport_norm(n, k, w);
      worst = fmax(worst, fabs(got - e) / fmax(e, 1e-300));
    }
  }
  printf("  vector k-support norm on 2000 random vectors: max rel. difference %.1e\n", worst);
  assert_true(worst <= 1e-13);
  psfwi_reg_ws_destroy(ws);
}

/* Piecewise-constant refinement by 2 in x and z leaves every value alone. */
static void test_grid_invariance(void **state) {
  (void)state;
  float m[N], m0[N], f[4 * N], f0[4 * N];
  smooth_model(m);
  prior_model(m, m0);
  for (size_t iz = 0; iz < 2 * NZ; iz++)
    for (size_t ix = 0; ix < 2 * NX; ix++) {
      f[iz * 2 * NX + ix] = m[(iz / 2) * NX + ix / 2];
      f0[iz * 2 * NX + ix] = m0[(iz / 2) * NX + ix / 2];
    }
  psfwi_reg_ws *w1 = psfwi_reg_ws_create(NX, NZ, NULL),
               *w2 = psfwi_reg_ws_create(2 * NX, 2 * NZ, NULL);
  assert_non_null(w1);
  assert_non_null(w2);
  double c[2][6];
  for (int g = 0; g < 2; g++) {
    const size_t nx = g ? 2 * NX : NX, nz = g ? 2 * NZ : NZ;
    const double dx = g ? DX / 2 : DX, dz = g ? DZ / 2 : DZ;
    const float *mm = g ? f : m, *pp = g ? f0 : m0;
    psfwi_reg_ws *ws = g ? w2 : w1;
    assert_int_equal(
        psfwi_reg_l1_model(nx, nz, dx, dz, 1.0, 0.0, mm, pp, NULL, &c[g][0], NULL, NULL), 0);
    assert_int_equal(
        psfwi_reg_group(nx, nz, dx, dz, 0, 1.0, 0.0, mm, pp, NULL, &c[g][1], NULL, NULL), 0);
    assert_int_equal(
        psfwi_reg_group(nx, nz, dx, dz, 1, 1.0, 0.0, mm, pp, NULL, &c[g][2], NULL, NULL), 0);
    assert_int_equal(psfwi_reg_nuclear(ws, dx, dz, 1.0, 0.0, mm, pp, NULL, &c[g][3], NULL, NULL),
                     0);
    assert_int_equal(psfwi_reg_ksupport(ws, dx, dz, 1.0, 3, mm, pp, NULL, &c[g][4], NULL, NULL), 0);
    assert_int_equal(psfwi_reg_tv_aniso(nx, nz, dx, dz, 1.0, 0.0, mm, NULL, &c[g][5], NULL, NULL),
                     0);
  }
  const char *names[6] = {"L1", "group cols", "group rows", "nuclear", "k-support k=3", "aniso TV"};
  for (int k = 0; k < 6; k++) {
    printf("  %-14s coarse %.12g fine %.12g\n", names[k], c[0][k], c[1][k]);
    assert_true(fabs(c[0][k] - c[1][k]) <= 1e-12 * c[0][k]);
  }
  psfwi_reg_ws_destroy(w1);
  psfwi_reg_ws_destroy(w2);
}

static void test_error_paths(void **state) {
  (void)state;
  float m[N];
  smooth_model(m);
  double v, g[N];
  psfwi_error err;
  memset(g, 0, sizeof g);
  assert_int_equal(psfwi_reg_l1_model(NX, NZ, DX, DZ, -1.0, 0.0, m, NULL, NULL, &v, g, &err),
                   PSFWI_ERANGE);
  assert_non_null(strstr(err.msg, "lam"));
  assert_int_equal(psfwi_reg_l1_model(NX, NZ, DX, DZ, 1.0, -1.0, m, NULL, NULL, &v, g, &err),
                   PSFWI_ERANGE);
  assert_non_null(strstr(err.msg, "eps"));
  assert_int_equal(psfwi_reg_l1_model(NX, NZ, DX, DZ, 1.0, 0.0, NULL, NULL, NULL, &v, g, &err),
                   PSFWI_EINVAL);
  assert_int_equal(psfwi_reg_l1_model(NX, NZ, DX, DZ, 1.0, 0.0, m, NULL, NULL, NULL, g, &err),
                   PSFWI_EINVAL);
  assert_int_equal(psfwi_reg_group(NX, NZ, DX, DZ, 2, 1.0, 0.0, m, NULL, NULL, &v, g, &err),
                   PSFWI_EINVAL);
  assert_non_null(strstr(err.msg, "kind"));
  assert_int_equal(psfwi_reg_tv_aniso(0, NZ, DX, DZ, 1.0, 0.0, m, NULL, &v, g, &err), PSFWI_ERANGE);
  assert_int_equal(psfwi_reg_nuclear(NULL, DX, DZ, 1.0, 0.0, m, NULL, NULL, &v, g, &err),
                   PSFWI_EINVAL);
  psfwi_reg_ws *ws = psfwi_reg_ws_create(NX, NZ, &err);
  assert_non_null(ws);
  assert_int_equal(psfwi_reg_ksupport(ws, DX, DZ, 1.0, 0, m, NULL, NULL, &v, NULL, &err),
                   PSFWI_EINVAL);
  assert_int_equal(psfwi_reg_ksupport(ws, DX, DZ, 1.0, NZ + 1, m, NULL, NULL, &v, NULL, &err),
                   PSFWI_EINVAL);
  assert_non_null(strstr(err.msg, "k = 8"));
  float p[N];
  memcpy(p, m, sizeof p);
  p[10] = NAN;
  assert_int_equal(psfwi_reg_nuclear(ws, DX, DZ, 1.0, 0.0, m, p, NULL, &v, g, &err),
                   PSFWI_ENONFINITE);
  assert_non_null(strstr(err.msg, "prior model"));
  assert_int_equal(psfwi_reg_group(NX, NZ, DX, DZ, 0, 1.0, 0.0, p, NULL, NULL, &v, g, &err),
                   PSFWI_ENONFINITE);
  for (size_t i = 0; i < N; i++) assert_true(g[i] == 0.0); /* nothing added on failure */
  assert_null(psfwi_reg_ws_create(0, 3, &err));
  assert_int_equal(err.status, PSFWI_ERANGE);
  psfwi_reg_ws_destroy(ws);
  psfwi_reg_ws_destroy(NULL);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_gradients),
      cmocka_unit_test(test_closed_forms),
      cmocka_unit_test(test_grid_invariance),
      cmocka_unit_test(test_error_paths),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
