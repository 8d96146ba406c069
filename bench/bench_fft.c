/* Benchmark of FFTW alone on the propagator's padded grids (not a test): two
 * ways the issue on speed suggested to make a step cheaper, measured on the
 * transform pair (r2c + c2r, single precision, one thread) that a step costs
 * 1.2-1.35 times (docs/BENCHMARKS.md, "Propagator").
 *
 * 1. Several shots in one plan (FFTW's `howmany`): B fields transformed by
 *    one plan, contiguous (field after field) or interleaved (the shots'
 *    values of a cell side by side, so that FFTW can vectorise across
 *    shots), against B single-field transforms; time per field.
 * 2. The padded size: psfwi pads the model plus its layers to the next even
 *    size with prime factors 2, 3, 5 and 7; the pair on the other even
 *    7-smooth sizes within 12 % above it, per axis, relative to psfwi's
 *    choice, with ESTIMATE plans (psfwi's default) and MEASURE plans.
 *
 * Each time is the median of interleaved blocks (the machine is shared); a
 * ratio is the median of the per-block ratios, so both sides saw the same
 * load.
 *
 *   bench_fft [--grid NX NZ] [--cells N] [--reps N]
 * --grid: model cells (default: the 600 x 250, then 1151 x 376);
 * --cells: absorbing cells per side (default 20); --reps: blocks (9). */
#define _GNU_SOURCE
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <fftw3.h>

#include "bench_stats.h"
#include "psfwi_core.h"

enum { MAX_REPS = 64, MAX_CAND = 6 };

/* Even, and no prime factor above 7 (the propagator's rule). */
static int friendly(size_t n) {
  if (n % 2 != 0) return 0;
  const size_t f[4] = {2, 3, 5, 7};
  for (int i = 0; i < 4; i++)
    while (n % f[i] == 0) n /= f[i];
  return n == 1;
}

static size_t next_friendly(size_t n) {
  while (!friendly(n)) n++;
  return n;
}

/* B fields of nz x nx: forward and inverse plans of one layout. */
typedef struct pair {
  fftwf_plan f, g;
} pair;

static void pair_destroy(pair *p) {
  fftwf_destroy_plan(p->f);
  fftwf_destroy_plan(p->g);
}

/* layout 0: one field (executed B times on successive fields); 1: B fields
 * contiguous; 2: B fields interleaved. */
static pair pair_plan(int layout, int nz, int nx, int B, float *r, fftwf_complex *c,
                      unsigned flags) {
  const int n[2] = {nz, nx}, nh = nx / 2 + 1;
  pair p;
  if (layout == 0) {
    p.f = fftwf_plan_dft_r2c_2d(nz, nx, r, c, flags);
    p.g = fftwf_plan_dft_c2r_2d(nz, nx, c, r, flags);
  } else if (layout == 1) {
    p.f = fftwf_plan_many_dft_r2c(2, n, B, r, NULL, 1, nz * nx, c, NULL, 1, nz * nh, flags);
    p.g = fftwf_plan_many_dft_c2r(2, n, B, c, NULL, 1, nz * nh, r, NULL, 1, nz * nx, flags);
  } else {
    p.f = fftwf_plan_many_dft_r2c(2, n, B, r, NULL, B, 1, c, NULL, B, 1, flags);
    p.g = fftwf_plan_many_dft_c2r(2, n, B, c, NULL, B, 1, r, NULL, B, 1, flags);
  }
  if (p.f == NULL || p.g == NULL) {
    fprintf(stderr, "bench_fft: FFTW could not plan %d x %d (layout %d, B = %d)\n", nz, nx, layout,
            B);
    exit(1);
  }
  return p;
}

/* Seconds per field of one block of `iters` pairs. */
static double pair_time(const pair *p, int layout, int nz, int nx, int B, float *r,
                        fftwf_complex *c, int iters) {
  const size_t nr = (size_t)nz * (size_t)nx, nc = (size_t)nz * (size_t)(nx / 2 + 1);
  const double t0 = psfwi_seconds();
  for (int k = 0; k < iters; k++) {
    if (layout == 0) {
      for (int b = 0; b < B; b++) {
        fftwf_execute_dft_r2c(p->f, r + (size_t)b * nr, c + (size_t)b * nc);
        fftwf_execute_dft_c2r(p->g, c + (size_t)b * nc, r + (size_t)b * nr);
      }
    } else {
      fftwf_execute(p->f);
      fftwf_execute(p->g);
    }
    /* c2r is unnormalised: keep the values bounded */
    for (size_t i = 0; i < 16; i++) r[i] = 0.5f;
  }
  return (psfwi_seconds() - t0) / (double)(iters * B);
}

static void fill(float *r, size_t n) {
  for (size_t i = 0; i < n; i++) r[i] = (float)sin(0.001 * (double)i);
}

/* Iterations per block: about 20 ms of transforms. */
static int block_iters(size_t cells) {
  const double per = 6e-9 * (double)cells; /* s per pair, roughly */
  const int n = (int)(0.02 / per);
  return n < 1 ? 1 : n;
}

static void batching(int nz, int nx, int reps) {
  printf("\n1. Several fields per plan (howmany), %d x %d padded (x by z), MEASURE plans\n", nx,
         nz);
  printf(
      "| fields B | one at a time (ms per field) | contiguous (ms) | speed-up | "
      "interleaved (ms) | speed-up |\n|---|---|---|---|---|---|\n");
  const int Bs[4] = {1, 2, 4, 8};
  for (int bi = 0; bi < 4; bi++) {
    const int B = Bs[bi];
    const size_t nr = (size_t)B * nz * nx, nc = (size_t)B * nz * (nx / 2 + 1);
    float *r = fftwf_alloc_real(nr);
    fftwf_complex *c = fftwf_alloc_complex(nc);
    pair p[3];
    for (int l = 0; l < 3; l++) p[l] = pair_plan(l, nz, nx, B, r, c, FFTW_MEASURE);
    fill(r, nr);
    const int it = block_iters((size_t)nz * nx);
    double t[3][MAX_REPS], ratio[2][MAX_REPS];
    for (int k = 0; k < reps; k++) {
      for (int l = 0; l < 3; l++) t[l][k] = pair_time(&p[l], l, nz, nx, B, r, c, it);
      ratio[0][k] = t[0][k] / t[1][k];
      ratio[1][k] = t[0][k] / t[2][k];
    }
    printf("| %d | %.3f | %.3f | %.2f | %.3f | %.2f |\n", B, 1e3 * bench_median(t[0], reps),
           1e3 * bench_median(t[1], reps), bench_median(ratio[0], reps),
           1e3 * bench_median(t[2], reps), bench_median(ratio[1], reps));
    for (int l = 0; l < 3; l++) pair_destroy(&p[l]);
    fftwf_free(r);
    fftwf_free(c);
  }
}

static void padded_sizes(size_t nx, size_t nz, size_t cells, int reps) {
  const size_t px0 = next_friendly(nx + 2 * cells), pz0 = next_friendly(nz + 2 * cells);
  size_t cx[MAX_CAND], cz[MAX_CAND];
  int ncx = 0, ncz = 0;
  for (size_t m = px0; m <= px0 + px0 / 8 && ncx < MAX_CAND; m++)
    if (friendly(m)) cx[ncx++] = m;
  for (size_t m = pz0; m <= pz0 + pz0 / 8 && ncz < MAX_CAND; m++)
    if (friendly(m)) cz[ncz++] = m;
  printf("\n2. Padded size, model %zu x %zu with %zu cells per side: psfwi pads to %zu x %zu\n", nx,
         nz, cells, px0, pz0);
  for (int measure = 0; measure <= 1; measure++) {
    printf(
        "\n%s plans: time of the pair, and psfwi's choice's time over it (> 1: faster than "
        "psfwi's)\n| padded (x by z) | pair (ms) | speed-up over %zu x %zu |\n|---|---|---|\n",
        measure ? "MEASURE" : "ESTIMATE (psfwi's default)", px0, pz0);
    const unsigned flags = measure ? FFTW_MEASURE : FFTW_ESTIMATE;
    const size_t nr = cx[ncx - 1] * cz[ncz - 1], nc = (cx[ncx - 1] / 2 + 1) * cz[ncz - 1];
    float *r = fftwf_alloc_real(nr);
    fftwf_complex *c = fftwf_alloc_complex(nc);
    pair base = pair_plan(0, (int)pz0, (int)px0, 1, r, c, flags);
    for (int i = 0; i < ncx; i++)
      for (int j = 0; j < ncz; j++) {
        const int nxp = (int)cx[i], nzp = (int)cz[j];
        pair p = pair_plan(0, nzp, nxp, 1, r, c, flags);
        fill(r, nr);
        const int it = block_iters(cx[i] * cz[j]);
        double t[MAX_REPS], ratio[MAX_REPS];
        for (int k = 0; k < reps; k++) {
          const double tb = pair_time(&base, 0, (int)pz0, (int)px0, 1, r, c, it);
          t[k] = pair_time(&p, 0, nzp, nxp, 1, r, c, it);
          ratio[k] = tb / t[k];
        }
        printf("| %d x %d | %.3f | %.2f |\n", nxp, nzp, 1e3 * bench_median(t, reps),
               bench_median(ratio, reps));
        pair_destroy(&p);
      }
    pair_destroy(&base);
    fftwf_free(r);
    fftwf_free(c);
  }
}

int main(int argc, char **argv) {
  size_t grids[2][2] = {{600, 250}, {1151, 376}};
  int ngrid = 2, reps = 9;
  size_t cells = 20;
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--grid") == 0 && i + 2 < argc) {
      grids[0][0] = (size_t)atoi(argv[++i]);
      grids[0][1] = (size_t)atoi(argv[++i]);
      ngrid = 1;
    } else if (strcmp(argv[i], "--cells") == 0 && i + 1 < argc) {
      cells = (size_t)atoi(argv[++i]);
    } else if (strcmp(argv[i], "--reps") == 0 && i + 1 < argc) {
      reps = atoi(argv[++i]);
    } else {
      fprintf(stderr, "usage: %s [--grid NX NZ] [--cells N] [--reps N]\n", argv[0]);
      return 2;
    }
  }
  if (reps < 1 || reps > MAX_REPS || grids[0][0] < 8 || grids[0][1] < 8) {
    fprintf(stderr, "bench_fft: --reps 1..%d and --grid of at least 8 x 8 cells\n", MAX_REPS);
    return 2;
  }
  for (int gi = 0; gi < ngrid; gi++) {
    const size_t nx = grids[gi][0], nz = grids[gi][1];
    printf("\n## Model %zu x %zu cells, %zu absorbing cells per side\n", nx, nz, cells);
    batching((int)next_friendly(nz + 2 * cells), (int)next_friendly(nx + 2 * cells), reps);
    padded_sizes(nx, nz, cells, reps);
  }
  return 0;
}
