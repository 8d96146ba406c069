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
#include "psfwi_eval.h"
#include "psfwi_io.h"
#include "psfwi_optim.h"
#include "psfwi_regularize.h"

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
 *                identically zero contributes 0 and no adjoint source.
 *   L1:          J = sum_tr sum_t |r|, r = u_f - d_f; adjoint source sign(r)
 *                (0 where r = 0): a subgradient, the derivative wherever no
 *                sample has r = 0 (J is not differentiable there, so finite
 *                differences agree only with steps that cross no kink)
 *   HUBER:       J = sum_tr sum_t h(r), h(r) = r^2 / 2 for |r| <= delta,
 *                delta (|r| - delta / 2) otherwise (continuous with its
 *                derivative); adjoint source clamp(r, -delta, delta);
 *                delta = huber_delta, in data units, must be > 0
 *   ENVELOPE:    J = sum_tr sum_t (E(u_f) - E(d_f))^2 / 2, E(x) = sqrt(x^2 +
 *                (H x)^2 + eps^2) the envelope (H the Hilbert transform by
 *                zero-padded FFTs, eps = 1e-6 max|d|); adjoint source
 *                r u / E(u) - H(r H u / E(u)), r = E(u) - E(d) (H^T = -H):
 *                blind to the phase, for data whose wavelet phase psfwi
 *                cannot model (Bozdag et al. 2011)
 *   PHASE:       J = sum_tr sum_t |n(u_f) - n(d_f)|^2 / 2, n(x) = a / sqrt(|a|^2
 *                + c^2 mean|a|^2), a = x + i H x (c = 0.1): the instantaneous
 *                phase as a unit phasor, damped where the envelope is far
 *                below its RMS; blind to amplitude (n(lambda x) = n(x)), for
 *                data whose amplitudes psfwi cannot model (Bozdag et al.
 *                2011; Fichtner et al. 2008); adjoint source in misfit.c
 * r and the values are computed in double from the (filtered) float traces. */
typedef enum {
  PSFWI_MISFIT_L2 = 0,
  PSFWI_MISFIT_SPECTRAL = 1,
  PSFWI_MISFIT_CORRELATION = 2,
  PSFWI_MISFIT_L1 = 3,
  PSFWI_MISFIT_HUBER = 4,
  PSFWI_MISFIT_ENVELOPE = 5,
  PSFWI_MISFIT_PHASE = 6
} psfwi_misfit_kind;

typedef struct psfwi_misfit_opts {
  psfwi_misfit_kind kind; /* default L2 */
  const double *freqs;    /* SPECTRAL: nfreq frequencies in Hz, in [0, 1/(2 dt)] */
  size_t nfreq;
  const psfwi_filter *filter; /* NULL: none; borrowed (must outlive the misfit), same dt */
  double huber_delta;         /* HUBER: threshold delta > 0 (data units); default 0 =
                                 unset, an error for HUBER; ignored otherwise */
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
/* With data weights (weight[itr * nt + it], NULL: none; e.g. a mute, an
 * offset or time window, dead traces at 0): J(W F u, W F d) and the
 * adjoint source F^T W dJ/d(W F u), the same weights on modelled and
 * observed traces. eval is eval_w with NULL, bit for bit. */
int psfwi_misfit_eval_w(const psfwi_misfit *mf, size_t ntrace, const float *syn, const float *obs,
                        const float *weight, double *J, float *adj, psfwi_error *err);
int psfwi_misfit_eval(const psfwi_misfit *mf, size_t ntrace, const float *syn, const float *obs,
                      double *J, float *adj, psfwi_error *err);

/* ---- Source-wavelet estimation (survey data) ------------------------------------
 * The wave equation is linear and time-invariant in its source: traces
 * modelled with a wavelet w are those modelled with w0 convolved with the
 * filter W / W0. Given ntrace modelled traces syn (made with w0) and the
 * observed obs (same layout), the one filter F that maps the modelled to
 * the observed in the least-squares sense over all live traces is, per
 * frequency, F = sum conj(S_k) D_k / (sum |S_k|^2 + eps max_f sum |S_k|^2)
 * (Pratt 1999; eps: the water level, 1e-3 is usual), and w = F * w0 (nt
 * samples). Transforms of at least 2 nt points, so that nothing wraps
 * around. live (NULL: all) marks the traces that count (dead traces 0). For
 * one wavelet per shot, call it per shot on that shot's traces. info (may
 * be NULL): live traces, |obs|^2 and the residual |obs - F syn|^2 after the
 * filter, both over the live traces. Not thread-safe with other FFTW
 * planning in the process unless FFTW's planner is made thread-safe (it is:
 * src/wave does that too). */
typedef struct psfwi_source_info {
  size_t live;
  double obs_energy, residual_energy;
} psfwi_source_info;
int psfwi_source_estimate(size_t ntrace, size_t nt, const float *syn, const float *obs,
                          const unsigned char *live, const float *w0, double eps, float *w,
                          psfwi_source_info *info, psfwi_error *err);
/* The same in two steps, for shots spread over processes: the sums of
 * this process's traces (psfwi_source_nsum(nt) doubles, set), to be added
 * over processes (they are plain sums), then the filter applied to w0.
 * band (may be NULL): the filter then acts only where the band filter
 * passes, F_b = 1 + R (F - 1), R = min(1, 10 |H|), |H| the band filter's
 * amplitude response: the full correction where the band keeps a tenth of
 * the amplitude, none where it keeps nothing (the band's iterations would
 * otherwise fit a half-corrected corner by moving the model). */
size_t psfwi_source_nsum(size_t nt);
int psfwi_source_sums(size_t ntrace, size_t nt, const float *syn, const float *obs,
                      const unsigned char *live, double *sums, psfwi_error *err);
int psfwi_source_apply(size_t nt, const double *sums, const float *w0, double eps,
                       const psfwi_filter *band, float *w, psfwi_source_info *info,
                       psfwi_error *err);

/* The direct wave, for a first estimate of the wavelet from the early part
 * of near-offset traces (psfwi data wavelet --direct): traces (s's layout,
 * nt samples at dt) of the wavelet w0 propagated through a homogeneous
 * medium of velocity v, (1/v^2) p_tt - lap p = w0(t) delta (psfwi's
 * equation and amplitude): the 2-D Green's function
 * G(t) = H(t - T) / (2 pi sqrt(t^2 - T^2)), T = r / v, convolved with w0,
 * integrated exactly against w0's linear interpolation; free_surface: minus
 * the mirror source's wave (z -> -z), the ghosts of a pressure-release
 * surface at z = 0. A receiver within 1 mm of its source is PSFWI_EINVAL. */
int psfwi_direct_wave(const psfwi_survey *s, size_t nt, double dt, double v, int free_surface,
                      const float *w0, float *out, psfwi_error *err);

/* ---- Data weights (survey data) -----------------------------------------------
 * A weight per observed sample (d_obs's layout) for psfwi_misfit_eval_w and
 * psfwi_gradient_opts.data_weights, the product of:
 *  - a top mute: 0 before t_m = mute_time + |offset| / mute_velocity, a
 *    raised-cosine ramp to 1 over taper seconds (mute_velocity 0: none);
 *    or along picked first breaks (pick_window > 0: psfwi_pick_first_breaks
 *    on each shot's observed traces with that window), t_m = pick -
 *    pick_margin (traces without a pick are not muted);
 *  - a time window: 0 before time_min and after time_max, raised-cosine
 *    ramps of taper seconds inside it (0: that side open);
 *  - an offset window on |rx - sx| (offset_min, offset_max m; 0: open):
 *    traces outside weigh 0;
 *  - drop_dead: all-zero observed traces weigh 0 (not fitted as zeros);
 *  - reject_rms = k > 1: traces whose RMS exceeds k times the median RMS of
 *    the live traces among their 5 neighbours on each side in the shot
 *    weigh 0 (noise bursts; a local median, as amplitudes fall with offset);
 *  - live (NULL: every trace): traces with live[k] = 0 weigh 0 (padding of
 *    irregular spreads, psfwi_gather.live).
 * Negative or non-finite values are ERANGE naming the key. The report counts
 * traces kept and dropped by each rule. */
typedef struct psfwi_weight_opts {
  double mute_velocity, mute_time; /* m/s, s */
  double taper;                    /* s (default 0.05) */
  double offset_min, offset_max;   /* m */
  double time_min, time_max;       /* s */
  int drop_dead;
  double reject_rms;
  double pick_window, pick_margin; /* s; pick_margin default 0.05 */
  const unsigned char *live;       /* nshot * nrec, or NULL */
} psfwi_weight_opts;
typedef struct psfwi_weight_report {
  size_t live, dead, noisy, offset, picked, padding;
} psfwi_weight_report;
void psfwi_weight_opts_defaults(psfwi_weight_opts *o);
/* 1 when any rule is on (else the weights are all 1: leave them out). */
int psfwi_weight_opts_active(const psfwi_weight_opts *o);
int psfwi_data_weights(const psfwi_survey *s, size_t nt, double dt, const float *d_obs,
                       const psfwi_weight_opts *o, float *w, psfwi_weight_report *rep,
                       psfwi_error *err);

/* First breaks by energy ratios: ER(t) = the mean energy in the window
 * after t over that in the window before (window s long, 2 .. nt / 2
 * samples); per trace the first t whose ER reaches a tenth of the
 * trace's largest, refined to the largest modified energy ratio
 * (ER |u| / max|u|)^3 (Wong et al. 2009) in the window after it; -1 for an
 * all-zero trace. The pick falls at the first arrival's onset, also when a
 * later event is stronger (up to about 3 times in amplitude: 10 in ER).
 * Arrivals earlier than half a window are not picked. */
int psfwi_pick_first_breaks(size_t ntrace, size_t nt, double dt, const float *traces, double window,
                            double *picks, psfwi_error *err);

/* 3-D point-source data (field data) to the 2-D line-source data psfwi
 * models, in place, by the far-field ratio of the Green's functions,
 * G_2D / G_3D = sqrt(2 pi r c) (i omega)^(-1/2), with r = c (t - t0) (the
 * direct wave's distance at time t; velocity c in m/s; t0 the time of the
 * source wavelet's peak, 0 for a wavelet that starts at its peak):
 *  AMPLITUDE: u sqrt(2 pi) c sqrt(t - t0) (1/r -> 1/sqrt(r) only; 0 before t0);
 *  FULL: that, then (i omega)^(-1/2) (the half-integral: the 2-D tail and
 *        a -45 degree phase), by FFTs of >= 4 nt points, DC set to 0.
 * Exact for the direct wave in a homogeneous medium up to the far-field
 * approximation (error about 1 / (8 k r)); an approximation for other
 * arrivals (their r is not c t). */
enum { PSFWI_3D2D_NONE = 0, PSFWI_3D2D_AMPLITUDE = 1, PSFWI_3D2D_FULL = 2 };
int psfwi_convert_3d_to_2d(size_t ntrace, size_t nt, double dt, double velocity, double t0,
                           int mode, float *traces, psfwi_error *err);

/* Time resampling of ntrace traces (in[itr * nt + it], interval dt) to the
 * interval dt_new over the same span: nt_new = psfwi_resample_count(nt,
 * dt, dt_new) samples at t = j dt_new (out[itr * nt_new + j]). A coarser
 * interval first removes what the new one cannot hold: a zero-phase
 * Butterworth low-pass (order 4 each way) with its corner at 0.8 times the
 * new Nyquist frequency, on a copy. Samples are then interpolated by a
 * Kaiser-windowed sinc (half-width 16 samples, beta 10; samples past the
 * trace's ends count as 0), which keeps the samples themselves when dt_new is a whole multiple of
 * dt (plain decimation after the filter). dt, dt_new > 0 and finite, else
 * PSFWI_ERANGE. */
size_t psfwi_resample_count(size_t nt, double dt, double dt_new);
int psfwi_resample(size_t ntrace, size_t nt, double dt, const float *in, double dt_new, float *out,
                   psfwi_error *err);

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
  size_t nstep;       /* internal steps of a shot */
  size_t seg_len;     /* steps per taped segment */
  size_t nseg;        /* segments */
  size_t nsnap;       /* stored states (snap_fields padded fields each) */
  size_t recomputed;  /* forward steps recomputed: seg_len * p(nseg, nsnap + 1) */
  size_t fields;      /* padded fields held: ceil(seg_len / tape_stride) + snap_fields nsnap */
  size_t tape_stride; /* every tape_stride-th step is taped (1: every step, exact) */
  size_t snap_fields; /* padded fields one stored state takes (2 + the PML memory,
                         rounded up) */
} psfwi_checkpoint_plan;

/* The plan with the fewest recomputed steps within max_fields padded fields
 * (SIZE_MAX: keep all), a stored state taking snap_fields of them
 * (ceil(psfwi_wave_state_floats / padded field)). seg_len > 0 forces the segment length (1: classic
 * revolve with one-step tapes). tape_stride > 1: only the steps n with
 * n % tape_stride == 0 are taped, so a segment of k steps takes
 * ceil(k / tape_stride) fields (0 or 1: every step). Refuses (ERANGE,
 * naming the memory needed) budgets below one field or plans recomputing
 * more than max_ratio * nstep steps. */
int psfwi_checkpoint_plan_make(size_t nstep, size_t max_fields, size_t seg_len, size_t tape_stride,
                               double max_ratio, size_t snap_fields, psfwi_checkpoint_plan *plan,
                               psfwi_error *err);

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
  size_t tape_stride;   /* 1 (default, 0 alike): every step is taped and the gradient is the
                           exact discrete adjoint. k > 1: only every k-th internal step is
                           taped and enters dJ/dv (k times: the rectangle rule over time), a
                           k-th of the tape's memory; an approximation whose error vanishes
                           as the fields' band allows. Refused when k dt > 1 / (2 fmax)
                           (the propagator's fmax): docs/gradient.md, "Tape stride" */
  double max_recompute; /* refuse plans recomputing more than this times nstep (default 20) */
  int nthreads;         /* threads over shots; <= 0: the propagator's nthreads_shots, and
                           if that is <= 0 too, omp_get_max_threads() */
  size_t nslot;         /* partial sums (default 8): shot is goes to slot is % nslot and
                           slots are processed in shot order and summed in slot order, so
                           results do not depend on nthreads (at most nslot threads work) */
  psfwi_gradient_reduce_fn reduce; /* NULL: none */
  void *reduce_ctx;
  const float *data_weights; /* NULL, or a weight per observed sample (d_obs's layout, this
                                process's shots): psfwi_misfit_eval_w's W, e.g. from
                                psfwi_data_weights; kept by pointer, owned by the caller */
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

/* ---- The gradient engine: set up once, evaluate many times -------------------------
 * A workspace for the survey s (positions copied into source and receiver
 * stencils; s need not outlive it), records of nt samples at the
 * propagator's dt_out, and options o (NULL: defaults): per-thread tapes and
 * snapshots sized by the checkpoint plan, the revolve schedule and the
 * partial sums, all allocated here (memory checked against psfwi_mem_limit
 * first), so that evaluations allocate nothing. `want` says which outputs
 * evaluations may ask for (an OR of the flags; 0: objective only, no
 * storage). The classical gradient (psfwi_gradient, FWI iterations) and the
 * theory-guided RNN (backpropagation through time over mini-batches of
 * shots) both evaluate through it: one BPTT code. */
enum {
  PSFWI_GRADIENT_WANT_GRAD = 1u,        /* dJ/dv */
  PSFWI_GRADIENT_WANT_ILLUM = 2u,       /* source illumination */
  PSFWI_GRADIENT_WANT_WAVELET = 4u,     /* dJ/dwavelet */
  PSFWI_GRADIENT_PER_SHOT_WAVELETS = 8u /* a wavelet per shot (psfwi_gradient_batch) */
};
typedef struct psfwi_gradient_ws psfwi_gradient_ws;
psfwi_gradient_ws *psfwi_gradient_ws_create(const psfwi_wave *w, const psfwi_survey *s, size_t nt,
                                            unsigned want, const psfwi_gradient_opts *o,
                                            psfwi_error *err);
void psfwi_gradient_ws_destroy(psfwi_gradient_ws *ws);
size_t psfwi_gradient_ws_nshot(const psfwi_gradient_ws *ws);

/* Which shots an evaluation runs, and over how much of the record. */
typedef struct psfwi_gradient_batch {
  const size_t *shots; /* indices into the survey (any order; NULL: every shot) */
  size_t nshots;
  size_t nt_window;      /* > 0: only samples it < nt_window enter the misfit (the
                          objective of the record truncated in time: truncated
                          backpropagation through time); 0: all nt */
  const float *wavelets; /* NULL: the evaluation's wavelet for every shot; else one per
                            shot, wavelets[is * nt + it] (needs a workspace made with
                            PSFWI_GRADIENT_PER_SHOT_WAVELETS) */
  double *grad_wavelets; /* with wavelets: dJ/dwavelets[is * nt + it] for the batch's
                            shots (the others untouched); NULL: not computed */
  int rank, nrank;       /* nrank > 1: this process computes the slots k with
                          k % nrank == rank and the options' reduce hook sums
                          all nslot partial sums (each from one process) before
                          they are added in slot order: every process count
                          gives the same bits as one. 0 or 1: one process, or
                          the FWI way (each process its own survey, reduce
                          after the slot sum). */
} psfwi_gradient_batch;

/* J and its gradients for model m over the batch (NULL: every shot, whole
 * record), as psfwi_gradient below; d_obs is laid out for the whole survey
 * (d_obs[(is * nrec + ir) * nt + it]; only the batch's shots are read).
 * Shot is goes to slot (its position in the batch) % nslot, so results do
 * not depend on the number of threads. Outputs not made for at create are
 * PSFWI_EINVAL. */
int psfwi_gradient_ws_eval(psfwi_gradient_ws *ws, const psfwi_model *m, const float *wavelet,
                           const float *d_obs, const psfwi_misfit *mf,
                           const psfwi_gradient_batch *batch, double *J, double *grad,
                           double *illum, double *grad_wavelet, psfwi_gradient_stats *stats,
                           psfwi_error *err);

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
 * o NULL: defaults. stats may be NULL. A workspace made and destroyed for
 * one evaluation (psfwi_gradient_ws_*). */
int psfwi_gradient(const psfwi_wave *w, const psfwi_model *m, const psfwi_survey *s,
                   const float *wavelet, size_t nt, const float *d_obs, const psfwi_misfit *mf,
                   const psfwi_gradient_opts *o, double *J, double *grad, double *illum,
                   double *grad_wavelet, psfwi_gradient_stats *stats, psfwi_error *err);

/* ---- Set-up shared by the inversions (problem.c) ---------------------------------
 * mask (nx * nz bytes, zeroed first): 1 on the cells no inversion may change:
 * the water layer (cells from the top within water_tolerance of
 * water_velocity, psfwi_model_water_mask; NAN: none) and every cell
 * shallower than freeze_depth metres below the model top (NAN: none).
 * *nfrozen (may be NULL) counts them. */
int psfwi_freeze_mask(const psfwi_model *m, double water_velocity, double water_tolerance,
                      double freeze_depth, unsigned char *mask, size_t *nfrozen, psfwi_error *err);

/* White Gaussian noise added to n samples so that the signal-to-noise ratio
 * of the whole set is snr_db: 10 log10(sum d^2 / sum noise^2) (expected),
 * i.e. a standard deviation sigma = rms(d) 10^(-snr_db / 20) (*sigma, may
 * be NULL). Reproducible from seed (splitmix64, Box-Muller). */
int psfwi_add_noise(float *data, size_t n, double snr_db, unsigned long long seed, double *sigma,
                    psfwi_error *err);
/* Band-limited Gaussian noise: the white noise of psfwi_add_noise (same
 * seed) through the zero-phase Butterworth filter of corners f_low,
 * f_high (Hz, 0: none; psfwi_filter), scaled so that the whole data set's
 * power over the noise's is snr_db; *sigma its standard deviation. */
int psfwi_add_band_noise(float *data, size_t ntrace, size_t nt, double dt, double snr_db,
                         double f_low, double f_high, unsigned long long seed, double *sigma,
                         psfwi_error *err);
/* Dead traces for synthetic field data: round(fraction ntrace) traces,
 * drawn without repetition from the seed, set to zero. */
int psfwi_kill_traces(float *data, size_t ntrace, size_t nt, double fraction,
                      unsigned long long seed, size_t *killed, psfwi_error *err);

struct psfwi_comm;
/* Observed data synthesised in the true model: this rank models its shots
 * first .. first + count - 1 (local, the subset of obs->survey) with
 * obs->wavelet into obs->data, then the ranks exchange their blocks so that
 * every rank holds every shot (bit for bit as modelled). All ranks fail
 * together (psfwi_comm_agree). */
int psfwi_synthesize_data(const psfwi_wave *w, const psfwi_model *truth, psfwi_gather *obs,
                          size_t first, size_t count, const psfwi_survey *local,
                          const struct psfwi_comm *comm, psfwi_error *err);

/* ---- Classical FWI (fwi.c) ---------------------------------------------------------
 * Minimises, band after band (multiscale, low frequencies first),
 *     Phi(v) = J_band(v) / J_band(v_b) + R(v)
 * over the velocity model v within [vmin, vmax]: J_band is the data misfit of
 * all shots with data and modelled traces filtered by the band's zero-phase
 * filter, normalised by its value at the band's starting model v_b (so the
 * regularization weights mean the same for any data set and band), and R
 * the model penalties of psfwi_reg (Tikhonov, TV, prior). The gradient is
 * exact for this discrete objective (psfwi_gradient + psfwi_reg_eval).
 *
 * Preconditioning is a change of variables fixed within a band, so the
 * optimiser sees the exact gradient of the function it minimises and its
 * line search stays valid:
 *     v = clamp(v_b + S G x, vmin, vmax)  on the free cells (v = v_b on frozen ones)
 * with x the unknowns (one per free cell, x = 0 at the band's start), S the
 * diagonal illumination scaling s_i = sqrt(eps / (H_i / max H + eps)) from the
 * source illumination H (pseudo-Hessian diagonal) at v_b (s = 1 when off),
 * and G a symmetric Gaussian smoothing of standard deviation smooth_sigma
 * (identity when 0). Bounds on x are those of v through S (exact when
 * smooth_sigma = 0; with smoothing the clamp keeps v in bounds and its
 * derivative, 0 on clamped cells, enters the gradient).
 * Frozen cells (mask != 0, e.g. the water layer) never change.
 *
 * Files (only when write_files != 0, i.e. on MPI rank 0): the history
 * (psfwi_history: vp(iteration, z, x), iteration 0 the starting model, and
 * the scalars of psfwi_fwi_scalar_names) rewritten after every iteration,
 * and the resumable state (psfwi_state_write, kind "fwi") after every
 * iteration. psfwi_fwi_run with resume != 0 continues from the state file
 * exactly as the uninterrupted run would have (bit for bit: same
 * optimiser state, same band scaling, deterministic gradients). */
typedef struct psfwi_fwi_band {
  double f_low;    /* Hz, high-pass corner (0: none) */
  double f_high;   /* Hz, low-pass corner (0: none) */
  size_t max_iter; /* accepted iterations in this band */
} psfwi_fwi_band;

/* estimate_wavelet of psfwi_fwi_opts */
enum { PSFWI_FWI_WAVELET_NONE = 0, PSFWI_FWI_WAVELET_BAND = 1, PSFWI_FWI_WAVELET_SHOT = 2 };
/* auto_scale of fwi and rnn (psfwi_reg_auto_scale): off; once, from the
 * first band's data gradient; or at each band's start from that band's, the
 * unscaled weights scaled anew (each band's normalised data term holds a
 * different share of noise, so on noisy data EACH weakens the terms in the
 * last band: docs/REGULARIZATION.md). */
enum { PSFWI_AUTO_SCALE_OFF = 0, PSFWI_AUTO_SCALE_FIRST = 1, PSFWI_AUTO_SCALE_EACH = 2 };

/* What happened in one iteration, for progress lines. */
typedef struct psfwi_fwi_progress {
  size_t band, nband;      /* band index (from 0) and count */
  const psfwi_fwi_band *b; /* the band */
  size_t iter;             /* iteration within the band (0: band start) */
  size_t iter_total;       /* history row (0: the starting model) */
  size_t iter_planned;     /* rows the run will have at most */
  double objective;        /* Phi */
  double misfit;           /* J_band, unnormalised */
  double regularization;   /* R */
  int have_truth;
  psfwi_metrics metrics;   /* against the true model, when given */
  size_t nfev;             /* evaluations so far (whole run) */
  double step;             /* accepted step along the search direction */
  double elapsed;          /* s since the (re)start of this process */
  double eta;              /* s, estimated from the mean time per iteration */
  const char *stop_reason; /* non-NULL at the end of a band */
  const char *note;        /* a call with only this set (other fields as the next
                               line's): resumed with a changed configuration */
} psfwi_fwi_progress;

typedef void (*psfwi_fwi_progress_fn)(void *ctx, const psfwi_fwi_progress *p);

typedef struct psfwi_fwi_opts {
  psfwi_optim_options optim; /* method, memory, step0 (m/s), tolerances; max_iter is
                                  taken from each band */
  psfwi_misfit_kind misfit;  /* L2, SPECTRAL, CORRELATION, L1 (HUBER: refused,
                                  FWI passes no huber_delta yet) */
  const double *freqs;       /* SPECTRAL: frequencies (Hz); those above a band's
                                  f_high are left out in that band */
  size_t nfreq;
  const psfwi_fwi_band *bands; /* at least one */
  size_t nband;
  int filter_order;               /* Butterworth order of the band filters (default 4) */
  double vmin, vmax;              /* m/s, bounds of the model */
  int illumination;               /* 1: illumination scaling */
  double illum_eps;               /* its stabilisation, fraction of max H (default 1e-3) */
  double smooth_sigma;            /* m, Gaussian smoothing of the update (0: off) */
  const unsigned char *mask;      /* nx * nz, != 0: frozen cell (may be NULL) */
  psfwi_reg reg;                  /* penalty weights (grid and mask are set by the run) */
  int proximal;                   /* 1: FISTA with the prox of reg's non-smooth terms within
                                     the bounds (docs/fwi.md); illumination is then not used
                                     and smooth_sigma must be 0. 0: the optimiser of optim
                                     on the smoothed terms */
  psfwi_reg_prox_opts prox;       /* proximal: the splitting's options */
  int auto_scale;                 /* PSFWI_AUTO_SCALE_*: reg's weights scaled at the first
                                     band's start, or at each band's (psfwi_reg_auto_scale
                                     with step optim.step0) */
  psfwi_gradient_opts grad;       /* memory budget, threads, MPI reduction */
  int estimate_wavelet;           /* PSFWI_FWI_WAVELET_BAND (1): the wavelet re-estimated at
                                     each band's start; PSFWI_FWI_WAVELET_SHOT (2): one
                                     wavelet per shot, each from its shot's traces (the
                                     history keeps their mean; one MPI process only)
                                     (least-squares filter within the band, psfwi_source_*;
                                     one extra modelling of the shots per band), kept in
                                     the history (wavelet) and the state */
  double wavelet_eps;             /* its water level (default 1e-3) */
  float *wavelet_out;             /* may be NULL: nt samples, the wavelet in use at the end */
  const psfwi_model *truth;       /* optional: metrics per iteration */
  const char *history_path;       /* may be NULL */
  const char *state_path;         /* may be NULL (no resume possible) */
  const psfwi_meta *meta;         /* attributes of written files */
  int write_files;                /* 0 on MPI ranks other than 0 */
  int resume;                     /* continue from state_path */
  size_t stop_after;              /* testing aid: return PSFWI_EINTERRUPTED after this many
                                  iterations in this process, as if killed (0: never) */
  psfwi_fwi_progress_fn progress; /* may be NULL */
  void *progress_ctx;
  /* may be NULL: called by every process at each band's start (after the
   * wavelet estimate; at_end 0) and end (at_end 1) with the current model
   * and the nt samples of the wavelet in use, for quality control; a status
   * other than PSFWI_OK (err filled) stops the run. A band resumed from a
   * state file mid-way has no start call. */
  int (*band_hook)(void *ctx, size_t band, int at_end, const psfwi_model *model,
                   const float *wavelet, psfwi_error *err);
  void *band_hook_ctx;
} psfwi_fwi_opts;

void psfwi_fwi_opts_defaults(psfwi_fwi_opts *o);
/* Names and units of the history's per-iteration scalars; with a true model
 * the metrics rmse, relative_error, ssim follow. */
size_t psfwi_fwi_scalar_count(int have_truth);
const char *const *psfwi_fwi_scalar_names(void);
const char *const *psfwi_fwi_scalar_units(void);

/* The filter (NULL for a band without corners) and misfit FWI uses in band
 * `band` for traces of nt samples at dt: what `psfwi gradient` evaluates. */
int psfwi_fwi_make_misfit(const psfwi_fwi_opts *o, size_t band, size_t nt, double dt,
                          psfwi_filter **filter, psfwi_misfit **mf, psfwi_error *err);

/* Run FWI from the starting model `model` (in place: the final model on
 * return, also when stopped early) with wave w (its velocity bounds must
 * contain [vmin, vmax]), survey s (this process's shots), the wavelet (nt
 * samples at dt_out) and observed data d_obs of those shots. */
int psfwi_fwi_run(const psfwi_wave *w, psfwi_model *model, const psfwi_survey *s,
                  const float *wavelet, size_t nt, const float *d_obs, const psfwi_fwi_opts *o,
                  psfwi_error *err);

/* ---- Theory-guided RNN (rnn.c) ------------------------------------------------------
 * The wave equation as a recurrent network (Sun et al. 2020; Richardson
 * 2018): the cell is one pseudo-spectral time step (psfwi_wave_step; hidden
 * state: the two latest wavefields and the PML memory), its input the
 * source term and its output the receiver samples; the weights are the
 * velocity model, optionally the source wavelet. Trained by backpropagation
 * through time (the engine of psfwi_gradient_ws: tapes and binomial
 * checkpoints) over epochs of shuffled mini-batches of shots with the
 * stochastic optimisers of src/optim, band after band (multiscale, as FWI).
 *
 * Loss of a batch B of shots, at the model v:
 *     L_B(v) = (nshot / |B|) J_B(v) / J0 + R(v)
 * J_B the data misfit of the batch's shots (psfwi_misfit_kind; with the
 * band's filter and optional time window), J0 the misfit of every shot at
 * the band's starting model (so a batch of all shots gives FWI's Phi), R the
 * penalties of psfwi_reg (same weights as FWI's). The optimiser works on
 * one parameter x per free cell: v = x (velocity; bounds by projection),
 * v = 1 / x (slowness; bounds by projection) or v = vmin + (vmax - vmin)
 * sigmoid(x) (bounded by construction). The learning rate is given in m/s
 * per step and converted to x's units (slowness: / mean(v)^2; sigmoid:
 * 4 / (vmax - vmin)). With MPI (nrank > 1) every process holds the whole
 * survey and data and computes its share of each batch's shots; results
 * are bit-identical to one process (psfwi_gradient_batch). */
typedef enum {
  PSFWI_RNN_VELOCITY = 0,
  PSFWI_RNN_SLOWNESS = 1,
  PSFWI_RNN_SIGMOID = 2
} psfwi_rnn_param;

typedef struct psfwi_rnn_progress {
  size_t band, nband;       /* band index (from 0) and count */
  const psfwi_fwi_band *b;  /* the band (max_iter = its epochs) */
  size_t epoch, epochs;     /* epoch within the band (from 1) and the band's count */
  size_t row, rows_planned; /* history rows so far (0 = the start) and at most */
  double loss;              /* mean batch loss of the epoch */
  double misfit;            /* sum of the batches' data misfits (unnormalised) */
  double regularization;    /* R at the epoch's end */
  double lr;                /* learning rate of the epoch (m/s per step) */
  double gradient_norm;     /* largest batch gradient norm before clipping (x units) */
  size_t clamped;           /* free cells at a velocity bound after the epoch */
  size_t propagations;      /* wave propagations so far (a shot's forward or backward) */
  double time_window;       /* s (0: the whole record) */
  int have_truth;
  psfwi_metrics metrics;
  double elapsed, eta; /* s */
  const char *note;    /* a call with only this set: resumed with a changed config */
} psfwi_rnn_progress;

typedef void (*psfwi_rnn_progress_fn)(void *ctx, const psfwi_rnn_progress *p);

typedef struct psfwi_rnn_opts {
  psfwi_optim_sgd_options sgd;        /* method (any psfwi_sgd_method), lr (m/s per step), betas,
                                  momentum, rho, eps, weight decay */
  psfwi_lr_schedule_options schedule; /* over the epochs of each band (lr0 = sgd.lr; a
                                         cosine's t_max = the band's epochs - 1) */
  double wavelet_lr;                  /* learning rate of the wavelet samples (0: wavelet fixed) */
  int wavelet_per_shot; /* 1: one wavelet per shot, each with its own optimiser (all start as
                           the given one, which stays unchanged; they are the history's and
                           the state's "wavelets"); 0: one for the survey, trained in place */
  psfwi_rnn_param param;
  size_t batch_shots;      /* shots per batch (0: all) */
  unsigned long long seed; /* the shuffling of the shots (with band and epoch) */
  double clip;             /* largest gradient L2 norm (x units; 0: none) */
  psfwi_misfit_kind misfit;
  const double *freqs; /* SPECTRAL: Hz */
  size_t nfreq;
  double huber_delta;          /* HUBER: threshold */
  const psfwi_fwi_band *bands; /* max_iter = epochs of the band */
  size_t nband;
  int filter_order;
  double vmin, vmax;         /* m/s */
  const unsigned char *mask; /* != 0: frozen cell */
  psfwi_reg reg;
  int proximal;              /* 1: after each optimiser step, the prox of reg's non-smooth
                               terms within the bounds (step: the optimiser's velocity
                               change over the gradient, docs/rnn.md) */
  psfwi_reg_prox_opts prox;  /* proximal: the splitting's options */
  int auto_scale;            /* PSFWI_AUTO_SCALE_*: reg's weights scaled at the first batch
                                of the first band, or of each band (step: first_step) */
  psfwi_gradient_opts grad;  /* memory budget, threads, MPI reduce hook */
  double time_window;        /* s: only the record's first time_window seconds enter the
                                  loss (truncated BPTT); 0: all */
  double time_window_growth; /* s added to the window per epoch of a band (shallow first) */
  int rank, nrank;           /* MPI: this process of nrank (0/1: one process) */
  const psfwi_model *truth;  /* optional: metrics per epoch */
  const char *history_path;  /* vp(iteration, z, x) per epoch + scalars (+ wavelet) */
  const char *state_path;    /* resumable state after every epoch */
  const psfwi_meta *meta;
  int write_files; /* 0 on MPI ranks other than 0 */
  int resume;
  size_t stop_after; /* testing aid: PSFWI_EINTERRUPTED after this many epochs */
  psfwi_rnn_progress_fn progress;
  void *progress_ctx;
} psfwi_rnn_opts;

void psfwi_rnn_opts_defaults(psfwi_rnn_opts *o);
size_t psfwi_rnn_scalar_count(int have_truth);
const char *const *psfwi_rnn_scalar_names(void);
const char *const *psfwi_rnn_scalar_units(void);

/* Train from the starting model (in place: the final model on return, also
 * when stopped early) and, with wavelet_lr > 0, the wavelet (in place; nt
 * samples at dt_out), survey s (every shot; the same on every MPI process)
 * and observed data d_obs of all its shots. */
int psfwi_rnn_run(const psfwi_wave *w, psfwi_model *model, const psfwi_survey *s, float *wavelet,
                  size_t nt, const float *d_obs, const psfwi_rnn_opts *o, psfwi_error *err);

#endif
