#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "psfwi_wave.h"
static double now(void){struct timespec t;clock_gettime(CLOCK_MONOTONIC,&t);return t.tv_sec+1e-9*t.tv_nsec;}
int main(int argc, char **argv) {
  size_t nx = atoi(argv[1]), nz = atoi(argv[2]); int ab = atoi(argv[3]), nb = atoi(argv[4]);
  psfwi_grid g = {.nx = nx, .nz = nz, .dx = 10.0, .dz = 10.0};
  psfwi_model *m = psfwi_model_create(&g, NULL);
  for (size_t i = 0; i < nx * nz; i++) m->vp[i] = 1800.0f + 1000.0f * (float)(i / nx) / nz;
  psfwi_wave_opts o; psfwi_wave_opts_defaults(&o); o.fmax = 25; o.vmin_bound = 1500; o.vmax_bound = 3300; o.boundary_cells = nb; o.absorber = ab;
  psfwi_error e;
  psfwi_wave *w = psfwi_wave_create(m, 0.004, &o, &e);
  float *vel = psfwi_wave_field_alloc(w), *g_vel = psfwi_wave_field_alloc(w), *lap = psfwi_wave_field_alloc(w);
  psfwi_wave_vel_term(w, m, vel, &e);
  psfwi_wave_state *st = psfwi_wave_state_create(w, &e), *adj = psfwi_wave_state_create(w, &e);
  psfwi_wave_work *ws = psfwi_wave_work_create(w, &e);
  psfwi_wave_bwork *bw = psfwi_wave_bwork_create(w, &e);
  const psfwi_wave_info *in = psfwi_wave_get_info(w);
  size_t np = in->npx * in->npz;
  double sx = 500, sz = 50; psfwi_wave_points *src = psfwi_wave_points_create(w, 1, &sx, &sz, "s", &e);
  unsigned sv = psfwi_wave_ftz_enter(1);
  for (int n = 0; n < 200; n++) { float a = n < 100 ? 1.0f : 0.0f; psfwi_wave_step(w, vel, st, src, &a, ws); }
  memcpy(lap, psfwi_wave_work_lap(ws), np * 4);
  memcpy(adj->cur, st->cur, np * 4);
  double bf = 1e9, bb = 1e9; float ab_ = 0;
  for (int r = 0; r < 7; r++) {
    double t0 = now();
    for (int n = 0; n < 100; n++) { float a = 0; psfwi_wave_step(w, vel, st, src, &a, ws); }
    double t1 = now();
    for (int n = 0; n < 100; n++) psfwi_wave_step_backward(w, vel, adj, lap, g_vel, src, &ab_, bw);
    double t2 = now();
    if ((t1 - t0) / 100 < bf) bf = (t1 - t0) / 100; if ((t2 - t1) / 100 < bb) bb = (t2 - t1) / 100;
  }
  psfwi_wave_ftz_restore(sv);
  printf("%zux%zu ab %d nb %d: forward %.3f ms backward %.3f ms ratio %.2f\n", in->npx, in->npz, ab, nb, bf * 1e3, bb * 1e3, bb / bf);
  return 0;
}
