/* wave: dot-product tests of every linear piece of the time step and of its
 * hand-written backward (src/wave/backward.c): <A x, y> = <x, A^T y> for
 * random x, y. Pieces: the spectral Laplacian (k-space and leapfrog, with and
 * without the free surface's sine transform), Hicks injection against
 * recording (off-grid points, stencils mirrored at the free surface), the
 * damping update alone (vel_term = 0), the whole step in (u[n-1], u[n],
 * source amplitude), the step's dependence on vel_term, the wavelet
 * resampling, and a whole shot from source samples to sub-sampled receiver
 * traces. A wrong transpose anywhere gives mismatches of order 1; float
 * round-off gives about 1e-7. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "psfwi_wave.h"
#include "testutil.h"

/* ---- helpers ------------------------------------------------------------------ */

static unsigned long long rng_state = 88172645463325252ULL;
static double urand(void) { return tu_urand(&rng_state); }
static void fill(float *a, size_t n) {
  for (size_t i = 0; i < n; i++) a[i] = (float)urand();
}
static double dot(const float *a, const float *b, size_t n) {
  double s = 0.0;
  for (size_t i = 0; i < n; i++) s += (double)a[i] * (double)b[i];
  return s;
}
/* Relative mismatch of two numbers that should be equal. */
static double relmis(double a, double b) {
  const double m = fmax(fabs(a), fabs(b));
  return m > 0.0 ? fabs(a - b) / m : 0.0;
}

typedef struct fixture {
  psfwi_model *m;
  psfwi_wave *w;
  const psfwi_wave_info *in;
  size_t np;
} fixture;

/* The Laplacian's spectral layout for the propagators made below: both are
 * checked, rows and columns (the automatic choice takes columns on these
 * small grids). */
static psfwi_wave_layout layout = PSFWI_WAVE_LAYOUT_AUTO;
static const char *layout_name(void) {
  return layout == PSFWI_WAVE_LAYOUT_ROWS      ? "rows"
         : layout == PSFWI_WAVE_LAYOUT_COLUMNS ? "columns"
                                               : "auto";
}

/* A 40 x 32 model with a velocity gradient and a bump, 8 absorbing cells. */
static fixture make_ab(psfwi_wave_absorber ab, psfwi_wave_scheme scheme, int free_surface,
                       double dt_out) {
  fixture f;
  psfwi_grid g = {.nx = 40, .nz = 32, .dx = 10.0, .dz = 12.0, .x0 = 0.0, .z0 = 0.0};
  psfwi_error e;
  f.m = psfwi_model_create(&g, &e);
  assert_non_null(f.m);
  for (size_t iz = 0; iz < g.nz; iz++)
    for (size_t ix = 0; ix < g.nx; ix++) {
      const double r2 = pow((double)ix - 20.0, 2) + pow((double)iz - 14.0, 2);
      f.m->vp[iz * g.nx + ix] = (float)(1600.0 + 20.0 * (double)iz + 300.0 * exp(-r2 / 20.0));
    }
  psfwi_wave_opts o;
  psfwi_wave_opts_defaults(&o);
  o.scheme = scheme;
  o.fmax = 25.0;
  o.boundary_cells = 8;
  o.absorber = ab;
  o.free_surface = free_surface;
  o.vmin_bound = 1500.0;
  o.vmax_bound = 2600.0;
  o.spectral_layout = layout;
  f.w = psfwi_wave_create(f.m, dt_out, &o, &e);
  if (f.w == NULL) fail_msg("%s", e.msg);
  f.in = psfwi_wave_get_info(f.w);
  f.np = f.in->npx * f.in->npz;
  return f;
}
static fixture make(psfwi_wave_scheme scheme, int free_surface, double dt_out) {
  return make_ab(PSFWI_WAVE_PML, scheme, free_surface, dt_out);
}
static void unmake(fixture *f) {
  psfwi_wave_destroy(f->w);
  psfwi_model_destroy(f->m);
}

/* ---- the Laplacian ------------------------------------------------------------------ */

static void laplacian_case(psfwi_wave_scheme scheme, int fs) {
  fixture f = make(scheme, fs, 0.004);
  psfwi_error e;
  psfwi_wave_work *ws = psfwi_wave_work_create(f.w, &e);
  assert_non_null(ws);
  float *a = psfwi_wave_field_alloc(f.w), *b = psfwi_wave_field_alloc(f.w);
  float *la = psfwi_wave_field_alloc(f.w), *lb = psfwi_wave_field_alloc(f.w);
  fill(a, f.np);
  fill(b, f.np);
  psfwi_wave_laplacian(f.w, a, la, ws);
  psfwi_wave_laplacian(f.w, b, lb, ws);
  const double x = dot(la, b, f.np), y = dot(a, lb, f.np);
  const double scale = sqrt(dot(la, la, f.np) * dot(b, b, f.np));
  printf(
      "laplacian scheme %d free surface %d spectra %s: <La,b> = %.9e <a,Lb> = %.9e "
      "mismatch %.2e (%.2e of |La| |b|)\n",
      (int)scheme, fs, layout_name(), x, y, relmis(x, y), fabs(x - y) / scale);
  /* random vectors: <La, b> is a sum with cancellation, so the mismatch is
   * measured against |La| |b|, where single-precision rounding is ~6e-8 (a
   * wrong transpose would be O(1)). Measured: 7e-10 (periodic), 2.4e-8 (free
   * surface: the sine transform's pre- and post-processing are not exact
   * transposes of each other in rounding). */
  assert_true(fabs(x - y) / scale < 1e-7);
  if (fs) { /* row 0 is ignored on input and zero on output */
    for (size_t i = 0; i < f.in->npx; i++) assert_true(la[i] == 0.0f);
  }
  psfwi_wave_field_free(a);
  psfwi_wave_field_free(b);
  psfwi_wave_field_free(la);
  psfwi_wave_field_free(lb);
  psfwi_wave_work_destroy(ws);
  unmake(&f);
}

static void test_laplacian_symmetric(void **state) {
  (void)state;
  for (int l = PSFWI_WAVE_LAYOUT_ROWS; l <= PSFWI_WAVE_LAYOUT_COLUMNS; l++) {
    layout = (psfwi_wave_layout)l;
    laplacian_case(PSFWI_WAVE_KSPACE, 0);
    laplacian_case(PSFWI_WAVE_KSPACE, 1);
    laplacian_case(PSFWI_WAVE_LEAPFROG, 0);
    laplacian_case(PSFWI_WAVE_LEAPFROG, 1);
  }
  layout = PSFWI_WAVE_LAYOUT_AUTO;
}

/* Rows and columns are the same operator to rounding, and the automatic
 * choice takes columns for a small half spectrum and rows above 1 MiB. */
static void layout_case(int fs) {
  float *out[2] = {NULL, NULL};
  float *a = NULL;
  size_t np = 0;
  for (int l = 0; l < 2; l++) {
    layout = l == 0 ? PSFWI_WAVE_LAYOUT_ROWS : PSFWI_WAVE_LAYOUT_COLUMNS;
    fixture f = make(PSFWI_WAVE_KSPACE, fs, 0.004);
    assert_int_equal(f.in->spectral_columns, l);
    psfwi_error e;
    psfwi_wave_work *ws = psfwi_wave_work_create(f.w, &e);
    assert_non_null(ws);
    np = f.np;
    if (a == NULL) {
      a = psfwi_wave_field_alloc(f.w);
      fill(a, np);
    }
    out[l] = psfwi_wave_field_alloc(f.w);
    psfwi_wave_laplacian(f.w, a, out[l], ws);
    psfwi_wave_work_destroy(ws);
    unmake(&f);
  }
  double d = 0.0, m = 0.0;
  for (size_t i = 0; i < np; i++) {
    d = fmax(d, fabs((double)out[0][i] - (double)out[1][i]));
    m = fmax(m, fabs((double)out[0][i]));
  }
  printf("laplacian free surface %d, rows against columns: max difference %.2e of max %.2e\n", fs,
         d, m);
  assert_true(m > 0.0 && d < 1e-5 * m);
  psfwi_wave_field_free(a);
  psfwi_wave_field_free(out[0]);
  psfwi_wave_field_free(out[1]);

  layout = PSFWI_WAVE_LAYOUT_AUTO;
  fixture f = make(PSFWI_WAVE_KSPACE, fs, 0.004);
  assert_int_equal(f.in->spectral_columns, 1);
  unmake(&f);
  /* a 600 x 520 model: a padded 640 x 560 grid or so, a half spectrum of
   * about 1.4 MB */
  psfwi_grid g = {.nx = 600, .nz = 520, .dx = 10.0, .dz = 10.0};
  psfwi_error e;
  psfwi_model *big = psfwi_model_create(&g, &e);
  assert_non_null(big);
  for (size_t i = 0; i < g.nx * g.nz; i++) big->vp[i] = 2000.0f;
  psfwi_wave_opts o;
  psfwi_wave_opts_defaults(&o);
  o.fmax = 25.0;
  o.free_surface = fs;
  psfwi_wave *w = psfwi_wave_create(big, 0.004, &o, &e);
  if (w == NULL) fail_msg("%s", e.msg);
  const psfwi_wave_info *in = psfwi_wave_get_info(w);
  assert_true((in->npx / 2 + 1) * in->npz * 8 > ((size_t)1 << 20));
  assert_int_equal(in->spectral_columns, 0);
  psfwi_wave_destroy(w);
  psfwi_model_destroy(big);
}

static void test_spectral_layouts(void **state) {
  (void)state;
  layout_case(0);
  layout_case(1);
}

/* The Laplacian's eigenfunctions: on the periodic grid cos(kx x) cos(kz z),
 * with the free surface cos(kx x) sin(kz z) (sine index m over npz rows),
 * come back multiplied by the scheme's symbol, the k-space
 * -(2 / (c dt))^2 sin^2(c |k| dt / 2) or the leapfrog -|k|^2. Checks the
 * transforms and the multiplier's layout mode by mode, up to Nyquist. */
static void eigen_case(psfwi_wave_scheme scheme, int fs) {
  fixture f = make(scheme, fs, 0.004);
  psfwi_error e;
  psfwi_wave_work *ws = psfwi_wave_work_create(f.w, &e);
  assert_non_null(ws);
  const size_t npx = f.in->npx, npz = f.in->npz;
  float *a = psfwi_wave_field_alloc(f.w), *la = psfwi_wave_field_alloc(f.w);
  const double PI = 3.14159265358979323846, c = f.in->c_ref, dt = f.in->dt;
  const size_t qs[4] = {0, 3, npx / 3, npx / 2};
  const size_t ms[4] = {1, 5, npz / 2, fs ? npz - 1 : npz / 2 - 1};
  const double kmx = PI / f.in->dx, kmz = PI / f.in->dz, km = sqrt(kmx * kmx + kmz * kmz);
  const double smx = sin(0.5 * c * km * dt);
  const double lmax = scheme == PSFWI_WAVE_KSPACE ? 4.0 * smx * smx / (c * c * dt * dt) : km * km;
  double worst = 0.0;
  for (int iq = 0; iq < 4; iq++)
    for (int im = 0; im < 4; im++) {
      const double kx = 2.0 * PI * (double)qs[iq] / ((double)npx * f.in->dx);
      const double kz = (fs ? PI : 2.0 * PI) * (double)ms[im] / ((double)npz * f.in->dz);
      for (size_t iz = 0; iz < npz; iz++)
        for (size_t ix = 0; ix < npx; ix++) {
          const double z = (double)iz * f.in->dz, x = (double)ix * f.in->dx;
          a[iz * npx + ix] = (float)(cos(kx * x) * (fs ? sin(kz * z) : cos(kz * z)));
        }
      psfwi_wave_laplacian(f.w, a, la, ws);
      const double k = sqrt(kx * kx + kz * kz), sn = sin(0.5 * c * k * dt);
      const double lam = scheme == PSFWI_WAVE_KSPACE ? -4.0 * sn * sn / (c * c * dt * dt) : -k * k;
      double err = 0.0;
      for (size_t i = 0; i < npx * npz; i++)
        err = fmax(err, fabs((double)la[i] - lam * (double)a[i]));
      worst = fmax(worst, err / lmax);
    }
  /* rounding a mode into floats leaks ~1e-7 of it into every wavenumber,
   * which comes back scaled by the largest symbol: errors are measured
   * against that */
  printf(
      "eigenmodes scheme %d free surface %d spectra %s: worst |L u - lambda u| / max "
      "|lambda| = %.2e\n",
      (int)scheme, fs, layout_name(), worst);
  assert_true(worst < 1e-5);
  psfwi_wave_field_free(a);
  psfwi_wave_field_free(la);
  psfwi_wave_work_destroy(ws);
  unmake(&f);
}

static void test_laplacian_eigenmodes(void **state) {
  (void)state;
  for (int l = PSFWI_WAVE_LAYOUT_ROWS; l <= PSFWI_WAVE_LAYOUT_COLUMNS; l++) {
    layout = (psfwi_wave_layout)l;
    eigen_case(PSFWI_WAVE_KSPACE, 0);
    eigen_case(PSFWI_WAVE_KSPACE, 1);
    eigen_case(PSFWI_WAVE_LEAPFROG, 1);
  }
  layout = PSFWI_WAVE_LAYOUT_AUTO;
}

/* ---- injection and recording ---------------------------------------------------------- */

static void points_case(int fs) {
  fixture f = make(PSFWI_WAVE_KSPACE, fs, 0.004);
  psfwi_error e;
  /* off-grid points, points near and on the surface, a node, the model edges */
  const double x[8] = {13.3, 200.0, 387.1, 55.5, 101.0, 0.0, 390.0, 250.7};
  const double z[8] = {0.0, 3.7, 11.0, 25.3, 120.0, 372.0, 200.0, 7.9};
  psfwi_wave_points *p = psfwi_wave_points_create(f.w, 8, x, z, "point", &e);
  if (p == NULL) fail_msg("%s", e.msg);
  float amp[8], rec[8];
  fill(amp, 8);
  float *fld = psfwi_wave_field_alloc(f.w), *inj = psfwi_wave_field_alloc(f.w);
  fill(fld, f.np);
  psfwi_wave_points_inject(p, amp, 1.0f, inj);
  psfwi_wave_points_record(p, fld, rec);
  const double a = dot(inj, fld, f.np), b = dot(amp, rec, 8);
  printf("inject/record free surface %d: %.9e vs %.9e mismatch %.2e\n", fs, a, b, relmis(a, b));
  assert_true(relmis(a, b) < 1e-6);
  if (fs) {
    /* the surface row stays zero; the mirrored stencil of the point 3.7 m deep
     * records (nearly) nothing from a field odd about the surface */
    for (size_t i = 0; i < f.in->npx; i++) assert_true(inj[i] == 0.0f);
  }
  psfwi_wave_field_free(fld);
  psfwi_wave_field_free(inj);
  psfwi_wave_points_destroy(p);
  unmake(&f);
}

static void test_inject_record_transpose(void **state) {
  (void)state;
  points_case(0);
  points_case(1);
}

/* ---- the step ------------------------------------------------------------------------ */

/* A state filled with random numbers (parts off: zero). */
static void fill_state(const psfwi_wave *w, psfwi_wave_state *st, int fields, int mem) {
  const size_t np = psfwi_wave_get_info(w)->npx * psfwi_wave_get_info(w)->npz;
  const size_t nm = psfwi_wave_mem_floats(w);
  psfwi_wave_state_zero(w, st);
  if (fields) {
    fill(st->prev, np);
    fill(st->cur, np);
  }
  if (mem && nm > 0) fill(st->mem, nm);
}
static double dot_state(const psfwi_wave *w, const psfwi_wave_state *a, const psfwi_wave_state *b) {
  const size_t np = psfwi_wave_get_info(w)->npx * psfwi_wave_get_info(w)->npz;
  const size_t nm = psfwi_wave_mem_floats(w);
  return dot(a->prev, b->prev, np) + dot(a->cur, b->cur, np) +
         (nm > 0 ? dot(a->mem, b->mem, nm) : 0.0);
}

/* <F x, y> vs <x, F^T y> for x = (u[n-1], u[n], memory, a), y = (y_prev,
 * y_cur, y_memory). parts: 0 everything random; 1 only x's memory; 2 only
 * y's memory (so that a wrong transpose of a small term cannot hide under a
 * large one). */
static void step_case(psfwi_wave_absorber ab, psfwi_wave_scheme scheme, int fs, int zero_vel,
                      int parts) {
  fixture f = make_ab(ab, scheme, fs, 0.004);
  psfwi_error e;
  psfwi_wave_work *ws = psfwi_wave_work_create(f.w, &e);
  psfwi_wave_bwork *bw = psfwi_wave_bwork_create(f.w, &e);
  assert_non_null(ws);
  assert_non_null(bw);
  float *vel = psfwi_wave_field_alloc(f.w);
  assert_int_equal(psfwi_wave_vel_term(f.w, f.m, vel, &e), PSFWI_OK);
  if (zero_vel) memset(vel, 0, f.np * sizeof(float));
  const double sx = 123.4, sz = fs ? 6.1 : 150.2;
  psfwi_wave_points *src = psfwi_wave_points_create(f.w, 1, &sx, &sz, "source", &e);
  assert_non_null(src);
  psfwi_wave_state *x = psfwi_wave_state_create(f.w, &e), *y = psfwi_wave_state_create(f.w, &e);
  psfwi_wave_state *s = psfwi_wave_state_create(f.w, &e), *a = psfwi_wave_state_create(f.w, &e);
  assert_true(x && y && s && a);
  fill_state(f.w, x, parts != 1, 1);
  fill_state(f.w, y, parts != 2, 1);
  float amp = parts == 1 ? 0.0f : (float)urand() * 1e4f, ambar = 0.0f;
  const size_t nsf = psfwi_wave_state_floats(f.w);
  float *buf = malloc(nsf * sizeof(float));
  psfwi_wave_state_save(f.w, x, buf);
  psfwi_wave_state_load(f.w, s, buf);
  psfwi_wave_step(f.w, vel, s, src, &amp, ws);
  const double lhs = dot_state(f.w, s, y);
  psfwi_wave_state_save(f.w, y, buf);
  psfwi_wave_state_load(f.w, a, buf);
  psfwi_wave_step_backward(f.w, vel, a, NULL, NULL, src, &ambar, bw);
  const double rhs = dot_state(f.w, x, a) + (double)amp * (double)ambar;
  printf(
      "step %s scheme %d free surface %d zero vel %d parts %d spectra %s: %.9e vs %.9e "
      "mismatch %.2e\n",
      ab == PSFWI_WAVE_PML ? "PML" : "sponge", (int)scheme, fs, zero_vel, parts, layout_name(), lhs,
      rhs, relmis(lhs, rhs));
  assert_true(relmis(lhs, rhs) < 2e-6);
  assert_true(fabs(lhs) > 0.0);
  if (!zero_vel && parts == 0) assert_true(ambar != 0.0f);
  free(buf);
  psfwi_wave_state_destroy(x);
  psfwi_wave_state_destroy(y);
  psfwi_wave_state_destroy(s);
  psfwi_wave_state_destroy(a);
  psfwi_wave_field_free(vel);
  psfwi_wave_points_destroy(src);
  psfwi_wave_bwork_destroy(bw);
  psfwi_wave_work_destroy(ws);
  unmake(&f);
}

static void test_damping_update(void **state) {
  (void)state;
  for (int ab = 0; ab <= 1; ab++) {
    step_case((psfwi_wave_absorber)ab, PSFWI_WAVE_KSPACE, 0, 1, 0);
    step_case((psfwi_wave_absorber)ab, PSFWI_WAVE_KSPACE, 1, 1, 0);
  }
}

static void test_step_transpose(void **state) {
  (void)state;
  for (int l = PSFWI_WAVE_LAYOUT_ROWS; l <= PSFWI_WAVE_LAYOUT_COLUMNS; l++) {
    layout = (psfwi_wave_layout)l;
    for (int ab = 0; ab <= 1; ab++)
      for (int fs = 0; fs <= 1; fs++) {
        step_case((psfwi_wave_absorber)ab, PSFWI_WAVE_KSPACE, fs, 0, 0);
        step_case((psfwi_wave_absorber)ab, PSFWI_WAVE_LEAPFROG, fs, 0, 0);
      }
    /* the PML's memory alone, in and out */
    for (int fs = 0; fs <= 1; fs++)
      for (int parts = 1; parts <= 2; parts++)
        step_case(PSFWI_WAVE_PML, PSFWI_WAVE_KSPACE, fs, 0, parts);
  }
  layout = PSFWI_WAVE_LAYOUT_AUTO;
}

/* The step is linear in vel_term for a fixed state: the change of u[n+1]
 * for a change dvel of vel_term is dvel lap_n / (1 + e); its transpose is
 * the g_vel output of the backward. */
static void velocity_case(psfwi_wave_absorber ab, int fs) {
  fixture f = make_ab(ab, PSFWI_WAVE_KSPACE, fs, 0.004);
  psfwi_error e;
  const size_t np = f.np;
  psfwi_wave_work *ws = psfwi_wave_work_create(f.w, &e);
  psfwi_wave_bwork *bw = psfwi_wave_bwork_create(f.w, &e);
  float *dv = psfwi_wave_field_alloc(f.w), *zero = psfwi_wave_field_alloc(f.w);
  float *y1 = psfwi_wave_field_alloc(f.w), *lap = psfwi_wave_field_alloc(f.w);
  float *g = psfwi_wave_field_alloc(f.w), *n0 = psfwi_wave_field_alloc(f.w);
  psfwi_wave_state *x = psfwi_wave_state_create(f.w, &e), *s = psfwi_wave_state_create(f.w, &e);
  psfwi_wave_state *adj = psfwi_wave_state_create(f.w, &e);
  const size_t nsf = psfwi_wave_state_floats(f.w);
  float *buf = malloc(nsf * sizeof(float));
  const double sx = 200.0, sz = 100.0;
  psfwi_wave_points *src = psfwi_wave_points_create(f.w, 1, &sx, &sz, "source", &e);
  fill_state(f.w, x, 1, 1);
  fill(y1, np);
  for (size_t i = 0; i < np; i++) dv[i] = (float)urand();
  /* Choose u[n-1] so that the vel_term-free part of the step cancels (up
   * to round-off), so that F(dv) - F(0) is computed accurately. Sponge:
   * u[n-1] = (2 - e^2) / (1 - e) u[n]. PML: u = 0 in the layer (where the
   * coefficients are not public) and u[n-1] = 2 u[n] inside; the memory
   * stays random. */
  const double dt = f.in->dt;
  for (size_t iz = 0; iz < f.in->npz; iz++)
    for (size_t ix = 0; ix < f.in->npx; ix++) {
      const size_t i = iz * f.in->npx + ix;
      const double ed = psfwi_wave_damping(f.w, ix, iz) * dt;
      if (ab == PSFWI_WAVE_SPONGE) {
        x->prev[i] = (float)((2.0 - ed * ed) / (1.0 - ed) * (double)x->cur[i]);
      } else if (ed > 0.0) {
        x->prev[i] = x->cur[i] = 0.0f;
      } else {
        x->prev[i] = 2.0f * x->cur[i];
      }
    }
  float amp = 3.0f;
  /* F(dv) - F(0): only the vel_term part survives */
  psfwi_wave_state_save(f.w, x, buf);
  psfwi_wave_state_load(f.w, s, buf);
  psfwi_wave_step(f.w, dv, s, src, &amp, ws);
  memcpy(lap, psfwi_wave_work_lap(ws), np * sizeof(float));
  memcpy(n0, s->cur, np * sizeof(float));
  psfwi_wave_state_load(f.w, s, buf);
  psfwi_wave_step(f.w, zero, s, src, &amp, ws);
  double lhs = 0.0;
  for (size_t i = 0; i < np; i++) lhs += ((double)n0[i] - (double)s->cur[i]) * (double)y1[i];
  psfwi_wave_state_zero(f.w, adj);
  memcpy(adj->cur, y1, np * sizeof(float));
  psfwi_wave_step_backward(f.w, dv, adj, lap, g, NULL, NULL, bw);
  const double rhs = dot(dv, g, np);
  printf("vel_term linearisation %s free surface %d: %.9e vs %.9e mismatch %.2e\n",
         ab == PSFWI_WAVE_PML ? "PML" : "sponge", fs, lhs, rhs, relmis(lhs, rhs));
  assert_true(relmis(lhs, rhs) < 1e-5);
  psfwi_wave_points_destroy(src);
  float *fl[] = {dv, zero, y1, lap, g, n0};
  for (size_t i = 0; i < sizeof fl / sizeof *fl; i++) psfwi_wave_field_free(fl[i]);
  free(buf);
  psfwi_wave_state_destroy(x);
  psfwi_wave_state_destroy(s);
  psfwi_wave_state_destroy(adj);
  psfwi_wave_bwork_destroy(bw);
  psfwi_wave_work_destroy(ws);
  unmake(&f);
}

static void test_step_velocity(void **state) {
  (void)state;
  for (int ab = 0; ab <= 1; ab++)
    for (int fs = 0; fs <= 1; fs++) velocity_case((psfwi_wave_absorber)ab, fs);
}

/* ---- the velocity term's adjoint ------------------------------------------------------------
 * vel_term = P (dt^2 v^2): its derivative along dv, taken from the forward
 * itself by a central difference (exact for a quadratic up to rounding),
 * against the adjoint 2 dt^2 v P^T y. */
static void vel_term_case(int fs) {
  fixture f = make(PSFWI_WAVE_KSPACE, fs, 0.004);
  psfwi_error e;
  const size_t nxz = f.in->nx * f.in->nz;
  psfwi_model *mp = psfwi_model_copy(f.m, &e), *mm = psfwi_model_copy(f.m, &e);
  float *tp = psfwi_wave_field_alloc(f.w), *tm = psfwi_wave_field_alloc(f.w);
  float *y = psfwi_wave_field_alloc(f.w), *dv = malloc(nxz * sizeof(float));
  double *acc = calloc(nxz, sizeof(double)), *g = malloc(nxz * sizeof(double));
  fill(dv, nxz);
  fill(y, f.np);
  const double h = 20.0; /* m/s: the model stays inside its bounds */
  for (size_t i = 0; i < nxz; i++) {
    mp->vp[i] = f.m->vp[i] + (float)h * dv[i];
    mm->vp[i] = f.m->vp[i] - (float)h * dv[i];
  }
  assert_int_equal(psfwi_wave_vel_term(f.w, mp, tp, &e), PSFWI_OK);
  assert_int_equal(psfwi_wave_vel_term(f.w, mm, tm, &e), PSFWI_OK);
  double lhs = 0.0, rhs = 0.0;
  for (size_t i = 0; i < f.np; i++) lhs += ((double)tp[i] - (double)tm[i]) / (2.0 * h) * y[i];
  /* dv as realised in float: (mp - mm) / 2h */
  psfwi_wave_pad_adjoint(f.w, y, acc);
  psfwi_wave_vel_term_chain(f.w, f.m, acc, g);
  for (size_t i = 0; i < nxz; i++)
    rhs += g[i] * ((double)mp->vp[i] - (double)mm->vp[i]) / (2.0 * h);
  printf("vel_term adjoint, free surface %d: %.9e vs %.9e mismatch %.2e\n", fs, lhs, rhs,
         relmis(lhs, rhs));
  /* float rounding of dt^2 v^2 over a 1 % change: ~1e-5; a wrong padding
   * transpose or factor is O(1) */
  assert_true(relmis(lhs, rhs) < 1e-4);
  psfwi_model_destroy(mp);
  psfwi_model_destroy(mm);
  psfwi_wave_field_free(tp);
  psfwi_wave_field_free(tm);
  psfwi_wave_field_free(y);
  free(dv);
  free(acc);
  free(g);
  unmake(&f);
}

static void test_vel_term_transpose(void **state) {
  (void)state;
  vel_term_case(0);
  vel_term_case(1);
}

/* ---- wavelet resampling ------------------------------------------------------------------- */

static void resample_case(psfwi_wave_scheme scheme, double dt_out, int expect_nsub1) {
  fixture f = make(scheme, 0, dt_out);
  psfwi_error e;
  const size_t nt = 150, nsub = f.in->nsub, nf = nt * nsub;
  if (expect_nsub1)
    assert_int_equal(nsub, 1);
  else
    assert_true(nsub > 1);
  float *x = malloc(nt * sizeof(float)), *xa = malloc(nt * sizeof(float));
  float *y = malloc(nf * sizeof(float)), *rx = malloc(nf * sizeof(float));
  fill(x, nt);
  fill(y, nf);
  assert_int_equal(psfwi_wave_resample(f.w, x, nt, rx, &e), PSFWI_OK);
  assert_int_equal(psfwi_wave_resample_adjoint(f.w, y, nt, xa, &e), PSFWI_OK);
  const double a = dot(rx, y, nf), b = dot(x, xa, nt);
  printf("resample scheme %d nsub %zu: %.9e vs %.9e mismatch %.2e\n", (int)scheme, nsub, a, b,
         relmis(a, b));
  assert_true(relmis(a, b) < 2e-6);
  /* errors: NULL input, non-finite sample */
  assert_int_equal(psfwi_wave_resample_adjoint(f.w, NULL, nt, xa, &e), PSFWI_EINVAL);
  assert_int_equal(psfwi_wave_resample_adjoint(f.w, y, 0, xa, &e), PSFWI_EINVAL);
  y[7] = NAN;
  assert_int_equal(psfwi_wave_resample_adjoint(f.w, y, nt, xa, &e), PSFWI_ENONFINITE);
  assert_non_null(strstr(e.msg, "sample 7"));
  free(x);
  free(xa);
  free(y);
  free(rx);
  unmake(&f);
}

static void test_resample_transpose(void **state) {
  (void)state;
  resample_case(PSFWI_WAVE_KSPACE, 0.004, 0);
  resample_case(PSFWI_WAVE_KSPACE, 0.001, 1);
  resample_case(PSFWI_WAVE_LEAPFROG, 0.004, 0);
  resample_case(PSFWI_WAVE_LEAPFROG, 0.0007, 1);
}

/* ---- a whole shot: source samples -> sub-sampled receiver traces ---------------------------- */

static void shot_case(psfwi_wave_absorber ab, int fs) {
  fixture f = make_ab(ab, PSFWI_WAVE_KSPACE, fs, 0.004);
  psfwi_error e;
  const size_t nt = 60, nsub = f.in->nsub, nstep = psfwi_wave_nstep(f.w, nt);
  const size_t nrec = 5;
  psfwi_wave_work *ws = psfwi_wave_work_create(f.w, &e);
  psfwi_wave_bwork *bw = psfwi_wave_bwork_create(f.w, &e);
  float *vel = psfwi_wave_field_alloc(f.w);
  assert_int_equal(psfwi_wave_vel_term(f.w, f.m, vel, &e), PSFWI_OK);
  const double sx = 100.3, sz = 14.0;
  double rx[5], rz[5];
  for (size_t r = 0; r < nrec; r++) {
    rx[r] = 30.0 + 80.0 * (double)r + 0.37;
    rz[r] = 5.0 + 20.0 * (double)r;
  }
  psfwi_wave_points *src = psfwi_wave_points_create(f.w, 1, &sx, &sz, "source", &e);
  psfwi_wave_points *rec = psfwi_wave_points_create(f.w, nrec, rx, rz, "receiver", &e);
  float *a = malloc(nt * nsub * sizeof(float)), *abar = calloc(nt * nsub, sizeof(float));
  float *tr = malloc(nrec * nt * sizeof(float)), *y = malloc(nrec * nt * sizeof(float));
  float *tr2 = malloc(nrec * nt * sizeof(float)), buf[5];
  for (size_t n = 0; n < nt * nsub; n++) a[n] = (float)(1e3 * urand());
  fill(y, nrec * nt);
  psfwi_wave_state *stp = psfwi_wave_state_create(f.w, &e);
  assert_non_null(stp);
  psfwi_wave_state st = *stp;
  for (size_t r = 0; r < nrec; r++) tr[r * nt] = 0.0f;
  for (size_t n = 0; n < nstep; n++) {
    psfwi_wave_step(f.w, vel, &st, src, a + n, ws);
    if ((n + 1) % nsub == 0) {
      psfwi_wave_points_record(rec, st.cur, buf);
      for (size_t r = 0; r < nrec; r++) tr[r * nt + (n + 1) / nsub] = buf[r];
    }
  }
  /* the same loop as psfwi_wave_shot: identical traces */
  psfwi_wave_state *st2 = psfwi_wave_state_create(f.w, &e);
  assert_int_equal(
      psfwi_wave_shot(f.w, vel, a, nt, sx, sz, nrec, rx, rz, tr2, ws, st2, NULL, NULL, &e),
      PSFWI_OK);
  psfwi_wave_state_destroy(st2);
  assert_memory_equal(tr, tr2, nrec * nt * sizeof(float));
  /* backward */
  psfwi_wave_state adj = st;
  psfwi_wave_state_zero(f.w, &adj);
  for (size_t r = 0; r < nrec; r++) buf[r] = y[r * nt + nt - 1];
  psfwi_wave_points_inject(rec, buf, 1.0f, adj.cur);
  for (size_t n = nstep; n-- > 0;) {
    psfwi_wave_step_backward(f.w, vel, &adj, NULL, NULL, src, abar + n, bw);
    if (n % nsub == 0 && n > 0) {
      for (size_t r = 0; r < nrec; r++) buf[r] = y[r * nt + n / nsub];
      psfwi_wave_points_inject(rec, buf, 1.0f, adj.cur);
    }
  }
  const double lhs = dot(tr, y, nrec * nt), rhs = dot(a, abar, nt * nsub);
  /* y is random, so <F a, y> is a sum with cancellation: the mismatch is
   * measured against |F a| |y| too (as for the Laplacian above), and lhs
   * must not be a vanishing part of that scale */
  const double scale = sqrt(dot(tr, tr, nrec * nt) * dot(y, y, nrec * nt));
  printf(
      "whole shot %s free surface %d (%zu steps, nsub %zu): %.9e vs %.9e mismatch %.2e "
      "(%.2e of |F a| |y|; |lhs| = %.2e of it)\n",
      ab == PSFWI_WAVE_PML ? "PML" : "sponge", fs, nstep, nsub, lhs, rhs, relmis(lhs, rhs),
      fabs(lhs - rhs) / scale, fabs(lhs) / scale);
  assert_true(fabs(lhs - rhs) / scale < 1e-6);
  assert_true(fabs(lhs) > 1e-3 * scale);
  /* (st and adj share stp's buffers, swapped an even or odd number of times) */
  stp->prev = adj.prev;
  stp->cur = adj.cur;
  psfwi_wave_state_destroy(stp);
  free(a);
  free(abar);
  free(tr);
  free(tr2);
  free(y);
  psfwi_wave_points_destroy(src);
  psfwi_wave_points_destroy(rec);
  psfwi_wave_field_free(vel);
  psfwi_wave_bwork_destroy(bw);
  psfwi_wave_work_destroy(ws);
  unmake(&f);
}

static void test_shot_transpose(void **state) {
  (void)state;
  for (int ab = 0; ab <= 1; ab++)
    for (int fs = 0; fs <= 1; fs++) shot_case((psfwi_wave_absorber)ab, fs);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_laplacian_symmetric), cmocka_unit_test(test_laplacian_eigenmodes),
      cmocka_unit_test(test_spectral_layouts),    cmocka_unit_test(test_inject_record_transpose),
      cmocka_unit_test(test_damping_update),      cmocka_unit_test(test_step_transpose),
      cmocka_unit_test(test_step_velocity),       cmocka_unit_test(test_vel_term_transpose),
      cmocka_unit_test(test_resample_transpose),  cmocka_unit_test(test_shot_transpose),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
