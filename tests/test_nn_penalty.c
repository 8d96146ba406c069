/* nn penalties, double build (psfwi_nn64): src/nn/penalty.c.
 *  - the gradient of every penalty (L1, L2, spectral, Jacobian estimate)
 *    w.r.t. every parameter against central differences, on a network with
 *    dense, conv1d and transposed conv1d layers, with padding masks;
 *  - the spectral term against the largest singular value of each weight
 *    matrix from an independent Jacobi SVD;
 *  - the Jacobian estimate against the exact squared Frobenius norm of a
 *    small dense network's Jacobian, built column by column from backward
 *    passes: the mean of 3000 one-draw estimates lies within 4 standard
 *    errors of it;
 *  - the Jacobian nuclear term (encoder-decoder split) on a network whose
 *    skip connection crosses the split: the mean of 2000 one-draw
 *    estimates lies within 4 standard errors of lam / 2 mean (|J_g|_F^2 +
 *    |J_h|_F^2) from Jacobians of an independent hand-written forward
 *    (central differences), which is never below mean |J_f|_*;
 *  - jacobian_samples: the terms of a batch's first samples, bit for bit;
 *  - padding: entries marked invalid neither move nor count;
 *  - bad options. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "psfwi_nn.h"
#include "testutil.h"

enum { C = 2, W = 6, B = 3 };

static psfwi_nn *net(psfwi_nn_layer *l, size_t n, size_t c, size_t w) {
  psfwi_error e;
  psfwi_nn *nn = psfwi_nn_create(c, 1, w, l, n, &e);
  if (nn == NULL) fail_msg("%s", e.msg);
  psfwi_nn_init(nn, 5);
  assert_int_equal(psfwi_nn_set_batch(nn, B, &e), PSFWI_OK);
  /* no parameter at 0 (the L1 kink) */
  psfwi_nn_real *p = psfwi_nn_params(nn);
  unsigned long long rs = 99;
  for (size_t i = 0; i < psfwi_nn_nparam(nn); i++)
    p[i] = 0.3 * tu_urand(&rs) + (tu_urand(&rs) > 0 ? 0.05 : -0.05);
  return nn;
}

static void conv_net(psfwi_nn_layer *l, size_t *n) {
  psfwi_nn_layer_init(&l[0], PSFWI_NN_CONV1D);
  l[0].out = 3, l[0].k = 3, l[0].pad = 1, l[0].act = PSFWI_NN_TANH;
  psfwi_nn_layer_init(&l[1], PSFWI_NN_CONVT1D);
  l[1].out = 2, l[1].k = 2, l[1].stride = 1, l[1].act = PSFWI_NN_ELU;
  psfwi_nn_layer_init(&l[2], PSFWI_NN_DENSE);
  l[2].out = 8, l[2].act = PSFWI_NN_TANH;
  *n = 3;
}

static double value(psfwi_nn_pen *p, const double *x, int grad) {
  psfwi_nn_pen_terms t;
  psfwi_error e;
  if (psfwi_nn_pen_eval(p, x, B, grad, &t, &e) != PSFWI_OK) fail_msg("%s", e.msg);
  return t.total;
}

/* max |central difference - g| / max |g| over every parameter, step h. */
static double fd_rel_error(psfwi_nn_pen *p, psfwi_nn *nn, const double *x, const double *g,
                           double h) {
  psfwi_nn_real *par = psfwi_nn_params(nn);
  double emax = 0.0, gmax = 0.0;
  for (size_t i = 0; i < psfwi_nn_nparam(nn); i++) {
    const double keep = par[i];
    par[i] = keep + h;
    const double fp = value(p, x, 0);
    par[i] = keep - h;
    const double fm = value(p, x, 0);
    par[i] = keep;
    emax = fmax(emax, fabs((fp - fm) / (2.0 * h) - g[i]));
    gmax = fmax(gmax, fabs(g[i]));
  }
  assert_true(gmax > 0.0);
  return emax / gmax;
}

static void test_gradients(void **state) {
  (void)state;
  psfwi_nn_layer l[4];
  size_t n;
  conv_net(l, &n);
  psfwi_nn *nn = net(l, n, C, W);
  const size_t ni = psfwi_nn_in_size(nn), no = psfwi_nn_out_size(nn), np = psfwi_nn_nparam(nn);
  double x[B * C * W];
  unsigned long long rs = 7;
  for (size_t i = 0; i < B * ni; i++) x[i] = tu_urand(&rs);
  unsigned char in_valid[C * W], out_valid[64];
  for (size_t i = 0; i < ni; i++) in_valid[i] = (i % W) < W - 1; /* last column: padding */
  for (size_t i = 0; i < no; i++) out_valid[i] = i < no - 2;
  const char *names[5] = {"l1", "l2", "spectral", "jacobian", "nuclear"};
  for (int k = 0; k < 5; k++) {
    psfwi_nn_pen_opts o;
    psfwi_nn_pen_defaults(&o);
    if (k == 0) o.l1 = 0.7;
    if (k == 1) o.l2 = 0.9;
    if (k == 2) o.spectral = 0.6, o.spectral_iter = 400;
    if (k == 3) o.jacobian = 1.3, o.jacobian_draws = 2, o.jacobian_step = 0.05;
    if (k == 4)
      o.nuclear = 1.1, o.jacobian_draws = 2, o.jacobian_step = 0.05, o.nuclear_step = 0.04;
    psfwi_error e;
    psfwi_nn_pen *p = psfwi_nn_pen_create(nn, &o, B, in_valid, out_valid, &e);
    if (p == NULL) fail_msg("%s", e.msg);
    psfwi_nn_zero_grad(nn);
    value(p, x, 1);
    double *g = malloc(np * sizeof *g);
    memcpy(g, psfwi_nn_grads(nn), np * sizeof *g);
    const double rel = fd_rel_error(p, nn, x, g, 1e-6);
    printf("  %-9s central FD over %zu parameters: max error / max gradient %.2e\n", names[k], np,
           rel);
    assert_true(rel <= 1e-6);
    free(g);
    psfwi_nn_pen_destroy(p);
  }
  psfwi_nn_destroy(nn);
}

static void test_spectral_value(void **state) {
  (void)state;
  psfwi_nn_layer l[4];
  size_t n;
  conv_net(l, &n);
  psfwi_nn *nn = net(l, n, C, W);
  psfwi_nn_pen_opts o;
  psfwi_nn_pen_defaults(&o);
  o.spectral = 1.0;
  o.spectral_iter = 500;
  psfwi_error e;
  psfwi_nn_pen *p = psfwi_nn_pen_create(nn, &o, B, NULL, NULL, &e);
  psfwi_nn_pen_terms t;
  assert_int_equal(psfwi_nn_pen_eval(p, NULL, 0, 0, &t, &e), PSFWI_OK);
  /* the weights as matrices: conv (3 x 2*3), convt (3 x 2*2: C rows), dense (8 x 2*7) */
  const size_t rows[3] = {3, 3, 8};
  double expect = 0.0;
  for (size_t i = 0; i < 3; i++) {
    size_t off, count, nw;
    psfwi_nn_param_range(nn, i, &off, &count, &nw);
    const size_t R = rows[i], Cc = nw / R;
    double *m = malloc(nw * sizeof *m), s[16];
    memcpy(m, psfwi_nn_params(nn) + off, nw * sizeof *m);
    tu_singular_values(Cc, R, m, s);
    double smax = 0.0;
    for (size_t j = 0; j < (R < Cc ? R : Cc); j++) smax = fmax(smax, s[j]);
    expect += smax * smax;
    free(m);
  }
  printf("  spectral: %.15g vs Jacobi %.15g\n", t.spectral, expect);
  assert_true(fabs(t.spectral - expect) <= 1e-10 * expect);
  psfwi_nn_pen_destroy(p);
  psfwi_nn_destroy(nn);
}

static void test_jacobian_estimate(void **state) {
  (void)state;
  psfwi_nn_layer l[2];
  psfwi_nn_layer_init(&l[0], PSFWI_NN_DENSE);
  l[0].out = 7, l[0].act = PSFWI_NN_TANH;
  psfwi_nn_layer_init(&l[1], PSFWI_NN_DENSE);
  l[1].out = 4;
  psfwi_nn *nn = net(l, 2, 1, 5);
  const size_t ni = 5, no = 4;
  double x[B * 5];
  unsigned long long rs = 3;
  for (size_t i = 0; i < B * ni; i++) x[i] = tu_urand(&rs);
  /* exact: J^T e_o for every output o (a backward pass each), per sample */
  psfwi_error e;
  double exact = 0.0;
  assert_non_null(psfwi_nn_forward(nn, x, B, 0, &e));
  double dy[B * 4], dx[B * 5];
  for (size_t o = 0; o < no; o++) {
    memset(dy, 0, sizeof dy);
    for (size_t b = 0; b < B; b++) dy[b * no + o] = 1.0;
    assert_int_equal(psfwi_nn_backward(nn, dy, dx, &e), PSFWI_OK);
    for (size_t i = 0; i < B * ni; i++) exact += dx[i] * dx[i];
  }
  exact /= B;
  psfwi_nn_zero_grad(nn);
  /* 3000 one-draw estimates (seeds 1..3000) */
  enum { NDRAW = 3000 };
  double sum = 0.0, sum2 = 0.0;
  for (int d = 0; d < NDRAW; d++) {
    psfwi_nn_pen_opts o;
    psfwi_nn_pen_defaults(&o);
    o.jacobian = 1.0;
    o.jacobian_step = 1e-5;
    o.seed = (uint64_t)d + 1;
    psfwi_nn_pen *p = psfwi_nn_pen_create(nn, &o, B, NULL, NULL, &e);
    psfwi_nn_pen_terms t;
    assert_int_equal(psfwi_nn_pen_eval(p, x, B, 0, &t, &e), PSFWI_OK);
    sum += t.jacobian;
    sum2 += t.jacobian * t.jacobian;
    psfwi_nn_pen_destroy(p);
  }
  const double mean = sum / NDRAW, se = sqrt((sum2 / NDRAW - mean * mean) / (NDRAW - 1));
  printf("  jacobian: exact mean |J|_F^2 = %.6f, estimate %.6f +- %.6f (%.2f standard errors)\n",
         exact, mean, se, fabs(mean - exact) / se);
  assert_true(fabs(mean - exact) <= 4.0 * se);
  assert_true(se < 0.1 * exact); /* the check has teeth */
  psfwi_nn_destroy(nn);
}

/* The operator kind: the estimate is the mean of sigma_max(J_b)^2 (exact J
 * per sample from backward passes, its singular values by Jacobi), and its
 * gradient (at the power-iterated directions, Danskin) matches central
 * differences of the whole estimate once the iterations converge. */
static void test_operator_norm(void **state) {
  (void)state;
  psfwi_nn_layer l[2];
  psfwi_nn_layer_init(&l[0], PSFWI_NN_DENSE);
  l[0].out = 7, l[0].act = PSFWI_NN_TANH;
  psfwi_nn_layer_init(&l[1], PSFWI_NN_DENSE);
  l[1].out = 4;
  psfwi_nn *nn = net(l, 2, 1, 5);
  const size_t ni = 5, no = 4, np = psfwi_nn_nparam(nn);
  double x[B * 5];
  unsigned long long rs = 4;
  for (size_t i = 0; i < B * ni; i++) x[i] = tu_urand(&rs);
  psfwi_error e;
  /* exact J_b (no x ni per sample): row o = J^T e_o */
  double J[B][4 * 5], dy[B * 4], dx[B * 5];
  assert_non_null(psfwi_nn_forward(nn, x, B, 0, &e));
  for (size_t o = 0; o < no; o++) {
    memset(dy, 0, sizeof dy);
    for (size_t b = 0; b < B; b++) dy[b * no + o] = 1.0;
    assert_int_equal(psfwi_nn_backward(nn, dy, dx, &e), PSFWI_OK);
    for (size_t b = 0; b < B; b++)
      for (size_t i = 0; i < ni; i++) J[b][o * ni + i] = dx[b * ni + i];
  }
  psfwi_nn_zero_grad(nn);
  double exact = 0.0;
  for (size_t b = 0; b < B; b++) {
    double sv[4];
    tu_singular_values(ni, no, J[b], sv);
    double smax = 0.0;
    for (size_t j = 0; j < no; j++) smax = fmax(smax, sv[j]);
    exact += smax * smax / B;
  }
  psfwi_nn_pen_opts o;
  psfwi_nn_pen_defaults(&o);
  o.jacobian = 1.0;
  o.jacobian_kind = PSFWI_NN_JAC_OPERATOR;
  o.jacobian_step = 1e-5; /* the estimate's bias is O(s) */
  o.jacobian_power_iter = 200;
  psfwi_nn_pen *p = psfwi_nn_pen_create(nn, &o, B, NULL, NULL, &e);
  if (p == NULL) fail_msg("%s", e.msg);
  psfwi_nn_pen_terms t;
  assert_int_equal(psfwi_nn_pen_eval(p, x, B, 0, &t, &e), PSFWI_OK);
  printf("  operator: mean sigma_max^2 exact %.10f, estimate %.10f\n", exact, t.jacobian);
  assert_true(fabs(t.jacobian - exact) <= 1e-5 * exact);
  /* the gradient; the power iterations leave the parameter gradient as it was */
  psfwi_nn_zero_grad(nn);
  psfwi_nn_grads(nn)[0] = 0.25;
  assert_int_equal(psfwi_nn_pen_eval(p, x, B, 1, &t, &e), PSFWI_OK);
  double *g = malloc(np * sizeof *g);
  memcpy(g, psfwi_nn_grads(nn), np * sizeof *g);
  g[0] -= 0.25;
  const double rel = fd_rel_error(p, nn, x, g, 1e-4);
  printf("  operator: central FD over %zu parameters: max error / max gradient %.2e\n", np, rel);
  assert_true(rel <= 1e-5);
  free(g);
  psfwi_nn_pen_destroy(p);
  psfwi_nn_destroy(nn);
}

/* x (5) -> a0 = tanh(dense 6) -> a1 = tanh(dense 3) -> dense 6 -> + a0, tanh
 * -> dense 4: the skip from a0 crosses the bottleneck (layer 1). */
static psfwi_nn *skip_net(void) {
  psfwi_nn_layer l[5];
  psfwi_nn_layer_init(&l[0], PSFWI_NN_DENSE);
  l[0].out = 6, l[0].act = PSFWI_NN_TANH;
  psfwi_nn_layer_init(&l[1], PSFWI_NN_DENSE);
  l[1].out = 3, l[1].act = PSFWI_NN_TANH;
  psfwi_nn_layer_init(&l[2], PSFWI_NN_DENSE);
  l[2].out = 6;
  psfwi_nn_layer_init(&l[3], PSFWI_NN_ADD);
  l[3].from = 0, l[3].act = PSFWI_NN_TANH;
  psfwi_nn_layer_init(&l[4], PSFWI_NN_DENSE);
  l[4].out = 4;
  return net(l, 5, 1, 5);
}

/* The same network written out: y = W v + b, W (nout x nin) then b. */
static void ref_dense(const psfwi_nn_real *p, size_t nin, size_t nout, const double *v, double *y) {
  for (size_t o = 0; o < nout; o++) {
    double s = p[nout * nin + o];
    for (size_t f = 0; f < nin; f++) s += p[o * nin + f] * v[f];
    y[o] = s;
  }
}
static size_t poff(psfwi_nn *nn, size_t i) {
  size_t off, count, nw;
  psfwi_nn_param_range(nn, i, &off, &count, &nw);
  return off;
}
static void ref_h(psfwi_nn *nn, const double *x, double *z) { /* z = (a0, a1) */
  const psfwi_nn_real *p = psfwi_nn_params(nn);
  ref_dense(p + poff(nn, 0), 5, 6, x, z);
  for (int i = 0; i < 6; i++) z[i] = tanh(z[i]);
  ref_dense(p + poff(nn, 1), 6, 3, z, z + 6);
  for (int i = 6; i < 9; i++) z[i] = tanh(z[i]);
}
static void ref_g(psfwi_nn *nn, const double *z, double *y) {
  const psfwi_nn_real *p = psfwi_nn_params(nn);
  double u[6];
  ref_dense(p + poff(nn, 2), 3, 6, z + 6, u);
  for (int i = 0; i < 6; i++) u[i] = tanh(u[i] + z[i]);
  ref_dense(p + poff(nn, 4), 6, 4, u, y);
}

static void test_nuclear(void **state) {
  (void)state;
  psfwi_nn *nn = skip_net();
  const size_t ni = 5, no = 4, nz = 9, np = psfwi_nn_nparam(nn);
  double x[B * 5];
  unsigned long long rs = 12;
  for (size_t i = 0; i < B * ni; i++) x[i] = tu_urand(&rs);
  /* exact Jacobians of the written-out network (central differences) */
  double ex_h = 0.0, ex_g = 0.0, ex_nuc = 0.0;
  const double hd = 1e-6;
  for (size_t b = 0; b < B; b++) {
    double z[9], zp[9], zm[9], y[4], yp[4], ym[4], xp[5], Jf[4 * 5], Jg[4 * 9];
    ref_h(nn, x + b * ni, z);
    ref_g(nn, z, y);
    for (size_t i = 0; i < ni; i++) {
      memcpy(xp, x + b * ni, sizeof xp);
      xp[i] += hd;
      ref_h(nn, xp, zp);
      ref_g(nn, zp, yp);
      xp[i] -= 2 * hd;
      ref_h(nn, xp, zm);
      ref_g(nn, zm, ym);
      for (size_t j = 0; j < nz; j++) ex_h += pow((zp[j] - zm[j]) / (2 * hd), 2) / B;
      for (size_t o = 0; o < no; o++) Jf[o * ni + i] = (yp[o] - ym[o]) / (2 * hd);
    }
    for (size_t j = 0; j < nz; j++) {
      memcpy(zp, z, sizeof zp);
      zp[j] += hd;
      ref_g(nn, zp, yp);
      zp[j] -= 2 * hd;
      ref_g(nn, zp, ym);
      for (size_t o = 0; o < no; o++) Jg[o * nz + j] = (yp[o] - ym[o]) / (2 * hd);
    }
    for (size_t k = 0; k < no * nz; k++) ex_g += Jg[k] * Jg[k] / B;
    double sv[4];
    tu_singular_values(ni, no, Jf, sv);
    for (size_t o = 0; o < no; o++) ex_nuc += sv[o] / B;
  }
  const double lam = 0.7, exact = 0.5 * lam * (ex_h + ex_g);
  /* the factorisation bounds the nuclear norm: (|A|^2 + |B|^2) / 2 >= |AB|_* */
  assert_true(exact >= lam * ex_nuc);
  enum { NDRAW = 2000 };
  psfwi_error e;
  double sum = 0.0, sum2 = 0.0;
  for (int d = 0; d < NDRAW; d++) {
    psfwi_nn_pen_opts o;
    psfwi_nn_pen_defaults(&o);
    o.nuclear = lam;
    o.jacobian_step = 1e-5;
    o.nuclear_step = 2e-5;
    o.seed = (uint64_t)d + 1;
    psfwi_nn_pen *p = psfwi_nn_pen_create(nn, &o, B, NULL, NULL, &e);
    if (p == NULL) fail_msg("%s", e.msg);
    psfwi_nn_pen_terms t;
    assert_int_equal(psfwi_nn_pen_eval(p, x, B, 0, &t, &e), PSFWI_OK);
    sum += t.nuclear;
    sum2 += t.nuclear * t.nuclear;
    psfwi_nn_pen_destroy(p);
  }
  const double mean = sum / NDRAW, se = sqrt((sum2 / NDRAW - mean * mean) / (NDRAW - 1));
  printf(
      "  nuclear: exact lam/2 (|J_g|^2 + |J_h|^2) = %.6f (lam |J_f|_* = %.6f), estimate "
      "%.6f +- %.6f (%.2f standard errors)\n",
      exact, lam * ex_nuc, mean, se, fabs(mean - exact) / se);
  assert_true(fabs(mean - exact) <= 4.0 * se);
  assert_true(se < 0.1 * exact);
  /* its gradient, the skip crossing the split, with padding masks */
  unsigned char in_valid[5] = {1, 1, 0, 1, 1}, out_valid[4] = {1, 0, 1, 1};
  psfwi_nn_pen_opts o;
  psfwi_nn_pen_defaults(&o);
  o.nuclear = lam;
  o.jacobian_step = 0.03;
  o.jacobian_draws = 3;
  psfwi_nn_pen *p = psfwi_nn_pen_create(nn, &o, B, in_valid, out_valid, &e);
  if (p == NULL) fail_msg("%s", e.msg);
  psfwi_nn_zero_grad(nn);
  value(p, x, 1);
  double *g = malloc(np * sizeof *g);
  memcpy(g, psfwi_nn_grads(nn), np * sizeof *g);
  const double rel = fd_rel_error(p, nn, x, g, 1e-6);
  printf(
      "  nuclear (skip across the split): central FD over %zu parameters: max error / max "
      "gradient %.2e\n",
      np, rel);
  assert_true(rel <= 1e-6);
  free(g);
  psfwi_nn_pen_destroy(p);
  /* an explicit split; the last layer cannot be one */
  o.nuclear_split = 3;
  p = psfwi_nn_pen_create(nn, &o, B, NULL, NULL, &e);
  assert_non_null(p);
  psfwi_nn_pen_destroy(p);
  o.nuclear_split = 4;
  assert_null(psfwi_nn_pen_create(nn, &o, B, NULL, NULL, &e));
  assert_non_null(strstr(e.msg, "jacobian_nuclear_split = 4"));
  psfwi_nn_destroy(nn);
}

/* jacobian_samples = N: the Jacobian terms of a batch of B are those of its
 * first N samples alone (value and gradient, the same bits). */
static void test_subsample(void **state) {
  (void)state;
  psfwi_nn_layer l[4];
  size_t n;
  conv_net(l, &n);
  psfwi_nn *nn = net(l, n, C, W);
  const size_t ni = psfwi_nn_in_size(nn), np = psfwi_nn_nparam(nn);
  double x[B * C * W];
  unsigned long long rs = 21;
  for (size_t i = 0; i < B * ni; i++) x[i] = tu_urand(&rs);
  double *g1 = malloc(np * sizeof *g1);
  for (int kind = 0; kind < 2; kind++) {
    psfwi_nn_pen_opts o;
    psfwi_nn_pen_defaults(&o);
    if (kind == 0) o.jacobian = 0.9;
    if (kind == 1) o.nuclear = 0.9;
    o.jacobian_step = 0.05;
    psfwi_error e;
    psfwi_nn_pen *full = psfwi_nn_pen_create(nn, &o, B, NULL, NULL, &e);
    o.jacobian_samples = 2;
    psfwi_nn_pen *sub = psfwi_nn_pen_create(nn, &o, B, NULL, NULL, &e);
    if (full == NULL || sub == NULL) fail_msg("%s", e.msg);
    psfwi_nn_pen_terms tf, ts;
    psfwi_nn_zero_grad(nn);
    assert_int_equal(psfwi_nn_pen_eval(full, x, 2, 1, &tf, &e), PSFWI_OK);
    memcpy(g1, psfwi_nn_grads(nn), np * sizeof *g1);
    psfwi_nn_zero_grad(nn);
    assert_int_equal(psfwi_nn_pen_eval(sub, x, B, 1, &ts, &e), PSFWI_OK);
    assert_true(ts.total > 0.0);
    assert_true(ts.total == tf.total);
    assert_memory_equal(g1, psfwi_nn_grads(nn), np * sizeof *g1);
    /* and differs from the whole batch's */
    psfwi_nn_pen_terms tb;
    assert_int_equal(psfwi_nn_pen_eval(full, x, B, 0, &tb, &e), PSFWI_OK);
    assert_true(tb.total != ts.total);
    psfwi_nn_pen_destroy(full);
    psfwi_nn_pen_destroy(sub);
  }
  free(g1);
  psfwi_nn_destroy(nn);
}

static void test_errors(void **state) {
  (void)state;
  psfwi_nn_layer l[4];
  size_t n;
  conv_net(l, &n);
  psfwi_nn *nn = net(l, n, C, W);
  psfwi_nn_pen_opts o;
  psfwi_nn_pen_defaults(&o);
  psfwi_error e;
  o.spectral = -1.0;
  assert_null(psfwi_nn_pen_create(nn, &o, B, NULL, NULL, &e));
  assert_non_null(strstr(e.msg, "spectral"));
  psfwi_nn_pen_defaults(&o);
  o.jacobian = 1.0;
  o.jacobian_step = 0.0;
  assert_null(psfwi_nn_pen_create(nn, &o, B, NULL, NULL, &e));
  assert_non_null(strstr(e.msg, "jacobian_step"));
  o.jacobian_step = 0.01;
  psfwi_nn_pen *p = psfwi_nn_pen_create(nn, &o, B, NULL, NULL, &e);
  psfwi_nn_pen_terms t;
  double x[(B + 1) * C * W] = {0};
  assert_int_equal(psfwi_nn_pen_eval(p, x, B + 1, 1, &t, &e), PSFWI_EINVAL);
  psfwi_nn_pen_destroy(p);
  /* padding: no valid output, or no valid input, and the estimate is 0 */
  unsigned char none[64] = {0};
  for (int k = 0; k < 2; k++) {
    p = psfwi_nn_pen_create(nn, &o, B, k ? none : NULL, k ? NULL : none, &e);
    assert_int_equal(psfwi_nn_pen_eval(p, x, B, 0, &t, &e), PSFWI_OK);
    assert_true(t.jacobian == 0.0);
    psfwi_nn_pen_destroy(p);
  }
  psfwi_nn_destroy(nn);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_gradients),
      cmocka_unit_test(test_spectral_value),
      cmocka_unit_test(test_jacobian_estimate),
      cmocka_unit_test(test_operator_norm),
      cmocka_unit_test(test_nuclear),
      cmocka_unit_test(test_subsample),
      cmocka_unit_test(test_errors),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
