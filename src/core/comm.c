/* MPI wrapper: see psfwi_comm.h. Compiles with and without MPI
 * (PSFWI_HAVE_MPI is set by CMake when MPI::MPI_C is found). */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "psfwi_comm.h"
#ifdef PSFWI_HAVE_MPI
#include <mpi.h>
#endif

#ifdef PSFWI_HAVE_MPI
static int mpi_fail(psfwi_error *err, int code, const char *what) {
  char text[MPI_MAX_ERROR_STRING];
  int len = 0;
  if (MPI_Error_string(code, text, &len) != MPI_SUCCESS) strcpy(text, "unknown MPI error");
  return psfwi_fail(err, PSFWI_EIO, "MPI: %s failed: %s (MPI error %d)", what, text, code);
}

/* Started by mpirun/mpiexec (Open MPI, PMIx, or a PMI-1/2 launcher)? */
static int launched_by_mpi(void) {
  return getenv("OMPI_COMM_WORLD_SIZE") != NULL || getenv("PMIX_RANK") != NULL ||
         getenv("PMI_SIZE") != NULL;
}
#endif

/* A collective over more than one rank needs MPI (a hand-filled comm or
 * one already finalised cannot take part in one). */
static int need_mpi(const psfwi_comm *c, const char *what, psfwi_error *err) {
#ifdef PSFWI_HAVE_MPI
  if (c->mpi) return PSFWI_OK;
  return psfwi_fail(err, PSFWI_EINTERNAL, "comm: %s over %d ranks, but MPI is not running", what,
                    c->size);
#else
  return psfwi_fail(err, PSFWI_EINTERNAL, "comm: %s over %d ranks in a build without MPI", what,
                    c->size);
#endif
}

int psfwi_comm_init(int *argc, char ***argv, psfwi_comm *c, psfwi_error *err) {
  c->rank = 0;
  c->size = 1;
  c->mpi = 0;
#ifdef PSFWI_HAVE_MPI
  if (!launched_by_mpi()) return PSFWI_OK;
  int inited = 0, finalized = 0, st;
  MPI_Finalized(&finalized);
  if (finalized) {
    return psfwi_fail(err, PSFWI_EINVAL, "MPI: cannot initialise: MPI was already finalised");
  }
  MPI_Initialized(&inited);
  if (!inited && (st = MPI_Init(argc, argv)) != MPI_SUCCESS) return mpi_fail(err, st, "MPI_Init");
  if ((st = MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN)) != MPI_SUCCESS) {
    return mpi_fail(err, st, "MPI_Comm_set_errhandler");
  }
  int rank = 0, size = 1;
  if ((st = MPI_Comm_rank(MPI_COMM_WORLD, &rank)) != MPI_SUCCESS) {
    return mpi_fail(err, st, "MPI_Comm_rank");
  }
  if ((st = MPI_Comm_size(MPI_COMM_WORLD, &size)) != MPI_SUCCESS) {
    return mpi_fail(err, st, "MPI_Comm_size");
  }
  c->rank = rank;
  c->size = size;
  c->mpi = 1;
#else
  (void)argc;
  (void)argv;
  (void)err;
#endif
  return PSFWI_OK;
}

void psfwi_comm_finalize(psfwi_comm *c) {
  if (c == NULL) return;
#ifdef PSFWI_HAVE_MPI
  int inited = 0, finalized = 0;
  MPI_Initialized(&inited);
  MPI_Finalized(&finalized);
  if (c->mpi && inited && !finalized) MPI_Finalize();
#endif
  c->mpi = 0;
}

int psfwi_comm_allreduce_sum(void *ctx, double *buf, size_t n, psfwi_error *err) {
  const psfwi_comm *c = ctx;
  if (c == NULL || c->size <= 1) return PSFWI_OK;
  int st = need_mpi(c, "sum", err);
  if (st != PSFWI_OK) return st;
#ifdef PSFWI_HAVE_MPI
  for (size_t off = 0; off < n;) {
    const int k = n - off > (size_t)INT_MAX ? INT_MAX : (int)(n - off);
    st = MPI_Allreduce(MPI_IN_PLACE, buf + off, k, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD);
    if (st != MPI_SUCCESS) return mpi_fail(err, st, "MPI_Allreduce");
    /* The standard only advises that every rank receive the same sums (the
     * order of additions may differ per rank); identical optimiser steps on
     * all ranks need bit-identical numbers, so take rank 0's. */
    st = MPI_Bcast(buf + off, k, MPI_DOUBLE, 0, MPI_COMM_WORLD);
    if (st != MPI_SUCCESS) return mpi_fail(err, st, "MPI_Bcast");
    off += (size_t)k;
  }
#else
  (void)buf;
  (void)n;
#endif
  return PSFWI_OK;
}

int psfwi_comm_bcast(const psfwi_comm *c, void *buf, size_t bytes, psfwi_error *err) {
  if (c == NULL || c->size <= 1) return PSFWI_OK;
  int st = need_mpi(c, "broadcast", err);
  if (st != PSFWI_OK) return st;
#ifdef PSFWI_HAVE_MPI
  for (size_t off = 0; off < bytes;) {
    const int k = bytes - off > (size_t)INT_MAX ? INT_MAX : (int)(bytes - off);
    st = MPI_Bcast((char *)buf + off, k, MPI_BYTE, 0, MPI_COMM_WORLD);
    if (st != MPI_SUCCESS) return mpi_fail(err, st, "MPI_Bcast");
    off += (size_t)k;
  }
#else
  (void)buf;
  (void)bytes;
#endif
  return PSFWI_OK;
}

int psfwi_comm_agree(const psfwi_comm *c, int status) {
  if (c == NULL || c->size <= 1) return status;
  if (need_mpi(c, "status agreement", NULL) != PSFWI_OK) {
    return status != PSFWI_OK ? status : PSFWI_EINTERNAL;
  }
#ifdef PSFWI_HAVE_MPI
  int all = status;
  if (MPI_Allreduce(&status, &all, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD) != MPI_SUCCESS) {
    return status != PSFWI_OK ? status : PSFWI_EIO;
  }
  return all;
#else
  return status;
#endif
}

void psfwi_comm_shot_range(const psfwi_comm *c, size_t nshot, size_t *first, size_t *count) {
  const size_t size = c != NULL && c->size > 0 ? (size_t)c->size : 1;
  const size_t rank = c != NULL && c->rank > 0 ? (size_t)c->rank : 0;
  const size_t base = nshot / size, extra = nshot % size;
  if (rank >= size) { /* not a rank of this communicator: no shots */
    *first = nshot;
    *count = 0;
    return;
  }
  *count = base + (rank < extra ? 1 : 0);
  *first = rank * base + (rank < extra ? rank : extra);
}
