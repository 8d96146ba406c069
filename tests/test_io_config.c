/* io/config: INI files validated against a schema; every error path. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "psfwi_config.h"
#include "testutil.h"

static const psfwi_config_key schema[] = {
    {"model", "vp", PSFWI_CFG_PATH, NULL, 0, 0, NULL, "velocity model file"},
    {"time", "duration", PSFWI_CFG_DOUBLE, "1.0", 1e-6, 100.0, NULL, "recording time (s)"},
    {"time", "steps", PSFWI_CFG_INT, NULL, 1, 1000, NULL, "number of steps"},
    {"propagator", "scheme", PSFWI_CFG_CHOICE, "kspace", 0, 0, "kspace|pseudospectral",
     "time stepping"},
    {"propagator", "free_surface", PSFWI_CFG_BOOL, "false", 0, 0, NULL, "p = 0 at z = 0"},
    {"survey", "source_x", PSFWI_CFG_RANGE, NULL, 0, 0, NULL, "first:step:count (m)"},
};
static const size_t nschema = sizeof schema / sizeof schema[0];

static psfwi_config *load_text(const char *name, const char *text, psfwi_error *e, int *st) {
  const char *path = tu_path(name);
  tu_write_file(path, text, strlen(text));
  psfwi_config *c = psfwi_config_create(schema, nschema, e);
  assert_non_null(c);
  *st = psfwi_config_load(c, path, e);
  return c;
}

static void test_valid_file_and_defaults(void **state) {
  (void)state;
  psfwi_error e = {0};
  int st;
  psfwi_config *c = load_text("ok.ini",
                              "; a comment\n[model]\nvp = models/m.nc\n\n[time]\nduration = 2.5\n"
                              "steps = 10\n[propagator]\nfree_surface = yes\n"
                              "[survey]\nsource_x = 0:10:5\n",
                              &e, &st);
  assert_int_equal(st, PSFWI_OK);
  char want[600];
  snprintf(want, sizeof want, "%s/models/m.nc", tu_tmpdir()); /* relative to the file */
  assert_string_equal(psfwi_config_string(c, "model", "vp"), want);
  assert_true(psfwi_config_double(c, "time", "duration") == 2.5);
  assert_int_equal(psfwi_config_int(c, "time", "steps"), 10);
  assert_int_equal(psfwi_config_bool(c, "propagator", "free_surface"), 1);
  assert_string_equal(psfwi_config_string(c, "propagator", "scheme"), "kspace"); /* default */
  /* --set overrides and is validated. */
  assert_int_equal(psfwi_config_set(c, "time.duration=3", &e), PSFWI_OK);
  assert_true(psfwi_config_double(c, "time", "duration") == 3.0);
  assert_int_equal(psfwi_config_set(c, "propagator.scheme=pseudospectral", &e), PSFWI_OK);
  assert_int_equal(psfwi_config_set(c, "model.vp=rel.nc", &e), PSFWI_OK);
  assert_string_equal(psfwi_config_string(c, "model", "vp"), "rel.nc"); /* cwd-relative */
  psfwi_config_destroy(c);
}

/* A comma list of paths: each relative element is taken from the file's
 * folder; absolute ones are kept; --set values are kept as given. */
static void test_path_lists(void **state) {
  (void)state;
  static const psfwi_config_key lk[] = {
      {"data", "train", PSFWI_CFG_PATHS, NULL, 0, 0, NULL, "shard prefixes"}};
  psfwi_error e = {0};
  const char *path = tu_path("list.ini");
  const char *text = "[data]\ntrain = a/x, /abs/y,b\n";
  tu_write_file(path, text, strlen(text));
  psfwi_config *c = psfwi_config_create(lk, 1, &e);
  assert_non_null(c);
  assert_int_equal(psfwi_config_load(c, path, &e), PSFWI_OK);
  char want[1400];
  snprintf(want, sizeof want, "%s/a/x,/abs/y,%s/b", tu_tmpdir(), tu_tmpdir());
  assert_string_equal(psfwi_config_string(c, "data", "train"), want);
  assert_int_equal(psfwi_config_set(c, "data.train=p,q", &e), PSFWI_OK);
  assert_string_equal(psfwi_config_string(c, "data", "train"), "p,q");
  psfwi_config_destroy(c);
}

static void expect(const char *text, int status, const char *needle) {
  psfwi_error e = {0};
  int st;
  psfwi_config *c = load_text("bad.ini", text, &e, &st);
  if (st != status) fail_msg("'%s': status %d, expected %d (%s)", text, st, status, e.msg);
  if (strstr(e.msg, needle) == NULL) fail_msg("message '%s' lacks '%s'", e.msg, needle);
  psfwi_config_destroy(c);
}

static void test_errors_name_file_line_and_allowed(void **state) {
  (void)state;
  expect("[time]\nduration = 2\nspeed = 3\n", PSFWI_EKEY, "bad.ini:3: unknown key 'speed'");
  expect("[time]\nspeed = 3\n", PSFWI_EKEY, "allowed keys: duration, steps");
  expect("[tyme]\nduration = 2\n", PSFWI_EKEY, "unknown section [tyme]");
  expect("[time]\nduration = 2\n", PSFWI_OK, "");
  expect("[time]\nduration = fast\n", PSFWI_EINVAL, "bad.ini:2: [time] duration = 'fast'");
  expect("[time]\nduration = 500\n", PSFWI_ERANGE, "allowed [1e-06, 100]");
  expect("[time]\nduration = nan\n", PSFWI_EINVAL, "finite number");
  expect("[time]\nsteps = 2.5\n", PSFWI_EINVAL, "expected an integer");
  expect("[time]\nsteps = 0\n", PSFWI_ERANGE, "out of range");
  expect("[propagator]\nscheme = fd\n", PSFWI_EINVAL, "expected one of kspace|pseudospectral");
  expect("[propagator]\nfree_surface = maybe\n", PSFWI_EINVAL, "expected true or false");
  expect("[survey]\nsource_x = 0:10\n", PSFWI_EINVAL, "first:step:count");
  expect("[time]\nthis line has no equals sign\n", PSFWI_EFORMAT, "bad.ini:2: syntax error");
  expect("[model]\nvp =\n", PSFWI_EINVAL, "non-empty");
  /* A value out of range is quoted as given, not as converted. */
  expect("[time]\nduration = 100.000000001\n", PSFWI_ERANGE, "'100.000000001' is out of range");
  expect("[time]\nsteps = 1001\n", PSFWI_ERANGE, "'1001' is out of range");
  /* A key given twice (even in a repeated section) names both lines. */
  expect("[time]\nduration = 2\nsteps = 3\nduration = 4\n", PSFWI_EKEY,
         "bad.ini:4: [time] duration is given twice (lines 2 and 4)");
  expect("[time]\nduration = 2\n[model]\nvp = a.nc\n[time]\nduration = 2\n", PSFWI_EKEY,
         "(lines 2 and 6)");
  /* An indented line (inih's continuation) is refused, not glued to a value. */
  expect("[model]\nvp = a.nc\n  steps = 3\n", PSFWI_EFORMAT, "bad.ini:3: indented line");
  expect("[model]\nvp = a.nc\n\t[time]\n", PSFWI_EFORMAT, "bad.ini:3: indented line");
  expect("[model]\nvp = a.nc\n   ; an indented comment is fine\n", PSFWI_OK, "");
  /* A line longer than the parser takes is named, not split in two. */
  char longline[400];
  snprintf(longline, sizeof longline, "[model]\nvp = %0300d\n[time]\nsteps = 3\n", 7);
  expect(longline, PSFWI_EFORMAT, "bad.ini:2: line longer than");
}

static void test_set_and_missing(void **state) {
  (void)state;
  psfwi_error e = {0};
  psfwi_config *c = psfwi_config_create(schema, nschema, &e);
  assert_int_equal(psfwi_config_set(c, "duration=3", &e), PSFWI_EINVAL);
  assert_non_null(strstr(e.msg, "expected section.key=value"));
  assert_int_equal(psfwi_config_set(c, "time.length=3", &e), PSFWI_EKEY);
  assert_non_null(strstr(e.msg, "--set: unknown key 'length' in [time]"));
  assert_int_equal(psfwi_config_set(c, "time.steps=-4", &e), PSFWI_ERANGE);
  assert_false(psfwi_config_is_set(c, "model", "vp"));
  assert_null(psfwi_config_require(c, "model", "vp", &e));
  assert_non_null(strstr(e.msg, "missing required key 'vp' in [model]"));
  assert_null(psfwi_config_path(c));
  assert_int_equal(psfwi_config_load(c, tu_path("nope.ini"), &e), PSFWI_EIO);
  assert_null(psfwi_config_path(c));
  assert_non_null(strstr(e.msg, "nope.ini"));
  /* The dump is itself a valid config. */
  assert_int_equal(psfwi_config_set(c, "survey.source_x=5:1:2", &e), PSFWI_OK);
  FILE *f = fopen(tu_path("dump.ini"), "w");
  psfwi_config_dump(c, f, 0);
  fclose(f);
  psfwi_config *d = psfwi_config_create(schema, nschema, &e);
  assert_int_equal(psfwi_config_load(d, tu_path("dump.ini"), &e), PSFWI_OK);
  assert_string_equal(psfwi_config_string(d, "survey", "source_x"), "5:1:2");
  psfwi_config_destroy(d);
  psfwi_config_destroy(c);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_valid_file_and_defaults),
      cmocka_unit_test(test_path_lists),
      cmocka_unit_test(test_errors_name_file_line_and_allowed),
      cmocka_unit_test(test_set_and_missing),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
