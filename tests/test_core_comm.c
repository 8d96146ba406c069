/* core: the single-rank communicator (MPI itself is tested with two ranks by
 * mpi_comm_check.c, ctest name mpi_comm_2ranks), shot blocks that cover
 * every shot exactly once for any number of ranks, and survey subsets. */
#define _POSIX_C_SOURCE 200809L
#include <stdlib.h>
#include <string.h>

#include "psfwi_comm.h"
#include "testutil.h"

/* Run as a plain process (ctest does not start this test under mpirun):
 * no launcher variables, so init must not start MPI. */
static void unset_launcher(void) {
  unsetenv("OMPI_COMM_WORLD_SIZE");
  unsetenv("PMIX_RANK");
  unsetenv("PMI_SIZE");
}

static void test_single_rank(void **state) {
  (void)state;
  psfwi_comm c;
  psfwi_error e;
  int argc = 1;
  char *args[] = {"x", NULL}, **argv = args;
  unset_launcher();
  memset(&c, 0x5a, sizeof c); /* init must set every field */
  assert_int_equal(psfwi_comm_init(&argc, &argv, &c, &e), PSFWI_OK);
  assert_int_equal(c.rank, 0);
  assert_int_equal(c.size, 1);
  assert_int_equal(c.mpi, 0);
  assert_int_equal(argc, 1);
  assert_ptr_equal(argv, args);
  /* idempotent */
  assert_int_equal(psfwi_comm_init(&argc, &argv, &c, &e), PSFWI_OK);
  assert_int_equal(c.size, 1);
  assert_int_equal(c.mpi, 0);

  double buf[3] = {1.5, -2.0, 3.25};
  assert_int_equal(psfwi_comm_allreduce_sum(&c, buf, 3, &e), PSFWI_OK);
  assert_true(buf[0] == 1.5 && buf[1] == -2.0 && buf[2] == 3.25); /* unchanged */
  assert_int_equal(psfwi_comm_allreduce_sum(NULL, buf, 3, &e), PSFWI_OK);
  assert_int_equal(psfwi_comm_allreduce_sum(&c, NULL, 0, &e), PSFWI_OK);
  assert_int_equal(psfwi_comm_bcast(&c, buf, sizeof buf, &e), PSFWI_OK);
  assert_true(buf[0] == 1.5 && buf[1] == -2.0 && buf[2] == 3.25);
  assert_int_equal(psfwi_comm_bcast(NULL, buf, sizeof buf, &e), PSFWI_OK);
  assert_int_equal(psfwi_comm_agree(&c, PSFWI_OK), PSFWI_OK);
  assert_int_equal(psfwi_comm_agree(&c, PSFWI_ERANGE), PSFWI_ERANGE);
  assert_int_equal(psfwi_comm_agree(NULL, PSFWI_EIO), PSFWI_EIO);

  size_t first = 99, count = 99;
  psfwi_comm_shot_range(&c, 7, &first, &count);
  assert_int_equal(first, 0);
  assert_int_equal(count, 7);
  psfwi_comm_finalize(&c);
  psfwi_comm_finalize(&c); /* twice is harmless */
  psfwi_comm_finalize(NULL);
  assert_int_equal(c.mpi, 0);
}

/* A communicator of several ranks that does not run over MPI (filled by
 * hand, or used after finalize) cannot take part in a collective: an error,
 * never a silent no-op that would leave ranks with different sums. */
static void test_collectives_without_mpi(void **state) {
  (void)state;
  psfwi_comm c = {.rank = 0, .size = 2, .mpi = 0};
  psfwi_error e;
  double buf[2] = {1.0, 2.0};
  psfwi_error_clear(&e);
  assert_int_equal(psfwi_comm_allreduce_sum(&c, buf, 2, &e), PSFWI_EINTERNAL);
  assert_non_null(strstr(e.msg, "over 2 ranks"));
  assert_true(buf[0] == 1.0 && buf[1] == 2.0);
  psfwi_error_clear(&e);
  assert_int_equal(psfwi_comm_bcast(&c, buf, sizeof buf, &e), PSFWI_EINTERNAL);
  assert_non_null(strstr(e.msg, "broadcast"));
  assert_int_equal(psfwi_comm_agree(&c, PSFWI_OK), PSFWI_EINTERNAL);
  assert_int_equal(psfwi_comm_agree(&c, PSFWI_ERANGE), PSFWI_ERANGE);
}

static void test_shot_blocks(void **state) {
  (void)state;
  for (size_t nshot = 0; nshot <= 40; nshot++) {
    for (int size = 1; size <= 12; size++) { /* includes nshot < size */
      size_t next = 0, lo = (size_t)-1, hi = 0;
      for (int r = 0; r < size; r++) {
        psfwi_comm c = {.rank = r, .size = size};
        size_t first = 12345, count = 12345;
        psfwi_comm_shot_range(&c, nshot, &first, &count);
        assert_int_equal(first, next); /* contiguous, in rank order */
        assert_true(first + count <= nshot);
        if ((size_t)r >= nshot) { /* more ranks than shots: empty, at the end */
          assert_int_equal(count, 0);
          assert_int_equal(first, nshot);
        }
        /* the first nshot % size ranks hold the extra shot */
        assert_int_equal(count, nshot / (size_t)size + ((size_t)r < nshot % (size_t)size));
        next = first + count;
        lo = count < lo ? count : lo;
        hi = count > hi ? count : hi;
      }
      assert_int_equal(next, nshot); /* every shot exactly once */
      assert_true(hi - lo <= 1);     /* balanced */
    }
  }
  /* one explicit case: 10 shots on 4 ranks -> 3, 3, 2, 2 */
  const size_t want_first[4] = {0, 3, 6, 8}, want_count[4] = {3, 3, 2, 2};
  for (int r = 0; r < 4; r++) {
    psfwi_comm c = {.rank = r, .size = 4};
    size_t first, count;
    psfwi_comm_shot_range(&c, 10, &first, &count);
    assert_int_equal(first, want_first[r]);
    assert_int_equal(count, want_count[r]);
  }
  /* no communicator: everything on this rank; a rank outside the
   * communicator: nothing */
  size_t first, count;
  psfwi_comm_shot_range(NULL, 5, &first, &count);
  assert_int_equal(first, 0);
  assert_int_equal(count, 5);
  psfwi_comm bad = {.rank = 3, .size = 2};
  psfwi_comm_shot_range(&bad, 5, &first, &count);
  assert_int_equal(count, 0);
  assert_int_equal(first, 5);
}

static void test_survey_subset(void **state) {
  (void)state;
  psfwi_error e;
  /* moving spread: every shot has its own receiver positions */
  psfwi_survey *s = psfwi_survey_create_line(100, 50, 5, 10, 0, 20, 4, 5, 1, &e);
  assert_non_null(s);
  for (size_t first = 0; first < 5; first++) {
    for (size_t count = 1; first + count <= 5; count++) {
      psfwi_survey *t = psfwi_survey_subset(s, first, count, &e);
      assert_non_null(t);
      assert_int_equal(t->nshot, count);
      assert_int_equal(t->nrec, 4);
      for (size_t is = 0; is < count; is++) {
        assert_true(t->sx[is] == s->sx[first + is]);
        assert_true(t->sz[is] == s->sz[first + is]);
      }
      for (size_t i = 0; i < count * 4; i++) {
        assert_true(t->rx[i] == s->rx[first * 4 + i]);
        assert_true(t->rz[i] == s->rz[first * 4 + i]);
      }
      psfwi_survey_destroy(t);
    }
  }
  psfwi_survey *t = psfwi_survey_subset(s, 2, 2, &e);
  assert_non_null(t);
  assert_true(t->sx[0] == 200.0 && t->sx[1] == 250.0);
  assert_true(t->rx[0] == 100.0 && t->rx[4] == 150.0); /* the spread moved with the shot */
  t->sx[0] = -1.0;                                     /* a copy, not a view */
  assert_true(s->sx[2] == 200.0);
  psfwi_survey_destroy(t);

  /* past the end, empty, first beyond the end, and first + count wrapping */
  const size_t bad[][2] = {{4, 2}, {0, 6}, {0, 0}, {5, 0}, {6, 1}, {2, (size_t)-1}};
  for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
    psfwi_error_clear(&e);
    assert_null(psfwi_survey_subset(s, bad[k][0], bad[k][1], &e));
    assert_int_equal(e.status, PSFWI_ERANGE);
    assert_non_null(strstr(e.msg, "survey of 5 shots"));
  }
  psfwi_survey_destroy(s);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_single_rank),
      cmocka_unit_test(test_collectives_without_mpi),
      cmocka_unit_test(test_shot_blocks),
      cmocka_unit_test(test_survey_subset),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
