/* model synthetic families: names, bounds, bit-for-bit reproducibility,
 * geology that looks like geology (velocity rising with depth, lateral
 * invariance of flat layers, fault discontinuities, a fast salt body,
 * anomalies), grid independence (same seed on a finer grid), water layer,
 * error paths. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "psfwi_model.h"
#include "testutil.h"

static const double VMIN = 1600.0, VMAX = 4200.0;
enum { NSEEDS = 12 };

static psfwi_model *make(psfwi_family f, uint64_t seed, size_t nx, size_t nz, double dx, double dz,
                         double water) {
  psfwi_grid g = {.nx = nx, .nz = nz, .dx = dx, .dz = dz};
  psfwi_synth_params p;
  psfwi_synth_defaults(&p);
  p.family = f;
  p.seed = seed;
  p.vmin = VMIN;
  p.vmax = VMAX;
  p.water_depth = water;
  psfwi_error e;
  psfwi_model *m = psfwi_synth_create(&g, &p, &e);
  if (m == NULL) fail_msg("%s", e.msg);
  return m;
}

static int cmp_float(const void *a, const void *b) {
  const float x = *(const float *)a, y = *(const float *)b;
  return (x > y) - (x < y);
}

/* Median of rows [z0, z1) of m; buf holds (z1 - z0) nx floats. */
static double band_median(const psfwi_model *m, size_t z0, size_t z1, float *buf) {
  const size_t nx = m->grid.nx, n = (z1 - z0) * nx;
  memcpy(buf, m->vp + z0 * nx, n * sizeof *buf);
  qsort(buf, n, sizeof *buf, cmp_float);
  return (double)buf[n / 2];
}

/* Rows holding at least one lateral jump larger than thr (m/s). */
static size_t rows_with_lateral_jump(const psfwi_model *m, double thr) {
  const size_t nx = m->grid.nx, nz = m->grid.nz;
  size_t rows = 0;
  for (size_t iz = 0; iz < nz; iz++)
    for (size_t ix = 0; ix + 1 < nx; ix++)
      if (fabs((double)m->vp[iz * nx + ix + 1] - (double)m->vp[iz * nx + ix]) > thr) {
        rows++;
        break;
      }
  return rows;
}

static uint64_t fnv1a(const void *data, size_t len) {
  const unsigned char *p = data;
  uint64_t h = UINT64_C(0xcbf29ce484222325);
  for (size_t i = 0; i < len; i++) h = (h ^ p[i]) * UINT64_C(0x100000001b3);
  return h;
}

/* ---- Names and defaults ------------------------------------------------------ */

static void test_names_and_defaults(void **state) {
  (void)state;
  static const char *names[] = {"layered", "folded", "faulted", "salt", "anomaly", "blocky"};
  psfwi_error e;
  for (int i = 0; i < (int)PSFWI_FAMILY_COUNT; i++) {
    assert_string_equal(psfwi_family_name((psfwi_family)i), names[i]);
    psfwi_family f = PSFWI_FAMILY_COUNT;
    assert_int_equal(psfwi_family_parse(names[i], &f, &e), PSFWI_OK);
    assert_int_equal(f, i);
  }
  psfwi_family f;
  assert_int_equal(psfwi_family_parse("SaLT", &f, &e), PSFWI_OK);
  assert_int_equal(f, PSFWI_FAMILY_SALT);
  assert_string_equal(psfwi_family_name(PSFWI_FAMILY_COUNT), "unknown");
  assert_int_equal(psfwi_family_parse("marmousi", &f, &e), PSFWI_EINVAL);
  assert_non_null(strstr(e.msg, "'marmousi'"));
  assert_non_null(strstr(e.msg, "layered, folded, faulted, salt, anomaly, blocky"));
  assert_int_equal(psfwi_family_parse("sal", &f, &e), PSFWI_EINVAL);
  assert_int_equal(psfwi_family_parse("salty", &f, &e), PSFWI_EINVAL);
  assert_int_equal(psfwi_family_parse("", &f, &e), PSFWI_EINVAL);
  assert_int_equal(psfwi_family_parse(NULL, &f, &e), PSFWI_EINVAL);
  assert_int_equal(psfwi_family_parse("salt", NULL, &e), PSFWI_EINVAL);

  psfwi_synth_params p;
  memset(&p, 0xff, sizeof p);
  psfwi_synth_defaults(&p);
  assert_int_equal(p.family, PSFWI_FAMILY_LAYERED);
  assert_int_equal(p.seed, 1);
  assert_true(p.vmin == 1500.0 && p.vmax == 4500.0 && p.water_depth == 0.0);
  psfwi_synth_defaults(NULL);
}

/* ---- Properties every family has --------------------------------------------------- */

/* Within [vmin, vmax]; bit-identical for the same seed; different for
 * another seed; velocity rising with depth: the medians of five depth bands
 * increase (at most one small step back) by at least 20 % of the range from
 * the top band to the bottom one (blocky: from the top row to the bottom
 * one; test_blocky_is_blocky checks every interface). */
static void test_all_families_bounds_seed_depth_trend(void **state) {
  (void)state;
  const size_t nx = 100, nz = 60;
  float *buf = malloc(nx * nz * sizeof *buf);
  assert_non_null(buf);
  for (int f = 0; f < (int)PSFWI_FAMILY_COUNT; f++)
    for (uint64_t seed = 1; seed <= NSEEDS; seed++) {
      psfwi_model *a = make((psfwi_family)f, seed, nx, nz, 10.0, 10.0, 0.0);
      psfwi_model *b = make((psfwi_family)f, seed, nx, nz, 10.0, 10.0, 0.0);
      psfwi_model *c = make((psfwi_family)f, seed + 1000, nx, nz, 10.0, 10.0, 0.0);
      assert_memory_equal(a->vp, b->vp, nx * nz * sizeof(float));
      size_t differ = 0;
      for (size_t i = 0; i < nx * nz; i++) {
        assert_true((double)a->vp[i] >= VMIN && (double)a->vp[i] <= VMAX);
        differ += a->vp[i] != c->vp[i];
      }
      assert_true(differ > nx * nz / 4);
      if (f == PSFWI_FAMILY_BLOCKY) { /* thick layers: an interface can sit anywhere */
        assert_true((double)a->vp[(nz - 1) * nx] - (double)a->vp[0] > 0.2 * (VMAX - VMIN));
        goto next;
      }
      double med[5];
      for (size_t k = 0; k < 5; k++) med[k] = band_median(a, k * nz / 5, (k + 1) * nz / 5, buf);
      int back = 0;
      for (size_t k = 0; k < 4; k++) {
        if (med[k + 1] < med[k]) back++;
        assert_true(med[k + 1] > med[k] - 0.1 * (VMAX - VMIN));
      }
      assert_true(back <= 1);
      assert_true(med[4] - med[0] > 0.2 * (VMAX - VMIN));
    next:
      psfwi_model_destroy(a);
      psfwi_model_destroy(b);
      psfwi_model_destroy(c);
    }
  free(buf);
}

/* The families differ from each other for the same seed. */
static void test_families_differ(void **state) {
  (void)state;
  psfwi_model *m[PSFWI_FAMILY_COUNT];
  for (int f = 0; f < (int)PSFWI_FAMILY_COUNT; f++)
    m[f] = make((psfwi_family)f, 7, 40, 30, 10, 10, 0);
  for (int f = 0; f < (int)PSFWI_FAMILY_COUNT; f++)
    for (int g = f + 1; g < (int)PSFWI_FAMILY_COUNT; g++)
      assert_true(memcmp(m[f]->vp, m[g]->vp, 40 * 30 * sizeof(float)) != 0);
  for (int f = 0; f < (int)PSFWI_FAMILY_COUNT; f++) psfwi_model_destroy(m[f]);
}

/* Golden checksums: the generator's output must not drift between versions
 * or machines (docs/model.md: change them only with a deliberate change of
 * the families, and say so). */
static void test_golden_checksums(void **state) {
  (void)state;
  static const uint64_t golden[PSFWI_FAMILY_COUNT] = {
      UINT64_C(0x2fa37998b0153725), /* layered */
      UINT64_C(0x41dd0c2ab08f853b), /* folded */
      UINT64_C(0x78609973f384fc8e), /* faulted */
      UINT64_C(0x7a06877adcb8aa4a), /* salt */
      UINT64_C(0x5a6d370d78ef800d), /* anomaly */
      UINT64_C(0x542bb021ab81aaa5), /* blocky */
  };
  int bad = 0;
  for (int f = 0; f < (int)PSFWI_FAMILY_COUNT; f++) {
    psfwi_model *m = make((psfwi_family)f, 42, 64, 48, 12.5, 10.0, 60.0);
    const uint64_t h = fnv1a(m->vp, 64 * 48 * sizeof(float));
    if (h != golden[f]) {
      print_error("%s: checksum 0x%016llx, expected 0x%016llx\n",
                  psfwi_family_name((psfwi_family)f), (unsigned long long)h,
                  (unsigned long long)golden[f]);
      bad = 1;
    }
    psfwi_model_destroy(m);
  }
  assert_false(bad);
}

/* Same seed, same extent, half the spacing: the fine model subsampled at
 * every other point is the coarse model (structures are in metres). */
static void test_same_geology_on_finer_grid(void **state) {
  (void)state;
  for (int f = 0; f < (int)PSFWI_FAMILY_COUNT; f++)
    for (uint64_t seed = 3; seed <= 4; seed++) {
      psfwi_model *a = make((psfwi_family)f, seed, 61, 41, 20.0, 15.0, 100.0);
      psfwi_model *b = make((psfwi_family)f, seed, 121, 81, 10.0, 7.5, 100.0);
      size_t same = 0;
      for (size_t iz = 0; iz < 41; iz++)
        for (size_t ix = 0; ix < 61; ix++)
          same += fabs((double)a->vp[iz * 61 + ix] - (double)b->vp[2 * iz * 121 + 2 * ix]) < 1.0;
      assert_true(same >= 61 * 41 * 99 / 100);
      /* ... while a model with twice the extent is a different (stretched)
       * geology, not the same one extended. */
      psfwi_model *c = make((psfwi_family)f, seed, 121, 81, 20.0, 15.0, 100.0);
      size_t same_c = 0;
      for (size_t iz = 0; iz < 41; iz++)
        for (size_t ix = 0; ix < 61; ix++) same_c += a->vp[iz * 61 + ix] == c->vp[iz * 121 + ix];
      assert_true(same_c < 61 * 41 * 95 / 100);
      psfwi_model_destroy(a);
      psfwi_model_destroy(b);
      psfwi_model_destroy(c);
    }
}

/* Water: rows shallower than water_depth hold 1500 m/s (clipped into the
 * bounds); the next row is rock. */
static void test_water_layer(void **state) {
  (void)state;
  for (int f = 0; f < (int)PSFWI_FAMILY_COUNT; f++) {
    psfwi_grid g = {.nx = 30, .nz = 40, .dx = 10.0, .dz = 10.0};
    psfwi_synth_params p;
    psfwi_synth_defaults(&p);
    p.family = (psfwi_family)f;
    p.water_depth = 95.0; /* rows 0..9 (z = 0..90 m) */
    psfwi_model *m = psfwi_synth_create(&g, &p, NULL);
    assert_non_null(m);
    unsigned char mask[30 * 40];
    size_t count = 0;
    assert_int_equal(psfwi_model_water_mask(m, 1500.0, 0.0, mask, &count, NULL), PSFWI_OK);
    assert_int_equal(count, 30 * 10);
    psfwi_model_destroy(m);
    /* vmin above 1500: the water is clipped to vmin. */
    p.vmin = 1800.0;
    p.water_depth = 100.0; /* exactly on row 10: rows 0..9 */
    m = psfwi_synth_create(&g, &p, NULL);
    assert_non_null(m);
    for (size_t ix = 0; ix < 30; ix++) {
      assert_true(m->vp[9 * 30 + ix] == 1800.0f);
      assert_true((double)m->vp[10 * 30 + ix] >= 1800.0);
    }
    psfwi_model_destroy(m);
  }
}

/* ---- Family-specific character ---------------------------------------------------- */

/* Flat layers: every row constant, several distinct layers, thin and thick. */
static void test_layered_is_flat(void **state) {
  (void)state;
  const size_t nx = 50, nz = 200;
  for (uint64_t seed = 1; seed <= NSEEDS; seed++) {
    psfwi_model *m = make(PSFWI_FAMILY_LAYERED, seed, nx, nz, 10.0, 5.0, 0.0);
    assert_int_equal(rows_with_lateral_jump(m, 0.0), 0);
    size_t interfaces = 0; /* vertical jumps above 1 % of the range */
    for (size_t iz = 0; iz + 1 < nz; iz++)
      interfaces +=
          fabs((double)m->vp[(iz + 1) * nx] - (double)m->vp[iz * nx]) > 0.01 * (VMAX - VMIN);
    assert_true(interfaces >= 3);
    psfwi_model_destroy(m);
  }
}

/* Blocky layers: flat (every row constant), 2 to 8 layers of constant
 * velocity rising with depth, none thinner than 4 % of the model (one row
 * of tolerance for the sampling); over the seeds every count from 2 to 8
 * and top velocities from the lower and the upper part of the range. */
static void test_blocky_is_blocky(void **state) {
  (void)state;
  const size_t nx = 30, nz = 200;
  const double dz = 5.0, hmin_rows = 0.04 * (double)(nz - 1);
  int seen[9] = {0};
  double top_lo = VMAX, top_hi = VMIN;
  for (uint64_t seed = 1; seed <= 60; seed++) {
    psfwi_model *m = make(PSFWI_FAMILY_BLOCKY, seed, nx, nz, 10.0, dz, 0.0);
    assert_int_equal(rows_with_lateral_jump(m, 0.0), 0);
    size_t layers = 1, start = 0;
    for (size_t iz = 1; iz <= nz; iz++) {
      if (iz < nz && m->vp[iz * nx] == m->vp[(iz - 1) * nx]) continue;
      if (iz < nz) {
        assert_true(m->vp[iz * nx] > m->vp[(iz - 1) * nx]);
        layers++;
      }
      if (start > 0 && iz < nz) assert_true((double)(iz - start) >= hmin_rows - 1.0);
      start = iz;
    }
    assert_true(layers >= 2 && layers <= 8);
    seen[layers] = 1;
    top_lo = fmin(top_lo, (double)m->vp[0]);
    top_hi = fmax(top_hi, (double)m->vp[0]);
    psfwi_model_destroy(m);
  }
  for (int k = 2; k <= 8; k++) assert_true(seen[k]);
  assert_true(top_lo < VMIN + 0.15 * (VMAX - VMIN));
  assert_true(top_hi > VMIN + 0.35 * (VMAX - VMIN));
}

/* Folded layers: rows are not constant, and an interface moves up and down:
 * the depth of the first jump below mid-depth varies across x. */
static void test_folded_has_curved_layers(void **state) {
  (void)state;
  const size_t nx = 100, nz = 60;
  for (uint64_t seed = 1; seed <= NSEEDS; seed++) {
    psfwi_model *m = make(PSFWI_FAMILY_FOLDED, seed, nx, nz, 10.0, 10.0, 0.0);
    assert_true(rows_with_lateral_jump(m, 0.0) > nz / 3);
    /* Lateral spread of the velocity at mid-depth. */
    float lo = m->vp[30 * nx], hi = lo;
    for (size_t ix = 0; ix < nx; ix++) {
      lo = fminf(lo, m->vp[30 * nx + ix]);
      hi = fmaxf(hi, m->vp[30 * nx + ix]);
    }
    assert_true(hi - lo > 0.02 * (VMAX - VMIN));
    psfwi_model_destroy(m);
  }
}

/* Faults: lateral jumps (> 2 % of the range) in many rows. Flat layers have
 * none, so these are the offsets of layers across the faults. */
static void test_faulted_has_lateral_discontinuities(void **state) {
  (void)state;
  const size_t nx = 100, nz = 60;
  size_t total = 0;
  for (uint64_t seed = 1; seed <= NSEEDS; seed++) {
    psfwi_model *m = make(PSFWI_FAMILY_FAULTED, seed, nx, nz, 10.0, 10.0, 0.0);
    const size_t rows = rows_with_lateral_jump(m, 0.02 * (VMAX - VMIN));
    assert_true(rows >= nz / 5);
    total += rows;
    psfwi_model_destroy(m);
  }
  assert_true(total > NSEEDS * nz / 2);
}

/* Salt: a fast body (within 3 % of vmax) covering >= 0.5 % of the model,
 * bounded laterally (some row has salt and sediment), and a clear gap below
 * it: sediments stay under 80 % of the range. */
static void test_salt_has_fast_body(void **state) {
  (void)state;
  const size_t nx = 100, nz = 60;
  const double span = VMAX - VMIN;
  for (uint64_t seed = 1; seed <= NSEEDS; seed++) {
    psfwi_model *m = make(PSFWI_FAMILY_SALT, seed, nx, nz, 10.0, 10.0, 0.0);
    size_t salt = 0, mixed_rows = 0;
    for (size_t iz = 0; iz < nz; iz++) {
      size_t in_row = 0;
      for (size_t ix = 0; ix < nx; ix++) {
        const double v = (double)m->vp[iz * nx + ix];
        const int is_salt = v >= VMAX - 0.03 * span;
        assert_true(is_salt || v <= VMIN + 0.8 * span + 1e-3);
        in_row += (size_t)is_salt;
      }
      salt += in_row;
      mixed_rows += in_row > 0 && in_row < nx;
    }
    assert_true(salt >= nx * nz / 200);
    assert_true(mixed_rows > 0);
    psfwi_model_destroy(m);
  }
}

/* Anomalies: lateral variation on a background that rises with depth; in
 * every model some cell departs from its row's median by > 5 % of the
 * range. */
static void test_anomaly_has_anomalies(void **state) {
  (void)state;
  const size_t nx = 100, nz = 60;
  float *buf = malloc(nx * sizeof *buf);
  assert_non_null(buf);
  for (uint64_t seed = 1; seed <= NSEEDS; seed++) {
    psfwi_model *m = make(PSFWI_FAMILY_ANOMALY, seed, nx, nz, 10.0, 10.0, 0.0);
    double maxdev = 0.0;
    for (size_t iz = 0; iz < nz; iz++) {
      memcpy(buf, m->vp + iz * nx, nx * sizeof *buf);
      qsort(buf, nx, sizeof *buf, cmp_float);
      const double med = (double)buf[nx / 2];
      for (size_t ix = 0; ix < nx; ix++)
        maxdev = fmax(maxdev, fabs((double)m->vp[iz * nx + ix] - med));
    }
    assert_true(maxdev > 0.05 * (VMAX - VMIN));
    psfwi_model_destroy(m);
  }
  free(buf);
}

/* Odd grids: one point, anisotropic spacing, non-zero origin. */
static void test_odd_grids(void **state) {
  (void)state;
  for (int f = 0; f < (int)PSFWI_FAMILY_COUNT; f++) {
    psfwi_model *m = make((psfwi_family)f, 5, 1, 1, 10.0, 10.0, 0.0);
    assert_true((double)m->vp[0] >= VMIN && (double)m->vp[0] <= VMAX);
    psfwi_model_destroy(m);
    m = make((psfwi_family)f, 5, 3, 200, 50.0, 2.5, 1e4); /* all water */
    for (size_t i = 0; i < 600; i++) assert_true(m->vp[i] == (float)VMIN);
    psfwi_model_destroy(m);
    psfwi_grid g = {.nx = 30, .nz = 20, .dx = 5.0, .dz = 12.5, .x0 = -1000.0, .z0 = 250.0};
    psfwi_synth_params p;
    psfwi_synth_defaults(&p);
    p.family = (psfwi_family)f;
    psfwi_model *a = psfwi_synth_create(&g, &p, NULL);
    g.x0 = g.z0 = 0.0; /* the geology is tied to the grid's first point */
    psfwi_model *b = psfwi_synth_create(&g, &p, NULL);
    assert_non_null(a);
    assert_non_null(b);
    assert_memory_equal(a->vp, b->vp, 600 * sizeof(float));
    assert_int_equal(psfwi_model_check(a, "synth", NULL), PSFWI_OK);
    psfwi_model_destroy(a);
    psfwi_model_destroy(b);
  }
}

static void test_errors(void **state) {
  (void)state;
  psfwi_error e;
  psfwi_grid g = {.nx = 10, .nz = 10, .dx = 10.0, .dz = 10.0};
  psfwi_synth_params p;
  psfwi_synth_defaults(&p);
  assert_null(psfwi_synth_create(NULL, &p, &e));
  assert_int_equal(e.status, PSFWI_EINVAL);
  assert_null(psfwi_synth_create(&g, NULL, &e));
  assert_int_equal(e.status, PSFWI_EINVAL);
  g.dz = 0.0;
  assert_null(psfwi_synth_create(&g, &p, &e));
  assert_int_equal(e.status, PSFWI_ERANGE);
  assert_non_null(strstr(e.msg, "synthetic model"));
  g.dz = 10.0;
  g.nx = 0;
  assert_null(psfwi_synth_create(&g, &p, &e));
  assert_int_equal(e.status, PSFWI_ERANGE);
  g.nx = 10;
  p.family = PSFWI_FAMILY_COUNT;
  assert_null(psfwi_synth_create(&g, &p, &e));
  assert_int_equal(e.status, PSFWI_EINVAL);
  assert_non_null(strstr(e.msg, "family = 6"));
  p.family = (psfwi_family)-1;
  assert_null(psfwi_synth_create(&g, &p, &e));
  assert_int_equal(e.status, PSFWI_EINVAL);
  psfwi_synth_defaults(&p);
  const double bad[][2] = {{3000.0, 3000.0}, {4000.0, 3000.0}, {0.0, 3000.0},
                           {-5.0, 3000.0},   {1500.0, NAN},    {1500.0, INFINITY}};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    p.vmin = bad[i][0];
    p.vmax = bad[i][1];
    assert_null(psfwi_synth_create(&g, &p, &e));
    assert_int_equal(e.status, PSFWI_ERANGE);
    assert_non_null(strstr(e.msg, "0 < vmin < vmax"));
  }
  psfwi_synth_defaults(&p);
  p.water_depth = -1.0;
  assert_null(psfwi_synth_create(&g, &p, &e));
  assert_int_equal(e.status, PSFWI_ERANGE);
  assert_non_null(strstr(e.msg, "water_depth = -1"));
  p.water_depth = NAN;
  assert_null(psfwi_synth_create(&g, &p, &e));
  assert_int_equal(e.status, PSFWI_ERANGE);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_names_and_defaults),
      cmocka_unit_test(test_all_families_bounds_seed_depth_trend),
      cmocka_unit_test(test_families_differ),
      cmocka_unit_test(test_golden_checksums),
      cmocka_unit_test(test_same_geology_on_finer_grid),
      cmocka_unit_test(test_water_layer),
      cmocka_unit_test(test_layered_is_flat),
      cmocka_unit_test(test_blocky_is_blocky),
      cmocka_unit_test(test_folded_has_curved_layers),
      cmocka_unit_test(test_faulted_has_lateral_discontinuities),
      cmocka_unit_test(test_salt_has_fast_body),
      cmocka_unit_test(test_anomaly_has_anomalies),
      cmocka_unit_test(test_odd_grids),
      cmocka_unit_test(test_errors),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
