/* A loop of library steps for profiling: the default set-up (PML, 20 cells,
 * k-space, MEASURE plans) on an nx x nz model (free surface when fs = 1),
 * nblk blocks of 50 steps; prints the best block time per step. Used with
 *   perf record ./step_loop 256 128 0 300 && perf report --sort dso,symbol
 * for the profile quoted in docs/BENCHMARKS.md. Build: see README.md. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <fftw3.h>
#include "psfwi_core.h"
#include "psfwi_wave.h"
int main(int argc, char **argv) {
  size_t nx = argc > 1 ? atoi(argv[1]) : 256, nz = argc > 2 ? atoi(argv[2]) : 128;
  int fs = argc > 3 ? atoi(argv[3]) : 0; int nsteps = argc > 4 ? atoi(argv[4]) : 5000;
  psfwi_grid g = {.nx = nx, .nz = nz, .dx = 10.0, .dz = 10.0};
  psfwi_model *m = psfwi_model_create(&g, NULL);
  for (size_t iz = 0; iz < nz; iz++) for (size_t ix = 0; ix < nx; ix++)
      m->vp[iz * nx + ix] = (float)(1500.0 + 2000.0 * (double)iz / (double)nz);
  psfwi_wave_opts o; psfwi_wave_opts_defaults(&o);
  o.free_surface = fs; o.fmax = 25.0; o.fftw_measure = 1; o.ftz = 1;
  psfwi_error e;
  psfwi_wave *w = psfwi_wave_create(m, 0.004, &o, &e);
  if (!w) { fprintf(stderr, "%s\n", e.msg); return 1; }
  const psfwi_wave_info *in = psfwi_wave_get_info(w);
  psfwi_wave_work *ws = psfwi_wave_work_create(w, &e);
  psfwi_wave_state *st = psfwi_wave_state_create(w, &e);
  double sx = in->x0 + 0.37 * (double)(in->nx - 1) * in->dx, sz = 50.3;
  psfwi_wave_points *src = psfwi_wave_points_create(w, 1, &sx, &sz, "source", &e);
  float *vel = psfwi_wave_field_alloc(w);
  if (psfwi_wave_vel_term(w, m, vel, &e) != PSFWI_OK) return 1;
  printf("padded %zu x %zu\n", in->npx, in->npz);
  double best = 1e9;
  for (int k = 0; k < nsteps; k++) {
    double t0 = psfwi_seconds();
    for (int q = 0; q < 50; q++) {
    const double t = (double)k * in->dt - 0.1, a = (3.14159265 * 10.0 * t);
    const float amp = (float)((1.0 - 2.0 * a * a) * exp(-a * a));
    psfwi_wave_step(w, vel, st, src, &amp, ws);
    }
    double dt = (psfwi_seconds() - t0) / 50; if (dt < best) best = dt;
  }
  printf("%.4f ms/step (min of %d blocks of 50)\n", 1e3 * best, nsteps);
  return 0;
}
