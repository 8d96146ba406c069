/* invert: data filter and misfits. The zero-phase Butterworth filter has
 * the designed amplitude response (1/2 at the corner after the forward and
 * backward passes), no phase shift, and an exact transpose (dot-product
 * test); each misfit returns the value computed independently here and an
 * adjoint source that matches central finite differences (exact for the
 * quadratic L2 and spectral misfits); the spectral misfit's DFT passes a
 * dot-product test; the correlation misfit ignores trace amplitudes; a
 * filter inside the objective gives F^T F (u - d); L1 and Huber on a case
 * worked by hand, against central differences (L1 with steps that cross no
 * kink) and with the filter (F^T sign(F u - F d), F^T clamp(...)); every
 * error path. */
#include <complex.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "psfwi_invert.h"
#include "testutil.h"

static const double PI = 3.14159265358979323846;

static unsigned long long rng_state = 0x2545F4914F6CDD1DULL;
static double urand(void) { return tu_urand(&rng_state); }
static void fill(float *a, size_t n, double amp) {
  for (size_t i = 0; i < n; i++) a[i] = (float)(amp * urand());
}
static double dot(const float *a, const float *b, size_t n) {
  double s = 0.0;
  for (size_t i = 0; i < n; i++) s += (double)a[i] * (double)b[i];
  return s;
}

static psfwi_filter *filt(double flo, double fhi, int order, double dt) {
  psfwi_filter_opts o;
  psfwi_filter_opts_defaults(&o);
  o.f_lowcut = flo;
  o.f_highcut = fhi;
  o.order = order;
  psfwi_error e;
  psfwi_filter *f = psfwi_filter_create(&o, dt, &e);
  if (f == NULL) fail_msg("%s", e.msg);
  return f;
}

/* Amplitude of a filtered cosine of frequency fr in the middle of the trace. */
static double gain(const psfwi_filter *f, double fr, double dt, size_t nt) {
  float *x = malloc(nt * sizeof(float));
  for (size_t t = 0; t < nt; t++) x[t] = (float)cos(2.0 * PI * fr * (double)t * dt);
  psfwi_error e;
  assert_int_equal(psfwi_filter_apply(f, 1, nt, x, &e), PSFWI_OK);
  double a = 0.0;
  for (size_t t = nt / 2 - 200; t < nt / 2 + 200; t++) a = fmax(a, fabs((double)x[t]));
  free(x);
  return a;
}

static void test_filter_response(void **state) {
  (void)state;
  const double dt = 0.002;
  const size_t nt = 4000;
  psfwi_filter *lp = filt(0.0, 10.0, 4, dt);
  /* one pass |H|^2 = 1 / (1 + (f / fc)^(2n)); forward-backward squares |H| */
  const double f[4] = {2.0, 10.0, 15.0, 30.0};
  for (int i = 0; i < 4; i++) {
    const double want = 1.0 / (1.0 + pow(tan(PI * f[i] * dt) / tan(PI * 10.0 * dt), 8.0));
    const double got = gain(lp, f[i], dt, nt);
    printf("low-pass 10 Hz order 4 at %g Hz: gain %.6f, designed %.6f\n", f[i], got, want);
    assert_true(fabs(got - want) < 2e-3);
  }
  psfwi_filter *hp = filt(5.0, 0.0, 3, dt);
  assert_true(fabs(gain(hp, 5.0, dt, nt) - 0.5) < 2e-3);
  assert_true(gain(hp, 1.0, dt, nt) < 1e-3);
  assert_true(fabs(gain(hp, 40.0, dt, nt) - 1.0) < 2e-3);
  psfwi_filter *bp = filt(4.0, 20.0, 5, dt);
  assert_true(fabs(gain(bp, 9.0, dt, nt) - 1.0) < 5e-3);
  assert_true(gain(bp, 60.0, dt, nt) < 1e-3);
  /* zero phase: a centred spike stays centred and symmetric */
  float *x = calloc(nt, sizeof(float));
  x[nt / 2] = 1.0f;
  psfwi_error e;
  assert_int_equal(psfwi_filter_apply(lp, 1, nt, x, &e), PSFWI_OK);
  size_t at = 0;
  for (size_t t = 0; t < nt; t++)
    if (fabs((double)x[t]) > fabs((double)x[at])) at = t;
  assert_int_equal(at, nt / 2);
  for (size_t k = 1; k < 300; k++)
    assert_true(fabs((double)x[nt / 2 + k] - (double)x[nt / 2 - k]) < 1e-6 * (double)x[nt / 2]);
  free(x);
  psfwi_filter_destroy(lp);
  psfwi_filter_destroy(hp);
  psfwi_filter_destroy(bp);
}

static void test_filter_transpose(void **state) {
  (void)state;
  const size_t nt = 700, ntr = 3;
  psfwi_error e;
  for (int k = 0; k < 3; k++) {
    psfwi_filter *f = k == 0   ? filt(0.0, 12.0, 4, 0.004)
                      : k == 1 ? filt(3.0, 0.0, 5, 0.004)
                               : filt(2.0, 30.0, 7, 0.004);
    float *x = malloc(ntr * nt * sizeof(float)), *y = malloc(ntr * nt * sizeof(float));
    float *fx = malloc(ntr * nt * sizeof(float)), *fty = malloc(ntr * nt * sizeof(float));
    fill(x, ntr * nt, 1.0);
    fill(y, ntr * nt, 1.0);
    memcpy(fx, x, ntr * nt * sizeof(float));
    memcpy(fty, y, ntr * nt * sizeof(float));
    assert_int_equal(psfwi_filter_apply(f, ntr, nt, fx, &e), PSFWI_OK);
    assert_int_equal(psfwi_filter_adjoint(f, ntr, nt, fty, &e), PSFWI_OK);
    const double a = dot(fx, y, ntr * nt), b = dot(x, fty, ntr * nt);
    printf("filter %d: <F x, y> = %.9e, <x, F^T y> = %.9e, mismatch %.2e\n", k, a, b,
           fabs(a - b) / fabs(a));
    assert_true(fabs(a - b) < 1e-5 * fabs(a));
    free(x);
    free(y);
    free(fx);
    free(fty);
    psfwi_filter_destroy(f);
  }
}

static void test_filter_errors(void **state) {
  (void)state;
  psfwi_filter_opts o;
  psfwi_error e;
  psfwi_filter_opts_defaults(&o);
  assert_null(psfwi_filter_create(NULL, 0.004, &e));
  assert_int_equal(e.status, PSFWI_EINVAL);
  o.f_highcut = 10.0;
  assert_null(psfwi_filter_create(&o, 0.0, &e));
  assert_int_equal(e.status, PSFWI_ERANGE);
  o.order = 0;
  assert_null(psfwi_filter_create(&o, 0.004, &e));
  assert_non_null(strstr(e.msg, "order"));
  o.order = 11;
  assert_null(psfwi_filter_create(&o, 0.004, &e));
  o.order = 4;
  o.f_highcut = 125.0; /* Nyquist of 4 ms */
  assert_null(psfwi_filter_create(&o, 0.004, &e));
  assert_non_null(strstr(e.msg, "f_highcut"));
  o.f_highcut = 10.0;
  o.f_lowcut = -1.0;
  assert_null(psfwi_filter_create(&o, 0.004, &e));
  assert_non_null(strstr(e.msg, "f_lowcut"));
  o.f_lowcut = 10.0;
  assert_null(psfwi_filter_create(&o, 0.004, &e));
  assert_int_equal(e.status, PSFWI_EINVAL);
  assert_non_null(strstr(e.msg, "f_lowcut = 10 Hz >= f_highcut"));
  o.f_lowcut = 0.0;
  o.f_highcut = 0.0;
  assert_null(psfwi_filter_create(&o, 0.004, &e));
  assert_non_null(strstr(e.msg, "neither"));
  assert_int_equal(psfwi_filter_apply(NULL, 1, 10, NULL, &e), PSFWI_EINVAL);
  psfwi_filter *f = filt(0.0, 10.0, 2, 0.004);
  assert_int_equal(psfwi_filter_apply(f, 1, 10, NULL, &e), PSFWI_EINVAL);
  assert_int_equal(psfwi_filter_apply(f, 0, 10, NULL, &e), PSFWI_OK);
  assert_true(psfwi_filter_dt(f) == 0.004);
  psfwi_filter_destroy(f);
  psfwi_filter_destroy(NULL);
}

/* ---- misfits ----------------------------------------------------------------- */

enum { NT = 300, NTR = 4 };
static const double DT = 0.004;

static psfwi_misfit *misfit(psfwi_misfit_kind kind, const psfwi_filter *f, const double *fr,
                            size_t nf) {
  psfwi_misfit_opts o;
  psfwi_misfit_opts_defaults(&o);
  o.kind = kind;
  o.freqs = fr;
  o.nfreq = nf;
  o.filter = f;
  psfwi_error e;
  psfwi_misfit *m = psfwi_misfit_create(&o, NT, DT, &e);
  if (m == NULL) fail_msg("%s", e.msg);
  return m;
}

/* Smooth random traces (a few sinusoids), so that filters and correlations
 * see realistic signals. */
static void traces(float *u) {
  for (size_t i = 0; i < NTR; i++) {
    const double f1 = 3.0 + 10.0 * fabs(urand()), f2 = 5.0 + 20.0 * fabs(urand());
    const double a1 = urand(), a2 = urand(), p = 3.0 * urand();
    for (size_t t = 0; t < NT; t++) {
      const double tt = (double)t * DT;
      u[i * NT + t] =
          (float)(a1 * sin(2.0 * PI * f1 * tt + p) + a2 * cos(2.0 * PI * f2 * tt) + 0.1 * urand());
    }
  }
}

static double eval(const psfwi_misfit *m, const float *u, const float *d, float *g) {
  double J;
  psfwi_error e;
  if (psfwi_misfit_eval(m, NTR, u, d, &J, g, &e) != PSFWI_OK) fail_msg("%s", e.msg);
  return J;
}

/* Central difference along a random direction vs <adj, du>. */
static void check_fd(const psfwi_misfit *m, const float *u, const float *d, double eps, double tol,
                     const char *label) {
  float g[NTR * NT], up[NTR * NT], um[NTR * NT];
  double du[NTR * NT];
  eval(m, u, d, g);
  double gd = 0.0;
  for (size_t i = 0; i < NTR * NT; i++) {
    du[i] = urand();
    up[i] = (float)((double)u[i] + eps * du[i]);
    um[i] = (float)((double)u[i] - eps * du[i]);
    gd += (double)g[i] * 0.5 * ((double)up[i] - (double)um[i]);
  }
  const double fd = (eval(m, up, d, NULL) - eval(m, um, d, NULL)) / 2.0;
  printf("%s: finite difference %.9e, adjoint source %.9e, relative difference %.2e\n", label, fd,
         gd, fabs(fd - gd) / fabs(gd));
  assert_true(fabs(fd - gd) < tol * fabs(gd));
}

static void test_l2(void **state) {
  (void)state;
  float u[NTR * NT], d[NTR * NT], g[NTR * NT];
  traces(u);
  traces(d);
  psfwi_misfit *m = misfit(PSFWI_MISFIT_L2, NULL, NULL, 0);
  double want = 0.0;
  for (size_t i = 0; i < NTR * NT; i++) want += 0.5 * pow((double)u[i] - (double)d[i], 2);
  const double J = eval(m, u, d, g);
  assert_true(fabs(J - want) < 1e-12 * want);
  for (size_t i = 0; i < NTR * NT; i++) assert_true(g[i] == (float)((double)u[i] - (double)d[i]));
  check_fd(m, u, d, 1e-2, 1e-5, "L2");
  assert_int_equal(psfwi_misfit_get_kind(m), PSFWI_MISFIT_L2);
  assert_int_equal(psfwi_misfit_nt(m), NT);
  psfwi_misfit_destroy(m);
}

static void test_spectral(void **state) {
  (void)state;
  const double fr[3] = {5.0, 12.5, 30.0};
  float u[NTR * NT], d[NTR * NT], g[NTR * NT];
  traces(u);
  traces(d);
  psfwi_misfit *m = misfit(PSFWI_MISFIT_SPECTRAL, NULL, fr, 3);
  /* the value, from an independent complex DFT */
  double want = 0.0;
  for (size_t i = 0; i < NTR; i++)
    for (int k = 0; k < 3; k++) {
      double complex D = 0.0;
      for (size_t t = 0; t < NT; t++)
        D += ((double)u[i * NT + t] - (double)d[i * NT + t]) *
             cexp(-2.0 * PI * I * fr[k] * (double)t * DT) * DT;
      want += 0.5 * creal(D * conj(D));
    }
  const double J = eval(m, u, d, g);
  printf("spectral J = %.12e, direct DFT %.12e\n", J, want);
  assert_true(fabs(J - want) < 1e-10 * want);
  check_fd(m, u, d, 1e-2, 1e-5, "spectral");
  /* the DFT D and its adjoint: with d = 0, J = 1/2 |D u|^2 and adj = D^T D u,
   * so <adj, u> = 2 J; and for another trace set v, <D^T D u, v> = Re <D u, D v> */
  float z[NTR * NT], v[NTR * NT];
  memset(z, 0, sizeof z);
  traces(v);
  const double Ju = eval(m, u, z, g);
  assert_true(fabs(dot(g, u, NTR * NT) - 2.0 * Ju) < 1e-6 * Ju);
  double re = 0.0;
  for (size_t i = 0; i < NTR; i++)
    for (int k = 0; k < 3; k++) {
      double complex Du = 0.0, Dv = 0.0;
      for (size_t t = 0; t < NT; t++) {
        const double complex ph = cexp(-2.0 * PI * I * fr[k] * (double)t * DT) * DT;
        Du += (double)u[i * NT + t] * ph;
        Dv += (double)v[i * NT + t] * ph;
      }
      re += creal(Du * conj(Dv));
    }
  printf("DFT transpose: <D^T D u, v> = %.9e, Re <D u, D v> = %.9e\n", dot(g, v, NTR * NT), re);
  assert_true(fabs(dot(g, v, NTR * NT) - re) < 1e-6 * fabs(re));
  psfwi_misfit_destroy(m);
}

static void test_correlation(void **state) {
  (void)state;
  float u[NTR * NT], d[NTR * NT], g[NTR * NT], s[NTR * NT];
  traces(u);
  traces(d);
  psfwi_misfit *m = misfit(PSFWI_MISFIT_CORRELATION, NULL, NULL, 0);
  double want = 0.0;
  for (size_t i = 0; i < NTR; i++) {
    const float *a = u + i * NT, *b = d + i * NT;
    want += 1.0 - dot(a, b, NT) / sqrt(dot(a, a, NT) * dot(b, b, NT));
  }
  const double J = eval(m, u, d, g);
  assert_true(fabs(J - want) < 1e-12 * fabs(want));
  check_fd(m, u, d, 1e-3, 1e-4, "correlation");
  /* amplitudes do not matter: J(4 u) = J(u), and the adjoint source is
   * orthogonal to u trace by trace */
  for (size_t i = 0; i < NTR * NT; i++) s[i] = 4.0f * u[i];
  assert_true(fabs(eval(m, s, d, NULL) - J) < 1e-12);
  for (size_t i = 0; i < NTR; i++)
    assert_true(fabs(dot(g + i * NT, u + i * NT, NT)) <
                1e-6 * sqrt(dot(g + i * NT, g + i * NT, NT) * dot(u + i * NT, u + i * NT, NT)));
  /* identical traces: J = 0; a zero trace contributes nothing */
  assert_true(fabs(eval(m, d, d, g)) < 1e-12);
  memset(s, 0, sizeof s);
  memcpy(s + NT, u + NT, NT * sizeof(float));
  const double J1 = eval(m, s, d, g);
  const float *a = u + NT, *b = d + NT;
  assert_true(fabs(J1 - (1.0 - dot(a, b, NT) / sqrt(dot(a, a, NT) * dot(b, b, NT)))) < 1e-12);
  for (size_t t = 0; t < NT; t++) assert_true(g[t] == 0.0f);
  psfwi_misfit_destroy(m);
}

/* With a filter F inside: J = 1/2 |F u - F d|^2, adj = F^T (F u - F d). */
static void test_filtered(void **state) {
  (void)state;
  float u[NTR * NT], d[NTR * NT], g[NTR * NT], r[NTR * NT];
  traces(u);
  traces(d);
  psfwi_filter *f = filt(0.0, 8.0, 4, DT);
  psfwi_misfit *m = misfit(PSFWI_MISFIT_L2, f, NULL, 0);
  psfwi_error e;
  float fu[NTR * NT], fd[NTR * NT];
  memcpy(fu, u, sizeof fu);
  memcpy(fd, d, sizeof fd);
  assert_int_equal(psfwi_filter_apply(f, NTR, NT, fu, &e), PSFWI_OK);
  assert_int_equal(psfwi_filter_apply(f, NTR, NT, fd, &e), PSFWI_OK);
  double want = 0.0;
  for (size_t i = 0; i < NTR * NT; i++) {
    r[i] = fu[i] - fd[i];
    want += 0.5 * (double)r[i] * (double)r[i];
  }
  assert_int_equal(psfwi_filter_adjoint(f, NTR, NT, r, &e), PSFWI_OK);
  const double J = eval(m, u, d, g);
  printf("filtered L2: J = %.9e (expected %.9e), adjoint source mismatch %.2e\n", J, want,
         tu_rel_l2(g, r, NTR * NT));
  assert_true(fabs(J - want) < 1e-6 * want);
  assert_true(tu_rel_l2(g, r, NTR * NT) < 1e-5);
  check_fd(m, u, d, 1e-2, 1e-4, "filtered L2");
  psfwi_misfit_destroy(m);
  /* the filtered spectral and correlation misfits against differences too */
  const double fr[2] = {3.0, 6.0};
  m = misfit(PSFWI_MISFIT_SPECTRAL, f, fr, 2);
  check_fd(m, u, d, 1e-2, 1e-4, "filtered spectral");
  psfwi_misfit_destroy(m);
  m = misfit(PSFWI_MISFIT_CORRELATION, f, NULL, 0);
  check_fd(m, u, d, 1e-3, 1e-3, "filtered correlation");
  psfwi_misfit_destroy(m);
  psfwi_filter_destroy(f);
}

/* Two traces of 4 samples, residuals r = u - d exact in float:
 *   trace 0: r = (1, 0, -1, 2)       L1 4,    sign (1, 0, -1, 1)
 *   trace 1: r = (3, -3, 0.25, -1.5) L1 7.75, sign (1, -1, 1, -1)
 * Huber, delta 1.5: h(1) = h(-1) = 0.5, h(0) = 0, h(2) = 1.5 (2 - 0.75) = 1.875,
 * h(+-3) = 1.5 (3 - 0.75) = 3.375, h(0.25) = 0.03125, h(-1.5) = 1.125 (both
 * branches agree at |r| = delta): J = 2.875 + 7.90625 = 10.78125; adjoint
 * clamp(r, -1.5, 1.5) = (1, 0, -1, 1.5), (1.5, -1.5, 0.25, -1.5). */
static void test_l1_huber_by_hand(void **state) {
  (void)state;
  const float u[8] = {1.0f, -2.0f, 0.5f, 3.0f, 4.0f, -1.0f, 0.25f, 0.0f};
  const float d[8] = {0.0f, -2.0f, 1.5f, 1.0f, 1.0f, 2.0f, 0.0f, 1.5f};
  const float sign_want[8] = {1, 0, -1, 1, 1, -1, 1, -1};
  const float clamp_want[8] = {1, 0, -1, 1.5f, 1.5f, -1.5f, 0.25f, -1.5f};
  psfwi_misfit_opts o;
  psfwi_misfit_opts_defaults(&o);
  assert_true(o.huber_delta == 0.0);
  psfwi_error e;
  o.kind = PSFWI_MISFIT_L1;
  psfwi_misfit *m = psfwi_misfit_create(&o, 4, DT, &e);
  assert_non_null(m);
  assert_int_equal(psfwi_misfit_get_kind(m), PSFWI_MISFIT_L1);
  double J;
  float g[8];
  assert_int_equal(psfwi_misfit_eval(m, 2, u, d, &J, g, &e), PSFWI_OK);
  assert_true(J == 11.75);
  assert_memory_equal(g, sign_want, sizeof g);
  psfwi_misfit_destroy(m);
  o.kind = PSFWI_MISFIT_HUBER;
  o.huber_delta = 1.5;
  m = psfwi_misfit_create(&o, 4, DT, &e);
  assert_non_null(m);
  assert_int_equal(psfwi_misfit_eval(m, 2, u, d, &J, g, &e), PSFWI_OK);
  printf("by hand: L1 J = 11.75, Huber (delta 1.5) J = %.6f (expected 10.78125)\n", J);
  assert_true(J == 10.78125);
  assert_memory_equal(g, clamp_want, sizeof g);
  /* a large delta gives L2; a tiny one delta times L1 (minus delta^2 / 2 per sample) */
  psfwi_misfit_destroy(m);
  o.huber_delta = 100.0;
  m = psfwi_misfit_create(&o, 4, DT, &e);
  assert_int_equal(psfwi_misfit_eval(m, 2, u, d, &J, NULL, &e), PSFWI_OK);
  assert_true(J == 0.5 * (1 + 0 + 1 + 4 + 9 + 9 + 0.0625 + 2.25));
  psfwi_misfit_destroy(m);
}

/* Observed traces with residuals of at least 0.1 in magnitude, so that steps
 * of up to eps = 1e-2 per sample cross no kink of |r|. */
static void offset_traces(const float *u, float *d) {
  for (size_t i = 0; i < NTR * NT; i++) {
    const double a = urand();
    d[i] = (float)((double)u[i] + (a >= 0.0 ? 0.1 + a : -0.1 + a));
  }
}

static void test_l1_huber_differences(void **state) {
  (void)state;
  float u[NTR * NT], d[NTR * NT];
  traces(u);
  offset_traces(u, d);
  psfwi_misfit *m = misfit(PSFWI_MISFIT_L1, NULL, NULL, 0);
  check_fd(m, u, d, 1e-2, 1e-5, "L1 (no kink crossed)");
  psfwi_misfit_destroy(m);
  /* Huber with both branches present: residuals of random traces span about
   * [-3, 3], delta 0.5 */
  traces(d);
  psfwi_misfit_opts o;
  psfwi_misfit_opts_defaults(&o);
  o.kind = PSFWI_MISFIT_HUBER;
  o.huber_delta = 0.5;
  psfwi_error e;
  m = psfwi_misfit_create(&o, NT, DT, &e);
  assert_non_null(m);
  size_t nlin = 0;
  for (size_t i = 0; i < NTR * NT; i++) nlin += fabs((double)u[i] - (double)d[i]) > 0.5;
  printf("Huber: %zu of %d samples on the linear branch\n", nlin, NTR * NT);
  assert_true(nlin > NTR * NT / 10 && nlin < NTR * NT * 9 / 10);
  /* h'' jumps at |r| = delta: the samples a step moves across it leave a
   * relative error of order eps^2 (here 6e-4 at 1e-2, 2e-5 at 1e-3) */
  check_fd(m, u, d, 1e-2, 2e-3, "Huber (delta 0.5), step 1e-2");
  check_fd(m, u, d, 1e-3, 1e-4, "Huber (delta 0.5), step 1e-3");
  psfwi_misfit_destroy(m);
}

/* With a filter F inside: L1 adj = F^T sign(F u - F d), Huber
 * adj = F^T clamp(F u - F d, -delta, delta), bit for bit with the filter's
 * own apply / adjoint; Huber against differences. */
static void test_l1_huber_filtered(void **state) {
  (void)state;
  float u[NTR * NT], d[NTR * NT], g[NTR * NT], fu[NTR * NT], fdd[NTR * NT], a[NTR * NT];
  traces(u);
  traces(d);
  psfwi_filter *f = filt(0.0, 8.0, 4, DT);
  psfwi_error e;
  memcpy(fu, u, sizeof fu);
  memcpy(fdd, d, sizeof fdd);
  assert_int_equal(psfwi_filter_apply(f, NTR, NT, fu, &e), PSFWI_OK);
  assert_int_equal(psfwi_filter_apply(f, NTR, NT, fdd, &e), PSFWI_OK);
  for (int kind = 0; kind < 2; kind++) {
    const double delta = 0.3;
    psfwi_misfit_opts o;
    psfwi_misfit_opts_defaults(&o);
    o.kind = kind == 0 ? PSFWI_MISFIT_L1 : PSFWI_MISFIT_HUBER;
    o.huber_delta = delta;
    o.filter = f;
    psfwi_misfit *m = psfwi_misfit_create(&o, NT, DT, &e);
    assert_non_null(m);
    double want = 0.0;
    for (size_t i = 0; i < NTR * NT; i++) {
      const double r = (double)fu[i] - (double)fdd[i], ar = fabs(r);
      if (kind == 0) {
        want += ar;
        a[i] = r > 0 ? 1.0f : r < 0 ? -1.0f : 0.0f;
      } else {
        want += ar <= delta ? 0.5 * r * r : delta * (ar - 0.5 * delta);
        a[i] = (float)fmin(fmax(r, -delta), delta);
      }
    }
    assert_int_equal(psfwi_filter_adjoint(f, NTR, NT, a, &e), PSFWI_OK);
    const double J = eval(m, u, d, g);
    printf("filtered %s: J = %.9e (expected %.9e), adjoint source mismatch %.2e\n",
           kind == 0 ? "L1" : "Huber", J, want, tu_rel_l2(g, a, NTR * NT));
    assert_true(fabs(J - want) < 1e-12 * want);
    assert_memory_equal(g, a, sizeof g);
    if (kind == 1) check_fd(m, u, d, 1e-3, 1e-4, "filtered Huber (delta 0.3)");
    psfwi_misfit_destroy(m);
  }
  psfwi_filter_destroy(f);
}

/* h = u rotated by 90 degrees, trace by trace: -i sign(f) by a direct DFT
 * in double (DC and Nyquist left out). */
static void rotate90(const float *u, float *h) {
  for (size_t i = 0; i < NTR; i++)
    for (size_t t = 0; t < NT; t++) {
      double acc = 0.0;
      for (size_t k = 1; k < NT / 2; k++) {
        double re = 0.0, im = 0.0;
        for (size_t j = 0; j < NT; j++) {
          const double a = 2.0 * PI * (double)(k * j % NT) / NT;
          re += u[i * NT + j] * cos(a);
          im -= u[i * NT + j] * sin(a);
        }
        const double a = 2.0 * PI * (double)(k * t % NT) / NT;
        acc += 2.0 * (im * cos(a) + re * sin(a)) / NT;
      }
      h[i * NT + t] = (float)acc;
    }
}

/* The envelope misfit: its adjoint source against central differences
 * (also with a band filter inside); blind to the phase: a trace and its
 * 90-degree rotation (the analytic signal's imaginary part, by a direct
 * DFT in double here) have nearly the same envelope, so J is a thousandth
 * of what half the amplitude gives; J(d, d) = 0. */
static void test_envelope(void **state) {
  (void)state;
  /* its own draws: the later tests keep the random sequence they had */
  const unsigned long long saved = rng_state;
  float u[NTR * NT], d[NTR * NT], r[NTR * NT], h[NTR * NT];
  traces(u);
  traces(d);
  psfwi_misfit *m = misfit(PSFWI_MISFIT_ENVELOPE, NULL, NULL, 0);
  check_fd(m, u, d, 1e-3, 1e-3, "envelope");
  rotate90(u, h);
  for (size_t i = 0; i < NTR * NT; i++) r[i] = 0.5f * u[i];
  const double j_rot = eval(m, u, h, NULL), j_half = eval(m, u, r, NULL);
  psfwi_misfit *l2 = misfit(PSFWI_MISFIT_L2, NULL, NULL, 0);
  const double l2_rot = eval(l2, u, h, NULL);
  printf("envelope: J(u, rotated u) %.3e, J(u, u / 2) %.3e; L2(u, rotated u) %.3e\n", j_rot, j_half,
         l2_rot);
  assert_true(j_rot < 0.05 * j_half);
  assert_true(l2_rot > 10.0 * j_rot);
  assert_true(eval(m, d, d, NULL) < 1e-20);
  psfwi_misfit_destroy(l2);
  psfwi_misfit_destroy(m);
  psfwi_filter *f = filt(0.0, 15.0, 4, DT);
  m = misfit(PSFWI_MISFIT_ENVELOPE, f, NULL, 0);
  check_fd(m, u, d, 1e-3, 1e-3, "envelope, 15 Hz low-pass");
  psfwi_misfit_destroy(m);
  psfwi_filter_destroy(f);
  rng_state = saved;
}

/* The instantaneous-phase misfit: its adjoint source against central
 * differences (also with a band filter inside); blind to amplitude (u and
 * 3 u, u / 2 against d give the same J to round-off), sensitive to phase
 * (a 90-degree rotation costs far more than half the amplitude); J(d, d) =
 * 0. */
static void test_phase(void **state) {
  (void)state;
  const unsigned long long saved = rng_state;
  float u[NTR * NT], d[NTR * NT], r[NTR * NT], h[NTR * NT];
  traces(u);
  traces(d);
  psfwi_misfit *m = misfit(PSFWI_MISFIT_PHASE, NULL, NULL, 0);
  check_fd(m, u, d, 1e-3, 1e-3, "phase");
  const double j = eval(m, u, d, NULL);
  for (size_t i = 0; i < NTR * NT; i++) r[i] = 3.0f * u[i];
  const double j3 = eval(m, r, d, NULL);
  for (size_t i = 0; i < NTR * NT; i++) h[i] = 0.5f * d[i];
  const double jd2 = eval(m, u, h, NULL);
  printf("phase: J(u, d) %.9e, J(3 u, d) %.9e, J(u, d / 2) %.9e\n", j, j3, jd2);
  assert_true(fabs(j3 - j) < 1e-6 * j && fabs(jd2 - j) < 1e-6 * j);
  rotate90(u, h);
  for (size_t i = 0; i < NTR * NT; i++) r[i] = 0.5f * u[i];
  const double j_rot = eval(m, u, h, NULL), j_half = eval(m, u, r, NULL);
  printf("phase: J(u, rotated u) %.3e, J(u, u / 2) %.3e\n", j_rot, j_half);
  assert_true(j_half < 1e-6 * j_rot);
  assert_true(j_rot > 0.1 * (double)(NTR * NT));
  assert_true(eval(m, d, d, NULL) < 1e-20);
  /* an all-zero trace (dead, padding) has no phase: finite J, adjoint 0 */
  float g[NTR * NT];
  memcpy(r, u, sizeof r);
  for (size_t t = 0; t < NT; t++) r[t] = h[t] = 0.0f; /* trace 0 */
  assert_true(isfinite(eval(m, r, d, g)) && isfinite(eval(m, u, h, NULL)));
  for (size_t t = 0; t < NT; t++) assert_true(g[t] == 0.0f);
  for (size_t i = 0; i < NTR * NT; i++) assert_true(isfinite(g[i]));
  psfwi_misfit_destroy(m);
  psfwi_filter *f = filt(0.0, 15.0, 4, DT);
  m = misfit(PSFWI_MISFIT_PHASE, f, NULL, 0);
  check_fd(m, u, d, 1e-3, 1e-3, "phase, 15 Hz low-pass");
  psfwi_misfit_destroy(m);
  psfwi_filter_destroy(f);
  rng_state = saved;
}

static void test_misfit_errors(void **state) {
  (void)state;
  psfwi_misfit_opts o;
  psfwi_error e;
  psfwi_misfit_opts_defaults(&o);
  assert_null(psfwi_misfit_create(NULL, NT, DT, &e));
  assert_int_equal(e.status, PSFWI_EINVAL);
  o.kind = (psfwi_misfit_kind)7;
  assert_null(psfwi_misfit_create(&o, NT, DT, &e));
  assert_non_null(strstr(e.msg, "kind 7"));
  assert_non_null(strstr(e.msg, "Huber (4)"));
  o.kind = PSFWI_MISFIT_HUBER; /* huber_delta left at its default 0 */
  assert_null(psfwi_misfit_create(&o, NT, DT, &e));
  assert_int_equal(e.status, PSFWI_ERANGE);
  assert_non_null(strstr(e.msg, "Huber misfit with huber_delta = 0; expected finite and > 0"));
  o.huber_delta = -1.0;
  assert_null(psfwi_misfit_create(&o, NT, DT, &e));
  assert_non_null(strstr(e.msg, "huber_delta = -1"));
  o.huber_delta = INFINITY;
  assert_null(psfwi_misfit_create(&o, NT, DT, &e));
  assert_non_null(strstr(e.msg, "huber_delta = inf"));
  o.huber_delta = 0.0;
  o.kind = PSFWI_MISFIT_L2;
  assert_null(psfwi_misfit_create(&o, 0, DT, &e));
  assert_non_null(strstr(e.msg, "nt = 0"));
  assert_null(psfwi_misfit_create(&o, NT, -1.0, &e));
  assert_int_equal(e.status, PSFWI_ERANGE);
  o.kind = PSFWI_MISFIT_SPECTRAL;
  assert_null(psfwi_misfit_create(&o, NT, DT, &e));
  assert_non_null(strstr(e.msg, "frequencies"));
  const double bad[2] = {10.0, 126.0};
  o.freqs = bad;
  o.nfreq = 2;
  assert_null(psfwi_misfit_create(&o, NT, DT, &e));
  assert_int_equal(e.status, PSFWI_ERANGE);
  assert_non_null(strstr(e.msg, "frequency 1 = 126 Hz"));
  psfwi_filter *f = filt(0.0, 10.0, 2, 0.002);
  psfwi_misfit_opts_defaults(&o);
  o.filter = f;
  assert_null(psfwi_misfit_create(&o, NT, DT, &e));
  assert_non_null(strstr(e.msg, "dt = 0.002 s"));
  psfwi_filter_destroy(f);
  psfwi_misfit *m = misfit(PSFWI_MISFIT_L2, NULL, NULL, 0);
  float u[NTR * NT], d[NTR * NT];
  traces(u);
  traces(d);
  double J;
  assert_int_equal(psfwi_misfit_eval(m, NTR, u, d, NULL, NULL, &e), PSFWI_EINVAL);
  assert_int_equal(psfwi_misfit_eval(m, NTR, NULL, d, &J, NULL, &e), PSFWI_EINVAL);
  u[2 * NT + 5] = NAN;
  assert_int_equal(psfwi_misfit_eval(m, NTR, u, d, &J, NULL, &e), PSFWI_ENONFINITE);
  assert_non_null(strstr(e.msg, "modelled trace 2 sample 5"));
  u[2 * NT + 5] = 0.0f;
  d[NT + 9] = INFINITY;
  assert_int_equal(psfwi_misfit_eval(m, NTR, u, d, &J, NULL, &e), PSFWI_ENONFINITE);
  assert_non_null(strstr(e.msg, "observed trace 1 sample 9"));
  assert_int_equal(psfwi_misfit_eval(m, 0, NULL, NULL, &J, NULL, &e), PSFWI_OK);
  assert_true(J == 0.0);
  psfwi_misfit_destroy(m);
  psfwi_misfit_destroy(NULL);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_filter_response),
      cmocka_unit_test(test_filter_transpose),
      cmocka_unit_test(test_filter_errors),
      cmocka_unit_test(test_l2),
      cmocka_unit_test(test_spectral),
      cmocka_unit_test(test_correlation),
      cmocka_unit_test(test_envelope),
      cmocka_unit_test(test_phase),
      cmocka_unit_test(test_filtered),
      cmocka_unit_test(test_l1_huber_by_hand),
      cmocka_unit_test(test_l1_huber_differences),
      cmocka_unit_test(test_l1_huber_filtered),
      cmocka_unit_test(test_misfit_errors),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
