/* invert: the gradient of the whole objective. Taylor tests (the first-order
 * remainder |J(v + dv) - J(v) - <g, dv>| falls as |dv|^2, slope 2 in
 * log-log, while |J(v + dv) - J(v)| falls with slope 1) for the L2,
 * spectral and correlation misfits, in configurations where the waves run
 * into the absorbing layers, with a free surface, with a data filter inside
 * the objective and with checkpointing; a central finite difference along a
 * random direction agrees with <g, dv> to 1e-3; a point scatterer gives a
 * gradient of the right sign where it sits; results do not depend on the
 * number of threads; the wavelet gradient passes a dot-product test; every
 * error path of psfwi_gradient is provoked. 64 x 48 grids, 10 absorbing
 * cells, 240 to 800 internal steps. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "psfwi_invert.h"
#include "psfwi_wave.h"
#include "testutil.h"

static unsigned long long rng_state = 0x9E3779B97F4A7C15ULL;
static double urand(void) { return tu_urand(&rng_state); }

enum { NX = 64, NZ = 48 };
static const double DX = 10.0;

typedef struct setup {
  psfwi_model *m0; /* starting model */
  psfwi_model *mt; /* true model */
  psfwi_wave *w;
  psfwi_survey *s;
  size_t nt;
  float *wav;
  float *dobs;
} setup;

/* Background 1800 + 8 (m/s)/cell with depth; the true model adds a fast
 * Gaussian body of amplitude `anomaly` m/s at (ax, az) cells. */
static void fill_model(psfwi_model *m, double anomaly, double ax, double az, double width) {
  for (size_t iz = 0; iz < NZ; iz++)
    for (size_t ix = 0; ix < NX; ix++) {
      const double r2 = pow((double)ix - ax, 2) + pow((double)iz - az, 2);
      m->vp[iz * NX + ix] =
          (float)(1800.0 + 8.0 * (double)iz + anomaly * exp(-r2 / (width * width)));
    }
}

static setup make_setup(int free_surface, size_t nt, double anomaly, size_t nshot) {
  setup S;
  memset(&S, 0, sizeof S);
  psfwi_grid g = {.nx = NX, .nz = NZ, .dx = DX, .dz = DX, .x0 = 0.0, .z0 = 0.0};
  psfwi_error e;
  S.m0 = psfwi_model_create(&g, &e);
  S.mt = psfwi_model_create(&g, &e);
  assert_non_null(S.m0);
  assert_non_null(S.mt);
  fill_model(S.m0, 0.0, 0, 0, 1.0);
  fill_model(S.mt, anomaly, 30.0, 26.0, 5.0);
  psfwi_wave_opts o;
  psfwi_wave_opts_defaults(&o);
  o.fmax = 25.0;
  o.boundary_cells = 10;
  o.free_surface = free_surface;
  o.vmin_bound = 1500.0;
  o.vmax_bound = 3000.0;
  const double dt_out = 0.004;
  S.w = psfwi_wave_create(S.m0, dt_out, &o, &e);
  if (S.w == NULL) fail_msg("%s", e.msg);
  const size_t nrec = 12;
  S.s = psfwi_survey_create(nshot, nrec, &e);
  assert_non_null(S.s);
  for (size_t is = 0; is < nshot; is++) {
    S.s->sx[is] = 95.0 + 400.0 * (double)is / (double)(nshot > 1 ? nshot - 1 : 1) + 3.3;
    S.s->sz[is] = free_surface ? 24.0 : 60.0;
    for (size_t ir = 0; ir < nrec; ir++) {
      S.s->rx[is * nrec + ir] = 20.0 + 50.0 * (double)ir + 1.7;
      S.s->rz[is * nrec + ir] = free_surface ? 15.0 : 40.0 + 25.0 * (double)(ir % 3);
    }
  }
  S.nt = nt;
  S.wav = malloc(nt * sizeof(float));
  S.dobs = malloc(nshot * nrec * nt * sizeof(float));
  assert_int_equal(psfwi_ricker(10.0, 0.1, dt_out, nt, S.wav, &e), PSFWI_OK);
  if (psfwi_wave_model_shots(S.w, S.mt, S.s, S.wav, nt, S.dobs, NULL, &e) != PSFWI_OK)
    fail_msg("%s", e.msg);
  return S;
}

static void free_setup(setup *S) {
  psfwi_model_destroy(S->m0);
  psfwi_model_destroy(S->mt);
  psfwi_wave_destroy(S->w);
  psfwi_survey_destroy(S->s);
  free(S->wav);
  free(S->dobs);
}

static psfwi_misfit *make_misfit(psfwi_misfit_kind kind, const psfwi_filter *f, size_t nt) {
  static const double freqs[4] = {4.0, 7.5, 11.0, 16.0};
  psfwi_misfit_opts mo;
  psfwi_misfit_opts_defaults(&mo);
  mo.kind = kind;
  mo.freqs = freqs;
  mo.nfreq = 4;
  mo.filter = f;
  psfwi_error e;
  psfwi_misfit *mf = psfwi_misfit_create(&mo, nt, 0.004, &e);
  if (mf == NULL) fail_msg("%s", e.msg);
  return mf;
}

static double objective(const setup *S, const psfwi_model *m, const psfwi_misfit *mf) {
  double J = 0.0;
  psfwi_error e;
  if (psfwi_gradient(S->w, m, S->s, S->wav, S->nt, S->dobs, mf, NULL, &J, NULL, NULL, NULL, NULL,
                     &e) != PSFWI_OK)
    fail_msg("%s", e.msg);
  return J;
}

static double *gradient(const setup *S, const psfwi_model *m, const psfwi_misfit *mf,
                        const psfwi_gradient_opts *go, double *J, psfwi_gradient_stats *st) {
  double *g = malloc(NX * NZ * sizeof(double));
  psfwi_error e;
  if (psfwi_gradient(S->w, m, S->s, S->wav, S->nt, S->dobs, mf, go, J, g, NULL, NULL, st, &e) !=
      PSFWI_OK)
    fail_msg("%s", e.msg);
  return g;
}

/* A random direction of amplitude about amp m/s: a few random smooth modes
 * plus 20 % white noise, on every cell, edges included (their padding
 * copies must be summed back). */
static void direction(double *dv, double amp) {
  double a[6], kx[6], kz[6], px[6], pz[6];
  for (int k = 0; k < 6; k++) {
    a[k] = urand();
    kx[k] = 0.05 + 0.15 * fabs(urand());
    kz[k] = 0.05 + 0.15 * fabs(urand());
    px[k] = 3.0 * urand();
    pz[k] = 3.0 * urand();
  }
  for (size_t iz = 0; iz < NZ; iz++)
    for (size_t ix = 0; ix < NX; ix++) {
      double v = 0.2 * urand();
      for (int k = 0; k < 6; k++)
        v += a[k] * sin(kx[k] * (double)ix + px[k]) * sin(kz[k] * (double)iz + pz[k]);
      dv[iz * NX + ix] = amp * v / 2.0;
    }
}

/* Taylor test: returns the mean slope of the first-order remainder. */
static double taylor(const setup *S, const psfwi_misfit *mf, const psfwi_gradient_opts *go,
                     double amp, const char *label) {
  double J0;
  double *g = gradient(S, S->m0, mf, go, &J0, NULL);
  double dv[NX * NZ];
  direction(dv, amp);
  /* half of the direction along -g (scaled to amp), so that the first-order
   * term is large against the second-order one over the whole range of h:
   * a wrong gradient then leaves a remainder of slope 1 */
  double gmax = 0.0;
  for (size_t i = 0; i < NX * NZ; i++) gmax = fmax(gmax, fabs(g[i]));
  for (size_t i = 0; i < NX * NZ; i++) dv[i] = 0.5 * dv[i] - 0.5 * amp * g[i] / gmax;
  psfwi_error e;
  psfwi_model *mh = psfwi_model_copy(S->m0, &e);
  const int nh = 5;
  double e0[5], e1[5], hs[5], lin[5];
  printf("%s: J(v) = %.6e\n", label, J0);
  for (int k = 0; k < nh; k++) {
    const double h = pow(0.5, k);
    double gd = 0.0;
    for (size_t i = 0; i < NX * NZ; i++) {
      mh->vp[i] = (float)((double)S->m0->vp[i] + h * dv[i]);
      /* the perturbation actually applied (float model) */
      gd += g[i] * ((double)mh->vp[i] - (double)S->m0->vp[i]);
    }
    const double Jh = objective(S, mh, mf);
    hs[k] = h;
    e0[k] = fabs(Jh - J0);
    e1[k] = fabs(Jh - J0 - gd);
    lin[k] = fabs(gd);
    printf("  h = %.4f  |J(v+h dv) - J(v)| = %.4e  |... - h<g,dv>| = %.4e\n", h, e0[k], e1[k]);
  }
  double s1 = 0.0;
  for (int k = 1; k < nh; k++) {
    const double sl1 = log(e1[k - 1] / e1[k]) / log(hs[k - 1] / hs[k]);
    const double sl0 = log(e0[k - 1] / e0[k]) / log(hs[k - 1] / hs[k]);
    printf("  slopes: remainder %.3f, difference %.3f\n", sl1, sl0);
    if (k == nh - 1) assert_true(sl0 > 0.8 && sl0 < 1.3);
    assert_true(sl1 > 1.8 && sl1 < 2.2);
    s1 += sl1;
  }
  /* the gradient carries the first-order change: the remainder is a small
   * part of J(v + h dv) - J(v) at the smallest h (a wrong gradient leaves a
   * remainder of slope 1 and of the size of the change) */
  assert_true(e1[nh - 1] < 0.2 * lin[nh - 1]);
  psfwi_model_destroy(mh);
  free(g);
  return s1 / (double)(nh - 1);
}

static void test_taylor_l2_boundaries(void **state) {
  (void)state;
  /* 0.8 s: the direct wave crosses the model and enters every absorbing layer */
  setup S = make_setup(0, 201, 150.0, 2);
  psfwi_misfit *mf = make_misfit(PSFWI_MISFIT_L2, NULL, S.nt);
  const double sl = taylor(&S, mf, NULL, 15.0, "L2, absorbing boundaries reached");
  printf("mean slope %.3f\n", sl);
  psfwi_misfit_destroy(mf);
  free_setup(&S);
}

static void test_taylor_spectral_free_surface(void **state) {
  (void)state;
  setup S = make_setup(1, 151, 150.0, 1);
  psfwi_misfit *mf = make_misfit(PSFWI_MISFIT_SPECTRAL, NULL, S.nt);
  const double sl = taylor(&S, mf, NULL, 15.0, "spectral, free surface");
  printf("mean slope %.3f\n", sl);
  psfwi_misfit_destroy(mf);
  free_setup(&S);
}

static void test_taylor_checkpointed_filtered(void **state) {
  (void)state;
  setup S = make_setup(1, 151, 150.0, 1);
  psfwi_filter_opts fo;
  psfwi_filter_opts_defaults(&fo);
  fo.f_highcut = 12.0;
  psfwi_error e;
  psfwi_filter *f = psfwi_filter_create(&fo, 0.004, &e);
  assert_non_null(f);
  psfwi_misfit *mf = make_misfit(PSFWI_MISFIT_L2, f, S.nt);
  psfwi_gradient_opts go;
  psfwi_gradient_opts_defaults(&go);
  go.nthreads = 1;
  const psfwi_wave_info *in = psfwi_wave_get_info(S.w);
  const double field_mb = (double)(in->npx * in->npz * sizeof(float)) / 1048576.0;
  go.mem_budget_mb = 40.5 * field_mb; /* 40 of 600 fields */
  const double sl = taylor(&S, mf, &go, 15.0, "L2 with low-pass, checkpointed, free surface");
  printf("mean slope %.3f\n", sl);
  psfwi_misfit_destroy(mf);
  psfwi_filter_destroy(f);
  free_setup(&S);
}

static void test_taylor_correlation(void **state) {
  (void)state;
  setup S = make_setup(0, 151, 150.0, 1);
  psfwi_misfit *mf = make_misfit(PSFWI_MISFIT_CORRELATION, NULL, S.nt);
  const double sl = taylor(&S, mf, NULL, 15.0, "correlation");
  printf("mean slope %.3f\n", sl);
  psfwi_misfit_destroy(mf);
  free_setup(&S);
}

/* Central difference along a random direction vs <g, dv>. The forward
 * model runs in single precision: J carries rounding noise of a few 1e-10
 * here, which puts the plain central difference 1e-4 to 5e-3 from <g, dv>
 * at steps h = 0.25 to 2 (measured; which h lands where depends on the
 * rounding of the build). So the steps are large (h = 4 and 8, where the
 * noise is small against J(v + h dv) - J(v - h dv)) and the h^2 term they
 * bring is removed by Richardson extrapolation, (4 D(h) - D(2h)) / 3 with
 * D(h) the difference quotient: measured within 7e-4 of <g, dv>. */
static void test_central_difference(void **state) {
  (void)state;
  setup S = make_setup(0, 201, 150.0, 2);
  for (int kind = 0; kind <= 1; kind++) {
    psfwi_misfit *mf = make_misfit(kind ? PSFWI_MISFIT_SPECTRAL : PSFWI_MISFIT_L2, NULL, S.nt);
    double J0;
    double *g = gradient(&S, S.m0, mf, NULL, &J0, NULL);
    double dv[NX * NZ];
    direction(dv, 1.0);
    psfwi_error e;
    psfwi_model *mp = psfwi_model_copy(S.m0, &e), *mm = psfwi_model_copy(S.m0, &e);
    double D[2], A[2];
    for (int k = 0; k < 2; k++) {
      const double h = 4.0 * (double)(1 << k);
      double gp = 0.0, gm = 0.0;
      for (size_t i = 0; i < NX * NZ; i++) {
        mp->vp[i] = (float)((double)S.m0->vp[i] + h * dv[i]);
        mm->vp[i] = (float)((double)S.m0->vp[i] - h * dv[i]);
        gp += g[i] * ((double)mp->vp[i] - (double)S.m0->vp[i]);
        gm += g[i] * ((double)S.m0->vp[i] - (double)mm->vp[i]);
      }
      D[k] = (objective(&S, mp, mf) - objective(&S, mm, mf)) / (2.0 * h);
      A[k] = 0.5 * (gp + gm) / h;
      printf("%s: h = %.0f: central difference %.8e, <g, dv> %.8e, relative difference %.2e\n",
             kind ? "spectral" : "L2", h, D[k], A[k], fabs(D[k] - A[k]) / fabs(A[k]));
    }
    const double R = (4.0 * D[0] - D[1]) / 3.0;
    printf("%s: extrapolated %.8e, relative difference %.2e\n", kind ? "spectral" : "L2", R,
           fabs(R - A[0]) / fabs(A[0]));
    assert_true(fabs(R - A[0]) < 2e-3 * fabs(A[0]));
    assert_true(fabs(D[0] - A[0]) < 1e-2 * fabs(A[0]));
    psfwi_model_destroy(mp);
    psfwi_model_destroy(mm);
    free(g);
    psfwi_misfit_destroy(mf);
  }
  free_setup(&S);
}

/* A small fast (slow) anomaly in the data, a homogeneous-gradient start:
 * the gradient at the anomaly is negative (positive): -g points towards the
 * truth there. */
static void test_scatterer_sign(void **state) {
  (void)state;
  for (int sign = -1; sign <= 1; sign += 2) {
    setup S = make_setup(0, 201, 0.0, 3);
    /* a small body in the middle, recorded by a surrounding spread */
    fill_model(S.mt, 60.0 * sign, 32.0, 22.0, 2.0);
    const size_t nrec = S.s->nrec;
    for (size_t is = 0; is < S.s->nshot; is++)
      for (size_t ir = 0; ir < nrec; ir++) {
        S.s->rx[is * nrec + ir] = 20.0 + 55.0 * (double)ir;
        S.s->rz[is * nrec + ir] = 400.0;
      }
    psfwi_error e;
    assert_int_equal(psfwi_wave_model_shots(S.w, S.mt, S.s, S.wav, S.nt, S.dobs, NULL, &e),
                     PSFWI_OK);
    psfwi_misfit *mf = make_misfit(PSFWI_MISFIT_L2, NULL, S.nt);
    double J0;
    double *g = gradient(&S, S.m0, mf, NULL, &J0, NULL);
    /* the gradient summed over the body vs its largest magnitude elsewhere */
    double in = 0.0, out = 0.0;
    for (size_t iz = 0; iz < NZ; iz++)
      for (size_t ix = 0; ix < NX; ix++) {
        const double r2 = pow((double)ix - 32.0, 2) + pow((double)iz - 22.0, 2);
        if (r2 <= 4.0) in += g[iz * NX + ix];
      }
    const double gc = g[22 * NX + 32];
    for (size_t i = 0; i < NX * NZ; i++) out = fmax(out, fabs(g[i]));
    printf("anomaly %+d: gradient at the body %.4e (sum over r <= 2 cells %.4e), max |g| %.4e\n",
           sign * 60, gc, in, out);
    assert_true(sign > 0 ? gc < 0.0 : gc > 0.0);
    assert_true(sign > 0 ? in < 0.0 : in > 0.0);
    assert_true(fabs(gc) > 0.5 * out);
    free(g);
    psfwi_misfit_destroy(mf);
    free_setup(&S);
  }
}

/* Same results with 1 and 2 threads, bit for bit; the forward-only J
 * equals the gradient call's J and psfwi_wave_model_shots' data. */
static void test_threads_and_consistency(void **state) {
  (void)state;
  setup S = make_setup(0, 101, 150.0, 3);
  psfwi_misfit *mf = make_misfit(PSFWI_MISFIT_L2, NULL, S.nt);
  psfwi_gradient_opts go;
  psfwi_gradient_opts_defaults(&go);
  go.nthreads = 1;
  double J1, J2;
  double *g1 = gradient(&S, S.m0, mf, &go, &J1, NULL);
  go.nthreads = 2;
  double *g2 = gradient(&S, S.m0, mf, &go, &J2, NULL);
  assert_true(J1 == J2);
  assert_memory_equal(g1, g2, NX * NZ * sizeof(double));
  assert_true(objective(&S, S.m0, mf) == J1);
  /* J = 1/2 ||d(m0) - d_obs||^2 with psfwi_wave_model_shots' d(m0) */
  const size_t n = S.s->nshot * S.s->nrec * S.nt;
  float *d0 = malloc(n * sizeof(float));
  psfwi_error e;
  assert_int_equal(psfwi_wave_model_shots(S.w, S.m0, S.s, S.wav, S.nt, d0, NULL, &e), PSFWI_OK);
  double Jr = 0.0;
  for (size_t i = 0; i < n; i++) {
    const double r = (double)d0[i] - (double)S.dobs[i];
    Jr += 0.5 * r * r;
  }
  printf("J = %.12e, from modelled shots %.12e\n", J1, Jr);
  assert_true(fabs(J1 - Jr) <= 1e-12 * Jr);
  free(d0);
  free(g1);
  free(g2);
  psfwi_misfit_destroy(mf);
  free_setup(&S);
}

/* The data are linear in the wavelet a: J(a) = 1/2 |T a - d|^2 and
 * dJ/da = T^T (T a - d); with d = -y: <dJ/da, a> = <T a + y, T a>. */
static void test_wavelet_gradient(void **state) {
  (void)state;
  setup S = make_setup(1, 101, 150.0, 2);
  const size_t n = S.s->nshot * S.s->nrec * S.nt;
  float *ta = malloc(n * sizeof(float));
  psfwi_error e;
  assert_int_equal(psfwi_wave_model_shots(S.w, S.m0, S.s, S.wav, S.nt, ta, NULL, &e), PSFWI_OK);
  for (size_t i = 0; i < n; i++) S.dobs[i] = (float)(0.01 * urand());
  psfwi_misfit *mf = make_misfit(PSFWI_MISFIT_L2, NULL, S.nt);
  double J, *gw = malloc(S.nt * sizeof(double)), *il = malloc(NX * NZ * sizeof(double));
  assert_int_equal(
      psfwi_gradient(S.w, S.m0, S.s, S.wav, S.nt, S.dobs, mf, NULL, &J, NULL, il, gw, NULL, &e),
      PSFWI_OK);
  double lhs = 0.0, rhs = 0.0;
  for (size_t it = 0; it < S.nt; it++) lhs += gw[it] * (double)S.wav[it];
  for (size_t i = 0; i < n; i++) rhs += ((double)ta[i] - (double)S.dobs[i]) * (double)ta[i];
  printf("wavelet gradient: <dJ/da, a> = %.9e, <Ta - d, Ta> = %.9e\n", lhs, rhs);
  assert_true(fabs(lhs - rhs) < 1e-5 * fabs(rhs));
  /* illumination: positive, largest near the source */
  double imax = 0.0;
  size_t at = 0;
  for (size_t i = 0; i < NX * NZ; i++) {
    assert_true(il[i] >= 0.0);
    if (il[i] > imax) {
      imax = il[i];
      at = i;
    }
  }
  const double ax = (double)(at % NX) * DX, az = (double)(at / NX) * DX;
  printf("illumination peak %.3e at (%g, %g) m\n", imax, ax, az);
  int near = 0;
  for (size_t is = 0; is < S.s->nshot; is++)
    if (hypot(ax - S.s->sx[is], az - S.s->sz[is]) < 3.0 * DX) near = 1;
  assert_true(near);
  free(gw);
  free(il);
  free(ta);
  psfwi_misfit_destroy(mf);
  free_setup(&S);
}

static int reduce_double(void *ctx, double *buf, size_t n, psfwi_error *err) {
  (void)err;
  size_t *calls = ctx;
  (*calls)++;
  for (size_t i = 0; i < n; i++) buf[i] *= 2.0; /* as if two identical processes */
  return PSFWI_OK;
}
static int reduce_fail(void *ctx, double *buf, size_t n, psfwi_error *err) {
  (void)ctx;
  (void)buf;
  return psfwi_fail(err, PSFWI_EIO, "reduction of %zu values failed", n);
}

static void test_reduce_hook(void **state) {
  (void)state;
  setup S = make_setup(0, 61, 150.0, 2);
  psfwi_misfit *mf = make_misfit(PSFWI_MISFIT_L2, NULL, S.nt);
  double J1, J2;
  double *g1 = gradient(&S, S.m0, mf, NULL, &J1, NULL);
  psfwi_gradient_opts go;
  psfwi_gradient_opts_defaults(&go);
  size_t calls = 0;
  go.reduce = reduce_double;
  go.reduce_ctx = &calls;
  double *g2 = gradient(&S, S.m0, mf, &go, &J2, NULL);
  assert_int_equal(calls, 1);
  assert_true(J2 == 2.0 * J1);
  for (size_t i = 0; i < NX * NZ; i++) assert_true(g2[i] == 2.0 * g1[i]);
  go.reduce = reduce_fail;
  psfwi_error e;
  assert_int_equal(
      psfwi_gradient(S.w, S.m0, S.s, S.wav, S.nt, S.dobs, mf, &go, &J2, g2, NULL, NULL, NULL, &e),
      PSFWI_EIO);
  assert_non_null(strstr(e.msg, "reduction"));
  free(g1);
  free(g2);
  psfwi_misfit_destroy(mf);
  free_setup(&S);
}

static void test_errors(void **state) {
  (void)state;
  setup S = make_setup(0, 41, 150.0, 1);
  psfwi_misfit *mf = make_misfit(PSFWI_MISFIT_L2, NULL, S.nt);
  psfwi_misfit *mf2 = make_misfit(PSFWI_MISFIT_L2, NULL, S.nt + 1);
  double J, g[NX * NZ];
  psfwi_error e;
  psfwi_gradient_opts go;
  psfwi_gradient_opts_defaults(&go);
#define GRAD(model, survey, data, misfit, opts) \
  psfwi_gradient(S.w, model, survey, S.wav, S.nt, data, misfit, opts, &J, g, NULL, NULL, NULL, &e)
  assert_int_equal(GRAD(NULL, S.s, S.dobs, mf, NULL), PSFWI_EINVAL);
  assert_int_equal(
      psfwi_gradient(S.w, S.m0, S.s, S.wav, S.nt, S.dobs, mf, NULL, NULL, g, NULL, NULL, NULL, &e),
      PSFWI_EINVAL);
  assert_int_equal(
      psfwi_gradient(S.w, S.m0, S.s, S.wav, 0, S.dobs, mf, NULL, &J, g, NULL, NULL, NULL, &e),
      PSFWI_EINVAL);
  assert_int_equal(GRAD(S.m0, S.s, S.dobs, mf2, NULL), PSFWI_EINVAL);
  assert_non_null(strstr(e.msg, "misfit made for"));
  go.nslot = 0;
  assert_int_equal(GRAD(S.m0, S.s, S.dobs, mf, &go), PSFWI_EINVAL);
  assert_non_null(strstr(e.msg, "nslot"));
  psfwi_gradient_opts_defaults(&go);
  go.max_recompute = 0.0;
  assert_int_equal(GRAD(S.m0, S.s, S.dobs, mf, &go), PSFWI_ERANGE);
  assert_non_null(strstr(e.msg, "max_recompute"));
  psfwi_gradient_opts_defaults(&go);
  go.mem_budget_mb = NAN;
  assert_int_equal(GRAD(S.m0, S.s, S.dobs, mf, &go), PSFWI_ERANGE);
  assert_non_null(strstr(e.msg, "mem_budget_mb"));
  /* a budget below what max_recompute allows */
  psfwi_gradient_opts_defaults(&go);
  go.mem_budget_mb = 1e-6;
  assert_int_equal(GRAD(S.m0, S.s, S.dobs, mf, &go), PSFWI_ERANGE);
  assert_non_null(strstr(e.msg, "wavefields"));
  printf("small budget: %s\n", e.msg);
  /* a receiver outside the model */
  const double keep = S.s->rx[3];
  S.s->rx[3] = 1e5;
  assert_int_equal(GRAD(S.m0, S.s, S.dobs, mf, NULL), PSFWI_ERANGE);
  S.s->rx[3] = keep;
  /* non-finite observed data */
  const float kd = S.dobs[5 * S.nt + 7];
  S.dobs[5 * S.nt + 7] = NAN;
  assert_int_equal(GRAD(S.m0, S.s, S.dobs, mf, NULL), PSFWI_ENONFINITE);
  assert_non_null(strstr(e.msg, "receiver 5 sample 7"));
  S.dobs[5 * S.nt + 7] = kd;
  /* a model beyond the velocity bounds fixed at psfwi_wave_create */
  psfwi_model *bad = psfwi_model_copy(S.m0, &e);
  bad->vp[100] = 3500.0f;
  assert_int_not_equal(GRAD(bad, S.s, S.dobs, mf, NULL), PSFWI_OK);
  assert_non_null(strstr(e.msg, "vmax_bound"));
  /* a model on another grid */
  psfwi_grid g2 = bad->grid;
  g2.nx = NX - 1;
  psfwi_model *other = psfwi_model_create(&g2, &e);
  for (size_t i = 0; i < g2.nx * g2.nz; i++) other->vp[i] = 2000.0f;
  assert_int_equal(GRAD(other, S.s, S.dobs, mf, NULL), PSFWI_EINVAL);
  assert_non_null(strstr(e.msg, "differs"));
  /* a non-finite wavelet sample */
  S.wav[3] = INFINITY;
  assert_int_equal(GRAD(S.m0, S.s, S.dobs, mf, NULL), PSFWI_ENONFINITE);
#undef GRAD
  psfwi_model_destroy(bad);
  psfwi_model_destroy(other);
  psfwi_misfit_destroy(mf);
  psfwi_misfit_destroy(mf2);
  free_setup(&S);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_taylor_l2_boundaries),
      cmocka_unit_test(test_taylor_spectral_free_surface),
      cmocka_unit_test(test_taylor_checkpointed_filtered),
      cmocka_unit_test(test_taylor_correlation),
      cmocka_unit_test(test_central_difference),
      cmocka_unit_test(test_scatterer_sign),
      cmocka_unit_test(test_threads_and_consistency),
      cmocka_unit_test(test_wavelet_gradient),
      cmocka_unit_test(test_reduce_hook),
      cmocka_unit_test(test_errors),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
