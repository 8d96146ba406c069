/* Benchmark of the gradient (not a test): the time of one shot's gradient
 * over the time of the same shot's forward modelling, and memory, for
 *  - keeping every step (the Laplacian field of each step is taped),
 *  - checkpointing with a tenth of that memory (segments taped whole,
 *    revolve over the segments: the automatic plan),
 *  - classic revolve (one-step segments) with the same tenth, for comparison,
 *  - a tape of every 10th step (tape_stride = 10: a tenth of the memory, no
 *    recomputation, an approximate gradient) and of every 20th (the
 *    largest 25 Hz allows at 1 ms).
 * Each case runs in its own child process so that its peak resident set
 * (VmHWM) is its own (a gradient case's child also runs the forward
 * modelling, whose few MiB are included). Times are the minimum of several
 * repetitions (the machine is shared), on one thread; each gradient
 * repetition is paired with a forward run just before it in the same
 * process, and the gradient / forward ratio is the median of the pairs'
 * ratios (both sides of a ratio saw the same load). "g/f" times
 * psfwi_gradient, which makes its workspace (allocating and first touching
 * the tape) in every call; "g/f ws" times evaluations of a workspace made
 * once, after one warm-up evaluation, as an inversion runs them.
 *
 *   bench_gradient [nx nz nt] [--measure] [--sponge]
 * Defaults: 400 x 200 cells of 10 m (+ the default absorbing layer: PML,
 * 20 cells; --sponge: the damping layer, 30 cells),
 * nt = 501 samples of 4 ms (2 s, 2000 internal steps of 1 ms), one shot and
 * 100 receivers, L2 misfit. --measure: FFTW_MEASURE plans. */
#define _GNU_SOURCE
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench_stats.h"
#include "psfwi_core.h"
#include "psfwi_invert.h"
#include "psfwi_wave.h"

static size_t NXc = 400, NZc = 200, NT = 501;
static int MEASURE = 0;
static int SPONGE = 0;
static size_t TAPE_STRIDE = 1; /* the next case's [inversion] tape_stride */
static const double DT_OUT = 0.004;

/* Peak resident set of this process, bytes (VmHWM of /proc/self/status). */
static double peak_rss(void) {
  FILE *f = fopen("/proc/self/status", "r");
  char line[256];
  double kb = 0.0;
  if (f == NULL) return 0.0;
  while (fgets(line, sizeof line, f))
    if (strncmp(line, "VmHWM:", 6) == 0) kb = atof(line + 6);
  fclose(f);
  return kb * 1024.0;
}

typedef struct bench {
  psfwi_model *m0, *mt;
  psfwi_wave *w;
  psfwi_survey *s;
  float *wav, *dobs;
  psfwi_misfit *mf;
} bench;

static void die(const psfwi_error *e) {
  fprintf(stderr, "bench_gradient: %s\n", e->msg);
  exit(1);
}

static bench setup(void) {
  bench b;
  psfwi_error e;
  psfwi_grid g = {.nx = NXc, .nz = NZc, .dx = 10.0, .dz = 10.0, .x0 = 0.0, .z0 = 0.0};
  b.m0 = psfwi_model_create(&g, &e);
  b.mt = psfwi_model_create(&g, &e);
  if (!b.m0 || !b.mt) die(&e);
  for (size_t iz = 0; iz < NZc; iz++)
    for (size_t ix = 0; ix < NXc; ix++) {
      const double r2 =
          pow((double)ix - 0.5 * (double)NXc, 2) + pow((double)iz - 0.6 * (double)NZc, 2);
      const double v = 1800.0 + 1000.0 * (double)iz / (double)NZc;
      b.m0->vp[iz * NXc + ix] = (float)v;
      b.mt->vp[iz * NXc + ix] = (float)(v + 300.0 * exp(-r2 / 200.0));
    }
  psfwi_wave_opts o;
  psfwi_wave_opts_defaults(&o);
  o.fmax = 25.0;
  o.vmin_bound = 1500.0;
  o.vmax_bound = 3300.0;
  o.nthreads_shots = 1;
  o.fftw_measure = MEASURE;
  if (SPONGE) {
    o.absorber = PSFWI_WAVE_SPONGE;
    o.boundary_cells = 30;
  }
  b.w = psfwi_wave_create(b.m0, DT_OUT, &o, &e);
  if (b.w == NULL) die(&e);
  const double L = (double)(NXc - 1) * 10.0;
  b.s = psfwi_survey_create_line(0.5 * L, 0.0, 1, 20.0, 0.0, L / 99.0, 100, 10.0, 0, &e);
  if (b.s == NULL) die(&e);
  b.wav = malloc(NT * sizeof(float));
  b.dobs = malloc(100 * NT * sizeof(float));
  if (!b.wav || !b.dobs) exit(1);
  if (psfwi_ricker(10.0, 0.12, DT_OUT, NT, b.wav, &e) != PSFWI_OK) die(&e);
  if (psfwi_wave_model_shots(b.w, b.mt, b.s, b.wav, NT, b.dobs, NULL, &e) != PSFWI_OK) die(&e);
  psfwi_misfit_opts mo;
  psfwi_misfit_opts_defaults(&mo);
  b.mf = psfwi_misfit_create(&mo, NT, DT_OUT, &e);
  if (b.mf == NULL) die(&e);
  return b;
}

/* A case's result: the best time and the median gradient / forward ratio of
 * its repetitions (1 for the forward case). */
typedef struct case_result {
  double best, ratio, best_ws, ratio_ws;
} case_result;

/* A case's gradient options: one thread, the stored-wavefield budget
 * (bytes; 0: keep all), the segment length and TAPE_STRIDE. */
static psfwi_gradient_opts case_opts(double budget_bytes, size_t seg_len) {
  psfwi_gradient_opts go;
  psfwi_gradient_opts_defaults(&go);
  go.nthreads = 1;
  go.mem_budget_mb = budget_bytes / 1048576.0;
  go.seg_len = seg_len;
  go.tape_stride = TAPE_STRIDE;
  return go;
}

/* Child process: run one case, print one line. budget_fields < 0: forward
 * modelling only; 0: keep all. Gradient repetitions each follow a forward
 * run (the ratio's denominator). */
static case_result run_case(const char *name, double budget_fields, size_t seg_len, int reps) {
  bench b = setup();
  const psfwi_wave_info *in = psfwi_wave_get_info(b.w);
  const double field = (double)(in->npx * in->npz) * sizeof(float);
  double *g = malloc(NXc * NZc * sizeof(double));
  float *d = malloc(100 * NT * sizeof(float));
  psfwi_error e;
  double best = 1e30, ratios[16];
  psfwi_gradient_stats st;
  memset(&st, 0, sizeof st);
  if (reps > 16) reps = 16;
  for (int r = 0; r < reps; r++) {
    double tf = 0.0;
    if (budget_fields >= 0.0) {
      const double t0 = psfwi_seconds();
      if (psfwi_wave_model_shots(b.w, b.m0, b.s, b.wav, NT, d, NULL, &e) != PSFWI_OK) die(&e);
      tf = psfwi_seconds() - t0;
    }
    const double t0 = psfwi_seconds();
    if (budget_fields < 0.0) {
      if (psfwi_wave_model_shots(b.w, b.m0, b.s, b.wav, NT, d, NULL, &e) != PSFWI_OK) die(&e);
    } else {
      const psfwi_gradient_opts go = case_opts(budget_fields * field, seg_len);
      double J;
      if (psfwi_gradient(b.w, b.m0, b.s, b.wav, NT, b.dobs, b.mf, &go, &J, g, NULL, NULL, &st,
                         &e) != PSFWI_OK)
        die(&e);
    }
    const double t = psfwi_seconds() - t0;
    if (t < best) best = t;
    ratios[r] = budget_fields >= 0.0 ? t / tf : 1.0;
  }
  case_result res = {best, bench_median(ratios, reps), NAN, NAN};
  /* The same gradient from a workspace made once and evaluated again, as an
   * inversion does (its buffers allocated and first touched at creation):
   * one evaluation to warm it, then reps timed, each paired with a forward. */
  if (budget_fields >= 0.0) {
    const psfwi_gradient_opts go = case_opts(budget_fields * field, seg_len);
    psfwi_gradient_ws *ws =
        psfwi_gradient_ws_create(b.w, b.s, NT, PSFWI_GRADIENT_WANT_GRAD, &go, &e);
    if (ws == NULL) die(&e);
    double J, bw = 1e30;
    for (int r = 0; r <= reps; r++) {
      double t0 = psfwi_seconds();
      if (psfwi_wave_model_shots(b.w, b.m0, b.s, b.wav, NT, d, NULL, &e) != PSFWI_OK) die(&e);
      const double tf = psfwi_seconds() - t0;
      t0 = psfwi_seconds();
      if (psfwi_gradient_ws_eval(ws, b.m0, b.wav, b.dobs, b.mf, NULL, &J, g, NULL, NULL, NULL,
                                 &e) != PSFWI_OK)
        die(&e);
      const double t = psfwi_seconds() - t0;
      if (r == 0) continue; /* warm-up */
      if (t < bw) bw = t;
      ratios[r - 1] = t / tf;
    }
    psfwi_gradient_ws_destroy(ws);
    res.best_ws = bw;
    res.ratio_ws = bench_median(ratios, reps);
  }
  if (budget_fields < 0.0) {
    printf("%-22s %8.3f s  %6s  %6s  %6s  %9s  %9s  %9.1f MiB\n", name, best, "-", "-", "-", "-",
           "-", peak_rss() / 1048576.0);
  } else {
    printf(
        "%-22s %8.3f s  %6.2f  %6.2f  %6.3f  %5zu x %-4zu %9.1f  %9.1f MiB   (%zu snapshots; "
        "stored %.1f MiB; library total %.1f MiB)\n",
        name, best, res.ratio, res.ratio_ws, st.recompute_ratio, st.plan.nseg, st.plan.seg_len,
        (double)st.plan.fields, peak_rss() / 1048576.0, st.plan.nsnap,
        (double)st.bytes_storage / 1048576.0, (double)st.bytes_total / 1048576.0);
  }
  fflush(stdout);
  free(g);
  free(d);
  return res;
}

/* Run a case in a child process; returns its result through a pipe. */
static case_result in_child(const char *name, double budget_fields, size_t seg_len, int reps) {
  int fd[2];
  if (pipe(fd) != 0) {
    perror("pipe");
    exit(1);
  }
  fflush(stdout);
  const pid_t pid = fork();
  if (pid < 0) {
    perror("fork");
    exit(1);
  }
  if (pid == 0) {
    close(fd[0]);
    const case_result t = run_case(name, budget_fields, seg_len, reps);
    if (write(fd[1], &t, sizeof t) != (ssize_t)sizeof t) _exit(1);
    close(fd[1]);
    _exit(0);
  }
  close(fd[1]);
  case_result t = {NAN, NAN, NAN, NAN};
  if (read(fd[0], &t, sizeof t) != (ssize_t)sizeof t) t.best = t.ratio = NAN;
  close(fd[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    fprintf(stderr, "case %s failed\n", name);
    exit(1);
  }
  return t;
}

int main(int argc, char **argv) {
  int k = 0;
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--measure") == 0) {
      MEASURE = 1;
    } else if (strcmp(argv[i], "--sponge") == 0) {
      SPONGE = 1;
    } else if (k < 3 && atol(argv[i]) > 0) {
      const size_t v = (size_t)atol(argv[i]);
      if (k == 0)
        NXc = v;
      else if (k == 1)
        NZc = v;
      else
        NT = v;
      k++;
    } else {
      fprintf(stderr, "usage: %s [nx nz nt] [--measure] [--sponge]\n", argv[0]);
      return 2;
    }
  }
  /* the set-up, for the header */
  {
    psfwi_grid g = {.nx = NXc, .nz = NZc, .dx = 10.0, .dz = 10.0};
    psfwi_model *m = psfwi_model_create(&g, NULL);
    for (size_t i = 0; i < NXc * NZc; i++) m->vp[i] = 2000.0f;
    psfwi_wave_opts o;
    psfwi_wave_opts_defaults(&o);
    o.fmax = 25.0;
    o.vmin_bound = 1500.0;
    o.vmax_bound = 3300.0;
    if (SPONGE) {
      o.absorber = PSFWI_WAVE_SPONGE;
      o.boundary_cells = 30;
    }
    psfwi_wave *w = psfwi_wave_create(m, DT_OUT, &o, NULL);
    if (w == NULL) return 1;
    const psfwi_wave_info *in = psfwi_wave_get_info(w);
    printf(
        "model %zu x %zu, padded %zu x %zu, %zu internal steps (dt %.3g ms), one shot, 100 "
        "receivers, 1 thread, FFTW %s, %s; one padded field %.2f MiB\n",
        NXc, NZc, in->npx, in->npz, psfwi_wave_nstep(w, NT), in->dt * 1e3,
        MEASURE ? "MEASURE" : "ESTIMATE", SPONGE ? "sponge, 30 cells" : "PML, 20 cells",
        (double)(in->npx * in->npz * sizeof(float)) / 1048576.0);
    const double nstep = (double)psfwi_wave_nstep(w, NT);
    psfwi_wave_destroy(w);
    psfwi_model_destroy(m);
    printf("%-22s %10s  %6s  %6s  %6s  %9s  %9s  %13s\n", "case", "time", "g/f", "g/f ws", "fwd/l",
           "segs x len", "fields", "peak RSS");
    in_child("forward (model_shots)", -1.0, 0, 3);
    const case_result tk = in_child("gradient, keep all", 0.0, 0, 3);
    const case_result tc = in_child("gradient, 1/10 memory", nstep / 10.0 + 0.5, 0, 3);
    const case_result tr = in_child("revolve, 1/10 memory", nstep / 10.0 + 0.5, 1, 2);
    TAPE_STRIDE = 10;
    const case_result t10 = in_child("tape stride 10", 0.0, 0, 3);
    TAPE_STRIDE = 20;
    const case_result t20 = in_child("tape stride 20", 0.0, 0, 3);
    TAPE_STRIDE = 1;
    printf(
        "gradient / forward time (median of paired runs): keep all %.2f, 1/10 memory %.2f "
        "(classic revolve %.2f); tape stride 10 %.2f, 20 %.2f\n"
        "the same, workspace reused (as in an inversion): keep all %.2f, 1/10 memory %.2f "
        "(classic revolve %.2f); tape stride 10 %.2f, 20 %.2f\n",
        tk.ratio, tc.ratio, tr.ratio, t10.ratio, t20.ratio, tk.ratio_ws, tc.ratio_ws, tr.ratio_ws,
        t10.ratio_ws, t20.ratio_ws);
  }
  return 0;
}
