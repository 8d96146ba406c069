/* regularize: model penalties (Tikhonov, total variation, prior) and vector
 * norms. Closed-form values on a ramp and a step, exact gradients by Taylor
 * tests (remainder falling as h^2) and central finite differences, masks,
 * accumulation, symmetry of the Tikhonov operator, grid-refinement
 * invariance, proximal steps, and every error path.
 *
 * Exactness of the perturbations: model values are multiples of 2^-6 below
 * 2048 and perturbations h dm multiples of 2^-12, so m + h dm is exact in
 * float32 and the tests see the penalties' own (double) rounding only. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "psfwi_regularize.h"
#include "testutil.h"

enum { NX = 9, NZ = 7, N = NX * NZ };
static const double DX = 12.5, DZ = 10.0, DA = 12.5 * 10.0;

/* A smooth, non-trivial model on the 2^-6 lattice, in m/s. */
static void smooth_model(float *m) {
  for (size_t iz = 0; iz < NZ; iz++)
    for (size_t ix = 0; ix < NX; ix++) {
      const double v =
          1750.0 + 120.0 * sin(0.7 * (double)ix + 0.3) * cos(0.5 * (double)iz) + 15.0 * (double)iz;
      m[iz * NX + ix] = (float)(round(v * 64.0) / 64.0);
    }
}

/* Direction: integers -16..16 over 16. */
static void direction(float *dm, unsigned seed) {
  unsigned s = seed;
  for (size_t i = 0; i < N; i++) {
    s = s * 1103515245u + 12345u;
    dm[i] = (float)((int)((s >> 16) % 33u) - 16) / 16.0f;
  }
}

/* A penalty under test: value at m, gradient added into g (may be NULL). */
typedef double (*penalty_fn)(const float *m, double *g);

static const float *g_prior, *g_weight;
static const unsigned char *g_mask;

static double pen_tik(const float *m, double *g) {
  double v;
  assert_int_equal(psfwi_reg_tikhonov(NX, NZ, DX, DZ, 0.7, 1.3, m, g_mask, &v, g, NULL), 0);
  return v;
}
static double pen_tv(const float *m, double *g) {
  double v;
  assert_int_equal(psfwi_reg_tv(NX, NZ, DX, DZ, 2.0, 0.05, m, g_mask, &v, g, NULL), 0);
  return v;
}
static double pen_prior(const float *m, double *g) {
  double v;
  assert_int_equal(psfwi_reg_prior(NX, NZ, DX, DZ, 0.3, m, g_prior, g_weight, g_mask, &v, g, NULL),
                   0);
  return v;
}
static double pen_all(const float *m, double *g) {
  psfwi_reg r;
  const psfwi_grid grid = {.nx = NX, .nz = NZ, .dx = DX, .dz = DZ};
  psfwi_reg_init(&r, &grid);
  r.tikhonov = 0.2;
  r.tikhonov_x = 0.5;
  r.tv = 1.5;
  r.tv_eps = 0.1;
  r.prior = 0.4;
  r.prior_model = g_prior;
  r.prior_weight = g_weight;
  r.mask = g_mask;
  double v;
  assert_int_equal(psfwi_reg_eval(&r, m, &v, g, NULL), 0);
  return v;
}

static void prior_arrays(float *m0, float *w) {
  smooth_model(m0);
  for (size_t i = 0; i < N; i++) {
    m0[i] = (float)((double)m0[i] + (double)((int)(i % 5) - 2) * 8.0); /* still on the lattice */
    w[i] = (float)(0.25 * (double)(1 + i % 4));
  }
}

/* Taylor test: |R(m + h dm) - R(m) - h <g, dm>| falls as h^2. */
static void taylor(penalty_fn R, const char *name) {
  float m[N], dm[N], mp[N];
  double g[N];
  smooth_model(m);
  direction(dm, 17u);
  if (g_mask)
    for (size_t i = 0; i < N; i++)
      if (g_mask[i]) dm[i] = 0.0f; /* frozen cells do not move */
  memset(g, 0, sizeof g);
  const double r0 = R(m, g);
  double gd = 0.0;
  for (size_t i = 0; i < N; i++) gd += g[i] * (double)dm[i];
  double prev = 0.0, prev_first = 0.0;
  printf("Taylor %-10s", name);
  for (int k = 1; k <= 8; k++) {
    const double h = ldexp(1.0, -k);
    for (size_t i = 0; i < N; i++) {
      const double v = (double)m[i] + h * (double)dm[i];
      mp[i] = (float)v;
      assert_true((double)mp[i] == v); /* exact perturbation */
    }
    const double rem = fabs(R(mp, NULL) - r0 - h * gd);
    const double first = fabs(R(mp, NULL) - r0);
    assert_true(first > 0.0);
    if (k > 1) {
      printf(" %.3f", prev / rem);
      assert_true(prev / rem > 3.9 && prev / rem < 4.1); /* second order */
    }
    if (k == 8) { /* while R(m + h dm) - R(m) itself falls as h */
      assert_true(prev_first / first > 1.95 && prev_first / first < 2.05);
    }
    prev = rem;
    prev_first = first;
  }
  printf("\n");
}

/* Central finite differences per cell against the gradient. */
static void finite_differences(penalty_fn R, double h, double tol) {
  float m[N];
  double g[N], gmax = 0.0, emax = 0.0;
  smooth_model(m);
  memset(g, 0, sizeof g);
  R(m, g);
  for (size_t i = 0; i < N; i++) {
    if (g_mask && g_mask[i]) { /* frozen: no gradient (the value may still depend on it) */
      assert_true(g[i] == 0.0);
      continue;
    }
    const float keep = m[i];
    m[i] = (float)((double)keep + h);
    const double fp = R(m, NULL);
    m[i] = (float)((double)keep - h);
    const double fm = R(m, NULL);
    m[i] = keep;
    const double fd = (fp - fm) / (2.0 * h);
    gmax = fmax(gmax, fabs(g[i]));
    emax = fmax(emax, fabs(fd - g[i]));
  }
  assert_true(gmax > 0.0);
  printf("  finite differences: max error %.2e of max gradient %.2e\n", emax, gmax);
  assert_true(emax <= tol * gmax);
}

static void test_gradients(void **state) {
  (void)state;
  static float m0[N], w[N]; /* static: the penalty callbacks point at them */
  prior_arrays(m0, w);
  g_prior = m0;
  g_weight = w;
  const struct {
    penalty_fn f;
    const char *name;
    double fd_h, fd_tol; /* exact quadratics: larger h; TV: smaller h */
  } cases[] = {{pen_tik, "Tikhonov", 0x1p-4, 1e-10},
               {pen_tv, "TV", 0x1p-10, 1e-6},
               {pen_prior, "prior", 0x1p-4, 1e-10},
               {pen_all, "all", 0x1p-10, 1e-6}};
  unsigned char mask[N];
  for (size_t i = 0; i < N; i++) mask[i] = (i / NX < 2) || (i % NX == 4 && i / NX == 3);
  for (int with_mask = 0; with_mask < 2; with_mask++) {
    g_mask = with_mask ? mask : NULL;
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
      taylor(cases[k].f, cases[k].name);
      finite_differences(cases[k].f, cases[k].fd_h, cases[k].fd_tol);
    }
  }
  g_mask = NULL;
}

static void test_ramp_closed_form(void **state) {
  (void)state;
  /* m = 1500 + a x + b z: Dx m = a, Dz m = b (1/s) on every difference. */
  const double a = 0.5, b = 0.8, lx = 0.7, lz = 1.3, lam = 2.0, eps = 0.01;
  float m[N];
  for (size_t iz = 0; iz < NZ; iz++)
    for (size_t ix = 0; ix < NX; ix++)
      m[iz * NX + ix] = (float)(1500.0 + a * DX * (double)ix + b * DZ * (double)iz);
  double v, g[N];
  memset(g, 0, sizeof g);
  assert_int_equal(psfwi_reg_tikhonov(NX, NZ, DX, DZ, lx, lz, m, NULL, &v, g, NULL), 0);
  const double expect =
      0.5 * lx * a * a * (NX - 1) * NZ * DA + 0.5 * lz * b * b * NX * (NZ - 1) * DA;
  assert_true(fabs(v - expect) <= 1e-13 * expect);
  /* gradient -lam laplacian: zero inside, the flux a/dx, b/dz at the edges */
  for (size_t iz = 0; iz < NZ; iz++)
    for (size_t ix = 0; ix < NX; ix++) {
      const double ge = lx * DA * a / DX * ((ix == NX - 1) - (ix == 0)) +
                        lz * DA * b / DZ * ((iz == NZ - 1) - (iz == 0));
      assert_true(fabs(g[iz * NX + ix] - ge) <= 1e-12 * lx * DA);
    }
  /* TV of the ramp: interior cells see (a, b); the last column (0, b); the
   * last row (a, 0); the corner (0, 0). */
  assert_int_equal(psfwi_reg_tv(NX, NZ, DX, DZ, lam, eps, m, NULL, &v, NULL, NULL), 0);
  const double tv =
      lam * DA *
      ((NX - 1) * (NZ - 1) * (sqrt(a * a + b * b + eps * eps) - eps) +
       (NZ - 1) * (sqrt(b * b + eps * eps) - eps) + (NX - 1) * (sqrt(a * a + eps * eps) - eps));
  assert_true(fabs(v - tv) <= 1e-13 * tv);
  /* a constant model costs nothing */
  for (size_t i = 0; i < N; i++) m[i] = 2000.0f;
  assert_int_equal(psfwi_reg_tv(NX, NZ, DX, DZ, lam, eps, m, NULL, &v, g, NULL), 0);
  assert_true(v == 0.0);
  assert_int_equal(psfwi_reg_tikhonov(NX, NZ, DX, DZ, lx, lz, m, NULL, &v, NULL, NULL), 0);
  assert_true(v == 0.0);
}

static void test_step_tv_is_jump_times_length(void **state) {
  (void)state;
  const double J = 300.0, lam = 1.7;
  float mx[N], mz[N];
  for (size_t iz = 0; iz < NZ; iz++)
    for (size_t ix = 0; ix < NX; ix++) {
      mx[iz * NX + ix] = (float)(ix < 4 ? 1500.0 : 1500.0 + J); /* vertical interface */
      mz[iz * NX + ix] = (float)(iz < 3 ? 1500.0 : 1500.0 - J); /* horizontal, downward jump */
    }
  const double Lz = NZ * DZ, Lx = NX * DX; /* interface lengths (m) */
  double v;
  /* with eps -> 0 the value is lam J L */
  assert_int_equal(psfwi_reg_tv(NX, NZ, DX, DZ, lam, 1e-9, mx, NULL, &v, NULL, NULL), 0);
  printf("TV of a vertical step: %.10g, lam J L = %.10g\n", v, lam * J * Lz);
  assert_true(fabs(v - lam * J * Lz) <= 1e-9 * lam * J * Lz);
  assert_int_equal(psfwi_reg_tv(NX, NZ, DX, DZ, lam, 1e-9, mz, NULL, &v, NULL, NULL), 0);
  assert_true(fabs(v - lam * J * Lx) <= 1e-9 * lam * J * Lx);
  /* and exactly lam L d (sqrt((J/d)^2 + eps^2) - eps) for finite eps */
  const double eps = 5.0;
  assert_int_equal(psfwi_reg_tv(NX, NZ, DX, DZ, lam, eps, mx, NULL, &v, NULL, NULL), 0);
  const double e = lam * NZ * DA * (sqrt(J / DX * J / DX + eps * eps) - eps);
  assert_true(fabs(v - e) <= 1e-13 * e && v < lam * J * Lz);
  /* Tikhonov of the step: lam_x / 2 (J / dx)^2 nz dA; the z term sees nothing */
  assert_int_equal(psfwi_reg_tikhonov(NX, NZ, DX, DZ, 0.9, 5.0, mx, NULL, &v, NULL, NULL), 0);
  const double t = 0.5 * 0.9 * (J / DX) * (J / DX) * NZ * DA;
  assert_true(fabs(v - t) <= 1e-13 * t);
}

static void test_prior_and_mask(void **state) {
  (void)state;
  float m0[N], w[N], m[N];
  prior_arrays(m0, w);
  double v, g[N];
  for (size_t i = 0; i < N; i++) g[i] = 1.0;
  /* zero at the prior, and nothing added */
  assert_int_equal(psfwi_reg_prior(NX, NZ, DX, DZ, 0.3, m0, m0, w, NULL, &v, g, NULL), 0);
  assert_true(v == 0.0);
  for (size_t i = 0; i < N; i++) assert_true(g[i] == 1.0);
  /* a constant offset delta: lam/2 delta^2 sum(w) dA, gradient lam w delta dA,
   * added to what the array held */
  const double delta = 4.0, lam = 0.3;
  double sw = 0.0;
  for (size_t i = 0; i < N; i++) {
    m[i] = (float)((double)m0[i] + delta);
    sw += (double)w[i];
  }
  assert_int_equal(psfwi_reg_prior(NX, NZ, DX, DZ, lam, m, m0, w, NULL, &v, g, NULL), 0);
  assert_true(fabs(v - 0.5 * lam * delta * delta * sw * DA) <= 1e-13 * v);
  for (size_t i = 0; i < N; i++)
    assert_true(fabs(g[i] - (1.0 + lam * (double)w[i] * delta * DA)) <= 1e-12 * g[i]);
  /* no weight array = weight 1 */
  assert_int_equal(psfwi_reg_prior(NX, NZ, DX, DZ, lam, m, m0, NULL, NULL, &v, NULL, NULL), 0);
  assert_true(fabs(v - 0.5 * lam * delta * delta * N * DA) <= 1e-13 * v);

  /* mask: same value, gradient zero on frozen cells and unchanged elsewhere */
  unsigned char mask[N];
  for (size_t i = 0; i < N; i++) mask[i] = (i % 3 == 0);
  smooth_model(m);
  psfwi_reg r;
  const psfwi_grid grid = {.nx = NX, .nz = NZ, .dx = DX, .dz = DZ};
  psfwi_reg_init(&r, &grid);
  r.tikhonov = 1.0;
  r.tv = 1.0;
  r.tv_eps = 0.1;
  r.prior = 0.5;
  r.prior_model = m0;
  double ga[N], gb[N], va, vb;
  memset(ga, 0, sizeof ga);
  memset(gb, 0, sizeof gb);
  assert_int_equal(psfwi_reg_eval(&r, m, &va, ga, NULL), 0);
  r.mask = mask;
  assert_int_equal(psfwi_reg_eval(&r, m, &vb, gb, NULL), 0);
  assert_true(va == vb);
  for (size_t i = 0; i < N; i++) assert_true(gb[i] == (mask[i] ? 0.0 : ga[i]));
}

static void test_eval_sums_terms(void **state) {
  (void)state;
  float m[N], m0[N], w[N];
  smooth_model(m);
  prior_arrays(m0, w);
  psfwi_reg r;
  const psfwi_grid grid = {.nx = NX, .nz = NZ, .dx = DX, .dz = DZ};
  psfwi_reg_init(&r, &grid);
  assert_true(r.tikhonov == 0.0 && r.tv == 0.0 && r.prior == 0.0 && r.mask == NULL);
  double v, g[N], gs[N];
  /* nothing active: value 0, gradient untouched */
  for (size_t i = 0; i < N; i++) g[i] = 3.0;
  assert_int_equal(psfwi_reg_eval(&r, m, &v, g, NULL), 0);
  assert_true(v == 0.0);
  for (size_t i = 0; i < N; i++) assert_true(g[i] == 3.0);
  r.tikhonov = 0.25;
  r.tikhonov_z = 0.5;
  r.tv = 2.0;
  r.tv_eps = 0.5;
  r.prior = 0.125;
  r.prior_model = m0;
  r.prior_weight = w;
  psfwi_reg_terms t;
  memset(g, 0, sizeof g);
  assert_int_equal(psfwi_reg_eval_terms(&r, m, &t, g, NULL), 0);
  double a, b, c;
  memset(gs, 0, sizeof gs);
  assert_int_equal(psfwi_reg_tikhonov(NX, NZ, DX, DZ, 0.25, 0.75, m, NULL, &a, gs, NULL), 0);
  assert_int_equal(psfwi_reg_tv(NX, NZ, DX, DZ, 2.0, 0.5, m, NULL, &b, gs, NULL), 0);
  assert_int_equal(psfwi_reg_prior(NX, NZ, DX, DZ, 0.125, m, m0, w, NULL, &c, gs, NULL), 0);
  assert_true(t.tikhonov == a && t.tv == b && t.prior == c);
  assert_true(t.total == a + b + c);
  for (size_t i = 0; i < N; i++) assert_true(fabs(g[i] - gs[i]) <= 1e-12 * fabs(gs[i]) + 1e-12);
  assert_int_equal(psfwi_reg_eval(&r, m, &v, NULL, NULL), 0);
  assert_true(v == t.total);
}

static void test_tikhonov_symmetric_and_grid_invariant(void **state) {
  (void)state;
  /* The Tikhonov gradient is the linear map lam dA D'D m: symmetric. */
  float m1[N], m2[N];
  smooth_model(m1);
  direction(m2, 99u);
  double g1[N], g2[N], v;
  memset(g1, 0, sizeof g1);
  memset(g2, 0, sizeof g2);
  assert_int_equal(psfwi_reg_tikhonov(NX, NZ, DX, DZ, 0.7, 1.3, m1, NULL, &v, g1, NULL), 0);
  assert_int_equal(psfwi_reg_tikhonov(NX, NZ, DX, DZ, 0.7, 1.3, m2, NULL, &v, g2, NULL), 0);
  double a = 0.0, b = 0.0, s = 0.0;
  for (size_t i = 0; i < N; i++) {
    a += g1[i] * (double)m2[i];
    b += (double)m1[i] * g2[i];
    s += fabs(g1[i] * (double)m2[i]);
  }
  printf("Tikhonov symmetry: <A m1, m2> = %.15e, <m1, A m2> = %.15e\n", a, b);
  assert_true(fabs(a - b) <= 1e-13 * s);
  /* The same linear function sampled twice as finely (x only) has the same
   * x-term and TV (their values approximate integrals). */
  enum { NXF = 2 * NX - 1 };
  float c[NX * NZ], f[NXF * NZ];
  for (size_t iz = 0; iz < NZ; iz++) {
    for (size_t ix = 0; ix < NX; ix++) c[iz * NX + ix] = (float)(1500.0 + 0.5 * DX * (double)ix);
    for (size_t ix = 0; ix < NXF; ix++) f[iz * NXF + ix] = (float)(1500.0 + 0.25 * DX * (double)ix);
  }
  double vc, vf;
  assert_int_equal(psfwi_reg_tikhonov(NX, NZ, DX, DZ, 1.0, 1.0, c, NULL, &vc, NULL, NULL), 0);
  assert_int_equal(psfwi_reg_tikhonov(NXF, NZ, DX / 2, DZ, 1.0, 1.0, f, NULL, &vf, NULL, NULL), 0);
  assert_true(fabs(vc - vf) <= 1e-13 * vc);
  assert_int_equal(psfwi_reg_tv(NX, NZ, DX, DZ, 1.0, 1e-9, c, NULL, &vc, NULL, NULL), 0);
  assert_int_equal(psfwi_reg_tv(NXF, NZ, DX / 2, DZ, 1.0, 1e-9, f, NULL, &vf, NULL, NULL), 0);
  assert_true(fabs(vc - vf) <= 1e-9 * vc);
}

static void test_vector_norms(void **state) {
  (void)state;
  const double u[5] = {1.5, -2.0, 0.0, 0.25, -0.5};
  double g[5] = {1, 1, 1, 1, 1};
  assert_true(fabs(psfwi_reg_l2(5, 0.5, u, g) - 0.25 * (2.25 + 4 + 0 + 0.0625 + 0.25)) < 1e-15);
  assert_true(g[0] == 1.75 && g[1] == 0.0 && g[2] == 1.0);
  assert_true(psfwi_reg_l1(5, 2.0, u, g) == 2.0 * 4.25);
  assert_true(g[0] == 3.75 && g[1] == -2.0 && g[2] == 1.0 && g[3] == 3.125 && g[4] == -1.25);
  assert_true(psfwi_reg_l2(5, 1.0, u, NULL) == 0.5 * 6.5625);
  const float uf[3] = {3.0f, -1.0f, 0.0f};
  float gf[3] = {0, 0, 0};
  assert_true(psfwi_reg_l2f(3, 2.0, uf, gf) == 10.0);
  assert_true(gf[0] == 6.0f && gf[1] == -2.0f);
  assert_true(psfwi_reg_l1f(3, 0.5, uf, gf) == 2.0);
  assert_true(gf[0] == 6.5f && gf[1] == -2.5f && gf[2] == 0.0f);
  assert_true(psfwi_reg_l1f(3, 0.5, uf, NULL) == 2.0);
  /* gradient of L2 by finite differences in a random direction */
  double v[5], d[5] = {0.3, -0.1, 0.7, 0.2, -0.4}, gr[5] = {0};
  psfwi_reg_l2(5, 0.8, u, gr);
  for (int i = 0; i < 5; i++) v[i] = u[i] + 1e-3 * d[i];
  const double fp = psfwi_reg_l2(5, 0.8, v, NULL);
  for (int i = 0; i < 5; i++) v[i] = u[i] - 1e-3 * d[i];
  const double fd = (fp - psfwi_reg_l2(5, 0.8, v, NULL)) / 2e-3;
  double gd = 0.0;
  for (int i = 0; i < 5; i++) gd += gr[i] * d[i];
  assert_true(fabs(fd - gd) < 1e-10);
  /* prox of t|.|_1: soft threshold, the minimiser of t|z| + (z - u)^2 / 2 */
  double p[5];
  memcpy(p, u, sizeof p);
  psfwi_reg_l1_prox(5, 0.5, p);
  const double pe[5] = {1.0, -1.5, 0.0, 0.0, 0.0};
  for (int i = 0; i < 5; i++) {
    assert_true(p[i] == pe[i]);
    const double t = 0.5;
    const double best = t * fabs(p[i]) + 0.5 * (p[i] - u[i]) * (p[i] - u[i]);
    for (double z = -3.0; z <= 3.0; z += 0.01)
      assert_true(best <= t * fabs(z) + 0.5 * (z - u[i]) * (z - u[i]) + 1e-15);
  }
  float pf[3] = {3.0f, -1.0f, 0.25f};
  psfwi_reg_l1_proxf(3, 0.5, pf);
  assert_true(pf[0] == 2.5f && pf[1] == -0.5f && pf[2] == 0.0f);
}

static void test_error_paths(void **state) {
  (void)state;
  float m[N], m0[N], w[N];
  smooth_model(m);
  prior_arrays(m0, w);
  double v, g[N];
  psfwi_error err;
  assert_int_equal(psfwi_reg_tikhonov(0, NZ, DX, DZ, 1, 1, m, NULL, &v, g, &err), PSFWI_ERANGE);
  assert_non_null(strstr(err.msg, "nx = 0"));
  assert_int_equal(psfwi_reg_tikhonov(NX, NZ, 0.0, DZ, 1, 1, m, NULL, &v, g, &err), PSFWI_ERANGE);
  assert_non_null(strstr(err.msg, "dx = 0"));
  assert_int_equal(psfwi_reg_tikhonov(NX, NZ, DX, NAN, 1, 1, m, NULL, &v, g, &err), PSFWI_ERANGE);
  assert_int_equal(psfwi_reg_tikhonov(NX, NZ, DX, DZ, -1, 1, m, NULL, &v, g, &err), PSFWI_ERANGE);
  assert_non_null(strstr(err.msg, "lam_x = -1"));
  assert_int_equal(psfwi_reg_tikhonov(NX, NZ, DX, DZ, 1, 1, NULL, NULL, &v, g, &err), PSFWI_EINVAL);
  assert_int_equal(psfwi_reg_tikhonov(NX, NZ, DX, DZ, 1, 1, m, NULL, NULL, g, &err), PSFWI_EINVAL);
  assert_int_equal(psfwi_reg_tv(NX, NZ, DX, DZ, 1, 0.0, m, NULL, &v, g, &err), PSFWI_ERANGE);
  assert_non_null(strstr(err.msg, "eps = 0"));
  assert_int_equal(psfwi_reg_tv(NX, NZ, DX, DZ, INFINITY, 1.0, m, NULL, &v, g, &err), PSFWI_ERANGE);
  assert_int_equal(psfwi_reg_prior(NX, NZ, DX, DZ, 1, m, NULL, NULL, NULL, &v, g, &err),
                   PSFWI_EINVAL);
  assert_non_null(strstr(err.msg, "prior model"));
  w[10] = -1.0f;
  assert_int_equal(psfwi_reg_prior(NX, NZ, DX, DZ, 1, m, m0, w, NULL, &v, g, &err), PSFWI_ERANGE);
  assert_non_null(strstr(err.msg, "ix = 1, iz = 1"));
  w[10] = 1.0f;
  /* NaN in the model: PSFWI_ENONFINITE naming the cell, nothing added */
  for (size_t i = 0; i < N; i++) g[i] = 0.5;
  m[2 * NX + 3] = NAN;
  psfwi_reg r;
  const psfwi_grid grid = {.nx = NX, .nz = NZ, .dx = DX, .dz = DZ};
  psfwi_reg_init(&r, &grid);
  r.tikhonov = 1.0;
  r.tv = 1.0;
  r.tv_eps = 0.1;
  assert_int_equal(psfwi_reg_eval(&r, m, &v, g, &err), PSFWI_ENONFINITE);
  assert_non_null(strstr(err.msg, "ix = 3, iz = 2"));
  for (size_t i = 0; i < N; i++) assert_true(g[i] == 0.5);
  assert_int_equal(psfwi_reg_tv(NX, NZ, DX, DZ, 1, 1, m, NULL, &v, g, &err), PSFWI_ENONFINITE);
  m[2 * NX + 3] = 1500.0f;
  m0[5] = INFINITY;
  r.prior = 1.0;
  r.prior_model = m0;
  assert_int_equal(psfwi_reg_eval(&r, m, &v, g, &err), PSFWI_ENONFINITE);
  assert_non_null(strstr(err.msg, "prior model"));
  for (size_t i = 0; i < N; i++) assert_true(g[i] == 0.5);
  m0[5] = 1500.0f;
  assert_int_equal(psfwi_reg_eval(&r, NULL, &v, g, &err), PSFWI_EINVAL);
  /* configuration checks */
  r.tv_eps = 0.0;
  assert_int_equal(psfwi_reg_check(&r, &err), PSFWI_ERANGE);
  assert_non_null(strstr(err.msg, "tv_eps"));
  r.tv_eps = 0.1;
  r.prior_model = NULL;
  assert_int_equal(psfwi_reg_check(&r, &err), PSFWI_EINVAL);
  assert_non_null(strstr(err.msg, "prior"));
  r.prior_model = m0;
  r.tikhonov_x = NAN;
  assert_int_equal(psfwi_reg_check(&r, &err), PSFWI_ERANGE);
  assert_non_null(strstr(err.msg, "tikhonov_x"));
  r.tikhonov_x = 0.0;
  r.dz = -1.0;
  assert_int_equal(psfwi_reg_eval(&r, m, &v, g, &err), PSFWI_ERANGE);
  r.dz = DZ;
  assert_int_equal(psfwi_reg_check(&r, &err), PSFWI_OK);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_gradients),
      cmocka_unit_test(test_ramp_closed_form),
      cmocka_unit_test(test_step_tv_is_jump_times_length),
      cmocka_unit_test(test_prior_and_mask),
      cmocka_unit_test(test_eval_sums_terms),
      cmocka_unit_test(test_tikhonov_symmetric_and_grid_invariant),
      cmocka_unit_test(test_vector_norms),
      cmocka_unit_test(test_error_paths),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
