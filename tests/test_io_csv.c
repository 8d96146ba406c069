/* io: survey geometry from CSV, and the writers' helpers (temporary name,
 * commit by rename). Every error names FILE:LINE. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "psfwi_io.h"
#include "testutil.h"

static const char *write_text(const char *name, const char *text) {
  const char *p = tu_path(name);
  tu_write_file(p, text, strlen(text));
  return p;
}

static void expect_fail(const char *name, const char *text, int st, const char *where,
                        const char *what) {
  const char *p = write_text(name, text);
  psfwi_error e;
  psfwi_error_clear(&e);
  psfwi_survey *s = psfwi_csv_read_survey(p, &e);
  char loc[600];
  snprintf(loc, sizeof loc, "%s%s", p, where);
  if (s != NULL || e.status != st || strstr(e.msg, loc) == NULL ||
      (what && strstr(e.msg, what) == NULL))
    fprintf(stderr, "unexpected: status %d (wanted %d), message: %s\n", e.status, st, e.msg);
  assert_null(s);
  assert_int_equal(e.status, st);
  assert_non_null(strstr(e.msg, loc));
  if (what) assert_non_null(strstr(e.msg, what));
}

static void test_csv_good(void **state) {
  (void)state;
  psfwi_error e;
  const char *p = write_text("s.csv",
                             "# a survey: two shots, three receivers each\r\n"
                             "shot, source_x, source_z, receiver_x, receiver_z\r\n"
                             "\n"
                             "0, 100.5, 10, 0, 5   # first receiver\n"
                             "0,100.5,10,20,5\n"
                             "0,100.5,10,40.25,6.5\n"
                             "   # an indented comment\n"
                             "1,300,12,200,5\n"
                             "1,300,12,220,5\n"
                             "1,300,12,1e3,5.0");
  psfwi_survey *s = psfwi_csv_read_survey(p, &e);
  assert_non_null(s);
  assert_int_equal(s->nshot, 2);
  assert_int_equal(s->nrec, 3);
  assert_true(s->sx[0] == 100.5 && s->sz[0] == 10.0 && s->sx[1] == 300.0 && s->sz[1] == 12.0);
  const double rx[6] = {0, 20, 40.25, 200, 220, 1000}, rz[6] = {5, 5, 6.5, 5, 5, 5};
  for (size_t k = 0; k < 6; k++) assert_true(s->rx[k] == rx[k] && s->rz[k] == rz[k]);
  psfwi_survey_destroy(s);
  /* No header line, a single shot with a single receiver. */
  s = psfwi_csv_read_survey(write_text("one.csv", "0,1,2,3,4\n"), &e);
  assert_non_null(s);
  assert_true(s->nshot == 1 && s->nrec == 1 && s->rz[0] == 4.0);
  psfwi_survey_destroy(s);
}

static void test_csv_errors(void **state) {
  (void)state;
  expect_fail("f4.csv", "shot,sx,sz,rx,rz\n0,1,2,3\n", PSFWI_EFORMAT, ":2:", "field 5");
  expect_fail("word.csv", "0,1,2,3,4\n0,1,x,3,4\n", PSFWI_EFORMAT, ":2:", "field 3 (source_z)");
  expect_fail("nan.csv", "0,1,2,3,4\n0,1,2,nan,4\n", PSFWI_EFORMAT, ":2:", "field 4");
  expect_fail("inf.csv", "0,1,2,3,inf\n", PSFWI_EFORMAT, ":1:", "field 5");
  expect_fail("big.csv", "0,1,2,3,1e999\n", PSFWI_EFORMAT, ":1:", "field 5");
  expect_fail("six.csv", "0,1,2,3,4,5\n", PSFWI_EFORMAT, ":1:", "after 5 fields");
  expect_fail("hdr2.csv", "shot,a,b,c,d\n0,1,2,3,4\nshot,a,b,c,d\n", PSFWI_EFORMAT,
              ":3:", "field 1");
  expect_fail("frac.csv", "0,1,2,3,4\n0.5,1,2,3,4\n", PSFWI_EFORMAT, ":2:", "shot number 0.5");
  expect_fail("neg.csv", "-1,1,2,3,4\n", PSFWI_EFORMAT, ":1:", "shot number -1");
  expect_fail("first.csv", "# c\n1,1,2,3,4\n", PSFWI_EFORMAT, ":2:", "first shot is 1");
  expect_fail("skip.csv", "0,1,2,3,4\n2,1,2,3,4\n", PSFWI_EFORMAT, ":2:", "shot 2 follows shot 0");
  expect_fail("back.csv", "0,1,2,3,4\n1,1,2,3,4\n0,1,2,3,4\n", PSFWI_EFORMAT,
              ":3:", "shot 0 follows shot 1");
  expect_fail("src.csv", "0,1,2,3,4\n0,1,2.5,5,4\n", PSFWI_EFORMAT, ":2:", "on line 1");
  expect_fail("count.csv", "0,1,2,3,4\n0,1,2,5,4\n1,9,2,3,4\n1,9,2,5,4\n2,8,2,3,4\n", PSFWI_EFORMAT,
              ":5:", "shot 2 has 1 receivers but shot 0 has 2");
  expect_fail("count2.csv", "0,1,2,3,4\n0,1,2,5,4\n1,9,2,3,4\n1,9,2,5,4\n1,9,2,7,4\n2,8,2,3,4\n",
              PSFWI_EFORMAT, ":3:", "shot 1 has 3 receivers but shot 0 has 2");
  expect_fail("empty.csv", "", PSFWI_EFORMAT, ": no receiver", NULL);
  expect_fail("only_hdr.csv", "# nothing\nshot,sx,sz,rx,rz\n\n", PSFWI_EFORMAT, ": no receiver",
              NULL);
  const char nul[] = "0,1,2,3,4\n0,1\0,2,3,4\n";
  const char *p = tu_path("nul.csv");
  tu_write_file(p, nul, sizeof nul - 1);
  psfwi_error e;
  assert_null(psfwi_csv_read_survey(p, &e));
  assert_int_equal(e.status, PSFWI_EFORMAT);
  assert_non_null(strstr(e.msg, ":2:"));
  assert_null(psfwi_csv_read_survey(tu_path("absent.csv"), &e));
  assert_int_equal(e.status, PSFWI_EIO);
  assert_non_null(strstr(e.msg, "absent.csv"));
}

static void test_tmp_and_commit(void **state) {
  (void)state;
  char buf[600], small[8];
  const char *target = tu_path("target.bin");
  assert_ptr_equal(psfwi_tmp_path(target, buf, sizeof buf), buf);
  char want[600], host[128];
  assert_int_equal(gethostname(host, sizeof host), 0);
  host[sizeof host - 1] = '\0';
  for (char *c = host; *c; c++)
    if (*c == '.' || *c == '/') *c = '_';
  snprintf(want, sizeof want, "%s/.target.bin.%s.%ld.tmp", tu_tmpdir(), host, (long)getpid());
  assert_string_equal(buf, want); /* hidden, beside the target */
  /* Temporaries of the same target left by processes that are gone are
   * removed; a live process's, another host's and another target's stay. */
  const pid_t child = fork();
  assert_true(child >= 0);
  if (child == 0) _exit(0);
  assert_int_equal(waitpid(child, NULL, 0), child);
  char dead[700], live[700], other_host[700], other_target[700];
  snprintf(dead, sizeof dead, "%s/.target.bin.%s.%ld.tmp", tu_tmpdir(), host, (long)child);
  snprintf(live, sizeof live, "%s/.target.bin.%s.%ld.tmp", tu_tmpdir(), host, (long)getppid());
  snprintf(other_host, sizeof other_host, "%s/.target.bin.otherhost_x.%ld.tmp", tu_tmpdir(),
           (long)child);
  snprintf(other_target, sizeof other_target, "%s/.target.bin2.%s.%ld.tmp", tu_tmpdir(), host,
           (long)child);
  tu_write_file(dead, "x", 1);
  tu_write_file(live, "x", 1);
  tu_write_file(other_host, "x", 1);
  tu_write_file(other_target, "x", 1);
  assert_ptr_equal(psfwi_tmp_path(target, buf, sizeof buf), buf);
  assert_false(tu_exists(dead));
  assert_true(tu_exists(live));
  assert_true(tu_exists(other_host));
  assert_true(tu_exists(other_target));
  unlink(live);
  unlink(other_host);
  unlink(other_target);
  /* Too small a buffer: no truncated name that could be another file. */
  assert_null(psfwi_tmp_path(target, small, sizeof small));
  assert_string_equal(small, "");
  /* Commit replaces the target atomically and leaves no temporary file. */
  tu_write_file(target, "old", 3);
  tu_write_file(buf, "new!", 4);
  psfwi_error e;
  assert_int_equal(psfwi_commit_file(buf, target, &e), PSFWI_OK);
  assert_false(tu_exists(buf));
  FILE *f = fopen(target, "rb");
  assert_non_null(f);
  char got[8] = {0};
  assert_int_equal(fread(got, 1, sizeof got, f), 4);
  fclose(f);
  assert_string_equal(got, "new!");
  /* Failures name both files and remove the temporary file. */
  assert_int_equal(psfwi_commit_file(buf, target, &e), PSFWI_EIO); /* tmp is gone */
  assert_non_null(strstr(e.msg, buf));
  tu_write_file(buf, "x", 1);
  const char *nodir = tu_path("missing/dir/target.bin");
  assert_int_equal(psfwi_commit_file(buf, nodir, &e), PSFWI_EIO);
  assert_non_null(strstr(e.msg, buf));
  assert_non_null(strstr(e.msg, nodir));
  assert_false(tu_exists(buf));
  assert_int_equal(psfwi_commit_file("", target, &e), PSFWI_EINVAL);
}

/* Outputs may not be inputs or each other, compared by identity. */
static void test_run_files(void **state) {
  (void)state;
  char in[600], link_to_in[600], hard[600], out1[600], out1b[600], out2[600];
  snprintf(in, sizeof in, "%s", tu_path("obs.nc"));
  snprintf(link_to_in, sizeof link_to_in, "%s", tu_path("link.nc"));
  snprintf(hard, sizeof hard, "%s", tu_path("hard.nc"));
  snprintf(out1, sizeof out1, "%s", tu_path("new.nc"));
  snprintf(out1b, sizeof out1b, "%s/./new.nc", tu_tmpdir()); /* same file, other spelling */
  snprintf(out2, sizeof out2, "%s", tu_path("other.nc"));
  tu_write_file(in, "data", 4);
  assert_int_equal(symlink(in, link_to_in), 0);
  assert_int_equal(link(in, hard), 0);
  psfwi_error e = {0};
  const psfwi_run_file ok[] = {{"[data] observed", in, 0},
                               {"[output] model", out1, 1},
                               {"[output] history", out2, 1},
                               {"[output] state", NULL, 1}};
  assert_int_equal(psfwi_check_run_files(ok, 4, &e), PSFWI_OK);
  const psfwi_run_file via_link[] = {{"[data] observed", in, 0},
                                     {"[output] history", link_to_in, 1}};
  assert_int_equal(psfwi_check_run_files(via_link, 2, &e), PSFWI_EINVAL);
  assert_non_null(strstr(e.msg, "[output] history"));
  assert_non_null(strstr(e.msg, "[data] observed"));
  assert_non_null(strstr(e.msg, "an input of this run"));
  const psfwi_run_file via_hard[] = {{"[output] model", hard, 1}, {"-c", in, 0}};
  assert_int_equal(psfwi_check_run_files(via_hard, 2, &e), PSFWI_EINVAL);
  assert_non_null(strstr(e.msg, "[output] model"));
  const psfwi_run_file two_out[] = {{"[output] model", out1, 1}, {"[output] history", out1b, 1}};
  assert_int_equal(psfwi_check_run_files(two_out, 2, &e), PSFWI_EINVAL);
  assert_non_null(strstr(e.msg, "name the same file"));
  /* Two inputs may be one file (the true model as the prior, say). */
  const psfwi_run_file two_in[] = {{"[model] vp", in, 0}, {"[model] true", hard, 0}};
  assert_int_equal(psfwi_check_run_files(two_in, 2, &e), PSFWI_OK);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_csv_good),
      cmocka_unit_test(test_csv_errors),
      cmocka_unit_test(test_tmp_and_commit),
      cmocka_unit_test(test_run_files),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
