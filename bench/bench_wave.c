/* Benchmark of the pseudo-spectral propagator (not a test).
 *
 * For grids from 256 x 128 to 2048 x 768 (model cells; 30 absorbing cells
 * per side are added and the padded grid rounded up to an FFT-friendly
 * size) it prints:
 *  - the time of FFTW's own r2c + c2r pair on the padded grid (out of place,
 *    the same shapes and flags as the step): the floor a step cannot go under;
 *  - the time of one full step (spectral Laplacian, source injection,
 *    absorbing-layer update, recording one receiver per model column), its
 *    ratio to the pair, and cell updates per second (padded and model cells),
 *    with the default absorber (the PML); and, in the same run, the step
 *    with the damping layer (absorber = sponge) and its ratio;
 *  - memory per cell: allocations accounted by the library, and the growth
 *    of the resident set (/proc/self/statm) when they are made and touched.
 * Then, on one grid: flush-to-zero on versus off (a whole shot, and a field
 * that has decayed to the denormal range), and 1 versus 2 threads (one shot
 * with FFTW threads, two shots in parallel).
 * Times are medians of several repetitions (the machine is shared).
 *
 *   bench_wave [--estimate] [--quick] [--free-surface] [--cells N] [--layout rows|columns]
 *              [--grid NX NZ]
 * --estimate: FFTW_ESTIMATE plans (fast to plan) instead of FFTW_MEASURE;
 * --quick: the two smallest grids and fewer repetitions;
 * --free-surface: steps with the free surface (a sine transform along z);
 *   the "fft pair" column stays FFTW's r2c + c2r pair on the same grid;
 * --cells N: absorbing layer width (default: the library's);
 * --layout: the Laplacian's spectral layout (default: the library's
 *   automatic choice; the "spectra" column says which one ran);
 * --grid: these model cells instead of the four grids (repeatable, up to
 *   four; e.g. the speed issue's 600 x 250 and 1151 x 376). */
#define _GNU_SOURCE
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <fftw3.h>
#include <omp.h>

#include "bench_stats.h"
#include "psfwi_core.h"
#include "psfwi_wave.h"

/* Resident set size in bytes. */
static double rss_bytes(void) {
  FILE *f = fopen("/proc/self/statm", "r");
  long size = 0, res = 0;
  if (f != NULL) {
    if (fscanf(f, "%ld %ld", &size, &res) != 2) res = 0;
    fclose(f);
  }
  return (double)res * (double)sysconf(_SC_PAGESIZE);
}

static psfwi_model *make_model(size_t nx, size_t nz) {
  psfwi_grid g = {.nx = nx, .nz = nz, .dx = 10.0, .dz = 10.0};
  psfwi_model *m = psfwi_model_create(&g, NULL);
  if (m == NULL) exit(1);
  for (size_t iz = 0; iz < nz; iz++)
    for (size_t ix = 0; ix < nx; ix++)
      m->vp[iz * nx + ix] = (float)(1500.0 + 2000.0 * (double)iz / (double)nz);
  return m;
}

/* Everything one shot needs. */
typedef struct shot_bufs {
  psfwi_wave_work *ws;
  psfwi_wave_state *st;
  psfwi_wave_points *src, *rec;
  float *rbuf;
} shot_bufs;

static void bufs_init(shot_bufs *b, const psfwi_wave *w) {
  const psfwi_wave_info *in = psfwi_wave_get_info(w);
  psfwi_error e;
  b->ws = psfwi_wave_work_create(w, &e);
  b->st = psfwi_wave_state_create(w, &e);
  const double sx = in->x0 + 0.37 * (double)(in->nx - 1) * in->dx, sz = 50.3;
  b->src = psfwi_wave_points_create(w, 1, &sx, &sz, "source", &e);
  double *rx = malloc(in->nx * sizeof(double)), *rz = malloc(in->nx * sizeof(double));
  for (size_t i = 0; i < in->nx; i++) {
    rx[i] = in->x0 + (double)i * in->dx;
    rz[i] = 20.0;
  }
  b->rec = psfwi_wave_points_create(w, in->nx, rx, rz, "receiver", &e);
  b->rbuf = malloc(in->nx * sizeof(float));
  free(rx);
  free(rz);
  if (!b->ws || !b->st || !b->src || !b->rec || !b->rbuf) {
    fprintf(stderr, "bench: %s\n", e.msg);
    exit(1);
  }
}

static void bufs_free(shot_bufs *b) {
  psfwi_wave_work_destroy(b->ws);
  psfwi_wave_state_destroy(b->st);
  psfwi_wave_points_destroy(b->src);
  psfwi_wave_points_destroy(b->rec);
  free(b->rbuf);
}

/* n full steps (with recording) starting from the current state. */
static void run_steps(const psfwi_wave *w, const float *vel, shot_bufs *b, size_t n0, size_t n) {
  const psfwi_wave_info *in = psfwi_wave_get_info(w);
  for (size_t k = 0; k < n; k++) {
    const double t = (double)(n0 + k) * in->dt - 0.1, a = (3.14159265 * 10.0 * t);
    const float amp = (float)((1.0 - 2.0 * a * a) * exp(-a * a));
    psfwi_wave_step(w, vel, b->st, b->src, &amp, b->ws);
    psfwi_wave_points_record(b->rec, b->st->cur, b->rbuf);
  }
}

/* Median time per step over reps blocks of nblk steps (after a warm-up that
 * also puts a wave in the grid). */
static double time_step(const psfwi_wave *w, const float *vel, shot_bufs *b, int reps,
                        size_t nblk) {
  double t[32];
  psfwi_wave_state_zero(w, b->st);
  run_steps(w, vel, b, 0, 60);
  for (int r = 0; r < reps; r++) {
    const double t0 = psfwi_seconds();
    run_steps(w, vel, b, 60 + (size_t)r * nblk, nblk);
    t[r] = (psfwi_seconds() - t0) / (double)nblk;
  }
  return bench_median(t, reps);
}

/* The FFT pair as a reusable block timer. */
typedef struct pair_bench {
  float *a, *b;
  fftwf_complex *c;
  fftwf_plan f, g;
} pair_bench;

static void pair_init(pair_bench *p, size_t npx, size_t npz, unsigned flags) {
  const size_t nh = npx / 2 + 1;
  p->a = fftwf_malloc(npx * npz * sizeof(float));
  p->b = fftwf_malloc(npx * npz * sizeof(float));
  p->c = fftwf_malloc(nh * npz * sizeof(fftwf_complex));
  p->f = fftwf_plan_dft_r2c_2d((int)npz, (int)npx, p->a, p->c, flags);
  p->g = fftwf_plan_dft_c2r_2d((int)npz, (int)npx, p->c, p->b, flags);
  for (size_t i = 0; i < npx * npz; i++) p->a[i] = (float)sin(0.001 * (double)i);
}

static double pair_block(pair_bench *p, size_t nblk) {
  const double t0 = psfwi_seconds();
  for (size_t k = 0; k < nblk; k++) {
    fftwf_execute_dft_r2c(p->f, p->a, p->c);
    fftwf_execute_dft_c2r(p->g, p->c, p->b);
  }
  return (psfwi_seconds() - t0) / (double)nblk;
}

static void pair_free(pair_bench *p) {
  fftwf_destroy_plan(p->f);
  fftwf_destroy_plan(p->g);
  fftwf_free(p->a);
  fftwf_free(p->b);
  fftwf_free(p->c);
}

static double step_block(const psfwi_wave *w, const float *vel, shot_bufs *b, size_t n0,
                         size_t nblk) {
  const double t0 = psfwi_seconds();
  run_steps(w, vel, b, n0, nblk);
  return (psfwi_seconds() - t0) / (double)nblk;
}

static int g_free_surface = 0;
static psfwi_wave_absorber g_absorber = PSFWI_WAVE_PML;
static size_t g_cells = 0; /* 0: the library's default */
static psfwi_wave_layout g_layout = PSFWI_WAVE_LAYOUT_AUTO;
static size_t default_grids[4][2] = {{256, 128}, {512, 256}, {1024, 512}, {2048, 768}};
static size_t g_grids[4][2];
static int g_ngrid = 0;

static psfwi_wave *make_wave(const psfwi_model *m, int measure, int nthreads_fft, int ftz) {
  psfwi_wave_opts o;
  psfwi_wave_opts_defaults(&o);
  o.free_surface = g_free_surface;
  o.absorber = g_absorber;
  if (g_cells > 0) o.boundary_cells = g_cells;
  o.fmax = 25.0;
  o.fftw_measure = measure;
  o.nthreads_fft = nthreads_fft;
  o.ftz = ftz;
  o.spectral_layout = g_layout;
  psfwi_error e;
  psfwi_wave *w = psfwi_wave_create(m, 0.004, &o, &e);
  if (w == NULL) {
    fprintf(stderr, "bench: %s\n", e.msg);
    exit(1);
  }
  return w;
}

int main(int argc, char **argv) {
  int measure = 1, quick = 0;
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--estimate") == 0)
      measure = 0;
    else if (strcmp(argv[i], "--quick") == 0)
      quick = 1;
    else if (strcmp(argv[i], "--free-surface") == 0)
      g_free_surface = 1;
    else if (strcmp(argv[i], "--cells") == 0 && i + 1 < argc)
      g_cells = (size_t)atoi(argv[++i]);
    else if (strcmp(argv[i], "--layout") == 0 && i + 1 < argc &&
             (strcmp(argv[i + 1], "rows") == 0 || strcmp(argv[i + 1], "columns") == 0)) {
      g_layout = argv[++i][0] == 'r' ? PSFWI_WAVE_LAYOUT_ROWS : PSFWI_WAVE_LAYOUT_COLUMNS;
    } else if (strcmp(argv[i], "--grid") == 0 && i + 2 < argc && g_ngrid < 4 &&
               atoi(argv[i + 1]) >= 8 && atoi(argv[i + 2]) >= 8) {
      g_grids[g_ngrid][0] = (size_t)atoi(argv[++i]);
      g_grids[g_ngrid][1] = (size_t)atoi(argv[++i]);
      g_ngrid++;
    } else {
      fprintf(stderr,
              "usage: %s [--estimate] [--quick] [--free-surface] [--cells N] "
              "[--layout rows|columns] [--grid NX NZ (at least 8 x 8; up to 4 times)]\n",
              argv[0]);
      return 2;
    }
  }
  if (g_cells == 0) {
    psfwi_wave_opts o;
    psfwi_wave_opts_defaults(&o);
    g_cells = o.boundary_cells;
  }
  const unsigned flags = measure ? FFTW_MEASURE : FFTW_ESTIMATE;
  const int reps = quick ? 5 : 9;
  size_t(*grids)[2] = g_ngrid > 0 ? g_grids : default_grids;
  const int ngrid = g_ngrid > 0 ? g_ngrid : quick ? 2 : 4;
  double load0[3] = {0, 0, 0};
  if (getloadavg(load0, 3) < 1) load0[0] = -1.0;
  printf(
      "psfwi bench_wave: k-space scheme, %zu absorbing cells (PML; sponge for comparison), "
      "%s, FFTW %s plans, 1 "
      "thread, FTZ on; medians of %d repetitions; load average %.2f\n",
      g_cells, g_free_surface ? "free surface" : "absorbing top", measure ? "MEASURE" : "ESTIMATE",
      reps, load0[0]);
  printf("%-11s %-11s %-7s %10s %10s %6s %12s %12s %10s %10s %10s %6s\n", "model", "padded",
         "spectra", "fft pair", "step", "ratio", "Mcell/s pad", "Mcell/s mod", "B/cell acc",
         "B/cell rss", "sponge", "ratio");
  for (int gi = 0; gi < ngrid; gi++) {
    const size_t nx = grids[gi][0], nz = grids[gi][1];
    psfwi_model *m = make_model(nx, nz);
    const double rss0 = rss_bytes();
    psfwi_wave *w = make_wave(m, measure, 1, 1);
    const psfwi_wave_info *in = psfwi_wave_get_info(w);
    float *vel = psfwi_wave_field_alloc(w);
    psfwi_error e;
    if (psfwi_wave_vel_term(w, m, vel, &e) != PSFWI_OK) return 1;
    shot_bufs b;
    bufs_init(&b, w);
    const size_t np = in->npx * in->npz;
    const size_t nblk = np > 1000000 ? 10 : (np > 200000 ? 30 : 100);
    psfwi_wave_state_zero(w, b.st);
    run_steps(w, vel, &b, 0, 60); /* touches everything the PML step uses */
    const double rss1 = rss_bytes();
    /* the damping layer on the same grid, for comparison */
    g_absorber = PSFWI_WAVE_SPONGE;
    psfwi_wave *w2 = make_wave(m, measure, 1, 1);
    g_absorber = PSFWI_WAVE_PML;
    shot_bufs b2;
    bufs_init(&b2, w2);
    psfwi_wave_state_zero(w2, b2.st);
    run_steps(w2, vel, &b2, 0, 60);
    pair_bench pb;
    pair_init(&pb, in->npx, in->npz, flags);
    (void)pair_block(&pb, nblk / 4 + 1);
    /* interleaved blocks (pair, PML step, sponge step), so that the ratios
     * compare times taken under the same load; medians over reps */
    double tp[32], t1[32], t2[32], r1[32], r2[32];
    for (int r = 0; r < reps; r++) {
      tp[r] = pair_block(&pb, nblk);
      t1[r] = step_block(w, vel, &b, 60 + (size_t)r * nblk, nblk);
      t2[r] = step_block(w2, vel, &b2, 60 + (size_t)r * nblk, nblk);
      r1[r] = t1[r] / tp[r];
      r2[r] = t2[r] / tp[r];
    }
    const double tf = bench_median(tp, reps), ts = bench_median(t1, reps);
    const double ts2 = bench_median(t2, reps);
    const double q1 = bench_median(r1, reps), q2 = bench_median(r2, reps);
    pair_free(&pb);
    bufs_free(&b2);
    psfwi_wave_destroy(w2);
    const double acc =
        (double)(psfwi_wave_bytes_shared(w) + psfwi_wave_bytes_per_thread(w) + np * sizeof(float));
    char s1[32], s2[32];
    snprintf(s1, sizeof s1, "%zux%zu", nx, nz);
    snprintf(s2, sizeof s2, "%zux%zu", in->npx, in->npz);
    printf(
        "%-11s %-11s %-7s %8.3f ms %8.3f ms %6.2f %12.1f %12.1f %10.1f %10.1f %7.3f ms "
        "%6.2f\n",
        s1, s2, in->spectral_columns ? "columns" : "rows", 1e3 * tf, 1e3 * ts, q1,
        1e-6 * (double)np / ts, 1e-6 * (double)(nx * nz) / ts, acc / (double)np,
        (rss1 - rss0) / (double)np, 1e3 * ts2, q2);
    fflush(stdout);
    bufs_free(&b);
    psfwi_wave_field_free(vel);
    psfwi_wave_destroy(w);
    psfwi_model_destroy(m);
  }

  /* ---- FTZ on / off, and threads, on one grid ---------------------------- */
  const size_t nx = quick ? 512 : 1024, nz = quick ? 256 : 512;
  psfwi_model *m = make_model(nx, nz);
  double load[3] = {0, 0, 0};
  if (getloadavg(load, 3) < 1) load[0] = -1.0;
  printf("\nOn the %zu x %zu model (load average before: %.2f):\n", nx, nz, load[0]);
  {
    /* FTZ on and off, interleaved repetition by repetition (the machine is
     * shared): (a) a 400-step stretch of a shot from rest; (b) steps on a
     * field that has decayed to ~1e-36, where products become subnormal. */
    psfwi_wave *w = make_wave(m, measure, 1, 1);
    const psfwi_wave_info *in = psfwi_wave_get_info(w);
    float *vel = psfwi_wave_field_alloc(w);
    psfwi_error e;
    if (psfwi_wave_vel_term(w, m, vel, &e) != PSFWI_OK) return 1;
    shot_bufs b;
    bufs_init(&b, w);
    const size_t np = in->npx * in->npz;
    double ta[2][16], tb[2][16];
    for (int r = 0; r < reps; r++) {
      for (int ftz = 1; ftz >= 0; ftz--) {
        const unsigned saved = psfwi_wave_ftz_enter(ftz);
        psfwi_wave_state_zero(w, b.st);
        double t0 = psfwi_seconds();
        run_steps(w, vel, &b, 0, 400);
        ta[ftz][r] = (psfwi_seconds() - t0) / 400.0;
        for (size_t i = 0; i < np; i++) {
          b.st->cur[i] = 1e-36f * (float)sin(0.01 * (double)i);
          b.st->prev[i] = 0.9f * b.st->cur[i];
        }
        t0 = psfwi_seconds();
        for (int k = 0; k < 10; k++) psfwi_wave_step(w, vel, b.st, NULL, NULL, b.ws);
        tb[ftz][r] = (psfwi_seconds() - t0) / 10.0;
        psfwi_wave_ftz_restore(saved);
      }
    }
    for (int ftz = 1; ftz >= 0; ftz--)
      printf(
          "  FTZ %-3s: %.3f ms per step of a shot from rest, %.3f ms per step on a field "
          "of ~1e-36\n",
          ftz ? "on" : "off", 1e3 * bench_median(ta[ftz], reps), 1e3 * bench_median(tb[ftz], reps));
    fflush(stdout);
    bufs_free(&b);
    psfwi_wave_field_free(vel);
    psfwi_wave_destroy(w);
  }
  /* threads: one shot on 1 thread, one shot with a 2-thread FFT, two shots
   * in parallel on 2 threads (throughput per shot) */
  {
    psfwi_wave *w1 = make_wave(m, measure, 1, 1);
    psfwi_wave *w2 = make_wave(m, measure, 2, 1);
    float *vel = psfwi_wave_field_alloc(w1);
    psfwi_error e;
    if (psfwi_wave_vel_term(w1, m, vel, &e) != PSFWI_OK) return 1;
    shot_bufs b1, b2, b3;
    bufs_init(&b1, w1);
    bufs_init(&b2, w2);
    bufs_init(&b3, w1);
    const size_t nblk = 30;
    const double t1 = time_step(w1, vel, &b1, reps, nblk);
    const double t2 = time_step(w2, vel, &b2, reps, nblk);
    double tp[16];
    psfwi_wave_state_zero(w1, b1.st);
    psfwi_wave_state_zero(w1, b3.st);
    for (int r = 0; r < reps; r++) {
      const double t0 = psfwi_seconds();
#pragma omp parallel num_threads(2)
      {
        shot_bufs *bb = omp_get_thread_num() == 0 ? &b1 : &b3;
        const unsigned sv = psfwi_wave_ftz_enter(1);
        run_steps(w1, vel, bb, (size_t)r * nblk, nblk);
        psfwi_wave_ftz_restore(sv);
      }
      tp[r] = (psfwi_seconds() - t0) / (double)nblk;
    }
    const double t3 = bench_median(tp, reps);
    printf("  1 shot, 1 thread:              %.3f ms per step\n", 1e3 * t1);
    printf("  1 shot, FFTW on 2 threads:     %.3f ms per step (speed-up %.2f)\n", 1e3 * t2,
           t1 / t2);
    printf(
        "  2 shots on 2 threads:          %.3f ms per step of both (%.3f ms per shot-step, "
        "speed-up %.2f)\n",
        1e3 * t3, 0.5e3 * t3, 2.0 * t1 / t3);
    bufs_free(&b1);
    bufs_free(&b2);
    bufs_free(&b3);
    psfwi_wave_field_free(vel);
    psfwi_wave_destroy(w1);
    psfwi_wave_destroy(w2);
  }
  psfwi_model_destroy(m);
  return 0;
}
