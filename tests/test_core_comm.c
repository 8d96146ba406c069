/* core: the single-rank communicator (MPI runs are tested by cli_fwi.sh with
 * mpirun -np 2), shot blocks that cover every shot exactly once for any
 * number of ranks, and survey subsets. */
#define _POSIX_C_SOURCE 200809L
#include <stdlib.h>
#include <string.h>

#include "psfwi_comm.h"
#include "testutil.h"

static void test_single_rank(void **state) {
  (void)state;
  psfwi_comm c;
  psfwi_error e;
  int argc = 1;
  char *args[] = {"x", NULL}, **argv = args;
  unsetenv("OMPI_COMM_WORLD_SIZE");
  unsetenv("PMIX_RANK");
  unsetenv("PMI_SIZE");
  assert_int_equal(psfwi_comm_init(&argc, &argv, &c, &e), PSFWI_OK);
  assert_int_equal(c.rank, 0);
  assert_int_equal(c.size, 1);
  double buf[3] = {1.5, -2.0, 3.25};
  assert_int_equal(psfwi_comm_allreduce_sum(&c, buf, 3, &e), PSFWI_OK);
  assert_true(buf[0] == 1.5 && buf[1] == -2.0 && buf[2] == 3.25); /* unchanged */
  assert_int_equal(psfwi_comm_bcast(&c, buf, sizeof buf, &e), PSFWI_OK);
  assert_int_equal(psfwi_comm_agree(&c, PSFWI_ERANGE), PSFWI_ERANGE);
  psfwi_comm_finalize(&c);
}

static void test_shot_blocks(void **state) {
  (void)state;
  for (size_t nshot = 1; nshot <= 40; nshot++)
    for (int size = 1; size <= 9; size++) {
      size_t next = 0, lo = (size_t)-1, hi = 0;
      for (int r = 0; r < size; r++) {
        psfwi_comm c = {.rank = r, .size = size};
        size_t first, count;
        psfwi_comm_shot_range(&c, nshot, &first, &count);
        if (count) assert_int_equal(first, next); /* contiguous, in rank order */
        next = first + count;
        lo = count < lo ? count : lo;
        hi = count > hi ? count : hi;
      }
      assert_int_equal(next, nshot); /* every shot once */
      assert_true(hi - lo <= 1);     /* balanced */
    }
}

static void test_survey_subset(void **state) {
  (void)state;
  psfwi_error e;
  psfwi_survey *s = psfwi_survey_create_line(100, 50, 5, 10, 0, 20, 4, 5, 1, &e);
  assert_non_null(s);
  psfwi_survey *t = psfwi_survey_subset(s, 2, 2, &e);
  assert_non_null(t);
  assert_int_equal(t->nshot, 2);
  assert_int_equal(t->nrec, 4);
  assert_true(t->sx[0] == 200.0 && t->sx[1] == 250.0);
  for (size_t i = 0; i < 8; i++) {
    assert_true(t->rx[i] == s->rx[2 * 4 + i]);
    assert_true(t->rz[i] == s->rz[2 * 4 + i]);
  }
  psfwi_survey_destroy(t);
  assert_null(psfwi_survey_subset(s, 4, 2, &e));
  assert_int_equal(e.status, PSFWI_ERANGE);
  assert_non_null(strstr(e.msg, "survey of 5 shots"));
  assert_null(psfwi_survey_subset(s, 0, 0, &e));
  psfwi_survey_destroy(s);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_single_rank),
      cmocka_unit_test(test_shot_blocks),
      cmocka_unit_test(test_survey_subset),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
