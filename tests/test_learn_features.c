/* learn features, acquisition and samples: exact Fourier coefficients of
 * cosines at bin frequencies and of delayed spikes (FFTW's sign), the
 * per-shot RMS normalisation, whole-mode channel layout, log-amplitude and
 * phase, profile binning (midpoint and offset cells, averaging, empty cells
 * zero) on a hand-made survey, refused frequencies and data, the
 * acquisition text round trip and its field-naming comparison, and the
 * sampler's reproducibility; input noise for robustness tests. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "psfwi_learn.h"
#include "testutil.h"

static const double TWO_PI = 6.283185307179586;

/* |got - want| <= tol, reporting the line and both values. */
static void near_(double got, double want, double tol, int line) {
  if (!(fabs(got - want) <= tol))
    fail_msg("line %d: got %.9g, expected %.9g (tolerance %g)", line, got, want, tol);
}
#define NEAR(got, want, tol) near_((double)(got), (double)(want), (tol), __LINE__)

/* A line survey of nshot shots (x = sx0 + is dsx) and nrec receivers at
 * x = ir * drx, all at depth 0. */
static psfwi_survey *line(size_t nshot, double sx0, double dsx, size_t nrec, double drx) {
  psfwi_error e;
  psfwi_survey *s = psfwi_survey_create_line(sx0, dsx, nshot, 0.0, 0.0, drx, nrec, 0.0, 0, &e);
  if (s == NULL) fail_msg("%s", e.msg);
  return s;
}

static psfwi_learn_acq acq_of(int mode, int parts, size_t nfreq, const double *freq) {
  psfwi_learn_acq a;
  memset(&a, 0, sizeof a);
  a.mode = mode;
  a.parts = parts;
  a.nfreq = nfreq;
  for (size_t i = 0; i < nfreq; i++) a.freq[i] = freq[i];
  return a;
}

/* Cosines at bin frequencies: the coefficient of A cos(2 pi k n / N + phi)
 * at bin k is (A N / 2) e^{i phi}; after the shot's RMS, exactly that over
 * sqrt(mean |C|^2). */
static void test_cosines_exact(void **state) {
  (void)state;
  enum { NT = 64, NREC = 3 };
  const double dt = 0.01, df = 1.0 / (NT * dt); /* 1.5625 Hz */
  const size_t k[2] = {3, 7};
  const double freq[2] = {3 * df + 0.2, 7 * df - 0.3}; /* rounded to the bins */
  const double amp[NREC][2] = {{1.0, 0.5}, {2.0, 0.25}, {0.75, 3.0}};
  const double phi[NREC][2] = {{0.3, -1.2}, {2.0, 0.1}, {-2.5, 1.0}};
  psfwi_grid g = {.nx = NREC, .nz = 2, .dx = 10, .dz = 10};
  psfwi_survey *s = line(1, 0.0, 10.0, NREC, 10.0);
  psfwi_learn_acq a = acq_of(PSFWI_LEARN_WHOLE, PSFWI_LEARN_REIM, 2, freq);
  psfwi_error e;
  psfwi_features *f = psfwi_features_create(&a, s, &g, NT, dt, &e);
  if (f == NULL) fail_msg("%s", e.msg);
  assert_int_equal(psfwi_features_channels(f), 1 * 2 * 2);
  assert_int_equal(psfwi_features_width(f), NREC);
  assert_int_equal(a.nt, NT);
  assert_true(a.geometry_hash != 0);
  float data[NREC * NT], out[4 * NREC];
  double want[NREC][2][2], sumsq = 0.0;
  for (size_t ir = 0; ir < NREC; ir++) {
    for (size_t n = 0; n < NT; n++) {
      double v = 0.0;
      for (int j = 0; j < 2; j++)
        v += amp[ir][j] * cos(TWO_PI * (double)(k[j] * n) / NT + phi[ir][j]);
      data[ir * NT + n] = (float)v;
    }
    for (int j = 0; j < 2; j++) {
      const double c = amp[ir][j] * NT / 2.0;
      want[ir][j][0] = c * cos(phi[ir][j]);
      want[ir][j][1] = c * sin(phi[ir][j]);
      sumsq += c * c;
    }
  }
  const double rms = sqrt(sumsq / (NREC * 2));
  assert_int_equal(psfwi_features_compute(f, data, out, &e), PSFWI_OK);
  for (size_t ir = 0; ir < NREC; ir++)
    for (int j = 0; j < 2; j++)
      for (int p = 0; p < 2; p++)
        NEAR(out[((size_t)j * 2 + (size_t)p) * NREC + ir], want[ir][j][p] / rms, 2e-6);
  psfwi_features_destroy(f);
  psfwi_survey_destroy(s);
}

/* A unit spike at sample n0 has C_k = exp(-2 pi i k n0 / N) (FFTW's forward
 * sign): |C| = 1, so the RMS is 1; ampphase gives log(eps + 1) and the
 * phase wrapped into (-pi, pi]. */
static void test_spike_ampphase(void **state) {
  (void)state;
  enum { NT = 50, NREC = 2 };
  const double dt = 0.004, df = 1.0 / (NT * dt); /* 5 Hz */
  const double freq[3] = {5.0, 15.0, 40.0};
  const size_t k[3] = {1, 3, 8}, n0[NREC] = {4, 11};
  psfwi_grid g = {.nx = NREC, .nz = 2, .dx = 10, .dz = 10};
  psfwi_survey *s = line(1, 0.0, 10.0, NREC, 10.0);
  psfwi_learn_acq a = acq_of(PSFWI_LEARN_WHOLE, PSFWI_LEARN_AMPPHASE, 3, freq);
  psfwi_error e;
  psfwi_features *f = psfwi_features_create(&a, s, &g, NT, dt, &e);
  if (f == NULL) fail_msg("%s", e.msg);
  (void)df;
  float data[NREC * NT] = {0}, out[3 * 2 * NREC];
  for (size_t ir = 0; ir < NREC; ir++) data[ir * NT + n0[ir]] = 1.0f;
  assert_int_equal(psfwi_features_compute(f, data, out, &e), PSFWI_OK);
  for (size_t ir = 0; ir < NREC; ir++)
    for (size_t j = 0; j < 3; j++) {
      const double ph = -TWO_PI * (double)(k[j] * n0[ir]) / NT;
      const double wrapped = atan2(sin(ph), cos(ph));
      NEAR(out[(j * 2) * NREC + ir], log(PSFWI_LEARN_AMP_EPS + 1.0), 1e-6);
      NEAR(out[(j * 2 + 1) * NREC + ir], wrapped, 2e-5);
    }
  /* the same as reim: cos and sin of the phase */
  psfwi_features_destroy(f);
  a.parts = PSFWI_LEARN_REIM;
  f = psfwi_features_create(&a, s, &g, NT, dt, &e);
  assert_int_equal(psfwi_features_compute(f, data, out, &e), PSFWI_OK);
  for (size_t ir = 0; ir < NREC; ir++)
    for (size_t j = 0; j < 3; j++) {
      const double ph = -TWO_PI * (double)(k[j] * n0[ir]) / NT;
      NEAR(out[(j * 2) * NREC + ir], cos(ph), 2e-6);
      NEAR(out[(j * 2 + 1) * NREC + ir], sin(ph), 2e-6);
    }
  psfwi_features_destroy(f);
  psfwi_survey_destroy(s);
}

/* Whole mode: channel (shot * nfreq + f) * 2 + part at position receiver;
 * each shot normalised by its own RMS (a shot 5 times louder gives the same
 * features; an all-zero shot stays zero). */
static void test_whole_layout_and_rms(void **state) {
  (void)state;
  enum { NT = 40, NREC = 3, NSHOT = 3 };
  const double dt = 0.005; /* bins 5 Hz apart */
  const double freq[2] = {10.0, 25.0};
  const size_t k[2] = {2, 5};
  psfwi_grid g = {.nx = NREC, .nz = 2, .dx = 10, .dz = 10};
  psfwi_survey *s = line(NSHOT, 0.0, 10.0, NREC, 10.0);
  psfwi_learn_acq a = acq_of(PSFWI_LEARN_WHOLE, PSFWI_LEARN_REIM, 2, freq);
  psfwi_error e;
  psfwi_features *f = psfwi_features_create(&a, s, &g, NT, dt, &e);
  if (f == NULL) fail_msg("%s", e.msg);
  assert_int_equal(psfwi_features_channels(f), NSHOT * 2 * 2);
  float data[NSHOT * NREC * NT] = {0}, out[NSHOT * 4 * NREC];
  /* shot 0: spikes of amplitude 1 at n0 = 3 + 2 ir; shot 1: the same x 5;
   * shot 2: nothing */
  for (size_t ir = 0; ir < NREC; ir++) {
    data[(0 * NREC + ir) * NT + 3 + 2 * ir] = 1.0f;
    data[(1 * NREC + ir) * NT + 3 + 2 * ir] = 5.0f;
  }
  assert_int_equal(psfwi_features_compute(f, data, out, &e), PSFWI_OK);
  for (size_t is = 0; is < NSHOT; is++)
    for (size_t ir = 0; ir < NREC; ir++)
      for (size_t j = 0; j < 2; j++) {
        const double ph = -TWO_PI * (double)(k[j] * (3 + 2 * ir)) / NT;
        const size_t c = (is * 2 + j) * 2;
        const double re = is < 2 ? cos(ph) : 0.0, im = is < 2 ? sin(ph) : 0.0;
        NEAR(out[c * NREC + ir], re, 2e-6);
        NEAR(out[(c + 1) * NREC + ir], im, 2e-6);
      }
  psfwi_features_destroy(f);
  psfwi_survey_destroy(s);
}

/* Profile mode on a hand-made survey (grid x = 0..40 m at 10 m; offset bins
 * centred at 20 and 40 m, 20 m wide):
 *   shot 0, sx = 0:  rx = 20 (offset 20 -> bin 0, midpoint 10 -> j 1)
 *                    rx = 40 (offset 40 -> bin 1, midpoint 20 -> j 2)
 *   shot 1, sx = 20: rx = 40 (offset 20 -> bin 0, midpoint 30 -> j 3)
 *                    rx = 0  (offset -20 -> bin -2: not used)
 *   shot 2, sx = 0:  rx = 20 (bin 0, j 1: averaged with shot 0's)
 *                    rx = 80 (offset 80 -> bin 3 of 2: not used)
 * Every trace a unit spike (RMS 1 per shot), at its own delay. */
static void test_profile_binning(void **state) {
  (void)state;
  enum { NT = 32, NSHOT = 3, NREC = 2, NX = 5 };
  const double dt = 0.01; /* bins 3.125 Hz apart */
  const double freq[1] = {6.25};
  const size_t kb = 2;
  psfwi_grid g = {.nx = NX, .nz = 3, .dx = 10, .dz = 10};
  psfwi_error e;
  psfwi_survey *s = psfwi_survey_create(NSHOT, NREC, &e);
  const double sx[NSHOT] = {0, 20, 0}, rx[NSHOT * NREC] = {20, 40, 40, 0, 20, 80};
  for (size_t i = 0; i < NSHOT; i++) s->sx[i] = sx[i], s->sz[i] = 0;
  for (size_t i = 0; i < NSHOT * NREC; i++) s->rx[i] = rx[i], s->rz[i] = 0;
  psfwi_learn_acq a = acq_of(PSFWI_LEARN_PROFILE, PSFWI_LEARN_REIM, 1, freq);
  a.offset_min = 20.0;
  a.offset_step = 20.0;
  a.noffset = 2;
  psfwi_features *f = psfwi_features_create(&a, s, &g, NT, dt, &e);
  if (f == NULL) fail_msg("%s", e.msg);
  assert_int_equal(psfwi_features_width(f), NX);
  assert_int_equal(psfwi_features_channels(f), 2 * 1 * 2);
  assert_true(a.geometry_hash == 0);
  const size_t n0[NSHOT * NREC] = {1, 2, 3, 4, 5, 6};
  float data[NSHOT * NREC * NT] = {0}, out[4 * NX];
  for (size_t t = 0; t < NSHOT * NREC; t++) data[t * NT + n0[t]] = 1.0f;
  assert_int_equal(psfwi_features_compute(f, data, out, &e), PSFWI_OK);
  /* expected complex values per (bin, j) */
  double want[2][NX][2] = {{{0}}};
  const double p0 = -TWO_PI * (double)(kb * n0[0]) / NT, p4 = -TWO_PI * (double)(kb * n0[4]) / NT;
  want[0][1][0] = 0.5 * (cos(p0) + cos(p4));
  want[0][1][1] = 0.5 * (sin(p0) + sin(p4));
  const double p1 = -TWO_PI * (double)(kb * n0[1]) / NT, p2 = -TWO_PI * (double)(kb * n0[2]) / NT;
  want[1][2][0] = cos(p1);
  want[1][2][1] = sin(p1);
  want[0][3][0] = cos(p2);
  want[0][3][1] = sin(p2);
  for (size_t ob = 0; ob < 2; ob++)
    for (size_t j = 0; j < NX; j++)
      for (size_t p = 0; p < 2; p++) NEAR(out[(ob * 2 + p) * NX + j], want[ob][j][p], 2e-6);
  /* ampphase: empty cells stay 0 in both parts */
  psfwi_features_destroy(f);
  a.parts = PSFWI_LEARN_AMPPHASE;
  f = psfwi_features_create(&a, s, &g, NT, dt, &e);
  assert_int_equal(psfwi_features_compute(f, data, out, &e), PSFWI_OK);
  NEAR(out[(0 * 2) * NX + 0], 0.0, 0.0);
  NEAR(out[(0 * 2 + 1) * NX + 0], 0.0, 0.0);
  NEAR(out[(1 * 2) * NX + 2], log(PSFWI_LEARN_AMP_EPS + 1.0), 1e-6);
  NEAR(out[(0 * 2) * NX + 1], log(PSFWI_LEARN_AMP_EPS + hypot(want[0][1][0], want[0][1][1])), 1e-5);
  psfwi_features_destroy(f);
  /* no trace in any bin */
  a.offset_min = 1000.0;
  assert_null(psfwi_features_create(&a, s, &g, NT, dt, &e));
  assert_int_equal(e.status, PSFWI_ERANGE);
  a.offset_min = 20.0;
  a.offset_step = 0.0;
  assert_null(psfwi_features_create(&a, s, &g, NT, dt, &e));
  assert_int_equal(e.status, PSFWI_ERANGE);
  psfwi_survey_destroy(s);
}

static void test_refused(void **state) {
  (void)state;
  enum { NT = 100, NREC = 4 };
  const double dt = 0.002; /* Nyquist 250 Hz, bins 5 Hz */
  psfwi_grid g = {.nx = NREC, .nz = 2, .dx = 10, .dz = 10};
  psfwi_survey *s = line(2, 0.0, 10.0, NREC, 10.0);
  psfwi_error e;
  const double above[1] = {251.0};
  psfwi_learn_acq a = acq_of(PSFWI_LEARN_WHOLE, PSFWI_LEARN_REIM, 1, above);
  assert_null(psfwi_features_create(&a, s, &g, NT, dt, &e));
  assert_int_equal(e.status, PSFWI_ERANGE);
  assert_non_null(strstr(e.msg, "Nyquist"));
  assert_non_null(strstr(e.msg, "251 Hz"));
  const double zero_bin[1] = {2.0};
  a = acq_of(PSFWI_LEARN_WHOLE, PSFWI_LEARN_REIM, 1, zero_bin);
  assert_null(psfwi_features_create(&a, s, &g, NT, dt, &e));
  assert_int_equal(e.status, PSFWI_ERANGE);
  assert_non_null(strstr(e.msg, "bin 0"));
  const double same_bin[2] = {10.0, 11.0};
  a = acq_of(PSFWI_LEARN_WHOLE, PSFWI_LEARN_REIM, 2, same_bin);
  assert_null(psfwi_features_create(&a, s, &g, NT, dt, &e));
  assert_int_equal(e.status, PSFWI_EINVAL);
  assert_non_null(strstr(e.msg, "same bin"));
  /* whole mode: one receiver per column */
  const double ok[2] = {10.0, 20.0};
  a = acq_of(PSFWI_LEARN_WHOLE, PSFWI_LEARN_REIM, 2, ok);
  psfwi_grid wide = g;
  wide.nx = 5;
  assert_null(psfwi_features_create(&a, s, &wide, NT, dt, &e));
  assert_int_equal(e.status, PSFWI_EINVAL);
  assert_non_null(strstr(e.msg, "one receiver per model column"));
  /* NaN data */
  psfwi_features *f = psfwi_features_create(&a, s, &g, NT, dt, &e);
  if (f == NULL) fail_msg("%s", e.msg);
  float *data = calloc(2 * NREC * NT, sizeof *data), out[2 * 2 * 2 * NREC];
  data[(1 * NREC + 2) * NT + 17] = NAN;
  assert_int_equal(psfwi_features_compute(f, data, out, &e), PSFWI_ENONFINITE);
  assert_non_null(strstr(e.msg, "shot 1, receiver 2, sample 17"));
  free(data);
  psfwi_features_destroy(f);
  psfwi_survey_destroy(s);
}

static psfwi_learn_acq sample_acq(void) {
  psfwi_learn_acq a;
  memset(&a, 0, sizeof a);
  a.mode = PSFWI_LEARN_WHOLE;
  a.parts = PSFWI_LEARN_AMPPHASE;
  a.nfreq = 3;
  a.freq[0] = 2.5;
  a.freq[1] = 7.0 / 3.0 * 3.0;
  a.freq[2] = 29.999999999;
  a.nt = 1001;
  a.dt = 0.001;
  a.f_peak = 15.0;
  a.nshot = 5;
  a.nrec = 70;
  a.dx = 10.0;
  a.dz = 10.0;
  a.nz = 70;
  a.z0 = 0.0;
  a.source_z = 10.0;
  a.receiver_z = 0.1 + 0.2;
  a.geometry_hash = UINT64_C(0xfedcba9876543210);
  return a;
}

static void test_acq_text_and_compare(void **state) {
  (void)state;
  psfwi_learn_acq a = sample_acq(), b;
  char *text = psfwi_learn_acq_text(&a);
  assert_non_null(text);
  assert_non_null(strstr(text, "mode = whole\n"));
  assert_non_null(strstr(text, "parts = ampphase\n"));
  psfwi_error e;
  assert_int_equal(psfwi_learn_acq_parse(text, "net.nc", &b, &e), PSFWI_OK);
  assert_memory_equal(&a, &b, sizeof a); /* every double back bit for bit */
  assert_int_equal(psfwi_learn_channels(&a), 5 * 3 * 2);
  assert_int_equal(psfwi_learn_acq_compare(&a, &b, "shots.nc", &e), PSFWI_OK);
  /* the field that differs is named, with both values */
  b.dt = 0.002;
  assert_int_equal(psfwi_learn_acq_compare(&a, &b, "shots.nc", &e), PSFWI_EINVAL);
  assert_non_null(strstr(e.msg,
                         "shots.nc: the data's sample interval dt = 0.002 s differs from "
                         "the network's 0.001 s (it was trained for another acquisition)"));
  b = a;
  b.freq[1] = 8.0;
  assert_int_equal(psfwi_learn_acq_compare(&a, &b, "d", &e), PSFWI_EINVAL);
  assert_non_null(strstr(e.msg, "frequency 2 = 8 Hz"));
  b = a;
  b.geometry_hash ^= 1;
  assert_int_equal(psfwi_learn_acq_compare(&a, &b, "d", &e), PSFWI_EINVAL);
  assert_non_null(strstr(e.msg, "geometry"));
  b = a;
  b.dx = 10.0 * (1 + 1e-9); /* within the tolerance */
  assert_int_equal(psfwi_learn_acq_compare(&a, &b, "d", &e), PSFWI_OK);
  b.mode = PSFWI_LEARN_PROFILE;
  assert_int_equal(psfwi_learn_acq_diff(&a, &b, "this run", "'old.nc'", &e), PSFWI_EINVAL);
  assert_non_null(strstr(e.msg, "'old.nc' has feature mode = profile where this run has whole"));
  /* profile mode: shots and hash are informative, offsets count */
  a.mode = b.mode = PSFWI_LEARN_PROFILE;
  b.geometry_hash = 0;
  b.nshot = 99;
  assert_int_equal(psfwi_learn_acq_compare(&a, &b, "d", &e), PSFWI_OK);
  b.noffset = 3;
  assert_int_equal(psfwi_learn_acq_compare(&a, &b, "d", &e), PSFWI_EINVAL);
  assert_non_null(strstr(e.msg, "number of offset bins = 3"));
  /* parse errors name the origin and the key */
  const char *bad_texts[][2] = {
      {"mode = whole\n", "'parts' is missing"},
      {"colour = red\n", "'colour' is unknown"},
  };
  for (size_t i = 0; i < 2; i++) {
    assert_int_equal(psfwi_learn_acq_parse(bad_texts[i][0], "x.nc", &b, &e), PSFWI_EFORMAT);
    assert_non_null(strstr(e.msg, "x.nc"));
    assert_non_null(strstr(e.msg, bad_texts[i][1]));
  }
  char *broken = malloc(strlen(text) + 32);
  strcpy(broken, text);
  char *dt = strstr(broken, "dt = ");
  memcpy(dt, "dt = x", 6);
  assert_int_equal(psfwi_learn_acq_parse(broken, "x.nc", &b, &e), PSFWI_EFORMAT);
  assert_non_null(strstr(e.msg, "dt = 'x"));
  strcpy(broken, text);
  strcat(broken, "nt = 5\n");
  assert_int_equal(psfwi_learn_acq_parse(broken, "x.nc", &b, &e), PSFWI_EFORMAT);
  assert_non_null(strstr(e.msg, "'nt' is given twice"));
  strcpy(broken, text);
  char *nf = strstr(broken, "nfreq = 3");
  nf[8] = '2';
  assert_int_equal(psfwi_learn_acq_parse(broken, "x.nc", &b, &e), PSFWI_EFORMAT);
  assert_non_null(strstr(e.msg, "nfreq = 2"));
  free(broken);
  free(text);
  assert_string_equal(psfwi_learn_mode_name(7), "unknown");
  int m;
  assert_int_equal(psfwi_learn_mode_parse("profile", &m, &e), PSFWI_OK);
  assert_int_equal(m, PSFWI_LEARN_PROFILE);
  assert_int_equal(psfwi_learn_parts_parse("polar", &m, &e), PSFWI_EINVAL);
}

/* A sampler on a tiny grid: the same index gives the same bits (from the
 * same or a new sampler), another index another model. */
static psfwi_sampler *tiny_sampler_with(psfwi_learn_acq *a, psfwi_survey **s, size_t *nt,
                                        double span_lo, double span_hi, const float *models,
                                        size_t nmodels, psfwi_error *err) {
  enum { NX = 16, NZ = 12 };
  const double dt = 0.002;
  *nt = 101;
  psfwi_sample_opts o;
  memset(&o, 0, sizeof o);
  o.grid = (psfwi_grid){.nx = NX, .nz = NZ, .dx = 10, .dz = 10};
  o.nfamily = 2;
  o.family[0] = PSFWI_FAMILY_LAYERED;
  o.family[1] = PSFWI_FAMILY_FAULTED;
  o.vmin = 1500;
  o.vmax = 3500;
  o.water_min = span_hi > 0 ? 0 : 10; /* water is 1500 m/s, below a sub-range */
  o.water_max = span_hi > 0 ? 0 : 30;
  o.span_min = span_lo;
  o.span_max = span_hi;
  o.models = models;
  o.nmodels = nmodels;
  o.seed = 11;
  psfwi_error e;
  *s = line(2, 20.0, 100.0, NX, 10.0);
  const double freq[3] = {10.0, 20.0, 30.0};
  *a = acq_of(PSFWI_LEARN_WHOLE, PSFWI_LEARN_REIM, 3, freq);
  a->f_peak = 15;
  float w[101];
  if (psfwi_ricker(15.0, 0.1, dt, *nt, w, &e) != PSFWI_OK) fail_msg("%s", e.msg);
  psfwi_wave_opts wo;
  psfwi_wave_opts_defaults(&wo);
  wo.fmax = 37.5;
  wo.nthreads_shots = 2;
  psfwi_sampler *sm = psfwi_sampler_create(&o, a, *s, w, *nt, dt, &wo, err);
  return sm;
}

static psfwi_sampler *tiny_sampler(psfwi_learn_acq *a, psfwi_survey **s, size_t *nt) {
  psfwi_error e;
  psfwi_sampler *sm = tiny_sampler_with(a, s, nt, 0, 0, NULL, 0, &e);
  if (sm == NULL) fail_msg("%s", e.msg);
  return sm;
}

/* [dataset] span: every model lies in its own sub-range of 25 % of [vmin,
 * vmax], and the sub-ranges move from sample to sample. Given models: sample
 * i is model i, bit for bit, and a model outside [vmin, vmax] is refused. */
static void test_sampler_span_and_given_models(void **state) {
  (void)state;
  enum { NV = 16 * 12 };
  psfwi_learn_acq a;
  psfwi_survey *s;
  size_t nt;
  psfwi_error e;
  psfwi_sampler *sm = tiny_sampler_with(&a, &s, &nt, 0.25, 0.25, NULL, 0, &e);
  if (sm == NULL) fail_msg("%s", e.msg);
  float *f = malloc(psfwi_sampler_feature_size(sm) * sizeof *f), v[NV];
  double lo_min = 1e9, lo_max = 0;
  for (uint64_t i = 0; i < 6; i++) {
    assert_int_equal(psfwi_sampler_make(sm, i, f, v, NULL, NULL, &e), PSFWI_OK);
    float lo = v[0], hi = v[0];
    for (size_t k = 0; k < NV; k++) {
      lo = fminf(lo, v[k]);
      hi = fmaxf(hi, v[k]);
    }
    assert_true(lo >= 1500.0f && hi <= 3500.0f);
    assert_true(hi - lo <= 0.25 * 2000 + 1e-3);
    lo_min = fmin(lo_min, lo);
    lo_max = fmax(lo_max, lo);
  }
  assert_true(lo_max - lo_min > 200); /* the sub-ranges move */
  psfwi_sampler_destroy(sm);
  psfwi_survey_destroy(s);
  /* two given models */
  float models[2 * NV];
  for (size_t k = 0; k < NV; k++) {
    models[k] = 1600.0f + (float)(k / 16) * 50.0f;
    models[NV + k] = 3000.0f - (float)(k % 16) * 20.0f;
  }
  sm = tiny_sampler_with(&a, &s, &nt, 0, 0, models, 2, &e);
  if (sm == NULL) fail_msg("%s", e.msg);
  int fam;
  uint64_t seed;
  assert_int_equal(psfwi_sampler_make(sm, 1, f, v, &fam, &seed, &e), PSFWI_OK);
  assert_memory_equal(v, models + NV, sizeof v);
  assert_int_equal(fam, -1);
  assert_true(seed == 1);
  assert_int_equal(psfwi_sampler_make(sm, 2, f, v, &fam, &seed, &e), PSFWI_ERANGE);
  assert_non_null(strstr(e.msg, "only 2 models"));
  psfwi_sampler_destroy(sm);
  psfwi_survey_destroy(s);
  models[5] = 4000.0f; /* above vmax */
  assert_null(tiny_sampler_with(&a, &s, &nt, 0, 0, models, 2, &e));
  assert_non_null(strstr(e.msg, "given model 0"));
  psfwi_survey_destroy(s);
  assert_null(tiny_sampler_with(&a, &s, &nt, 0.5, 0.2, NULL, 0, &e));
  assert_non_null(strstr(e.msg, "span"));
  psfwi_survey_destroy(s);
  free(f);
}

static void count_progress(void *ctx, size_t done, size_t count) {
  size_t *calls = ctx;
  assert_true(done >= 1 && done <= count);
  (*calls)++;
}

static void test_sampler_reproducible(void **state) {
  (void)state;
  psfwi_learn_acq a;
  psfwi_survey *s;
  size_t nt;
  psfwi_sampler *sm = tiny_sampler(&a, &s, &nt);
  const size_t nf = psfwi_sampler_feature_size(sm), nv = 16 * 12;
  assert_int_equal(nf, 2 * 3 * 2 * 16);
  float *f1 = malloc(nf * sizeof *f1), *f2 = malloc(nf * sizeof *f2), *f3 = malloc(nf * 4);
  float *v1 = malloc(nv * 4), *v2 = malloc(nv * 4), *v3 = malloc(nv * 4);
  int fam1, fam2, fam3;
  uint64_t s1, s2, s3;
  psfwi_error e;
  assert_int_equal(psfwi_sampler_make(sm, 3, f1, v1, &fam1, &s1, &e), PSFWI_OK);
  assert_int_equal(psfwi_sampler_make(sm, 4, f3, v3, &fam3, &s3, &e), PSFWI_OK);
  assert_int_equal(psfwi_sampler_make(sm, 3, f2, v2, &fam2, &s2, &e), PSFWI_OK);
  assert_memory_equal(f1, f2, nf * sizeof *f1);
  assert_memory_equal(v1, v2, nv * sizeof *v1);
  assert_int_equal(fam1, fam2);
  assert_true(s1 == s2);
  assert_true(s1 == psfwi_mix64(11 + 3));
  assert_true(fam1 == PSFWI_FAMILY_LAYERED || fam1 == PSFWI_FAMILY_FAULTED);
  assert_true(s3 != s1);
  assert_true(memcmp(v1, v3, nv * sizeof *v1) != 0);
  assert_true(memcmp(f1, f3, nf * sizeof *f1) != 0);
  for (size_t i = 0; i < nv; i++) assert_true(v1[i] >= 1500.0f && v1[i] <= 3500.0f);
  for (size_t i = 0; i < nf; i++) assert_true(isfinite(f1[i]));
  /* a new sampler: the same bits */
  psfwi_learn_acq a2;
  psfwi_survey *s2v;
  size_t nt2;
  psfwi_sampler *sm2 = tiny_sampler(&a2, &s2v, &nt2);
  assert_int_equal(psfwi_sampler_make(sm2, 3, f2, v2, &fam2, &s2, &e), PSFWI_OK);
  assert_memory_equal(f1, f2, nf * sizeof *f1);
  assert_memory_equal(v1, v2, nv * sizeof *v1);
  /* several samples on 2 threads: the bits of one at a time, in order */
  float *fm = malloc(3 * nf * sizeof *fm), *vm = malloc(3 * nv * sizeof *vm);
  int fams[3];
  uint64_t seeds[3];
  size_t calls = 0;
  assert_int_equal(
      psfwi_sampler_make_many(sm2, 2, 3, 2, fm, vm, fams, seeds, count_progress, &calls, &e),
      PSFWI_OK);
  assert_int_equal(calls, 3);
  assert_memory_equal(fm + nf, f1, nf * sizeof *f1); /* index 3 */
  assert_memory_equal(vm + nv, v1, nv * sizeof *v1);
  assert_memory_equal(fm + 2 * nf, f3, nf * sizeof *f3); /* index 4 */
  assert_memory_equal(vm + 2 * nv, v3, nv * sizeof *v3);
  assert_int_equal(fams[1], fam1);
  assert_true(seeds[1] == s1 && seeds[2] == s3);
  assert_int_equal(psfwi_sampler_make(sm2, 2, f2, v2, &fam2, &s2, &e), PSFWI_OK);
  assert_memory_equal(fm, f2, nf * sizeof *f2);
  assert_true(seeds[0] == s2 && fams[0] == fam2);
  free(fm), free(vm);
  psfwi_sampler_destroy(sm2);
  psfwi_survey_destroy(s2v);
  free(f1), free(f2), free(f3), free(v1), free(v2), free(v3);
  psfwi_sampler_destroy(sm);
  psfwi_survey_destroy(s);
}

/* Input noise for robustness tests: zeros (cells without a trace) stay
 * zero, the non-zero entries get noise of sigma = rms 10^(-snr/20) whose
 * measured SNR is the requested one within its sampling error (20,000
 * draws: 0.04 dB standard deviation; 0.15 dB allowed), zero mean, the same
 * draws from the same seed and others from another. */
static void test_feature_noise(void **state) {
  (void)state;
  const size_t n = 40000;
  float *x = malloc(n * sizeof *x), *y = malloc(n * sizeof *y), *z = malloc(n * sizeof *z);
  assert_non_null(x);
  assert_non_null(y);
  assert_non_null(z);
  double ss = 0;
  for (size_t i = 0; i < n; i++) {
    x[i] = (i % 2) ? (float)(3.0 * sin(0.01 * (double)i) + 0.5) : 0.0f;
    ss += (double)x[i] * x[i];
  }
  memcpy(y, x, n * sizeof *x);
  memcpy(z, x, n * sizeof *x);
  double sigma = -1;
  psfwi_features_add_noise(y, n, 10.0, 7, &sigma);
  NEAR(sigma, sqrt(ss / (double)(n / 2)) * pow(10.0, -0.5), 1e-9 * sigma);
  double en = 0, mean = 0;
  for (size_t i = 0; i < n; i++) {
    if (x[i] == 0.0f) {
      assert_true(y[i] == 0.0f);
      continue;
    }
    const double d = (double)y[i] - x[i];
    en += d * d;
    mean += d;
  }
  NEAR(10.0 * log10(ss / en), 10.0, 0.15);
  NEAR(mean / (double)(n / 2), 0.0, 4.0 * sigma / sqrt((double)(n / 2)));
  psfwi_features_add_noise(z, n, 10.0, 7, NULL);
  assert_memory_equal(y, z, n * sizeof *y);
  memcpy(z, x, n * sizeof *x);
  psfwi_features_add_noise(z, n, 10.0, 8, NULL);
  assert_true(memcmp(y, z, n * sizeof *y) != 0);
  /* all zero: nothing to scale the noise by, nothing added */
  memset(z, 0, n * sizeof *z);
  psfwi_features_add_noise(z, n, 0.0, 1, &sigma);
  assert_true(sigma == 0.0);
  for (size_t i = 0; i < n; i++) assert_true(z[i] == 0.0f);
  free(x);
  free(y);
  free(z);
}

static void test_sampler_errors(void **state) {
  (void)state;
  psfwi_sample_opts o;
  memset(&o, 0, sizeof o);
  o.grid = (psfwi_grid){.nx = 16, .nz = 12, .dx = 10, .dz = 10};
  o.nfamily = 1;
  o.vmin = 3000;
  o.vmax = 2000;
  psfwi_survey *s = line(1, 20.0, 10.0, 16, 10.0);
  const double freq[1] = {10};
  psfwi_learn_acq a = acq_of(PSFWI_LEARN_WHOLE, PSFWI_LEARN_REIM, 1, freq);
  float w[50] = {1};
  psfwi_wave_opts wo;
  psfwi_wave_opts_defaults(&wo);
  wo.fmax = 30;
  psfwi_error e;
  assert_null(psfwi_sampler_create(&o, &a, s, w, 50, 0.002, &wo, &e));
  assert_int_equal(e.status, PSFWI_ERANGE);
  assert_non_null(strstr(e.msg, "vmin"));
  o.vmin = 1500;
  o.vmax = 3000;
  o.water_min = 50;
  o.water_max = 500; /* deeper than the model */
  assert_null(psfwi_sampler_create(&o, &a, s, w, 50, 0.002, &wo, &e));
  assert_int_equal(e.status, PSFWI_ERANGE);
  assert_non_null(strstr(e.msg, "water"));
  o.water_max = 60;
  o.nfamily = 0;
  assert_null(psfwi_sampler_create(&o, &a, s, w, 50, 0.002, &wo, &e));
  assert_int_equal(e.status, PSFWI_ERANGE);
  psfwi_survey_destroy(s);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_cosines_exact),
      cmocka_unit_test(test_spike_ampphase),
      cmocka_unit_test(test_whole_layout_and_rms),
      cmocka_unit_test(test_profile_binning),
      cmocka_unit_test(test_refused),
      cmocka_unit_test(test_acq_text_and_compare),
      cmocka_unit_test(test_sampler_reproducible),
      cmocka_unit_test(test_sampler_errors),
      cmocka_unit_test(test_feature_noise),
      cmocka_unit_test(test_sampler_span_and_given_models),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
