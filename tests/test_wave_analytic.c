/* wave: modelled traces against analytic solutions, amplitude included.
 *  - homogeneous medium: the 2D Green's function convolved with a Ricker,
 *    on-grid and off-grid positions, at 3 points per shortest wavelength;
 *  - convergence as the grid (and with it the time step) is refined;
 *  - free surface: direct wave minus the mirror-image ghost;
 *  - two layers: time and polarity of the reflection;
 *  - the wavelet: fmax of a Ricker, band-limited resampling and the k-space
 *    source filter against closed forms. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "psfwi_wave.h"
#include "testutil.h"

static const double PI = 3.14159265358979323846;
static const double V = 2000.0, FP = 10.0, DELAY = 0.15; /* m/s, Hz, s */

static double ricker(double t) {
  const double a = (PI * FP * (t - DELAY)) * (PI * FP * (t - DELAY));
  return (1.0 - 2.0 * a) * exp(-a);
}

/* Pressure at distance r (m) in a homogeneous medium of velocity v from a
 * Ricker point source with (1/v^2) p_tt - lap p = f(t) delta:
 *   p(t) = int_T^t f(t - s) / (2 pi sqrt(s^2 - T^2)) ds,  T = r / v.
 * With s = T + u^2 the singularity disappears:
 *   p(t) = (1 / pi) int_0^sqrt(t - T) f(t - T - u^2) / sqrt(2 T + u^2) du,
 * integrated by Simpson's rule (smooth integrand; error << 1e-6). */
static double analytic_p(double r, double v, double t) {
  const double T = r / v;
  if (t <= T) return 0.0;
  const double umax = sqrt(t - T);
  const int n = 2000;
  const double h = umax / n;
  double sum = 0.0;
  for (int i = 0; i <= n; i++) {
    const double u = i * h;
    const double f = ricker(t - T - u * u) / sqrt(2.0 * T + u * u);
    sum += f * (i == 0 || i == n ? 1.0 : (i % 2 ? 4.0 : 2.0));
  }
  return sum * h / (3.0 * PI);
}

static psfwi_model *constant_model(size_t nx, size_t nz, double dx, double v) {
  psfwi_grid g = {.nx = nx, .nz = nz, .dx = dx, .dz = dx};
  psfwi_model *m = psfwi_model_create(&g, NULL);
  assert_non_null(m);
  for (size_t i = 0; i < nx * nz; i++) m->vp[i] = (float)v;
  return m;
}

/* Model one shot of s in m and return data[(ir) * nt + it] (caller frees). */
static float *model(const psfwi_model *m, const psfwi_wave_opts *o, double dt_out, size_t nt,
                    const psfwi_survey *s) {
  psfwi_error e;
  psfwi_wave *w = psfwi_wave_create(m, dt_out, o, &e);
  if (w == NULL) fail_msg("psfwi_wave_create: %s", e.msg);
  float *wav = malloc(nt * sizeof(float));
  float *d = malloc(s->nshot * s->nrec * nt * sizeof(float));
  assert_non_null(wav);
  assert_non_null(d);
  assert_int_equal(psfwi_ricker(FP, DELAY, dt_out, nt, wav, &e), PSFWI_OK);
  if (psfwi_wave_model_shots(w, m, s, wav, nt, d, NULL, &e) != PSFWI_OK)
    fail_msg("psfwi_wave_model_shots: %s", e.msg);
  free(wav);
  psfwi_wave_destroy(w);
  return d;
}

/* Relative L2 error of trace d (nt samples at dt) against the analytic
 * trace for distance r, plus optionally minus an image at distance r2. */
static double trace_error(const float *d, size_t nt, double dt, double r, double r2) {
  float *ref = malloc(nt * sizeof(float));
  assert_non_null(ref);
  for (size_t it = 0; it < nt; it++) {
    double p = analytic_p(r, V, (double)it * dt);
    if (r2 > 0.0) p -= analytic_p(r2, V, (double)it * dt);
    ref[it] = (float)p;
  }
  const double e = tu_rel_l2(d, ref, nt);
  free(ref);
  return e;
}

/* The homogeneous set-up: a 4000 m x 3000 m model of 2000 m/s at ppw points
 * per shortest wavelength v / (2.5 f_peak); source near the middle and three
 * receivers 150 to 1100 m away, the nearest edge reflection arriving after
 * 1.5 s, beyond the 1.0 s analysed. frac > 0 moves every position off the
 * grid by fractions of a cell. Returns the largest error of the 3 traces. */
static double homogeneous(double ppw, psfwi_wave_scheme scheme, double vmax_bound, double cfl,
                          double frac, double *errs) {
  const double dx = V / (2.5 * FP) / ppw;
  psfwi_model *m = constant_model((size_t)(4000.0 / dx), (size_t)(3000.0 / dx), dx, V);
  psfwi_wave_opts o;
  psfwi_wave_opts_defaults(&o);
  o.fmax = 2.5 * FP;
  o.scheme = scheme;
  o.vmax_bound = vmax_bound;
  o.cfl = cfl;
  /* dt_out = the CFL step, so that the internal step scales with dx. */
  const double dt_out = cfl > 0.0 ? cfl * dx / (vmax_bound > 0.0 ? vmax_bound : V) : 0.004;
  const size_t nt = (size_t)(1.0 / dt_out) + 1;
  psfwi_survey *s = psfwi_survey_create(1, 3, NULL);
  assert_non_null(s);
  const double g = dx;
  s->sx[0] = round(1500 / g) * g + frac * g;
  s->sz[0] = round(1500 / g) * g + 0.5 * frac * g;
  const double rx[3] = {2500, 2200, 1600}, rz[3] = {1500, 2300, 1600};
  const double fx[3] = {0.7, -0.4, 0.2}, fz[3] = {-0.3, 0.9, 0.6};
  for (int ir = 0; ir < 3; ir++) {
    s->rx[ir] = round(rx[ir] / g) * g + fx[ir] * frac * g;
    s->rz[ir] = round(rz[ir] / g) * g + fz[ir] * frac * g;
  }
  float *d = model(m, &o, dt_out, nt, s);
  double worst = 0.0;
  for (int ir = 0; ir < 3; ir++) {
    const double r = hypot(s->rx[ir] - s->sx[0], s->rz[ir] - s->sz[0]);
    errs[ir] = trace_error(d + ir * nt, nt, dt_out, r, 0.0);
    worst = fmax(worst, errs[ir]);
  }
  printf("  ppw %.1f scheme %d c_ref/v %.2f frac %.2f: rel L2 %.2e %.2e %.2e\n", ppw, (int)scheme,
         vmax_bound > 0.0 ? vmax_bound / V : 1.0, frac, errs[0], errs[1], errs[2]);
  free(d);
  psfwi_survey_destroy(s);
  psfwi_model_destroy(m);
  return worst;
}

/* k-space scheme, v = c_ref, 3 points per shortest wavelength, on-grid
 * positions: the contract is 1 %; the scheme is exact in time here, so the
 * error is far smaller (a regression to the plain leapfrog gives ~4 %). */
static void test_homogeneous_on_grid(void **state) {
  (void)state;
  double e[3];
  const double worst = homogeneous(3.0, PSFWI_WAVE_KSPACE, 0.0, 0.0, 0.0, e);
  assert_true(worst <= 0.01);
  assert_true(worst <= 1e-3);
}

/* Off-grid positions (Hicks windowed sinc): still within 1 %. */
static void test_homogeneous_off_grid(void **state) {
  (void)state;
  double e[3];
  assert_true(homogeneous(3.0, PSFWI_WAVE_KSPACE, 0.0, 0.0, 0.37, e) <= 0.01);
  assert_true(homogeneous(3.0, PSFWI_WAVE_KSPACE, 0.0, 0.0, 0.5, e) <= 0.01);
}

/* Refinement: 3, 4.5 and 6 points per shortest wavelength at a fixed CFL
 * number (so dt shrinks with dx). Where the scheme has a discretisation
 * error (the plain leapfrog; the k-space scheme with c_ref = 1.5 v, as
 * with loose inversion bounds) it must fall at about second order; the
 * default (exact in time) off-grid error must fall too. */
static void test_refinement(void **state) {
  (void)state;
  const double ppw[3] = {3.0, 4.5, 6.0};
  double e[3], lf[3], ks[3], off[3];
  for (int i = 0; i < 3; i++) {
    lf[i] = homogeneous(ppw[i], PSFWI_WAVE_LEAPFROG, 0.0, 0.2, 0.0, e);
    ks[i] = homogeneous(ppw[i], PSFWI_WAVE_KSPACE, 1.5 * V, 0.3, 0.0, e);
  }
  homogeneous(3.0, PSFWI_WAVE_KSPACE, 0.0, 0.3, 0.37, e);
  off[0] = sqrt((e[0] * e[0] + e[1] * e[1] + e[2] * e[2]) / 3.0);
  homogeneous(6.0, PSFWI_WAVE_KSPACE, 0.0, 0.3, 0.37, e);
  off[2] = sqrt((e[0] * e[0] + e[1] * e[1] + e[2] * e[2]) / 3.0);
  printf(
      "  leapfrog %.2e %.2e %.2e; k-space c_ref = 1.5 v %.2e %.2e %.2e; off-grid %.2e "
      "-> %.2e\n",
      lf[0], lf[1], lf[2], ks[0], ks[1], ks[2], off[0], off[2]);
  for (int i = 0; i < 2; i++) {
    assert_true(lf[i + 1] < lf[i]);
    assert_true(ks[i + 1] < ks[i]);
  }
  /* second order: halving dx and dt divides the error by about 4 */
  assert_true(lf[2] < 0.35 * lf[0] && lf[2] > 0.15 * lf[0]);
  assert_true(ks[2] < 0.35 * ks[0] && ks[2] > 0.15 * ks[0]);
  assert_true(off[2] < 0.7 * off[0]);
}

/* Free surface at z = 0: the trace is the direct wave minus its mirror
 * image (reversed-polarity ghost from the image source at -zs). Sources on
 * and off the grid, one within the Hicks radius of the surface (mirrored
 * stencil); a receiver on the surface records zero. */
static void test_free_surface_ghost(void **state) {
  (void)state;
  const double dx = V / (2.5 * FP) / 3.0;
  psfwi_model *m = constant_model(150, 100, dx, V);
  psfwi_wave_opts o;
  psfwi_wave_opts_defaults(&o);
  o.fmax = 2.5 * FP;
  o.free_surface = 1;
  const double dt_out = 0.004;
  const size_t nt = 251;
  const double zs[3] = {8.0 * dx, 5.3 * dx, 1.6 * dx}, xs[3] = {40 * dx, 40.4 * dx, 40.25 * dx};
  psfwi_survey *s = psfwi_survey_create(3, 4, NULL);
  assert_non_null(s);
  const double rx[4] = {70 * dx, 75.3 * dx, 60.5 * dx, 70 * dx};
  const double rz[4] = {12 * dx, 3.4 * dx, 20.7 * dx, 0.0};
  for (size_t is = 0; is < 3; is++) {
    s->sx[is] = xs[is];
    s->sz[is] = zs[is];
    for (size_t ir = 0; ir < 4; ir++) {
      s->rx[is * 4 + ir] = rx[ir];
      s->rz[is * 4 + ir] = rz[ir];
    }
  }
  float *d = model(m, &o, dt_out, nt, s);
  /* Without the free surface, for the ghost's polarity check. */
  o.free_surface = 0;
  float *d0 = model(m, &o, dt_out, nt, s);
  for (size_t is = 0; is < 3; is++) {
    for (size_t ir = 0; ir < 3; ir++) {
      const float *tr = d + (is * 4 + ir) * nt;
      const double r1 = hypot(rx[ir] - xs[is], rz[ir] - zs[is]);
      const double r2 = hypot(rx[ir] - xs[is], rz[ir] + zs[is]);
      const double err = trace_error(tr, nt, dt_out, r1, r2);
      printf("  free surface: source depth %.2f dz, receiver %zu: rel L2 %.2e\n", zs[is] / dx, ir,
             err);
      assert_true(err <= 0.01);
      /* The ghost = free-surface trace - no-free-surface trace must be the
       * image source's wave with reversed polarity. */
      const float *t0 = d0 + (is * 4 + ir) * nt;
      double dot = 0.0, n1 = 0.0, n2 = 0.0;
      for (size_t it = 0; it < nt; it++) {
        const double ghost = (double)tr[it] - (double)t0[it];
        const double img = analytic_p(r2, V, (double)it * dt_out);
        dot += ghost * img;
        n1 += ghost * ghost;
        n2 += img * img;
      }
      assert_true(dot / sqrt(n1 * n2) < -0.99);
    }
    /* receiver on the surface: p = 0 */
    const float *tr = d + (is * 4 + 3) * nt;
    for (size_t it = 0; it < nt; it++) assert_true(tr[it] == 0.0f);
  }
  free(d);
  free(d0);
  psfwi_survey_destroy(s);
  psfwi_model_destroy(m);
}

/* Two layers, v1 above depth H and v2 below. Zero-offset source/receiver at
 * depth zr. The reflection (two-layer trace minus the same run in v1
 * everywhere, same discretisation) must correlate with the analytic direct
 * wave at the image distance 2 (H - zr), delayed by no more than a tenth of
 * a period, with the sign of (v2 - v1) and about the normal-incidence
 * amplitude (v2 - v1) / (v2 + v1). */
static void reflection(double v2) {
  const double v1 = V, dx = fmin(v1, v2) / (2.5 * FP) / 3.0;
  const size_t nx = 120, nz = 90;
  const double H = 60 * dx, zr = 40 * dx, x = 60 * dx;
  psfwi_model *m = constant_model(nx, nz, dx, v1);
  psfwi_model *m0 = constant_model(nx, nz, dx, v1);
  for (size_t iz = 0; iz < nz; iz++)
    for (size_t ix = 0; ix < nx; ix++)
      if ((double)iz * dx >= H - 0.5 * dx) m->vp[iz * nx + ix] = (float)v2;
  psfwi_wave_opts o;
  psfwi_wave_opts_defaults(&o);
  o.fmax = 2.5 * FP;
  o.vmax_bound = fmax(v1, v2);
  o.vmin_bound = fmin(v1, v2);
  const double dt_out = 0.002;
  const size_t nt = 501;
  psfwi_survey *s = psfwi_survey_create(1, 1, NULL);
  assert_non_null(s);
  s->sx[0] = x;
  s->sz[0] = zr;
  s->rx[0] = x;
  s->rz[0] = zr + 2 * dx; /* 2 cells below the source */
  float *d = model(m, &o, dt_out, nt, s);
  float *d0 = model(m0, &o, dt_out, nt, s);
  /* the interface sits half-way between rows 59 and 60 */
  const double r_img = (H - 0.5 * dx - zr) + (H - 0.5 * dx - (zr + 2 * dx));
  const double period = 1.0 / FP;
  double best = -1.0, lag_best = 0.0, corr_best = 0.0, amp = 0.0;
  for (int lag = -25; lag <= 25; lag++) { /* lag in samples */
    double dot = 0.0, n1 = 0.0, n2 = 0.0;
    for (size_t it = 0; it < nt; it++) {
      const double refl = (double)d[it] - (double)d0[it];
      const double t = (double)it * dt_out - lag * dt_out;
      const double ref = analytic_p(r_img, v1, t);
      dot += refl * ref;
      n1 += refl * refl;
      n2 += ref * ref;
    }
    const double c = dot / sqrt(n1 * n2);
    if (fabs(c) > best) {
      best = fabs(c);
      lag_best = lag * dt_out;
      corr_best = c;
      amp = dot / n2;
    }
  }
  const double R = (v2 - v1) / (v2 + v1);
  printf(
      "  v2 = %g: reflection delay error %.4f s (period %.3f s), correlation %.3f, "
      "amplitude %.3f (R = %.3f)\n",
      v2, lag_best, period, corr_best, amp, R);
  assert_true(fabs(lag_best) <= 0.1 * period);
  assert_true(corr_best * R > 0.0); /* polarity */
  assert_true(fabs(corr_best) > 0.95);
  assert_true(fabs(amp - R) < 0.25 * fabs(R));
  free(d);
  free(d0);
  psfwi_survey_destroy(s);
  psfwi_model_destroy(m);
  psfwi_model_destroy(m0);
}

static void test_two_layers(void **state) {
  (void)state;
  reflection(3000.0); /* faster below: positive reflection */
  reflection(1400.0); /* slower below: reversed polarity */
}

/* fmax of a Ricker is 2.5 f_peak; resampling is band-limited and exact for
 * the leapfrog; the k-space filter sinc(omega dt) equals a box average over
 * [t - dt, t + dt], known in closed form for a Ricker (the derivative of
 * tau exp(-(pi f tau)^2)). */
static void test_wavelet(void **state) {
  (void)state;
  psfwi_error e;
  const double dt_out = 0.004;
  const size_t nt = 200;
  float w[200];
  assert_int_equal(psfwi_ricker(FP, DELAY, dt_out, nt, w, &e), PSFWI_OK);
  double fmax;
  assert_int_equal(psfwi_wave_fmax(w, nt, dt_out, &fmax, &e), PSFWI_OK);
  assert_true(fabs(fmax - 2.5 * FP) < 0.01 * 2.5 * FP);

  psfwi_model *m = constant_model(40, 30, 10.0, V);
  for (int scheme = 0; scheme < 2; scheme++) {
    psfwi_wave_opts o;
    psfwi_wave_opts_defaults(&o);
    o.fmax = 2.5 * FP;
    o.scheme = (psfwi_wave_scheme)scheme;
    o.cfl = 0.25;
    psfwi_wave *wv = psfwi_wave_create(m, dt_out, &o, &e);
    assert_non_null(wv);
    const psfwi_wave_info *in = psfwi_wave_get_info(wv);
    assert_true(in->nsub == 4); /* dt_cfl = 0.25 * 10 m / 2000 m/s = 1.25 ms */
    assert_true(fabs(in->dt * (double)in->nsub - dt_out) < 1e-15);
    const size_t nf = nt * in->nsub;
    float *out = malloc(nf * sizeof(float));
    assert_non_null(out);
    assert_int_equal(psfwi_wave_resample(wv, w, nt, out, &e), PSFWI_OK);
    double num = 0.0, den = 0.0;
    const double c = PI * FP * PI * FP, h = in->dt;
    for (size_t n = 0; n < nf - 20; n++) {
      const double t = (double)n * h;
      double ref;
      if (scheme == PSFWI_WAVE_LEAPFROG) {
        ref = ricker(t);
      } else {
        const double a = t + h - DELAY, b = t - h - DELAY;
        ref = (a * exp(-c * a * a) - b * exp(-c * b * b)) / (2.0 * h);
      }
      num += ((double)out[n] - ref) * ((double)out[n] - ref);
      den += ref * ref;
    }
    printf("  resampling, scheme %d: rel L2 %.2e\n", scheme, sqrt(num / den));
    assert_true(sqrt(num / den) < 1e-4);
    free(out);
    psfwi_wave_destroy(wv);
  }
  psfwi_model_destroy(m);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_wavelet),
      cmocka_unit_test(test_homogeneous_on_grid),
      cmocka_unit_test(test_homogeneous_off_grid),
      cmocka_unit_test(test_refinement),
      cmocka_unit_test(test_free_surface_ghost),
      cmocka_unit_test(test_two_layers),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
