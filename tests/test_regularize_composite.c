/* regularize: the psfwi_reg sum as the inversions use it (penalties.c,
 * composite.c).
 *  - every term switched on at once (Tikhonov, isotropic or anisotropic TV,
 *    L2 to a prior, L1, group, nuclear, k-support; smoothing from norm_eps):
 *    the summed gradient against central differences, masked cells exactly
 *    0, and the sum equal to the terms one by one;
 *  - proximal mode: the non-smooth terms report their exact values and add
 *    no gradient; terms.smooth is what the gradient belongs to;
 *  - psfwi_reg_prox of several terms within bounds against its definition
 *    (Phi(z) >= Phi(p) for 3000 random feasible z, each Phi from the
 *    library's exact values), one term inside the box equal to its own prox
 *    bit for bit, L1 with active bounds equal to clip(soft threshold) (the
 *    exact answer for a separable term), frozen cells (lo = hi) kept;
 *  - auto_scale: the factor of each term is D / R(delta) computed here by
 *    hand for L2 and L1, and the factors do not change when the same fields
 *    are sampled on a grid twice as fine (the weights read the same on any
 *    grid). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "psfwi_regularize.h"
#include "testutil.h"

enum { NX = 9, NZ = 6, N = NX * NZ };
static const double DX = 20.0, DZ = 10.0;

static void model(float *m, float *m0, unsigned long long *seed) {
  for (size_t iz = 0; iz < NZ; iz++)
    for (size_t ix = 0; ix < NX; ix++) {
      const size_t i = iz * NX + ix;
      m0[i] = (float)(1800.0 + 60.0 * (double)iz);
      m[i] = (float)((double)m0[i] + 40.0 * tu_urand(seed) + (ix > 4 && iz > 2 ? 150.0 : 0.0));
    }
}

static void setup(psfwi_reg *r, psfwi_reg_ws *ws, const float *m0, int tv_kind) {
  const psfwi_grid g = {.nx = NX, .nz = NZ, .dx = DX, .dz = DZ};
  psfwi_reg_init(r, &g);
  r->tikhonov = 0.3;
  r->tikhonov_z = 0.2;
  r->tv = 2.0;
  r->tv_eps = 0.5;
  r->tv_kind = tv_kind;
  r->prior = 1e-3;
  r->prior_model = m0;
  r->norm_ref = m0;
  r->l1 = 0.05;
  r->group = 0.04;
  r->group_kind = PSFWI_REG_GROUP_ROWS;
  r->nuclear = 0.002;
  r->ksupport = 1e-4;
  r->ksupport_k = 2;
  r->norm_eps = 5.0;
  r->ws = ws;
}

static double value(const psfwi_reg *r, const float *m, double *g) {
  double v;
  assert_int_equal(psfwi_reg_eval(r, m, &v, g, NULL), PSFWI_OK);
  return v;
}

static void test_sum_gradient(void **state) {
  (void)state;
  unsigned long long seed = 7;
  float m[N], m0[N];
  model(m, m0, &seed);
  psfwi_reg_ws *ws = psfwi_reg_ws_create(NX, NZ, NULL);
  unsigned char mask[N] = {0};
  for (size_t ix = 0; ix < NX; ix++) mask[ix] = 1; /* the top row frozen */
  for (int kind = 0; kind < 2; kind++)
    for (int masked = 0; masked < 2; masked++) {
      psfwi_reg r;
      setup(&r, ws, m0, kind);
      r.mask = masked ? mask : NULL;
      double g[N] = {0}, gmax = 0.0, emax = 0.0;
      value(&r, m, g);
      const double h = 0x1p-9;
      for (size_t i = 0; i < N; i++) {
        if (masked && mask[i]) {
          assert_true(g[i] == 0.0);
          continue;
        }
        const float keep = m[i];
        m[i] = (float)((double)keep + h);
        const double fp = value(&r, m, NULL);
        m[i] = (float)((double)keep - h);
        const double fm = value(&r, m, NULL);
        m[i] = keep;
        gmax = fmax(gmax, fabs(g[i]));
        emax = fmax(emax, fabs((fp - fm) / (2.0 * h) - g[i]));
      }
      printf("  all terms, TV %s%s: central FD max error / max gradient %.2e\n",
             kind ? "anisotropic" : "isotropic", masked ? ", masked" : "", emax / gmax);
      assert_true(emax / gmax <= 1e-6);
      /* the sum is the terms one by one */
      psfwi_reg_terms t;
      assert_int_equal(psfwi_reg_eval_terms(&r, m, &t, NULL, NULL), PSFWI_OK);
      const double parts[] = {t.tikhonov, t.tv, t.prior, t.l1, t.group, t.nuclear, t.ksupport};
      double sum = 0.0;
      for (size_t k = 0; k < sizeof parts / sizeof parts[0]; k++) {
        assert_true(parts[k] > 0.0);
        sum += parts[k];
      }
      assert_true(fabs(sum - t.total) <= 1e-12 * t.total);
      assert_true(fabs(t.smooth - t.total) <= 1e-14 * t.total); /* all smooth here */
    }
  psfwi_reg_ws_destroy(ws);
}

static void test_proximal_mode_values(void **state) {
  (void)state;
  unsigned long long seed = 11;
  float m[N], m0[N];
  model(m, m0, &seed);
  psfwi_reg_ws *ws = psfwi_reg_ws_create(NX, NZ, NULL);
  psfwi_reg r;
  setup(&r, ws, m0, PSFWI_REG_TV_ANISOTROPIC);
  r.proximal = 1;
  double g[N] = {0};
  psfwi_reg_terms t;
  assert_int_equal(psfwi_reg_eval_terms(&r, m, &t, g, NULL), PSFWI_OK);
  /* the gradient is that of Tikhonov + L2 alone */
  psfwi_reg s;
  setup(&s, ws, m0, PSFWI_REG_TV_ANISOTROPIC);
  s.tv = s.l1 = s.group = s.nuclear = s.ksupport = 0.0;
  double gs[N] = {0}, vs;
  assert_int_equal(psfwi_reg_eval(&s, m, &vs, gs, NULL), PSFWI_OK);
  for (size_t i = 0; i < N; i++) assert_true(g[i] == gs[i]);
  assert_true(t.smooth == vs);
  /* the proximal terms at their exact (eps = 0) values */
  double v;
  assert_int_equal(psfwi_reg_l1_model(NX, NZ, DX, DZ, r.l1, 0.0, m, m0, NULL, &v, NULL, NULL), 0);
  assert_true(t.l1 == v);
  assert_int_equal(psfwi_reg_tv_aniso(NX, NZ, DX, DZ, r.tv, 0.0, m, NULL, &v, NULL, NULL), 0);
  assert_true(t.tv == v);
  assert_int_equal(psfwi_reg_nuclear(ws, DX, DZ, r.nuclear, 0.0, m, m0, NULL, &v, NULL, NULL), 0);
  assert_true(t.nuclear == v);
  assert_true(psfwi_reg_prox_count(&r) == 5);
  psfwi_reg_ws_destroy(ws);
}

/* Phi(z) = t P(z) + |z - u|^2 / 2 with the library's exact values. */
static double phi(const psfwi_reg *r, double t, const double *z, const double *u) {
  float zf[N];
  double d2 = 0.0;
  for (size_t i = 0; i < N; i++) {
    zf[i] = (float)z[i];
    d2 += (z[i] - u[i]) * (z[i] - u[i]);
  }
  psfwi_reg_terms terms;
  assert_int_equal(psfwi_reg_eval_terms(r, zf, &terms, NULL, NULL), PSFWI_OK);
  return t * (terms.total - terms.smooth) + 0.5 * d2;
}

static void test_prox_sum(void **state) {
  (void)state;
  unsigned long long seed = 3;
  float m[N], m0[N];
  model(m, m0, &seed);
  psfwi_reg_ws *ws = psfwi_reg_ws_create(NX, NZ, NULL);
  psfwi_reg r;
  setup(&r, ws, m0, PSFWI_REG_TV_ISOTROPIC);
  r.proximal = 1;
  r.tikhonov = r.tikhonov_z = r.prior = 0.0;
  r.ksupport = 0.0; /* L1 + group + nuclear + TV */
  double u[N], lo[N], hi[N], p[N];
  for (size_t i = 0; i < N; i++) {
    /* float-representable so that Phi sees the same point */
    u[i] = (double)m[i];
    lo[i] = 1850.0;
    hi[i] = 2050.0;
  }
  lo[3] = hi[3] = u[3] = 1900.0; /* a frozen cell */
  const double t = 40.0;
  psfwi_reg_prox_opts o;
  psfwi_reg_prox_opts_init(&o);
  o.tol = 1e-9;
  o.max_iter = 100000;
  o.tv.tol = 1e-9;
  o.tv.max_iter = 100000;
  psfwi_reg_prox_info info;
  memcpy(p, u, sizeof p);
  assert_int_equal(psfwi_reg_prox(&r, t, lo, hi, &o, p, &info, NULL), PSFWI_OK);
  printf("  4 terms + box, accelerated: %zu splitting iterations, last change %.1e\n", info.iter,
         info.change);
  assert_true(info.converged && info.nterms == 4);
  /* the plain splitting (no momentum) reaches the same point, in more
   * iterations (stopping on x's change alone, it once stopped after 723
   * iterations 1.7 away, with Phi 0.3 % above the minimum: x stood still
   * while the dual blocks traded; the definition check below did not see
   * it) */
  double q[N];
  psfwi_reg_prox_opts plain = o;
  plain.accelerate = 0;
  psfwi_reg_prox_info qinfo;
  memcpy(q, u, sizeof q);
  assert_int_equal(psfwi_reg_prox(&r, t, lo, hi, &plain, q, &qinfo, NULL), PSFWI_OK);
  double dq = 0.0;
  for (size_t i = 0; i < N; i++) dq = fmax(dq, fabs(q[i] - p[i]));
  printf("  4 terms + box, plain: %zu splitting iterations; max distance to accelerated %.1e\n",
         qinfo.iter, dq);
  assert_true(qinfo.converged && dq <= 1e-6 && info.iter < qinfo.iter);
  assert_true(p[3] == 1900.0);
  for (size_t i = 0; i < N; i++) assert_true(p[i] >= lo[i] && p[i] <= hi[i]);
  /* definition: no feasible point nearby is better (z is rounded to float
   * for Phi: compare p rounded too) */
  double pf[N];
  for (size_t i = 0; i < N; i++) pf[i] = (double)(float)p[i];
  const double f0 = phi(&r, t, pf, u);
  double worst = INFINITY;
  for (int trial = 0; trial < 3000; trial++) {
    double z[N];
    const double size = pow(10.0, -1.0 + 3.0 * tu_uniform(&seed));
    for (size_t i = 0; i < N; i++) {
      z[i] = pf[i] + (tu_uniform(&seed) < 0.5 ? size * tu_urand(&seed) : 0.0);
      z[i] = fmin(hi[i], fmax(lo[i], z[i]));
      z[i] = (double)(float)z[i];
    }
    worst = fmin(worst, phi(&r, t, z, u) - f0);
  }
  printf("  4 terms + box: min over 3000 feasible z of Phi(z) - Phi(p) = %.3e (Phi(p) = %.6e)\n",
         worst, f0);
  assert_true(worst >= -1e-9 * fabs(f0));

  /* one term whose prox lies in the box: that prox, bit for bit */
  psfwi_reg one;
  setup(&one, ws, m0, PSFWI_REG_TV_ISOTROPIC);
  one.proximal = 1;
  one.tikhonov = one.tikhonov_z = one.prior = one.tv = one.group = one.nuclear = one.ksupport = 0;
  double a[N], b[N], wide_lo[N], wide_hi[N];
  for (size_t i = 0; i < N; i++) wide_lo[i] = 0.0, wide_hi[i] = 1e5;
  memcpy(a, u, sizeof a);
  memcpy(b, u, sizeof b);
  assert_int_equal(psfwi_reg_prox(&one, t, wide_lo, wide_hi, &o, a, &info, NULL), PSFWI_OK);
  assert_true(info.iter == 0 && info.converged);
  assert_int_equal(psfwi_reg_l1_model_prox(NX, NZ, DX, DZ, t * one.l1, m0, b, NULL), PSFWI_OK);
  assert_memory_equal(a, b, sizeof a);
  /* L1 with active bounds: the exact answer is clip(soft threshold) */
  memcpy(a, u, sizeof a);
  assert_int_equal(psfwi_reg_prox(&one, t, lo, hi, &o, a, &info, NULL), PSFWI_OK);
  double err = 0.0;
  for (size_t i = 0; i < N; i++) err = fmax(err, fabs(a[i] - fmin(hi[i], fmax(lo[i], b[i]))));
  printf("  L1 + active box: %zu iterations, max distance to clip(soft) %.1e\n", info.iter, err);
  assert_true(info.iter > 0 && err <= 1e-8);
  psfwi_reg_ws_destroy(ws);
}

/* The same smooth fields on nx x nz and on a grid twice as fine. */
static void fields(size_t nx, size_t nz, double dx, double dz, double *g, float *m0) {
  for (size_t iz = 0; iz < nz; iz++)
    for (size_t ix = 0; ix < nx; ix++) {
      const double x = ((double)ix + 0.5) * dx, z = ((double)iz + 0.5) * dz;
      /* a gradient density times the cell area (the data gradient is one) */
      g[iz * nx + ix] = dx * dz * 1e-6 * sin(x / 70.0) * cos(z / 45.0) * (1.0 + z / 100.0);
      m0[iz * nx + ix] = (float)(1500.0 + z);
    }
}

static void test_auto_scale(void **state) {
  (void)state;
  double f[2][PSFWI_REG_NSCALE];
  for (int fine = 0; fine < 2; fine++) {
    const size_t nx = fine ? 96 : 48, nz = fine ? 64 : 32;
    const double dx = fine ? 5.0 : 10.0, dz = fine ? 2.5 : 5.0;
    double *g = malloc(nx * nz * sizeof *g);
    float *m0 = malloc(nx * nz * sizeof *m0);
    fields(nx, nz, dx, dz, g, m0);
    psfwi_reg_ws *ws = psfwi_reg_ws_create(nx, nz, NULL);
    const psfwi_grid grid = {.nx = nx, .nz = nz, .dx = dx, .dz = dz};
    psfwi_reg r;
    psfwi_reg_init(&r, &grid);
    r.tikhonov = r.tv = r.prior = r.l1 = r.group = r.nuclear = r.ksupport = 1.0;
    r.tv_eps = 1.0;
    r.ksupport_k = 3;
    r.prior_model = m0;
    r.ws = ws;
    assert_int_equal(psfwi_reg_auto_scale(&r, g, 50.0, f[fine], NULL), PSFWI_OK);
    /* by hand: delta = -50 g / max|g|; D = 50 |g|^2 / max|g|; L2: 1/2 int
     * delta^2; L1: int |delta| */
    double gmax = 0.0, g2 = 0.0, d2 = 0.0, d1 = 0.0;
    for (size_t i = 0; i < nx * nz; i++) gmax = fmax(gmax, fabs(g[i])), g2 += g[i] * g[i];
    for (size_t i = 0; i < nx * nz; i++) {
      const double d = (double)(float)(-50.0 * g[i] / gmax);
      d2 += d * d;
      d1 += fabs(d);
    }
    const double D = 50.0 * g2 / gmax;
    const double l2 = D / (0.5 * d2 * dx * dz), l1 = D / (d1 * dx * dz);
    assert_true(fabs(f[fine][PSFWI_REG_SCALE_L2] - l2) <= 1e-12 * l2);
    assert_true(fabs(f[fine][PSFWI_REG_SCALE_L1] - l1) <= 1e-12 * l1);
    assert_true(r.prior == f[fine][PSFWI_REG_SCALE_L2] && r.l1 == f[fine][PSFWI_REG_SCALE_L1]);
    psfwi_reg_ws_destroy(ws);
    free(g);
    free(m0);
  }
  static const char *names[] = {"tikhonov", "tv", "l2", "l1", "group", "nuclear", "ksupport"};
  for (int k = 0; k < PSFWI_REG_NSCALE; k++) {
    const double rel = fabs(f[1][k] - f[0][k]) / f[0][k];
    printf("  auto_scale %-9s coarse %.6e fine %.6e (rel. change %.1e)\n", names[k], f[0][k],
           f[1][k], rel);
    assert_true(rel <= 0.02); /* discretisation of smooth fields */
  }
}

static void test_errors(void **state) {
  (void)state;
  float m[N], m0[N];
  unsigned long long seed = 5;
  model(m, m0, &seed);
  psfwi_reg r;
  setup(&r, NULL, m0, 0);
  psfwi_error e = {0};
  assert_int_equal(psfwi_reg_check(&r, &e), PSFWI_EINVAL); /* nuclear without a workspace */
  assert_non_null(strstr(e.msg, "workspace"));
  psfwi_reg_ws *ws = psfwi_reg_ws_create(NX, NZ, NULL);
  r.ws = ws;
  r.ksupport_k = NZ + 1;
  assert_int_equal(psfwi_reg_check(&r, &e), PSFWI_ERANGE);
  assert_non_null(strstr(e.msg, "ksupport_k"));
  r.ksupport_k = 2;
  r.tv_kind = 7;
  assert_int_equal(psfwi_reg_check(&r, &e), PSFWI_EINVAL);
  r.tv_kind = 0;
  r.norm_eps = -1.0;
  assert_int_equal(psfwi_reg_check(&r, &e), PSFWI_ERANGE);
  assert_non_null(strstr(e.msg, "norm_eps"));
  r.norm_eps = 1.0;
  double u[N], g[N] = {0}, f[PSFWI_REG_NSCALE];
  for (size_t i = 0; i < N; i++) u[i] = m[i];
  u[4] = NAN;
  r.proximal = 1;
  assert_int_equal(psfwi_reg_prox(&r, 1.0, NULL, NULL, NULL, u, NULL, &e), PSFWI_ENONFINITE);
  assert_int_equal(psfwi_reg_prox(&r, -1.0, NULL, NULL, NULL, u, NULL, &e), PSFWI_ERANGE);
  assert_int_equal(psfwi_reg_auto_scale(&r, g, 50.0, f, &e), PSFWI_ERANGE); /* zero gradient */
  assert_non_null(strstr(e.msg, "zero"));
  psfwi_reg_ws_destroy(ws);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_sum_gradient), cmocka_unit_test(test_proximal_mode_values),
      cmocka_unit_test(test_prox_sum),     cmocka_unit_test(test_auto_scale),
      cmocka_unit_test(test_errors),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
