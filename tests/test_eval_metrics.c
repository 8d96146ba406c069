/* eval: RMSE, MAE, relative error, PSNR by hand; SSIM against values
 * computed independently with scikit-image (scripts/reference_ssim.py). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "psfwi_eval.h"
#include "testutil.h"

/* The same deterministic images as scripts/reference_ssim.py. */
static void images(size_t nx, size_t nz, float *a, float *b, float *c) {
  for (size_t iz = 0; iz < nz; iz++)
    for (size_t ix = 0; ix < nx; ix++) {
      const double x = (double)ix, z = (double)iz;
      const size_t i = iz * nx + ix;
      a[i] = (float)(2000.0 + 500.0 * sin(0.3 * x) * cos(0.2 * z) + 10.0 * z);
      b[i] = (float)((double)a[i] + 100.0 * sin(0.7 * x + 0.5 * z));
      c[i] = (float)(0.8 * (double)a[i] + 300.0);
    }
}

static void test_ssim_matches_scikit_image(void **state) {
  (void)state;
  /* nx, nz, L, ssim(a, b), ssim(a, c) from scripts/reference_ssim.py */
  const struct {
    size_t nx, nz;
    double L, sb, sc;
  } ref[] = {
      {40, 30, 1230.197021, 0.860733512461, 0.975394662388},
      {17, 64, 1626.547852, 0.865732278061, 0.975787441013},
  };
  for (size_t k = 0; k < 2; k++) {
    const size_t nx = ref[k].nx, nz = ref[k].nz, n = nx * nz;
    float *a = malloc(n * sizeof *a), *b = malloc(n * sizeof *b), *c = malloc(n * sizeof *c);
    images(nx, nz, a, b, c);
    float lo = a[0], hi = a[0];
    for (size_t i = 0; i < n; i++) lo = fminf(lo, a[i]), hi = fmaxf(hi, a[i]);
    const double L = (double)hi - (double)lo;
    assert_true(fabs(L - ref[k].L) < 1e-5);
    double s;
    assert_int_equal(psfwi_ssim(a, b, nx, nz, L, &s, NULL), PSFWI_OK);
    if (fabs(s - ref[k].sb) > 1e-9) fail_msg("ssim(a,b) = %.12f, reference %.12f", s, ref[k].sb);
    assert_int_equal(psfwi_ssim(a, c, nx, nz, L, &s, NULL), PSFWI_OK);
    if (fabs(s - ref[k].sc) > 1e-9) fail_msg("ssim(a,c) = %.12f, reference %.12f", s, ref[k].sc);
    assert_int_equal(psfwi_ssim(a, a, nx, nz, L, &s, NULL), PSFWI_OK);
    assert_true(fabs(s - 1.0) < 1e-12);
    free(a), free(b), free(c);
  }
}

static psfwi_model *model_from(const float *v, size_t nx, size_t nz) {
  psfwi_grid g = {.nx = nx, .nz = nz, .dx = 10.0, .dz = 10.0};
  psfwi_model *m = psfwi_model_create(&g, NULL);
  memcpy(m->vp, v, nx * nz * sizeof *v);
  return m;
}

static void test_compare_by_hand(void **state) {
  (void)state;
  enum { NX = 12, NZ = 11, N = NX * NZ };
  float t[N], u[N];
  for (int i = 0; i < N; i++) {
    t[i] = 1500.0f + 10.0f * (float)(i / NX);
    u[i] = t[i] + ((i % 2) ? 30.0f : -10.0f); /* errors +30 and -10 alternating */
  }
  psfwi_model *mt = model_from(t, NX, NZ), *mu = model_from(u, NX, NZ);
  psfwi_metrics met;
  assert_int_equal(psfwi_compare(mt, mu, &met, NULL), PSFWI_OK);
  /* N = 132 is even: 66 errors of 30 and 66 of -10. */
  assert_true(fabs(met.rmse - sqrt((900.0 + 100.0) / 2.0)) < 1e-9);
  assert_true(fabs(met.mae - 20.0) < 1e-9);
  double nt = 0.0;
  for (int i = 0; i < N; i++) nt += (double)t[i] * (double)t[i];
  assert_true(fabs(met.rel_l2 - 100.0 * sqrt(500.0 * N / nt)) < 1e-9);
  assert_true(fabs(met.psnr - 20.0 * log10(100.0 / sqrt(500.0))) < 1e-9);
  assert_true(met.ssim < 1.0 && met.ssim > 0.0);
  assert_int_equal(psfwi_compare(mt, mt, &met, NULL), PSFWI_OK);
  assert_true(met.ssim == 1.0 && met.rmse == 0.0 && isinf(met.psnr));
  psfwi_model_destroy(mt);
  psfwi_model_destroy(mu);
}

static void test_errors(void **state) {
  (void)state;
  float v[12 * 12], w[13 * 12];
  for (int i = 0; i < 144; i++) v[i] = 2000.0f + (float)i;
  for (int i = 0; i < 156; i++) w[i] = 2000.0f;
  psfwi_model *a = model_from(v, 12, 12), *b = model_from(w, 13, 12);
  psfwi_metrics met;
  psfwi_error e;
  assert_int_equal(psfwi_compare(a, b, &met, &e), PSFWI_EINVAL);
  assert_non_null(strstr(e.msg, "differ in size"));
  psfwi_model *c = model_from(v, 12, 12);
  c->grid.dx = 20.0;
  assert_int_equal(psfwi_compare(a, c, &met, &e), PSFWI_EINVAL);
  assert_non_null(strstr(e.msg, "spacing"));
  double s;
  assert_int_equal(psfwi_ssim(v, v, 10, 14, 1.0, &s, &e), PSFWI_ERANGE); /* < 11 wide */
  assert_int_equal(psfwi_ssim(v, v, 12, 12, 0.0, &s, &e), PSFWI_ERANGE);
  assert_non_null(strstr(e.msg, "constant"));
  psfwi_model_destroy(a);
  psfwi_model_destroy(b);
  psfwi_model_destroy(c);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_ssim_matches_scikit_image),
      cmocka_unit_test(test_compare_by_hand),
      cmocka_unit_test(test_errors),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
