/* Private to src/wave: the layout of the opaque objects of psfwi_wave.h. */
#ifndef PSFWI_WAVE_INTERNAL_H
#define PSFWI_WAVE_INTERNAL_H

#include <fftw3.h>

#include "psfwi_wave.h"

/* The propagator's hot loops (cell updates, spectrum scaling, the strips'
 * gathers) are compiled twice, for x86-64-v3 (AVX2) and for the baseline,
 * and the CPU running the program picks one at load time (GCC's
 * target_clones, an ifunc): a build made on one machine runs on any x86-64
 * and uses AVX2 where it exists. The two give bit-identical results: the
 * loops are element-wise and these files are compiled with
 * -ffp-contract=off (no FMA contraction; CMakeLists.txt). Off with
 * -DPSFWI_NO_CLONES, and on other compilers and targets. Measured gain:
 * docs/BENCHMARKS.md. */
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__linux__) && \
    !defined(PSFWI_NO_CLONES)
#define PSFWI_CLONES __attribute__((target_clones("arch=x86-64-v3", "default")))
#else
#define PSFWI_CLONES
#endif

/* The largest half spectrum (bytes) for which PSFWI_WAVE_LAYOUT_AUTO picks
 * column-major spectra: 300 x 168 (0.2 MB) and 560 x 300 (0.7 MB) ran
 * faster with them, 1080 x 560 (2.4 MB) and 2100 x 810 (6.8 MB) slower
 * (docs/BENCHMARKS.md). */
#define PSFWI_COLUMNS_MAX ((size_t)1 << 20)

/* Absorbing profiles d(s) = d0 (s / nb)^pow for the distance s (cells) into
 * the layer, d0 = (pow + 1) vmax ln(1/R) / (2 nb h): a wave at vmax crossing
 * the layer and back at normal incidence is scaled by R (for the continuous
 * PML). Chosen by measurement (docs/wave.md, tests/test_wave_boundary.c,
 * docs/experiments/pml_split). */
#define PSFWI_SPONGE_POW  4.0
#define PSFWI_SPONGE_LOGR 4.5
#define PSFWI_PML_POW     4.0
#define PSFWI_PML_LOGR    10.0
static inline double psfwi_absorb_d0(double pw, double logr, double vmax, size_t nb, double h) {
  return (pw + 1.0) * vmax * logr / (2.0 * (double)nb * h);
}

/* The unsplit PML (src/wave/pml.c). Regions of the padded grid:
 *   X region: the ncol = wxl + wxh layer columns over all npz rows, stored
 *             [iz * ncol + c], c < wxl: column c, else column npx - ncol + c;
 *   Z region: the nrow = wzl + wzh layer rows over the nzc = npx - ncol model
 *             columns, stored [zr * nzc + j] (column wxl + j), zr < wzl: row
 *             zr, else row npz - nrow + zr.
 * Boundary memory (state mem): X region Gx, Gz, psi_x, xi_x, psi_z, xi_z,
 * then Z region Gx, Gz, psi_z, xi_z; each array one region in size. */
typedef struct psfwi_pml {
  size_t wxl, wxh, wzl, wzh, ncol, nrow, nzc;
  size_t nX, nZ;                /* cells of the X and Z regions */
  size_t nmem;                  /* 6 nX + 4 nZ */
  float *cex, *cbx, *ccx, *cgx; /* per X column c: ex, (1 - ex/2)/(1 + ex/2), 1/(1 + ex/2),
                                   d'(x) (1/(m s); 0 where ex < PML_EMIN) */
  float *rbz, *rcz, *rgz;       /* per padded row: the same for z (ez is w->ez) */
  unsigned char *rnear;         /* per row: within 4 rows of a row with d'(z) != 0 */
  size_t xga[2], xgb[2];        /* cells [xga, xgb) of the left (0) and right (1) X
                                   segments have d'(x) != 0 */
  float *mx;                    /* 1D k-space multiplier along x (npx/2 + 1), with 1/npx */
  float *mz;                    /* along z, per wavenumber index 0..npz-1: the periodic 1D
                        operator (with 1/npz), or with the free surface the
                        sine index's (with 2/npz; mz[0] = 0) */
  /* Column strips: the X-region columns in the X-region layout, ncp = ncol
   * rounded up to even floats per row ([iz * ncp + c]; column ncol, when
   * there, is zero), read as nc2 = ncp / 2 complex columns (column 2m real
   * part, 2m + 1 imaginary): the real 1D operator acts on both parts at once
   * and needs no transposes. cfwd / cinv: complex FFTs of npz points on the
   * nc2 interleaved columns, in place (with the free surface cinv is unused:
   * the sine transform, psfwi_wave_sine, runs cfwd twice). */
  size_t ncp, nc2;
  fftwf_plan rfwd, rinv; /* row strips: nrow rows of npx, r2c / c2r */
  fftwf_plan cfwd, cinv;
  size_t nrbuf, nrspec, ncbuf, ncspec; /* floats of each strip buffer */
} psfwi_pml;

struct psfwi_wave {
  psfwi_wave_info info;
  psfwi_wave_opts opts;
  size_t nb; /* boundary_cells */
  /* Spectral multiplier (FFT normalisation folded in), for the z index jz
   * and the r2c index jx (0..npx/2) along x, in the layout of the spectra:
   *   row-major (FFTW's 2D plan, or info.spectral_columns = 0): mult[jz * (npx/2 + 1) + jx];
   *   column-major (info.spectral_columns):                     mult[jx * ldz + jz],
   *     with the free surface each value twice (mult[2 (jx * ldz + jz) + {0, 1}],
   *     for the real and imaginary parts the column sine pass multiplies);
   *   free surface: jz is the sine index 1..npz-1 (jz = 0 zero) of a DST-I
   *     along z over padded rows 1..npz-1 (row 0 is the surface). */
  float *mult;
  size_t nmult;   /* entries of mult */
  size_t ldz;     /* column stride of column-major spectra (complex numbers, >= npz) */
  size_t nspec;   /* floats in the spectral scratch buffer */
  float *ex, *ez; /* damping d dt (dimensionless) per padded column / row */
  fftwf_plan fwd, inv;
  /* Two-pass transforms (PML or free surface): fwd / inv are the r2c / c2r
   * of every row, writing / reading the spectra in their layout
   * (info.spectral_columns), and zfft the complex FFT along z (npz points)
   * of the spectral columns: in place for row-major spectra, out of place
   * into the second buffer for column-major ones. Free surface only: sine[j] =
   * sin(pi j / npz), j = 0..npz; the spectral scratch holds two buffers of
   * spec_half floats and the sine's scratch (running sums or a column). */
  fftwf_plan zfft;
  fftwf_plan zbwd; /* PML without free surface: the inverse of zfft */
  float *sine;
  float *sine2; /* sine[j] twice for each j: the Laplacian's vectorized sine pass */
  size_t spec_half;
  int align_in;   /* fftwf_alignment_of the planning arrays (forward input, */
  int align_out;  /* inverse output) */
  psfwi_pml *pml; /* NULL with the sponge */
};

struct psfwi_wave_work {
  float *spec; /* nspec floats, SIMD-aligned */
  float *lap;  /* padded field */
  /* PML only: row strips (rbuf/rout: [nrow][npx]) and their spectra; the
   * column strips cbuf ([npz][ncp]) and, with the free surface, cspec (the
   * sine transform's second buffer and running sums); two rows of npx + 16
   * floats */
  float *rbuf, *rspec, *rout, *cbuf, *cspec, *row;
};

/* src/wave/laplacian.c: the spectral Laplacian and the sine transform. It
 * calls nothing of wave.c or pml.c; wave.c and pml.c call it. */
/* The sine transform (DST-I) along z of nc complex columns stored row by row
 * (N rows, row 0 ignored on input and zero on output), with a multiplier
 * applied in the sine domain: none, per (k, column) (mult[k * nc + i]), or
 * per row k (mult[k]). src/wave/laplacian.c explains the algorithm. */
typedef enum psfwi_wave_sine_mult {
  PSFWI_SINE_NONE,
  PSFWI_SINE_FULL,
  PSFWI_SINE_ROW
} psfwi_wave_sine_mult;
void psfwi_wave_sine(size_t N, size_t nc, fftwf_plan zfft, const float *sine, float *c, float *out,
                     const float *mult, psfwi_wave_sine_mult mode, float *acc);
/* Handed the row spectra inside the Laplacian (psfwi_pml_keep_rows). */
typedef void (*psfwi_wave_rows_hook)(const psfwi_wave *w, const float *spec, psfwi_wave_work *ws);
/* out = L in (psfwi_wave_laplacian), calling keep (when not NULL) on the row
 * spectra after the row pass of the two-pass transforms. */
void psfwi_wave_lap(const psfwi_wave *w, const float *in, float *out, psfwi_wave_work *ws,
                    psfwi_wave_rows_hook keep);

/* Weighted sum of field over point k's stencil (double accumulation):
 * record, and the transpose of inject. */
double psfwi_wave_points_dot(const psfwi_wave_points *p, size_t k, const float *field);

/* src/wave/pml.c */
int psfwi_pml_create(psfwi_wave *w, unsigned fftw_flags, psfwi_error *err);
void psfwi_pml_destroy(psfwi_pml *P);
int psfwi_pml_work_alloc(const psfwi_wave *w, psfwi_wave_work *ws);
void psfwi_pml_work_free(psfwi_wave_work *ws);
size_t psfwi_pml_work_floats(const psfwi_wave *w);
/* The row spectra of the Z-region rows, taken from the Laplacian's row pass
 * (spec: npx/2 + 1 by npz complex numbers, row- or column-major as
 * info.spectral_columns says) times the 1D multiplier along x, into
 * ws->rspec (row-major). */
void psfwi_pml_keep_rows(const psfwi_wave *w, const float *spec, psfwi_wave_work *ws);
/* After lap = L cur + source (computed with psfwi_pml_keep_rows): the layer
 * update (writes R into lap in the layer) and the interior update; next
 * overwrites st->prev. */
void psfwi_pml_update(const psfwi_wave *w, const float *vel_term, psfwi_wave_state *st, float *lap,
                      psfwi_wave_work *ws);
/* The backward of psfwi_pml_update and of the Laplacian. bscr: 4 padded
 * fields of scratch (tmp, Tbar, dbar_x, dbar_z) whose dbar parts must stay
 * zero outside the cells this function writes (zeroed once at creation). */
void psfwi_pml_backward(const psfwi_wave *w, const float *vel_term, psfwi_wave_state *adj,
                        const float *lap_n, float *g_vel, const psfwi_wave_points *src,
                        float *amp_bar, psfwi_wave_work *ws, float *const bscr[4], float *lt);

/* src/wave/probe_cache.c: the stability probe's results kept across
 * processes in a file per build (docs/wave.md, "Stability"). The key: one
 * set-up as the probe sees it (zero-filled before use: compared bytewise). */
typedef struct psfwi_probe_key {
  double dx, dz, dt, c_ref;
  size_t nb, edge_x, edge_z; /* padded size - interior, per axis (the probe copies it) */
  int absorber, free_surface, scheme, odd_x, odd_z;
} psfwi_probe_key;
/* 1 and the growths when the file holds the key, else 0. */
int psfwi_probe_disk_lookup(const psfwi_probe_key *key, double *total, double *late);
/* Append a result (best effort: nothing happens when the file cannot be written). */
void psfwi_probe_disk_store(const psfwi_probe_key *key, double total, double late);

struct psfwi_wave_points {
  size_t n;
  size_t npx;
  size_t cap;        /* weights per point per axis (2 r + 1) */
  size_t *ix0, *iz0; /* first padded column / row of each stencil */
  size_t *nwx, *nwz; /* stencil lengths (nwz may be 0 at a free surface) */
  float *wx, *wz;    /* weights: wx[k * cap + i], wz[k * cap + j] */
};

#endif
