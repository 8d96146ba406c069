/* psfwi optim: optimisers shared by the inversions, on double-precision
 * vectors x[i], i < n (the caller decides what the components are, e.g. the
 * velocity model v[iz * nx + ix] in m/s).
 *
 * 1. Line-search methods for classical FWI (psfwi_optim): bound-constrained
 *    L-BFGS, nonlinear conjugate gradients (Polak-Ribiere+ with restarts) and
 *    steepest descent, all with box constraints lo[i] <= x[i] <= hi[i] and
 *    the same strong-Wolfe line search along the projected path
 *    x(a) = P(x + a d). Reverse communication: the caller owns the loop and
 *    every evaluation of f and g (so they may run across MPI ranks, print
 *    progress lines and write checkpoints). Typical loop:
 *
 *        psfwi_optim_set(o, x0, err);
 *        for (;;) {
 *          int task;
 *          if (psfwi_optim_iterate(o, &task, err)) break;          // error
 *          if (task == PSFWI_OPTIM_EVAL) {
 *            double f = objective(psfwi_optim_x(o), g);            // caller's
 *            if (psfwi_optim_tell(o, f, g, err)) break;            // NaN etc.
 *          } else if (task == PSFWI_OPTIM_NEW_X) {
 *            log / checkpoint (psfwi_optim_state_save)
 *          } else break;   // CONVERGED, STOPPED or FAILED: see info.reason
 *        }
 *
 *    The whole state (iterate, gradient, L-BFGS pairs, line-search state,
 *    counters) saves to a flat byte buffer at any point between calls, and a
 *    restored object continues bit for bit as the original would have.
 *    Algorithms, tests and tolerances: docs/optim.md.
 *
 * 2. Stochastic first-order steps for the theory-guided RNN and networks
 *    (psfwi_optim_sgd): SGD (plain, momentum, Nesterov), Adam, AdamW,
 *    RMSprop, Adadelta, with PyTorch's update formulas, optional box
 *    projection, x updated in place by psfwi_optim_sgd_step(s, x, g)
 *    (double) or psfwi_optim_sgd_stepf (float32 x and g; moments kept in
 *    double); gradient clipping by the global L2 norm
 *    (psfwi_optim_clip_norm) and learning-rate schedules
 *    (psfwi_lr_schedule: constant, step, cosine annealing, reduce on
 *    plateau). A training loop over epochs of mini-batches:
 *
 *        for (size_t e = 0; e < nepoch; e++) {
 *          for (each mini-batch) {
 *            loss_and_gradient(x, g);                 // caller's
 *            psfwi_optim_clip_norm(n, g, max_norm);   // optional
 *            if (psfwi_optim_sgd_step(s, x, g, err)) break;
 *          }
 *          if (psfwi_lr_schedule_step(sch, e, val_loss, &lr, err)) break;
 *          if (psfwi_optim_sgd_set_lr(s, lr, err)) break;  // lr of epoch e + 1
 *        }
 *
 * Objects allocate everything at _create; no call allocates afterwards.
 * Nothing here is thread-parallel (loops are O(n), cheap next to an FWI
 * gradient), so results do not depend on the number of threads.
 *
 * Status codes: PSFWI_OK, PSFWI_EINVAL (bad option, call out of order, state
 * of another shape), PSFWI_ERANGE (bound or buffer size), PSFWI_ENONFINITE
 * (NaN/Inf supplied by the caller), PSFWI_EFORMAT (corrupt state buffer),
 * PSFWI_ENOMEM. */
#ifndef PSFWI_OPTIM_H
#define PSFWI_OPTIM_H

#include <stddef.h>

#include "psfwi_core.h"

/* ---- Line-search methods --------------------------------------------------- */

enum psfwi_optim_method {
  PSFWI_OPTIM_LBFGS = 0,   /* projected L-BFGS (bounds), strong Wolfe, c2 = 0.9 */
  PSFWI_OPTIM_CG = 1,      /* nonlinear CG, Polak-Ribiere+, strong Wolfe, c2 = 0.1 */
  PSFWI_OPTIM_STEEPEST = 2 /* projected steepest descent, strong Wolfe, c2 = 0.9 */
};

/* What the caller must do after psfwi_optim_iterate. Never renumbered. */
#define PSFWI_OPTIM_TASK_LIST(X)                                                     \
  X(PSFWI_OPTIM_EVAL, 1, "evaluate f and g at psfwi_optim_x, then psfwi_optim_tell") \
  X(PSFWI_OPTIM_NEW_X, 2, "iteration done: a new iterate was accepted")              \
  X(PSFWI_OPTIM_CONVERGED, 3, "converged")                                           \
  X(PSFWI_OPTIM_STOPPED, 4, "stopped at the iteration or evaluation limit")          \
  X(PSFWI_OPTIM_FAILED, 5, "failed")

enum psfwi_optim_task {
#define PSFWI_X_ENUM(name, value, text) name = value,
  PSFWI_OPTIM_TASK_LIST(PSFWI_X_ENUM)
#undef PSFWI_X_ENUM
};

/* Why the run ended (info.reason); PSFWI_OPTIM_RUNNING before that. */
#define PSFWI_OPTIM_REASON_LIST(X)                                             \
  X(PSFWI_OPTIM_RUNNING, 0, "running")                                         \
  X(PSFWI_OPTIM_GTOL, 1, "projected gradient below tolerance")                 \
  X(PSFWI_OPTIM_FTOL, 2, "relative decrease of f below tolerance")             \
  X(PSFWI_OPTIM_XTOL, 3, "change of x below tolerance")                        \
  X(PSFWI_OPTIM_MAXITER, 4, "iteration limit reached")                         \
  X(PSFWI_OPTIM_MAXEVAL, 5, "evaluation limit reached")                        \
  X(PSFWI_OPTIM_LINESEARCH, 6, "line search found no decrease, even along -g") \
  X(PSFWI_OPTIM_NONFINITE, 7, "the caller supplied a non-finite f or g")

enum psfwi_optim_reason {
#define PSFWI_X_ENUM(name, value, text) name = value,
  PSFWI_OPTIM_REASON_LIST(PSFWI_X_ENUM)
#undef PSFWI_X_ENUM
};

const char *psfwi_optim_task_text(int task);     /* "unknown task" otherwise */
const char *psfwi_optim_reason_text(int reason); /* "unknown reason" otherwise */

/* Options. Fill with psfwi_optim_options_init, then change what you need.
 * Tolerance tests run on each accepted iterate (iteration 0 = the start):
 *   gtol:  ||P(x - g) - x||_inf <= max(gtol_abs, gtol_rel * (that at x0))
 *   ftol:  f_{k-1} - f_k <= ftol * max(|f_{k-1}|, |f_k|)
 *   xtol:  ||x_k - x_{k-1}||_inf <= xtol
 * A tolerance of 0 switches its test off (gtol still stops at an exactly
 * zero projected gradient). */
typedef struct psfwi_optim_options {
  int method;        /* enum psfwi_optim_method */
  size_t memory;     /* L-BFGS pairs kept (>= 1; default 10; unused otherwise) */
  double c1, c2;     /* Wolfe constants, 0 < c1 < c2 < 1 (1e-4; 0.9, CG 0.1) */
  size_t max_ls;     /* evaluations per line search, >= 1 (default 20) */
  double step0;      /* first trial step of the first iteration: if > 0, the
                        largest change of any component (x units, e.g.
                        50 m/s); if 0, a = 1 / ||d||_2. (A restart along -g
                        later in the run first tries the last step's size.) */
  double gtol_abs;   /* default 0 */
  double gtol_rel;   /* default 1e-8 */
  double ftol;       /* default 0 (off) */
  double xtol;       /* default 0 (off) */
  size_t max_iter;   /* accepted iterations; 0 = no limit (default) */
  size_t max_eval;   /* evaluations of f and g in all; 0 = no limit (default) */
  double eps_active; /* epsilon-active set: a component within
                        min(eps_active (hi - lo), ||x - P(x - gamma g)||_inf)
                        of a bound, with g pushing outwards, is moved by the
                        scaled gradient only (default 1e-3) */
  size_t cg_restart; /* CG: restart with -g every cg_restart iterations
                        (0 = every n iterations; default 0) */
} psfwi_optim_options;

void psfwi_optim_options_init(psfwi_optim_options *opt, int method);

/* A snapshot for progress lines and tests. */
typedef struct psfwi_optim_info {
  int task;        /* the last task returned by psfwi_optim_iterate */
  int reason;      /* enum psfwi_optim_reason */
  size_t iter;     /* accepted iterations (0 at the start point) */
  size_t nfev;     /* evaluations told (f and g together) */
  size_t ls_evals; /* evaluations in the last (or current) line search */
  size_t n_active; /* components exactly at a bound at the current iterate */
  size_t n_reset;  /* restarts with -g (memory cleared) after a bad direction
                      or a failed line search (not the periodic CG ones) */
  size_t n_skip;   /* L-BFGS updates skipped because s'y <= eps y'y */
  size_t n_weak;   /* accepted steps meeting only sufficient decrease (the
                      line search ran out of evaluations) */
  double f, f0;    /* objective at the current iterate and at the start */
  double pg_norm;  /* ||P(x - g) - x||_inf at the current iterate */
  double pg_norm0; /* the same at the start */
  double step;     /* last accepted step length a along d */
  double dphi0;    /* d/da f(x(a)) at a = 0 for the last accepted step */
  double dphi;     /* the same at the accepted a (right derivative) */
  double x_change; /* ||x_k - x_{k-1}||_inf */
} psfwi_optim_info;

typedef struct psfwi_optim psfwi_optim;

/* n >= 1 unknowns. Allocates (8 + 2 memory) n doubles for L-BFGS, 8 n
 * otherwise. Bounds start at -inf, +inf. NULL on failure (err filled). */
psfwi_optim *psfwi_optim_create(size_t n, const psfwi_optim_options *opt, psfwi_error *err);
void psfwi_optim_destroy(psfwi_optim *o);
size_t psfwi_optim_size(const psfwi_optim *o); /* n */

/* Box constraints lo[i] <= x[i] <= hi[i]. lo (hi) may be NULL: then every
 * component gets lo_all (hi_all); use -INFINITY / INFINITY for none. NaN or
 * lo > hi gives PSFWI_ERANGE naming the component. Only before
 * psfwi_optim_set (PSFWI_EINVAL after). */
int psfwi_optim_set_bounds(psfwi_optim *o, const double *lo, const double *hi, double lo_all,
                           double hi_all, psfwi_error *err);

/* Start (or restart) from x0 (n values, finite), projected into the box.
 * Clears the L-BFGS memory and the counters. Next task: EVAL at P(x0). */
int psfwi_optim_set(psfwi_optim *o, const double *x0, psfwi_error *err);

/* Advance until the caller must act; *task is one of enum psfwi_optim_task.
 *  EVAL:      evaluate at psfwi_optim_x(o), then psfwi_optim_tell. Calling
 *             iterate again without telling repeats the same request.
 *  NEW_X:     an iterate was accepted (also once for the start point,
 *             iter = 0); psfwi_optim_current and _info describe it.
 *  CONVERGED, STOPPED, FAILED: terminal; info.reason says why. The current
 *             iterate is the best accepted point. Further calls repeat it.
 * Returns PSFWI_OK, or PSFWI_EINVAL if called before psfwi_optim_set. */
int psfwi_optim_iterate(psfwi_optim *o, int *task, psfwi_error *err);

/* The point to evaluate when the task is EVAL (n values inside the box;
 * owned by o, valid until the next call that changes o). */
const double *psfwi_optim_x(const psfwi_optim *o);

/* Give f and its gradient g (n values, copied) at psfwi_optim_x. PSFWI_EINVAL
 * if no evaluation is pending. A NaN or Inf in f or g returns
 * PSFWI_ENONFINITE naming the value and the evaluation, and ends the run
 * (task FAILED, reason NONFINITE; the last accepted iterate is kept). */
int psfwi_optim_tell(psfwi_optim *o, double f, const double *g, psfwi_error *err);

/* The current accepted iterate: x, its gradient g (owned by o; either
 * pointer argument may be NULL) and f. Valid after the first NEW_X. */
void psfwi_optim_current(const psfwi_optim *o, const double **x, const double **g, double *f);
void psfwi_optim_get_info(const psfwi_optim *o, psfwi_optim_info *info);

/* Save / restore the complete state (bounds, iterate, gradient, search
 * direction, L-BFGS pairs, line-search state, pending request, counters) as
 * a flat native-endian byte buffer with a version and a checksum. Restore
 * needs an object created with the same n, method and memory (PSFWI_EINVAL
 * naming the mismatch otherwise); the other options are the object's own,
 * so a resumed run may raise max_iter. A wrong size, magic, version or
 * checksum gives PSFWI_EFORMAT and leaves the object unchanged. */
size_t psfwi_optim_state_size(const psfwi_optim *o);
int psfwi_optim_state_save(const psfwi_optim *o, void *buf, size_t size, psfwi_error *err);
int psfwi_optim_state_restore(psfwi_optim *o, const void *buf, size_t size, psfwi_error *err);

/* ---- Stochastic first-order steps ---------------------------------------------
 * Update rules (PyTorch's conventions; t = step count starting at 1; all
 * operations per component; gw = g + weight_decay x except for AdamW;
 * m, v, u start at 0):
 *   SGD:       x -= lr gw
 *   MOMENTUM:  b = mu b + gw (b = gw at t = 1); x -= lr b
 *   NESTEROV:  b as above; x -= lr (gw + mu b)
 *   ADAM:      m = b1 m + (1 - b1) gw; v = b2 v + (1 - b2) gw^2;
 *              x -= lr (m / (1 - b1^t)) / (sqrt(v / (1 - b2^t)) + eps)
 *   ADAMW:     x -= lr weight_decay x; then ADAM with gw = g
 *   RMSPROP:   v = rho v + (1 - rho) gw^2; x -= lr gw / (sqrt(v) + eps)
 *   ADADELTA:  v = rho v + (1 - rho) gw^2;
 *              delta = sqrt(u + eps) / sqrt(v + eps) gw;
 *              u = rho u + (1 - rho) delta^2; x -= lr delta
 *              (torch.optim.Adadelta; its defaults lr = 1, rho = 0.9,
 *              eps = 1e-6 are set by psfwi_optim_sgd_options_init)
 * then x is projected into the box if bounds were set. */
enum psfwi_sgd_method {
  PSFWI_SGD_PLAIN = 0,
  PSFWI_SGD_MOMENTUM = 1,
  PSFWI_SGD_NESTEROV = 2,
  PSFWI_SGD_ADAM = 3,
  PSFWI_SGD_ADAMW = 4,
  PSFWI_SGD_RMSPROP = 5,
  PSFWI_SGD_ADADELTA = 6
};

typedef struct psfwi_optim_sgd_options {
  int method;          /* enum psfwi_sgd_method */
  double lr;           /* learning rate > 0 (default 1e-3; Adadelta 1) */
  double momentum;     /* mu in [0, 1) (default 0.9) */
  double beta1, beta2; /* Adam, in [0, 1) (0.9, 0.999) */
  double rho;          /* RMSprop, Adadelta smoothing in [0, 1) (0.99;
                          Adadelta 0.9) */
  double eps;          /* > 0 (1e-8; Adadelta 1e-6) */
  double weight_decay; /* >= 0 (0) */
} psfwi_optim_sgd_options;

void psfwi_optim_sgd_options_init(psfwi_optim_sgd_options *opt, int method);

typedef struct psfwi_optim_sgd psfwi_optim_sgd;

psfwi_optim_sgd *psfwi_optim_sgd_create(size_t n, const psfwi_optim_sgd_options *opt,
                                        psfwi_error *err);
void psfwi_optim_sgd_destroy(psfwi_optim_sgd *s);
/* Bounds as in psfwi_optim_set_bounds (any time). */
int psfwi_optim_sgd_set_bounds(psfwi_optim_sgd *s, const double *lo, const double *hi,
                               double lo_all, double hi_all, psfwi_error *err);
/* Change the learning rate (schedules); PSFWI_ERANGE unless finite and > 0. */
int psfwi_optim_sgd_set_lr(psfwi_optim_sgd *s, double lr, psfwi_error *err);
/* Zero the moments and the step count. */
void psfwi_optim_sgd_reset(psfwi_optim_sgd *s);
size_t psfwi_optim_sgd_steps(const psfwi_optim_sgd *s); /* steps taken */
/* One step in place on x (n values) with gradient g. A NaN or Inf in g
 * gives PSFWI_ENONFINITE naming the component, with x and the state left
 * unchanged. */
int psfwi_optim_sgd_step(psfwi_optim_sgd *s, double *x, const double *g, psfwi_error *err);
int psfwi_optim_sgd_stepf(psfwi_optim_sgd *s, float *x, const float *g, psfwi_error *err);
/* State (step count, learning rate, moments, bounds), as for psfwi_optim;
 * restore needs the same n and method. Layout (version 1): m, v, lo, hi;
 * Adadelta stores its u in m, so states of every method share it. */
size_t psfwi_optim_sgd_state_size(const psfwi_optim_sgd *s);
int psfwi_optim_sgd_state_save(const psfwi_optim_sgd *s, void *buf, size_t size, psfwi_error *err);
int psfwi_optim_sgd_state_restore(psfwi_optim_sgd *s, const void *buf, size_t size,
                                  psfwi_error *err);

/* ---- Gradient clipping -----------------------------------------------------------
 * torch.nn.utils.clip_grad_norm_ on one vector: with norm = ||g||_2 (summed
 * in double), if max_norm > 0 and max_norm / (norm + 1e-6) < 1, every g[i]
 * is multiplied by that factor (so the clipped norm is max_norm up to the
 * 1e-6, slightly below it); otherwise g is untouched. Returns the norm
 * before clipping. max_norm <= 0 (or NaN) means no clipping: only the norm
 * is returned. A NaN or Inf in g gives a non-finite norm and leaves g
 * untouched (psfwi_optim_sgd_step then reports the component). To clip
 * several tensors by their joint norm, call with max_norm = 0 on each,
 * combine the norms and scale them yourself. */
double psfwi_optim_clip_norm(size_t n, double *g, double max_norm);
double psfwi_optim_clip_normf(size_t n, float *g, double max_norm);

/* ---- Learning-rate schedules ----------------------------------------------------
 * Epochs count from 0; lr(e) is the learning rate used during epoch e, and
 * lr(0) = lr0. The closed forms (PyTorch's StepLR, CosineAnnealingLR):
 *   CONSTANT:  lr(e) = lr0
 *   STEP:      lr(e) = lr0 gamma^floor(e / step_size)
 *   COSINE:    lr(e) = lr_min + (lr0 - lr_min) (1 + cos(pi e / t_max)) / 2
 *              (for e > t_max the formula goes on: it rises again, period
 *              2 t_max, as PyTorch's closed form does)
 *   PLATEAU:   torch.optim.lr_scheduler.ReduceLROnPlateau, mode "min",
 *              threshold_mode "rel": state best (+inf at first), bad epochs
 *              nbad and a cooldown counter. Each psfwi_lr_schedule_step with
 *              the epoch's metric:
 *                if metric < best (1 - threshold): best = metric, nbad = 0
 *                else nbad += 1
 *                if cooldown counter > 0: counter -= 1, nbad = 0
 *                if nbad > patience: lr' = max(lr factor, lr_min), taken if
 *                  lr - lr' > eps; counter = cooldown, nbad = 0
 *              so the lr drops at the (patience + 1)-th epoch in a row
 *              without improvement, and no bad epoch is counted during the
 *              cooldown epochs after a drop.
 * psfwi_lr_schedule_step(s, e, metric, &lr) is called at the end of epoch e
 * with its metric (e.g. validation loss; ignored, may be NaN, except by
 * PLATEAU) and gives the learning rate for epoch e + 1: lr(e + 1) for the
 * closed forms. psfwi_lr_at(s, e) is lr(e) for the closed forms; for
 * PLATEAU it is the current learning rate, whatever e. */
enum psfwi_lr_kind {
  PSFWI_LR_CONSTANT = 0,
  PSFWI_LR_STEP = 1,
  PSFWI_LR_COSINE = 2,
  PSFWI_LR_PLATEAU = 3
};

typedef struct psfwi_lr_schedule_options {
  int kind;         /* enum psfwi_lr_kind */
  double lr0;       /* initial learning rate, finite and > 0 (default 1e-3) */
  size_t step_size; /* STEP: epochs per decay, >= 1 (default 30) */
  double gamma;     /* STEP: decay factor, finite and > 0 (default 0.1) */
  size_t t_max;     /* COSINE: half period T in epochs, >= 1 (default 100) */
  double lr_min;    /* COSINE: eta_min in [0, lr0]; PLATEAU: min_lr >= 0 (0) */
  double factor;    /* PLATEAU: in (0, 1) (default 0.1) */
  size_t patience;  /* PLATEAU: bad epochs tolerated (default 10) */
  double threshold; /* PLATEAU: relative improvement, in [0, 1) (1e-4) */
  size_t cooldown;  /* PLATEAU: epochs without counting after a drop (0) */
  double eps;       /* PLATEAU: smallest drop applied, >= 0 (1e-8) */
} psfwi_lr_schedule_options;

/* PyTorch's defaults for kind, with lr0. */
void psfwi_lr_schedule_options_init(psfwi_lr_schedule_options *o, int kind, double lr0);

typedef struct psfwi_lr_schedule psfwi_lr_schedule;

/* Checks the options of its kind only (PSFWI_EINVAL for an unknown kind,
 * PSFWI_ERANGE naming the option otherwise); NULL on failure. */
psfwi_lr_schedule *psfwi_lr_schedule_create(const psfwi_lr_schedule_options *o, psfwi_error *err);
void psfwi_lr_schedule_destroy(psfwi_lr_schedule *s);
double psfwi_lr_at(const psfwi_lr_schedule *s, size_t epoch);
/* End of epoch `epoch`: *lr = the learning rate for epoch + 1 (lr may be
 * NULL). PLATEAU: a NaN or Inf metric gives PSFWI_ENONFINITE naming the
 * epoch, with the state unchanged. */
int psfwi_lr_schedule_step(psfwi_lr_schedule *s, size_t epoch, double metric, double *lr,
                           psfwi_error *err);
double psfwi_lr_schedule_lr(const psfwi_lr_schedule *s); /* current learning rate */
/* State (current lr, best, bad-epoch and cooldown counters, steps taken,
 * last epoch) with a version and a checksum, as psfwi_optim_sgd's. Restore
 * needs a schedule of the same kind (PSFWI_EINVAL); the options are the
 * object's own. */
size_t psfwi_lr_schedule_state_size(const psfwi_lr_schedule *s);
int psfwi_lr_schedule_state_save(const psfwi_lr_schedule *s, void *buf, size_t size,
                                 psfwi_error *err);
int psfwi_lr_schedule_state_restore(psfwi_lr_schedule *s, const void *buf, size_t size,
                                    psfwi_error *err);

#endif
