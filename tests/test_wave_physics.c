/* wave: reciprocity in a heterogeneous model, the interpolation stencils,
 * and the shot loop's contract (data layout, thread independence,
 * callbacks, snapshots, denormal flushing). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "psfwi_wave.h"
#include "testutil.h"

static const double FP = 10.0;

/* A heterogeneous model: velocity rising with depth, a slow lens and a
 * fast dipping block (1500 to 3000 m/s), 10 m cells. */
static psfwi_model *hetero_model(size_t nx, size_t nz) {
  psfwi_grid g = {.nx = nx, .nz = nz, .dx = 10.0, .dz = 10.0, .x0 = 100.0, .z0 = 0.0};
  psfwi_model *m = psfwi_model_create(&g, NULL);
  assert_non_null(m);
  for (size_t iz = 0; iz < nz; iz++)
    for (size_t ix = 0; ix < nx; ix++) {
      const double x = (double)ix / (double)nx, z = (double)iz / (double)nz;
      double v = 1800.0 + 900.0 * z;
      if (hypot(x - 0.4, z - 0.45) < 0.15) v = 1500.0;
      if (z > 0.6 + 0.3 * x) v = 3000.0;
      m->vp[iz * nx + ix] = (float)v;
    }
  return m;
}

static psfwi_wave *make(const psfwi_model *m, int fs, double dt_out, psfwi_error *e) {
  psfwi_wave_opts o;
  psfwi_wave_opts_defaults(&o);
  o.fmax = 2.5 * FP;
  o.free_surface = fs;
  psfwi_wave *w = psfwi_wave_create(m, dt_out, &o, e);
  if (w == NULL) fail_msg("%s", e->msg);
  return w;
}

/* Swapping source and receiver gives the same trace: the discrete operator
 * is symmetric (constant density) and receivers use the transposed source
 * stencil, so this holds to float precision, off-grid positions, damping
 * layer and free surface included. */
static void test_reciprocity(void **state) {
  (void)state;
  psfwi_error e;
  psfwi_model *m = hetero_model(90, 70);
  const double dt_out = 0.002;
  const size_t nt = 351;
  float wav[351];
  assert_int_equal(psfwi_ricker(FP, 0.12, dt_out, nt, wav, &e), PSFWI_OK);
  const double ax[3] = {203.7, 155.0, 412.3}, az[3] = {52.4, 13.0, 301.9};
  const double bx[3] = {851.2, 720.0, 933.3}, bz[3] = {417.9, 24.6, 77.1};
  for (int fs = 0; fs < 2; fs++) {
    psfwi_wave *w = make(m, fs, dt_out, &e);
    for (int c = 0; c < 3; c++) {
      psfwi_survey *s = psfwi_survey_create(2, 1, NULL);
      assert_non_null(s);
      s->sx[0] = ax[c];
      s->sz[0] = az[c];
      s->rx[0] = bx[c];
      s->rz[0] = bz[c];
      s->sx[1] = bx[c];
      s->sz[1] = bz[c];
      s->rx[1] = ax[c];
      s->rz[1] = az[c];
      float d[2 * 351];
      assert_int_equal(psfwi_wave_model_shots(w, m, s, wav, nt, d, NULL, &e), PSFWI_OK);
      const double diff = tu_rel_l2(d + nt, d, nt);
      double peak = 0.0;
      for (size_t it = 0; it < nt; it++) peak = fmax(peak, fabs((double)d[it]));
      printf("  reciprocity, free surface %d, pair %d: relative difference %.2e (peak %.2e)\n", fs,
             c, diff, peak);
      assert_true(peak > 0.0);
      assert_true(diff <= 1e-3);
      psfwi_survey_destroy(s);
    }
    psfwi_wave_destroy(w);
  }
  psfwi_model_destroy(m);
}

/* inject and record are transposes: <inject(a), f> = <a, record(f)>. A
 * point on a node has the single weight 1; the weights of an off-grid
 * point reproduce constants and linear functions (1e-3) and record a
 * smooth field at the exact position. */
static void test_points(void **state) {
  (void)state;
  psfwi_error e;
  psfwi_model *m = hetero_model(60, 50);
  for (int fs = 0; fs < 2; fs++) {
    psfwi_wave *w = make(m, fs, 0.002, &e);
    const psfwi_wave_info *in = psfwi_wave_get_info(w);
    const double x[5] = {100.0, 333.3, 512.7, 690.0, 401.0};
    const double z[5] = {0.0, 17.2, 250.0, 490.0, 3.9};
    psfwi_wave_points *p = psfwi_wave_points_create(w, 5, x, z, "point", &e);
    assert_non_null(p);
    assert_int_equal(psfwi_wave_points_count(p), 5);
    const size_t np = in->npx * in->npz;
    float *f = psfwi_wave_field_alloc(w), *g = psfwi_wave_field_alloc(w);
    assert_non_null(f);
    assert_non_null(g);
    unsigned seed = 7;
    for (size_t i = 0; i < np; i++) {
      seed = seed * 1103515245u + 12345u;
      f[i] = (float)((seed >> 8) & 0xffff) / 65536.0f - 0.5f;
    }
    if (fs) memset(f, 0, in->npx * sizeof(float)); /* the surface row is 0 */
    const float amp[5] = {0.3f, -1.2f, 0.7f, 2.0f, -0.4f};
    float rec[5];
    psfwi_wave_points_inject(p, amp, 1.0f, g);
    psfwi_wave_points_record(p, f, rec);
    double lhs = 0.0, rhs = 0.0;
    for (size_t i = 0; i < np; i++) lhs += (double)g[i] * (double)f[i];
    for (int k = 0; k < 5; k++) rhs += (double)amp[k] * (double)rec[k];
    assert_true(fabs(lhs - rhs) <= 1e-6 * fabs(lhs));
    /* a point on the grid: node (ix, iz) = (0, 0) of the model */
    memset(g, 0, np * sizeof(float));
    psfwi_wave_points_inject(p, amp, 1.0f, g);
    const float g00 = g[in->oz * in->npx + in->ox];
    if (!fs) assert_true(fabs(g00 - 0.3f) < 1e-6f); /* with fs it is on the surface */
    /* smooth field: cos along x and z, recorded at the exact positions */
    for (size_t iz = 0; iz < in->npz; iz++)
      for (size_t ix = 0; ix < in->npx; ix++) {
        const double xx = in->x0 + ((double)ix - (double)in->ox) * in->dx;
        const double zz = in->z0 + ((double)iz - (double)in->oz) * in->dz;
        /* odd in z about the surface when fs, as a pressure field must be */
        f[iz * in->npx + ix] =
            (float)(cos(0.02 * xx) * (fs ? sin(0.015 * zz) : cos(0.015 * zz + 0.3)));
      }
    psfwi_wave_points_record(p, f, rec);
    for (int k = 0; k < 5; k++) {
      const double ref = cos(0.02 * x[k]) * (fs ? sin(0.015 * z[k]) : cos(0.015 * z[k] + 0.3));
      assert_true(fabs((double)rec[k] - ref) < 2e-3);
    }
    psfwi_wave_field_free(f);
    psfwi_wave_field_free(g);
    psfwi_wave_points_destroy(p);
    psfwi_wave_destroy(w);
  }
  psfwi_model_destroy(m);
}

typedef struct cb_log {
  size_t calls, last_done, last_total, shots_done, nshot;
  int monotone;
  size_t nsnap, snap_it[64];
  float snap_val[64]; /* value at one model node */
  size_t node;        /* iz * nx + ix of that node */
} cb_log;

static void on_progress(void *ctx, size_t done, size_t total, size_t shots_done, size_t nshot) {
  cb_log *l = ctx;
  if (done < l->last_done) l->monotone = 0;
  l->calls++;
  l->last_done = done;
  l->last_total = total;
  l->shots_done = shots_done;
  l->nshot = nshot;
}

static void on_snapshot(void *ctx, size_t it, const float *p) {
  cb_log *l = ctx;
  if (l->nsnap < 64) {
    l->snap_it[l->nsnap] = it;
    l->snap_val[l->nsnap] = p[l->node];
  }
  l->nsnap++;
}

/* The shot loop: each shot's block of data[(is * nrec + ir) * nt + it]
 * equals a single-shot run; results are bit-identical on 1 and 2 threads;
 * progress reaches the total; snapshots of shot 0 come every k samples and
 * agree with the trace of a receiver placed on that node; flushing
 * denormals changes nothing visible. */
static void test_shots(void **state) {
  (void)state;
  psfwi_error e;
  psfwi_model *m = hetero_model(70, 50);
  const double dt_out = 0.004;
  const size_t nt = 120, nrec = 4, nshot = 3;
  float wav[120];
  assert_int_equal(psfwi_ricker(FP, 0.12, dt_out, nt, wav, &e), PSFWI_OK);
  psfwi_survey *s =
      psfwi_survey_create_line(200.0, 200.0, nshot, 20.0, 150.0, 150.0, nrec, 30.0, 0, &e);
  assert_non_null(s);
  s->rx[1] = 100.0 + 33 * 10.0; /* receiver 1 of shot 0 on node (33, 12) */
  s->rz[1] = 120.0;
  psfwi_wave_opts o;
  psfwi_wave_opts_defaults(&o);
  o.fmax = 2.5 * FP;
  float *d1 = malloc(nshot * nrec * nt * sizeof(float));
  float *d2 = malloc(nshot * nrec * nt * sizeof(float));
  float *d3 = malloc(nshot * nrec * nt * sizeof(float));
  assert_non_null(d1);
  assert_non_null(d2);
  assert_non_null(d3);
  o.nthreads_shots = 1;
  psfwi_wave *w1 = psfwi_wave_create(m, dt_out, &o, &e);
  assert_non_null(w1);
  cb_log log = {.monotone = 1, .node = 12 * 70 + 33};
  psfwi_wave_callbacks cb = {.progress = on_progress,
                             .progress_ctx = &log,
                             .snapshot = on_snapshot,
                             .snapshot_ctx = &log,
                             .snapshot_every = 10};
  assert_int_equal(psfwi_wave_model_shots(w1, m, s, wav, nt, d1, &cb, &e), PSFWI_OK);
  o.nthreads_shots = 2;
  psfwi_wave *w2 = psfwi_wave_create(m, dt_out, &o, &e);
  assert_non_null(w2);
  assert_int_equal(psfwi_wave_model_shots(w2, m, s, wav, nt, d2, NULL, &e), PSFWI_OK);
  assert_memory_equal(d1, d2, nshot * nrec * nt * sizeof(float));
  o.ftz = 0;
  psfwi_wave *w3 = psfwi_wave_create(m, dt_out, &o, &e);
  assert_non_null(w3);
  assert_int_equal(psfwi_wave_model_shots(w3, m, s, wav, nt, d3, NULL, &e), PSFWI_OK);
  assert_true(tu_rel_l2(d3, d1, nshot * nrec * nt) < 1e-6);

  /* progress */
  const size_t nstep = psfwi_wave_nstep(w1, nt);
  assert_true(nstep == (nt - 1) * psfwi_wave_get_info(w1)->nsub);
  assert_true(log.calls >= nshot);
  assert_true(log.monotone);
  assert_int_equal(log.last_done, nstep * nshot);
  assert_int_equal(log.last_total, nstep * nshot);
  assert_int_equal(log.shots_done, nshot);
  assert_int_equal(log.nshot, nshot);
  /* snapshots: it = 0, 10, ..., 110, and equal to the on-node receiver */
  assert_int_equal(log.nsnap, 12);
  for (size_t k = 0; k < log.nsnap; k++) {
    assert_int_equal(log.snap_it[k], 10 * k);
    assert_true(log.snap_val[k] == d1[(0 * nrec + 1) * nt + 10 * k]);
  }

  /* each shot's block equals a single-shot run through psfwi_wave_shot */
  psfwi_wave_work *ws = psfwi_wave_work_create(w1, &e);
  psfwi_wave_state *st = psfwi_wave_state_create(w1, &e);
  float *vel = psfwi_wave_field_alloc(w1);
  const size_t nsub = psfwi_wave_get_info(w1)->nsub;
  float *fine = malloc(nt * nsub * sizeof(float));
  float *tr = malloc(nrec * nt * sizeof(float));
  assert_non_null(ws);
  assert_non_null(st);
  assert_non_null(vel);
  assert_non_null(fine);
  assert_non_null(tr);
  assert_int_equal(psfwi_wave_vel_term(w1, m, vel, &e), PSFWI_OK);
  assert_int_equal(psfwi_wave_resample(w1, wav, nt, fine, &e), PSFWI_OK);
  for (size_t is = 0; is < nshot; is++) {
    assert_int_equal(
        psfwi_wave_shot(w1, vel, fine, nt, s->sx[is], s->sz[is], nrec, s->rx + is * nrec,
                        s->rz + is * nrec, tr, ws, st, NULL, NULL, &e),
        PSFWI_OK);
    assert_memory_equal(tr, d1 + is * nrec * nt, nrec * nt * sizeof(float));
  }
  /* the traces are not trivially zero and start at zero */
  double mx = 0.0;
  for (size_t i = 0; i < nshot * nrec * nt; i++) mx = fmax(mx, fabs((double)d1[i]));
  assert_true(mx > 0.0);
  for (size_t k = 0; k < nshot * nrec; k++) assert_true(d1[k * nt] == 0.0f);

  free(fine);
  free(tr);
  psfwi_wave_field_free(vel);
  psfwi_wave_state_destroy(st);
  psfwi_wave_work_destroy(ws);
  free(d1);
  free(d2);
  free(d3);
  psfwi_wave_destroy(w1);
  psfwi_wave_destroy(w2);
  psfwi_wave_destroy(w3);
  psfwi_survey_destroy(s);
  psfwi_model_destroy(m);
}

/* The step is linear in (u[n-1], u[n], amp): step(a x + b y) = a step(x) +
 * b step(y), and a zero state with zero source stays exactly zero. */
static void test_step_linear(void **state) {
  (void)state;
  psfwi_error e;
  psfwi_model *m = hetero_model(40, 30);
  psfwi_wave *w = make(m, 0, 0.002, &e);
  const psfwi_wave_info *in = psfwi_wave_get_info(w);
  const size_t np = in->npx * in->npz;
  float *vel = psfwi_wave_field_alloc(w);
  assert_non_null(vel);
  assert_int_equal(psfwi_wave_vel_term(w, m, vel, &e), PSFWI_OK);
  psfwi_wave_work *ws = psfwi_wave_work_create(w, &e);
  psfwi_wave_state *x = psfwi_wave_state_create(w, &e), *y = psfwi_wave_state_create(w, &e);
  psfwi_wave_state *z = psfwi_wave_state_create(w, &e);
  assert_non_null(x);
  assert_non_null(y);
  assert_non_null(z);
  const double px = 300.0, pz = 150.0;
  psfwi_wave_points *src = psfwi_wave_points_create(w, 1, &px, &pz, "source", &e);
  assert_non_null(src);
  float a0 = 0.0f;
  psfwi_wave_step(w, vel, z, src, &a0, ws);
  for (size_t i = 0; i < np; i++) assert_true(z->cur[i] == 0.0f && z->prev[i] == 0.0f);
  unsigned seed = 11;
  for (size_t i = 0; i < np; i++) {
    seed = seed * 1103515245u + 12345u;
    x->prev[i] = (float)((seed >> 9) % 1000) / 1000.0f - 0.5f;
    x->cur[i] = 0.5f * x->prev[i] + 0.1f;
    y->prev[i] = (float)((seed >> 5) % 777) / 777.0f - 0.5f;
    y->cur[i] = -y->prev[i];
    z->prev[i] = 2.0f * x->prev[i] - 3.0f * y->prev[i];
    z->cur[i] = 2.0f * x->cur[i] - 3.0f * y->cur[i];
  }
  float ax = 1.5f, ay = -0.5f, az = 2.0f * ax - 3.0f * ay;
  psfwi_wave_step(w, vel, x, src, &ax, ws);
  psfwi_wave_step(w, vel, y, src, &ay, ws);
  psfwi_wave_step(w, vel, z, src, &az, ws);
  double num = 0.0, den = 0.0;
  for (size_t i = 0; i < np; i++) {
    const double r = 2.0 * (double)x->cur[i] - 3.0 * (double)y->cur[i];
    num += (r - (double)z->cur[i]) * (r - (double)z->cur[i]);
    den += r * r;
    assert_true(z->prev[i] == 2.0f * x->prev[i] - 3.0f * y->prev[i] ||
                fabs((double)z->prev[i] - (2.0 * x->prev[i] - 3.0 * y->prev[i])) < 1e-5);
  }
  assert_true(sqrt(num / den) < 1e-5);
  psfwi_wave_points_destroy(src);
  psfwi_wave_state_destroy(x);
  psfwi_wave_state_destroy(y);
  psfwi_wave_state_destroy(z);
  psfwi_wave_work_destroy(ws);
  psfwi_wave_field_free(vel);
  psfwi_wave_destroy(w);
  psfwi_model_destroy(m);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_points),
      cmocka_unit_test(test_step_linear),
      cmocka_unit_test(test_shots),
      cmocka_unit_test(test_reciprocity),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
