/* Private to src/invert: helpers shared between its files. */
#ifndef PSFWI_INVERT_INTERNAL_H
#define PSFWI_INVERT_INTERNAL_H

#include <stddef.h>

#include "psfwi_invert.h"

/* Filter one trace of nt samples in place; work holds nt doubles. */
void psfwi_filter_run_(const psfwi_filter *f, size_t nt, float *x, double *work);

/* ---- Revolve schedules ---------------------------------------------------
 * Actions over "positions" 0..l (the state before step j is position j):
 *   ADVANCE  step the current state from its position to `arg`
 *   STORE    copy the current state into snapshot slot `arg`
 *   RESTORE  make the current state the one of slot `arg` (REV_ZERO: the
 *            zero initial state at position 0)
 *   TURN     from the current state at position `arg`, tape step `arg`
 *            forward and run its backward. */
#define REV_ZERO ((size_t)-1)
typedef enum { REV_ADVANCE, REV_STORE, REV_RESTORE, REV_TURN } rev_kind;
typedef struct rev_action {
  rev_kind kind;
  size_t arg;
  size_t pos; /* STORE: the position stored */
} rev_action;
typedef struct rev_schedule {
  rev_action *act;
  size_t n, cap;
  size_t advances;  /* forward steps in ADVANCE actions */
  size_t max_snaps; /* most slots live at once */
  int oom;
} rev_schedule;

/* Build the schedule for l steps and c >= 1 checkpoints (the zero state
 * included). Returns PSFWI_OK or PSFWI_ENOMEM / PSFWI_EINVAL. */
int psfwi_revolve_build_(size_t l, size_t c, rev_schedule *S, psfwi_error *err);
void psfwi_revolve_free_(rev_schedule *S);

/* Gradient check of the FWI objective of band 0 in the optimiser's variables
 * x (one per free cell; see psfwi_invert.h): *phi0 = Phi(0), *gdotd =
 * <dPhi/dx(0), dir>, phi_h[j] = Phi(h[j] dir) (ERANGE if a step clamps).
 * For tests (Taylor remainder of the complete objective, preconditioning,
 * smoothing, mask and regularization included). */
int psfwi_fwi_check_gradient_(const psfwi_wave *w, psfwi_model *model, const psfwi_survey *s,
                              const float *wavelet, size_t nt, const float *d_obs,
                              const psfwi_fwi_opts *o, const double *dir, const double *h,
                              size_t nh, size_t *nfree, double *phi0, double *gdotd, double *phi_h,
                              psfwi_error *err);

/* The filter (NULL without corners) and misfit of band b (1-based in
 * messages): what FWI and the RNN evaluate in that band. */
int psfwi_band_misfit_(psfwi_misfit_kind kind, const double *freqs, size_t nfreq,
                       double huber_delta, const psfwi_fwi_band *bd, size_t b, int filter_order,
                       size_t nt, double dt, psfwi_filter **filter, psfwi_misfit **mf,
                       psfwi_error *err);

/* The RNN's gradient with every shot in one batch and scale 1 (the raw data
 * misfit J and dJ/dv, dJ/dwavelet; grad_wavelet needs wavelet_lr > 0): for
 * the test that the RNN and psfwi_gradient agree. */
int psfwi_rnn_gradient_(const psfwi_wave *w, psfwi_model *model, const psfwi_survey *s,
                        float *wavelet, size_t nt, const float *d_obs, const psfwi_rnn_opts *o,
                        double *J, double *grad, double *grad_wavelet, psfwi_error *err);

#endif
