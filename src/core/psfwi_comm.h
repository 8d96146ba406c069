/* psfwi comm: the only place MPI appears (comm.c is the only file that
 * includes mpi.h). Shots are spread over ranks in contiguous blocks; every
 * rank runs the same optimiser on identical numbers, and the one collective
 * per gradient is a sum (psfwi_gradient's reduction point). Built without
 * MPI, or run without an MPI launcher, a psfwi_comm is rank 0 of 1 and every
 * call is a no-op. Design notes: docs/ARCHITECTURE.md ("MPI"). */
#ifndef PSFWI_COMM_H
#define PSFWI_COMM_H

#include <stddef.h>

#include "psfwi_core.h"

/* rank in [0, size); mpi is 1 while the communicator runs over
 * MPI_COMM_WORLD (from psfwi_comm_init until psfwi_comm_finalize). A
 * hand-filled {rank, size} with mpi 0 is fine for psfwi_comm_shot_range. */
typedef struct psfwi_comm {
  int rank, size;
  int mpi;
} psfwi_comm;

/* Initialise MPI if psfwi was built with it AND the process was started by
 * an MPI launcher (OMPI_COMM_WORLD_SIZE, PMIX_RANK or PMI_SIZE set), so a
 * plain run never starts MPI's singleton machinery; otherwise rank 0 of 1.
 * Idempotent: MPI_Init is called at most once per process, and MPI that is
 * already initialised (by an earlier call or by the application) is used as
 * it is. MPI errors on the communicator are returned, not fatal. Returns
 * PSFWI_OK, or PSFWI_EIO (MPI failed) / PSFWI_EINVAL (MPI already finalised)
 * with the MPI error text in err. */
int psfwi_comm_init(int *argc, char ***argv, psfwi_comm *c, psfwi_error *err);
/* Finalise MPI if c runs over it and MPI is not finalised yet (so calling
 * it twice is harmless); then c->mpi = 0. An application that manages MPI
 * itself and must keep it running afterwards does not call this. */
void psfwi_comm_finalize(psfwi_comm *c);

/* Sum buf[0 .. n-1] over ranks in place (MPI_Allreduce, in chunks of at
 * most INT_MAX values), then broadcast rank 0's sums so that every rank
 * holds bit-identical values. A collective: every rank calls it with the
 * same n. ctx is a psfwi_comm * (the signature of psfwi_gradient_reduce_fn);
 * NULL or size 1: no-op. PSFWI_EIO on an MPI error; PSFWI_EINTERNAL if
 * size > 1 but the communicator does not run over MPI. */
int psfwi_comm_allreduce_sum(void *ctx, double *buf, size_t n, psfwi_error *err);
/* Copy rank 0's bytes buf[0 .. bytes-1] to every rank (collective; same
 * bytes everywhere). Return codes as psfwi_comm_allreduce_sum. */
int psfwi_comm_bcast(const psfwi_comm *c, void *buf, size_t bytes, psfwi_error *err);
/* The largest status over ranks (collective), so all ranks fail together
 * and none waits in a later collective. Size 1: status. If the reduction
 * itself fails: status, or PSFWI_EIO if status was PSFWI_OK. */
int psfwi_comm_agree(const psfwi_comm *c, int status);
/* Contiguous balanced blocks: rank r gets shots [*first, *first + *count),
 * in rank order; the first nshot % size ranks get one more. Ranks with no
 * shot (nshot < size) get *count = 0 and *first = nshot. Pure arithmetic:
 * no communication. */
void psfwi_comm_shot_range(const psfwi_comm *c, size_t nshot, size_t *first, size_t *count);

#endif
