/* psfwi invert (gradient part): data misfits with their adjoint sources, a
 * zero-phase data filter with its exact transpose, Griewank's binomial
 * checkpointing ("revolve"), and the exact discrete-adjoint gradient of the
 * objective over all shots with respect to the velocity model. The backward
 * of one time step lives in src/wave (psfwi_wave_step_backward); this module
 * drives it. Derivation, memory model and tests: docs/gradient.md; speed:
 * docs/BENCHMARKS.md (Gradient).
 *
 * Layouts and units (SI): traces tr[itr * nt + it] (a shot gather is
 * itr = ir, the survey's data is itr = is * nrec + ir, as psfwi_gather.data);
 * models and gradients m[iz * nx + ix]; frequencies in Hz; dt in s;
 * velocities in m/s; the gradient dJ/dv in (units of J) per (m/s).
 *
 * Status codes: PSFWI_OK, PSFWI_EINVAL (bad option or argument),
 * PSFWI_ERANGE (value out of range, memory budget too small),
 * PSFWI_ENONFINITE (NaN/Inf in data), PSFWI_ENOMEM, and those of
 * psfwi_wave_vel_term / psfwi_survey_check for models and surveys. */
#ifndef PSFWI_INVERT_H
#define PSFWI_INVERT_H

#include <stddef.h>

#include "psfwi_core.h"
#include "psfwi_wave.h"

/* ---- Data filter ------------------------------------------------------------
 * Zero-phase Butterworth filter applied forward then backward in time
 * (filtfilt with zero initial conditions): F = R C R C, C the causal cascade
 * of second-order sections, R time reversal. F is a symmetric matrix, so
 * the adjoint equals the filter itself (proved by a dot-product test).
 * Amplitude response |H(f)|^2 of one Butterworth pass: 1/2 at each corner. */
typedef struct psfwi_filter_opts {
  double f_lowcut;  /* Hz, high-pass corner; 0: none */
  double f_highcut; /* Hz, low-pass corner; 0: none */
  int order;        /* Butterworth order of each pass, 1..10 (default 4) */
} psfwi_filter_opts;

void psfwi_filter_opts_defaults(psfwi_filter_opts *o);

typedef struct psfwi_filter psfwi_filter;
/* A filter for traces sampled at dt (s). Corners must lie in (0, 1/(2 dt)),
 * f_lowcut < f_highcut when both are given, at least one given (EINVAL /
 * ERANGE otherwise). */
psfwi_filter *psfwi_filter_create(const psfwi_filter_opts *o, double dt, psfwi_error *err);
void psfwi_filter_destroy(psfwi_filter *f);
double psfwi_filter_dt(const psfwi_filter *f);
/* In place on ntrace traces of nt samples (tr[itr * nt + it]); internal
 * arithmetic in double. Use it on observed data, modelled data and the
 * source wavelet alike. */
int psfwi_filter_apply(const psfwi_filter *f, size_t ntrace, size_t nt, float *traces,
                       psfwi_error *err);
/* The transpose F^T (= F): the adjoint of psfwi_filter_apply. */
int psfwi_filter_adjoint(const psfwi_filter *f, size_t ntrace, size_t nt, float *traces,
                         psfwi_error *err);

/* ---- Misfits --------------------------------------------------------------------
 * For traces u (modelled) and d (observed), optionally both filtered by F
 * inside the objective (u_f = F u, d_f = F d, adjoint source F^T dJ/du_f):
 *   L2:          J = 1/2 sum_tr sum_t (u_f - d_f)^2
 *   SPECTRAL:    J = 1/2 sum_tr sum_k |D_k(u_f) - D_k(d_f)|^2, with the DFT at
 *                the chosen frequencies D_k(x) = dt sum_t x[t] exp(-2 pi i f_k t dt);
 *                adjoint source dt Re(sum_k dD_k exp(+2 pi i f_k t dt))
 *   CORRELATION: J = sum_tr (1 - <u_f, d_f> / (|u_f| |d_f|)) (insensitive to
 *                the amplitude of each trace); a trace with u_f or d_f
 *                identically zero contributes 0 and no adjoint source. */
typedef enum {
  PSFWI_MISFIT_L2 = 0,
  PSFWI_MISFIT_SPECTRAL = 1,
  PSFWI_MISFIT_CORRELATION = 2
} psfwi_misfit_kind;

typedef struct psfwi_misfit_opts {
  psfwi_misfit_kind kind;     /* default L2 */
  const double *freqs;        /* SPECTRAL: nfreq frequencies in Hz, in [0, 1/(2 dt)] */
  size_t nfreq;
  const psfwi_filter *filter; /* NULL: none; borrowed (must outlive the misfit), same dt */
} psfwi_misfit_opts;

void psfwi_misfit_opts_defaults(psfwi_misfit_opts *o);

typedef struct psfwi_misfit psfwi_misfit;
/* A misfit for traces of nt samples at dt (s); copies the frequency list
 * and precomputes the DFT tables. */
psfwi_misfit *psfwi_misfit_create(const psfwi_misfit_opts *o, size_t nt, double dt,
                                  psfwi_error *err);
void psfwi_misfit_destroy(psfwi_misfit *mf);
size_t psfwi_misfit_nt(const psfwi_misfit *mf);
double psfwi_misfit_dt(const psfwi_misfit *mf);
psfwi_misfit_kind psfwi_misfit_get_kind(const psfwi_misfit *mf);
/* J (added to nothing: *J is set) and adj[itr * nt + it] = dJ/du (NULL: not
 * computed) for ntrace traces. syn and obs must be finite (ENONFINITE names
 * the array, trace and sample). Thread-safe (allocates its own scratch). */
int psfwi_misfit_eval(const psfwi_misfit *mf, size_t ntrace, const float *syn, const float *obs,
                      double *J, float *adj, psfwi_error *err);

/* ---- Checkpointing (Griewank's binomial "revolve") ----------------------------
 * Reversing l forward steps with c checkpoints (the initial state counts as
 * one) needs at least p(l, c) = r l - C(c + r, r - 1) forward steps besides
 * the l steps taped just before their reversal, where r is the smallest
 * integer with C(c + r, c) >= l (Griewank 1992). SIZE_MAX when c == 0 and l >= 2. */
size_t psfwi_revolve_advances(size_t l, size_t c);
/* Build the recursive binomial schedule for l steps and c checkpoints and
 * simulate it: *advances = forward steps it performs (excluding tapes),
 * *max_snaps = most snapshots (besides the initial state) held at once.
 * Fails (EINTERNAL) if the schedule does not reverse every step exactly
 * once in reverse order from a correctly positioned state. */
int psfwi_revolve_simulate(size_t l, size_t c, size_t *advances, size_t *max_snaps,
                           psfwi_error *err);

/* How a shot's forward wavefield is kept. The nstep steps are cut into nseg
 * segments of seg_len steps (the last may be shorter). Revolve runs over the
 * segments with nsnap stored states (two padded fields each) plus the zero
 * initial state; reversing a segment recomputes it once from its start,
 * taping the seg_len Laplacian fields the backward needs. Keeping all steps
 * is the plan nseg = 1 (seg_len = nstep, no recomputation). */
typedef struct psfwi_checkpoint_plan {
  size_t nstep;      /* internal steps of a shot */
  size_t seg_len;    /* steps per taped segment */
  size_t nseg;       /* segments */
  size_t nsnap;      /* stored states (two padded fields each) */
  size_t recomputed; /* forward steps recomputed: seg_len * p(nseg, nsnap + 1) */
  size_t fields;     /* padded fields held: seg_len + 2 nsnap */
} psfwi_checkpoint_plan;

/* The plan with the fewest recomputed steps within max_fields padded fields
 * (SIZE_MAX: keep all). seg_len > 0 forces the segment length (1: classic
 * revolve with one-step tapes). Refuses (ERANGE, naming the memory needed)
 * budgets below one field or plans recomputing more than max_ratio * nstep
 * steps. */
int psfwi_checkpoint_plan_make(size_t nstep, size_t max_fields, size_t seg_len,
                               double max_ratio, psfwi_checkpoint_plan *plan, psfwi_error *err);

/* ---- Objective and gradient over all shots ---------------------------------------
 * The single reduction point: called once with the packed local sums
 *   buf[0] = J, buf[1 .. 1 + nxz) = dJ/dvel_term summed onto the model grid,
 *   buf[1 + nxz .. 1 + 2 nxz) = illumination, buf[1 + 2 nxz .. n) = the
 *   wavelet gradient at the internal rate (nt * nsub values),
 * to be summed in place over processes (MPI_Allreduce(MPI_IN_PLACE, buf, n,
 * MPI_DOUBLE, MPI_SUM, comm)) when each process ran a subset of the shots. */
typedef int (*psfwi_gradient_reduce_fn)(void *ctx, double *buf, size_t n, psfwi_error *err);

typedef struct psfwi_gradient_opts {
  double mem_budget_mb; /* MiB (2^20 bytes) for the stored forward wavefields (tapes and
                           snapshots) of all shots running at once; <= 0: keep all steps */
  size_t seg_len;       /* 0: automatic; else forces the segment length (see plan) */
  double max_recompute; /* refuse plans recomputing more than this times nstep (default 20) */
  int nthreads;         /* threads over shots; <= 0: the propagator's nthreads_shots, and
                           if that is <= 0 too, omp_get_max_threads() */
  size_t nslot;         /* partial sums (default 8): shot is goes to slot is % nslot and
                           slots are processed in shot order and summed in slot order, so
                           results do not depend on nthreads (at most nslot threads work) */
  psfwi_gradient_reduce_fn reduce; /* NULL: none */
  void *reduce_ctx;
} psfwi_gradient_opts;

void psfwi_gradient_opts_defaults(psfwi_gradient_opts *o);

typedef struct psfwi_gradient_stats {
  psfwi_checkpoint_plan plan; /* per shot */
  size_t nthreads;            /* threads used */
  size_t fwd_steps;           /* forward steps over all shots (taped + recomputed) */
  size_t bwd_steps;           /* backward steps over all shots */
  double recompute_ratio;     /* fwd_steps / (nshot nstep) */
  size_t bytes_storage;       /* stored wavefields per running shot (tapes + snapshots) */
  size_t bytes_per_thread;    /* everything a running shot holds */
  size_t bytes_total;         /* all buffers of the call (plans and partial sums included) */
  double seconds;             /* wall clock */
} psfwi_gradient_stats;

/* Objective J and its exact discrete gradient for model m (checked by
 * psfwi_wave_vel_term against w's grid and velocity bounds), every shot of
 * survey s (checked), the wavelet (nt samples at dt_out, as
 * psfwi_wave_model_shots) and observed data d_obs[(is * nrec + ir) * nt + it]
 * (finite). The modelled data are exactly those of psfwi_wave_model_shots.
 * mf: a misfit made for nt samples at dt_out. Outputs (each may be NULL):
 *   grad[iz * nx + ix]   dJ/dv, double, per m/s
 *   illum[iz * nx + ix]  source illumination sum_shots sum_n u[n]^2 dt (Pa^2 s):
 *                        the pseudo-Hessian diagonal, for preconditioning
 *   grad_wavelet[it]     dJ/dwavelet[it] (it < nt)
 * With all three NULL only J is computed (forward modelling, no storage).
 * o NULL: defaults. stats may be NULL. */
int psfwi_gradient(const psfwi_wave *w, const psfwi_model *m, const psfwi_survey *s,
                   const float *wavelet, size_t nt, const float *d_obs,
                   const psfwi_misfit *mf, const psfwi_gradient_opts *o, double *J,
                   double *grad, double *illum, double *grad_wavelet,
                   psfwi_gradient_stats *stats, psfwi_error *err);

#endif
