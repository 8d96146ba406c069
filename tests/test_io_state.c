/* io: resumable-state files round-trip every type bit for bit (empty items
 * included), refuse files of another kind or not state files, and name the
 * missing or mis-sized item; no temporary file is left. */
#define _DEFAULT_SOURCE
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "psfwi_io.h"
#include "testutil.h"

static void test_round_trip(void **state) {
  (void)state;
  unsigned char bytes[5] = {0, 1, 254, 255, 7};
  float f[4] = {1.1f, -0.0f, 3e-38f, 1e30f};
  double d[3] = {M_PI, -1e-300, 12345.678};
  psfwi_state_item items[] = {{"bytes", PSFWI_STATE_U8, 5, bytes},
                              {"floats", PSFWI_STATE_F32, 4, f},
                              {"doubles", PSFWI_STATE_F64, 3, d},
                              {"empty", PSFWI_STATE_F64, 0, d}};
  psfwi_error e;
  const char *path = tu_path("s.nc");
  psfwi_meta meta = {.title = "test", .history = "test_io_state"};
  assert_int_equal(psfwi_state_write(path, "unit", items, 4, &meta, &e), PSFWI_OK);
  psfwi_state_item *r;
  size_t n;
  assert_int_equal(psfwi_state_read(path, "unit", &r, &n, &e), PSFWI_OK);
  assert_int_equal(n, 4);
  const psfwi_state_item *it = psfwi_state_find(r, n, "bytes", PSFWI_STATE_U8, 5, path, &e);
  assert_non_null(it);
  assert_memory_equal(it->data, bytes, 5);
  it = psfwi_state_find(r, n, "floats", PSFWI_STATE_F32, 4, path, &e);
  assert_non_null(it);
  assert_memory_equal(it->data, f, sizeof f);
  it = psfwi_state_find(r, n, "doubles", PSFWI_STATE_F64, (size_t)-1, path, &e);
  assert_non_null(it);
  assert_memory_equal(it->data, d, sizeof d);
  it = psfwi_state_find(r, n, "empty", PSFWI_STATE_F64, 0, path, &e);
  assert_non_null(it);
  assert_null(psfwi_state_find(r, n, "floats", PSFWI_STATE_F32, 5, path, &e));
  assert_non_null(strstr(e.msg, "'floats' has 4 values"));
  assert_null(psfwi_state_find(r, n, "missing", PSFWI_STATE_U8, 1, path, &e));
  assert_non_null(strstr(e.msg, "'missing' is missing"));
  psfwi_state_free(r, n);
  assert_int_equal(psfwi_state_read(path, "fwi", &r, &n, &e), PSFWI_EFORMAT);
  assert_non_null(strstr(e.msg, "a state file of a 'unit' run, expected 'fwi'"));
  assert_int_equal(tu_system("ls '%s' | grep -q '\\.tmp\\.'", tu_tmpdir()), 1);
}

static void test_not_a_state_file(void **state) {
  (void)state;
  psfwi_error e;
  psfwi_grid g = {.nx = 3, .nz = 2, .dx = 1, .dz = 1};
  psfwi_model *m = psfwi_model_create(&g, &e);
  for (int i = 0; i < 6; i++) m->vp[i] = 1500.0f;
  const char *path = tu_path("m.nc");
  assert_int_equal(psfwi_nc_write_model(path, m, NULL, &e), PSFWI_OK);
  psfwi_state_item *r;
  size_t n;
  assert_int_equal(psfwi_state_read(path, "fwi", &r, &n, &e), PSFWI_EFORMAT);
  assert_non_null(strstr(e.msg, "not a psfwi state file"));
  tu_write_file(tu_path("junk.nc"), "CDF\001 garbage", 12);
  assert_int_not_equal(psfwi_state_read(tu_path("junk.nc"), "fwi", &r, &n, &e), PSFWI_OK);
  assert_non_null(strstr(e.msg, "junk.nc"));
  psfwi_model_destroy(m);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_round_trip),
      cmocka_unit_test(test_not_a_state_file),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
