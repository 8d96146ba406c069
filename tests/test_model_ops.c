/* model operations: Gaussian smoothing against analytic Gaussian / erf
 * profiles, replicated edges, slowness averaging, masks; resampling against
 * an analytic smooth function and a Nyquist checkerboard (anti-aliasing);
 * crop, clip, water mask; every error path. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "psfwi_model.h"
#include "testutil.h"

#ifndef M_PI
#define M_PI 3.14159265358979323846
#endif

static psfwi_model *new_model(size_t nx, size_t nz, double dx, double dz) {
  psfwi_grid g = {.nx = nx, .nz = nz, .dx = dx, .dz = dz};
  psfwi_model *m = psfwi_model_create(&g, NULL);
  assert_non_null(m);
  return m;
}

static void fill(psfwi_model *m, float v) {
  for (size_t i = 0; i < m->grid.nx * m->grid.nz; i++) m->vp[i] = v;
}

#define V(m, ix, iz) ((double)(m)->vp[(size_t)(iz) * (m)->grid.nx + (size_t)(ix)])

/* Standard normal cumulative distribution. */
static double Phi(double t) { return 0.5 * erfc(-t / sqrt(2.0)); }

/* ---- Smoothing ------------------------------------------------------------- */

/* A single-cell impulse of "mass" A dx dz becomes the 2D Gaussian
 * A dx dz / (2 pi sigma^2) exp(-r^2 / (2 sigma^2)), with r in metres: with
 * dx != dz this also checks that sigma is converted per axis. */
static void test_smooth_impulse_is_gaussian(void **state) {
  (void)state;
  const double dx = 10.0, dz = 5.0, sigma = 40.0, A = 1e5, v0 = 2000.0;
  psfwi_model *m = new_model(81, 121, dx, dz);
  fill(m, (float)v0);
  m->vp[60 * 81 + 40] = (float)(v0 + A);
  assert_int_equal(psfwi_model_smooth(m, sigma, 0, NULL, NULL), PSFWI_OK);
  const double peak = A * dx * dz / (2.0 * M_PI * sigma * sigma);
  double maxerr = 0.0;
  for (size_t iz = 0; iz < 121; iz++)
    for (size_t ix = 0; ix < 81; ix++) {
      const double x = ((double)ix - 40.0) * dx, z = ((double)iz - 60.0) * dz;
      const double expect = v0 + peak * exp(-(x * x + z * z) / (2.0 * sigma * sigma));
      maxerr = fmax(maxerr, fabs(V(m, ix, iz) - expect));
    }
  assert_true(peak > 400.0);
  assert_true(maxerr < 1e-3 * peak); /* truncation at 4 sigma costs ~6e-5 */
  psfwi_model_destroy(m);
}

/* A step in x becomes v1 + (v2 - v1) Phi((x - xs) / sigma), xs halfway
 * between the last v1 and the first v2 sample. */
static void test_smooth_step_is_erf(void **state) {
  (void)state;
  const double dx = 10.0, sigma = 50.0, v1 = 2000.0, v2 = 3000.0;
  psfwi_model *m = new_model(100, 20, dx, 7.0);
  for (size_t iz = 0; iz < 20; iz++)
    for (size_t ix = 0; ix < 100; ix++) m->vp[iz * 100 + ix] = (float)(ix < 50 ? v1 : v2);
  assert_int_equal(psfwi_model_smooth(m, sigma, 0, NULL, NULL), PSFWI_OK);
  double maxerr = 0.0;
  for (size_t iz = 0; iz < 20; iz++)
    for (size_t ix = 0; ix < 100; ix++) {
      const double x = (double)ix * dx, xs = 49.5 * dx;
      maxerr = fmax(maxerr, fabs(V(m, ix, iz) - (v1 + (v2 - v1) * Phi((x - xs) / sigma))));
    }
  /* The sampled kernel sums like a midpoint rule: error ~ h^2 g'/24 ~ 4e-4
   * of the jump here. */
  assert_true(maxerr < 1.0);
  assert_true(fabs(V(m, 49, 10) - (v1 + (v2 - v1) * Phi(-0.5 * dx / sigma))) < 1.0);
  psfwi_model_destroy(m);
}

/* A linear gradient is preserved wherever the kernel does not reach an edge;
 * at an edge, replication biases it by slope * sum_{k>0} k w_k dx, i.e.
 * about slope * sigma / sqrt(2 pi). */
static void test_smooth_linear_gradient_and_edges(void **state) {
  (void)state;
  const size_t nx = 60, nz = 50;
  const double h = 10.0, sigma = 30.0, gx = 0.5, gz = 0.8;
  psfwi_model *m = new_model(nx, nz, h, h);
  for (size_t iz = 0; iz < nz; iz++)
    for (size_t ix = 0; ix < nx; ix++)
      m->vp[iz * nx + ix] = (float)(2000.0 + gx * (double)ix * h + gz * (double)iz * h);
  psfwi_model *orig = psfwi_model_copy(m, NULL);
  assert_int_equal(psfwi_model_smooth(m, sigma, 0, NULL, NULL), PSFWI_OK);
  const size_t r = 12; /* 4 sigma / h */
  double maxerr = 0.0;
  for (size_t iz = r; iz < nz - r; iz++)
    for (size_t ix = r; ix < nx - r; ix++)
      maxerr = fmax(maxerr, fabs(V(m, ix, iz) - V(orig, ix, iz)));
  assert_true(maxerr < 0.01);
  const double bias_x = gx * sigma / sqrt(2.0 * M_PI), bias_z = gz * sigma / sqrt(2.0 * M_PI);
  /* Left edge (away from the z edges): raised by bias_x, right edge lowered. */
  assert_true(fabs(V(m, 0, 25) - V(orig, 0, 25) - bias_x) < 0.03 * bias_x);
  assert_true(fabs(V(m, nx - 1, 25) - V(orig, nx - 1, 25) + bias_x) < 0.03 * bias_x);
  assert_true(fabs(V(m, 30, 0) - V(orig, 30, 0) - bias_z) < 0.03 * bias_z);
  /* Nothing leaves the input range (positive weights summing to 1). */
  float lo, hi;
  psfwi_model_range(m, &lo, &hi);
  assert_true(lo >= orig->vp[0] - 0.01f && hi <= orig->vp[nx * nz - 1] + 0.01f);
  psfwi_model_destroy(orig);
  psfwi_model_destroy(m);
}

/* Columns alternating between v1 and v2: far from the edges the smoothed
 * field is the mean of what is smoothed: (v1 + v2) / 2 in velocity, the
 * harmonic mean 2 / (1/v1 + 1/v2) in slowness. */
static void test_smooth_slowness_is_harmonic(void **state) {
  (void)state;
  const double v1 = 2000.0, v2 = 4000.0;
  psfwi_model *a = new_model(64, 16, 10.0, 10.0);
  for (size_t iz = 0; iz < 16; iz++)
    for (size_t ix = 0; ix < 64; ix++) a->vp[iz * 64 + ix] = (float)(ix % 2 ? v2 : v1);
  psfwi_model *b = psfwi_model_copy(a, NULL);
  assert_int_equal(psfwi_model_smooth(a, 40.0, 0, NULL, NULL), PSFWI_OK);
  assert_int_equal(psfwi_model_smooth(b, 40.0, 1, NULL, NULL), PSFWI_OK);
  const double harmonic = 2.0 / (1.0 / v1 + 1.0 / v2);
  for (size_t iz = 0; iz < 16; iz++)
    for (size_t ix = 16; ix < 48; ix++) {
      assert_true(fabs(V(a, ix, iz) - 0.5 * (v1 + v2)) < 0.05);
      assert_true(fabs(V(b, ix, iz) - harmonic) < 0.05);
    }
  psfwi_model_destroy(a);
  psfwi_model_destroy(b);
}

/* A masked water layer keeps its values and does not leak into the rock:
 * a constant rock velocity stays constant right up to the sea floor. */
static void test_smooth_mask_keeps_water(void **state) {
  (void)state;
  const size_t nx = 40, nz = 40, nw = 8;
  psfwi_model *m = new_model(nx, nz, 10.0, 10.0);
  for (size_t iz = 0; iz < nz; iz++)
    for (size_t ix = 0; ix < nx; ix++) m->vp[iz * nx + ix] = iz < nw ? 1500.0f : 3000.0f;
  unsigned char *mask = malloc(nx * nz);
  assert_non_null(mask);
  size_t count = 0;
  assert_int_equal(psfwi_model_water_mask(m, 1500.0, 1.0, mask, &count, NULL), PSFWI_OK);
  assert_int_equal(count, nx * nw);
  psfwi_model *plain = psfwi_model_copy(m, NULL);
  for (int slowness = 0; slowness < 2; slowness++) {
    psfwi_model *c = psfwi_model_copy(m, NULL);
    assert_int_equal(psfwi_model_smooth(c, 50.0, slowness, mask, NULL), PSFWI_OK);
    for (size_t i = 0; i < nx * nz; i++) {
      if (i < nx * nw)
        assert_true(c->vp[i] == 1500.0f);
      else
        assert_true(fabs((double)c->vp[i] - 3000.0) < 0.01);
    }
    psfwi_model_destroy(c);
  }
  /* Without the mask the water is smoothed into the rock (and vice versa). */
  assert_int_equal(psfwi_model_smooth(plain, 50.0, 0, NULL, NULL), PSFWI_OK);
  assert_true(V(plain, 20, nw) < 2700.0);
  assert_true(V(plain, 20, nw - 1) > 1800.0);
  free(mask);
  psfwi_model_destroy(plain);
  psfwi_model_destroy(m);
}

/* sigma = 0 is the identity. With a kernel much longer than the model, the
 * weight that falls off the model lands on the replicated edge values and
 * dominates: every value tends to the mean of the four corners. */
static void test_smooth_zero_and_huge_sigma(void **state) {
  (void)state;
  psfwi_model *m = new_model(7, 5, 10.0, 10.0);
  for (size_t i = 0; i < 35; i++) m->vp[i] = (float)(2000 + 37 * (i % 11));
  psfwi_model *c = psfwi_model_copy(m, NULL);
  assert_int_equal(psfwi_model_smooth(c, 0.0, 1, NULL, NULL), PSFWI_OK);
  assert_memory_equal(c->vp, m->vp, 35 * sizeof(float));
  /* sigma = 1e5 m = 1e4 cells: 13 explicit weights of ~1/(8e4) each along
   * x, the rest (~0.5 a side) on the edge values. */
  assert_int_equal(psfwi_model_smooth(c, 1e5, 0, NULL, NULL), PSFWI_OK);
  const double corners =
      0.25 * ((double)m->vp[0] + (double)m->vp[6] + (double)m->vp[28] + (double)m->vp[34]);
  for (size_t i = 0; i < 35; i++) assert_true(fabs((double)c->vp[i] - corners) < 0.2);
  psfwi_model_destroy(c);
  psfwi_model_destroy(m);
}

static void test_smooth_errors(void **state) {
  (void)state;
  psfwi_error e;
  psfwi_model *m = new_model(10, 10, 10.0, 10.0);
  fill(m, 2000.0f);
  assert_int_equal(psfwi_model_smooth(NULL, 10.0, 0, NULL, &e), PSFWI_EINVAL);
  assert_non_null(strstr(e.msg, "NULL"));
  assert_int_equal(psfwi_model_smooth(m, -1.0, 0, NULL, &e), PSFWI_ERANGE);
  assert_non_null(strstr(e.msg, "sigma = -1"));
  assert_int_equal(psfwi_model_smooth(m, NAN, 0, NULL, &e), PSFWI_ERANGE);
  assert_int_equal(psfwi_model_smooth(m, INFINITY, 0, NULL, &e), PSFWI_ERANGE);
  assert_int_equal(psfwi_model_smooth(m, 1e8, 0, NULL, &e), PSFWI_ERANGE);
  assert_non_null(strstr(e.msg, "grid spacings"));
  m->vp[23] = 0.0f; /* 1/v undefined, and not a velocity */
  assert_int_equal(psfwi_model_smooth(m, 10.0, 1, NULL, &e), PSFWI_ERANGE);
  assert_non_null(strstr(e.msg, "ix = 3, iz = 2"));
  m->vp[23] = NAN;
  assert_int_equal(psfwi_model_smooth(m, 10.0, 0, NULL, &e), PSFWI_ENONFINITE);
  m->grid.dz = 0.0;
  m->vp[23] = 2000.0f;
  assert_int_equal(psfwi_model_smooth(m, 10.0, 0, NULL, &e), PSFWI_ERANGE);
  psfwi_model_destroy(m);
}

/* ---- Resampling ------------------------------------------------------------- */

/* f = trend + A sin(kx x + 0.3) + B cos(kz z + 0.7): monotone along both
 * axes (slope > amplitude x wavenumber), so the clamp never acts. */
static const double RA = 50.0, RB = 40.0, RGX = 0.5, RGZ = 0.4;
static const double RK = 2.0 * M_PI / 1000.0;

static double rfun(double x, double z, double gain_x, double gain_z) {
  return 2000.0 + RGX * x + RGZ * z + gain_x * RA * sin(RK * x + 0.3) +
         gain_z * RB * cos(RK * z + 0.7);
}

static psfwi_model *smooth_function_model(void) {
  psfwi_model *m = new_model(301, 201, 10.0, 10.0);
  for (size_t iz = 0; iz < 201; iz++)
    for (size_t ix = 0; ix < 301; ix++)
      m->vp[iz * 301 + ix] = (float)rfun(10.0 * (double)ix, 10.0 * (double)iz, 1.0, 1.0);
  return m;
}

/* Coarser: the anti-alias Gaussian (sigma = half the new spacing) scales a
 * sinusoid of wavenumber k by exp(-sigma^2 k^2 / 2) and keeps the linear
 * trend; then the cubic interpolation must hit the filtered function. */
static void test_resample_coarser_matches_analytic(void **state) {
  (void)state;
  psfwi_model *m = smooth_function_model();
  const double dx = 25.0, dz = 20.0;
  psfwi_error e;
  psfwi_model *r = psfwi_model_resample(m, dx, dz, &e);
  assert_non_null(r);
  assert_int_equal(r->grid.nx, 121); /* 3000 m / 25 m + 1 */
  assert_int_equal(r->grid.nz, 101);
  assert_true(r->grid.dx == dx && r->grid.dz == dz);
  const double sx = 0.5 * dx, sz = 0.5 * dz;
  const double gxf = exp(-0.5 * sx * sx * RK * RK), gzf = exp(-0.5 * sz * sz * RK * RK);
  double err_in = 0.0, err_all = 0.0, err_unfiltered = 0.0;
  for (size_t iz = 0; iz < r->grid.nz; iz++)
    for (size_t ix = 0; ix < r->grid.nx; ix++) {
      const double x = dx * (double)ix, z = dz * (double)iz;
      const double d = fabs(V(r, ix, iz) - rfun(x, z, gxf, gzf));
      err_all = fmax(err_all, d);
      if (x >= 100.0 && x <= 2900.0 && z >= 100.0 && z <= 1900.0) {
        err_in = fmax(err_in, d);
        err_unfiltered = fmax(err_unfiltered, fabs(V(r, ix, iz) - rfun(x, z, 1.0, 1.0)));
      }
    }
  /* Interior: float rounding plus O(h^3) interpolation error. The
   * attenuation itself (~0.15 m/s) is resolved. */
  assert_true(err_in < 0.005);
  assert_true(err_unfiltered > 0.1);
  /* Edges: replication biases a function of slope g by about
   * g sigma / sqrt(2 pi); here g <= trend + amplitude x wavenumber. */
  const double bx = (RGX + RA * RK) * sx / sqrt(2.0 * M_PI);
  const double bz = (RGZ + RB * RK) * sz / sqrt(2.0 * M_PI);
  assert_true(err_all > 0.5 * (RGX * sx + RGZ * sz) / sqrt(2.0 * M_PI)); /* replicated, */
  assert_true(err_all < 1.05 * (bx + bz));                               /* and no worse */
  psfwi_model_destroy(r);
  psfwi_model_destroy(m);
}

/* Finer: no filtering, third-order cubic interpolation. */
static void test_resample_finer_matches_analytic(void **state) {
  (void)state;
  psfwi_model *m = smooth_function_model();
  psfwi_model *r = psfwi_model_resample(m, 4.0, 7.0, NULL);
  assert_non_null(r);
  assert_int_equal(r->grid.nx, 751);
  assert_int_equal(r->grid.nz, 286); /* floor(2000 / 7) + 1: the last 2 m are dropped */
  double maxerr = 0.0;
  for (size_t iz = 0; iz < r->grid.nz; iz++)
    for (size_t ix = 0; ix < r->grid.nx; ix++) {
      const double x = 4.0 * (double)ix, z = 7.0 * (double)iz;
      maxerr = fmax(maxerr, fabs(V(r, ix, iz) - rfun(x, z, 1.0, 1.0)));
    }
  /* Bilinear would be off by up to h^2 / 8 |f''| ~ 0.25 m/s here, and
   * replicated boundary samples by ~0.7 m/s in the first interval. */
  assert_true(maxerr < 0.01);
  psfwi_model_destroy(r);
  psfwi_model_destroy(m);
}

/* The same spacing gives the same model. */
static void test_resample_identity(void **state) {
  (void)state;
  psfwi_model *m = new_model(13, 9, 7.5, 2.5);
  m->grid.x0 = -30.0;
  m->grid.z0 = 12.0;
  for (size_t i = 0; i < 13 * 9; i++) m->vp[i] = (float)(1500 + (i * 7919) % 3001);
  psfwi_model *r = psfwi_model_resample(m, 7.5, 2.5, NULL);
  assert_non_null(r);
  assert_memory_equal(&r->grid, &m->grid, sizeof m->grid);
  assert_memory_equal(r->vp, m->vp, 13 * 9 * sizeof(float));
  psfwi_model_destroy(r);
  psfwi_model_destroy(m);
}

/* A checkerboard at the Nyquist wavenumber of the fine grid. Sampled every
 * other point without a low-pass it would turn into a constant 3000 + 500:
 * a false pattern. The anti-alias filter must remove it: everywhere except
 * the corners (where the replicated edges meet and the pattern is not
 * cancelled along either axis) the result is the mean, 3000. */
static void test_resample_checkerboard_is_attenuated(void **state) {
  (void)state;
  const size_t n = 121;
  psfwi_model *m = new_model(n, n, 10.0, 10.0);
  for (size_t iz = 0; iz < n; iz++)
    for (size_t ix = 0; ix < n; ix++) m->vp[iz * n + ix] = (ix + iz) % 2 ? 2500.0f : 3500.0f;
  const double spacing[][2] = {{20.0, 20.0}, {25.0, 25.0}, {30.0, 30.0}, {20.0, 40.0}};
  for (size_t t = 0; t < 4; t++) {
    const double dx = spacing[t][0], dz = spacing[t][1];
    psfwi_model *r = psfwi_model_resample(m, dx, dz, NULL);
    assert_non_null(r);
    /* Corner zone: within 4 sigma + 2 input cells of a vertical and a
     * horizontal edge. */
    const double cx = 4.0 * 0.5 * dx + 20.0, cz = 4.0 * 0.5 * dz + 20.0;
    const double ex = 10.0 * (double)(n - 1), ez = ex;
    double maxdev = 0.0;
    for (size_t iz = 0; iz < r->grid.nz; iz++)
      for (size_t ix = 0; ix < r->grid.nx; ix++) {
        const double x = dx * (double)ix, z = dz * (double)iz;
        const int near_x = x < cx || x > ex - cx, near_z = z < cz || z > ez - cz;
        if (near_x && near_z) continue;
        maxdev = fmax(maxdev, fabs(V(r, ix, iz) - 3000.0));
      }
    assert_true(maxdev < 5.0); /* 1 % of the amplitude */
    psfwi_model_destroy(r);
  }
  psfwi_model_destroy(m);
}

/* Refining a step: no over- or undershoot (the clamp), monotone, and the
 * original samples are kept. */
static void test_resample_step_no_ringing(void **state) {
  (void)state;
  psfwi_model *m = new_model(20, 4, 10.0, 10.0);
  for (size_t iz = 0; iz < 4; iz++)
    for (size_t ix = 0; ix < 20; ix++) m->vp[iz * 20 + ix] = ix < 10 ? 2000.0f : 4500.0f;
  psfwi_model *r = psfwi_model_resample(m, 2.5, 5.0, NULL);
  assert_non_null(r);
  assert_int_equal(r->grid.nx, 77);
  assert_int_equal(r->grid.nz, 7);
  for (size_t iz = 0; iz < 7; iz++)
    for (size_t ix = 0; ix < 77; ix++) {
      const double v = V(r, ix, iz);
      assert_true(v >= 2000.0 && v <= 4500.0);
      if (ix > 0) assert_true(v >= V(r, ix - 1, iz));
      if (ix % 4 == 0) assert_true(v == V(m, ix / 4, 0));
    }
  psfwi_model_destroy(r);
  psfwi_model_destroy(m);
}

static void test_resample_errors(void **state) {
  (void)state;
  psfwi_error e;
  psfwi_model *m = new_model(10, 10, 10.0, 10.0);
  fill(m, 2000.0f);
  assert_null(psfwi_model_resample(NULL, 5.0, 5.0, &e));
  assert_int_equal(e.status, PSFWI_EINVAL);
  assert_null(psfwi_model_resample(m, 0.0, 5.0, &e));
  assert_int_equal(e.status, PSFWI_ERANGE);
  assert_non_null(strstr(e.msg, "dx = 0"));
  assert_null(psfwi_model_resample(m, 5.0, -1.0, &e));
  assert_int_equal(e.status, PSFWI_ERANGE);
  assert_null(psfwi_model_resample(m, NAN, 5.0, &e));
  assert_int_equal(e.status, PSFWI_ERANGE);
  assert_null(psfwi_model_resample(m, 5.0, INFINITY, &e));
  assert_int_equal(e.status, PSFWI_ERANGE);
  assert_null(psfwi_model_resample(m, 1e-6, 1e-6, &e)); /* 9e7 x 9e7 points */
  assert_int_equal(e.status, PSFWI_ERANGE);
  assert_non_null(strstr(e.msg, "points"));
  m->vp[5] = -1.0f;
  assert_null(psfwi_model_resample(m, 20.0, 20.0, &e));
  assert_int_equal(e.status, PSFWI_ERANGE);
  psfwi_model_destroy(m);
}

/* ---- Crop, clip, water mask ------------------------------------------------------- */

static void test_crop_exact(void **state) {
  (void)state;
  psfwi_model *m = new_model(20, 10, 10.0, 5.0);
  m->grid.x0 = 100.0;
  m->grid.z0 = 50.0;
  for (size_t iz = 0; iz < 10; iz++)
    for (size_t ix = 0; ix < 20; ix++) m->vp[iz * 20 + ix] = (float)(1000 + ix + 1000 * iz);
  /* x in [125, 161] -> points 130..160 (ix 3..6); z in [60 - 1e-9, 70] ->
   * 60, 65, 70 (iz 2..4): bounds snap inwards, rounding is tolerated. */
  psfwi_error e;
  psfwi_model *c = psfwi_model_crop(m, 125.0, 161.0, 60.0 - 1e-9, 70.0, &e);
  assert_non_null(c);
  assert_int_equal(c->grid.nx, 4);
  assert_int_equal(c->grid.nz, 3);
  assert_true(c->grid.x0 == 130.0 && c->grid.z0 == 60.0);
  assert_true(c->grid.dx == 10.0 && c->grid.dz == 5.0);
  for (size_t iz = 0; iz < 3; iz++)
    for (size_t ix = 0; ix < 4; ix++)
      assert_true(c->vp[iz * 4 + ix] == (float)(1000 + (ix + 3) + 1000 * (iz + 2)));
  psfwi_model_destroy(c);
  /* The whole extent is the identity; a single point is allowed. */
  c = psfwi_model_crop(m, 100.0, 290.0, 50.0, 95.0, &e);
  assert_non_null(c);
  assert_memory_equal(&c->grid, &m->grid, sizeof m->grid);
  assert_memory_equal(c->vp, m->vp, 200 * sizeof(float));
  psfwi_model_destroy(c);
  c = psfwi_model_crop(m, 290.0, 290.0, 95.0, 95.0, &e);
  assert_non_null(c);
  assert_int_equal(c->grid.nx * c->grid.nz, 1);
  assert_true(c->vp[0] == 10019.0f);
  psfwi_model_destroy(c);
  psfwi_model_destroy(m);
}

static void test_crop_errors(void **state) {
  (void)state;
  psfwi_error e;
  psfwi_model *m = new_model(20, 10, 10.0, 5.0);
  fill(m, 2000.0f);
  assert_null(psfwi_model_crop(NULL, 0, 10, 0, 10, &e));
  assert_int_equal(e.status, PSFWI_EINVAL);
  assert_null(psfwi_model_crop(m, 50.0, 40.0, 0.0, 10.0, &e)); /* x0 > x1 */
  assert_int_equal(e.status, PSFWI_ERANGE);
  assert_non_null(strstr(e.msg, "x window [50, 40]"));
  assert_null(psfwi_model_crop(m, 0.0, 10.0, NAN, 10.0, &e));
  assert_int_equal(e.status, PSFWI_ERANGE);
  assert_null(psfwi_model_crop(m, 0.0, 200.0, 0.0, 10.0, &e)); /* x ends at 190 */
  assert_int_equal(e.status, PSFWI_ERANGE);
  assert_non_null(strstr(e.msg, "not inside the model's x range [0, 190]"));
  assert_null(psfwi_model_crop(m, -5.0, 10.0, 0.0, 10.0, &e));
  assert_int_equal(e.status, PSFWI_ERANGE);
  assert_null(psfwi_model_crop(m, 0.0, 10.0, 40.0, 50.0, &e)); /* z ends at 45 */
  assert_int_equal(e.status, PSFWI_ERANGE);
  assert_non_null(strstr(e.msg, "z window"));
  assert_null(psfwi_model_crop(m, 31.0, 39.0, 0.0, 10.0, &e)); /* between points */
  assert_int_equal(e.status, PSFWI_ERANGE);
  assert_non_null(strstr(e.msg, "no grid point"));
  psfwi_model_destroy(m);
}

static void test_clip(void **state) {
  (void)state;
  psfwi_error e;
  psfwi_model *m = new_model(5, 2, 1.0, 1.0);
  const float in[10] = {1000, 1500, 1500.2f, 2000, 3000, 4500, 4500.6f, 4600, 9000, 1499};
  memcpy(m->vp, in, sizeof in);
  assert_int_equal(psfwi_model_clip(m, 1500.1, 4500.5, &e), PSFWI_OK);
  for (size_t i = 0; i < 10; i++) {
    assert_true((double)m->vp[i] >= 1500.1 && (double)m->vp[i] <= 4500.5);
    if ((double)in[i] >= 1500.1 && (double)in[i] <= 4500.5) assert_true(m->vp[i] == in[i]);
  }
  assert_true(fabs((double)m->vp[0] - 1500.1) < 1e-3 && fabs((double)m->vp[8] - 4500.5) < 1e-3);
  assert_int_equal(psfwi_model_clip(m, 3000.0, 3000.0, &e), PSFWI_ERANGE);
  assert_non_null(strstr(e.msg, "vmin < vmax"));
  assert_int_equal(psfwi_model_clip(m, 4000.0, 3000.0, &e), PSFWI_ERANGE);
  assert_int_equal(psfwi_model_clip(m, 0.0, 3000.0, &e), PSFWI_ERANGE);
  assert_int_equal(psfwi_model_clip(m, 1000.0, NAN, &e), PSFWI_ERANGE);
  assert_int_equal(psfwi_model_clip(NULL, 1000.0, 2000.0, &e), PSFWI_EINVAL);
  memcpy(m->vp, in, sizeof in);
  m->vp[7] = NAN;
  assert_int_equal(psfwi_model_clip(m, 1600.0, 2000.0, &e), PSFWI_ENONFINITE);
  assert_non_null(strstr(e.msg, "ix = 2, iz = 1"));
  assert_true(m->vp[0] == 1000.0f); /* nothing changed */
  psfwi_model_destroy(m);
}

static void test_water_mask(void **state) {
  (void)state;
  psfwi_error e;
  const size_t nx = 6, nz = 10;
  psfwi_model *m = new_model(nx, nz, 10.0, 10.0);
  fill(m, 2500.0f);
  size_t expect = 0;
  for (size_t ix = 0; ix < nx; ix++) {
    for (size_t iz = 0; iz < ix; iz++) m->vp[iz * nx + ix] = iz % 2 ? 1500.3f : 1499.8f;
    expect += ix;
  }
  m->vp[8 * nx + 2] = 1500.0f; /* water-like but below rock: not part of the layer */
  unsigned char mask[60];
  memset(mask, 7, sizeof mask);
  size_t count = 0;
  assert_int_equal(psfwi_model_water_mask(m, 1500.0, 0.5, mask, &count, &e), PSFWI_OK);
  assert_int_equal(count, expect);
  for (size_t iz = 0; iz < nz; iz++)
    for (size_t ix = 0; ix < nx; ix++) assert_int_equal(mask[iz * nx + ix], iz < ix ? 1 : 0);
  /* A tighter tolerance stops at the first 1500.3 cell. */
  assert_int_equal(psfwi_model_water_mask(m, 1500.0, 0.25, mask, &count, &e), PSFWI_OK);
  assert_int_equal(count, 5); /* one cell (iz = 0) in each of columns 1..5 */
  assert_int_equal(psfwi_model_water_mask(m, 1500.0, 0.25, mask, NULL, &e), PSFWI_OK);
  assert_int_equal(psfwi_model_water_mask(m, 1500.0, 0.5, NULL, &count, &e), PSFWI_EINVAL);
  assert_int_equal(psfwi_model_water_mask(NULL, 1500.0, 0.5, mask, &count, &e), PSFWI_EINVAL);
  assert_int_equal(psfwi_model_water_mask(m, 0.0, 0.5, mask, &count, &e), PSFWI_ERANGE);
  assert_non_null(strstr(e.msg, "v_water = 0"));
  assert_int_equal(psfwi_model_water_mask(m, 1500.0, -1.0, mask, &count, &e), PSFWI_ERANGE);
  assert_int_equal(psfwi_model_water_mask(m, 1500.0, NAN, mask, &count, &e), PSFWI_ERANGE);
  psfwi_model_destroy(m);
}

/* ---- Marmousi (../shared/data) ------------------------------------------------------- */

static psfwi_model *read_marmousi(void) {
  const char *path = tu_shared("marmousi/marmousi_vp_2301x751_4m_f32le.bin");
  if (path == NULL) return NULL;
  const size_t nx = 2301, nz = 751;
  float *buf = malloc(nx * nz * sizeof *buf);
  assert_non_null(buf);
  FILE *f = fopen(path, "rb");
  assert_non_null(f);
  assert_int_equal(fread(buf, sizeof *buf, nx * nz, f), nx * nz);
  fclose(f);
  psfwi_model *m = new_model(nx, nz, 4.0, 4.0);
  for (size_t ix = 0; ix < nx; ix++) /* stored x-major: z fastest */
    for (size_t iz = 0; iz < nz; iz++) m->vp[iz * nx + ix] = buf[ix * nz + iz];
  free(buf);
  return m;
}

/* The water layer of Marmousi is the 18,567 cells at 1500 m/s (where its
 * density is 1000); smoothing with that mask keeps it and stays in range. */
static void test_marmousi_water_and_smooth(void **state) {
  (void)state;
  psfwi_model *m = read_marmousi();
  if (m == NULL) skip();
  const size_t n = 2301 * 751;
  unsigned char *mask = malloc(n);
  assert_non_null(mask);
  size_t count = 0;
  assert_int_equal(psfwi_model_water_mask(m, 1500.0, 0.5, mask, &count, NULL), PSFWI_OK);
  assert_int_equal(count, 18567);
  psfwi_model *s = psfwi_model_copy(m, NULL);
  assert_int_equal(psfwi_model_smooth(s, 40.0, 1, mask, NULL), PSFWI_OK);
  float lo, hi;
  psfwi_model_range(s, &lo, &hi);
  assert_true(lo >= 1500.0f && hi <= 5500.0f);
  double tv_m = 0.0, tv_s = 0.0; /* total variation along x drops */
  for (size_t i = 0; i < n; i++) {
    if (mask[i]) assert_true(s->vp[i] == m->vp[i]);
    if (i % 2301 != 0) {
      tv_m += fabs((double)m->vp[i] - (double)m->vp[i - 1]);
      tv_s += fabs((double)s->vp[i] - (double)s->vp[i - 1]);
    }
  }
  assert_true(tv_s < 0.5 * tv_m);
  psfwi_model *r = psfwi_model_resample(m, 12.0, 12.0, NULL);
  assert_non_null(r);
  assert_int_equal(r->grid.nx, 767);
  assert_int_equal(r->grid.nz, 251);
  psfwi_model_range(r, &lo, &hi);
  assert_true(lo >= 1500.0f && hi <= 5500.0f);
  psfwi_model_destroy(r);
  psfwi_model_destroy(s);
  psfwi_model_destroy(m);
  free(mask);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_smooth_impulse_is_gaussian),
      cmocka_unit_test(test_smooth_step_is_erf),
      cmocka_unit_test(test_smooth_linear_gradient_and_edges),
      cmocka_unit_test(test_smooth_slowness_is_harmonic),
      cmocka_unit_test(test_smooth_mask_keeps_water),
      cmocka_unit_test(test_smooth_zero_and_huge_sigma),
      cmocka_unit_test(test_smooth_errors),
      cmocka_unit_test(test_resample_coarser_matches_analytic),
      cmocka_unit_test(test_resample_finer_matches_analytic),
      cmocka_unit_test(test_resample_identity),
      cmocka_unit_test(test_resample_checkerboard_is_attenuated),
      cmocka_unit_test(test_resample_step_no_ringing),
      cmocka_unit_test(test_resample_errors),
      cmocka_unit_test(test_crop_exact),
      cmocka_unit_test(test_crop_errors),
      cmocka_unit_test(test_clip),
      cmocka_unit_test(test_water_mask),
      cmocka_unit_test(test_marmousi_water_and_smooth),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
