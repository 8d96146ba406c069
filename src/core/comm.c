/* MPI wrapper: see psfwi_comm.h. */
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
  MPI_Error_string(code, text, &len);
  return psfwi_fail(err, PSFWI_EIO, "MPI: %s: %s", what, text);
}
#endif

int psfwi_comm_init(int *argc, char ***argv, psfwi_comm *c, psfwi_error *err) {
  c->rank = 0;
  c->size = 1;
  c->mpi = 0;
#ifdef PSFWI_HAVE_MPI
  if (getenv("OMPI_COMM_WORLD_SIZE") == NULL && getenv("PMIX_RANK") == NULL &&
      getenv("PMI_SIZE") == NULL)
    return PSFWI_OK;
  int inited = 0, st;
  MPI_Initialized(&inited);
  if (!inited && (st = MPI_Init(argc, argv)) != MPI_SUCCESS) return mpi_fail(err, st, "MPI_Init");
  MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
  MPI_Comm_rank(MPI_COMM_WORLD, &c->rank);
  MPI_Comm_size(MPI_COMM_WORLD, &c->size);
  c->mpi = !inited;
#else
  (void)argc;
  (void)argv;
  (void)err;
#endif
  return PSFWI_OK;
}

void psfwi_comm_finalize(psfwi_comm *c) {
#ifdef PSFWI_HAVE_MPI
  if (c->mpi) MPI_Finalize();
#endif
  c->mpi = 0;
}

int psfwi_comm_allreduce_sum(void *ctx, double *buf, size_t n, psfwi_error *err) {
  const psfwi_comm *c = ctx;
  if (c == NULL || c->size <= 1) return PSFWI_OK;
#ifdef PSFWI_HAVE_MPI
  for (size_t off = 0; off < n;) {
    const int k = n - off > (size_t)INT_MAX ? INT_MAX : (int)(n - off);
    int st = MPI_Allreduce(MPI_IN_PLACE, buf + off, k, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD);
    if (st != MPI_SUCCESS) return mpi_fail(err, st, "MPI_Allreduce");
    /* Open MPI gives every rank the same sums in practice; the standard only
     * advises it, and identical optimiser steps on all ranks need it. */
    st = MPI_Bcast(buf + off, k, MPI_DOUBLE, 0, MPI_COMM_WORLD);
    if (st != MPI_SUCCESS) return mpi_fail(err, st, "MPI_Bcast");
    off += (size_t)k;
  }
  return PSFWI_OK;
#else
  (void)buf;
  (void)n;
  return psfwi_fail(err, PSFWI_EINTERNAL, "comm: %d ranks without MPI", c->size);
#endif
}

int psfwi_comm_bcast(const psfwi_comm *c, void *buf, size_t bytes, psfwi_error *err) {
  if (c == NULL || c->size <= 1) return PSFWI_OK;
#ifdef PSFWI_HAVE_MPI
  for (size_t off = 0; off < bytes;) {
    const int k = bytes - off > (size_t)INT_MAX ? INT_MAX : (int)(bytes - off);
    int st = MPI_Bcast((char *)buf + off, k, MPI_BYTE, 0, MPI_COMM_WORLD);
    if (st != MPI_SUCCESS) return mpi_fail(err, st, "MPI_Bcast");
    off += (size_t)k;
  }
  return PSFWI_OK;
#else
  (void)buf;
  (void)bytes;
  return psfwi_fail(err, PSFWI_EINTERNAL, "comm: %d ranks without MPI", c->size);
#endif
}

int psfwi_comm_agree(const psfwi_comm *c, int status) {
  if (c == NULL || c->size <= 1) return status;
#ifdef PSFWI_HAVE_MPI
  int all = status;
  if (MPI_Allreduce(&status, &all, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD) != MPI_SUCCESS)
    return status ? status : PSFWI_EIO;
  return all;
#else
  return status;
#endif
}

void psfwi_comm_shot_range(const psfwi_comm *c, size_t nshot, size_t *first, size_t *count) {
  const size_t size = c && c->size > 0 ? (size_t)c->size : 1;
  const size_t rank = c && c->rank > 0 ? (size_t)c->rank : 0;
  const size_t base = nshot / size, extra = nshot % size;
  *count = base + (rank < extra ? 1 : 0);
  *first = rank * base + (rank < extra ? rank : extra);
}
