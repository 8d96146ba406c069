/* optim: stochastic first-order steps (SGD, momentum, Nesterov, Adam, AdamW,
 * RMSprop, Adadelta): the first two steps against the documented formulas,
 * Adadelta against hand-computed values, Adam's invariance to the
 * gradient's scale, minimisation of a noisy quadratic, of a 10-D convex
 * quadratic and of the 2-D Rosenbrock function, bounds, float32 steps, bit
 * for bit resume, gradient clipping by norm, error paths. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "psfwi_optim.h"
#include "testutil.h"

/* Deterministic normal deviates (xorshift64* and Box-Muller). */
typedef struct rng {
  unsigned long long s;
} rng;

static double uniform(rng *r) { return tu_uniform(&r->s); }

static double normal(rng *r) {
  const double u = uniform(r) + 1e-300, v = uniform(r);
  return sqrt(-2.0 * log(u)) * cos(2.0 * 3.14159265358979323846 * v);
}

static psfwi_optim_sgd *make(size_t n, int method, double lr, double wd) {
  psfwi_optim_sgd_options opt;
  psfwi_optim_sgd_options_init(&opt, method);
  opt.lr = lr;
  opt.weight_decay = wd;
  psfwi_error err;
  psfwi_optim_sgd *s = psfwi_optim_sgd_create(n, &opt, &err);
  assert_non_null(s);
  return s;
}

static void test_first_steps_match_formulas(void **state) {
  (void)state;
  const double x0[3] = {1.0, -2.0, 0.5};
  const double g1[3] = {0.3, -0.1, 2.0}, g2[3] = {-0.2, 0.4, 1.0};
  const double lr = 0.1, mu = 0.9, b1 = 0.9, b2 = 0.999, rho = 0.99, eps = 1e-8, wd = 0.01;
  psfwi_error err;
  for (int method = PSFWI_SGD_PLAIN; method <= PSFWI_SGD_ADADELTA; method++) {
    psfwi_optim_sgd *s = make(3, method, lr, wd);
    double x[3];
    memcpy(x, x0, sizeof x);
    assert_int_equal(psfwi_optim_sgd_step(s, x, g1, &err), PSFWI_OK);
    double x1[3];
    memcpy(x1, x, sizeof x);
    assert_int_equal(psfwi_optim_sgd_step(s, x, g2, &err), PSFWI_OK);
    assert_int_equal(psfwi_optim_sgd_steps(s), 2);
    for (int i = 0; i < 3; i++) {
      double e1, e2;
      const double a1 = g1[i] + wd * x0[i]; /* L2-decayed gradients */
      const double a2 = g2[i] + wd * x1[i];
      switch (method) {
        case PSFWI_SGD_PLAIN:
          e1 = x0[i] - lr * a1;
          e2 = x1[i] - lr * a2;
          break;
        case PSFWI_SGD_MOMENTUM:
          e1 = x0[i] - lr * a1;
          e2 = x1[i] - lr * (mu * a1 + a2);
          break;
        case PSFWI_SGD_NESTEROV:
          e1 = x0[i] - lr * (1.0 + mu) * a1;
          e2 = x1[i] - lr * (a2 + mu * (mu * a1 + a2));
          break;
        case PSFWI_SGD_ADAM:
        case PSFWI_SGD_ADAMW: {
          const double h1 = method == PSFWI_SGD_ADAM ? a1 : g1[i];
          const double h2 = method == PSFWI_SGD_ADAM ? a2 : g2[i];
          const double d1 = method == PSFWI_SGD_ADAM ? 1.0 : 1.0 - lr * wd;
          /* step 1: bias-corrected m = g, v = g^2: x -= lr g / (|g| + eps) */
          e1 = d1 * x0[i] - lr * h1 / (fabs(h1) + eps);
          const double m2 = b1 * (1 - b1) * h1 + (1 - b1) * h2;
          const double v2 = b2 * (1 - b2) * h1 * h1 + (1 - b2) * h2 * h2;
          e2 = d1 * x1[i] - lr * (m2 / (1 - b1 * b1)) / (sqrt(v2 / (1 - b2 * b2)) + eps);
          break;
        }
        case PSFWI_SGD_RMSPROP: {
          e1 = x0[i] - lr * a1 / (sqrt(1 - rho) * fabs(a1) + eps);
          const double v2 = rho * (1 - rho) * a1 * a1 + (1 - rho) * a2 * a2;
          e2 = x1[i] - lr * a2 / (sqrt(v2) + eps);
          break;
        }
        default: { /* Adadelta, with its own defaults rho = 0.9, eps = 1e-6 */
          const double r = 0.9, ep = 1e-6;
          const double v1 = (1 - r) * a1 * a1, d1 = sqrt(ep) / sqrt(v1 + ep) * a1;
          const double u1 = (1 - r) * d1 * d1;
          e1 = x0[i] - lr * d1;
          const double v2 = r * v1 + (1 - r) * a2 * a2, d2 = sqrt(u1 + ep) / sqrt(v2 + ep) * a2;
          e2 = x1[i] - lr * d2;
        }
      }
      assert_true(fabs(x1[i] - e1) <= 1e-14 * (1.0 + fabs(e1)));
      assert_true(fabs(x[i] - e2) <= 1e-14 * (1.0 + fabs(e2)));
    }
    psfwi_optim_sgd_destroy(s);
  }
}

/* Adadelta with torch.optim.Adadelta's defaults (lr 1, rho 0.9, eps 1e-6)
 * from x = 1 with g = 2, then g = -0.5; values computed by hand (40 digits):
 *   v1 = 0.1 * 4 = 0.4, delta1 = sqrt(1e-6) / sqrt(0.400001) * 2
 *      = 3.162273707328715694e-3, u1 = 0.1 delta1^2 = 9.99997500006e-7,
 *   x1 = 1 - delta1 = 0.9968377262926712843;
 *   v2 = 0.9 * 0.4 + 0.1 * 0.25 = 0.385,
 *   delta2 = sqrt(u1 + 1e-6) / sqrt(0.385001) * (-0.5) = -1.139603572340656304e-3,
 *   x2 = x1 - delta2 = 0.9979773298650119406. */
static void test_adadelta_by_hand(void **state) {
  (void)state;
  psfwi_optim_sgd_options opt;
  psfwi_optim_sgd_options_init(&opt, PSFWI_SGD_ADADELTA);
  assert_true(opt.lr == 1.0 && opt.rho == 0.9 && opt.eps == 1e-6);
  psfwi_error err;
  psfwi_optim_sgd *s = psfwi_optim_sgd_create(1, &opt, &err);
  assert_non_null(s);
  double x = 1.0;
  const double g1 = 2.0, g2 = -0.5;
  assert_int_equal(psfwi_optim_sgd_step(s, &x, &g1, &err), PSFWI_OK);
  printf("Adadelta step 1: x = %.17g (by hand 0.9968377262926712843)\n", x);
  assert_true(fabs(x - 0.9968377262926712843) < 1e-15);
  assert_int_equal(psfwi_optim_sgd_step(s, &x, &g2, &err), PSFWI_OK);
  printf("Adadelta step 2: x = %.17g (by hand 0.9979773298650119406)\n", x);
  assert_true(fabs(x - 0.9979773298650119406) < 1e-15);
  psfwi_optim_sgd_destroy(s);
}

static const char *const method_name[] = {"SGD",   "momentum", "Nesterov", "Adam",
                                          "AdamW", "RMSprop",  "Adadelta"};

/* f = sum a_i (x_i - c_i)^2 in 10-D, a_i = 0.5 + 0.5 i (curvatures 1 to 10),
 * c_i = -2 + 0.5 i, from x = 0 (start error 2.5), exact gradients, constant
 * learning rate, 1000 steps, weight decay 0: every method ends within 1e-8
 * of c (max norm). */
static void test_convex_quadratic(void **state) {
  (void)state;
  enum { N = 10, ITERS = 1000 };
  const double lr[7] = {0.1, 0.02, 0.02, 0.1, 0.1, 0.01, 1.0};
  for (int method = PSFWI_SGD_PLAIN; method <= PSFWI_SGD_ADADELTA; method++) {
    double a[N], c[N], x[N], g[N];
    for (int i = 0; i < N; i++) {
      a[i] = 0.5 + 0.5 * i;
      c[i] = -2.0 + 0.5 * i;
      x[i] = 0.0;
    }
    psfwi_optim_sgd *s = make(N, method, lr[method], 0.0);
    psfwi_error err;
    for (int k = 0; k < ITERS; k++) {
      for (int i = 0; i < N; i++) g[i] = 2.0 * a[i] * (x[i] - c[i]);
      assert_int_equal(psfwi_optim_sgd_step(s, x, g, &err), PSFWI_OK);
    }
    double e = 0.0;
    for (int i = 0; i < N; i++) e = fmax(e, fabs(x[i] - c[i]));
    printf("10-D quadratic, %s, lr %g, %d steps: max error %.2e\n", method_name[method], lr[method],
           ITERS, e);
    assert_true(e < 1e-8);
    psfwi_optim_sgd_destroy(s);
  }
}

/* Rosenbrock f = (1 - x)^2 + 100 (y - x^2)^2 from (-1.5, 2), exact
 * gradients; the adaptive methods with a cosine-annealed learning rate
 * (psfwi_lr_schedule, one "epoch" per step, t_max = the number of steps,
 * lr_min = 0). Every method ends within 1e-4 of (1, 1) (max norm). */
static void test_rosenbrock(void **state) {
  (void)state;
  const struct {
    double lr;
    int iters;
    int cosine;
  } cfg[7] = {
      {1e-3, 30000, 0}, /* SGD */
      {5e-4, 10000, 0}, /* momentum 0.9 */
      {5e-4, 10000, 0}, /* Nesterov 0.9 */
      {1e-2, 20000, 1}, /* Adam */
      {1e-2, 20000, 1}, /* AdamW (weight decay 0) */
      {1e-3, 20000, 1}, /* RMSprop */
      {1e-1, 20000, 1}, /* Adadelta */
  };
  for (int method = PSFWI_SGD_PLAIN; method <= PSFWI_SGD_ADADELTA; method++) {
    psfwi_optim_sgd *s = make(2, method, cfg[method].lr, 0.0);
    psfwi_lr_schedule_options so;
    psfwi_lr_schedule_options_init(&so, cfg[method].cosine ? PSFWI_LR_COSINE : PSFWI_LR_CONSTANT,
                                   cfg[method].lr);
    so.t_max = (size_t)cfg[method].iters;
    psfwi_error err;
    psfwi_lr_schedule *sch = psfwi_lr_schedule_create(&so, &err);
    assert_non_null(sch);
    double x[2] = {-1.5, 2.0}, g[2];
    for (int k = 0; k < cfg[method].iters; k++) {
      g[0] = -2.0 * (1.0 - x[0]) - 400.0 * x[0] * (x[1] - x[0] * x[0]);
      g[1] = 200.0 * (x[1] - x[0] * x[0]);
      assert_int_equal(psfwi_optim_sgd_step(s, x, g, &err), PSFWI_OK);
      double lr;
      assert_int_equal(psfwi_lr_schedule_step(sch, (size_t)k, NAN, &lr, &err), PSFWI_OK);
      if (lr > 0.0) /* lr(t_max) = lr_min = 0 comes after the last step */
        assert_int_equal(psfwi_optim_sgd_set_lr(s, lr, &err), PSFWI_OK);
    }
    const double e = fmax(fabs(x[0] - 1.0), fabs(x[1] - 1.0));
    printf("Rosenbrock, %s, lr %g%s, %d steps: max error %.2e\n", method_name[method],
           cfg[method].lr, cfg[method].cosine ? " cosine-annealed" : "", cfg[method].iters, e);
    assert_true(e < 1e-4);
    psfwi_lr_schedule_destroy(sch);
    psfwi_optim_sgd_destroy(s);
  }
}

static double norm2(size_t n, const double *g) {
  double s = 0.0;
  for (size_t i = 0; i < n; i++) s += g[i] * g[i];
  return sqrt(s);
}

static void test_clip_norm(void **state) {
  (void)state;
  /* (6, 0, 8, 0): norm 10, clipped to 1: norm 1 (up to PyTorch's 1e-6 in
   * max_norm / (norm + 1e-6)), same direction */
  double g[4] = {6.0, 0.0, 8.0, 0.0};
  assert_true(psfwi_optim_clip_norm(4, g, 1.0) == 10.0);
  printf("clipped (6, 0, 8, 0) to 1: (%.9f, %g, %.9f, %g), norm %.9f\n", g[0], g[1], g[2], g[3],
         norm2(4, g));
  assert_true(fabs(norm2(4, g) - 1.0) < 2e-7);
  assert_true(fabs(g[0] - 0.6) < 1e-7 && fabs(g[2] - 0.8) < 1e-7 && g[1] == 0.0 && g[3] == 0.0);
  assert_true(fabs(g[0] / g[2] - 0.75) < 1e-15);
  /* a smaller vector, or max_norm <= 0 (no clipping), is untouched */
  double h[3] = {0.3, -0.4, 0.0};
  assert_true(fabs(psfwi_optim_clip_norm(3, h, 1.0) - 0.5) < 1e-15);
  assert_true(h[0] == 0.3 && h[1] == -0.4 && h[2] == 0.0);
  double k[2] = {30.0, 40.0};
  assert_true(psfwi_optim_clip_norm(2, k, 0.0) == 50.0);
  assert_true(psfwi_optim_clip_norm(2, k, -1.0) == 50.0);
  assert_true(k[0] == 30.0 && k[1] == 40.0);
  assert_true(psfwi_optim_clip_norm(0, NULL, 1.0) == 0.0);
  /* float32: the same, norm accumulated in double */
  float f[2] = {3e3f, -4e3f};
  assert_true(psfwi_optim_clip_normf(2, f, 5.0) == 5e3);
  assert_true(fabs((double)f[0] - 3.0) < 1e-5 && fabs((double)f[1] + 4.0) < 1e-5);
  float fs[2] = {0.5f, 0.5f};
  psfwi_optim_clip_normf(2, fs, 1.0);
  assert_true(fs[0] == 0.5f && fs[1] == 0.5f);
  /* no overflow for huge components; a NaN leaves g untouched */
  double big[2] = {3e200, 4e200};
  const double nb = psfwi_optim_clip_norm(2, big, 1.0);
  assert_true(fabs(nb / 5e200 - 1.0) < 1e-15);
  assert_true(fabs(big[0] - 0.6) < 1e-12 && fabs(big[1] - 0.8) < 1e-12);
  double bad[2] = {1.0, NAN};
  assert_true(isnan(psfwi_optim_clip_norm(2, bad, 0.5)));
  assert_true(bad[0] == 1.0);
}

static void test_adam_scale_invariance(void **state) {
  (void)state;
  /* Adam's steps do not depend on the gradient's scale (up to eps). */
  enum { N = 8 };
  double xa[N], xb[N], ga[N], gb[N];
  rng r = {12345};
  for (int i = 0; i < N; i++) xa[i] = xb[i] = normal(&r);
  psfwi_optim_sgd *a = make(N, PSFWI_SGD_ADAM, 0.01, 0.0);
  psfwi_optim_sgd *b = make(N, PSFWI_SGD_ADAM, 0.01, 0.0);
  psfwi_error err;
  for (int k = 0; k < 20; k++) {
    for (int i = 0; i < N; i++) {
      ga[i] = normal(&r) + xa[i];
      gb[i] = 1e4 * ga[i];
    }
    assert_int_equal(psfwi_optim_sgd_step(a, xa, ga, &err), PSFWI_OK);
    assert_int_equal(psfwi_optim_sgd_step(b, xb, gb, &err), PSFWI_OK);
    for (int i = 0; i < N; i++) assert_true(fabs(xa[i] - xb[i]) < 1e-8);
  }
  psfwi_optim_sgd_destroy(a);
  psfwi_optim_sgd_destroy(b);
}

/* f = 1/2 sum w (x - c)^2 with gradient noise of standard deviation sigma. */
enum { NQ = 20 };

static double noisy_run(int method, double lr0, int bounded, double *xout) {
  double w[NQ], c[NQ], x[NQ], g[NQ];
  for (int i = 0; i < NQ; i++) {
    w[i] = 0.5 + 0.25 * (double)(i % 7);
    c[i] = -1.0 + 0.1 * (double)i;
    x[i] = 3.0;
  }
  psfwi_optim_sgd *s = make(NQ, method, lr0, 0.0);
  psfwi_error err;
  if (bounded) assert_int_equal(psfwi_optim_sgd_set_bounds(s, NULL, NULL, -0.5, 0.5, &err), 0);
  rng r = {987654321};
  const double sigma = 0.5;
  for (int k = 0; k < 3000; k++) {
    if (k == 1000) assert_int_equal(psfwi_optim_sgd_set_lr(s, 0.1 * lr0, &err), PSFWI_OK);
    if (k == 2000) assert_int_equal(psfwi_optim_sgd_set_lr(s, 0.01 * lr0, &err), PSFWI_OK);
    for (int i = 0; i < NQ; i++) g[i] = w[i] * (x[i] - c[i]) + sigma * normal(&r);
    assert_int_equal(psfwi_optim_sgd_step(s, x, g, &err), PSFWI_OK);
    if (bounded)
      for (int i = 0; i < NQ; i++) assert_true(x[i] >= -0.5 && x[i] <= 0.5);
  }
  double e = 0.0;
  for (int i = 0; i < NQ; i++) {
    const double target = bounded ? fmin(fmax(c[i], -0.5), 0.5) : c[i];
    e = fmax(e, fabs(x[i] - target));
  }
  if (xout) memcpy(xout, x, sizeof x);
  psfwi_optim_sgd_destroy(s);
  return e;
}

static void test_noisy_quadratic(void **state) {
  (void)state;
  const struct {
    int method;
    double lr;
    const char *name;
  } cases[] = {{PSFWI_SGD_ADAM, 0.05, "Adam"},         {PSFWI_SGD_ADAMW, 0.05, "AdamW"},
               {PSFWI_SGD_MOMENTUM, 0.02, "momentum"}, {PSFWI_SGD_NESTEROV, 0.02, "Nesterov"},
               {PSFWI_SGD_PLAIN, 0.2, "SGD"},          {PSFWI_SGD_RMSPROP, 0.02, "RMSprop"}};
  for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
    const double e = noisy_run(cases[k].method, cases[k].lr, 0, NULL);
    printf("noisy quadratic (start error 4, noise 0.5), %s: final max error %.4f\n", cases[k].name,
           e);
    assert_true(e < 0.06);
  }
  double x[NQ];
  const double e = noisy_run(PSFWI_SGD_ADAM, 0.05, 1, x);
  printf("noisy quadratic in [-0.5, 0.5], Adam: final max error %.4f\n", e);
  assert_true(e < 0.06);
  assert_true(x[0] == -0.5 && x[NQ - 1] == 0.5); /* c = -1 and 0.9: on the bounds */
}

static void test_float_steps(void **state) {
  (void)state;
  enum { N = 16 };
  double xd[N], gd[N];
  float xf[N], gf[N];
  rng r = {42};
  for (int i = 0; i < N; i++) {
    xf[i] = (float)normal(&r);
    xd[i] = (double)xf[i];
  }
  psfwi_optim_sgd *a = make(N, PSFWI_SGD_ADAM, 1e-2, 0.0);
  psfwi_optim_sgd *b = make(N, PSFWI_SGD_ADAM, 1e-2, 0.0);
  psfwi_error err;
  for (int k = 0; k < 30; k++) {
    for (int i = 0; i < N; i++) {
      gf[i] = (float)(xd[i] + 0.1 * normal(&r));
      gd[i] = (double)gf[i];
    }
    assert_int_equal(psfwi_optim_sgd_stepf(a, xf, gf, &err), PSFWI_OK);
    assert_int_equal(psfwi_optim_sgd_step(b, xd, gd, &err), PSFWI_OK);
  }
  for (int i = 0; i < N; i++) assert_true(fabs((double)xf[i] - xd[i]) < 1e-5);
  gf[3] = NAN;
  float keep[N];
  memcpy(keep, xf, sizeof keep);
  assert_int_equal(psfwi_optim_sgd_stepf(a, xf, gf, &err), PSFWI_ENONFINITE);
  assert_memory_equal(keep, xf, sizeof keep);
  assert_non_null(strstr(err.msg, "g[3]"));
  psfwi_optim_sgd_destroy(a);
  psfwi_optim_sgd_destroy(b);
}

static void test_resume_bit_for_bit(void **state) {
  (void)state;
  enum { N = 32 };
  for (int method = PSFWI_SGD_PLAIN; method <= PSFWI_SGD_ADADELTA; method++) {
    double xa[N], xb[N], g[N];
    rng ra = {7}, rb = {7};
    for (int i = 0; i < N; i++) xa[i] = xb[i] = 1.0 + 0.01 * i;
    psfwi_optim_sgd *a = make(N, method, 0.01, 1e-3);
    psfwi_optim_sgd *b = make(N, method, 0.01, 1e-3);
    psfwi_error err;
    assert_int_equal(psfwi_optim_sgd_set_bounds(a, NULL, NULL, 0.0, 2.0, &err), PSFWI_OK);
    assert_int_equal(psfwi_optim_sgd_set_bounds(b, NULL, NULL, 0.0, 2.0, &err), PSFWI_OK);
    for (int k = 0; k < 50; k++) {
      for (int i = 0; i < N; i++) g[i] = xa[i] - 0.5 + normal(&ra);
      psfwi_optim_sgd_step(a, xa, g, &err);
    }
    unsigned char *buf = NULL;
    for (int k = 0; k < 50; k++) {
      if (k == 20) { /* save, destroy, continue in a fresh object */
        const size_t size = psfwi_optim_sgd_state_size(b);
        buf = malloc(size);
        assert_int_equal(psfwi_optim_sgd_state_save(b, buf, size, &err), PSFWI_OK);
        psfwi_optim_sgd_destroy(b);
        b = make(N, method, 0.5 /* overwritten by the state */, 1e-3);
        assert_int_equal(psfwi_optim_sgd_state_restore(b, buf, size, &err), PSFWI_OK);
        assert_int_equal(psfwi_optim_sgd_steps(b), 20);
        free(buf);
      }
      for (int i = 0; i < N; i++) g[i] = xb[i] - 0.5 + normal(&rb);
      psfwi_optim_sgd_step(b, xb, g, &err);
    }
    assert_memory_equal(xa, xb, sizeof xa);
    psfwi_optim_sgd_destroy(a);
    psfwi_optim_sgd_destroy(b);
  }
}

static void test_error_paths(void **state) {
  (void)state;
  psfwi_optim_sgd_options opt;
  psfwi_error err;
  psfwi_optim_sgd_options_init(&opt, PSFWI_SGD_ADAM);
  assert_null(psfwi_optim_sgd_create(0, &opt, &err));
  assert_int_equal(err.status, PSFWI_EINVAL);
  assert_null(psfwi_optim_sgd_create(3, NULL, &err));
  opt.lr = 0.0;
  assert_null(psfwi_optim_sgd_create(3, &opt, &err));
  assert_non_null(strstr(err.msg, "lr = 0"));
  psfwi_optim_sgd_options_init(&opt, PSFWI_SGD_ADAM);
  opt.beta1 = 1.0;
  assert_null(psfwi_optim_sgd_create(3, &opt, &err));
  assert_non_null(strstr(err.msg, "beta1"));
  psfwi_optim_sgd_options_init(&opt, PSFWI_SGD_ADAM);
  opt.eps = 0.0;
  assert_null(psfwi_optim_sgd_create(3, &opt, &err));
  psfwi_optim_sgd_options_init(&opt, PSFWI_SGD_ADAM);
  opt.weight_decay = -1.0;
  assert_null(psfwi_optim_sgd_create(3, &opt, &err));
  psfwi_optim_sgd_options_init(&opt, 9);
  assert_null(psfwi_optim_sgd_create(3, &opt, &err));
  assert_non_null(strstr(err.msg, "method = 9"));
  assert_non_null(strstr(err.msg, "6 (Adadelta)"));
  psfwi_optim_sgd_options_init(&opt, PSFWI_SGD_ADADELTA);
  opt.rho = 1.0;
  assert_null(psfwi_optim_sgd_create(3, &opt, &err));
  assert_int_equal(err.status, PSFWI_ERANGE);
  assert_non_null(strstr(err.msg, "rho = 1; expected 0 <= rho < 1"));
  opt.rho = -0.1;
  assert_null(psfwi_optim_sgd_create(3, &opt, &err));
  assert_non_null(strstr(err.msg, "rho = -0.1"));
  psfwi_optim_sgd_destroy(NULL);

  psfwi_optim_sgd *s = make(3, PSFWI_SGD_MOMENTUM, 0.1, 0.0);
  assert_int_equal(psfwi_optim_sgd_set_lr(s, -1.0, &err), PSFWI_ERANGE);
  assert_int_equal(psfwi_optim_sgd_set_lr(s, NAN, &err), PSFWI_ERANGE);
  const double lo[3] = {0, 0, 3}, hi[3] = {1, 1, 1};
  assert_int_equal(psfwi_optim_sgd_set_bounds(s, lo, hi, 0, 0, &err), PSFWI_ERANGE);
  assert_non_null(strstr(err.msg, "component 2"));
  double x[3] = {1, 2, 3}, g[3] = {0.1, NAN, 0.2};
  assert_int_equal(psfwi_optim_sgd_step(s, x, g, &err), PSFWI_ENONFINITE);
  assert_true(x[0] == 1.0 && x[1] == 2.0 && x[2] == 3.0);
  assert_int_equal(psfwi_optim_sgd_steps(s), 0);
  g[1] = 0.0;
  assert_int_equal(psfwi_optim_sgd_step(s, x, g, &err), PSFWI_OK);
  psfwi_optim_sgd_reset(s);
  assert_int_equal(psfwi_optim_sgd_steps(s), 0);

  const size_t size = psfwi_optim_sgd_state_size(s);
  unsigned char *buf = malloc(size);
  assert_int_equal(psfwi_optim_sgd_state_save(s, buf, size - 1, &err), PSFWI_ERANGE);
  assert_int_equal(psfwi_optim_sgd_state_save(s, buf, size, &err), PSFWI_OK);
  psfwi_optim_sgd *t = make(4, PSFWI_SGD_MOMENTUM, 0.1, 0.0);
  assert_int_equal(psfwi_optim_sgd_state_restore(t, buf, size, &err), PSFWI_EINVAL);
  psfwi_optim_sgd_destroy(t);
  t = make(3, PSFWI_SGD_ADAM, 0.1, 0.0);
  assert_int_equal(psfwi_optim_sgd_state_restore(t, buf, size, &err), PSFWI_EINVAL);
  assert_non_null(strstr(err.msg, "method"));
  psfwi_optim_sgd_destroy(t);
  buf[size - 20] ^= 1;
  assert_int_equal(psfwi_optim_sgd_state_restore(s, buf, size, &err), PSFWI_EFORMAT);
  buf[0] = 'Q';
  assert_int_equal(psfwi_optim_sgd_state_restore(s, buf, size, &err), PSFWI_EFORMAT);
  assert_int_equal(psfwi_optim_sgd_state_restore(s, buf, 3, &err), PSFWI_EFORMAT);
  free(buf);
  psfwi_optim_sgd_destroy(s);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_first_steps_match_formulas),
      cmocka_unit_test(test_adadelta_by_hand),
      cmocka_unit_test(test_convex_quadratic),
      cmocka_unit_test(test_rosenbrock),
      cmocka_unit_test(test_clip_norm),
      cmocka_unit_test(test_adam_scale_invariance),
      cmocka_unit_test(test_noisy_quadratic),
      cmocka_unit_test(test_float_steps),
      cmocka_unit_test(test_resume_bit_for_bit),
      cmocka_unit_test(test_error_paths),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
