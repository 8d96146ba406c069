/* optim: L-BFGS (with bounds), nonlinear CG and steepest descent through the
 * reverse-communication interface; Wolfe conditions checked independently
 * at every accepted step; KKT points of bound-constrained quadratics; bit for
 * bit resume from a saved state; every error path. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "psfwi_optim.h"
#include "testutil.h"

typedef double (*fg_fn)(const double *x, double *g, size_t n, const void *ctx);

/* ---- Test functions ----------------------------------------------------------- */

/* Extended Rosenbrock (More, Garbow & Hillstrom no. 21): independent pairs. */
static double rosen_ext(const double *x, double *g, size_t n, const void *ctx) {
  (void)ctx;
  double f = 0.0;
  for (size_t i = 0; i + 1 < n; i += 2) {
    const double a = x[i + 1] - x[i] * x[i], b = 1.0 - x[i];
    f += 100.0 * a * a + b * b;
    g[i] = -400.0 * a * x[i] - 2.0 * b;
    g[i + 1] = 200.0 * a;
  }
  return f;
}

/* Chained Rosenbrock: sum 100 (x[i+1] - x[i]^2)^2 + (1 - x[i])^2. */
static double rosen_chain(const double *x, double *g, size_t n, const void *ctx) {
  (void)ctx;
  double f = 0.0;
  for (size_t i = 0; i < n; i++) g[i] = 0.0;
  for (size_t i = 0; i + 1 < n; i++) {
    const double a = x[i + 1] - x[i] * x[i], b = 1.0 - x[i];
    f += 100.0 * a * a + b * b;
    g[i] += -400.0 * a * x[i] - 2.0 * b;
    g[i + 1] += 200.0 * a;
  }
  return f;
}

/* f = sum_i w_i (x_i - c_i)^2 + coupling sum_i k (x_{i+1} - x_i)^2. */
typedef struct quad {
  const double *w, *c;
  double k;
} quad;

static double quad_fg(const double *x, double *g, size_t n, const void *ctx) {
  const quad *q = ctx;
  double f = 0.0;
  for (size_t i = 0; i < n; i++) {
    const double r = x[i] - q->c[i];
    f += q->w[i] * r * r;
    g[i] = 2.0 * q->w[i] * r;
  }
  for (size_t i = 0; i + 1 < n; i++) {
    const double e = x[i + 1] - x[i];
    f += q->k * e * e;
    g[i + 1] += 2.0 * q->k * e;
    g[i] -= 2.0 * q->k * e;
  }
  return f;
}

/* Returns the true f but the negated gradient: no line search can succeed. */
static double wrong_gradient(const double *x, double *g, size_t n, const void *ctx) {
  const double f = quad_fg(x, g, n, ctx);
  for (size_t i = 0; i < n; i++) g[i] = -g[i];
  return f;
}

/* ---- Driver: runs the loop, checks Wolfe conditions at accepted steps ---------- */
typedef struct run {
  int task;
  size_t iters, evals, armijo_checked, curvature_checked;
  size_t first_iter; /* iteration of the first NEW_X seen */
  int have_prev;
  double f;
  double fhist[4096]; /* f at each accepted iterate */
} run;

static double dot(const double *a, const double *b, size_t n) {
  double s = 0.0;
  for (size_t i = 0; i < n; i++) s += a[i] * b[i];
  return s;
}

/* Drive o until a terminal task or max_calls iterate calls. With unbounded
 * != 0 also check the strong curvature condition |g1's| <= c2 |g0's|. */
static void drive(psfwi_optim *o, fg_fn fn, const void *ctx, size_t n, double c1, double c2,
                  int unbounded, size_t max_calls, run *R) {
  double *g = malloc(n * sizeof *g), *xo = malloc(n * sizeof *xo), *go = malloc(n * sizeof *go);
  double *gc = malloc(n * sizeof *gc), *s = malloc(n * sizeof *s);
  assert_non_null(s);
  double fo = 0.0;
  psfwi_error err;
  size_t weak_before = 0;
  for (size_t call = 0; call < max_calls; call++) {
    int task;
    assert_int_equal(psfwi_optim_iterate(o, &task, &err), PSFWI_OK);
    R->task = task;
    if (task == PSFWI_OPTIM_EVAL) {
      const double f = fn(psfwi_optim_x(o), g, n, ctx);
      R->evals++;
      assert_int_equal(psfwi_optim_tell(o, f, g, &err), PSFWI_OK);
    } else if (task == PSFWI_OPTIM_NEW_X) {
      const double *x;
      double f;
      psfwi_optim_current(o, &x, NULL, &f);
      const double fc = fn(x, gc, n, ctx); /* our own evaluation */
      assert_true(fc == f);
      psfwi_optim_info info;
      psfwi_optim_get_info(o, &info);
      if (!R->have_prev) R->first_iter = info.iter;
      if (R->have_prev) {
        for (size_t i = 0; i < n; i++) s[i] = x[i] - xo[i];
        const double g0s = dot(go, s, n), g1s = dot(gc, s, n);
        assert_true(g0s < 0.0);
        /* sufficient decrease relative to the actual displacement */
        assert_true(fc <= fo + c1 * g0s + 1e-14 * fabs(fo));
        R->armijo_checked++;
        if (unbounded && info.n_weak == weak_before) {
          assert_true(fabs(g1s) <= c2 * fabs(g0s) * (1.0 + 1e-9));
          R->curvature_checked++;
        }
      }
      weak_before = info.n_weak;
      if (info.iter < sizeof R->fhist / sizeof R->fhist[0]) R->fhist[info.iter] = f;
      memcpy(xo, x, n * sizeof *x);
      memcpy(go, gc, n * sizeof *gc);
      fo = fc;
      R->have_prev = 1;
      R->iters = info.iter;
      R->f = f;
    } else {
      break;
    }
  }
  free(g), free(xo), free(go), free(gc), free(s);
}

static psfwi_optim *make(size_t n, int method, double gtol_abs, psfwi_optim_options *opt) {
  psfwi_optim_options_init(opt, method);
  opt->gtol_abs = gtol_abs;
  opt->gtol_rel = 0.0;
  psfwi_error err;
  psfwi_optim *o = psfwi_optim_create(n, opt, &err);
  assert_non_null(o);
  return o;
}

static double max_abs_diff(const double *a, double b, size_t n) {
  double m = 0.0;
  for (size_t i = 0; i < n; i++) m = fmax(m, fabs(a[i] - b));
  return m;
}

/* ---- Rosenbrock --------------------------------------------------------------- */
static void rosen_case(size_t n, fg_fn fn, const char *name) {
  psfwi_optim_options opt;
  psfwi_optim *o = make(n, PSFWI_OPTIM_LBFGS, 1e-10, &opt);
  double x0[16];
  for (size_t i = 0; i < n; i++) x0[i] = i % 2 == 0 ? -1.2 : 1.0;
  psfwi_error err;
  assert_int_equal(psfwi_optim_set(o, x0, &err), PSFWI_OK);
  run *R = calloc(1, sizeof *R);
  drive(o, fn, NULL, n, opt.c1, opt.c2, 1, 100000, R);
  psfwi_optim_info info;
  psfwi_optim_get_info(o, &info);
  const double *x;
  psfwi_optim_current(o, &x, NULL, NULL);
  printf(
      "%s n = %zu: %s (%s) after %zu iterations, %zu evaluations, |x - 1| = %.2e, "
      "f = %.2e, weak steps %zu, resets %zu\n",
      name, n, psfwi_optim_task_text(R->task), psfwi_optim_reason_text(info.reason), info.iter,
      info.nfev, max_abs_diff(x, 1.0, n), info.f, info.n_weak, info.n_reset);
  assert_int_equal(R->task, PSFWI_OPTIM_CONVERGED);
  assert_int_equal(info.reason, PSFWI_OPTIM_GTOL);
  assert_true(max_abs_diff(x, 1.0, n) < 1e-6);
  assert_int_equal(info.nfev, R->evals);
  assert_int_equal(info.n_weak, 0);
  assert_true(R->curvature_checked == info.iter && info.iter > 10);
  /* f decreases monotonically */
  for (size_t k = 1; k <= info.iter; k++) assert_true(R->fhist[k] < R->fhist[k - 1]);
  free(R);
  psfwi_optim_destroy(o);
}

static void test_rosenbrock_lbfgs(void **state) {
  (void)state;
  rosen_case(2, rosen_ext, "Rosenbrock");
  rosen_case(10, rosen_ext, "extended Rosenbrock");
  rosen_case(10, rosen_chain, "chained Rosenbrock");
}

/* ---- Quadratics ------------------------------------------------------------------- */
enum { NQ = 12 };

static void diag_setup(double *w, double *c) {
  for (size_t i = 0; i < NQ; i++) {
    w[i] = 1.0 + (double)((i * 7) % 11);              /* weights 1 to 11: condition 11 */
    c[i] = -1.0 + 3.0 * (double)i / (double)(NQ - 1); /* -1 .. 2; box [0, 1] */
  }
}

static void test_bounded_quadratic_kkt(void **state) {
  (void)state;
  double w[NQ], c[NQ], lo[NQ], hi[NQ], x0[NQ];
  diag_setup(w, c);
  for (size_t i = 0; i < NQ; i++) {
    lo[i] = 0.0;
    hi[i] = i == 5 ? 0.2 : 1.0; /* a per-component bound that binds from above */
    x0[i] = 0.5;
  }
  const quad q = {w, c, 0.0};
  const int methods[] = {PSFWI_OPTIM_LBFGS, PSFWI_OPTIM_CG, PSFWI_OPTIM_STEEPEST};
  const char *names[] = {"L-BFGS", "CG", "steepest descent"};
  for (int k = 0; k < 3; k++) {
    psfwi_optim_options opt;
    /* f is about 12 at the solution: its rounding (1e-15) limits what any
     * line search on f can resolve to a projected gradient of about 1e-7. */
    psfwi_optim *o = make(NQ, methods[k], 1e-7, &opt);
    psfwi_error err;
    assert_int_equal(psfwi_optim_set_bounds(o, lo, hi, 0.0, 0.0, &err), PSFWI_OK);
    assert_int_equal(psfwi_optim_set(o, x0, &err), PSFWI_OK);
    run *R = calloc(1, sizeof *R);
    drive(o, quad_fg, &q, NQ, opt.c1, opt.c2, 0, 100000, R);
    psfwi_optim_info info;
    psfwi_optim_get_info(o, &info);
    const double *x, *g;
    psfwi_optim_current(o, &x, &g, NULL);
    printf(
        "bounded diagonal quadratic, %s: %s after %zu iterations, %zu evaluations, "
        "%zu active, pg %.3e f %.17g resets %zu weak %zu\n",
        names[k], psfwi_optim_reason_text(info.reason), info.iter, info.nfev, info.n_active,
        info.pg_norm, info.f, info.n_reset, info.n_weak);
    assert_int_equal(R->task, PSFWI_OPTIM_CONVERGED);
    size_t nact = 0;
    for (size_t i = 0; i < NQ; i++) {
      const double xs = fmin(fmax(c[i], lo[i]), hi[i]); /* the KKT point */
      assert_true(fabs(x[i] - xs) < 1e-7);
      if (c[i] < lo[i] || c[i] > hi[i]) {
        assert_true(x[i] == xs); /* exactly on its bound: the active set is right */
        nact++;
      } else {
        assert_true(x[i] > lo[i] && x[i] < hi[i]);
      }
      /* projected gradient */
      assert_true(fabs(fmin(fmax(x[i] - g[i], lo[i]), hi[i]) - x[i]) <= 1e-7);
    }
    assert_int_equal(info.n_active, nact);
    assert_true(nact == 9); /* c < 0 for i <= 3, c[5] > 0.2, c > 1 for i >= 8 */
    free(R);
    psfwi_optim_destroy(o);
  }
}

static void test_coupled_quadratic_kkt(void **state) {
  (void)state;
  double w[NQ], c[NQ], x0[NQ], xs[3][NQ];
  diag_setup(w, c);
  for (size_t i = 0; i < NQ; i++) x0[i] = 0.3;
  const quad q = {w, c, 4.0}; /* a tridiagonal coupling: the solution is not clip(c) */
  const int methods[] = {PSFWI_OPTIM_LBFGS, PSFWI_OPTIM_CG, PSFWI_OPTIM_STEEPEST};
  for (int k = 0; k < 3; k++) {
    psfwi_optim_options opt;
    psfwi_optim *o = make(NQ, methods[k], 1e-7, &opt);
    psfwi_error err;
    assert_int_equal(psfwi_optim_set_bounds(o, NULL, NULL, 0.0, 1.0, &err), PSFWI_OK);
    assert_int_equal(psfwi_optim_set(o, x0, &err), PSFWI_OK);
    run *R = calloc(1, sizeof *R);
    drive(o, quad_fg, &q, NQ, opt.c1, opt.c2, 0, 200000, R);
    assert_int_equal(R->task, PSFWI_OPTIM_CONVERGED);
    const double *x, *g;
    psfwi_optim_current(o, &x, &g, NULL);
    size_t nlo = 0, nhi = 0;
    for (size_t i = 0; i < NQ; i++) { /* KKT conditions */
      if (x[i] == 0.0) {
        assert_true(g[i] >= 0.0);
        nlo++;
      } else if (x[i] == 1.0) {
        assert_true(g[i] <= 0.0);
        nhi++;
      } else {
        assert_true(fabs(g[i]) <= 1e-7);
      }
      xs[k][i] = x[i];
    }
    psfwi_optim_info info;
    psfwi_optim_get_info(o, &info);
    printf("coupled quadratic, method %d: %zu iterations, %zu at 0, %zu at 1\n", methods[k],
           info.iter, nlo, nhi);
    assert_true(nlo >= 1 && nhi >= 1);
    free(R);
    psfwi_optim_destroy(o);
  }
  for (size_t i = 0; i < NQ; i++) { /* all three methods find the same point */
    assert_true(fabs(xs[0][i] - xs[1][i]) < 1e-7);
    assert_true(fabs(xs[0][i] - xs[2][i]) < 1e-7);
  }
}

static void test_cg_and_steepest_unbounded(void **state) {
  (void)state;
  double w[NQ], c[NQ], x0[NQ];
  diag_setup(w, c);
  for (size_t i = 0; i < NQ; i++) x0[i] = 5.0;
  const quad q = {w, c, 0.0};
  const int methods[] = {PSFWI_OPTIM_CG, PSFWI_OPTIM_STEEPEST, PSFWI_OPTIM_LBFGS};
  for (int k = 0; k < 3; k++) {
    psfwi_optim_options opt;
    psfwi_optim *o = make(NQ, methods[k], 1e-10, &opt);
    psfwi_error err;
    assert_int_equal(psfwi_optim_set(o, x0, &err), PSFWI_OK);
    run *R = calloc(1, sizeof *R);
    drive(o, quad_fg, &q, NQ, opt.c1, opt.c2, 1, 100000, R);
    assert_int_equal(R->task, PSFWI_OPTIM_CONVERGED);
    const double *x;
    psfwi_optim_current(o, &x, NULL, NULL);
    double e = 0.0;
    for (size_t i = 0; i < NQ; i++) e = fmax(e, fabs(x[i] - c[i]));
    psfwi_optim_info info;
    psfwi_optim_get_info(o, &info);
    printf("unbounded quadratic, method %d: %zu iterations, %zu evaluations, |x - c| = %.1e\n",
           methods[k], info.iter, info.nfev, e);
    assert_true(e < 1e-9);
    assert_true(R->curvature_checked >= 1);
    if (methods[k] == PSFWI_OPTIM_STEEPEST) assert_true(info.iter > 12);
    free(R);
    psfwi_optim_destroy(o);
  }
}

/* FWI-like scales: x in m/s inside [1500, 4500], f and g tiny (1e-9 times a
 * quadratic), first step limited to 50 m/s, relative gradient tolerance. */
typedef struct scaled {
  quad q;
  double s;
} scaled;

static double scaled_fg(const double *x, double *g, size_t n, const void *ctx) {
  const scaled *p = ctx;
  const double f = quad_fg(x, g, n, &p->q);
  for (size_t i = 0; i < n; i++) g[i] *= p->s;
  return p->s * f;
}

static void test_fwi_like_scaling(void **state) {
  (void)state;
  enum { NS = 50 };
  double w[NS], c[NS], x0[NS];
  for (size_t i = 0; i < NS; i++) {
    w[i] = 1.0 + (double)(i % 5);
    c[i] = 1400.0 + 70.0 * (double)i; /* 1400 .. 4830 m/s: both bounds bind */
    x0[i] = 2000.0;
  }
  const scaled p = {{w, c, 2.0}, 1e-9};
  const int methods[] = {PSFWI_OPTIM_LBFGS, PSFWI_OPTIM_CG};
  for (int k = 0; k < 2; k++) {
    psfwi_optim_options opt;
    psfwi_optim_options_init(&opt, methods[k]);
    opt.step0 = 50.0;
    opt.gtol_rel = 1e-7;
    psfwi_error err;
    psfwi_optim *o = psfwi_optim_create(NS, &opt, &err);
    assert_int_equal(psfwi_optim_set_bounds(o, NULL, NULL, 1500.0, 4500.0, &err), PSFWI_OK);
    assert_int_equal(psfwi_optim_set(o, x0, &err), PSFWI_OK);
    run *R = calloc(1, sizeof *R);
    drive(o, scaled_fg, &p, NS, opt.c1, opt.c2, 0, 100000, R);
    psfwi_optim_info info;
    psfwi_optim_get_info(o, &info);
    const double *x, *g;
    psfwi_optim_current(o, &x, &g, NULL);
    printf(
        "FWI-like scaling, method %d: %s after %zu iterations, %zu evaluations, "
        "%zu active, |P(x - g) - x| %.1e of %.1e\n",
        methods[k], psfwi_optim_reason_text(info.reason), info.iter, info.nfev, info.n_active,
        info.pg_norm, info.pg_norm0);
    assert_int_equal(R->task, PSFWI_OPTIM_CONVERGED);
    assert_true(info.nfev < 200);
    size_t nlo = 0, nhi = 0;
    for (size_t i = 0; i < NS; i++) {
      if (x[i] == 1500.0) {
        assert_true(g[i] >= 0.0);
        nlo++;
      } else if (x[i] == 4500.0) {
        assert_true(g[i] <= 0.0);
        nhi++;
      } else {
        assert_true(fabs(g[i]) <= 1e-7 * info.pg_norm0);
      }
    }
    assert_true(nlo >= 1 && nhi >= 4);
    free(R);
    psfwi_optim_destroy(o);
  }
}

/* ---- Resume bit for bit -------------------------------------------------------------- */
static void resume_case(int method, size_t stop_after_evals) {
  enum { N = 10 };
  psfwi_optim_options opt;
  psfwi_error err;
  double x0[N], g[N];
  for (size_t i = 0; i < N; i++) x0[i] = i % 2 == 0 ? -1.2 : 1.0;
  /* Reference: uninterrupted, with bounds that bind (x <= 0.9 for i = 3). */
  double hi[N];
  for (size_t i = 0; i < N; i++) hi[i] = i == 3 ? 0.9 : 2.0;
  psfwi_optim *a = make(N, method, 1e-9, &opt);
  assert_int_equal(psfwi_optim_set_bounds(a, NULL, hi, -2.0, 0.0, &err), PSFWI_OK);
  assert_int_equal(psfwi_optim_set(a, x0, &err), PSFWI_OK);
  run *Ra = calloc(1, sizeof *Ra);
  drive(a, rosen_chain, NULL, N, opt.c1, opt.c2, 0, 100000, Ra);
  /* Interrupted: stop right after stop_after_evals evaluations were told
   * (mid line search), save, destroy, restore into a fresh object. */
  psfwi_optim *b = make(N, method, 1e-9, &opt);
  assert_int_equal(psfwi_optim_set_bounds(b, NULL, hi, -2.0, 0.0, &err), PSFWI_OK);
  assert_int_equal(psfwi_optim_set(b, x0, &err), PSFWI_OK);
  size_t told = 0;
  int task = 0;
  while (told < stop_after_evals) {
    assert_int_equal(psfwi_optim_iterate(b, &task, &err), PSFWI_OK);
    if (task == PSFWI_OPTIM_EVAL) {
      const double f = rosen_chain(psfwi_optim_x(b), g, N, NULL);
      assert_int_equal(psfwi_optim_tell(b, f, g, &err), PSFWI_OK);
      told++;
    } else {
      assert_int_equal(task, PSFWI_OPTIM_NEW_X);
    }
  }
  const size_t size = psfwi_optim_state_size(b);
  unsigned char *buf = malloc(size);
  assert_int_equal(psfwi_optim_state_save(b, buf, size, &err), PSFWI_OK);
  psfwi_optim_destroy(b);
  psfwi_optim *c = make(N, method, 1e-9, &opt); /* no bounds, no set: all from the state */
  assert_int_equal(psfwi_optim_state_restore(c, buf, size, &err), PSFWI_OK);
  run *Rc = calloc(1, sizeof *Rc);
  drive(c, rosen_chain, NULL, N, opt.c1, opt.c2, 0, 100000, Rc);
  psfwi_optim_info ia, ic;
  psfwi_optim_get_info(a, &ia);
  psfwi_optim_get_info(c, &ic);
  const double *xa, *xc;
  psfwi_optim_current(a, &xa, NULL, NULL);
  psfwi_optim_current(c, &xc, NULL, NULL);
  printf("resume, method %d, saved after %zu evaluations: %zu iterations, %zu evaluations\n",
         method, stop_after_evals, ia.iter, ia.nfev);
  assert_true(ia.iter > 5 && stop_after_evals < ia.nfev);
  assert_int_equal(Ra->task, Rc->task);
  assert_int_equal(ia.iter, ic.iter);
  assert_int_equal(ia.nfev, ic.nfev);
  assert_memory_equal(xa, xc, N * sizeof *xa);
  assert_memory_equal(&ia.f, &ic.f, sizeof ia.f);
  /* the f history after the restart point matches too */
  const size_t k0 = Rc->first_iter;
  assert_memory_equal(&Ra->fhist[k0], &Rc->fhist[k0], (ia.iter - k0 + 1) * sizeof(double));
  free(Ra), free(Rc), free(buf);
  psfwi_optim_destroy(a);
  psfwi_optim_destroy(c);
}

static void test_resume_bit_for_bit(void **state) {
  (void)state;
  resume_case(PSFWI_OPTIM_LBFGS, 23);
  resume_case(PSFWI_OPTIM_LBFGS, 1);
  resume_case(PSFWI_OPTIM_CG, 40);
  resume_case(PSFWI_OPTIM_STEEPEST, 30);
}

/* ---- Limits, failures and error paths -------------------------------------------- */
static void test_limits(void **state) {
  (void)state;
  double x0[2] = {-1.2, 1.0};
  psfwi_optim_options opt;
  psfwi_error err;
  psfwi_optim *o = make(2, PSFWI_OPTIM_LBFGS, 1e-10, &opt);
  psfwi_optim_destroy(o);
  opt.max_iter = 5;
  o = psfwi_optim_create(2, &opt, &err);
  assert_int_equal(psfwi_optim_set(o, x0, &err), PSFWI_OK);
  run *R = calloc(1, sizeof *R);
  drive(o, rosen_ext, NULL, 2, opt.c1, opt.c2, 1, 1000, R);
  psfwi_optim_info info;
  psfwi_optim_get_info(o, &info);
  assert_int_equal(R->task, PSFWI_OPTIM_STOPPED);
  assert_int_equal(info.reason, PSFWI_OPTIM_MAXITER);
  assert_int_equal(info.iter, 5);
  int task;
  assert_int_equal(psfwi_optim_iterate(o, &task, &err), PSFWI_OK); /* terminal repeats */
  assert_int_equal(task, PSFWI_OPTIM_STOPPED);
  psfwi_optim_destroy(o);

  opt.max_iter = 0;
  opt.max_eval = 7;
  o = psfwi_optim_create(2, &opt, &err);
  assert_int_equal(psfwi_optim_set(o, x0, &err), PSFWI_OK);
  memset(R, 0, sizeof *R);
  drive(o, rosen_ext, NULL, 2, opt.c1, opt.c2, 1, 1000, R);
  psfwi_optim_get_info(o, &info);
  assert_int_equal(R->task, PSFWI_OPTIM_STOPPED);
  assert_int_equal(info.reason, PSFWI_OPTIM_MAXEVAL);
  assert_int_equal(info.nfev, 7);
  psfwi_optim_destroy(o);

  /* ftol and xtol stop before gtol would (ftol on a minimum f* = 12 > 0) */
  opt.max_eval = 0;
  opt.ftol = 1e-6;
  double w[NQ], c[NQ], xq[NQ];
  diag_setup(w, c);
  for (size_t i = 0; i < NQ; i++) xq[i] = 0.5;
  const quad q = {w, c, 1.0};
  o = psfwi_optim_create(NQ, &opt, &err);
  assert_int_equal(psfwi_optim_set_bounds(o, NULL, NULL, 0.0, 1.0, &err), PSFWI_OK);
  assert_int_equal(psfwi_optim_set(o, xq, &err), PSFWI_OK);
  memset(R, 0, sizeof *R);
  drive(o, quad_fg, &q, NQ, opt.c1, opt.c2, 0, 1000, R);
  psfwi_optim_get_info(o, &info);
  assert_int_equal(info.reason, PSFWI_OPTIM_FTOL);
  assert_true(R->fhist[info.iter - 1] - info.f <= 1e-6 * info.f);
  psfwi_optim_destroy(o);
  opt.ftol = 0.0;
  opt.xtol = 1e-2;
  o = psfwi_optim_create(2, &opt, &err);
  assert_int_equal(psfwi_optim_set(o, x0, &err), PSFWI_OK);
  memset(R, 0, sizeof *R);
  drive(o, rosen_ext, NULL, 2, opt.c1, opt.c2, 1, 1000, R);
  psfwi_optim_get_info(o, &info);
  assert_int_equal(info.reason, PSFWI_OPTIM_XTOL);
  assert_true(info.x_change <= 1e-2);
  psfwi_optim_destroy(o);

  /* max_ls = 2 and a tiny first step: the first line search never meets the
   * curvature condition but decreases f enough, and takes a weak step; the
   * run still converges with f decreasing. */
  psfwi_optim_options_init(&opt, PSFWI_OPTIM_LBFGS);
  opt.max_ls = 2;
  opt.step0 = 1e-3;
  opt.gtol_abs = 1e-8;
  opt.gtol_rel = 0.0;
  for (size_t i = 0; i < NQ; i++) xq[i] = 3.0;
  const quad q0 = {w, c, 0.0};
  o = psfwi_optim_create(NQ, &opt, &err);
  assert_int_equal(psfwi_optim_set(o, xq, &err), PSFWI_OK);
  memset(R, 0, sizeof *R);
  drive(o, quad_fg, &q0, NQ, opt.c1, opt.c2, 1, 100000, R);
  psfwi_optim_get_info(o, &info);
  printf("max_ls = 2: %s after %zu iterations, %zu evaluations, %zu weak, %zu resets\n",
         psfwi_optim_reason_text(info.reason), info.iter, info.nfev, info.n_weak, info.n_reset);
  assert_int_equal(R->task, PSFWI_OPTIM_CONVERGED);
  assert_true(info.n_weak > 0);
  assert_int_equal(R->armijo_checked, info.iter);
  for (size_t k = 1; k <= info.iter; k++) assert_true(R->fhist[k] < R->fhist[k - 1]);
  psfwi_optim_destroy(o);
  free(R);
}

static void test_step0_and_first_iteration(void **state) {
  (void)state;
  /* step0 = 0.25: the first trial changes the largest component by 0.25. */
  double w[NQ], c[NQ], x0[NQ], g[NQ];
  diag_setup(w, c);
  for (size_t i = 0; i < NQ; i++) x0[i] = 0.0;
  const quad q = {w, c, 0.0};
  psfwi_optim_options opt;
  psfwi_optim_options_init(&opt, PSFWI_OPTIM_LBFGS);
  opt.step0 = 0.25;
  psfwi_error err;
  psfwi_optim *o = psfwi_optim_create(NQ, &opt, &err);
  assert_int_equal(psfwi_optim_set(o, x0, &err), PSFWI_OK);
  int task;
  assert_int_equal(psfwi_optim_iterate(o, &task, &err), PSFWI_OK);
  assert_int_equal(task, PSFWI_OPTIM_EVAL);
  /* asking again without telling repeats the request */
  assert_int_equal(psfwi_optim_iterate(o, &task, &err), PSFWI_OK);
  assert_int_equal(task, PSFWI_OPTIM_EVAL);
  double f = quad_fg(psfwi_optim_x(o), g, NQ, &q);
  assert_int_equal(psfwi_optim_tell(o, f, g, &err), PSFWI_OK);
  assert_int_equal(psfwi_optim_tell(o, f, g, &err), PSFWI_EINVAL); /* told twice */
  assert_int_equal(psfwi_optim_iterate(o, &task, &err), PSFWI_OK);
  assert_int_equal(task, PSFWI_OPTIM_NEW_X);
  psfwi_optim_info info;
  psfwi_optim_get_info(o, &info);
  assert_int_equal(info.iter, 0);
  assert_true(info.f == f && info.f0 == f);
  assert_int_equal(psfwi_optim_tell(o, f, g, &err), PSFWI_EINVAL); /* nothing pending */
  assert_int_equal(psfwi_optim_iterate(o, &task, &err), PSFWI_OK);
  assert_int_equal(task, PSFWI_OPTIM_EVAL);
  const double *xt = psfwi_optim_x(o);
  double mx = 0.0;
  for (size_t i = 0; i < NQ; i++) mx = fmax(mx, fabs(xt[i] - x0[i]));
  assert_true(fabs(mx - 0.25) < 1e-15);
  psfwi_optim_destroy(o);
}

static void test_failures(void **state) {
  (void)state;
  double w[NQ], c[NQ], x0[NQ], g[NQ];
  diag_setup(w, c);
  for (size_t i = 0; i < NQ; i++) x0[i] = 0.5;
  const quad q = {w, c, 0.0};
  psfwi_optim_options opt;
  psfwi_error err;
  int task;
  /* a wrong gradient: every direction goes uphill -> line search fails */
  psfwi_optim *o = make(NQ, PSFWI_OPTIM_LBFGS, 1e-12, &opt);
  assert_int_equal(psfwi_optim_set(o, x0, &err), PSFWI_OK);
  psfwi_optim_iterate(o, &task, &err);
  double f = wrong_gradient(psfwi_optim_x(o), g, NQ, &q);
  psfwi_optim_tell(o, f, g, &err);
  for (int k = 0; k < 200; k++) {
    assert_int_equal(psfwi_optim_iterate(o, &task, &err), PSFWI_OK);
    if (task != PSFWI_OPTIM_EVAL && task != PSFWI_OPTIM_NEW_X) break;
    if (task == PSFWI_OPTIM_EVAL) {
      f = wrong_gradient(psfwi_optim_x(o), g, NQ, &q);
      assert_int_equal(psfwi_optim_tell(o, f, g, &err), PSFWI_OK);
    }
  }
  psfwi_optim_info info;
  psfwi_optim_get_info(o, &info);
  assert_int_equal(task, PSFWI_OPTIM_FAILED);
  assert_int_equal(info.reason, PSFWI_OPTIM_LINESEARCH);
  assert_int_equal(info.iter, 0);
  assert_true(info.nfev <= 1 + opt.max_ls);
  psfwi_optim_destroy(o);

  /* NaN objective in the middle of a run: clear status, last iterate kept */
  o = make(NQ, PSFWI_OPTIM_LBFGS, 1e-12, &opt);
  assert_int_equal(psfwi_optim_set(o, x0, &err), PSFWI_OK);
  size_t evals = 0;
  int status = PSFWI_OK;
  for (int k = 0; k < 200 && status == PSFWI_OK; k++) {
    assert_int_equal(psfwi_optim_iterate(o, &task, &err), PSFWI_OK);
    if (task == PSFWI_OPTIM_EVAL) {
      f = quad_fg(psfwi_optim_x(o), g, NQ, &q);
      if (++evals == 4) f = NAN;
      status = psfwi_optim_tell(o, f, g, &err);
    }
  }
  assert_int_equal(status, PSFWI_ENONFINITE);
  assert_non_null(strstr(err.msg, "evaluation 4"));
  assert_int_equal(psfwi_optim_iterate(o, &task, &err), PSFWI_OK);
  assert_int_equal(task, PSFWI_OPTIM_FAILED);
  psfwi_optim_get_info(o, &info);
  assert_int_equal(info.reason, PSFWI_OPTIM_NONFINITE);
  assert_true(isfinite(info.f) && info.f < info.f0);
  assert_int_equal(psfwi_optim_tell(o, 1.0, g, &err), PSFWI_EINVAL);
  psfwi_optim_destroy(o);

  /* NaN in the gradient at the start */
  o = make(NQ, PSFWI_OPTIM_CG, 1e-12, &opt);
  assert_int_equal(psfwi_optim_set(o, x0, &err), PSFWI_OK);
  psfwi_optim_iterate(o, &task, &err);
  quad_fg(psfwi_optim_x(o), g, NQ, &q);
  g[7] = INFINITY;
  assert_int_equal(psfwi_optim_tell(o, 1.0, g, &err), PSFWI_ENONFINITE);
  assert_non_null(strstr(err.msg, "g[7]"));
  psfwi_optim_iterate(o, &task, &err);
  assert_int_equal(task, PSFWI_OPTIM_FAILED);
  psfwi_optim_destroy(o);
}

static void test_error_paths(void **state) {
  (void)state;
  psfwi_optim_options opt;
  psfwi_error err;
  psfwi_optim_options_init(&opt, PSFWI_OPTIM_LBFGS);
  assert_null(psfwi_optim_create(0, &opt, &err));
  assert_int_equal(err.status, PSFWI_EINVAL);
  assert_non_null(strstr(err.msg, "n = 0"));
  assert_null(psfwi_optim_create(3, NULL, &err));
  opt.method = 7;
  assert_null(psfwi_optim_create(3, &opt, &err));
  assert_non_null(strstr(err.msg, "method = 7"));
  psfwi_optim_options_init(&opt, PSFWI_OPTIM_LBFGS);
  opt.memory = 0;
  assert_null(psfwi_optim_create(3, &opt, &err));
  assert_non_null(strstr(err.msg, "memory"));
  psfwi_optim_options_init(&opt, PSFWI_OPTIM_CG);
  opt.c1 = 0.5; /* c1 >= c2 = 0.1 */
  assert_null(psfwi_optim_create(3, &opt, &err));
  assert_non_null(strstr(err.msg, "c1 = 0.5"));
  psfwi_optim_options_init(&opt, PSFWI_OPTIM_STEEPEST);
  opt.max_ls = 0;
  assert_null(psfwi_optim_create(3, &opt, &err));
  assert_non_null(strstr(err.msg, "max_ls"));
  psfwi_optim_options_init(&opt, PSFWI_OPTIM_STEEPEST);
  opt.gtol_rel = -1.0;
  assert_null(psfwi_optim_create(3, &opt, &err));
  assert_non_null(strstr(err.msg, "gtol_rel"));
  opt.gtol_rel = NAN;
  assert_null(psfwi_optim_create(3, &opt, &err));
  psfwi_optim_destroy(NULL);

  psfwi_optim_options_init(&opt, PSFWI_OPTIM_LBFGS);
  psfwi_optim *o = psfwi_optim_create(3, &opt, &err);
  assert_non_null(o);
  assert_int_equal(psfwi_optim_size(o), 3);
  int task;
  assert_int_equal(psfwi_optim_iterate(o, &task, &err), PSFWI_EINVAL); /* before set */
  double g[3] = {0, 0, 0};
  assert_int_equal(psfwi_optim_tell(o, 1.0, g, &err), PSFWI_EINVAL);
  const double lo[3] = {0.0, 2.0, 0.0}, hi[3] = {1.0, 1.0, 1.0};
  assert_int_equal(psfwi_optim_set_bounds(o, lo, hi, 0, 0, &err), PSFWI_ERANGE);
  assert_non_null(strstr(err.msg, "component 1"));
  assert_int_equal(psfwi_optim_set_bounds(o, NULL, NULL, NAN, 1.0, &err), PSFWI_ERANGE);
  assert_int_equal(psfwi_optim_set_bounds(o, NULL, NULL, INFINITY, INFINITY, &err), PSFWI_ERANGE);
  assert_int_equal(psfwi_optim_set_bounds(o, NULL, NULL, -1.0, 1.0, &err), PSFWI_OK);
  double x0[3] = {0.0, NAN, 0.0};
  assert_int_equal(psfwi_optim_set(o, x0, &err), PSFWI_ENONFINITE);
  assert_non_null(strstr(err.msg, "x0[1]"));
  x0[1] = 5.0; /* projected into the box */
  assert_int_equal(psfwi_optim_set(o, x0, &err), PSFWI_OK);
  assert_true(psfwi_optim_x(o)[1] == 1.0);
  assert_int_equal(psfwi_optim_set_bounds(o, NULL, NULL, -2.0, 2.0, &err), PSFWI_EINVAL);

  /* state buffers */
  const size_t size = psfwi_optim_state_size(o);
  unsigned char *buf = malloc(size + 8);
  assert_int_equal(psfwi_optim_state_save(o, buf, size - 1, &err), PSFWI_ERANGE);
  assert_int_equal(psfwi_optim_state_save(o, buf, size, &err), PSFWI_OK);
  assert_int_equal(psfwi_optim_state_restore(o, buf, size, &err), PSFWI_OK);
  assert_int_equal(psfwi_optim_state_restore(o, buf, size - 1, &err), PSFWI_EFORMAT);
  buf[size / 2] ^= 0x10;
  assert_int_equal(psfwi_optim_state_restore(o, buf, size, &err), PSFWI_EFORMAT);
  assert_non_null(strstr(err.msg, "checksum"));
  buf[size / 2] ^= 0x10;
  buf[0] = 'X';
  assert_int_equal(psfwi_optim_state_restore(o, buf, size, &err), PSFWI_EFORMAT);
  buf[0] = 'P';
  psfwi_optim *o4 = psfwi_optim_create(4, &opt, &err);
  assert_int_equal(psfwi_optim_state_restore(o4, buf, size, &err), PSFWI_EINVAL);
  assert_non_null(strstr(err.msg, "n = 3"));
  psfwi_optim_options_init(&opt, PSFWI_OPTIM_CG);
  psfwi_optim *o3 = psfwi_optim_create(3, &opt, &err);
  assert_int_equal(psfwi_optim_state_restore(o3, buf, size, &err), PSFWI_EINVAL);
  assert_non_null(strstr(err.msg, "method"));
  free(buf);
  psfwi_optim_destroy(o);
  psfwi_optim_destroy(o3);
  psfwi_optim_destroy(o4);

  assert_string_equal(psfwi_optim_task_text(PSFWI_OPTIM_CONVERGED), "converged");
  assert_string_equal(psfwi_optim_task_text(99), "unknown task");
  assert_string_equal(psfwi_optim_reason_text(PSFWI_OPTIM_MAXITER), "iteration limit reached");
  assert_string_equal(psfwi_optim_reason_text(-3), "unknown reason");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_rosenbrock_lbfgs),
      cmocka_unit_test(test_bounded_quadratic_kkt),
      cmocka_unit_test(test_coupled_quadratic_kkt),
      cmocka_unit_test(test_cg_and_steepest_unbounded),
      cmocka_unit_test(test_fwi_like_scaling),
      cmocka_unit_test(test_resume_bit_for_bit),
      cmocka_unit_test(test_limits),
      cmocka_unit_test(test_step0_and_first_iteration),
      cmocka_unit_test(test_failures),
      cmocka_unit_test(test_error_paths),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
