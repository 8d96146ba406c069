/* The propagator: set-up (discretisation checks, padded grid, spectral
 * multiplier, absorbing profile, FFTW plans), padded fields, the velocity
 * term and the time step. The Laplacian it applies: src/wave/laplacian.c;
 * the PML: src/wave/pml.c. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <fftw3.h>

#if defined(__x86_64__) || defined(__i386__)
#include <pmmintrin.h>
#define PSFWI_HAVE_MXCSR 1
#endif

#include "wave_internal.h"

static const double PI = 3.14159265358979323846;

void psfwi_wave_opts_defaults(psfwi_wave_opts *o) {
  memset(o, 0, sizeof *o);
  o->scheme = PSFWI_WAVE_KSPACE;
  o->cfl = 0.0;
  o->vmax_bound = 0.0;
  o->vmin_bound = 0.0;
  o->fmax = 0.0;
  o->boundary_cells = 20;
  o->absorber = PSFWI_WAVE_PML;
  o->free_surface = 0;
  o->hicks_radius = 4;
  o->ppw_min = 2.0;
  o->nthreads_shots = 0;
  o->nthreads_fft = 1;
  o->fftw_measure = 0;
  o->ftz = 1;
}

/* Smallest n' >= n whose only prime factors are 2, 3, 5, 7 (and even when
 * `even`): sizes FFTW transforms fast. */
static size_t good_size(size_t n, int even) {
  for (size_t m = n > 1 ? n : 1;; m++) {
    if (even && m % 2 != 0) continue;
    size_t r = m;
    const size_t f[4] = {2, 3, 5, 7};
    for (int i = 0; i < 4; i++)
      while (r % f[i] == 0) r /= f[i];
    if (r == 1) return m;
  }
}

static int check_opts(const psfwi_wave_opts *o, double dt_out, psfwi_error *err) {
  if (o->scheme != PSFWI_WAVE_KSPACE && o->scheme != PSFWI_WAVE_LEAPFROG)
    return psfwi_fail(err, PSFWI_EINVAL,
                      "wave scheme %d is unknown; expected k-space (0) or "
                      "leapfrog (1)",
                      (int)o->scheme);
  if (!(dt_out > 0.0) || !isfinite(dt_out))
    return psfwi_fail(err, PSFWI_ERANGE, "recorded sample interval dt_out = %g s; expected > 0",
                      dt_out);
  if (!(o->fmax > 0.0) || !isfinite(o->fmax))
    return psfwi_fail(err, PSFWI_EINVAL,
                      "source maximum frequency fmax = %g Hz; expected > 0 (2.5 f_peak for a "
                      "Ricker, or psfwi_wave_fmax of the wavelet)",
                      o->fmax);
  if (!isfinite(o->cfl) || o->cfl > 10.0)
    return psfwi_fail(err, PSFWI_ERANGE, "cfl = %g; expected a small positive number (0.3)",
                      o->cfl);
  if (!isfinite(o->vmax_bound) || !isfinite(o->vmin_bound))
    return psfwi_fail(err, PSFWI_ENONFINITE, "velocity bounds are not finite");
  if (o->absorber != PSFWI_WAVE_PML && o->absorber != PSFWI_WAVE_SPONGE)
    return psfwi_fail(err, PSFWI_EINVAL,
                      "absorber %d is unknown; expected PML (0) or "
                      "sponge (1)",
                      (int)o->absorber);
  if (o->hicks_radius < 1 || o->hicks_radius > 10)
    return psfwi_fail(err, PSFWI_ERANGE, "hicks_radius = %d; expected 1 to 10", o->hicks_radius);
  if (o->boundary_cells < (size_t)o->hicks_radius || o->boundary_cells > 10000)
    return psfwi_fail(err, PSFWI_ERANGE,
                      "boundary_cells = %zu; expected >= hicks_radius = %d (and <= 10000)",
                      o->boundary_cells, o->hicks_radius);
  if (!(o->ppw_min > 0.0) || !isfinite(o->ppw_min))
    return psfwi_fail(err, PSFWI_ERANGE, "ppw_min = %g; expected > 0 (2)", o->ppw_min);
  if (o->spectral_layout != PSFWI_WAVE_LAYOUT_AUTO &&
      o->spectral_layout != PSFWI_WAVE_LAYOUT_ROWS &&
      o->spectral_layout != PSFWI_WAVE_LAYOUT_COLUMNS)
    return psfwi_fail(err, PSFWI_EINVAL,
                      "spectral_layout %d is unknown; expected auto (0), "
                      "rows (1) or columns (2)",
                      (int)o->spectral_layout);
  if (o->nthreads_fft < 1 || o->nthreads_fft > 1024)
    return psfwi_fail(err, PSFWI_ERANGE, "nthreads_fft = %d; expected >= 1", o->nthreads_fft);
  return PSFWI_OK;
}

/* Compare a velocity against the bounds; message names the cell. */
static int check_bounds(const psfwi_model *m, double vmin, double vmax, const char *what,
                        psfwi_error *err) {
  const size_t nx = m->grid.nx, n = psfwi_grid_size(&m->grid);
  const double hi = vmax * (1.0 + 1e-6), lo = vmin * (1.0 - 1e-6);
  for (size_t i = 0; i < n; i++) {
    const double v = (double)m->vp[i];
    if (v > hi)
      return psfwi_fail(err, PSFWI_EUNSTABLE,
                        "%s: velocity %g m/s at (ix = %zu, iz = %zu) is above the bound "
                        "vmax_bound = c_ref = %g m/s that fixed the time step; the step "
                        "would be unstable or inexact (raise vmax_bound)",
                        what, v, i % nx, i / nx, vmax);
    if (v < lo)
      return psfwi_fail(err, PSFWI_EUNSTABLE,
                        "%s: velocity %g m/s at (ix = %zu, iz = %zu) is below the bound "
                        "vmin_bound = %g m/s that fixed the spatial sampling; the grid would be "
                        "under-sampled (lower vmin_bound)",
                        what, v, i % nx, i / nx, vmin);
  }
  return PSFWI_OK;
}

static void fill_multiplier(psfwi_wave *w) {
  const psfwi_wave_info *in = &w->info;
  const size_t npx = in->npx, npz = in->npz, nh = npx / 2 + 1;
  const double c = in->c_ref, dt = in->dt;
  const int ks = in->scheme == PSFWI_WAVE_KSPACE, fs = in->free_surface;
  /* With the free surface the z index is the sine index jz = 1..npz-1 (0
   * unused, zero) of a DST-I along z over padded rows 1..npz-1 (row 0 is the
   * surface); DST-I applied twice is (npz / 2) times the identity. */
  const double norm = (fs ? 2.0 : 1.0) / ((double)npx * (double)npz);
  for (size_t jz = 0; jz < npz; jz++) {
    const size_t kz_i = fs ? jz : (jz <= npz / 2 ? jz : npz - jz);
    const double kz = (fs ? PI : 2.0 * PI) * (double)kz_i / ((double)npz * in->dz);
    for (size_t jx = 0; jx < nh; jx++) {
      const double kx = 2.0 * PI * (double)jx / ((double)npx * in->dx);
      const double k2 = kx * kx + kz * kz;
      double mval;
      if (ks) {
        const double s = sin(0.5 * c * sqrt(k2) * dt);
        mval = -4.0 * s * s / (c * c * dt * dt);
      } else {
        mval = -k2;
      }
      const float v = fs && jz == 0 ? 0.0f : (float)(mval * norm);
      if (!in->spectral_columns) {
        w->mult[jz * nh + jx] = v;
      } else if (!fs) {
        w->mult[jx * w->ldz + jz] = v;
      } else { /* twice: the column sine pass multiplies complex numbers */
        w->mult[2 * (jx * w->ldz + jz)] = v;
        w->mult[2 * (jx * w->ldz + jz) + 1] = v;
      }
    }
  }
}

/* Damping e = d dt per padded column (axis x) or row (axis z), for the
 * profile of the absorber (wave_internal.h). */
static void fill_damping(float *e, size_t np, size_t o, size_t n, size_t nb, double h, double vmax,
                         double dt, int pml) {
  const double pw = pml ? PSFWI_PML_POW : PSFWI_SPONGE_POW;
  const double d0 = psfwi_absorb_d0(pw, pml ? PSFWI_PML_LOGR : PSFWI_SPONGE_LOGR, vmax, nb, h);
  for (size_t i = 0; i < np; i++) {
    double s = 0.0; /* distance into the layer, cells */
    if (i < o)
      s = (double)(o - i);
    else if (i >= o + n)
      s = (double)(i - (o + n - 1));
    double r = s / (double)nb;
    if (r > 1.0) r = 1.0;
    /* e = d dt <= 1 keeps the damped update stable (its roots are 1 / (1 + e)
     * and 1 - e); only very thin layers reach the cap. */
    e[i] = (float)fmin(d0 * pow(r, pw) * dt, 1.0);
  }
}

void psfwi_wave_destroy(psfwi_wave *w) {
  if (w == NULL) return;
  if (w->fwd) fftwf_destroy_plan(w->fwd);
  if (w->inv) fftwf_destroy_plan(w->inv);
  if (w->zfft) fftwf_destroy_plan(w->zfft);
  if (w->zbwd) fftwf_destroy_plan(w->zbwd);
  psfwi_pml_destroy(w->pml);
  free(w->sine);
  free(w->sine2);
  fftwf_free(w->mult);
  free(w->ex);
  free(w->ez);
  free(w);
}

/* The out-of-memory error of psfwi_wave_create. */
static int fail_nomem(size_t nx, size_t nz, psfwi_error *err) {
  return psfwi_fail(err, PSFWI_ENOMEM, "cannot allocate the propagator for a %zu x %zu model", nx,
                    nz);
}

/* The Laplacian as row transforms and a z pass (PML or free surface), not FFTW's 2D pair. */
static int two_pass(const psfwi_wave *w) {
  return w->info.free_surface || w->opts.absorber == PSFWI_WAVE_PML;
}

/* Sampling and stability: the options, the model, the velocity bounds, the
 * source's sampling in time and space, and the internal step within the
 * scheme's limit; fills those fields of *in (dt, nsub, c_ref, bounds, ...). */
static int check_sampling(const psfwi_model *m, double dt_out, const psfwi_wave_opts *o,
                          psfwi_wave_info *in, psfwi_error *err) {
  if (m == NULL || o == NULL)
    return psfwi_fail(err, PSFWI_EINVAL, "psfwi_wave_create: model and options are required");
  int st = check_opts(o, dt_out, err);
  if (st != PSFWI_OK) return st;
  st = psfwi_model_check(m, "model", err);
  if (st != PSFWI_OK) return st;
  const psfwi_grid *g = &m->grid;

  float mlo, mhi;
  psfwi_model_range(m, &mlo, &mhi);
  const double vmax = o->vmax_bound > 0.0 ? o->vmax_bound : (double)mhi;
  /* (a defaulted vmin never exceeds vmax: a model above a given vmax_bound
   * is then reported as such by check_bounds) */
  const double vmin = o->vmin_bound > 0.0 ? o->vmin_bound : fmin((double)mlo, vmax);
  if (vmin > vmax)
    return psfwi_fail(err, PSFWI_ERANGE,
                      "velocity bounds vmin_bound = %g m/s > vmax_bound = %g m/s", vmin, vmax);
  st = check_bounds(m, vmin, vmax, "model", err);
  if (st != PSFWI_OK) return st;

  const double hmin = g->dx < g->dz ? g->dx : g->dz, hmax = g->dx > g->dz ? g->dx : g->dz;
  /* Temporal sampling of the source. */
  const double dt_nyq = 0.5 / o->fmax;
  if (dt_out > dt_nyq * (1.0 + 1e-9))
    return psfwi_fail(err, PSFWI_EUNSTABLE,
                      "under-sampled in time: dt_out = %g s is above the Nyquist limit 1 / "
                      "(2 fmax) = %g s of fmax = %g Hz",
                      dt_out, dt_nyq, o->fmax);
  /* Spatial sampling: points per shortest wavelength vmin / fmax. */
  const double ppw = vmin / (o->fmax * hmax);
  if (ppw < o->ppw_min)
    return psfwi_fail(err, PSFWI_EUNSTABLE,
                      "under-sampled in space: the shortest wavelength vmin / fmax = (%g m/s) / "
                      "(%g Hz) = %g m over a grid spacing of %g m gives %.3g points per "
                      "wavelength; at least %g are needed (refine the grid or lower fmax)",
                      vmin, o->fmax, vmin / o->fmax, hmax, ppw, o->ppw_min);
  const double cfl_req = o->cfl > 0.0 ? o->cfl : (o->scheme == PSFWI_WAVE_KSPACE ? 0.3 : 0.2);
  const double dt_cfl = cfl_req * hmin / vmax;
  const double ratio = dt_out / dt_cfl;
  if (ratio > 1e7)
    return psfwi_fail(err, PSFWI_ERANGE,
                      "dt_out = %g s needs %g internal steps per sample; too many", dt_out, ratio);
  size_t nsub = (size_t)ceil(ratio * (1.0 - 1e-12));
  if (nsub < 1) nsub = 1;
  const double dt = dt_out / (double)nsub;
  const double kn = sqrt(1.0 / (g->dx * g->dx) + 1.0 / (g->dz * g->dz));
  if (o->scheme == PSFWI_WAVE_LEAPFROG) {
    /* von Neumann: v dt |k|max / 2 <= 1 with |k|max = pi sqrt(1/dx^2 + 1/dz^2). */
    const double s = vmax * dt * PI * kn / 2.0;
    if (s > 1.0)
      return psfwi_fail(err, PSFWI_EUNSTABLE,
                        "unstable: the plain leapfrog needs vmax dt pi sqrt(1/dx^2 + 1/dz^2) / 2 "
                        "<= 1 (von Neumann), i.e. cfl <= %.4f; cfl = %g was asked for (%.4f "
                        "after rounding the step to %zu per sample)",
                        2.0 / (PI * kn * hmin), cfl_req, vmax * dt / hmin, nsub);
  } else {
    /* The Nyquist mode must not alias: c_ref dt |k|max / 2 < pi / 2. */
    const double s = vmax * dt * kn;
    if (s >= 1.0)
      return psfwi_fail(err, PSFWI_EUNSTABLE,
                        "unstable: the k-space step needs c_ref dt sqrt(1/dx^2 + 1/dz^2) < 1 so "
                        "that the Nyquist wavenumber does not alias, i.e. cfl < %.4f; cfl = %g "
                        "was asked for (%.4f after rounding the step to %zu per sample)",
                        1.0 / (kn * hmin), cfl_req, vmax * dt / hmin, nsub);
  }
  in->dt = dt;
  in->dt_out = dt_out;
  in->nsub = nsub;
  in->c_ref = vmax;
  in->vmin_bound = vmin;
  in->vmax_bound = vmax;
  in->fmax = o->fmax;
  in->cfl = vmax * dt / hmin;
  in->ppw = ppw;
  return PSFWI_OK;
}

/* Grid layout: the padded grid (offsets ox, oz and FFT-friendly npx, npz),
 * the spectra's layout (rows or columns, stride ldz) and the sizes of the
 * multiplier and of the spectral scratch. */
static int set_layout(psfwi_wave *w, const psfwi_grid *g, const size_t *pad, psfwi_error *err) {
  const psfwi_wave_opts *o = &w->opts;
  psfwi_wave_info *in = &w->info;
  in->nx = g->nx;
  in->nz = g->nz;
  in->dx = g->dx;
  in->dz = g->dz;
  in->x0 = g->x0;
  in->z0 = g->z0;
  in->free_surface = o->free_surface ? 1 : 0;
  in->scheme = o->scheme;
  in->ox = w->nb;
  in->npx = pad ? pad[0] : good_size(g->nx + 2 * w->nb, 1);
  if (in->free_surface) {
    in->oz = 0;
    /* No top padding. The sine transform makes the grid's bottom a p = 0
     * wall that would send back what the layer lets through, so the cells
     * saved on top go below the bottom layer at full damping (the grid is
     * as tall as without the free surface). The sine transform over rows
     * 1..npz-1 runs on a complex FFT of npz points, which must be even. */
    in->npz = pad ? pad[1] : good_size(g->nz + 2 * w->nb, 1);
  } else {
    in->oz = w->nb;
    in->npz = pad ? pad[1] : good_size(g->nz + 2 * w->nb, 1);
  }

  const size_t npx = in->npx, npz = in->npz, np = npx * npz;
  if (npz < 2 || np / npz != npx)
    return psfwi_fail(err, PSFWI_ERANGE, "padded grid %zu x %zu is too small or too large", npx,
                      npz);
  const size_t half_bytes = npz * (npx / 2 + 1) * 2 * sizeof(float);
  const int auto_columns =
      o->spectral_layout == PSFWI_WAVE_LAYOUT_AUTO && half_bytes <= PSFWI_COLUMNS_MAX;
  in->spectral_columns =
      two_pass(w) && (o->spectral_layout == PSFWI_WAVE_LAYOUT_COLUMNS || auto_columns);
  /* Column stride of column-major spectra (complex numbers): npz rounded up
   * to whole 64-byte lines, and an odd number of them, so that the row
   * transforms' strided writes spread over all cache sets (npz = 192 or 320
   * unpadded made the Laplacian 1.3x FFTW's pair instead of 0.97x,
   * docs/experiments/fft_layouts/column_major.c). */
  w->ldz = npz;
  if (in->spectral_columns) {
    w->ldz = (npz + 7) / 8 * 8;
    if ((w->ldz / 8) % 2 == 0) w->ldz += 8;
  }
  const size_t nsz = (npx / 2 + 1) * (in->spectral_columns ? w->ldz : npz);
  w->nmult = nsz;
  /* Spectral scratch: one buffer with row-major spectra and no free surface
   * (in place); else two, the second starting on a 64-byte boundary like the
   * first (the column FFTs run out of place, and the row-major sine is not in
   * place), and with the free surface the row-major sine's running sums or
   * the column-major one's column of scratch. */
  w->spec_half = (2 * nsz + 15) / 16 * 16;
  if (!in->free_surface) {
    w->nspec = in->spectral_columns ? 2 * w->spec_half : 2 * nsz;
  } else {
    if (in->spectral_columns) w->nmult *= 2; /* (each value twice: wave_internal.h) */
    w->nspec = 2 * w->spec_half + (npx + 2 > 2 * npz ? npx + 2 : 2 * npz);
  }
  return PSFWI_OK;
}

/* Multipliers: the free surface's sine tables, the spectral multiplier and
 * the damping profiles of the absorber. */
static int fill_coefficients(psfwi_wave *w, psfwi_error *err) {
  const psfwi_wave_info *in = &w->info;
  const size_t npx = in->npx, npz = in->npz;
  if (in->free_surface) {
    w->sine = malloc((npz + 1) * sizeof(float));
    w->sine2 = malloc(2 * (npz + 1) * sizeof(float));
    if (!w->sine || !w->sine2) return fail_nomem(in->nx, in->nz, err);
    for (size_t j = 0; j <= npz; j++) {
      w->sine[j] = (float)sin(PI * (double)j / (double)npz);
      w->sine2[2 * j] = w->sine2[2 * j + 1] = w->sine[j];
    }
  }
  w->mult = fftwf_malloc(w->nmult * sizeof(float));
  w->ex = malloc(npx * sizeof(float));
  w->ez = malloc(npz * sizeof(float));
  if (!w->mult || !w->ex || !w->ez) return fail_nomem(in->nx, in->nz, err);
  memset(w->mult, 0, w->nmult * sizeof(float)); /* (the columns' padding stays 0) */
  fill_multiplier(w);
  const int pml = w->opts.absorber == PSFWI_WAVE_PML;
  fill_damping(w->ex, npx, in->ox, in->nx, w->nb, in->dx, in->c_ref, in->dt, pml);
  /* (with the free surface oz = 0: no layer on top, only rows below the
   * model are damped) */
  fill_damping(w->ez, npz, in->oz, in->nz, w->nb, in->dz, in->c_ref, in->dt, pml);
  return PSFWI_OK;
}

/* FFT planning: the Laplacian's plans, made on scratch arrays (MEASURE
 * overwrites them), and the alignment their arrays must have. */
static int make_plans(psfwi_wave *w, unsigned flags, psfwi_error *err) {
  const psfwi_wave_info *in = &w->info;
  const psfwi_wave_opts *o = &w->opts;
  const size_t npx = in->npx, npz = in->npz, np = npx * npz;
  int st = PSFWI_OK;
  float *bufa = fftwf_malloc(np * sizeof(float));
  float *bufb = fftwf_malloc(np * sizeof(float));
  float *spec = fftwf_malloc(w->nspec * sizeof(float));
  if (!bufa || !bufb || !spec) {
    st = fail_nomem(in->nx, in->nz, err);
    goto done;
  }
  memset(bufa, 0, np * sizeof(float));
  memset(bufb, 0, np * sizeof(float));
  fftwf_make_planner_thread_safe();
  if (o->nthreads_fft > 1 && !fftwf_init_threads()) {
    st = psfwi_fail(err, PSFWI_EINTERNAL, "FFTW threads could not be initialised");
    goto done;
  }
  if (o->nthreads_fft > 1) fftwf_plan_with_nthreads(o->nthreads_fft);
  if (!two_pass(w)) {
    w->fwd = fftwf_plan_dft_r2c_2d((int)npz, (int)npx, bufa, (fftwf_complex *)spec, flags);
    w->inv = fftwf_plan_dft_c2r_2d((int)npz, (int)npx, (fftwf_complex *)spec, bufb, flags);
  } else {
    /* r2c / c2r along x for every row, and a complex FFT along z of the
     * npx/2 + 1 spectral columns (psfwi_wave_laplacian): the free
     * surface's sine transform works on the row spectra, and the PML reuses
     * the row spectra of its layer rows. Column-major spectra (column jx's
     * npz numbers contiguous: the row transforms write and read them with
     * stride npz) let the z FFTs run on contiguous columns; with row-major
     * ones FFTW copies every column into a buffer and back (fftwf_cpy2d,
     * 7-10 % of a step at 256 x 128 in perf). Measured: the columns are
     * faster while the half spectrum fits in cache, the rows above
     * (PSFWI_COLUMNS_MAX; docs/BENCHMARKS.md). */
    const int nxi = (int)npx, nzi = (int)npz, nhi = (int)(npx / 2 + 1);
    const int cs = in->spectral_columns ? (int)w->ldz : 1, rs = in->spectral_columns ? 1 : nhi;
    fftwf_complex *sp = (fftwf_complex *)spec;
    /* the z transforms' output: out of place for column-major spectra
     * (measured 5-10 % faster than in place at npz = 168-192) */
    fftwf_complex *zo = in->spectral_columns ? (fftwf_complex *)(spec + w->spec_half) : sp;
    w->fwd = fftwf_plan_many_dft_r2c(1, &nxi, nzi, bufa, NULL, 1, nxi, sp, NULL, cs, rs, flags);
    w->inv = fftwf_plan_many_dft_c2r(1, &nxi, nzi, sp, NULL, cs, rs, bufb, NULL, 1, nxi, flags);
    /* the z transforms: npz points at stride rs, columns cs apart (the
     * columns' padding, ldz - npz numbers, is never written) */
    w->zfft =
        fftwf_plan_many_dft(1, &nzi, nhi, sp, NULL, rs, cs, zo, NULL, rs, cs, FFTW_FORWARD, flags);
    if (!in->free_surface)
      w->zbwd = fftwf_plan_many_dft(1, &nzi, nhi, zo, NULL, rs, cs, sp, NULL, rs, cs, FFTW_BACKWARD,
                                    flags);
  }
  w->align_in = fftwf_alignment_of(bufa);
  w->align_out = fftwf_alignment_of(bufb);
  if (o->nthreads_fft > 1) fftwf_plan_with_nthreads(1);
  if (!w->fwd || !w->inv || (two_pass(w) && !w->zfft) ||
      (two_pass(w) && !in->free_surface && !w->zbwd))
    st = psfwi_fail(err, PSFWI_EINTERNAL, "FFTW could not plan a %zu x %zu transform", npx, npz);
done:
  fftwf_free(bufa);
  fftwf_free(bufb);
  fftwf_free(spec);
  return st;
}

/* The process's FFTW wisdom into path: a hidden temporary file beside it
 * (.NAME.wisdom.PID), then renamed over it. */
static int save_wisdom(const char *path, psfwi_error *err) {
  const char *slash = strrchr(path, '/');
  const int dir = slash ? (int)(slash - path + 1) : 0;
  char tmp[4200];
  const int n =
      snprintf(tmp, sizeof tmp, "%.*s.%s.wisdom.%ld", dir, path, path + dir, (long)getpid());
  if (n < 0 || (size_t)n >= sizeof tmp)
    return psfwi_fail(err, PSFWI_EINVAL, "[propagator] fftw_wisdom '%s': name too long", path);
  if (!fftwf_export_wisdom_to_filename(tmp)) {
    unlink(tmp);
    return psfwi_fail(err, PSFWI_EIO, "[propagator] fftw_wisdom: cannot write '%s'", path);
  }
  if (rename(tmp, path) != 0) {
    const int e = errno;
    unlink(tmp);
    return psfwi_fail(err, PSFWI_EIO, "[propagator] fftw_wisdom: cannot write '%s': %s", path,
                      strerror(e));
  }
  return PSFWI_OK;
}

static int probe_stability(const psfwi_model *m, double dt_out, const psfwi_wave_opts *o,
                           const psfwi_wave_info *in, psfwi_error *err);

/* pad: NULL, or the padded grid's size (x, z) to use instead of the
 * FFT-friendly one (the stability probe's copy of a run's layout). */
static psfwi_wave *wave_create(const psfwi_model *m, double dt_out, const psfwi_wave_opts *o,
                               int probe, const size_t *pad, psfwi_error *err) {
  psfwi_wave_info in;
  memset(&in, 0, sizeof in);
  psfwi_wave *w = NULL;
  if (check_sampling(m, dt_out, o, &in, err) != PSFWI_OK) goto fail;
  if (probe && probe_stability(m, dt_out, o, &in, err) != PSFWI_OK) goto fail;
  if ((w = calloc(1, sizeof *w)) == NULL) {
    fail_nomem(m->grid.nx, m->grid.nz, err);
    goto fail;
  }
  w->info = in;
  w->opts = *o;
  w->nb = o->boundary_cells;
  const unsigned flags = o->fftw_measure ? FFTW_MEASURE : FFTW_ESTIMATE;
  if (o->fftw_wisdom) (void)fftwf_import_wisdom_from_filename(o->fftw_wisdom);
  if (set_layout(w, &m->grid, pad, err) != PSFWI_OK || fill_coefficients(w, err) != PSFWI_OK ||
      make_plans(w, flags, err) != PSFWI_OK ||
      (o->absorber == PSFWI_WAVE_PML && psfwi_pml_create(w, flags, err) != PSFWI_OK))
    goto fail;
  if (o->fftw_wisdom && save_wisdom(o->fftw_wisdom, err) != PSFWI_OK) goto fail;
  w->opts.fftw_wisdom = NULL; /* not kept: the caller owns the string */
  return w;
fail:
  psfwi_wave_destroy(w);
  return NULL;
}

psfwi_wave *psfwi_wave_create(const psfwi_model *m, double dt_out, const psfwi_wave_opts *o,
                              psfwi_error *err) {
  return wave_create(m, dt_out, o, 1, NULL, err);
}

/* ---- Stability probe ------------------------------------------------------------
 * The von Neumann bound of check_sampling holds for the interior update; the
 * damped updates of the absorbing layers (and the PML's memory terms) add
 * modes that grow at time steps inside it, measured in 40 s runs on a
 * homogeneous model at vmax (docs/wave.md, "Stability"): e.g. 20 cells of
 * PML at CFL 0.6, 4 cells of PML at the default 0.3, 6 cells of sponge at
 * 0.4. Their growth is slow (a factor 1.01 to 1.07 a step) and starts from
 * round-off, so a run can end large but finite, a valid-looking output.
 * The probe steps a homogeneous model at the velocity bound
 * (PSFWI_PROBE_CELLS interior cells a side: 16 were too few to hold the
 * growing modes; the run's spacing, step, reference velocity, absorbing
 * layer and surface) from a random field (zero on a free surface's row) for
 * PSFWI_PROBE_STEPS steps; a norm that grows PSFWI_PROBE_GROWTH-fold from its
 * lowest value and still PSFWI_PROBE_RATE-fold over the last
 * PSFWI_PROBE_LATE steps grows exponentially: an unstable set-up (rates
 * above about 0.0012 a step are caught). Known limit: two set-ups with a
 * free surface that grew in 40 s runs (20 cells of PML at CFL 0.57, 10 of
 * sponge at 0.5) do not grow in the probe. The layer's damping per step is
 * d dt = 25 cfl / nb (PML; 11.25 cfl / nb sponge), a function of the CFL
 * number and the width in cells alone, so on square cells the set-ups
 * measured stable in 40 s runs in all four absorber / surface combinations
 * (>= 20 cells, CFL <= 0.5; tests/test_wave_stability.c probes them too)
 * skip the probe; any other is probed once (results are kept per set-up in
 * the process and in a file per build, src/wave/probe_cache.c, so a set-up
 * pays its 0.1-0.35 s once, not once per run). */
#define PSFWI_PROBE_CELLS  64
#define PSFWI_PROBE_STEPS  4000
#define PSFWI_PROBE_GROWTH 100.0
#define PSFWI_PROBE_LATE   1000
#define PSFWI_PROBE_RATE   2.0
#define PSFWI_PROBE_CACHE  32

static psfwi_probe_key probe_cache[PSFWI_PROBE_CACHE];
static double probe_total[PSFWI_PROBE_CACHE], probe_late[PSFWI_PROBE_CACHE];
static size_t probe_ncache;

void psfwi_wave_probe_forget(void) { probe_ncache = 0; }

/* The cells a run's padded grid has beyond its model, per axis (the layer on
 * both sides and what the FFT-friendly size adds): the probe copies them. */
static void run_edges(const psfwi_grid *g, size_t nb, size_t edge[2]) {
  edge[0] = good_size(g->nx + 2 * nb, 1) - g->nx;
  edge[1] = good_size(g->nz + 2 * nb, 1) - g->nz;
}

static double field_norm2(const float *f, size_t n) {
  double s = 0.0;
  for (size_t i = 0; i < n; i++) s += (double)f[i] * f[i];
  return s;
}

/* *total: the growth of the norm from its lowest value to the end; *late:
 * its growth over the last PSFWI_PROBE_LATE steps (both infinite when the
 * field exploded). */
static int probe_run(const psfwi_model *m, double dt_out, const psfwi_wave_opts *o,
                     const psfwi_wave_info *in, double *total, double *late, psfwi_error *err) {
  /* The probe's padded grid has the run's layout around a smaller
   * interior: the same layer and the same extra cells beyond it (where the
   * FFT-friendly size rounds up; they damp at the layer's outer value, and
   * with a thin layer at a large step they grew a field that a probe
   * without them missed, docs/wave.md "Stability"). The interior keeps the
   * run's parity so that the padded sizes stay even. */
  psfwi_grid g = m->grid;
  g.nx = PSFWI_PROBE_CELLS + m->grid.nx % 2;
  g.nz = PSFWI_PROBE_CELLS + m->grid.nz % 2;
  size_t edge[2];
  run_edges(&m->grid, o->boundary_cells, edge);
  const size_t pad[2] = {g.nx + edge[0], g.nz + edge[1]};
  psfwi_model *pm = psfwi_model_create(&g, err);
  if (pm == NULL) return err->status;
  for (size_t i = 0; i < g.nx * g.nz; i++) pm->vp[i] = (float)in->vmax_bound;
  psfwi_wave_opts po = *o;
  po.vmax_bound = po.vmin_bound = in->vmax_bound;
  po.fftw_measure = 0;
  po.fftw_wisdom = NULL;
  po.nthreads_fft = 1;
  po.spectral_layout = PSFWI_WAVE_LAYOUT_AUTO;
  int status = PSFWI_OK;
  psfwi_wave *pw = wave_create(pm, dt_out, &po, 0, pad, err);
  psfwi_wave_state *st = pw ? psfwi_wave_state_create(pw, err) : NULL;
  psfwi_wave_work *ws = st ? psfwi_wave_work_create(pw, err) : NULL;
  float *vel = ws ? psfwi_wave_field_alloc(pw) : NULL;
  if (vel != NULL && psfwi_wave_vel_term(pw, pm, vel, err) == PSFWI_OK && pw->info.dt == in->dt) {
    const size_t n = pw->info.npx * pw->info.npz;
    unsigned long long seed = 0x5eed5eedULL;
    /* row 0 is the pressure-release surface with a free surface: p = 0 there */
    const size_t first = o->free_surface ? pw->info.npx : 0;
    for (size_t i = first; i < n; i++) st->cur[i] = st->prev[i] = (float)psfwi_normal_draw(&seed);
    const double n0 = field_norm2(st->cur, n);
    double hist[PSFWI_PROBE_STEPS / 50 + 1], nmin = n0, nk = n0;
    size_t nh = 0;
    hist[nh++] = n0;
    for (size_t k = 1; k <= PSFWI_PROBE_STEPS && nk <= 1e24 * n0; k++) {
      psfwi_wave_step(pw, vel, st, NULL, NULL, ws);
      if (k % 50 == 0) {
        nk = field_norm2(st->cur, n);
        if (!isfinite(nk)) break;
        hist[nh++] = nk;
        if (nk < nmin) nmin = nk;
      }
    }
    const size_t back = PSFWI_PROBE_LATE / 50;
    if (!isfinite(nk) || nk > 1e24 * n0) { /* exploded before the end */
      *total = *late = INFINITY;
    } else {
      *total = sqrt(nk / nmin);
      *late = nh > back ? sqrt(nk / hist[nh - 1 - back]) : 1.0;
    }
  } else if (vel != NULL && pw->info.dt != in->dt) {
    status =
        psfwi_fail(err, PSFWI_EINTERNAL, "stability probe: step %g s differs from the run's %g s",
                   pw->info.dt, in->dt);
  } else if (pw != NULL && ws != NULL && vel == NULL) {
    status = psfwi_fail(err, PSFWI_ENOMEM, "stability probe: out of memory");
  } else {
    status = err->status ? err->status : PSFWI_EINTERNAL;
  }
  psfwi_wave_field_free(vel);
  psfwi_wave_work_destroy(ws);
  psfwi_wave_state_destroy(st);
  psfwi_wave_destroy(pw);
  psfwi_model_destroy(pm);
  return status;
}

int psfwi_wave_stability_growth(const psfwi_model *m, double dt_out, const psfwi_wave_opts *o,
                                double *total, double *late, psfwi_error *err) {
  psfwi_wave_info in;
  memset(&in, 0, sizeof in);
  if (check_sampling(m, dt_out, o, &in, err) != PSFWI_OK) return err->status;
  return probe_run(m, dt_out, o, &in, total, late, err);
}

static int probe_stability(const psfwi_model *m, double dt_out, const psfwi_wave_opts *o,
                           const psfwi_wave_info *in, psfwi_error *err) {
  const double cfl = in->vmax_bound * in->dt / fmin(m->grid.dx, m->grid.dz);
  if (o->scheme == PSFWI_WAVE_KSPACE && m->grid.dx == m->grid.dz && o->boundary_cells >= 20 &&
      cfl <= 0.5 + 1e-12)
    return PSFWI_OK; /* measured stable: see above */
  psfwi_probe_key key;
  memset(&key, 0, sizeof key);
  key.dx = m->grid.dx;
  key.dz = m->grid.dz;
  key.dt = in->dt;
  key.c_ref = in->vmax_bound;
  key.nb = o->boundary_cells;
  size_t edge[2];
  run_edges(&m->grid, key.nb, edge);
  key.edge_x = edge[0];
  key.edge_z = edge[1];
  key.odd_x = (int)(m->grid.nx % 2);
  key.odd_z = (int)(m->grid.nz % 2);
  key.absorber = (int)o->absorber;
  key.free_surface = o->free_surface;
  key.scheme = (int)o->scheme;
  double total = -1.0, late = -1.0;
#pragma omp critical(psfwi_probe_cache)
  for (size_t i = 0; i < probe_ncache; i++)
    if (memcmp(&probe_cache[i], &key, sizeof key) == 0) {
      total = probe_total[i];
      late = probe_late[i];
    }
  if (total < 0.0) { /* not yet in this process: the file cache, else a probe */
    if (!psfwi_probe_disk_lookup(&key, &total, &late)) {
      const int st = probe_run(m, dt_out, o, in, &total, &late, err);
      if (st != PSFWI_OK) return st;
      psfwi_probe_disk_store(&key, total, late);
    }
#pragma omp critical(psfwi_probe_cache)
    if (probe_ncache < PSFWI_PROBE_CACHE) {
      probe_cache[probe_ncache] = key;
      probe_total[probe_ncache] = total;
      probe_late[probe_ncache++] = late;
    }
  }
  if (total > PSFWI_PROBE_GROWTH && late > PSFWI_PROBE_RATE)
    return psfwi_fail(err, PSFWI_EUNSTABLE,
                      "unstable: with %zu cells of %s%s, a time step of %g s (CFL %.3g = vmax "
                      "dt / min(dx, dz) at vmax = %g m/s) makes the absorbing layer grow a "
                      "field exponentially (%.3g-fold in %d steps of a stability probe on a "
                      "small model); lower [time] cfl (or the sample interval), or widen "
                      "[propagator] boundary_cells (docs/wave.md, \"Stability\")",
                      o->boundary_cells, o->absorber == PSFWI_WAVE_PML ? "PML" : "sponge",
                      o->free_surface ? " and a free surface" : "", in->dt, cfl, in->vmax_bound,
                      total, PSFWI_PROBE_STEPS);
  return PSFWI_OK;
}

const psfwi_wave_info *psfwi_wave_get_info(const psfwi_wave *w) { return &w->info; }

size_t psfwi_wave_nstep(const psfwi_wave *w, size_t nt) {
  return nt > 0 ? (nt - 1) * w->info.nsub : 0;
}

/* ---- Padded fields ------------------------------------------------------- */

float *psfwi_wave_field_alloc(const psfwi_wave *w) {
  const size_t n = w->info.npx * w->info.npz;
  float *f = fftwf_malloc(n * sizeof(float));
  if (f != NULL) memset(f, 0, n * sizeof(float));
  return f;
}

void psfwi_wave_field_free(float *f) { fftwf_free(f); }

int psfwi_wave_vel_term(const psfwi_wave *w, const psfwi_model *m, float *vel_term,
                        psfwi_error *err) {
  const psfwi_wave_info *in = &w->info;
  const psfwi_grid *g = &m->grid;
  if (g->nx != in->nx || g->nz != in->nz || fabs(g->dx - in->dx) > 1e-9 * in->dx ||
      fabs(g->dz - in->dz) > 1e-9 * in->dz || fabs(g->x0 - in->x0) > 1e-9 * in->dx ||
      fabs(g->z0 - in->z0) > 1e-9 * in->dz)
    return psfwi_fail(err, PSFWI_EINVAL,
                      "model grid %zu x %zu (dx = %g m, dz = %g m, origin %g, %g m) differs from "
                      "the propagator's %zu x %zu (dx = %g m, dz = %g m, origin %g, %g m)",
                      g->nx, g->nz, g->dx, g->dz, g->x0, g->z0, in->nx, in->nz, in->dx, in->dz,
                      in->x0, in->z0);
  int st = psfwi_model_check(m, "model", err);
  if (st != PSFWI_OK) return st;
  st = check_bounds(m, in->vmin_bound, in->vmax_bound, "model", err);
  if (st != PSFWI_OK) return st;
  const size_t npx = in->npx, npz = in->npz, nx = in->nx, nz = in->nz;
  const double dt2 = in->dt * in->dt;
  for (size_t iz = 0; iz < npz; iz++) {
    size_t jz = iz < in->oz ? 0 : iz - in->oz;
    if (jz >= nz) jz = nz - 1;
    for (size_t ix = 0; ix < npx; ix++) {
      size_t jx = ix < in->ox ? 0 : ix - in->ox;
      if (jx >= nx) jx = nx - 1;
      const double v = (double)m->vp[jz * nx + jx];
      vel_term[iz * npx + ix] = (float)(dt2 * v * v);
    }
  }
  return PSFWI_OK;
}

void psfwi_wave_pad_adjoint(const psfwi_wave *w, const float *padded, double *acc) {
  const psfwi_wave_info *in = &w->info;
  for (size_t pz = 0; pz < in->npz; pz++) {
    size_t jz = pz < in->oz ? 0 : pz - in->oz;
    if (jz >= in->nz) jz = in->nz - 1;
    const float *row = padded + pz * in->npx;
    double *o = acc + jz * in->nx;
    for (size_t px = 0; px < in->npx; px++) {
      size_t jx = px < in->ox ? 0 : px - in->ox;
      if (jx >= in->nx) jx = in->nx - 1;
      o[jx] += (double)row[px];
    }
  }
}

void psfwi_wave_vel_term_chain(const psfwi_wave *w, const psfwi_model *m, const double *g_term,
                               double *grad) {
  const double dt2 = w->info.dt * w->info.dt;
  const size_t n = w->info.nx * w->info.nz;
  for (size_t i = 0; i < n; i++) grad[i] = 2.0 * dt2 * (double)m->vp[i] * g_term[i];
}

void psfwi_wave_field_interior(const psfwi_wave *w, const float *field, float *out) {
  const psfwi_wave_info *in = &w->info;
  for (size_t iz = 0; iz < in->nz; iz++)
    memcpy(out + iz * in->nx, field + (iz + in->oz) * in->npx + in->ox, in->nx * sizeof(float));
}

/* ---- State and work ---------------------------------------------------------- */

psfwi_wave_state *psfwi_wave_state_create(const psfwi_wave *w, psfwi_error *err) {
  psfwi_wave_state *st = calloc(1, sizeof *st);
  if (st == NULL) goto fail;
  st->prev = psfwi_wave_field_alloc(w);
  st->cur = psfwi_wave_field_alloc(w);
  const size_t nm = psfwi_wave_mem_floats(w);
  if (nm > 0 && (st->mem = fftwf_malloc(nm * sizeof(float))) != NULL)
    memset(st->mem, 0, nm * sizeof(float));
  if (!st->prev || !st->cur || (nm > 0 && !st->mem)) goto fail;
  return st;
fail:
  psfwi_wave_state_destroy(st);
  psfwi_fail(err, PSFWI_ENOMEM, "cannot allocate a %zu x %zu wavefield state", w->info.npx,
             w->info.npz);
  return NULL;
}

void psfwi_wave_state_destroy(psfwi_wave_state *st) {
  if (st == NULL) return;
  psfwi_wave_field_free(st->prev);
  psfwi_wave_field_free(st->cur);
  fftwf_free(st->mem);
  free(st);
}

void psfwi_wave_state_zero(const psfwi_wave *w, psfwi_wave_state *st) {
  const size_t n = w->info.npx * w->info.npz, nm = psfwi_wave_mem_floats(w);
  memset(st->prev, 0, n * sizeof(float));
  memset(st->cur, 0, n * sizeof(float));
  if (nm > 0) memset(st->mem, 0, nm * sizeof(float));
}

size_t psfwi_wave_mem_floats(const psfwi_wave *w) { return w->pml ? w->pml->nmem : 0; }

size_t psfwi_wave_state_floats(const psfwi_wave *w) {
  return 2 * w->info.npx * w->info.npz + psfwi_wave_mem_floats(w);
}

void psfwi_wave_state_save(const psfwi_wave *w, const psfwi_wave_state *st, float *buf) {
  const size_t n = w->info.npx * w->info.npz, nm = psfwi_wave_mem_floats(w);
  memcpy(buf, st->prev, n * sizeof(float));
  memcpy(buf + n, st->cur, n * sizeof(float));
  if (nm > 0) memcpy(buf + 2 * n, st->mem, nm * sizeof(float));
}

void psfwi_wave_state_load(const psfwi_wave *w, psfwi_wave_state *st, const float *buf) {
  const size_t n = w->info.npx * w->info.npz, nm = psfwi_wave_mem_floats(w);
  memcpy(st->prev, buf, n * sizeof(float));
  memcpy(st->cur, buf + n, n * sizeof(float));
  if (nm > 0) memcpy(st->mem, buf + 2 * n, nm * sizeof(float));
}

psfwi_wave_work *psfwi_wave_work_create(const psfwi_wave *w, psfwi_error *err) {
  psfwi_wave_work *ws = calloc(1, sizeof *ws);
  if (ws == NULL) goto fail;
  ws->spec = fftwf_malloc(w->nspec * sizeof(float));
  ws->lap = psfwi_wave_field_alloc(w);
  if (!ws->spec || !ws->lap || psfwi_pml_work_alloc(w, ws) != PSFWI_OK) goto fail;
  memset(ws->spec, 0, w->nspec * sizeof(float));
  return ws;
fail:
  psfwi_wave_work_destroy(ws);
  psfwi_fail(err, PSFWI_ENOMEM, "cannot allocate wave workspace for a %zu x %zu grid", w->info.npx,
             w->info.npz);
  return NULL;
}

void psfwi_wave_work_destroy(psfwi_wave_work *ws) {
  if (ws == NULL) return;
  fftwf_free(ws->spec);
  psfwi_wave_field_free(ws->lap);
  psfwi_pml_work_free(ws);
  free(ws);
}

const float *psfwi_wave_work_lap(const psfwi_wave_work *ws) { return ws->lap; }

size_t psfwi_wave_bytes_shared(const psfwi_wave *w) {
  size_t n = w->nmult + w->info.npx + w->info.npz;
  if (w->pml) n += 4 * w->pml->ncol + 4 * w->info.npz + w->info.npx / 2 + 1;
  return sizeof *w + n * sizeof(float);
}

size_t psfwi_wave_bytes_per_thread(const psfwi_wave *w) {
  /* work (spec, lap, PML strips) + the state (two fields and the memory) */
  return (w->nspec + w->info.npx * w->info.npz + psfwi_pml_work_floats(w) +
          psfwi_wave_state_floats(w)) *
         sizeof(float);
}

double psfwi_wave_damping(const psfwi_wave *w, size_t ix, size_t iz) {
  if (ix >= w->info.npx || iz >= w->info.npz) return 0.0;
  return ((double)w->ex[ix] + (double)w->ez[iz]) / w->info.dt;
}

/* ---- The time step ---------------------------------------------------------------- */

/* next = ((2 - e^2) cur - (1 - e) prev + vel lap) / (1 + e) on [i0, i1) of a row
 * whose row damping is ezr; next overwrites prev. */
PSFWI_CLONES
static void update_damped(size_t i0, size_t i1, float ezr, const float *restrict ex,
                          const float *restrict cur, float *restrict prev,
                          const float *restrict vel, const float *restrict lap) {
  for (size_t i = i0; i < i1; i++) {
    const float e = ezr + ex[i];
    prev[i] = ((2.0f - e * e) * cur[i] - (1.0f - e) * prev[i] + vel[i] * lap[i]) / (1.0f + e);
  }
}

PSFWI_CLONES
static void update_plain(size_t i0, size_t i1, const float *restrict cur, float *restrict prev,
                         const float *restrict vel, const float *restrict lap) {
  for (size_t i = i0; i < i1; i++) prev[i] = 2.0f * cur[i] - prev[i] + vel[i] * lap[i];
}

void psfwi_wave_step_into(const psfwi_wave *w, const float *vel_term, psfwi_wave_state *st,
                          const psfwi_wave_points *src, const float *amp, psfwi_wave_work *ws,
                          float *lap) {
  const psfwi_wave_info *in = &w->info;
  const size_t npx = in->npx, npz = in->npz;
  float *L = lap != NULL ? lap : ws->lap;
  psfwi_wave_lap(w, st->cur, L, ws, w->pml != NULL ? psfwi_pml_keep_rows : NULL);
  if (src != NULL && amp != NULL)
    psfwi_wave_points_inject(src, amp, (float)(1.0 / (in->dx * in->dz)), L);
  if (w->pml != NULL) {
    psfwi_pml_update(w, vel_term, st, L, ws);
  } else {
    const size_t xa = in->ox, xb = in->ox + in->nx;
    for (size_t iz = 0; iz < npz; iz++) {
      const size_t r = iz * npx;
      const float ezr = w->ez[iz];
      const float *cur = st->cur + r, *vel = vel_term + r, *lr = L + r;
      float *prev = st->prev + r;
      if (ezr == 0.0f) {
        update_damped(0, xa, 0.0f, w->ex, cur, prev, vel, lr);
        update_plain(xa, xb, cur, prev, vel, lr);
        update_damped(xb, npx, 0.0f, w->ex, cur, prev, vel, lr);
      } else {
        update_damped(0, npx, ezr, w->ex, cur, prev, vel, lr);
      }
    }
  }
  float *t = st->prev;
  st->prev = st->cur;
  st->cur = t;
}

void psfwi_wave_step(const psfwi_wave *w, const float *vel_term, psfwi_wave_state *st,
                     const psfwi_wave_points *src, const float *amp, psfwi_wave_work *ws) {
  psfwi_wave_step_into(w, vel_term, st, src, amp, ws, NULL);
}

/* ---- Denormals ------------------------------------------------------------------------ */

unsigned psfwi_wave_ftz_enter(int on) {
#ifdef PSFWI_HAVE_MXCSR
  const unsigned old = _mm_getcsr();
  const unsigned bits = 0x8040u; /* FTZ (bit 15) | DAZ (bit 6) */
  _mm_setcsr(on ? (old | bits) : (old & ~bits));
  return old;
#else
  (void)on;
  return 0;
#endif
}

void psfwi_wave_ftz_restore(unsigned saved) {
#ifdef PSFWI_HAVE_MXCSR
  _mm_setcsr(saved);
#else
  (void)saved;
#endif
}
