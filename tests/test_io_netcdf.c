/* io/netcdf: bit-exact round trips of models, gathers and histories; CF
 * attributes; every reader error path provoked on purpose. */
#include <math.h>
#include <netcdf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "psfwi_io.h"
#include "testutil.h"

static psfwi_model *ramp_model(size_t nx, size_t nz) {
  psfwi_grid g = {.nx = nx, .nz = nz, .dx = 12.5, .dz = 7.25, .x0 = 100.0, .z0 = 0.0};
  psfwi_model *m = psfwi_model_create(&g, NULL);
  assert_non_null(m);
  for (size_t iz = 0; iz < nz; iz++)
    for (size_t ix = 0; ix < nx; ix++) /* values that are not round in binary */
      m->vp[iz * nx + ix] = 1500.0f + 1.1f * (float)iz + 0.013f * (float)(ix * ix) / 3.0f;
  return m;
}

static char *get_att(int nc, int var, const char *name) {
  size_t len;
  if (nc_inq_attlen(nc, var, name, &len) != NC_NOERR) return NULL;
  char *s = calloc(len + 1, 1);
  nc_get_att_text(nc, var, name, s);
  return s;
}

static void assert_att(int nc, int var, const char *name, const char *want) {
  char *s = get_att(nc, var, name);
  assert_non_null(s);
  assert_string_equal(s, want);
  free(s);
}

static void test_model_round_trip_bit_exact(void **state) {
  (void)state;
  psfwi_model *m = ramp_model(37, 23);
  const char *path = tu_path("m.nc");
  psfwi_meta meta = {.title = "test model", .history = "psfwi test"};
  psfwi_error e = {0};
  assert_int_equal(psfwi_nc_write_model(path, m, &meta, &e), PSFWI_OK);
  psfwi_model *r = psfwi_nc_read_model(path, NULL, &e);
  assert_non_null(r);
  assert_int_equal(r->grid.nx, 37);
  assert_int_equal(r->grid.nz, 23);
  assert_true(fabs(r->grid.dx - 12.5) < 1e-12 && fabs(r->grid.dz - 7.25) < 1e-12);
  assert_true(fabs(r->grid.x0 - 100.0) < 1e-12);
  assert_memory_equal(r->vp, m->vp, 37 * 23 * sizeof(float));

  /* CF layout as viewers expect it. */
  int nc, v, d[2];
  assert_int_equal(nc_open(path, NC_NOWRITE, &nc), NC_NOERR);
  assert_att(nc, NC_GLOBAL, "Conventions", "CF-1.8");
  assert_att(nc, NC_GLOBAL, "title", "test model");
  char *src = get_att(nc, NC_GLOBAL, "source");
  assert_non_null(strstr(src, "psfwi"));
  free(src);
  char *hist = get_att(nc, NC_GLOBAL, "history");
  assert_non_null(strstr(hist, "psfwi test"));
  assert_true(hist[4] == '-' && hist[10] == 'T'); /* ISO time stamp first */
  free(hist);
  assert_int_equal(nc_inq_varid(nc, "vp", &v), NC_NOERR);
  nc_type t;
  int nd;
  assert_int_equal(nc_inq_var(nc, v, NULL, &t, &nd, d, NULL), NC_NOERR);
  assert_int_equal(t, NC_FLOAT);
  assert_int_equal(nd, 2);
  char dn[NC_MAX_NAME + 1];
  nc_inq_dimname(nc, d[0], dn);
  assert_string_equal(dn, "z");
  nc_inq_dimname(nc, d[1], dn);
  assert_string_equal(dn, "x");
  assert_att(nc, v, "units", "m/s");
  char *long_name = get_att(nc, v, "long_name");
  assert_non_null(long_name);
  free(long_name);
  assert_int_equal(nc_inq_varid(nc, "z", &v), NC_NOERR);
  assert_att(nc, v, "units", "m");
  assert_att(nc, v, "positive", "down");
  assert_int_equal(nc_inq_varid(nc, "x", &v), NC_NOERR);
  assert_att(nc, v, "units", "m");
  nc_close(nc);
  /* No temporary file is left behind. */
  assert_int_equal(tu_system("ls '%s' | grep -c tmp >/dev/null", tu_tmpdir()), 1);
  psfwi_model_destroy(m);
  psfwi_model_destroy(r);
}

static void test_model_writer_refuses_nan(void **state) {
  (void)state;
  psfwi_model *m = ramp_model(5, 4);
  m->vp[7] = NAN;
  psfwi_error e = {0};
  const char *path = tu_path("nan.nc");
  assert_int_equal(psfwi_nc_write_model(path, m, NULL, &e), PSFWI_ENONFINITE);
  assert_false(tu_exists(path));
  psfwi_model_destroy(m);
}

/* Write a NetCDF file by hand with the given quirks, then read it. */
enum quirk {
  Q_NONE,
  Q_NAN,
  Q_UNITS_KMS,
  Q_DIMS_XZ,
  Q_UNEVEN,
  Q_NEGATIVE,
  Q_NO_X,
  Q_3D,
  Q_FILL_DEFAULT, /* one cell left at the NetCDF default fill */
  Q_FILL_ATT,     /* an explicit _FillValue, and one cell equal to it */
  Q_MISSING,      /* a missing_value attribute, and one cell equal to it */
  Q_EMPTY_X,      /* x unlimited and never written: 0 points */
  Q_EMPTY_Z,      /* z unlimited and never written: 0 points */
  Q_COORD_ZDIM    /* coordinate x defined along z */
};

static const char *write_quirky(enum quirk q) {
  static char name[32];
  snprintf(name, sizeof name, "quirk%d.nc", (int)q);
  const char *path = tu_path(name);
  int nc, d[3], vz, vx, vv;
  const size_t nx = 6, nz = 5;
  assert_int_equal(nc_create(path, NC_NETCDF4 | NC_CLOBBER, &nc), NC_NOERR);
  if (q == Q_3D) nc_def_dim(nc, "iteration", 2, &d[2]);
  nc_def_dim(nc, "z", q == Q_EMPTY_Z ? NC_UNLIMITED : nz, &d[0]);
  nc_def_dim(nc, "x", q == Q_EMPTY_X ? NC_UNLIMITED : nx, &d[1]);
  nc_def_var(nc, "z", NC_DOUBLE, 1, &d[0], &vz);
  if (q != Q_NO_X) nc_def_var(nc, "x", NC_DOUBLE, 1, q == Q_COORD_ZDIM ? &d[0] : &d[1], &vx);
  int dims[3] = {d[0], d[1], 0};
  if (q == Q_DIMS_XZ) dims[0] = d[1], dims[1] = d[0];
  if (q == Q_3D) dims[0] = d[2], dims[1] = d[0], dims[2] = d[1];
  nc_def_var(nc, "vp", NC_FLOAT, q == Q_3D ? 3 : 2, dims, &vv);
  const char *units = q == Q_UNITS_KMS ? "km/s" : "m/s";
  nc_put_att_text(nc, vv, "units", strlen(units), units);
  const float fill = -1.0f, missing = 0.0f;
  if (q == Q_FILL_ATT) nc_put_att_float(nc, vv, "_FillValue", NC_FLOAT, 1, &fill);
  if (q == Q_MISSING) nc_put_att_float(nc, vv, "missing_value", NC_FLOAT, 1, &missing);
  nc_enddef(nc);
  if (q == Q_EMPTY_X || q == Q_EMPTY_Z) { /* nothing written along the empty axis */
    if (q == Q_EMPTY_X) nc_put_var_double(nc, vz, (const double[5]){0, 10, 20, 30, 40});
    nc_close(nc);
    return path;
  }
  double zc[5] = {0, 10, 20, 30, 40}, xc[6] = {0, 10, 20, 30, 40, 50};
  if (q == Q_UNEVEN) xc[3] = 31.0;
  nc_put_var_double(nc, vz, zc);
  if (q != Q_NO_X) nc_put_var_double(nc, vx, xc);
  float v[60];
  for (int i = 0; i < 60; i++) v[i] = 2000.0f;
  if (q == Q_NAN) v[13] = NAN;
  if (q == Q_NEGATIVE) v[13] = -1.0f;
  if (q == Q_FILL_ATT) v[13] = fill;
  if (q == Q_MISSING) v[13] = missing;
  if (q == Q_FILL_DEFAULT) { /* all but cell [iz = 2, ix = 1] written */
    for (size_t i = 0; i < 30; i++)
      if (i != 13) nc_put_var1_float(nc, vv, (const size_t[2]){i / 6, i % 6}, &v[i]);
  } else {
    nc_put_var_float(nc, vv, v);
  }
  nc_close(nc);
  return path;
}

static void expect_read_error(enum quirk q, int status, const char *needle) {
  psfwi_error e = {0};
  const char *path = write_quirky(q);
  psfwi_model *m = psfwi_nc_read_model(path, NULL, &e);
  assert_null(m);
  assert_int_equal(e.status, status);
  if (strstr(e.msg, needle) == NULL) fail_msg("message '%s' lacks '%s'", e.msg, needle);
  assert_non_null(strstr(e.msg, path));
}

static void test_model_reader_errors(void **state) {
  (void)state;
  psfwi_error e = {0};
  psfwi_model *ok = psfwi_nc_read_model(write_quirky(Q_NONE), NULL, &e);
  assert_non_null(ok);
  assert_true(fabs(ok->grid.dx - 10.0) < 1e-12);
  psfwi_model_destroy(ok);
  expect_read_error(Q_NAN, PSFWI_ENONFINITE, "ix = 1, iz = 2");
  expect_read_error(Q_NEGATIVE, PSFWI_ERANGE, "expected > 0");
  expect_read_error(Q_UNITS_KMS, PSFWI_EFORMAT, "expected 'm/s'");
  expect_read_error(Q_DIMS_XZ, PSFWI_EFORMAT, "expected (z, x)");
  expect_read_error(Q_UNEVEN, PSFWI_EFORMAT, "not evenly spaced");
  expect_read_error(Q_NO_X, PSFWI_EFORMAT, "coordinate variable 'x' is missing");
  expect_read_error(Q_3D, PSFWI_EFORMAT, "3 dimension");
  expect_read_error(Q_FILL_DEFAULT, PSFWI_EFORMAT,
                    "vp(z = 20 m, x = 10 m) [iz = 2, ix = 1] is missing (the NetCDF default "
                    "_FillValue 9.96921e+36)");
  expect_read_error(Q_FILL_ATT, PSFWI_EFORMAT, "[iz = 2, ix = 1] is missing (_FillValue -1)");
  expect_read_error(Q_MISSING, PSFWI_EFORMAT, "[iz = 2, ix = 1] is missing (missing_value 0)");
  expect_read_error(Q_EMPTY_X, PSFWI_EFORMAT, "dimension 'x' is empty");
  expect_read_error(Q_EMPTY_Z, PSFWI_EFORMAT, "dimension 'z' is empty");
  expect_read_error(Q_COORD_ZDIM, PSFWI_EFORMAT,
                    "coordinate variable 'x' has 1 dimension(s) ('z'); expected x(x) of length 6");

  /* Missing file, not NetCDF, truncated NetCDF. */
  assert_null(psfwi_nc_read_model(tu_path("absent.nc"), NULL, &e));
  assert_non_null(strstr(e.msg, "absent.nc"));
  const char junk[] = "this is not a netcdf file at all";
  tu_write_file(tu_path("junk.nc"), junk, sizeof junk);
  assert_null(psfwi_nc_read_model(tu_path("junk.nc"), NULL, &e));
  assert_int_equal(e.status, PSFWI_EFORMAT); /* refused by the header pre-check */
  assert_non_null(strstr(e.msg, "not a NetCDF file"));
  psfwi_model *m = ramp_model(40, 30);
  assert_int_equal(psfwi_nc_write_model(tu_path("full.nc"), m, NULL, &e), PSFWI_OK);
  assert_int_equal(tu_system("head -c 3000 '%s' > '%s'", tu_path("full.nc"), tu_path("cut.nc")), 0);
  assert_null(psfwi_nc_read_model(tu_path("cut.nc"), NULL, &e));
  assert_non_null(strstr(e.msg, "cut.nc"));
  /* Another variable name that does not exist. */
  assert_null(psfwi_nc_read_model(tu_path("full.nc"), "vs", &e));
  assert_non_null(strstr(e.msg, "no variable 'vs'"));
  psfwi_model_destroy(m);
}

static void test_gather_round_trip(void **state) {
  (void)state;
  psfwi_error e = {0};
  psfwi_survey *s = psfwi_survey_create_line(10.0, 20.0, 3, 5.0, 0.0, 12.5, 4, 2.5, 1, &e);
  assert_non_null(s);
  psfwi_gather *g = psfwi_gather_create(s, 50, 0.002, &e);
  assert_non_null(g);
  for (size_t i = 0; i < 3 * 4 * 50; i++) g->data[i] = sinf(0.37f * (float)i) / 3.0f;
  for (size_t i = 0; i < 50; i++) g->wavelet[i] = (float)i / 7.0f;
  psfwi_meta meta = {.title = "shots", .history = "test", .config = "[time]\nduration = 1\n"};
  const char *path = tu_path("shots.nc");
  assert_int_equal(psfwi_nc_write_gather(path, g, &meta, &e), PSFWI_OK);
  psfwi_gather *r = psfwi_nc_read_gather(path, &e);
  assert_non_null(r);
  assert_int_equal(r->nt, 50);
  assert_true(fabs(r->dt - 0.002) < 1e-15);
  assert_memory_equal(r->data, g->data, 3 * 4 * 50 * sizeof(float));
  assert_memory_equal(r->wavelet, g->wavelet, 50 * sizeof(float));
  assert_memory_equal(r->survey->rx, s->rx, 12 * sizeof(double));
  assert_memory_equal(r->survey->sz, s->sz, 3 * sizeof(double));
  /* A gather is not a model: the model reader says so. */
  assert_null(psfwi_nc_read_model(path, NULL, &e));
  /* A NaN in a trace is refused and nothing is written. */
  g->data[17] = NAN;
  assert_int_equal(psfwi_nc_write_gather(tu_path("bad.nc"), g, NULL, &e), PSFWI_ENONFINITE);
  assert_false(tu_exists(tu_path("bad.nc")));
  /* A model file is not a gather. */
  psfwi_model *m = ramp_model(5, 5);
  assert_int_equal(psfwi_nc_write_model(tu_path("mm.nc"), m, NULL, &e), PSFWI_OK);
  assert_null(psfwi_nc_read_gather(tu_path("mm.nc"), &e));
  assert_non_null(strstr(e.msg, "dimension 'shot' is missing"));
  psfwi_model_destroy(m);
  psfwi_gather_destroy(g);
  psfwi_gather_destroy(r);
  psfwi_survey_destroy(s);
}

static void test_history(void **state) {
  (void)state;
  psfwi_error e = {0};
  psfwi_model *m = ramp_model(8, 6);
  const char *names[] = {"objective", "rmse"}, *units[] = {"1", "m/s"};
  const char *path = tu_path("hist.nc");
  psfwi_history *h = psfwi_history_create(path, &m->grid, 2, names, units, NULL, &e);
  assert_non_null(h);
  assert_false(tu_exists(path)); /* only the temporary exists while running */
  for (int it = 0; it < 3; it++) {
    double sc[2] = {10.0 / (it + 1), 5.0 * it};
    m->vp[0] = 1000.0f + (float)it;
    assert_int_equal(psfwi_history_append(h, m, sc, &e), PSFWI_OK);
  }
  assert_int_equal(psfwi_history_close(h, 1, &e), PSFWI_OK);
  int nc, v, d;
  size_t n;
  assert_int_equal(nc_open(path, NC_NOWRITE, &nc), NC_NOERR);
  assert_int_equal(nc_inq_dimid(nc, "iteration", &d), NC_NOERR);
  nc_inq_dimlen(nc, d, &n);
  assert_int_equal(n, 3);
  int unlim;
  nc_inq_unlimdim(nc, &unlim);
  assert_int_equal(unlim, d);
  double obj[3];
  assert_int_equal(nc_inq_varid(nc, "objective", &v), NC_NOERR);
  nc_get_var_double(nc, v, obj);
  assert_true(fabs(obj[2] - 10.0 / 3.0) < 1e-15);
  float first;
  size_t idx[3] = {2, 0, 0};
  assert_int_equal(nc_inq_varid(nc, "vp", &v), NC_NOERR);
  nc_get_var1_float(nc, v, idx, &first);
  assert_true(first == 1002.0f);
  nc_close(nc);
  /* psfwi info describes it. */
  FILE *out = fopen(tu_path("info.txt"), "w");
  assert_int_equal(psfwi_nc_describe(path, out, &e), PSFWI_OK);
  fclose(out);
  assert_int_equal(tu_system("grep -q 'iteration  *3 (unlimited)' '%s'", tu_path("info.txt")), 0);
  assert_int_equal(tu_system("grep -q 'step 12.5' '%s'", tu_path("info.txt")), 0);
  /* A discarded history leaves nothing. */
  h = psfwi_history_create(tu_path("gone.nc"), &m->grid, 2, names, units, NULL, &e);
  assert_non_null(h);
  assert_int_equal(psfwi_history_close(h, 0, &e), PSFWI_OK);
  assert_false(tu_exists(tu_path("gone.nc")));
  psfwi_model_destroy(m);
}

static void test_snapshots(void **state) {
  (void)state;
  psfwi_error e = {0};
  psfwi_model *m = ramp_model(9, 7);
  const char *path = tu_path("snaps.nc");
  psfwi_history *h = psfwi_snapshots_create(path, &m->grid, NULL, &e);
  assert_non_null(h);
  for (int k = 0; k < 4; k++) {
    const double t = 0.01 * k;
    m->vp[3] = (float)k - 1.5f; /* pressure may be negative */
    assert_int_equal(psfwi_history_append(h, m, &t, &e), PSFWI_OK);
  }
  assert_int_equal(psfwi_history_close(h, 1, &e), PSFWI_OK);
  int nc, v, d;
  size_t n;
  assert_int_equal(nc_open(path, NC_NOWRITE, &nc), NC_NOERR);
  assert_int_equal(nc_inq_dimid(nc, "time", &d), NC_NOERR);
  nc_inq_dimlen(nc, d, &n);
  assert_int_equal(n, 4);
  assert_int_equal(nc_inq_varid(nc, "pressure", &v), NC_NOERR);
  float p;
  size_t idx[3] = {3, 0, 3};
  nc_get_var1_float(nc, v, idx, &p);
  assert_true(p == 1.5f);
  assert_int_equal(nc_inq_varid(nc, "time", &v), NC_NOERR);
  double t[4];
  nc_get_var_double(nc, v, t);
  assert_true(t[3] == 0.03);
  assert_att(nc, NC_GLOBAL, "Conventions", "CF-1.8");
  assert_int_not_equal(nc_inq_varid(nc, "iteration", &v), NC_NOERR);
  nc_close(nc);
  psfwi_model_destroy(m);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_model_round_trip_bit_exact),
      cmocka_unit_test(test_model_writer_refuses_nan),
      cmocka_unit_test(test_model_reader_errors),
      cmocka_unit_test(test_gather_round_trip),
      cmocka_unit_test(test_history),
      cmocka_unit_test(test_snapshots),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
