/* Private to src/wave: the layout of the opaque objects of psfwi_wave.h. */
#ifndef PSFWI_WAVE_INTERNAL_H
#define PSFWI_WAVE_INTERNAL_H

#include <fftw3.h>

#include "psfwi_wave.h"

struct psfwi_wave {
  psfwi_wave_info info;
  psfwi_wave_opts opts;
  size_t nb;       /* boundary_cells */
  /* Spectral multiplier (FFT normalisation folded in):
   *   no free surface: r2c layout, mult[iz * (npx/2 + 1) + jx], npz rows;
   *   free surface:    mult[jz * (npx/2 + 1) + jx] for the sine index jz = 1..npz-1
   *                    (row 0 zero): r2c along x, then a sine transform (DST-I)
   *                    along z over padded rows 1..npz-1 (row 0 is the surface). */
  float *mult;
  size_t nmult;    /* entries of mult */
  size_t nspec;    /* floats in the spectral scratch buffer */
  float *ex, *ez;  /* damping d dt (dimensionless) per padded column / row */
  fftwf_plan fwd, inv;
  /* free surface only: complex FFT along z (npz points, in place) of the
   * spectral columns; sine[j] = sin(pi j / npz), j = 0..npz; the spectral
   * scratch holds two buffers of spec_half floats */
  fftwf_plan zfft;
  float *sine;
  size_t spec_half;
  int align_in;    /* fftwf_alignment_of the planning arrays (forward input, */
  int align_out;   /* inverse output) */
};

struct psfwi_wave_work {
  float *spec; /* nspec floats, SIMD-aligned */
  float *lap;  /* padded field */
};

struct psfwi_wave_points {
  size_t n;
  size_t npx;
  size_t cap;     /* weights per point per axis (2 r + 1) */
  size_t *ix0, *iz0; /* first padded column / row of each stencil */
  size_t *nwx, *nwz; /* stencil lengths (nwz may be 0 at a free surface) */
  float *wx, *wz;    /* weights: wx[k * cap + i], wz[k * cap + j] */
};

#endif
