/* Times FFTW's 2D r2c + c2r pair, the library's Laplacian
 * (psfwi_wave_laplacian) and a library step on the same padded grid,
 * interleaved in one process (best of 60 blocks of 50 each):
 *   ./step_vs_pair nx nz fs
 * Quoted in docs/BENCHMARKS.md (the Laplacian alone at about 1.05x the pair,
 * 1.15-1.2x with a free surface). Build: see README.md. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <fftw3.h>
#include "psfwi_core.h"
#include "psfwi_wave.h"
int main(int argc, char **argv) {
  size_t nx = atoi(argv[1]), nz = atoi(argv[2]); int fs = atoi(argv[3]);
  psfwi_grid g = {.nx = nx, .nz = nz, .dx = 10.0, .dz = 10.0};
  psfwi_model *m = psfwi_model_create(&g, NULL);
  for (size_t i = 0; i < nx * nz; i++) m->vp[i] = 2000.0f;
  psfwi_wave_opts o; psfwi_wave_opts_defaults(&o);
  o.free_surface = fs; o.fmax = 25.0; o.fftw_measure = 1; o.ftz = 1;
  psfwi_error e;
  psfwi_wave *w = psfwi_wave_create(m, 0.004, &o, &e);
  const psfwi_wave_info *in = psfwi_wave_get_info(w);
  psfwi_wave_work *ws = psfwi_wave_work_create(w, &e);
  psfwi_wave_state *st = psfwi_wave_state_create(w, &e);
  float *vel = psfwi_wave_field_alloc(w); psfwi_wave_vel_term(w, m, vel, &e);
  float *a = psfwi_wave_field_alloc(w), *b = psfwi_wave_field_alloc(w);
  size_t npx = in->npx, npz = in->npz, nh = npx / 2 + 1;
  for (size_t i = 0; i < npx * npz; i++) a[i] = (float)sin(0.001 * i);
  float *pa = fftwf_malloc(npx*npz*4), *pb = fftwf_malloc(npx*npz*4); fftwf_complex *pc = fftwf_malloc(nh*npz*8);
  fftwf_plan f = fftwf_plan_dft_r2c_2d(npz, npx, pa, pc, FFTW_MEASURE), gg = fftwf_plan_dft_c2r_2d(npz, npx, pc, pb, FFTW_MEASURE);
  for (size_t i = 0; i < npx * npz; i++) pa[i] = (float)sin(0.001 * i);
  for (size_t i = 0; i < npx * npz; i++) st->cur[i] = (float)sin(0.001 * i);
  double tp = 1e9, tl = 1e9, ts = 1e9; int B = 50;
  for (int r = 0; r < 60; r++) {
    double t0 = psfwi_seconds();
    for (int k = 0; k < B; k++) { fftwf_execute_dft_r2c(f, pa, pc); fftwf_execute_dft_c2r(gg, pc, pb); }
    double t1 = psfwi_seconds();
    for (int k = 0; k < B; k++) psfwi_wave_laplacian(w, a, b, ws);
    double t2 = psfwi_seconds();
    for (int k = 0; k < B; k++) psfwi_wave_step(w, vel, st, NULL, NULL, ws);
    double t3 = psfwi_seconds();
    if ((t1-t0)/B < tp) tp = (t1-t0)/B; if ((t2-t1)/B < tl) tl = (t2-t1)/B; if ((t3-t2)/B < ts) ts = (t3-t2)/B;
  }
  printf("%zux%zu fs%d: pair %.4f ms  laplacian %.4f (%.2f)  step %.4f (%.2f)\n", npx, npz, fs, tp*1e3, tl*1e3, tl/tp, ts*1e3, ts/tp);
  return 0;
}
