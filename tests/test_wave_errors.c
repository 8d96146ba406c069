/* wave: every refusal, provoked on purpose, with a message that names the
 * problem (checked with strstr on key words). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "psfwi_wave.h"
#include "testutil.h"

static void no_snapshot(void *ctx, size_t it, const float *p) {
  (void)ctx;
  (void)it;
  (void)p;
  fail_msg("snapshot called despite snapshot_every = 0");
}

static psfwi_model *model(double v) {
  psfwi_grid g = {.nx = 40, .nz = 30, .dx = 10.0, .dz = 10.0};
  psfwi_model *m = psfwi_model_create(&g, NULL);
  assert_non_null(m);
  for (size_t i = 0; i < 1200; i++) m->vp[i] = (float)v;
  return m;
}

static void opts(psfwi_wave_opts *o) {
  psfwi_wave_opts_defaults(o);
  o->fmax = 25.0;
}

/* create must fail with `status` and a message containing every key word. */
static void refuse(const psfwi_model *m, double dt_out, const psfwi_wave_opts *o, int status,
                   const char *k1, const char *k2) {
  psfwi_error e = {0, ""};
  psfwi_wave *w = psfwi_wave_create(m, dt_out, o, &e);
  if (w != NULL) {
    psfwi_wave_destroy(w);
    fail_msg("expected a refusal containing '%s'", k1);
  }
  printf("  refused: %s\n", e.msg);
  assert_int_equal(e.status, status);
  assert_non_null(strstr(e.msg, k1));
  if (k2) assert_non_null(strstr(e.msg, k2));
}

static void test_nan_model(void **state) {
  (void)state;
  psfwi_model *m = model(2000.0);
  psfwi_wave_opts o;
  opts(&o);
  psfwi_wave *w = psfwi_wave_create(m, 0.002, &o, NULL);
  assert_non_null(w);
  m->vp[7 * 40 + 3] = NAN;
  refuse(m, 0.002, &o, PSFWI_ENONFINITE, "ix = 3, iz = 7", "finite");
  /* the model passed to the shot loop is checked before stepping */
  psfwi_survey *s = psfwi_survey_create_line(100, 0, 1, 100, 50, 10, 3, 50, 0, NULL);
  float wav[10] = {0}, d[30];
  psfwi_error e;
  assert_int_equal(psfwi_wave_model_shots(w, m, s, wav, 10, d, NULL, &e), PSFWI_ENONFINITE);
  assert_non_null(strstr(e.msg, "ix = 3, iz = 7"));
  float *vel = psfwi_wave_field_alloc(w);
  assert_int_equal(psfwi_wave_vel_term(w, m, vel, &e), PSFWI_ENONFINITE);
  psfwi_wave_field_free(vel);
  psfwi_survey_destroy(s);
  psfwi_wave_destroy(w);
  psfwi_model_destroy(m);
}

static void test_receiver_outside(void **state) {
  (void)state;
  psfwi_model *m = model(2000.0);
  psfwi_wave_opts o;
  opts(&o);
  psfwi_wave *w = psfwi_wave_create(m, 0.002, &o, NULL);
  assert_non_null(w);
  /* x extent [0, 390] m: the 3rd receiver of shot 1 at 395 m is outside */
  psfwi_survey *s = psfwi_survey_create_line(100, 50, 2, 100, 295, 25, 3, 50, 1, NULL);
  assert_non_null(s);
  float wav[10] = {0}, d[60];
  psfwi_error e;
  assert_int_equal(psfwi_wave_model_shots(w, m, s, wav, 10, d, NULL, &e), PSFWI_ERANGE);
  printf("  refused: %s\n", e.msg);
  assert_non_null(strstr(e.msg, "receiver 2 of shot 1"));
  assert_non_null(strstr(e.msg, "outside"));
  /* and directly through the stencils */
  const double x = 100.0, z = -5.0;
  assert_null(psfwi_wave_points_create(w, 1, &x, &z, "receiver", &e));
  assert_int_equal(e.status, PSFWI_ERANGE);
  assert_non_null(strstr(e.msg, "receiver 0"));
  psfwi_wave_state *st = psfwi_wave_state_create(w, &e);
  psfwi_wave_work *ws = psfwi_wave_work_create(w, &e);
  float *vel = psfwi_wave_field_alloc(w), tr[10];
  const double rx = 500.0, rz = 10.0;
  assert_int_equal(
      psfwi_wave_shot(w, vel, wav, 10, 100.0, 100.0, 1, &rx, &rz, tr, ws, st, NULL, NULL, &e),
      PSFWI_ERANGE);
  assert_non_null(strstr(e.msg, "receiver 0 at (x = 500"));
  assert_int_equal(
      psfwi_wave_shot(w, vel, wav, 10, -100.0, 100.0, 1, &x, &x, tr, ws, st, NULL, NULL, &e),
      PSFWI_ERANGE);
  assert_non_null(strstr(e.msg, "source 0"));
  psfwi_wave_field_free(vel);
  psfwi_wave_work_destroy(ws);
  psfwi_wave_state_destroy(st);
  psfwi_survey_destroy(s);
  psfwi_wave_destroy(w);
  psfwi_model_destroy(m);
}

static void test_unstable(void **state) {
  (void)state;
  psfwi_model *m = model(2000.0);
  psfwi_wave_opts o;
  opts(&o);
  /* plain leapfrog beyond its von Neumann limit 2 / (pi sqrt 2) = 0.450 */
  o.scheme = PSFWI_WAVE_LEAPFROG;
  o.cfl = 0.5;
  refuse(m, 0.0025, &o, PSFWI_EUNSTABLE, "von Neumann", "cfl <= 0.4502");
  o.cfl = 0.44; /* just inside: accepted */
  psfwi_wave *w = psfwi_wave_create(m, 0.0022, &o, NULL);
  assert_non_null(w);
  psfwi_wave_destroy(w);
  /* k-space beyond the aliasing limit 1 / sqrt 2 */
  opts(&o);
  o.cfl = 0.75;
  refuse(m, 0.00375, &o, PSFWI_EUNSTABLE, "alias", "cfl < 0.7071");
  /* a velocity above the bound that fixed dt and c_ref */
  opts(&o);
  o.vmax_bound = 1800.0;
  refuse(m, 0.002, &o, PSFWI_EUNSTABLE, "above the bound", "1800");
  /* ... also when the model changes after set-up */
  opts(&o);
  o.vmax_bound = 2500.0;
  w = psfwi_wave_create(m, 0.002, &o, NULL);
  assert_non_null(w);
  m->vp[5] = 2600.0f;
  float *vel = psfwi_wave_field_alloc(w);
  psfwi_error e;
  assert_int_equal(psfwi_wave_vel_term(w, m, vel, &e), PSFWI_EUNSTABLE);
  assert_non_null(strstr(e.msg, "2600 m/s at (ix = 5, iz = 0)"));
  assert_non_null(strstr(e.msg, "vmax_bound"));
  m->vp[5] = 1000.0f; /* below vmin_bound (defaulted to 2000) */
  assert_int_equal(psfwi_wave_vel_term(w, m, vel, &e), PSFWI_EUNSTABLE);
  assert_non_null(strstr(e.msg, "below the bound"));
  psfwi_wave_field_free(vel);
  psfwi_wave_destroy(w);
  psfwi_model_destroy(m);
}

static void test_under_sampled(void **state) {
  (void)state;
  psfwi_model *m = model(2000.0);
  psfwi_wave_opts o;
  opts(&o);
  /* space: 2000 / 120 Hz = 16.7 m over 10 m = 1.67 points per wavelength */
  o.fmax = 120.0;
  refuse(m, 0.002, &o, PSFWI_EUNSTABLE, "under-sampled in space", "1.67 points per wavelength");
  /* a lower vmin_bound in the options counts, not the model */
  opts(&o);
  o.vmin_bound = 400.0;
  refuse(m, 0.002, &o, PSFWI_EUNSTABLE, "under-sampled in space", "400");
  /* time: dt_out above 1 / (2 fmax) = 0.02 s */
  opts(&o);
  refuse(m, 0.025, &o, PSFWI_EUNSTABLE, "Nyquist", "0.02 s");
  psfwi_wave *w = psfwi_wave_create(m, 0.02, &o, NULL); /* exactly at the limit */
  assert_non_null(w);
  psfwi_wave_destroy(w);
  psfwi_model_destroy(m);
}

static void test_bad_options(void **state) {
  (void)state;
  psfwi_model *m = model(2000.0);
  psfwi_wave_opts o;
  opts(&o);
  o.fmax = 0.0;
  refuse(m, 0.002, &o, PSFWI_EINVAL, "fmax", "Ricker");
  opts(&o);
  refuse(m, 0.0, &o, PSFWI_ERANGE, "dt_out", NULL);
  opts(&o);
  o.hicks_radius = 11;
  refuse(m, 0.002, &o, PSFWI_ERANGE, "hicks_radius", NULL);
  opts(&o);
  o.boundary_cells = 3;
  refuse(m, 0.002, &o, PSFWI_ERANGE, "boundary_cells", "hicks_radius");
  opts(&o);
  o.scheme = (psfwi_wave_scheme)7;
  refuse(m, 0.002, &o, PSFWI_EINVAL, "scheme", NULL);
  opts(&o);
  o.vmin_bound = 3000.0;
  o.vmax_bound = 2500.0;
  refuse(m, 0.002, &o, PSFWI_ERANGE, "vmin_bound", NULL);
  opts(&o);
  o.nthreads_fft = 0;
  refuse(m, 0.002, &o, PSFWI_ERANGE, "nthreads_fft", NULL);
  opts(&o);
  o.spectral_layout = (psfwi_wave_layout)5;
  refuse(m, 0.002, &o, PSFWI_EINVAL, "spectral_layout", NULL);
  psfwi_error e;
  assert_null(psfwi_wave_create(NULL, 0.002, &o, &e));
  assert_int_equal(e.status, PSFWI_EINVAL);

  /* a model on another grid, nt = 0, snapshot_every = 0, a NaN wavelet */
  opts(&o);
  psfwi_wave *w = psfwi_wave_create(m, 0.002, &o, NULL);
  assert_non_null(w);
  psfwi_grid g2 = m->grid;
  g2.nx = 41;
  psfwi_model *m2 = psfwi_model_create(&g2, NULL);
  for (size_t i = 0; i < 41 * 30; i++) m2->vp[i] = 2000.0f;
  float *vel = psfwi_wave_field_alloc(w);
  assert_int_equal(psfwi_wave_vel_term(w, m2, vel, &e), PSFWI_EINVAL);
  assert_non_null(strstr(e.msg, "differs"));
  psfwi_survey *s = psfwi_survey_create_line(100, 0, 1, 100, 50, 10, 3, 50, 0, NULL);
  float wav[10] = {0}, d[30];
  assert_int_equal(psfwi_wave_model_shots(w, m, s, wav, 0, d, NULL, &e), PSFWI_EINVAL);
  psfwi_wave_callbacks cb = {0};
  cb.snapshot = no_snapshot;
  cb.snapshot_every = 0;
  assert_int_equal(psfwi_wave_model_shots(w, m, s, wav, 10, d, &cb, &e), PSFWI_EINVAL);
  assert_non_null(strstr(e.msg, "snapshot_every"));
  wav[4] = NAN;
  assert_int_equal(psfwi_wave_model_shots(w, m, s, wav, 10, d, NULL, &e), PSFWI_ENONFINITE);
  assert_non_null(strstr(e.msg, "wavelet sample 4"));
  double fmax;
  assert_int_equal(psfwi_wave_fmax(wav, 10, 0.002, &fmax, &e), PSFWI_ENONFINITE);
  memset(wav, 0, sizeof wav);
  assert_int_equal(psfwi_wave_fmax(wav, 10, 0.002, &fmax, &e), PSFWI_EINVAL);
  assert_non_null(strstr(e.msg, "zero"));
  assert_int_equal(psfwi_wave_fmax(wav, 1, 0.002, &fmax, &e), PSFWI_EINVAL);
  psfwi_wave_field_free(vel);
  psfwi_survey_destroy(s);
  psfwi_model_destroy(m2);
  psfwi_wave_destroy(w);
  psfwi_wave_destroy(NULL);
  psfwi_wave_work_destroy(NULL);
  psfwi_wave_state_destroy(NULL);
  psfwi_wave_points_destroy(NULL);
  psfwi_model_destroy(m);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_nan_model),   cmocka_unit_test(test_receiver_outside),
      cmocka_unit_test(test_unstable),    cmocka_unit_test(test_under_sampled),
      cmocka_unit_test(test_bad_options),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
