/* wave: the absorbing boundary, measured. A shot in a small homogeneous
 * model (30 or 20 absorbing cells per side; 20 is the default) is compared with the same
 * shot in a model extended by 100 cells on every side, whose own boundary
 * echoes arrive after the 1.4 s analysed. The difference is what the small
 * model's boundary sent back (reflection, and transmission around the
 * periodic grid); its peak is compared with the direct wave's peak at the
 * same receiver, at 3 points per shortest wavelength. Geometries:
 *  - sources next to an edge, receivers along it (grazing incidence, the
 *    hardest angle for an absorber) and between source and edge;
 *  - a source in a corner with receivers across the model, some near the
 *    opposite edges;
 *  - a source near the top-left with receivers along the top out to 0.95 of
 *    the width (long-offset grazing incidence: a surface survey without a
 *    free surface).
 * The PML (default) is held to the 1 % in every geometry, with 30
 * and with 20 cells, and to 0.1 % at 30 cells (measured 0.03-0.04 %). The
 * damping layer (absorber = sponge) is held at its measured levels: 0.52 %
 * at the edges, 1.08 % in the corner (2.31 % with a free surface), 2.26 % at
 * long offsets (0.82 % with a free surface); docs/wave.md. A long run checks
 * that the PML's memory does not grow. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "psfwi_wave.h"
#include "testutil.h"

static const double V = 2000.0, FP = 10.0;

static float *run(size_t n, double dx, double origin, int free_surface, psfwi_wave_absorber ab,
                  size_t nb, const psfwi_survey *s, size_t nt, double dt_out) {
  psfwi_grid g = {
      .nx = n, .nz = n, .dx = dx, .dz = dx, .x0 = origin, .z0 = free_surface ? 0.0 : origin};
  if (free_surface) g.nz = n - (size_t)(-origin / dx + 0.5); /* no extension above z = 0 */
  psfwi_error e;
  psfwi_model *m = psfwi_model_create(&g, &e);
  assert_non_null(m);
  for (size_t i = 0; i < g.nx * g.nz; i++) m->vp[i] = (float)V;
  psfwi_wave_opts o;
  psfwi_wave_opts_defaults(&o);
  o.fmax = 2.5 * FP;
  o.free_surface = free_surface;
  assert_int_equal(o.boundary_cells, 20);
  assert_int_equal(o.absorber, PSFWI_WAVE_PML);
  o.absorber = ab;
  o.boundary_cells = nb;
  psfwi_wave *w = psfwi_wave_create(m, dt_out, &o, &e);
  if (w == NULL) fail_msg("%s", e.msg);
  float *wav = malloc(nt * sizeof(float));
  float *d = malloc(s->nshot * s->nrec * nt * sizeof(float));
  assert_non_null(wav);
  assert_non_null(d);
  assert_int_equal(psfwi_ricker(FP, 0.15, dt_out, nt, wav, &e), PSFWI_OK);
  if (psfwi_wave_model_shots(w, m, s, wav, nt, d, NULL, &e) != PSFWI_OK) fail_msg("%s", e.msg);
  free(wav);
  psfwi_wave_destroy(w);
  psfwi_model_destroy(m);
  return d;
}

/* Worst ratio over the receivers of max|small - big| / max|big|: worst[0]
 * for shots 0 and 1 (edge geometries), worst[1] for shot 2 (corner),
 * worst[2] for shot 3 (long offsets along the top). */
static void measure_ppw(int free_surface, psfwi_wave_absorber ab, size_t nb, double ppw,
                        double *worst) {
  const double dx = V / (2.5 * FP) / ppw; /* points per shortest wavelength */
  const size_t N = (size_t)(80.0 * ppw / 3.0 + 0.5), E = (size_t)(100.0 * ppw / 3.0 + 0.5);
  const double L = (double)(N - 1) * dx;
  const size_t nrec = 7, nshot = 4;
  psfwi_survey *s = psfwi_survey_create(nshot, nrec, NULL);
  assert_non_null(s);
  const double h = 5.0 * dx; /* 5 cells from the edges */
  /* shot 0: source near the top edge, receivers along it */
  s->sx[0] = 0.5 * L;
  s->sz[0] = h;
  /* shot 1: source near the left edge, receivers along it */
  s->sx[1] = h;
  s->sz[1] = 0.5 * L;
  /* shot 2: source in the top-left corner, receivers inside and along the
   * far edges (up to 1 % arrives here through the periodic wrap-around) */
  s->sx[2] = 0.1 * L;
  s->sz[2] = 0.1 * L;
  /* shot 3: source near the top-left, receivers along the top edge out to
   * 0.95 L (long-offset grazing incidence: a surface survey without a free
   * surface) */
  s->sx[3] = 0.05 * L;
  s->sz[3] = h;
  const double x3[7] = {0.2, 0.35, 0.5, 0.65, 0.8, 0.9, 0.95};
  const double in2[7][2] = {{0.1, 0.25},  {0.35, 0.5},  {0.1, 0.85}, {0.5, 0.1},
                            {0.85, 0.85}, {0.25, 0.25}, {0.05, 0.5}};
  for (size_t r = 0; r < nrec; r++) {
    const double a = (0.05 + 0.15 * (double)r) * L;
    s->rx[r] = a;
    s->rz[r] = h;
    s->rx[nrec + r] = h + 5.0 * dx;
    s->rz[nrec + r] = a;
    s->rx[2 * nrec + r] = in2[r][0] * L;
    s->rz[2 * nrec + r] = in2[r][1] * L;
    s->rx[3 * nrec + r] = x3[r] * L;
    s->rz[3 * nrec + r] = h;
  }
  const double dt_out = 0.004;
  const size_t nt = 351;
  float *a = run(N, dx, 0.0, free_surface, ab, nb, s, nt, dt_out);
  float *b = run(N + 2 * E, dx, -(double)E * dx, free_surface, ab, nb, s, nt, dt_out);
  worst[0] = worst[1] = worst[2] = 0.0;
  for (size_t k = 0; k < nshot * nrec; k++) {
    double md = 0.0, mb = 0.0;
    for (size_t it = 0; it < nt; it++) {
      md = fmax(md, fabs((double)a[k * nt + it] - (double)b[k * nt + it]));
      mb = fmax(mb, fabs((double)b[k * nt + it]));
    }
    if (mb == 0.0) continue; /* a receiver on the free surface */
    const size_t w = k / nrec == 2 ? 1 : k / nrec == 3 ? 2 : 0;
    worst[w] = fmax(worst[w], md / mb);
  }
  printf(
      "  %s, %zu cells, %.0f points per wavelength, free surface %d: worst reflected / direct peak ratio %.3f %% "
      "(edge geometries), %.3f %% (corner source), %.3f %% (long offsets along the top)\n",
      ab == PSFWI_WAVE_PML ? "PML" : "sponge", nb, ppw, free_surface, 100.0 * worst[0],
      100.0 * worst[1], 100.0 * worst[2]);
  free(a);
  free(b);
  psfwi_survey_destroy(s);
}

/* At 3 points per shortest wavelength (the coarsest the propagator allows
 * by default is 2); the model and its extension scale with ppw. */
static void measure(int free_surface, psfwi_wave_absorber ab, size_t nb, double *worst) {
  measure_ppw(free_surface, ab, nb, 3.0, worst);
}

static void test_edge_reflection(void **state) {
  (void)state;
  double worst[3];
  for (int fs = 0; fs <= 1; fs++) {
    measure(fs, PSFWI_WAVE_PML, 30, worst);
    for (int k = 0; k < 3; k++) assert_true(worst[k] <= 0.001); /* the issue: 1 % */
    /* waves meeting the edges head-on: at most about twice the layer's
     * design reflection exp(-10) = 0.0045 % (measured 0.002 %; 0.028-0.031 %
     * while the d' terms were dropped in the inner cells, docs/wave.md) */
    assert_true(worst[0] <= 1e-4);
  }
}

static void test_edge_reflection_20_cells(void **state) {
  (void)state;
  double worst[3];
  if (getenv("PSFWI_BOUNDARY_SCAN") != NULL) {
    /* finer sampling: the layer is thinner in wavelengths (slow: opt-in;
     * figures in docs/wave.md) */
    const double ppw[3] = {6.0, 6.0, 10.0};
    const size_t cells[3] = {20, 30, 20};
    for (int k = 0; k < 3; k++) {
      measure_ppw(0, PSFWI_WAVE_PML, cells[k], ppw[k], worst);
      for (int j = 0; j < 3; j++) assert_true(worst[j] <= 0.01);
    }
  }
  measure(0, PSFWI_WAVE_PML, 20, worst);
  for (int k = 0; k < 3; k++) assert_true(worst[k] <= 0.01);
}

static void test_edge_reflection_sponge(void **state) {
  (void)state;
  double worst[3];
  measure(0, PSFWI_WAVE_SPONGE, 30, worst);
  assert_true(worst[0] <= 0.01);
  assert_true(worst[1] <= 0.015);
  assert_true(worst[2] <= 0.03);
  measure(1, PSFWI_WAVE_SPONGE, 30, worst);
  assert_true(worst[0] <= 0.01);
  assert_true(worst[1] <= 0.03);
  assert_true(worst[2] <= 0.01);
}

/* The profile itself: zero inside the model, growing monotonically across
 * the layer, bounded so the damped update stays stable (d dt <= 1). */
static void test_damping_profile(void **state) {
  (void)state;
  psfwi_grid g = {.nx = 50, .nz = 40, .dx = 10.0, .dz = 10.0};
  psfwi_model *m = psfwi_model_create(&g, NULL);
  assert_non_null(m);
  for (size_t i = 0; i < 2000; i++) m->vp[i] = 2000.0f;
  psfwi_wave_opts o;
  psfwi_wave_opts_defaults(&o);
  o.fmax = 25.0;
  o.boundary_cells = 30;
  for (int fs = 0; fs < 4; fs++) {
    o.free_surface = fs % 2;
    o.absorber = fs < 2 ? PSFWI_WAVE_PML : PSFWI_WAVE_SPONGE;
    psfwi_wave *w = psfwi_wave_create(m, 0.002, &o, NULL);
    assert_non_null(w);
    const psfwi_wave_info *in = psfwi_wave_get_info(w);
    assert_int_equal(in->ox, 30);
    assert_int_equal(in->oz, o.free_surface ? 0 : 30);
    assert_true(in->npx >= 50 + 60);
    assert_true(in->npz >= (o.free_surface ? 40 + 30 : 40 + 60));
    for (size_t iz = 0; iz < in->nz; iz++)
      for (size_t ix = 0; ix < in->nx; ix++)
        assert_true(psfwi_wave_damping(w, ix + in->ox, iz + in->oz) == 0.0);
    double prev = 0.0;
    for (size_t k = 1; k <= 30; k++) { /* into the left layer */
      const double d = psfwi_wave_damping(w, in->ox - k, in->oz + 5);
      assert_true(d > prev);
      assert_true(d * in->dt <= 1.0);
      prev = d;
    }
    if (o.free_surface) /* no top layer */
      assert_true(psfwi_wave_damping(w, in->ox + 5, 0) == 0.0);
    psfwi_wave_destroy(w);
  }
  psfwi_model_destroy(m);
}

/* The PML's memory variables must not grow: 3e4 steps (cfl 0.5, a smooth
 * heterogeneous model 1500-4000 m/s, 20 absorbing cells, with and without a
 * free surface) from random noise. A PML damps time derivatives, so the
 * noise's zero-frequency part may stay; nothing may grow. The split-field
 * variants tried before grew about 10x per 1e4 steps (docs/wave.md). */
static void test_pml_long_run(void **state) {
  (void)state;
  psfwi_grid g = {.nx = 60, .nz = 60, .dx = 10.0, .dz = 10.0};
  psfwi_error e;
  psfwi_model *m = psfwi_model_create(&g, &e);
  assert_non_null(m);
  for (size_t iz = 0; iz < g.nz; iz++)
    for (size_t ix = 0; ix < g.nx; ix++) {
      const double a = sin(0.21 * (double)ix + 0.4) * cos(0.17 * (double)iz - 0.3);
      m->vp[iz * g.nx + ix] = (float)(2750.0 + 1250.0 * a);
    }
  for (int fs = 0; fs <= 1; fs++) {
    psfwi_wave_opts o;
    psfwi_wave_opts_defaults(&o);
    o.fmax = 25.0;
    o.cfl = 0.5;
    o.boundary_cells = 20;
    o.free_surface = fs;
    o.vmin_bound = 1500.0;
    o.vmax_bound = 4000.0;
    psfwi_wave *w = psfwi_wave_create(m, 0.002, &o, &e);
    if (w == NULL) fail_msg("%s", e.msg);
    const psfwi_wave_info *in = psfwi_wave_get_info(w);
    const size_t np = in->npx * in->npz, nstep = 30000, win = 3000;
    float *vel = psfwi_wave_field_alloc(w);
    assert_int_equal(psfwi_wave_vel_term(w, m, vel, &e), PSFWI_OK);
    psfwi_wave_state *st = psfwi_wave_state_create(w, &e);
    psfwi_wave_work *ws = psfwi_wave_work_create(w, &e);
    assert_true(st && ws);
    unsigned long long r = 12345;
    for (size_t iz = fs ? 1 : 0; iz < in->npz; iz++)
      for (size_t ix = 0; ix < in->npx; ix++) {
        r = r * 6364136223846793005ULL + 1442695040888963407ULL;
        st->cur[iz * in->npx + ix] = st->prev[iz * in->npx + ix] =
            (float)((double)(r >> 11) / 9007199254740992.0 - 0.5);
      }
    double wmax[10] = {0};
    const unsigned saved = psfwi_wave_ftz_enter(1);
    for (size_t n = 0; n < nstep; n++) {
      psfwi_wave_step(w, vel, st, NULL, NULL, ws);
      if (n % 50 == 0) {
        double mx = 0.0;
        for (size_t i = 0; i < np; i++) {
          const double v = fabs((double)st->cur[i]);
          mx = isfinite(v) ? fmax(mx, v) : INFINITY;
        }
        wmax[n / win] = fmax(wmax[n / win], mx);
      }
    }
    psfwi_wave_ftz_restore(saved);
    printf("  PML long run, free surface %d: max |p| per %zu steps:", fs, win);
    for (size_t k = 0; k < 10; k++) printf(" %.2e", wmax[k]);
    printf("\n");
    for (size_t k = 0; k < 10; k++) assert_true(isfinite(wmax[k]));
    /* no growth: the last window at most the second (after the transient) */
    assert_true(wmax[9] <= 1.5 * wmax[1]);
    assert_true(wmax[9] <= wmax[0]);
    psfwi_wave_field_free(vel);
    psfwi_wave_state_destroy(st);
    psfwi_wave_work_destroy(ws);
    psfwi_wave_destroy(w);
  }
  psfwi_model_destroy(m);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_damping_profile),
      cmocka_unit_test(test_edge_reflection),
      cmocka_unit_test(test_edge_reflection_20_cells),
      cmocka_unit_test(test_edge_reflection_sponge),
      cmocka_unit_test(test_pml_long_run),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
