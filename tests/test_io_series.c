/* io/series: wavelet samples from text files, and their error paths. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "psfwi_io.h"
#include "testutil.h"

static void test_read_series(void **state) {
  (void)state;
  const char text[] = "# a wavelet\n0\n  1.5\n\n-2.25e-1\r\n";
  tu_write_file(tu_path("w.txt"), text, strlen(text));
  float *v;
  size_t n;
  psfwi_error e = {0};
  assert_int_equal(psfwi_text_read_series(tu_path("w.txt"), &v, &n, &e), PSFWI_OK);
  assert_int_equal(n, 3);
  assert_true(v[0] == 0.0f && v[1] == 1.5f && v[2] == -0.225f);
  free(v);
  /* Long series grow the buffer. */
  FILE *f = fopen(tu_path("long.txt"), "w");
  for (int i = 0; i < 5000; i++) fprintf(f, "%d\n", i);
  fclose(f);
  assert_int_equal(psfwi_text_read_series(tu_path("long.txt"), &v, &n, &e), PSFWI_OK);
  assert_int_equal(n, 5000);
  assert_true(v[4999] == 4999.0f);
  free(v);
}

static void expect(const char *text, int status, const char *needle) {
  tu_write_file(tu_path("bad.txt"), text, strlen(text));
  float *v = (float *)1;
  size_t n;
  psfwi_error e = {0};
  assert_int_equal(psfwi_text_read_series(tu_path("bad.txt"), &v, &n, &e), status);
  assert_null(v);
  if (strstr(e.msg, needle) == NULL) fail_msg("'%s' lacks '%s'", e.msg, needle);
}

static void test_errors(void **state) {
  (void)state;
  expect("1\n2 3\n", PSFWI_EFORMAT, "bad.txt:2: expected one number per line");
  expect("1\nabc\n", PSFWI_EFORMAT, "bad.txt:2");
  expect("1\nnan\n", PSFWI_ENONFINITE, "bad.txt:2");
  expect("1e39\n", PSFWI_ENONFINITE, "not a finite float");
  expect("# only comments\n", PSFWI_EFORMAT, "no samples");
  float *v;
  size_t n;
  psfwi_error e = {0};
  assert_int_equal(psfwi_text_read_series(tu_path("absent.txt"), &v, &n, &e), PSFWI_EIO);
}

int main(void) {
  const struct CMUnitTest tests[] = {cmocka_unit_test(test_read_series),
                                     cmocka_unit_test(test_errors)};
  return cmocka_run_group_tests(tests, NULL, NULL);
}
