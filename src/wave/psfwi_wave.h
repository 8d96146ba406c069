/* psfwi wave: 2D constant-density acoustic pseudo-spectral forward modelling
 * (FFTW single precision). It owns the padded computational grid, the FFTW
 * plans, the spectral Laplacian (k-space corrected or plain), the absorbing
 * layer, the optional free surface, band-limited (Hicks) source/receiver
 * interpolation, resampling of the source wavelet, ONE time step with
 * explicit state, and the shot loop (OpenMP over shots). Method, accuracy
 * and design notes: docs/wave.md; speed: docs/BENCHMARKS.md.
 *
 * Equation (SI units: m, s, m/s, Hz):
 *     (1/v^2) p_tt - laplacian(p) = f(t) delta(x - xs) delta(z - zs)
 * so the 2D Green's function is H(t - r/v) / (2 pi sqrt(t^2 - r^2/v^2)).
 *
 * Grids and layouts. The model grid (nx x nz, dx, dz, origin x0, z0) is
 * embedded in a padded grid of npx x npz points ("padded fields"), laid out
 * f[iz * npx + ix], with model point (ix, iz) at padded (ix + ox, iz + oz).
 * The padding holds the absorbing layer (edge-replicated velocity) and is
 * rounded up to FFT-friendly sizes (extra cells go to the right/bottom).
 * With the free surface on there is no top padding (oz = 0): the model's
 * first row z = z0 is the pressure-release surface, p = 0 there exactly
 * (sine transform along z), and padded row 0 is always zero; the cells
 * saved on top go below the bottom layer, at full damping (so npz is as
 * without the free surface).
 * Padded fields must be allocated with psfwi_wave_field_alloc (SIMD-aligned
 * for FFTW's new-array execute).
 *
 * Time: recorded samples at t = it * dt_out (it < nt), internal step
 * dt = dt_out / nsub. The discretisation (dt, c_ref, absorbing profile) is
 * fixed at psfwi_wave_create from the options' velocity bounds, never from
 * a later model, so that the step's adjoint is exact (docs/wave.md).
 *
 * Threads: psfwi_wave objects are read-only after creation and may be shared
 * by threads; each thread needs its own psfwi_wave_work and state.
 * psfwi_wave_create and psfwi_wave_work_create plan or allocate through
 * FFTW (planning is made thread-safe with fftwf_make_planner_thread_safe).
 *
 * Status codes: PSFWI_OK, PSFWI_EINVAL (bad option), PSFWI_ERANGE
 * (position or velocity out of range), PSFWI_ENONFINITE (NaN/Inf in a model),
 * PSFWI_EUNSTABLE (unstable or under-sampled set-up), PSFWI_ENOMEM. */
#ifndef PSFWI_WAVE_H
#define PSFWI_WAVE_H

#include <stddef.h>

#include "psfwi_core.h"

typedef enum {
  PSFWI_WAVE_KSPACE = 0,  /* k-space corrected leapfrog: exact for v = c_ref */
  PSFWI_WAVE_LEAPFROG = 1 /* plain pseudo-spectral leapfrog, 2nd order in time */
} psfwi_wave_scheme;

/* Absorbing layer (docs/wave.md, "Absorbing boundary"). */
typedef enum {
  PSFWI_WAVE_PML = 0,   /* unsplit perfectly matched layer with boundary memory (default) */
  PSFWI_WAVE_SPONGE = 1 /* damping layer: no memory; reflects 0.5-2.3 % at 30 cells */
} psfwi_wave_absorber;

/* Options. Start from psfwi_wave_opts_defaults() and change fields. */
/* Layout of the spectra between the row and the column transforms of the
 * Laplacian (with the PML or the free surface; the sponge without a free
 * surface uses FFTW's 2D plan). Column-major spectra let the z FFTs run on
 * contiguous columns; they are faster while the half spectrum fits in cache
 * and slower above (docs/BENCHMARKS.md), hence the automatic choice. Results
 * agree to rounding (about 1e-7 relative). */
typedef enum psfwi_wave_layout {
  PSFWI_WAVE_LAYOUT_AUTO = 0, /* columns when the half spectrum takes <= 1 MiB, else rows */
  PSFWI_WAVE_LAYOUT_ROWS,
  PSFWI_WAVE_LAYOUT_COLUMNS
} psfwi_wave_layout;

typedef struct psfwi_wave_opts {
  psfwi_wave_scheme scheme;     /* default PSFWI_WAVE_KSPACE */
  double cfl;                   /* vmax_bound dt_cfl / min(dx, dz); <= 0: 0.3 (k-space) or
                               0.2 (leapfrog). The step is dt = dt_out / ceil(dt_out / dt_cfl). */
  double vmax_bound;            /* m/s; fixes dt, c_ref (= vmax_bound) and the absorbing
                               profile; <= 0: max of the model given to create */
  double vmin_bound;            /* m/s; for the spatial sampling check; <= 0: model min */
  double fmax;                  /* Hz, highest frequency in the source (2.5 f_peak for a
                               Ricker; see psfwi_wave_fmax); required, > 0 */
  size_t boundary_cells;        /* absorbing layer width in cells on each side (default 20;
                               >= hicks_radius) */
  psfwi_wave_absorber absorber; /* default PSFWI_WAVE_PML */
  int free_surface;             /* 1: p = 0 at z = z0 (model row 0); default 0 */
  int hicks_radius;             /* half-width of the windowed-sinc stencils, 1..10 (default 4) */
  double ppw_min;               /* refuse fewer points per shortest wavelength
                               vmin_bound / fmax than this (default 2) */
  int nthreads_shots;           /* threads over shots; <= 0: omp_get_max_threads() */
  int nthreads_fft;             /* threads inside one FFT (FFTW threads), default 1 */
  int fftw_measure;             /* 1: FFTW_MEASURE plans (slow to plan, faster); 0: ESTIMATE */
  const char *fftw_wisdom;      /* NULL: none; else FFTW wisdom read from this file before
                               planning (a missing or unreadable file: none) and the
                               process's wisdom written back after (a hidden temporary
                               file, then renamed): MEASURE plans of a size planned
                               before cost nothing; not owned */
  int ftz;                      /* 1: flush denormals to zero while stepping (default 1) */
  psfwi_wave_layout spectral_layout; /* default PSFWI_WAVE_LAYOUT_AUTO */
} psfwi_wave_opts;

void psfwi_wave_opts_defaults(psfwi_wave_opts *o);

/* Everything a caller may need to know about the discretisation. */
typedef struct psfwi_wave_info {
  size_t nx, nz;   /* model grid */
  double dx, dz;   /* m */
  double x0, z0;   /* m, model origin */
  size_t npx, npz; /* padded grid; padded fields hold npx * npz floats */
  size_t ox, oz;   /* padded index of model point (0, 0) */
  double dt;       /* s, internal time step */
  double dt_out;   /* s, recorded sample interval = nsub * dt */
  size_t nsub;
  double c_ref;                  /* m/s, k-space reference velocity (= vmax_bound) */
  double vmin_bound, vmax_bound; /* m/s */
  double fmax;                   /* Hz */
  double cfl;                    /* vmax_bound dt / min(dx, dz) actually used */
  double ppw; /* vmin_bound / (fmax max(dx, dz)): points per shortest wavelength */
  int free_surface;
  psfwi_wave_scheme scheme;
  int spectral_columns; /* 1: the Laplacian's spectra are column-major (psfwi_wave_layout) */
} psfwi_wave_info;

typedef struct psfwi_wave psfwi_wave;

/* Set up modelling on model m's grid with recorded interval dt_out (s).
 * m gives the grid and, when the options leave them <= 0, the velocity
 * bounds (the model is checked: NaN -> PSFWI_ENONFINITE). Plans the FFTs.
 * Refuses (PSFWI_EUNSTABLE, message with the limit and the value): a
 * leapfrog step beyond its von Neumann limit, a k-space step whose Nyquist
 * mode aliases, fewer than ppw_min points per shortest wavelength, dt_out
 * above 1 / (2 fmax), a model velocity above vmax_bound or below
 * vmin_bound, and a set-up whose absorbing layer makes a field grow (the
 * stability probe below). NULL on failure with err filled. */
psfwi_wave *psfwi_wave_create(const psfwi_model *m, double dt_out, const psfwi_wave_opts *o,
                              psfwi_error *err);
/* The stability probe psfwi_wave_create runs on set-ups outside the region
 * measured stable (src/wave/wave.c, docs/wave.md "Stability"), here run on
 * any: a random field stepped on a homogeneous model at the velocity bound
 * with m's spacing and o's layer, surface and step (dt_out, cfl). *total:
 * how many times its norm grew from its lowest value to the end; *late:
 * how many times over the last 1000 steps (both infinite if it exploded).
 * psfwi_wave_create refuses a set-up (PSFWI_EUNSTABLE) when total > 100
 * and late > 2: exponential growth. */
int psfwi_wave_stability_growth(const psfwi_model *m, double dt_out, const psfwi_wave_opts *o,
                                double *total, double *late, psfwi_error *err);
/* psfwi_wave_create keeps the probe's results per set-up, in the process
 * and in a file per build of the code ($PSFWI_CACHE_DIR, else
 * $XDG_CACHE_HOME/psfwi, else ~/.cache/psfwi; PSFWI_CACHE_DIR empty: no
 * file). This forgets the process's copy (the file is kept): the next
 * create of a set-up reads the file, or probes again. Not thread-safe. */
void psfwi_wave_probe_forget(void);
void psfwi_wave_destroy(psfwi_wave *w);
const psfwi_wave_info *psfwi_wave_get_info(const psfwi_wave *w);
/* Number of internal steps that take the field from t = 0 to t = (nt - 1) dt_out. */
size_t psfwi_wave_nstep(const psfwi_wave *w, size_t nt);

/* ---- Padded fields and velocity ------------------------------------------- */
/* A zeroed, SIMD-aligned padded field (npx * npz floats); free with
 * psfwi_wave_field_free. NULL when out of memory. */
float *psfwi_wave_field_alloc(const psfwi_wave *w);
void psfwi_wave_field_free(float *f);
/* vel_term[padded] = dt^2 v^2 (the only place the model enters the step),
 * edge-replicated into the padding. Checks the model: same grid as w,
 * finite (PSFWI_ENONFINITE names the cell), within [vmin_bound, vmax_bound]
 * (PSFWI_EUNSTABLE names the cell, value and bound). vel_term: a padded
 * field. */
int psfwi_wave_vel_term(const psfwi_wave *w, const psfwi_model *m, float *vel_term,
                        psfwi_error *err);
/* The adjoint (vector-Jacobian product) of psfwi_wave_vel_term with respect
 * to the model, in two steps so that sums over shots and ranks can sit
 * between them: vel_term = P (dt^2 v^2), P the edge replication into the
 * padding, so dJ/dv = 2 dt^2 v (P^T dJ/dvel_term).
 *   psfwi_wave_pad_adjoint:    acc[iz * nx + ix] += (P^T padded)[iz, ix]
 *                              (every padded cell added to the model cell
 *                              it replicates);
 *   psfwi_wave_vel_term_chain: grad[i] = 2 dt^2 v[i] g_term[i] (g_term =
 *                              P^T dJ/dvel_term on the model grid).
 * Dot-product test in tests/test_wave_adjoint.c. */
void psfwi_wave_pad_adjoint(const psfwi_wave *w, const float *padded, double *acc);
void psfwi_wave_vel_term_chain(const psfwi_wave *w, const psfwi_model *m, const double *g_term,
                               double *grad);
/* Copy the model part of a padded field into out[iz * nx + ix]. */
void psfwi_wave_field_interior(const psfwi_wave *w, const float *field, float *out);

/* ---- Source wavelet -------------------------------------------------------- */
/* Highest frequency (Hz) at which the amplitude spectrum of w (nt samples
 * at dt) is >= 3.28 % of its maximum; 2.5 f_peak for a Ricker. */
int psfwi_wave_fmax(const float *w, size_t nt, double dt, double *fmax, psfwi_error *err);
/* Band-limited resampling of a wavelet given at dt_out (nt samples,
 * t = it dt_out) to the internal step: out[n], n < nt * nsub, at t = n dt.
 * For the k-space scheme the wavelet is also filtered by sinc(omega dt)
 * (= sin(omega dt) / (omega dt)): the source-term half of the k-space
 * correction, which makes a homogeneous medium at v = c_ref exact. */
int psfwi_wave_resample(const psfwi_wave *w, const float *wavelet, size_t nt, float *out,
                        psfwi_error *err);

/* ---- Point sources and receivers (Hicks 2002) ------------------------------
 * Windowed-sinc stencils (Kaiser window, radius hicks_radius) for n points at
 * (x[k], z[k]) m, in the model's frame. Separable: weight(ix, iz) =
 * wx(ix) wz(iz); a point on a grid node has the single weight 1. With the
 * free surface the part of a stencil above the surface is mirrored with a
 * negative sign. Points must lie inside the model (PSFWI_ERANGE naming
 * `what` and the index k). */
typedef struct psfwi_wave_points psfwi_wave_points;
psfwi_wave_points *psfwi_wave_points_create(const psfwi_wave *w, size_t n, const double *x,
                                            const double *z, const char *what, psfwi_error *err);
void psfwi_wave_points_destroy(psfwi_wave_points *p);
size_t psfwi_wave_points_count(const psfwi_wave_points *p);
/* field[padded] += scale * amp[k] * weight_k, for every point k. */
void psfwi_wave_points_inject(const psfwi_wave_points *p, const float *amp, float scale,
                              float *field);
/* out[k] = sum over the stencil of weight_k * field[padded]: the transpose
 * of inject with scale 1. */
void psfwi_wave_points_record(const psfwi_wave_points *p, const float *field, float *out);

/* ---- One time step ---------------------------------------------------------
 * The state is the two latest wavefields (padded fields) plus the boundary
 * memory of the PML (mem; none with the sponge). A step maps
 * (u[n-1], u[n], M[n-1/2]) -> (u[n], u[n+1], M[n+1/2]):
 *   lap    = L u[n] + S a[n]                  spectral Laplacian (psfwi_wave_laplacian)
 *                                             plus source injection S (scale 1 / (dx dz);
 *                                             skipped when src is NULL)
 * Inside the model:  u[n+1] = 2 u[n] - u[n-1] + vel_term lap.
 * Sponge layer:      u[n+1] = ((2 - e^2) u[n] - (1 - e) u[n-1] + vel_term lap) / (1 + e),
 *                    e = (dx(ix) + dz(iz)) dt (psfwi_wave_damping; e <= 1).
 * PML (default):     u[n+1] = ((2 - ex ez) u[n] - (1 - eh) u[n-1] + vel_term R) / (1 + eh),
 *                    eh = (ex + ez) / 2, R = lap + memory terms (docs/wave.md): the
 *                    stretched-coordinate wave equation multiplied by sx sz, with the
 *                    memory variables advanced in the same call.
 * In every case the bracket multiplying vel_term (lap, or R) is left in the
 * work's lap (psfwi_wave_work_lap), and the step leaves st->prev = u[n],
 * st->cur = u[n+1] (pointer swap); mem is updated in place. With the
 * k-space scheme L has the multiplier -(2 / (c_ref dt))^2 sin^2(c_ref |k| dt / 2),
 * else -|k|^2. The step is linear in (u[n-1], u[n], mem, amp). */
typedef struct psfwi_wave_state {
  float *prev; /* u[n-1], padded field */
  float *cur;  /* u[n], padded field */
  float *mem;  /* boundary memory, psfwi_wave_mem_floats(w) floats (NULL when 0) */
} psfwi_wave_state;
/* Two zeroed padded fields and zeroed boundary memory. */
psfwi_wave_state *psfwi_wave_state_create(const psfwi_wave *w, psfwi_error *err);
void psfwi_wave_state_destroy(psfwi_wave_state *st);
void psfwi_wave_state_zero(const psfwi_wave *w, psfwi_wave_state *st);
/* Floats of boundary memory in a state (0 with the sponge). */
size_t psfwi_wave_mem_floats(const psfwi_wave *w);
/* A whole state packed into one buffer of psfwi_wave_state_floats(w) floats
 * (2 padded fields + memory): checkpoints of the gradient and of resumable
 * runs. save copies st into buf; load copies buf into st. */
size_t psfwi_wave_state_floats(const psfwi_wave *w);
void psfwi_wave_state_save(const psfwi_wave *w, const psfwi_wave_state *st, float *buf);
void psfwi_wave_state_load(const psfwi_wave *w, psfwi_wave_state *st, const float *buf);

/* Per-thread scratch: the FFT buffers and lap. */
typedef struct psfwi_wave_work psfwi_wave_work;
psfwi_wave_work *psfwi_wave_work_create(const psfwi_wave *w, psfwi_error *err);
void psfwi_wave_work_destroy(psfwi_wave_work *ws);
/* The bracket that multiplied vel_term in the last step (L u[n] + injected
 * source, plus the PML's memory terms in the layer), a padded field owned by
 * ws; valid until the next call using ws. It is d u[n+1] / d vel_term times
 * (1 + eh): the backward step needs it for the velocity gradient. */
const float *psfwi_wave_work_lap(const psfwi_wave_work *ws);

/* out = L in (padded fields; in is not modified; out may not alias in).
 * Symmetric: <L a, b> = <a, L b>. Free surface: rows 0 of in are ignored
 * and row 0 of out is 0. */
void psfwi_wave_laplacian(const psfwi_wave *w, const float *in, float *out, psfwi_wave_work *ws);
/* The damping rate dx(ix) + dz(iz) (1/s) at padded point (ix, iz); 0 inside
 * the model. */
double psfwi_wave_damping(const psfwi_wave *w, size_t ix, size_t iz);
void psfwi_wave_step(const psfwi_wave *w, const float *vel_term, psfwi_wave_state *st,
                     const psfwi_wave_points *src, const float *amp, psfwi_wave_work *ws);
/* The same step leaving the bracket in lap (a padded field of the caller's,
 * e.g. the gradient's tape; NULL: the work's own) instead of the work's:
 * saves the copy when it is kept. psfwi_wave_work_lap is then not updated.
 * Any alignment works; psfwi_wave_field_alloc's (or any 64-byte boundary)
 * avoids an internal copy. */
void psfwi_wave_step_into(const psfwi_wave *w, const float *vel_term, psfwi_wave_state *st,
                          const psfwi_wave_points *src, const float *amp, psfwi_wave_work *ws,
                          float *lap);

/* Flush-to-zero / denormals-are-zero for the calling thread (x86 MXCSR):
 * sets both on (on != 0) or off and returns the previous control word for
 * psfwi_wave_ftz_restore. No-op (returns 0) on other processors.
 * psfwi_wave_shot does this itself according to the ftz option. */
unsigned psfwi_wave_ftz_enter(int on);
void psfwi_wave_ftz_restore(unsigned saved);

/* ---- Shots ----------------------------------------------------------------- */
/* Called after every recorded sample it (field = u at t = it dt_out, a
 * padded field). May be NULL. */
typedef void (*psfwi_wave_sample_fn)(void *ctx, size_t it, const float *field);

/* Model one shot: source at (sx, sz) m with internal-rate samples src_fine
 * (psfwi_wave_resample, >= psfwi_wave_nstep(w, nt) values), nrec receivers
 * at (rx[ir], rz[ir]); traces[ir * nt + it] = p(receiver ir, it dt_out).
 * vel_term from psfwi_wave_vel_term. Resets st to zero first. */
int psfwi_wave_shot(const psfwi_wave *w, const float *vel_term, const float *src_fine, size_t nt,
                    double sx, double sz, size_t nrec, const double *rx, const double *rz,
                    float *traces, psfwi_wave_work *ws, psfwi_wave_state *st,
                    psfwi_wave_sample_fn on_sample, void *ctx, psfwi_error *err);

/* Progress: steps_done of steps_total internal steps over all shots,
 * shots_done of nshot finished. Called at most every few recorded samples
 * per shot and at the end of each shot, never concurrently. */
typedef void (*psfwi_wave_progress_fn)(void *ctx, size_t steps_done, size_t steps_total,
                                       size_t shots_done, size_t nshot);
/* Snapshot of shot 0: the model part of p (nx * nz, out[iz * nx + ix]) at
 * t = it dt_out, every snapshot_every recorded samples (it = 0 included).
 * Never called concurrently with the progress callback. */
typedef void (*psfwi_wave_snapshot_fn)(void *ctx, size_t it, const float *p);

typedef struct psfwi_wave_callbacks {
  psfwi_wave_progress_fn progress; /* may be NULL */
  void *progress_ctx;
  psfwi_wave_snapshot_fn snapshot; /* may be NULL */
  void *snapshot_ctx;
  size_t snapshot_every; /* recorded samples between snapshots (>= 1) */
} psfwi_wave_callbacks;

/* Model every shot of survey s in model m with the wavelet (nt samples at
 * dt_out, as stored in psfwi_gather.wavelet) and fill
 * data[(is * nrec + ir) * nt + it] (the layout of psfwi_gather.data).
 * Checks the model (psfwi_wave_vel_term) and the survey
 * (psfwi_survey_check) first. Shots run in parallel on nthreads_shots
 * threads; results do not depend on the number of threads. cb may be NULL. */
int psfwi_wave_model_shots(const psfwi_wave *w, const psfwi_model *m, const psfwi_survey *s,
                           const float *wavelet, size_t nt, float *data,
                           const psfwi_wave_callbacks *cb, psfwi_error *err);

/* Bytes allocated by w (plans excluded) and by one psfwi_wave_work + state. */
size_t psfwi_wave_bytes_shared(const psfwi_wave *w);
size_t psfwi_wave_bytes_per_thread(const psfwi_wave *w);

/* ---- Backward (adjoint) of the time step: src/wave/backward.c, pml.c -------
 * The vector-Jacobian product of psfwi_wave_step, written once and used by
 * the FWI gradient (src/invert) and by any network that uses the step as a
 * recurrent cell. It maps the adjoint state
 *   adj->prev = dJ/du[n]   (so far: through later steps and records)
 *   adj->cur  = dJ/du[n+1] (complete)
 *   adj->mem  = dJ/dM[n+1/2] (PML memory; complete)
 * to
 *   adj->cur  = dJ/du[n]     through this step (complete for the step)
 *   adj->prev = dJ/du[n-1]   this step's part
 *   adj->mem  = dJ/dM[n-1/2]
 * by a pointer swap, like the forward. Sponge, with e = d dt and
 * w = q / (1 + e), q = dJ/du[n+1]:
 *   adj->cur  = p + (2 - e^2) w + L(vel_term w),  adj->prev = -(1 - e) w;
 * the PML's transpose is derived step by step in docs/gradient.md. L is
 * symmetric (psfwi_wave_laplacian). Optional outputs, accumulated (+=):
 *   g_vel[padded] += (dJ/du[n+1]) / (1 + eh) lap_n   dJ/dvel_term, with
 *                  lap_n the forward's psfwi_wave_work_lap of step n;
 *                  skipped when lap_n or g_vel is NULL;
 *   amp_bar[k]    += dJ/da[n] for the points src (skipped when src or
 *                  amp_bar is NULL).
 * Receiver records are not part of the step: add their transpose
 * (psfwi_wave_points_inject of the adjoint source, scale 1) to adj->cur
 * after the backward of step n when u[n] was recorded. bw: per-thread
 * scratch (its own FFT buffers and padded fields); dot-product tests in
 * tests/test_wave_adjoint.c. */
typedef struct psfwi_wave_bwork psfwi_wave_bwork;
psfwi_wave_bwork *psfwi_wave_bwork_create(const psfwi_wave *w, psfwi_error *err);
void psfwi_wave_bwork_destroy(psfwi_wave_bwork *bw);
/* Bytes allocated by one psfwi_wave_bwork. */
size_t psfwi_wave_bwork_bytes(const psfwi_wave *w);
void psfwi_wave_step_backward(const psfwi_wave *w, const float *vel_term, psfwi_wave_state *adj,
                              const float *lap_n, float *g_vel, const psfwi_wave_points *src,
                              float *amp_bar, psfwi_wave_bwork *bw);
/* Transpose of psfwi_wave_resample: fine[n] (n < nt * nsub, at the internal
 * step) -> out[it] (it < nt, at dt_out), so that
 * <resample(x), y> = <x, resample_adjoint(y)>. Computed from the resampling's
 * impulse response g: resample(x)[j] = sum_i x[i] g(|j - nsub i|) (g is
 * even); O(nt^2 nsub) work. EINVAL (NULL, nt = 0), ENONFINITE (names the
 * sample), ENOMEM. */
int psfwi_wave_resample_adjoint(const psfwi_wave *w, const float *fine, size_t nt, float *out,
                                psfwi_error *err);
/* The options w was created with (after defaults): lets drivers outside
 * src/wave match psfwi_wave_model_shots (threads, flush-to-zero). */
const psfwi_wave_opts *psfwi_wave_get_opts(const psfwi_wave *w);

#endif
