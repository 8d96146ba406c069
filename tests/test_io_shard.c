/* io shards: write/read round trip (values, grid, acquisition text,
 * attributes), refused values on write, and refused files on read
 * (truncated, garbage, a model file, a missing file) with messages that
 * name the file. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "psfwi_io.h"
#include "testutil.h"

static psfwi_shard *filled(size_t ns, size_t nc, size_t w, const psfwi_grid *g) {
  psfwi_error e;
  psfwi_shard *sh = psfwi_shard_create(ns, nc, w, g, &e);
  if (sh == NULL) fail_msg("%s", e.msg);
  unsigned long long st = 42;
  for (size_t i = 0; i < ns * nc * w; i++) sh->features[i] = (float)tu_urand(&st);
  for (size_t i = 0; i < ns * g->nx * g->nz; i++)
    sh->vp[i] = (float)(1500.0 + 3000.0 * tu_uniform(&st));
  for (size_t i = 0; i < ns; i++) {
    sh->family[i] = (int)(i % 3);
    sh->model_seed[i] = (long long)(0xF000000000000000ULL + i); /* negative as int64 */
  }
  return sh;
}

static const char ACQ[] = "mode = whole\nparts = reim\nnfreq = 1\nfreq = 5\n";

static void test_round_trip(void **state) {
  (void)state;
  psfwi_grid g = {.nx = 7, .nz = 5, .dx = 10, .dz = 12.5, .x0 = 100, .z0 = 20};
  psfwi_shard *sh = filled(4, 6, 7, &g);
  const char *path = tu_path("rt.nc");
  psfwi_meta meta = {.title = "test shard", .history = "psfwi test", .config = "[a]\nb = 1\n"};
  psfwi_error e;
  if (psfwi_nc_write_shard(path, sh, ACQ, &meta, &e) != PSFWI_OK) fail_msg("%s", e.msg);
  char *acq = NULL;
  psfwi_shard *r = psfwi_nc_read_shard(path, &acq, &e);
  if (r == NULL) fail_msg("%s", e.msg);
  assert_string_equal(acq, ACQ);
  assert_int_equal(r->nsample, 4);
  assert_int_equal(r->nchan, 6);
  assert_int_equal(r->width, 7);
  assert_int_equal(r->grid.nx, 7);
  assert_int_equal(r->grid.nz, 5);
  assert_true(fabs(r->grid.dx - 10) < 1e-9 && fabs(r->grid.dz - 12.5) < 1e-9);
  assert_true(fabs(r->grid.x0 - 100) < 1e-9 && fabs(r->grid.z0 - 20) < 1e-9);
  assert_memory_equal(r->features, sh->features, 4 * 6 * 7 * sizeof(float));
  assert_memory_equal(r->vp, sh->vp, 4 * 35 * sizeof(float));
  assert_memory_equal(r->family, sh->family, 4 * sizeof(int));
  assert_memory_equal(r->model_seed, sh->model_seed, 4 * sizeof(long long));
  char *cfg = psfwi_nc_read_text_attribute(path, "psfwi_config", &e);
  assert_non_null(cfg);
  assert_string_equal(cfg, "[a]\nb = 1\n");
  free(cfg);
  char *hist = psfwi_nc_read_text_attribute(path, "history", &e);
  assert_non_null(strstr(hist, "psfwi test"));
  free(hist);
  free(acq);
  /* acq_text may be NULL */
  psfwi_shard_destroy(r);
  r = psfwi_nc_read_shard(path, NULL, &e);
  assert_non_null(r);
  psfwi_shard_destroy(r);
  psfwi_shard_destroy(sh);
  /* no temporary left beside it */
  assert_int_equal(tu_system("ls -A '%s' | grep -q '\\.tmp$'", tu_tmpdir()) == 0, 0);
}

static void test_write_refuses(void **state) {
  (void)state;
  psfwi_grid g = {.nx = 3, .nz = 2, .dx = 10, .dz = 10};
  psfwi_shard *sh = filled(2, 2, 3, &g);
  const char *path = tu_path("bad.nc");
  psfwi_error e;
  sh->features[1 * 6 + 1 * 3 + 2] = NAN;
  assert_int_equal(psfwi_nc_write_shard(path, sh, ACQ, NULL, &e), PSFWI_ENONFINITE);
  assert_non_null(strstr(e.msg, "sample 1, channel 1, position 2"));
  assert_non_null(strstr(e.msg, "bad.nc"));
  sh->features[1 * 6 + 1 * 3 + 2] = 0.0f;
  sh->vp[6 + 4] = -1.0f;
  assert_int_equal(psfwi_nc_write_shard(path, sh, ACQ, NULL, &e), PSFWI_ERANGE);
  assert_non_null(strstr(e.msg, "vp of sample 1 at (iz = 1, ix = 1)"));
  sh->vp[6 + 4] = 2000.0f;
  assert_int_equal(psfwi_nc_write_shard(path, sh, NULL, NULL, &e), PSFWI_EINVAL);
  assert_false(tu_exists(path));
  psfwi_shard_destroy(sh);
  assert_null(psfwi_shard_create(0, 1, 1, &g, &e));
  assert_int_equal(e.status, PSFWI_ERANGE);
}

static void test_read_refuses(void **state) {
  (void)state;
  /* large enough (about 700 KiB) that the values, not the in-memory
   * image's free space, fill the second half of the file */
  psfwi_grid g = {.nx = 64, .nz = 40, .dx = 10, .dz = 10};
  psfwi_shard *sh = filled(40, 32, 64, &g);
  const char *good = tu_path("good.nc");
  psfwi_error e;
  if (psfwi_nc_write_shard(good, sh, ACQ, NULL, &e) != PSFWI_OK) fail_msg("%s", e.msg);
  psfwi_shard_destroy(sh);
  FILE *f = fopen(good, "rb");
  assert_non_null(f);
  fseek(f, 0, SEEK_END);
  const long size = ftell(f);
  fseek(f, 0, SEEK_SET);
  unsigned char *bytes = malloc((size_t)size);
  assert_int_equal(fread(bytes, 1, (size_t)size, f), (size_t)size);
  fclose(f);
  /* truncated: at half, and inside the header */
  const size_t cuts[2] = {(size_t)size / 2, 1000};
  for (int k = 0; k < 2; k++) {
    const char *cut = tu_path("truncated.nc");
    tu_write_file(cut, bytes, cuts[k]);
    assert_null(psfwi_nc_read_shard(cut, NULL, &e));
    assert_true(e.status == PSFWI_EFORMAT || e.status == PSFWI_EIO);
    assert_non_null(strstr(e.msg, "truncated.nc"));
  }
  /* garbage */
  const char *junk = tu_path("garbage.nc");
  unsigned long long st = 7;
  for (long i = 0; i < size; i++) bytes[i] = (unsigned char)(256.0 * tu_uniform(&st));
  tu_write_file(junk, bytes, (size_t)size);
  assert_null(psfwi_nc_read_shard(junk, NULL, &e));
  assert_non_null(strstr(e.msg, "garbage.nc"));
  free(bytes);
  /* a model file is not a shard */
  const char *model = tu_path("model.nc");
  psfwi_model *m = psfwi_model_create(&g, &e);
  for (size_t i = 0; i < 64 * 40; i++) m->vp[i] = 2000.0f;
  assert_int_equal(psfwi_nc_write_model(model, m, NULL, &e), PSFWI_OK);
  psfwi_model_destroy(m);
  assert_null(psfwi_nc_read_shard(model, NULL, &e));
  assert_int_equal(e.status, PSFWI_EFORMAT);
  assert_non_null(strstr(e.msg, "model.nc"));
  assert_non_null(strstr(e.msg, "not a psfwi training-data shard"));
  /* missing */
  assert_null(psfwi_nc_read_shard(tu_path("absent.nc"), NULL, &e));
  assert_non_null(strstr(e.msg, "absent.nc"));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_round_trip),
      cmocka_unit_test(test_write_refuses),
      cmocka_unit_test(test_read_refuses),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
