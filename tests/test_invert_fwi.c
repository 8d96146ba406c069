/* invert: classical FWI (psfwi_fwi_run).
 *  - Taylor test of the complete objective in the optimiser's variables
 *    (band filter, normalisation, illumination scaling, smoothing of the
 *    update, frozen layer, Tikhonov + TV + prior), for L2 with absorbing
 *    edges and for the spectral misfit with a free surface and checkpointing:
 *    the first-order remainder falls as h^2;
 *  - a Gaussian anomaly in a smooth background is recovered from the
 *    background alone: the model error falls by at least half;
 *  - a run stopped (as if killed) and resumed ends bit for bit where the
 *    uninterrupted run ends, across a band change, history included;
 *  - auto_scale at each band: the second band's factors are those of its own
 *    data gradient, and such a run resumes bit for bit;
 *  - the proximal solver (FISTA with TV + L1 proxes, auto_scale): Taylor
 *    test of its smooth part, recovery, bounds and frozen cells, resume;
 *  - with data weights (mute, time and offset windows) the Taylor test holds;
 *  - the wavelet re-estimated per band recovers a wrong one (scaled and
 *    delayed) to 5 %, keeps it in the history, resumes bit for bit;
 *  - bad options fail with a message naming the problem. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "invert_internal.h"
#include "psfwi_invert.h"
#include "testutil.h"

enum { NX = 64, NZ = 48, NREC = 24 };
static const double DX = 10.0, DT = 0.004;

typedef struct setup {
  psfwi_model *m0, *mt;
  psfwi_wave *w;
  psfwi_survey *s;
  size_t nt;
  float *wav, *dobs;
  unsigned char mask[NX * NZ];
} setup;

static unsigned long long rng = 0x243F6A8885A308D3ULL;
static double urand(void) { return tu_urand(&rng); }

/* 1800 + 6 (m/s) per cell with depth, plus a Gaussian of `amp` m/s. */
static void fill(psfwi_model *m, double amp) {
  for (size_t iz = 0; iz < NZ; iz++)
    for (size_t ix = 0; ix < NX; ix++) {
      const double r2 = pow((double)ix - 32.0, 2) + pow((double)iz - 26.0, 2);
      m->vp[iz * NX + ix] = (float)(1800.0 + 6.0 * (double)iz + amp * exp(-r2 / 36.0));
    }
}

/* Sources along the top, receivers along the top and the bottom (so that
 * transmitted waves see the anomaly). */
static setup make(int free_surface, double duration, size_t nshot) {
  setup S;
  memset(&S, 0, sizeof S);
  psfwi_error e;
  psfwi_grid g = {.nx = NX, .nz = NZ, .dx = DX, .dz = DX};
  S.m0 = psfwi_model_create(&g, &e);
  S.mt = psfwi_model_create(&g, &e);
  assert_non_null(S.m0);
  assert_non_null(S.mt);
  fill(S.m0, 0.0);
  fill(S.mt, 150.0);
  psfwi_wave_opts o;
  psfwi_wave_opts_defaults(&o);
  o.fmax = 25.0;
  o.boundary_cells = 12;
  o.free_surface = free_surface;
  o.vmin_bound = 1500.0;
  o.vmax_bound = 2600.0;
  S.w = psfwi_wave_create(S.m0, DT, &o, &e);
  if (S.w == NULL) fail_msg("%s", e.msg);
  S.s = psfwi_survey_create(nshot, NREC, &e);
  assert_non_null(S.s);
  for (size_t is = 0; is < nshot; is++) {
    S.s->sx[is] = 60.0 + 500.0 * (double)is / (double)(nshot - 1);
    S.s->sz[is] = 30.0;
    for (size_t ir = 0; ir < NREC; ir++) {
      S.s->rx[is * NREC + ir] = 20.0 + 50.0 * (double)(ir % (NREC / 2));
      S.s->rz[is * NREC + ir] = ir < NREC / 2 ? 20.0 : 450.0;
    }
  }
  S.nt = (size_t)(duration / DT) + 1;
  S.wav = malloc(S.nt * sizeof *S.wav);
  S.dobs = malloc(nshot * NREC * S.nt * sizeof *S.dobs);
  assert_int_equal(psfwi_ricker(10.0, 0.12, DT, S.nt, S.wav, &e), PSFWI_OK);
  if (psfwi_wave_model_shots(S.w, S.mt, S.s, S.wav, S.nt, S.dobs, NULL, &e) != PSFWI_OK)
    fail_msg("%s", e.msg);
  for (size_t i = 0; i < NX * NZ; i++) S.mask[i] = i < 3 * NX; /* top 3 rows frozen */
  return S;
}

static void destroy(setup *S) {
  psfwi_model_destroy(S->m0);
  psfwi_model_destroy(S->mt);
  psfwi_wave_destroy(S->w);
  psfwi_survey_destroy(S->s);
  free(S->wav);
  free(S->dobs);
}

static void base_opts(psfwi_fwi_opts *o, const psfwi_fwi_band *bands, size_t nband) {
  psfwi_fwi_opts_defaults(o);
  o->bands = bands;
  o->nband = nband;
  o->vmin = 1500.0;
  o->vmax = 2600.0;
}

/* Remainders at h0, h0/2, h0/4, h0/8 along a random direction (h0 in m/s:
 * large enough that float32 round-off in the modelled data, about 1e-7 of
 * Phi, stays well below the remainders); returns the smallest log2 ratio of
 * successive second-order remainders. */
static double taylor(setup *S, const psfwi_fwi_opts *o, const char *label, double h0) {
  enum { NH = 4 };
  double h[NH], phi_h[NH], phi0, gd;
  size_t nfree;
  double *dir = malloc(NX * NZ * sizeof *dir);
  for (size_t k = 0; k < NX * NZ; k++) dir[k] = urand();
  for (int j = 0; j < NH; j++) h[j] = h0 / pow(2.0, j); /* m/s (scale <= 1) */
  psfwi_error e;
  psfwi_model *m = psfwi_model_copy(S->m0, &e);
  if (psfwi_fwi_check_gradient_(S->w, m, S->s, S->wav, S->nt, S->dobs, o, dir, h, NH, &nfree, &phi0,
                                &gd, phi_h, &e) != PSFWI_OK)
    fail_msg("%s: %s", label, e.msg);
  double worst = INFINITY, r_prev = 0.0;
  printf("%s: Phi0 = %.6e, <g, d> = %.6e, %zu free cells\n", label, phi0, gd, nfree);
  for (int j = 0; j < NH; j++) {
    const double r1 = fabs(phi_h[j] - phi0), r2 = fabs(phi_h[j] - phi0 - h[j] * gd);
    printf("  h = %5.2f  |dPhi| = %.3e  remainder = %.3e", h[j], r1, r2);
    if (j > 0) {
      const double slope = log2(r_prev / r2);
      printf("  slope %.2f", slope);
      worst = slope < worst ? slope : worst;
    }
    printf("\n");
    r_prev = r2;
  }
  free(dir);
  psfwi_model_destroy(m);
  return worst;
}

static void test_taylor_l2_everything(void **state) {
  (void)state;
  setup S = make(0, 0.6, 3);
  static const psfwi_fwi_band band = {0.0, 12.0, 5};
  psfwi_fwi_opts o;
  base_opts(&o, &band, 1);
  o.illumination = 1;
  o.smooth_sigma = 25.0;
  o.mask = S.mask;
  o.reg.tikhonov = 1e-6;
  o.reg.tv = 1e-6;
  o.reg.tv_eps = 0.1;
  o.reg.prior = 1e-7;
  o.reg.prior_model = S.m0->vp;
  const double slope = taylor(&S, &o, "L2, 12 Hz band, illumination, smoothing, mask, reg", 32.0);
  assert_true(slope > 1.8);
  destroy(&S);
}

/* Data weights (a top mute, a time window, an offset window) enter the
 * objective as J(W F u, W F d): the Taylor test holds with them, and the
 * objective differs from the unweighted one. */
static void test_taylor_data_weights(void **state) {
  (void)state;
  setup S = make(0, 0.6, 3);
  static const psfwi_fwi_band band = {0.0, 12.0, 5};
  psfwi_fwi_opts o;
  base_opts(&o, &band, 1);
  o.illumination = 1;
  o.mask = S.mask;
  psfwi_weight_opts wo;
  psfwi_weight_opts_defaults(&wo);
  wo.mute_velocity = 2200.0;
  wo.mute_time = 0.1;
  wo.time_max = 0.5;
  wo.offset_max = 450.0;
  float *w = malloc(3 * NREC * S.nt * sizeof *w);
  psfwi_error e;
  psfwi_weight_report rep;
  assert_int_equal(psfwi_data_weights(S.s, S.nt, DT, S.dobs, &wo, w, &rep, &e), PSFWI_OK);
  assert_true(rep.offset > 0 && rep.live > 0);
  o.grad.data_weights = w;
  const double slope = taylor(&S, &o, "L2, 12 Hz band, data weights", 32.0);
  assert_true(slope > 1.8);
  free(w);
  destroy(&S);
}

static void test_taylor_spectral_free_surface_checkpoint(void **state) {
  (void)state;
  setup S = make(1, 0.6, 2);
  static const psfwi_fwi_band band = {2.0, 0.0, 5};
  static const double freqs[] = {4.0, 6.0, 9.0, 13.0};
  psfwi_fwi_opts o;
  base_opts(&o, &band, 1);
  o.misfit = PSFWI_MISFIT_SPECTRAL;
  o.freqs = freqs;
  o.nfreq = 4;
  o.illumination = 1;
  o.reg.tikhonov_z = 1e-6;
  o.grad.mem_budget_mb = 0.5; /* far below keep-all: forces checkpointing */
  const double slope = taylor(&S, &o, "spectral, free surface, checkpointing", 16.0);
  assert_true(slope > 1.8);
  destroy(&S);
}

static double model_error(const psfwi_model *m, const psfwi_model *t) {
  return tu_rel_l2(m->vp, t->vp, NX * NZ) * 100.0;
}

static void test_recovers_gaussian_anomaly(void **state) {
  (void)state;
  setup S = make(0, 0.7, 4);
  static const psfwi_fwi_band bands[] = {{0.0, 8.0, 8}, {0.0, 0.0, 12}};
  psfwi_fwi_opts o;
  base_opts(&o, bands, 2);
  o.illumination = 1;
  o.mask = S.mask;
  o.truth = S.mt;
  psfwi_error e;
  psfwi_model *m = psfwi_model_copy(S.m0, &e);
  const double e0 = model_error(m, S.mt);
  if (psfwi_fwi_run(S.w, m, S.s, S.wav, S.nt, S.dobs, &o, &e) != PSFWI_OK) fail_msg("%s", e.msg);
  const double e1 = model_error(m, S.mt);
  psfwi_metrics m0, m1;
  assert_int_equal(psfwi_compare(S.mt, S.m0, &m0, &e), PSFWI_OK);
  assert_int_equal(psfwi_compare(S.mt, m, &m1, &e), PSFWI_OK);
  printf(
      "Gaussian anomaly: relative error %.3f %% -> %.3f %% (%.0f %% less); RMSE %.2f -> %.2f "
      "m/s; SSIM %.4f -> %.4f\n",
      e0, e1, 100.0 * (1.0 - e1 / e0), m0.rmse, m1.rmse, m0.ssim, m1.ssim);
  assert_true(e1 <= 0.5 * e0);
  /* the anomaly is fast: its centre moved up from the background */
  assert_true(m->vp[26 * NX + 32] > S.m0->vp[26 * NX + 32] + 50.0f);
  psfwi_model_destroy(m);
  destroy(&S);
}

static void test_resume_is_exact(void **state) {
  (void)state;
  setup S = make(0, 0.5, 2);
  static const psfwi_fwi_band bands[] = {{0.0, 8.0, 2}, {0.0, 0.0, 3}};
  psfwi_fwi_opts o;
  base_opts(&o, bands, 2);
  o.illumination = 1;
  o.truth = S.mt;
  o.write_files = 1;
  psfwi_error e;
  /* uninterrupted */
  psfwi_model *a = psfwi_model_copy(S.m0, &e);
  o.history_path = tu_path("a_history.nc");
  o.state_path = tu_path("a_state.nc");
  if (psfwi_fwi_run(S.w, a, S.s, S.wav, S.nt, S.dobs, &o, &e) != PSFWI_OK) fail_msg("%s", e.msg);
  /* stopped after 3 iterations (inside the second band), then resumed */
  psfwi_model *b = psfwi_model_copy(S.m0, &e);
  o.history_path = tu_path("b_history.nc");
  o.state_path = tu_path("b_state.nc");
  o.stop_after = 3;
  assert_int_equal(psfwi_fwi_run(S.w, b, S.s, S.wav, S.nt, S.dobs, &o, &e), PSFWI_EINTERRUPTED);
  assert_non_null(strstr(e.msg, "b_state.nc"));
  assert_true(tu_exists(tu_path("b_history.nc")));
  psfwi_model *c = psfwi_model_copy(S.m0, &e); /* a fresh process would start from the config */
  o.stop_after = 0;
  o.resume = 1;
  if (psfwi_fwi_run(S.w, c, S.s, S.wav, S.nt, S.dobs, &o, &e) != PSFWI_OK) fail_msg("%s", e.msg);
  assert_memory_equal(a->vp, c->vp, NX * NZ * sizeof(float));
  /* same histories: iterations 0..5 with equal objectives */
  assert_int_equal(tu_system("test \"$(ncdump -v objective '%s' | sed -n '/^data:/,$p')\" = "
                             "\"$(ncdump -v objective '%s' | sed -n '/^data:/,$p')\"",
                             tu_path("a_history.nc"), tu_path("b_history.nc")),
                   0);
  assert_int_equal(tu_system("ncdump -h '%s' | grep -q 'iteration = UNLIMITED ; // (6 currently)'",
                             tu_path("b_history.nc")),
                   0);
  /* resuming a finished run changes nothing */
  psfwi_model *d = psfwi_model_copy(S.m0, &e);
  if (psfwi_fwi_run(S.w, d, S.s, S.wav, S.nt, S.dobs, &o, &e) != PSFWI_OK) fail_msg("%s", e.msg);
  assert_memory_equal(a->vp, d->vp, NX * NZ * sizeof(float));
  psfwi_model_destroy(a);
  psfwi_model_destroy(b);
  psfwi_model_destroy(c);
  psfwi_model_destroy(d);
  destroy(&S);
}

/* auto_scale_bands = each (weights of TV and Tikhonov), on data with white
 * Gaussian noise at 0 dB (psfwi_add_noise; on clean data the two bands' Tikhonov
 * factors differ by 0.065 %):
 * the factors of the second band are those a one-band run makes from the
 * model the first band ends with, bit for bit, not the first band's; the
 * run differs from one scaled once, and a run stopped in the second band
 * resumes bit for bit. */
static void test_auto_scale_each_band(void **state) {
  (void)state;
  setup S = make(0, 0.5, 2);
  psfwi_error e;
  assert_int_equal(psfwi_add_noise(S.dobs, 2 * NREC * S.nt, 0.0, 11, NULL, &e), PSFWI_OK);
  static const psfwi_fwi_band bands[] = {{0.0, 8.0, 2}, {0.0, 0.0, 3}};
  psfwi_fwi_opts o;
  base_opts(&o, bands, 2);
  o.reg.tv = 0.01;
  o.reg.tv_eps = 1e-3;
  o.reg.tikhonov = 0.01;
  o.write_files = 1;
  /* each band, stopped after the second band's first iteration */
  o.auto_scale = PSFWI_AUTO_SCALE_EACH;
  o.state_path = tu_path("ae_state.nc");
  o.stop_after = 3;
  psfwi_model *a = psfwi_model_copy(S.m0, &e);
  if (psfwi_fwi_run(S.w, a, S.s, S.wav, S.nt, S.dobs, &o, &e) != PSFWI_EINTERRUPTED)
    fail_msg("%s", e.msg);
  double fe[PSFWI_REG_NSCALE], f1[PSFWI_REG_NSCALE], f2[PSFWI_REG_NSCALE];
  tu_state_f64(tu_path("ae_state.nc"), "fwi", "reg_scale", fe, PSFWI_REG_NSCALE);
  /* the first band alone; the second alone from its end, scaled once */
  o.auto_scale = PSFWI_AUTO_SCALE_FIRST;
  o.stop_after = 0;
  o.nband = 1;
  o.state_path = tu_path("a1_state.nc");
  psfwi_model *m1 = psfwi_model_copy(S.m0, &e);
  if (psfwi_fwi_run(S.w, m1, S.s, S.wav, S.nt, S.dobs, &o, &e) != PSFWI_OK) fail_msg("%s", e.msg);
  tu_state_f64(tu_path("a1_state.nc"), "fwi", "reg_scale", f1, PSFWI_REG_NSCALE);
  o.bands = bands + 1;
  o.state_path = tu_path("a2_state.nc");
  o.stop_after = 1;
  assert_int_equal(psfwi_fwi_run(S.w, m1, S.s, S.wav, S.nt, S.dobs, &o, &e), PSFWI_EINTERRUPTED);
  tu_state_f64(tu_path("a2_state.nc"), "fwi", "reg_scale", f2, PSFWI_REG_NSCALE);
  static const int terms[] = {PSFWI_REG_SCALE_TIKHONOV, PSFWI_REG_SCALE_TV};
  for (size_t t = 0; t < 2; t++) {
    const int k = terms[t];
    printf("auto_scale %s: band 1 x %.6e, band 2 x %.6e (each band), %.6e (one-band run)\n",
           k == PSFWI_REG_SCALE_TV ? "tv" : "tikhonov", f1[k], fe[k], f2[k]);
    assert_true(fe[k] == f2[k]);
    assert_true(fabs(fe[k] - f1[k]) > 0.05 * fabs(f1[k]));
  }
  /* resumed to the end: the uninterrupted run's model, not the once-scaled one */
  o.bands = bands;
  o.nband = 2;
  o.stop_after = 0;
  o.auto_scale = PSFWI_AUTO_SCALE_EACH;
  o.resume = 1;
  o.state_path = tu_path("ae_state.nc");
  psfwi_model *b = psfwi_model_copy(S.m0, &e);
  if (psfwi_fwi_run(S.w, b, S.s, S.wav, S.nt, S.dobs, &o, &e) != PSFWI_OK) fail_msg("%s", e.msg);
  o.resume = 0;
  o.state_path = tu_path("au_state.nc");
  psfwi_model *c = psfwi_model_copy(S.m0, &e);
  if (psfwi_fwi_run(S.w, c, S.s, S.wav, S.nt, S.dobs, &o, &e) != PSFWI_OK) fail_msg("%s", e.msg);
  assert_memory_equal(b->vp, c->vp, NX * NZ * sizeof(float));
  o.auto_scale = PSFWI_AUTO_SCALE_FIRST;
  psfwi_model *d = psfwi_model_copy(S.m0, &e);
  if (psfwi_fwi_run(S.w, d, S.s, S.wav, S.nt, S.dobs, &o, &e) != PSFWI_OK) fail_msg("%s", e.msg);
  assert_memory_not_equal(c->vp, d->vp, NX * NZ * sizeof(float));
  psfwi_model *models[] = {a, m1, b, c, d};
  for (size_t i = 0; i < 5; i++) psfwi_model_destroy(models[i]);
  destroy(&S);
}

/* The proximal solver (FISTA, TV + L1 by their prox within the bounds,
 * weights from auto_scale): the smooth part's gradient passes the Taylor
 * test, the anomaly is recovered, the bounds hold, and a run stopped and
 * resumed ends bit for bit where the uninterrupted run ends. */
static void test_proximal(void **state) {
  (void)state;
  setup S = make(0, 0.7, 4);
  static const psfwi_fwi_band bands[] = {{0.0, 8.0, 6}, {0.0, 0.0, 8}};
  psfwi_fwi_opts o;
  base_opts(&o, bands, 2);
  o.mask = S.mask;
  o.truth = S.mt;
  o.proximal = 1;
  o.auto_scale = 1;
  o.reg.tv = 0.02;
  o.reg.tv_kind = PSFWI_REG_TV_ANISOTROPIC;
  o.reg.l1 = 0.01;
  o.reg.norm_ref = S.m0->vp;
  o.reg.tikhonov = 1e-6;
  const double slope = taylor(&S, &o, "proximal: the smooth part (misfit + Tikhonov)", 32.0);
  assert_true(slope > 1.8);
  o.write_files = 1;
  psfwi_error e;
  psfwi_model *a = psfwi_model_copy(S.m0, &e);
  o.history_path = tu_path("p_history.nc");
  o.state_path = tu_path("p_state.nc");
  const double e0 = model_error(a, S.mt);
  if (psfwi_fwi_run(S.w, a, S.s, S.wav, S.nt, S.dobs, &o, &e) != PSFWI_OK) fail_msg("%s", e.msg);
  const double e1 = model_error(a, S.mt);
  printf("proximal (TV + L1, auto_scale): relative error %.3f %% -> %.3f %% (%.0f %% less)\n", e0,
         e1, 100.0 * (1.0 - e1 / e0));
  assert_true(e1 <= 0.7 * e0);
  for (size_t i = 0; i < NX * NZ; i++) {
    assert_true(a->vp[i] >= 1500.0f && a->vp[i] <= 2600.0f);
    if (S.mask[i]) assert_true(a->vp[i] == S.m0->vp[i]);
  }
  /* the objective of the history never rises within a band by more than
   * FISTA allows (it is not monotone); the last is below the first */
  assert_int_equal(tu_system("ncdump -v objective '%s' | sed -n '/^ objective =/,$p' | tr -d ' ;' "
                             "| tr ',' '\\n' | sed 's/objective=//' | grep -v '^}' | grep . > '%s'",
                             tu_path("p_history.nc"), tu_path("p_obj.txt")),
                   0);
  assert_int_equal(tu_system("test \"$(tail -1 '%s')\" != \"\" && awk 'NR == 1 {f = $1} END "
                             "{exit !($1 < f)}' '%s'",
                             tu_path("p_obj.txt"), tu_path("p_obj.txt")),
                   0);
  /* stopped after 4 iterations, resumed: the same model */
  psfwi_model *b = psfwi_model_copy(S.m0, &e);
  o.history_path = tu_path("q_history.nc");
  o.state_path = tu_path("q_state.nc");
  o.stop_after = 4;
  assert_int_equal(psfwi_fwi_run(S.w, b, S.s, S.wav, S.nt, S.dobs, &o, &e), PSFWI_EINTERRUPTED);
  psfwi_model *c = psfwi_model_copy(S.m0, &e);
  o.stop_after = 0;
  o.resume = 1;
  if (psfwi_fwi_run(S.w, c, S.s, S.wav, S.nt, S.dobs, &o, &e) != PSFWI_OK) fail_msg("%s", e.msg);
  assert_memory_equal(a->vp, c->vp, NX * NZ * sizeof(float));
  /* smoothing of the update is refused with the proximal solver */
  o.resume = 0;
  o.smooth_sigma = 20.0;
  assert_int_equal(psfwi_fwi_run(S.w, b, S.s, S.wav, S.nt, S.dobs, &o, &e), PSFWI_EINVAL);
  assert_non_null(strstr(e.msg, "proximal"));
  psfwi_model_destroy(a);
  psfwi_model_destroy(b);
  psfwi_model_destroy(c);
  destroy(&S);
}

/* The wavelet re-estimated per band: data made with a wavelet 1.8 times
 * the run's, 6 ms later; in the true model the first band's estimate
 * brings it to within 5 % (L2) of the true one (from 80 %), the second
 * keeps it there, the history holds it per iteration, and a run stopped
 * and resumed ends with the same model and wavelet, bit for bit. */
static void test_wavelet_estimate(void **state) {
  (void)state;
  setup S = make(0, 0.6, 3);
  psfwi_error e;
  float *wt = malloc(S.nt * sizeof *wt), *w1 = malloc(S.nt * sizeof *w1),
        *w2 = malloc(S.nt * sizeof *w2);
  assert_int_equal(psfwi_ricker(10.0, 0.126, DT, S.nt, wt, &e), PSFWI_OK);
  for (size_t i = 0; i < S.nt; i++) wt[i] *= 1.8f;
  float *d = malloc(3 * NREC * S.nt * sizeof *d);
  assert_int_equal(psfwi_wave_model_shots(S.w, S.mt, S.s, wt, S.nt, d, NULL, &e), PSFWI_OK);
  static const psfwi_fwi_band bands[] = {{0.0, 12.0, 2}, {0.0, 0.0, 2}};
  psfwi_fwi_opts o;
  base_opts(&o, bands, 2);
  o.estimate_wavelet = 1;
  o.wavelet_eps = 1e-4;
  o.wavelet_out = w1;
  o.write_files = 1;
  o.history_path = tu_path("w_history.nc");
  o.state_path = tu_path("w_state.nc");
  psfwi_model *a = psfwi_model_copy(S.mt, &e);
  if (psfwi_fwi_run(S.w, a, S.s, S.wav, S.nt, d, &o, &e) != PSFWI_OK) fail_msg("%s", e.msg);
  double num = 0, den = 0, num0 = 0;
  for (size_t i = 0; i < S.nt; i++) {
    num += pow((double)w1[i] - wt[i], 2);
    num0 += pow((double)S.wav[i] - wt[i], 2);
    den += pow((double)wt[i], 2);
  }
  printf("wavelet estimate: relative L2 %.3f (the run's wavelet: %.3f)\n", sqrt(num / den),
         sqrt(num0 / den));
  assert_true(sqrt(num / den) <= 0.05);
  assert_true(sqrt(num0 / den) > 0.5);
  assert_int_equal(tu_system("ncdump -h '%s' | grep -q 'float wavelet(iteration, wavelet_time)'",
                             tu_path("w_history.nc")),
                   0);
  /* stopped inside the second band, resumed */
  o.history_path = tu_path("w2_history.nc");
  o.state_path = tu_path("w2_state.nc");
  o.wavelet_out = w2;
  o.stop_after = 3;
  psfwi_model *b = psfwi_model_copy(S.mt, &e);
  assert_int_equal(psfwi_fwi_run(S.w, b, S.s, S.wav, S.nt, d, &o, &e), PSFWI_EINTERRUPTED);
  psfwi_model *c = psfwi_model_copy(S.mt, &e);
  o.stop_after = 0;
  o.resume = 1;
  if (psfwi_fwi_run(S.w, c, S.s, S.wav, S.nt, d, &o, &e) != PSFWI_OK) fail_msg("%s", e.msg);
  assert_memory_equal(a->vp, c->vp, NX * NZ * sizeof(float));
  assert_memory_equal(w1, w2, S.nt * sizeof(float));
  assert_int_equal(tu_system("test \"$(ncdump -v wavelet '%s' | sed -n '/^data:/,$p')\" = "
                             "\"$(ncdump -v wavelet '%s' | sed -n '/^data:/,$p')\"",
                             tu_path("w_history.nc"), tu_path("w2_history.nc")),
                   0);
  psfwi_model_destroy(a);
  psfwi_model_destroy(b);
  psfwi_model_destroy(c);
  free(wt), free(w1), free(w2), free(d);
  destroy(&S);
}

/* One wavelet per shot: shots made with wavelets of their own (gains 1,
 * 1.4, 1.8 and 0, 4, 8 ms of delay, as airguns and couplings vary); in the
 * true model the per-shot estimate leaves a far smaller misfit than one
 * wavelet for all, the wavelets' mean comes within 5 % of the true mean,
 * and a run stopped in its first band resumes to the same model and wavelet
 * bit for bit. */
static double first_misfit;
static void grab_misfit(void *ctx, const psfwi_fwi_progress *p) {
  (void)ctx;
  if (p->note == NULL && p->stop_reason == NULL && p->iter_total == 0) first_misfit = p->misfit;
}

static void test_wavelet_per_shot(void **state) {
  (void)state;
  setup S = make(0, 0.6, 3);
  psfwi_error e;
  const size_t nt = S.nt;
  float *wt = malloc(3 * nt * sizeof *wt), *mean = calloc(nt, sizeof *mean),
        *w1 = malloc(nt * sizeof *w1), *w2 = malloc(nt * sizeof *w2);
  float *d = malloc(3 * NREC * nt * sizeof *d);
  for (size_t is = 0; is < 3; is++) {
    float *w = wt + is * nt;
    assert_int_equal(psfwi_ricker(10.0, 0.126 + 0.004 * (double)is, DT, nt, w, &e), PSFWI_OK);
    for (size_t i = 0; i < nt; i++) {
      w[i] *= (float)(1.0 + 0.4 * (double)is);
      mean[i] += w[i] / 3.0f;
    }
    psfwi_survey *one = psfwi_survey_subset(S.s, is, 1, &e);
    assert_non_null(one);
    assert_int_equal(psfwi_wave_model_shots(S.w, S.mt, one, w, nt, d + is * NREC * nt, NULL, &e),
                     PSFWI_OK);
    psfwi_survey_destroy(one);
  }
  static const psfwi_fwi_band bands[] = {{0.0, 12.0, 1}, {0.0, 0.0, 1}};
  psfwi_fwi_opts o;
  base_opts(&o, bands, 2);
  o.wavelet_eps = 1e-4;
  o.progress = grab_misfit;
  double misfit[2];
  for (int k = 0; k < 2; k++) {
    o.estimate_wavelet = k ? PSFWI_FWI_WAVELET_SHOT : PSFWI_FWI_WAVELET_BAND;
    o.wavelet_out = w1;
    psfwi_model *a = psfwi_model_copy(S.mt, &e);
    if (psfwi_fwi_run(S.w, a, S.s, S.wav, nt, d, &o, &e) != PSFWI_OK) fail_msg("%s", e.msg);
    misfit[k] = first_misfit;
    psfwi_model_destroy(a);
  }
  double num = 0, den = 0;
  for (size_t i = 0; i < nt; i++) {
    num += pow((double)w1[i] - mean[i], 2);
    den += pow((double)mean[i], 2);
  }
  printf(
      "per-shot wavelets: misfit in the true model %.3e (one wavelet for all: %.3e); their "
      "mean %.3f from the true mean\n",
      misfit[1], misfit[0], sqrt(num / den));
  assert_true(misfit[1] < 0.05 * misfit[0]);
  assert_true(sqrt(num / den) <= 0.05);
  /* stopped and resumed */
  o.progress = NULL;
  o.write_files = 1;
  o.history_path = tu_path("ps_history.nc");
  o.state_path = tu_path("ps_state.nc");
  psfwi_model *a = psfwi_model_copy(S.m0, &e), *b = psfwi_model_copy(S.m0, &e);
  if (psfwi_fwi_run(S.w, a, S.s, S.wav, nt, d, &o, &e) != PSFWI_OK) fail_msg("%s", e.msg);
  o.history_path = tu_path("ps2_history.nc");
  o.state_path = tu_path("ps2_state.nc");
  o.wavelet_out = w2;
  o.stop_after = 1;
  assert_int_equal(psfwi_fwi_run(S.w, b, S.s, S.wav, nt, d, &o, &e), PSFWI_EINTERRUPTED);
  psfwi_model_destroy(b);
  b = psfwi_model_copy(S.m0, &e);
  o.stop_after = 0;
  o.resume = 1;
  if (psfwi_fwi_run(S.w, b, S.s, S.wav, nt, d, &o, &e) != PSFWI_OK) fail_msg("%s", e.msg);
  assert_memory_equal(a->vp, b->vp, NX * NZ * sizeof(float));
  assert_memory_equal(w1, w2, nt * sizeof(float));
  psfwi_model_destroy(a);
  psfwi_model_destroy(b);
  free(wt), free(mean), free(w1), free(w2), free(d);
  destroy(&S);
}

static void test_errors(void **state) {
  (void)state;
  setup S = make(0, 0.3, 2);
  static const psfwi_fwi_band band = {0.0, 0.0, 2}, zero_band = {0.0, 0.0, 0};
  static const psfwi_fwi_band bad_band = {0.0, 1000.0, 2};
  psfwi_fwi_opts o;
  psfwi_error e;
  psfwi_model *m = psfwi_model_copy(S.m0, &e);
#define EXPECT(status, text)                                                           \
  do {                                                                                 \
    assert_int_equal(psfwi_fwi_run(S.w, m, S.s, S.wav, S.nt, S.dobs, &o, &e), status); \
    if (strstr(e.msg, text) == NULL) fail_msg("message '%s' lacks '%s'", e.msg, text); \
  } while (0)
  base_opts(&o, &band, 0);
  EXPECT(PSFWI_EINVAL, "at least one frequency band");
  base_opts(&o, &zero_band, 1);
  EXPECT(PSFWI_ERANGE, "band 1 has 0 iterations");
  base_opts(&o, &band, 1);
  o.vmin = 3000.0;
  EXPECT(PSFWI_ERANGE, "expected 0 < vmin < vmax");
  base_opts(&o, &band, 1);
  o.vmax = 4000.0;
  EXPECT(PSFWI_ERANGE, "exceed the propagator's");
  base_opts(&o, &bad_band, 1);
  EXPECT(PSFWI_ERANGE, "band 1");
  base_opts(&o, &band, 1);
  o.reg.tv = 1.0; /* tv_eps missing */
  EXPECT(PSFWI_ERANGE, "tv");
  base_opts(&o, &band, 1);
  unsigned char all[NX * NZ];
  memset(all, 1, sizeof all);
  o.mask = all;
  EXPECT(PSFWI_EINVAL, "every cell is frozen");
  base_opts(&o, &band, 1);
  o.resume = 1;
  EXPECT(PSFWI_EINVAL, "resume without a state file");
  o.state_path = tu_path("missing_state.nc");
  EXPECT(PSFWI_EIO, "missing_state.nc");
  assert_int_equal(psfwi_nc_write_model(tu_path("model.nc"), m, NULL, &e), PSFWI_OK);
  o.state_path = tu_path("model.nc");
  EXPECT(PSFWI_EFORMAT, "not a psfwi state file");
#undef EXPECT
  psfwi_model_destroy(m);
  destroy(&S);
}

int main(void) {
  const char *only = getenv("PSFWI_TEST_ONLY");
  if (only != NULL) cmocka_set_test_filter(only);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_taylor_l2_everything),
      cmocka_unit_test(test_taylor_data_weights),
      cmocka_unit_test(test_taylor_spectral_free_surface_checkpoint),
      cmocka_unit_test(test_recovers_gaussian_anomaly),
      cmocka_unit_test(test_resume_is_exact),
      cmocka_unit_test(test_auto_scale_each_band),
      cmocka_unit_test(test_proximal),
      cmocka_unit_test(test_wavelet_estimate),
      cmocka_unit_test(test_wavelet_per_shot),
      cmocka_unit_test(test_errors),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
