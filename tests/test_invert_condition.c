/* Data weights and the weighted misfit (src/invert/condition.c,
 * psfwi_misfit_eval_w; the survey-data issue):
 *  - each rule against its definition: the mute is 0 before
 *    t0 + |offset| / v, 1 after the taper, 1/2 half-way along it; the time
 *    window likewise at both ends; the offset window; dead (all-zero) and
 *    noisy (RMS above k times the shot's median) traces at 0; the report;
 *  - weights of 1 give the unweighted misfit bit for bit;
 *  - the weighted misfit's adjoint source is its gradient: central
 *    differences along random directions, L2 and correlation, with a band
 *    filter (J(W F u, W F d));
 *  - 3-D to 2-D: the analytic 3-D point-source trace of a Ricker in a
 *    homogeneous medium, converted, against the analytic 2-D line-source
 *    trace (the Ricker convolved with the exact G_2D = (-i/4) H0^(2)(k r),
 *    Bessel functions from libm): 6.4, 3.1, 1.6 % at 300, 600, 1200 m for
 *    a 15 Hz Ricker in 2000 m/s, the far-field error falling as 1 / (k r);
 *    the amplitude mode by its definition;
 *  - first breaks picked on analytic arrivals under noise and a stronger
 *    later event: on the first arrival, the velocity from the picks to 1 %;
 *  - bad options name the key. */
#define _DEFAULT_SOURCE /* j0, y0 (POSIX) */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <complex.h>
#include <fftw3.h>

#include "psfwi_invert.h"
#include "testutil.h"

enum { NSHOT = 2, NREC = 9, NT = 300 };
static const double DT = 0.002;

static psfwi_survey *line_survey(void) {
  psfwi_error e;
  psfwi_survey *s = psfwi_survey_create(NSHOT, NREC, &e);
  assert_non_null(s);
  for (size_t is = 0; is < NSHOT; is++) {
    s->sx[is] = 200.0 + 300.0 * (double)is;
    s->sz[is] = 10.0;
    for (size_t ir = 0; ir < NREC; ir++) {
      s->rx[is * NREC + ir] = 50.0 * (double)ir;
      s->rz[is * NREC + ir] = 5.0;
    }
  }
  return s;
}

static void test_rules(void **state) {
  (void)state;
  psfwi_survey *s = line_survey();
  float *d = malloc(NSHOT * NREC * NT * sizeof *d), *w = malloc(NSHOT * NREC * NT * sizeof *w);
  unsigned long long rs = 5;
  for (size_t k = 0; k < NSHOT * NREC * NT; k++) d[k] = (float)tu_urand(&rs);
  memset(d + 3 * NT, 0, NT * sizeof *d);                        /* shot 0, receiver 3: dead */
  for (size_t i = 0; i < NT; i++) d[(NREC + 5) * NT + i] *= 40; /* shot 1, receiver 5: noisy */
  psfwi_weight_opts o;
  psfwi_weight_opts_defaults(&o);
  o.mute_velocity = 2000.0;
  o.mute_time = 0.05;
  o.taper = 0.04;
  o.offset_max = 320.0;
  o.time_max = 0.5;
  o.drop_dead = 1;
  o.reject_rms = 5.0;
  psfwi_error e;
  psfwi_weight_report rep;
  assert_int_equal(psfwi_data_weights(s, NT, DT, d, &o, w, &rep, &e), PSFWI_OK);
  size_t live = 0, offset = 0;
  for (size_t is = 0; is < NSHOT; is++)
    for (size_t ir = 0; ir < NREC; ir++) {
      const size_t k = is * NREC + ir;
      const float *wt = w + k * NT;
      const double off = fabs(s->rx[k] - s->sx[is]);
      const int dead = is == 0 && ir == 3, noisy = is == 1 && ir == 5, out = off > 320.0;
      if (dead || noisy || out) {
        for (size_t i = 0; i < NT; i++) assert_true(wt[i] == 0.0f);
        offset += out && !dead && !noisy;
        continue;
      }
      live++;
      const double tm = 0.05 + off / 2000.0;
      for (size_t i = 0; i < NT; i++) {
        const double t = (double)i * DT;
        double expect;
        if (t < tm || t > 0.5)
          expect = 0.0;
        else if (t >= tm + 0.04 && t <= 0.5 - 0.04)
          expect = 1.0;
        else {
          const double a =
              t < tm + 0.04 ? 0.5 - 0.5 * cos(3.14159265358979323846 * (t - tm) / 0.04) : 1.0;
          const double b =
              t > 0.46 ? 0.5 - 0.5 * cos(3.14159265358979323846 * (0.5 - t) / 0.04) : 1.0;
          expect = a * b;
        }
        if (fabs(wt[i] - expect) > 1e-6)
          fail_msg("shot %zu receiver %zu t = %g: weight %g, expected %g", is, ir, t, (double)wt[i],
                   expect);
      }
      /* half-way along the mute's ramp: 1/2 (the ramp's own definition) */
      const double th = tm + 0.02;
      const size_t ih = (size_t)llround(th / DT);
      if (fabs((double)ih * DT - th) < 1e-9) assert_true(fabs(wt[ih] - 0.5) < 1e-6);
    }
  printf("  rules: %zu live, %zu dead, %zu noisy, %zu outside the offsets\n", rep.live, rep.dead,
         rep.noisy, rep.offset);
  assert_int_equal(rep.live, live);
  assert_int_equal(rep.dead, 1);
  assert_int_equal(rep.noisy, 1);
  assert_int_equal(rep.offset, offset);
  assert_true(offset > 0);
  /* padding (live 0) weighs 0 whatever it holds, before any other rule,
   * and alone turns the weights on */
  unsigned char *lv = malloc(NSHOT * NREC);
  for (size_t k = 0; k < NSHOT * NREC; k++) lv[k] = k % 7 != 2;
  psfwi_weight_opts only;
  psfwi_weight_opts_defaults(&only);
  assert_false(psfwi_weight_opts_active(&only));
  only.live = lv;
  assert_true(psfwi_weight_opts_active(&only));
  assert_int_equal(psfwi_data_weights(s, NT, DT, d, &only, w, &rep, &e), PSFWI_OK);
  size_t npad = 0;
  for (size_t k = 0; k < NSHOT * NREC; k++) {
    npad += !lv[k];
    for (size_t i = 0; i < NT; i++) assert_true(w[k * NT + i] == (lv[k] ? 1.0f : 0.0f));
  }
  assert_int_equal(rep.padding, npad);
  assert_int_equal(rep.live, NSHOT * NREC - npad);
  free(lv);
  /* amplitudes falling as 1 / offset along 60 receivers (the near trace 30
   * times the shot's median: noise for a shot-wide median) are not noise; a
   * burst 10 times its neighbours is */
  {
    enum { NR2 = 60 };
    psfwi_survey *s2 = psfwi_survey_create(1, NR2, &e);
    assert_non_null(s2);
    s2->sx[0] = 0.0;
    s2->sz[0] = 5.0;
    for (size_t ir = 0; ir < NR2; ir++) {
      s2->rx[ir] = 10.0 * (double)(ir + 1);
      s2->rz[ir] = 5.0;
    }
    float *d2 = malloc(NR2 * NT * sizeof *d2), *w2 = malloc(NR2 * NT * sizeof *w2);
    for (size_t ir = 0; ir < NR2; ir++)
      for (size_t i = 0; i < NT; i++)
        d2[ir * NT + i] = (float)((tu_urand(&rs) - 0.5) / (1.0 + (double)ir));
    for (size_t i = 0; i < NT; i++) d2[30 * NT + i] *= 10.0f;
    psfwi_weight_opts_defaults(&only);
    only.reject_rms = 5.0;
    assert_int_equal(psfwi_data_weights(s2, NT, DT, d2, &only, w2, &rep, &e), PSFWI_OK);
    printf("  amplitudes falling with offset: %zu noisy (the burst only)\n", rep.noisy);
    assert_int_equal(rep.noisy, 1);
    assert_true(w2[30 * NT] == 0.0f && w2[0] == 1.0f);
    free(d2);
    free(w2);
    psfwi_survey_destroy(s2);
  }
  /* bad options name the key */
  o.taper = -1.0;
  assert_int_equal(psfwi_data_weights(s, NT, DT, d, &o, w, &rep, &e), PSFWI_ERANGE);
  assert_non_null(strstr(e.msg, "taper"));
  o.taper = 0.04;
  o.reject_rms = 0.5;
  assert_int_equal(psfwi_data_weights(s, NT, DT, d, &o, w, &rep, &e), PSFWI_ERANGE);
  assert_non_null(strstr(e.msg, "reject_rms"));
  o.reject_rms = 0.0;
  o.offset_min = 400.0;
  assert_int_equal(psfwi_data_weights(s, NT, DT, d, &o, w, &rep, &e), PSFWI_ERANGE);
  assert_non_null(strstr(e.msg, "offset_max"));
  free(d);
  free(w);
  psfwi_survey_destroy(s);
}

static double misfit(const psfwi_misfit *mf, const float *u, const float *d, const float *w,
                     float *adj) {
  double J;
  psfwi_error e;
  if (psfwi_misfit_eval_w(mf, NREC, u, d, w, &J, adj, &e) != PSFWI_OK) fail_msg("%s", e.msg);
  return J;
}

static void test_weighted_misfit(void **state) {
  (void)state;
  psfwi_survey *s = line_survey();
  const size_t n = NREC * NT;
  float *u = malloc(n * sizeof *u), *d = malloc(n * sizeof *d), *w = malloc(2 * n * sizeof *w),
        *adj = malloc(n * sizeof *adj), *adj1 = malloc(n * sizeof *adj1),
        *up = malloc(n * sizeof *up), *ones = malloc(n * sizeof *ones);
  unsigned long long rs = 9;
  for (size_t k = 0; k < n; k++) {
    const double t = (double)(k % NT) * DT;
    u[k] = (float)(sin(60.0 * t + 0.1 * (double)(k / NT)) + 0.3 * tu_urand(&rs));
    d[k] = (float)(sin(60.0 * t) + 0.3 * tu_urand(&rs));
    ones[k] = 1.0f;
  }
  psfwi_weight_opts o;
  psfwi_weight_opts_defaults(&o);
  o.mute_velocity = 1500.0;
  o.taper = 0.05;
  o.time_max = 0.5;
  psfwi_error e;
  assert_int_equal(psfwi_data_weights(s, NT, DT, NULL, &o, w, NULL, &e), PSFWI_OK);
  psfwi_filter_opts fo;
  psfwi_filter_opts_defaults(&fo);
  fo.f_highcut = 30.0;
  psfwi_filter *f = psfwi_filter_create(&fo, DT, &e);
  assert_non_null(f);
  const psfwi_misfit_kind kinds[2] = {PSFWI_MISFIT_L2, PSFWI_MISFIT_CORRELATION};
  for (int kk = 0; kk < 2; kk++) {
    psfwi_misfit_opts mo;
    psfwi_misfit_opts_defaults(&mo);
    mo.kind = kinds[kk];
    mo.filter = f;
    psfwi_misfit *mf = psfwi_misfit_create(&mo, NT, DT, &e);
    assert_non_null(mf);
    /* weights of 1: the unweighted misfit, bit for bit */
    double J0;
    assert_int_equal(psfwi_misfit_eval(mf, NREC, u, d, &J0, adj1, &e), PSFWI_OK);
    const double J1 = misfit(mf, u, d, ones, adj);
    assert_true(J0 == J1);
    assert_memory_equal(adj, adj1, n * sizeof *adj);
    /* the weighted misfit: smaller than the unweighted, its gradient by central differences */
    const double Jw = misfit(mf, u, d, w, adj);
    assert_true(Jw < J0 && Jw > 0);
    double worst = 0.0;
    for (int trial = 0; trial < 3; trial++) {
      double dot = 0.0, dn = 0.0;
      float *dir = adj1; /* reuse as the direction */
      for (size_t k = 0; k < n; k++) {
        dir[k] = (float)tu_urand(&rs);
        dot += (double)adj[k] * dir[k];
      }
      const double h = 4e-3;
      for (size_t k = 0; k < n; k++) up[k] = u[k] + (float)(h * dir[k]);
      const double Jp = misfit(mf, up, d, w, NULL);
      for (size_t k = 0; k < n; k++) up[k] = u[k] - (float)(h * dir[k]);
      const double Jm = misfit(mf, up, d, w, NULL);
      dn = (Jp - Jm) / (2.0 * h);
      const double rel = fabs(dn - dot) / fabs(dot);
      worst = rel > worst ? rel : worst;
    }
    printf(
        "  weighted %s misfit: J %.4e (unweighted %.4e), central differences vs adjoint "
        "source: worst relative error %.1e\n",
        kk ? "correlation" : "L2", Jw, J0, worst);
    assert_true(worst < 1e-3);
    psfwi_misfit_destroy(mf);
  }
  psfwi_filter_destroy(f);
  free(u), free(d), free(w), free(adj), free(adj1), free(up), free(ones);
  psfwi_survey_destroy(s);
}

/* The 2-D line-source trace of wavelet w (nt samples at dt) at distance r in
 * velocity c: w * G_2D, G_2D(omega) = (-i/4) (J0(k r) - i Y0(k r)), k = omega
 * / c (FFTW's e^(-i omega t) convention), on n >> nt points, DC 0. */
static void line_source(const float *w, size_t nt, double dt, double r, double c, float *out) {
  const size_t n = 16384, nf = n / 2 + 1;
  float *buf = fftwf_alloc_real(n);
  fftwf_complex *X = fftwf_alloc_complex(nf);
  fftwf_plan fw = fftwf_plan_dft_r2c_1d((int)n, buf, X, FFTW_ESTIMATE);
  fftwf_plan bw = fftwf_plan_dft_c2r_1d((int)n, X, buf, FFTW_ESTIMATE);
  memset(buf, 0, n * sizeof *buf);
  memcpy(buf, w, nt * sizeof *buf);
  fftwf_execute(fw);
  X[0] = 0.0f;
  for (size_t f = 1; f < nf; f++) {
    const double x = 2.0 * 3.14159265358979323846 * (double)f / ((double)n * dt) * r / c;
    const double complex g = -0.25 * I * (j0(x) - I * y0(x));
    const double complex y = ((double)crealf(X[f]) + I * (double)cimagf(X[f])) * g / (double)n;
    X[f] = (float)creal(y) + I * (float)cimag(y);
  }
  fftwf_execute(bw);
  memcpy(out, buf, nt * sizeof *out);
  fftwf_destroy_plan(fw);
  fftwf_destroy_plan(bw);
  fftwf_free(buf);
  fftwf_free(X);
}

static void test_3d_to_2d(void **state) {
  (void)state;
  enum { N = 1500 };
  const double dt = 1e-3, c = 2000.0, f = 15.0, delay = 0.1, pi = 3.14159265358979323846;
  const double r[3] = {300.0, 600.0, 1200.0};
  float w[N], u3[3 * N], u2[N];
  psfwi_error e;
  assert_int_equal(psfwi_ricker(f, delay, dt, N, w, &e), PSFWI_OK);
  for (int k = 0; k < 3; k++) { /* G_3D = delta(t - r / c) / (4 pi r) */
    assert_int_equal(psfwi_ricker(f, delay + r[k] / c, dt, N, u3 + k * N, &e), PSFWI_OK);
    for (size_t i = 0; i < N; i++) u3[k * N + i] /= (float)(4.0 * pi * r[k]);
  }
  float amp[3 * N];
  memcpy(amp, u3, sizeof amp);
  assert_int_equal(psfwi_convert_3d_to_2d(3, N, dt, c, delay, PSFWI_3D2D_AMPLITUDE, amp, &e),
                   PSFWI_OK);
  for (size_t i = 0; i < 3 * N; i++) {
    const double t = (double)(i % N) * dt;
    const double expect = sqrt(2.0 * pi) * c * (t > delay ? sqrt(t - delay) : 0.0) * u3[i];
    assert_true(fabs(amp[i] - expect) <= 1e-5 * fabs(expect) + 1e-30);
  }
  assert_int_equal(psfwi_convert_3d_to_2d(3, N, dt, c, delay, PSFWI_3D2D_FULL, u3, &e), PSFWI_OK);
  double errs[3];
  for (int k = 0; k < 3; k++) {
    line_source(w, N, dt, r[k], c, u2);
    double num = 0, den = 0;
    for (size_t i = 0; i < N; i++) {
      num += pow((double)u3[k * N + i] - u2[i], 2);
      den += pow((double)u2[i], 2);
    }
    const double err = sqrt(num / den), kr = 2.0 * pi * f * r[k] / c;
    printf("  3-D to 2-D at r = %4.0f m (k r = %4.1f at the peak): relative L2 %.4f\n", r[k], kr,
           err);
    errs[k] = err;
  }
  /* the far-field approximation's error falls as 1 / (k r): halved per
   * doubling of the distance, below 2 % at k r = 56 (a wrong constant,
   * phase or time origin would leave an error that does not vanish) */
  assert_true(errs[2] <= 0.02);
  for (int k = 0; k < 2; k++)
    assert_true(errs[k] / errs[k + 1] > 1.6 && errs[k] / errs[k + 1] < 2.4);
  assert_int_equal(psfwi_convert_3d_to_2d(1, N, dt, -1.0, 0.0, PSFWI_3D2D_FULL, u2, &e),
                   PSFWI_ERANGE);
  assert_non_null(strstr(e.msg, "velocity"));
}

/* First breaks of analytic arrivals: a 20 Hz Ricker at t_k = 0.05 s +
 * x_k / 2500 m/s, a twice stronger reflection 0.2 s later and 5 % white
 * noise: every pick on the first arrival's onset (the zero-phase Ricker's
 * energy starts 0.7 periods before its peak; a pick on the reflection
 * would be 0.2 s late), the picks' scatter about their mean lag under
 * 3 ms (2.1 ms observed at 1 ms sampling), and the line fitted through them
 * gives the velocity to 1 % (0.25 % observed). */
static void test_first_breaks(void **state) {
  (void)state;
  enum { NTR = 40, N = 800 };
  const double dt = 1e-3, f = 20.0, v = 2500.0;
  float *u = calloc(NTR * N, sizeof *u), r[N];
  double t[NTR], x[NTR], picks[NTR];
  unsigned long long rs = 31;
  psfwi_error e;
  for (size_t k = 0; k < NTR; k++) {
    x[k] = 25.0 * (double)k + 10.0;
    t[k] = 0.05 + x[k] / v;
    assert_int_equal(psfwi_ricker(f, t[k], dt, N, r, &e), PSFWI_OK);
    for (size_t i = 0; i < N; i++) u[k * N + i] = r[i];
    assert_int_equal(psfwi_ricker(f, t[k] + 0.2, dt, N, r, &e), PSFWI_OK);
    for (size_t i = 0; i < N; i++) u[k * N + i] += 2.0f * r[i] + (float)(0.05 * tu_urand(&rs));
  }
  memset(u + 7 * N, 0, N * sizeof *u); /* a dead trace */
  assert_int_equal(psfwi_pick_first_breaks(NTR, N, dt, u, 0.03, picks, &e), PSFWI_OK);
  assert_true(picks[7] == -1.0);
  double mean = 0.0, sx = 0, sy = 0, sxx = 0, sxy = 0;
  size_t m = 0;
  for (size_t k = 0; k < NTR; k++) {
    if (k == 7) continue;
    const double lag = picks[k] - t[k];
    if (!(lag <= 0.002 && lag >= -0.7 / f))
      printf("  trace %zu: pick %.4f s, arrival %.4f s\n", k, picks[k], t[k]);
    assert_true(lag <= 0.002 && lag >= -0.7 / f);
    mean += lag;
    sx += x[k], sy += picks[k], sxx += x[k] * x[k], sxy += x[k] * picks[k];
    m++;
  }
  mean /= (double)m;
  double var = 0.0;
  for (size_t k = 0; k < NTR; k++)
    if (k != 7) var += pow(picks[k] - t[k] - mean, 2) / (double)m;
  const double slope = ((double)m * sxy - sx * sy) / ((double)m * sxx - sx * sx);
  printf(
      "  first breaks: mean lag %.1f ms, scatter %.2f ms, velocity from the picks %.1f m/s "
      "(true %.0f)\n",
      1e3 * mean, 1e3 * sqrt(var), 1.0 / slope, v);
  assert_true(sqrt(var) < 0.003);
  assert_true(fabs(1.0 / slope - v) < 0.01 * v);
  assert_int_equal(psfwi_pick_first_breaks(NTR, N, dt, u, 0.0, picks, &e), PSFWI_ERANGE);
  assert_non_null(strstr(e.msg, "window"));
  /* the mute along the picks: 0 before pick - margin, 1 from pick - margin
   * + taper on; the dead trace unmuted (no pick) */
  psfwi_survey *s = psfwi_survey_create(1, NTR, &e);
  assert_non_null(s);
  s->sx[0] = 0.0;
  for (size_t k = 0; k < NTR; k++) s->rx[k] = x[k];
  psfwi_weight_opts o;
  psfwi_weight_opts_defaults(&o);
  o.pick_window = 0.03;
  o.pick_margin = 0.02;
  o.taper = 0.01;
  float *w = malloc(NTR * N * sizeof *w);
  psfwi_weight_report rep;
  assert_int_equal(psfwi_data_weights(s, N, dt, u, &o, w, &rep, &e), PSFWI_OK);
  assert_int_equal(rep.picked, NTR - 1);
  assert_int_equal(psfwi_pick_first_breaks(NTR, N, dt, u, 0.03, picks, &e), PSFWI_OK);
  for (size_t k = 0; k < NTR; k++)
    for (size_t i = 0; i < N; i++) {
      const double tt = (double)i * dt;
      if (k == 7)
        assert_true(w[k * N + i] == 1.0f);
      else if (tt < picks[k] - 0.02)
        assert_true(w[k * N + i] == 0.0f);
      else if (tt >= picks[k] - 0.01)
        assert_true(w[k * N + i] == 1.0f);
    }
  o.mute_velocity = 2000.0;
  assert_int_equal(psfwi_data_weights(s, N, dt, u, &o, w, &rep, &e), PSFWI_EINVAL);
  assert_non_null(strstr(e.msg, "one mute"));
  free(w);
  psfwi_survey_destroy(s);
  free(u);
}

/* Resampling against the analytic trace: a 10 Hz Ricker at 1 ms to 4 ms
 * (decimation: the filtered trace's own samples) and 2.5 ms, and from 4 ms
 * back to 1 ms; a 200 Hz sine at 1 ms taken to 4 ms (Nyquist 125 Hz) is
 * cut to the digital Butterworth's response at 200 Hz, 1 / (1 + (tan(pi
 * 200 dt) / tan(pi 100 dt))^8) (bilinear transform), not aliased whole. */
static void test_resample(void **state) {
  (void)state;
  psfwi_error e;
  enum { N1 = 801 };
  float r1[N1], r4[201], r25[321], out[N1], ref[N1];
  assert_int_equal(psfwi_ricker(10.0, 0.2, 0.001, N1, r1, &e), PSFWI_OK);
  assert_int_equal(psfwi_resample_count(N1, 0.001, 0.004), 201);
  assert_int_equal(psfwi_resample_count(N1, 0.001, 0.0025), 321);
  assert_int_equal(psfwi_resample_count(201, 0.004, 0.001), N1);
  /* 1 ms -> 4 ms */
  assert_int_equal(psfwi_resample(1, N1, 0.001, r1, 0.004, out, &e), PSFWI_OK);
  assert_int_equal(psfwi_ricker(10.0, 0.2, 0.004, 201, r4, &e), PSFWI_OK);
  const double e4 = tu_rel_l2(out, r4, 201);
  float filt[N1];
  memcpy(filt, r1, sizeof filt);
  psfwi_filter_opts fo;
  psfwi_filter_opts_defaults(&fo);
  fo.f_highcut = 100.0;
  psfwi_filter *f = psfwi_filter_create(&fo, 0.001, &e);
  assert_non_null(f);
  assert_int_equal(psfwi_filter_apply(f, 1, N1, filt, &e), PSFWI_OK);
  for (size_t j = 0; j < 201; j++) assert_true(out[j] == filt[4 * j]);
  /* 1 ms -> 2.5 ms */
  assert_int_equal(psfwi_resample(1, N1, 0.001, r1, 0.0025, out, &e), PSFWI_OK);
  assert_int_equal(psfwi_ricker(10.0, 0.2, 0.0025, 321, r25, &e), PSFWI_OK);
  const double e25 = tu_rel_l2(out, r25, 321);
  /* 4 ms -> 1 ms (no filter) */
  assert_int_equal(psfwi_resample(1, 201, 0.004, r4, 0.001, out, &e), PSFWI_OK);
  assert_int_equal(psfwi_ricker(10.0, 0.2, 0.001, N1, ref, &e), PSFWI_OK);
  const double e1 = tu_rel_l2(out, ref, N1);
  for (size_t j = 0; j < 201; j++) assert_true(out[4 * j] == r4[j]);
  printf("  resampling a 10 Hz Ricker: to 4 ms %.2e, to 2.5 ms %.2e, 4 ms to 1 ms %.2e\n", e4, e25,
         e1);
  assert_true(e4 < 1e-5 && e25 < 1e-5 && e1 < 1e-5);
  /* a 200 Hz sine: 1 ms -> 4 ms keeps 1/257 of it (interior samples) */
  for (size_t i = 0; i < N1; i++)
    r1[i] = (float)sin(2 * 3.14159265358979323846 * 200.0 * 0.001 * (double)i);
  assert_int_equal(psfwi_resample(1, N1, 0.001, r1, 0.004, out, &e), PSFWI_OK);
  double peak = 0.0;
  for (size_t j = 50; j < 150; j++) peak = fmax(peak, fabs(out[j]));
  const double pi = 3.14159265358979323846;
  const double resp = 1.0 / (1.0 + pow(tan(pi * 0.2) / tan(pi * 0.1), 8.0));
  printf("  a 200 Hz sine at 4 ms: peak %.6f, the filter's response %.6f\n", peak, resp);
  assert_true(fabs(peak - resp) < 0.05 * resp);
  /* errors */
  assert_int_equal(psfwi_resample(1, N1, 0.001, r1, 0.0, out, &e), PSFWI_ERANGE);
  assert_non_null(strstr(e.msg, "resampling"));
  psfwi_filter_destroy(f);
}

/* Synthetic field-data defects: white noise at a stated SNR (statistical:
 * within 0.3 dB on 10^4 samples), band-limited noise (SNR exact by
 * construction; 97 % of its energy between half the low corner and twice
 * the high one), reproducible from the seed; dead traces: exactly
 * round(fraction n) traces zeroed, the others untouched. */
static void test_noise(void **state) {
  (void)state;
  enum { NTR = 20, N = 500 };
  const double dt = 0.002, pi = 3.14159265358979323846;
  static float d[NTR * N], a[NTR * N], b[NTR * N];
  for (size_t k = 0; k < NTR; k++)
    for (size_t i = 0; i < N; i++)
      d[k * N + i] = (float)sin(2 * pi * 10.0 * dt * (double)i + 0.3 * (double)k);
  double pd = 0.0;
  for (size_t i = 0; i < NTR * N; i++) pd += (double)d[i] * d[i];
  psfwi_error e;
  double sigma;
  memcpy(a, d, sizeof a);
  assert_int_equal(psfwi_add_noise(a, NTR * N, 10.0, 7, &sigma, &e), PSFWI_OK);
  double pn = 0.0;
  for (size_t i = 0; i < NTR * N; i++) pn += ((double)a[i] - d[i]) * ((double)a[i] - d[i]);
  const double snr_white = 10.0 * log10(pd / pn);
  memcpy(a, d, sizeof a);
  memcpy(b, d, sizeof b);
  assert_int_equal(psfwi_add_band_noise(a, NTR, N, dt, 10.0, 5.0, 20.0, 7, &sigma, &e), PSFWI_OK);
  assert_int_equal(psfwi_add_band_noise(b, NTR, N, dt, 10.0, 5.0, 20.0, 7, NULL, &e), PSFWI_OK);
  assert_memory_equal(a, b, sizeof a);
  pn = 0.0;
  double in_band = 0.0, total = 0.0;
  for (size_t k = 0; k < NTR; k++) {
    for (size_t i = 0; i < N; i++)
      pn += ((double)a[k * N + i] - d[k * N + i]) * ((double)a[k * N + i] - d[k * N + i]);
    for (size_t f = 0; f <= N / 2; f++) { /* the noise's DFT, by sums */
      double re = 0.0, im = 0.0;
      for (size_t i = 0; i < N; i++) {
        const double v = (double)a[k * N + i] - d[k * N + i], ph = 2 * pi * (double)(f * i) / N;
        re += v * cos(ph);
        im -= v * sin(ph);
      }
      const double hz = (double)f / (N * dt), p2 = re * re + im * im;
      total += p2;
      in_band += hz >= 2.5 && hz <= 40.0 ? p2 : 0.0;
    }
  }
  const double snr_band = 10.0 * log10(pd / pn);
  printf("  noise: white %.3f dB, band-limited %.5f dB (10 asked), %.2f %% of it in 2.5-40 Hz\n",
         snr_white, snr_band, 100.0 * in_band / total);
  assert_true(fabs(snr_white - 10.0) < 0.3);
  assert_true(fabs(snr_band - 10.0) < 1e-3);
  assert_true(in_band / total > 0.97);
  /* dead traces */
  memcpy(a, d, sizeof a);
  size_t killed = 0;
  assert_int_equal(psfwi_kill_traces(a, NTR, N, 0.1, 3, &killed, &e), PSFWI_OK);
  assert_int_equal(killed, 2);
  size_t zero = 0;
  for (size_t k = 0; k < NTR; k++) {
    int all = 1;
    for (size_t i = 0; i < N; i++) all &= a[k * N + i] == 0.0f;
    zero += (size_t)all;
    if (!all) assert_memory_equal(a + k * N, d + k * N, N * sizeof(float));
  }
  assert_int_equal(zero, 2);
  assert_int_equal(psfwi_kill_traces(a, NTR, N, 1.5, 3, &killed, &e), PSFWI_ERANGE);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_rules),    cmocka_unit_test(test_weighted_misfit),
      cmocka_unit_test(test_3d_to_2d), cmocka_unit_test(test_first_breaks),
      cmocka_unit_test(test_resample), cmocka_unit_test(test_noise),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
