/* psfwi comm: the only place MPI appears. Shots are spread over ranks in
 * contiguous blocks; every rank runs the same optimiser on identical
 * numbers, and the one collective per gradient is a sum (psfwi_gradient's
 * reduction point). Built without MPI (or run without an MPI launcher) a
 * psfwi_comm is a single rank and every call is a no-op. */
#ifndef PSFWI_COMM_H
#define PSFWI_COMM_H

#include <stddef.h>

#include "psfwi_core.h"

typedef struct psfwi_comm {
  int rank, size;
  int mpi; /* 1 when MPI was initialised here */
} psfwi_comm;

/* Initialise MPI if psfwi was built with it AND the process was started by
 * an MPI launcher (OMPI_COMM_WORLD_SIZE, PMIX_RANK or PMI_SIZE set), so a
 * plain run never starts MPI's singleton machinery. Otherwise rank 0 of 1. */
int psfwi_comm_init(int *argc, char ***argv, psfwi_comm *c, psfwi_error *err);
void psfwi_comm_finalize(psfwi_comm *c);
/* Sum buf over ranks in place (MPI_Allreduce), then broadcast rank 0's sums
 * so that every rank holds bit-identical values. ctx is a psfwi_comm *
 * (the signature of psfwi_gradient_reduce_fn). */
int psfwi_comm_allreduce_sum(void *ctx, double *buf, size_t n, psfwi_error *err);
int psfwi_comm_bcast(const psfwi_comm *c, void *buf, size_t bytes, psfwi_error *err);
/* The largest status over ranks: all ranks fail together, none waits. */
int psfwi_comm_agree(const psfwi_comm *c, int status);
/* Contiguous balanced blocks: rank r gets shots [first, first + count);
 * the first nshot % size ranks get one more. */
void psfwi_comm_shot_range(const psfwi_comm *c, size_t nshot, size_t *first, size_t *count);

#endif
