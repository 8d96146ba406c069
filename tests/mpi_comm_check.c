/* core comm over real MPI ranks: run as `mpirun -np N mpi_comm_check N`
 * (ctest: mpi_comm_2ranks, N = 2). Not a CMocka program: cmocka's
 * longjmp-on-failure would leave the other ranks waiting in a collective,
 * so every rank runs every check, counts its failures, and the ranks agree
 * on the outcome at the end. Results are cross-checked with raw MPI calls
 * (MPI_Allgather), independently of the functions under test.
 * Exit status 0 when every check passed on every rank. */
#define _GNU_SOURCE /* dl_iterate_phdr, RTLD_NOLOAD (sanitizer builds) */
#include <math.h>
#include <mpi.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "psfwi_comm.h"

#if defined(__SANITIZE_ADDRESS__)
#include <dlfcn.h>
#include <link.h>

/* Under AddressSanitizer. Open MPI dlopens its MCA components (and through
 * them libpmix) and dlcloses them in MPI_Finalize; LeakSanitizer runs at
 * exit, when the code that made Open MPI's deliberate leaks is gone, so its
 * reports show "<unknown module>" and no suppression can name them. Taking
 * one more reference to every loaded object just before MPI_Finalize keeps
 * them mapped, so tests/lsan.supp can suppress Open MPI's libraries by name
 * and a leak in psfwi still fails the test. Open MPI's libraries are built
 * without frame pointers: the slow unwinder gives whole stacks (ASAN_OPTIONS
 * from the environment still override these defaults). */
const char *__asan_default_options(void);
const char *__asan_default_options(void) { return "fast_unwind_on_malloc=0"; }

enum { MAX_PINNED = 1024 };
struct loaded {
  const char *name[MAX_PINNED];
  size_t n;
};
static int note_loaded(struct dl_phdr_info *info, size_t size, void *data) {
  (void)size;
  struct loaded *l = data;
  if (info->dlpi_name != NULL && info->dlpi_name[0] != '\0' && l->n < MAX_PINNED)
    l->name[l->n++] = info->dlpi_name;
  return 0;
}
static void keep_loaded_objects(void) {
  static struct loaded l; /* names collected first: no dlopen inside dl_iterate_phdr */
  l.n = 0;
  dl_iterate_phdr(note_loaded, &l);
  for (size_t i = 0; i < l.n; i++) (void)dlopen(l.name[i], RTLD_LAZY | RTLD_NOLOAD);
}
#else
static void keep_loaded_objects(void) {}
#endif

static int failures = 0, checks = 0, my_rank = -1;

#define CHECK(cond)                                                                              \
  do {                                                                                           \
    checks++;                                                                                    \
    if (!(cond)) {                                                                               \
      failures++;                                                                                \
      fprintf(stderr, "rank %d: %s:%d: check failed: %s\n", my_rank, __FILE__, __LINE__, #cond); \
    }                                                                                            \
  } while (0)

/* Gather every rank's bytes and report whether they are all equal to rank 0's. */
static int same_on_all_ranks(const void *buf, size_t bytes, int size) {
  unsigned char *all = malloc(bytes * (size_t)size);
  if (all == NULL) return 0;
  MPI_Allgather(buf, (int)bytes, MPI_BYTE, all, (int)bytes, MPI_BYTE, MPI_COMM_WORLD);
  int same = 1;
  for (int r = 1; r < size; r++) same &= memcmp(all, all + (size_t)r * bytes, bytes) == 0;
  free(all);
  return same;
}

static void check_init(int *argc, char ***argv, psfwi_comm *c, int want_size) {
  psfwi_error e;
  memset(c, 0x5a, sizeof *c);
  CHECK(psfwi_comm_init(argc, argv, c, &e) == PSFWI_OK);
  my_rank = c->rank;
  int rank = -1, size = -1;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  CHECK(c->mpi == 1);
  CHECK(c->rank == rank);
  CHECK(c->size == size);
  CHECK(c->size == want_size); /* really over MPI, not the serial fallback */
  /* idempotent: again into the same and into another struct */
  psfwi_comm again;
  CHECK(psfwi_comm_init(argc, argv, c, &e) == PSFWI_OK);
  CHECK(psfwi_comm_init(argc, argv, &again, &e) == PSFWI_OK);
  CHECK(c->rank == rank && c->size == size && c->mpi == 1);
  CHECK(again.rank == rank && again.size == size && again.mpi == 1);
}

static void check_allreduce(const psfwi_comm *c) {
  psfwi_error e;
  enum { N = 1000 };
  double buf[N];
  /* exactly representable terms: the sums are exact whatever the order */
  for (size_t i = 0; i < N; i++) buf[i] = (double)(c->rank + 1) * ((double)i - 500.0) * 0.25;
  CHECK(psfwi_comm_allreduce_sum((void *)c, buf, N, &e) == PSFWI_OK);
  const double ranks_sum = 0.5 * (double)c->size * (double)(c->size + 1); /* sum of rank + 1 */
  int exact = 1;
  for (size_t i = 0; i < N; i++) exact &= buf[i] == ranks_sum * ((double)i - 500.0) * 0.25;
  CHECK(exact);

  /* rounding terms whose sum depends on the order of additions: whatever
   * MPI's algorithm did, every rank must hold the very same bits, and they
   * must be a correctly rounded-ish sum */
  for (size_t i = 0; i < N; i++)
    buf[i] = (c->rank % 2 ? 1e16 : 1.0) * (0.1 + 1e-3 * (double)i) * (double)(c->rank + 1) +
             sin((double)(i * 7 + (size_t)c->rank));
  double want[N];
  for (size_t i = 0; i < N; i++) {
    double s = 0.0;
    for (int r = 0; r < c->size; r++)
      s += (r % 2 ? 1e16 : 1.0) * (0.1 + 1e-3 * (double)i) * (double)(r + 1) +
           sin((double)(i * 7 + (size_t)r));
    want[i] = s;
  }
  CHECK(psfwi_comm_allreduce_sum((void *)c, buf, N, &e) == PSFWI_OK);
  CHECK(same_on_all_ranks(buf, sizeof buf, c->size));
  int close = 1;
  for (size_t i = 0; i < N; i++)
    close &= fabs(buf[i] - want[i]) <= 1e-15 * (double)c->size * (fabs(want[i]) + 1.0);
  CHECK(close);

  /* n = 0 and a single value */
  CHECK(psfwi_comm_allreduce_sum((void *)c, NULL, 0, &e) == PSFWI_OK);
  double one = 1.0;
  CHECK(psfwi_comm_allreduce_sum((void *)c, &one, 1, &e) == PSFWI_OK);
  CHECK(one == (double)c->size);
}

static void check_bcast(const psfwi_comm *c) {
  psfwi_error e;
  unsigned char bytes[13]; /* an odd size */
  for (size_t i = 0; i < sizeof bytes; i++)
    bytes[i] = c->rank == 0 ? (unsigned char)(17 * i + 3) : (unsigned char)(0xee - c->rank);
  CHECK(psfwi_comm_bcast(c, bytes, sizeof bytes, &e) == PSFWI_OK);
  int ok = 1;
  for (size_t i = 0; i < sizeof bytes; i++) ok &= bytes[i] == (unsigned char)(17 * i + 3);
  CHECK(ok);
  struct {
    double x;
    int64_t n;
    char name[8];
  } rec = {c->rank == 0 ? -2.5 : 0.0, c->rank == 0 ? INT64_C(1) << 40 : 0, "rank"};
  if (c->rank == 0) memcpy(rec.name, "zero", 5);
  CHECK(psfwi_comm_bcast(c, &rec, sizeof rec, &e) == PSFWI_OK);
  CHECK(rec.x == -2.5 && rec.n == INT64_C(1) << 40 && strcmp(rec.name, "zero") == 0);
  CHECK(psfwi_comm_bcast(c, NULL, 0, &e) == PSFWI_OK);
}

static void check_agree(const psfwi_comm *c) {
  CHECK(psfwi_comm_agree(c, PSFWI_OK) == PSFWI_OK);
  /* one rank fails: all see the failure */
  const int last = c->size - 1;
  CHECK(psfwi_comm_agree(c, c->rank == last ? PSFWI_ERANGE : PSFWI_OK) == PSFWI_ERANGE);
  CHECK(psfwi_comm_agree(c, c->rank == 0 ? PSFWI_EIO : PSFWI_OK) == PSFWI_EIO);
  /* different failures: the largest code */
  CHECK(psfwi_comm_agree(c, c->rank == 0 ? PSFWI_ENOMEM : PSFWI_EINTERNAL) ==
        (c->size > 1 ? PSFWI_EINTERNAL : PSFWI_ENOMEM));
}

static void check_shot_ranges(const psfwi_comm *c) {
  psfwi_error e;
  for (size_t nshot = 0; nshot <= 17; nshot++) {
    size_t first, count;
    psfwi_comm_shot_range(c, nshot, &first, &count);
    /* every shot marked by the rank that owns it, summed over ranks */
    double *mark = calloc(nshot + 1, sizeof *mark);
    if (mark == NULL) {
      CHECK(mark != NULL);
      return;
    }
    for (size_t is = first; is < first + count && is < nshot; is++) mark[is] += 1.0;
    CHECK(first + count <= nshot);
    CHECK(psfwi_comm_allreduce_sum((void *)c, mark, nshot + 1, &e) == PSFWI_OK);
    int once = 1;
    for (size_t is = 0; is < nshot; is++) once &= mark[is] == 1.0;
    CHECK(once); /* every shot exactly once over the ranks */
    free(mark);
    /* and the blocks are contiguous, in rank order, balanced */
    unsigned long long mine[2] = {first, count}, *all = malloc(sizeof mine * (size_t)c->size);
    if (all == NULL) {
      CHECK(all != NULL);
      return;
    }
    MPI_Allgather(mine, 2, MPI_UNSIGNED_LONG_LONG, all, 2, MPI_UNSIGNED_LONG_LONG, MPI_COMM_WORLD);
    unsigned long long next = 0, lo = ~0ULL, hi = 0;
    for (int r = 0; r < c->size; r++) {
      CHECK(all[2 * r] == next);
      next = all[2 * r] + all[2 * r + 1];
      lo = all[2 * r + 1] < lo ? all[2 * r + 1] : lo;
      hi = all[2 * r + 1] > hi ? all[2 * r + 1] : hi;
    }
    CHECK(next == nshot && hi - lo <= 1);
    free(all);
  }
}

static void check_subsets(const psfwi_comm *c) {
  psfwi_error e;
  const size_t nshot = 5, nrec = 3;
  psfwi_survey *s = psfwi_survey_create_line(100, 50, nshot, 10, 0, 20, nrec, 5, 1, &e);
  CHECK(s != NULL);
  if (s == NULL) return;
  size_t first, count;
  psfwi_comm_shot_range(c, nshot, &first, &count);
  double xsum[1] = {0.0}; /* sum of all source x over the ranks' subsets */
  if (count > 0) {
    psfwi_survey *t = psfwi_survey_subset(s, first, count, &e);
    CHECK(t != NULL);
    if (t != NULL) {
      CHECK(t->nshot == count && t->nrec == nrec);
      for (size_t is = 0; is < count; is++) {
        CHECK(t->sx[is] == s->sx[first + is]);
        CHECK(t->rx[is * nrec] == s->rx[(first + is) * nrec]);
        xsum[0] += t->sx[is];
      }
      psfwi_survey_destroy(t);
    }
  }
  CHECK(psfwi_comm_allreduce_sum((void *)c, xsum, 1, &e) == PSFWI_OK);
  CHECK(xsum[0] == 100.0 + 150.0 + 200.0 + 250.0 + 300.0);
  psfwi_survey_destroy(s);
}

int main(int argc, char **argv) {
  const int want_size = argc > 1 ? atoi(argv[1]) : 2;
  if (getenv("OMPI_COMM_WORLD_SIZE") == NULL && getenv("PMIX_RANK") == NULL &&
      getenv("PMI_SIZE") == NULL) {
    fprintf(stderr, "mpi_comm_check: run me under mpirun -np %d\n", want_size);
    return 1;
  }
  psfwi_comm c;
  check_init(&argc, &argv, &c, want_size);
  if (c.mpi != 1 || c.size != want_size) {
    fprintf(stderr, "rank %d: psfwi_comm_init did not start MPI over %d ranks; stopping\n", my_rank,
            want_size);
    if (c.mpi) psfwi_comm_finalize(&c);
    return 1;
  }
  check_allreduce(&c);
  check_bcast(&c);
  check_agree(&c);
  check_shot_ranges(&c);
  check_subsets(&c);

  /* the outcome over all ranks, with raw MPI */
  int total = 0;
  MPI_Allreduce(&failures, &total, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
  const int rank = c.rank, size = c.size;

  keep_loaded_objects();
  psfwi_comm_finalize(&c);
  int finalized = 0;
  MPI_Finalized(&finalized);
  CHECK(finalized && c.mpi == 0);
  psfwi_comm_finalize(&c); /* twice is harmless */
  /* after finalize, over several ranks: errors, not MPI calls (which would
   * abort); a single rank has nothing to communicate and stays a no-op */
  psfwi_error e;
  double x = 1.0;
  const int after = size > 1 ? PSFWI_EINTERNAL : PSFWI_OK;
  CHECK(psfwi_comm_allreduce_sum(&c, &x, 1, &e) == after);
  CHECK(psfwi_comm_bcast(&c, &x, sizeof x, &e) == after);
  CHECK(psfwi_comm_agree(&c, PSFWI_OK) == after);
  psfwi_comm late;
  CHECK(psfwi_comm_init(&argc, &argv, &late, &e) == PSFWI_EINVAL);
  /* total: failures over all ranks before finalize; failures: this rank's,
   * including the checks after finalize (mpirun fails if any rank does) */
  if (rank == 0)
    printf(
        "mpi_comm_check: %d checks per rank on %d ranks: %d failed over all ranks, %d on rank "
        "0\n",
        checks, size, total, failures);
  return total == 0 && failures == 0 ? 0 : 1;
}
