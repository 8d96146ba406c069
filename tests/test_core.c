/* core: error records, grid and model checks, surveys, Ricker wavelet. */
#include <math.h>
#include <string.h>

#include "psfwi_core.h"
#include "testutil.h"

static void test_status_text(void **state) {
  (void)state;
  assert_string_equal(psfwi_strerror(PSFWI_OK), "success");
  assert_string_equal(psfwi_strerror(PSFWI_ENONFINITE), "non-finite value (NaN or Inf)");
  assert_string_equal(psfwi_strerror(12345), "unknown status");
  psfwi_error e;
  assert_int_equal(psfwi_fail(&e, PSFWI_EKEY, "key '%s'", "foo"), PSFWI_EKEY);
  psfwi_error_prefix(&e, "%s:%d", "a.ini", 3);
  assert_string_equal(e.msg, "a.ini:3: key 'foo'");
}

static void test_grid_and_model_checks(void **state) {
  (void)state;
  psfwi_error e;
  psfwi_grid g = {.nx = 4, .nz = 3, .dx = 10.0, .dz = 5.0};
  assert_int_equal(psfwi_grid_check(&g, "g", &e), PSFWI_OK);
  g.dx = 0.0;
  assert_int_equal(psfwi_grid_check(&g, "g", &e), PSFWI_ERANGE);
  assert_non_null(strstr(e.msg, "dx = 0"));
  g.dx = 10.0;
  g.nz = 0;
  assert_null(psfwi_model_create(&g, &e));
  g.nz = 3;
  psfwi_model *m = psfwi_model_create(&g, &e);
  assert_non_null(m);
  for (size_t i = 0; i < 12; i++) m->vp[i] = 1500.0f + (float)i;
  assert_int_equal(psfwi_model_check(m, "m", &e), PSFWI_OK);
  float lo, hi;
  psfwi_model_range(m, &lo, &hi);
  assert_float_equal(lo, 1500.0, 0.0);
  assert_float_equal(hi, 1511.0, 0.0);
  m->vp[2 * 4 + 1] = NAN;
  assert_int_equal(psfwi_model_check(m, "m", &e), PSFWI_ENONFINITE);
  assert_non_null(strstr(e.msg, "ix = 1, iz = 2"));
  m->vp[2 * 4 + 1] = -3.0f;
  assert_int_equal(psfwi_model_check(m, "m", &e), PSFWI_ERANGE);
  psfwi_model_destroy(m);
  psfwi_model_destroy(NULL);
}

static void test_survey_line_and_check(void **state) {
  (void)state;
  psfwi_error e;
  psfwi_survey *s = psfwi_survey_create_line(0.0, 50.0, 3, 10.0, 0.0, 20.0, 5, 5.0, 1, &e);
  assert_non_null(s);
  assert_float_equal(s->sx[2], 100.0, 0.0);
  assert_float_equal(s->rx[2 * 5 + 4], 80.0 + 100.0, 0.0); /* moving spread */
  psfwi_grid g = {.nx = 91, .nz = 51, .dx = 2.0, .dz = 2.0};
  assert_int_equal(psfwi_survey_check(s, &g, &e), PSFWI_OK);
  g.nx = 90; /* x up to 178 m: last receiver of shot 2 at 180 m is outside */
  assert_int_equal(psfwi_survey_check(s, &g, &e), PSFWI_ERANGE);
  assert_non_null(strstr(e.msg, "receiver 4 of shot 2"));
  psfwi_survey_destroy(s);
}

static void test_ricker(void **state) {
  (void)state;
  float w[201];
  assert_int_equal(psfwi_ricker(10.0, 0.1, 0.001, 201, w, NULL), PSFWI_OK);
  assert_float_equal(w[100], 1.0, 1e-7); /* peak at the delay */
  /* zero crossings at t - delay = +-1/(pi f sqrt(1/2))... (1 - 2a) = 0 */
  const double tz = 1.0 / (3.14159265358979 * 10.0 * sqrt(2.0));
  const double a = (3.14159265358979 * 10.0 * (0.02 - 0.0)) * (3.14159265358979 * 10.0 * 0.02);
  assert_true(fabs((double)w[120] - (1.0 - 2.0 * a) * exp(-a)) < 1e-6);
  assert_true(tz > 0.02 && tz < 0.03);
  assert_true(w[122] > 0.0f && w[123] < 0.0f);
  assert_int_equal(psfwi_ricker(-1.0, 0.1, 0.001, 10, w, NULL), PSFWI_ERANGE);
}

static void test_parse_range(void **state) {
  (void)state;
  double a, b;
  size_t c;
  psfwi_error e;
  assert_int_equal(psfwi_parse_range("100:20.5:7", &a, &b, &c, &e), PSFWI_OK);
  assert_float_equal(a, 100.0, 0.0);
  assert_float_equal(b, 20.5, 0.0);
  assert_int_equal(c, 7);
  assert_int_equal(psfwi_parse_range("100:20", &a, &b, &c, &e), PSFWI_EINVAL);
  assert_int_equal(psfwi_parse_range("1:2:0", &a, &b, &c, &e), PSFWI_ERANGE);
  assert_int_equal(psfwi_parse_range("1:2:3.5", &a, &b, &c, &e), PSFWI_ERANGE);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_status_text),           cmocka_unit_test(test_grid_and_model_checks),
      cmocka_unit_test(test_survey_line_and_check), cmocka_unit_test(test_ricker),
      cmocka_unit_test(test_parse_range),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
