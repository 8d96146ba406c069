/* invert: binomial checkpointing. The closed form p(l, c) of Griewank's
 * optimal number of forward steps agrees with a brute-force dynamic
 * programme; the recursive schedule attains it, reverses every step exactly
 * once and never holds more than c - 1 snapshots; memory plans respect
 * their budget; and a gradient computed under a small memory budget (taped
 * segments with revolve, and classic one-step revolve) is bit-for-bit the
 * keep-all gradient, with exactly the predicted number of forward steps. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "psfwi_invert.h"
#include "psfwi_wave.h"
#include "testutil.h"

enum { LMAX = 60, CMAX = 7 };

/* T[l][c]: fewest forward steps to reverse l steps with c checkpoints, by
 * trying every first checkpoint position (the initial state is one of c). */
static void brute_force(size_t T[LMAX + 1][CMAX + 1]) {
  for (size_t c = 1; c <= CMAX; c++) {
    T[0][c] = T[1][c] = 0;
  }
  for (size_t l = 2; l <= LMAX; l++) T[l][1] = l * (l - 1) / 2;
  for (size_t c = 2; c <= CMAX; c++)
    for (size_t l = 2; l <= LMAX; l++) {
      size_t best = SIZE_MAX;
      for (size_t d = 1; d < l; d++) {
        const size_t v = d + T[l - d][c - 1] + T[d][c];
        if (v < best) best = v;
      }
      T[l][c] = best;
    }
}

static void test_formula_and_schedule(void **state) {
  (void)state;
  static size_t T[LMAX + 1][CMAX + 1];
  brute_force(T);
  psfwi_error e;
  for (size_t c = 1; c <= CMAX; c++)
    for (size_t l = 1; l <= LMAX; l++) {
      const size_t p = psfwi_revolve_advances(l, c);
      if (p != T[l][c]) fail_msg("p(%zu, %zu) = %zu, brute force %zu", l, c, p, T[l][c]);
      size_t adv = 0, snaps = 0;
      if (psfwi_revolve_simulate(l, c, &adv, &snaps, &e) != PSFWI_OK) fail_msg("%s", e.msg);
      if (adv != p)
        fail_msg("schedule for l = %zu, c = %zu: %zu advances, optimum %zu", l, c, adv, p);
      assert_true(snaps + 1 <= c);
    }
  /* larger cases against the closed form */
  const size_t big[][2] = {{1000, 10}, {1000, 31}, {2357, 5}, {5000, 60}, {300, 2}};
  for (size_t i = 0; i < sizeof big / sizeof *big; i++) {
    size_t adv = 0, snaps = 0;
    assert_int_equal(psfwi_revolve_simulate(big[i][0], big[i][1], &adv, &snaps, &e), PSFWI_OK);
    assert_int_equal(adv, psfwi_revolve_advances(big[i][0], big[i][1]));
    printf("l = %zu, c = %zu: %zu recomputed steps (ratio %.2f), %zu snapshots\n", big[i][0],
           big[i][1], adv, (double)adv / (double)big[i][0], snaps);
  }
  /* textbook values: C(c + r, c) steps need r sweeps: p = r l - C(c + r, r - 1) */
  assert_int_equal(psfwi_revolve_advances(10, 3), 2 * 10 - 5);  /* r = 2: C(5, 1) = 5 */
  assert_int_equal(psfwi_revolve_advances(20, 3), 3 * 20 - 15); /* r = 3: C(6, 2) = 15 */
  assert_int_equal(psfwi_revolve_advances(1, 0), 0);
  assert_true(psfwi_revolve_advances(5, 0) == SIZE_MAX);
  assert_int_equal(psfwi_revolve_simulate(5, 0, NULL, NULL, &e), PSFWI_EINVAL);
}

static void test_plans(void **state) {
  (void)state;
  psfwi_error e;
  psfwi_checkpoint_plan p;
  /* enough memory: keep all */
  assert_int_equal(psfwi_checkpoint_plan_make(600, SIZE_MAX, 0, 1, 20.0, 2, &p, &e), PSFWI_OK);
  assert_int_equal(p.nseg, 1);
  assert_int_equal(p.seg_len, 600);
  assert_int_equal(p.recomputed, 0);
  assert_int_equal(psfwi_checkpoint_plan_make(600, 600, 0, 1, 20.0, 2, &p, &e), PSFWI_OK);
  assert_int_equal(p.recomputed, 0);
  /* a tenth of the memory */
  for (size_t l = 200; l <= 5000; l *= 5) {
    assert_int_equal(psfwi_checkpoint_plan_make(l, l / 10, 0, 1, 20.0, 2, &p, &e), PSFWI_OK);
    assert_true(p.fields <= l / 10);
    assert_int_equal(p.recomputed, p.seg_len * psfwi_revolve_advances(p.nseg, p.nsnap + 1));
    assert_int_equal(p.nseg, (l + p.seg_len - 1) / p.seg_len);
    printf(
        "l = %zu in %zu fields: segments of %zu, %zu snapshots, %zu recomputed (ratio "
        "%.3f)\n",
        l, l / 10, p.seg_len, p.nsnap, p.recomputed, (double)p.recomputed / (double)l);
    /* the plan is the best over all segment lengths */
    for (size_t k = 1; k <= l / 10; k++) {
      psfwi_checkpoint_plan q;
      assert_int_equal(psfwi_checkpoint_plan_make(l, l / 10, k, 1, 1e9, 2, &q, &e), PSFWI_OK);
      assert_true(q.recomputed >= p.recomputed);
    }
  }
  /* classic revolve: one-step segments, p(l, s + 1) recomputations */
  assert_int_equal(psfwi_checkpoint_plan_make(1000, 41, 1, 1, 20.0, 2, &p, &e), PSFWI_OK);
  assert_int_equal(p.seg_len, 1);
  assert_int_equal(p.nsnap, 20);
  assert_int_equal(p.recomputed, psfwi_revolve_advances(1000, 21));
  /* a tape stride of 10: keep-all in a tenth of the fields, no recomputation;
   * below that, segments whose strided tapes and snapshots fit */
  assert_int_equal(psfwi_checkpoint_plan_make(2000, 200, 0, 10, 20.0, 2, &p, &e), PSFWI_OK);
  assert_int_equal(p.seg_len, 2000);
  assert_int_equal(p.fields, 200);
  assert_int_equal(p.recomputed, 0);
  assert_int_equal(p.tape_stride, 10);
  assert_int_equal(psfwi_checkpoint_plan_make(2000, 199, 0, 10, 20.0, 2, &p, &e), PSFWI_OK);
  assert_true(p.nseg > 1 && p.fields <= 199 && p.recomputed > 0);
  assert_int_equal(p.fields, (p.seg_len + 9) / 10 + 2 * p.nsnap);
  assert_int_equal(p.recomputed, p.seg_len * psfwi_revolve_advances(p.nseg, p.nsnap + 1));
  printf(
      "l = 2000 in 199 fields, tape stride 10: segments of %zu, %zu snapshots, %zu "
      "recomputed\n",
      p.seg_len, p.nsnap, p.recomputed);
  assert_int_equal(psfwi_checkpoint_plan_make(2000, 20, 0, 10, 20.0, 2, &p, &e), PSFWI_OK);
  assert_true(p.fields <= 20);
  /* errors: no memory, a forced segment longer than the budget, too many
   * recomputations (the message gives the least memory that suffices) */
  assert_int_equal(psfwi_checkpoint_plan_make(100, 0, 0, 1, 20.0, 2, &p, &e), PSFWI_ERANGE);
  assert_int_equal(psfwi_checkpoint_plan_make(100, 10, 20, 1, 20.0, 2, &p, &e), PSFWI_ERANGE);
  assert_non_null(strstr(e.msg, "at least 20"));
  assert_int_equal(psfwi_checkpoint_plan_make(1000, 3, 0, 1, 5.0, 2, &p, &e), PSFWI_ERANGE);
  printf("%s\n", e.msg);
  size_t need = 0;
  assert_int_equal(sscanf(strstr(e.msg, "at least ") + 9, "%zu", &need), 1);
  assert_int_equal(psfwi_checkpoint_plan_make(1000, need, 0, 1, 5.0, 2, &p, &e), PSFWI_OK);
  assert_true((double)p.recomputed <= 5.0 * 1000.0);
  assert_int_equal(psfwi_checkpoint_plan_make(1000, need - 1, 0, 1, 5.0, 2, &p, &e), PSFWI_ERANGE);
  assert_int_equal(psfwi_checkpoint_plan_make(1000, 3, 0, 1, 5.0, 2, NULL, &e), PSFWI_EINVAL);
  /* no steps */
  assert_int_equal(psfwi_checkpoint_plan_make(0, 5, 0, 1, 5.0, 2, &p, &e), PSFWI_OK);
  assert_int_equal(p.recomputed, 0);
}

/* ---- the gradient under a memory budget -------------------------------------- */

enum { NX = 56, NZ = 40 };

static void test_gradient_checkpointed(void **state) {
  (void)state;
  psfwi_grid g = {.nx = NX, .nz = NZ, .dx = 10.0, .dz = 10.0, .x0 = 0.0, .z0 = 0.0};
  psfwi_error e;
  psfwi_model *m0 = psfwi_model_create(&g, &e), *mt = psfwi_model_create(&g, &e);
  for (size_t iz = 0; iz < NZ; iz++)
    for (size_t ix = 0; ix < NX; ix++) {
      const double r2 = pow((double)ix - 25.0, 2) + pow((double)iz - 20.0, 2);
      m0->vp[iz * NX + ix] = (float)(1800.0 + 10.0 * (double)iz);
      mt->vp[iz * NX + ix] = (float)(1800.0 + 10.0 * (double)iz + 200.0 * exp(-r2 / 30.0));
    }
  psfwi_wave_opts o;
  psfwi_wave_opts_defaults(&o);
  o.fmax = 25.0;
  o.boundary_cells = 10;
  o.free_surface = 1;
  o.vmin_bound = 1500.0;
  o.vmax_bound = 3000.0;
  psfwi_wave *w = psfwi_wave_create(m0, 0.004, &o, &e);
  assert_non_null(w);
  const psfwi_wave_info *in = psfwi_wave_get_info(w);
  const size_t nt = 121, nstep = psfwi_wave_nstep(w, nt);
  psfwi_survey *s = psfwi_survey_create_line(100.0, 300.0, 2, 20.0, 10.0, 40.0, 13, 10.0, 0, &e);
  assert_non_null(s);
  float *wav = malloc(nt * sizeof(float));
  float *dobs = malloc(s->nshot * s->nrec * nt * sizeof(float));
  assert_int_equal(psfwi_ricker(10.0, 0.1, 0.004, nt, wav, &e), PSFWI_OK);
  assert_int_equal(psfwi_wave_model_shots(w, mt, s, wav, nt, dobs, NULL, &e), PSFWI_OK);
  psfwi_misfit_opts mo;
  psfwi_misfit_opts_defaults(&mo);
  psfwi_misfit *mf = psfwi_misfit_create(&mo, nt, 0.004, &e);
  assert_non_null(mf);
  const double field_mb = (double)(in->npx * in->npz * sizeof(float)) / 1048576.0;

  double *ref = malloc(NX * NZ * sizeof(double)), *gr = malloc(NX * NZ * sizeof(double));
  double *il0 = malloc(NX * NZ * sizeof(double)), *il = malloc(NX * NZ * sizeof(double));
  double J0, J;
  psfwi_gradient_stats st;
  psfwi_gradient_opts go;
  psfwi_gradient_opts_defaults(&go);
  go.nthreads = 1;
  assert_int_equal(psfwi_gradient(w, m0, s, wav, nt, dobs, mf, &go, &J0, ref, il0, NULL, &st, &e),
                   PSFWI_OK);
  assert_int_equal(st.plan.nseg, 1);
  assert_int_equal(st.fwd_steps, s->nshot * nstep);
  assert_int_equal(st.bwd_steps, s->nshot * nstep);
  printf("keep all: %zu steps per shot, storage %.2f MiB per shot, %.3f s\n", nstep,
         (double)st.bytes_storage / 1048576.0, st.seconds);

  /* budgets: a tenth of keep-all (automatic segments), 21 fields with
   * one-step segments (classic revolve), and 9 fields per shot on 2 threads */
  const struct {
    double fields;
    size_t seg_len;
    int nthreads;
  } cases[3] = {{(double)nstep / 10.0 + 0.5, 0, 1}, {21.5, 1, 1}, {2.0 * 9.5, 0, 2}};
  for (int k = 0; k < 3; k++) {
    go.mem_budget_mb = cases[k].fields * field_mb;
    go.seg_len = cases[k].seg_len;
    go.nthreads = cases[k].nthreads;
    if (psfwi_gradient(w, m0, s, wav, nt, dobs, mf, &go, &J, gr, il, NULL, &st, &e) != PSFWI_OK)
      fail_msg("%s", e.msg);
    const psfwi_checkpoint_plan *p = &st.plan;
    const size_t rec = p->seg_len * psfwi_revolve_advances(p->nseg, p->nsnap + 1);
    printf(
        "budget %.1f fields per shot x %d thread(s): segments of %zu, %zu segments, %zu "
        "snapshots, %zu fields; forward steps %zu = %zu x (%zu + %zu), ratio %.3f, %.3f s\n",
        cases[k].fields, cases[k].nthreads, p->seg_len, p->nseg, p->nsnap, p->fields, st.fwd_steps,
        s->nshot, nstep, rec, st.recompute_ratio, st.seconds);
    assert_true(p->nseg > 1);
    assert_true((double)p->fields <= cases[k].fields / (double)cases[k].nthreads);
    assert_int_equal(p->recomputed, rec);
    assert_int_equal(st.fwd_steps, s->nshot * (nstep + rec));
    assert_int_equal(st.bwd_steps, s->nshot * nstep);
    if (cases[k].seg_len == 1) assert_int_equal(rec, psfwi_revolve_advances(nstep, p->nsnap + 1));
    /* identical arithmetic, so identical results */
    assert_true(J == J0);
    double num = 0.0, den = 0.0;
    for (size_t i = 0; i < NX * NZ; i++) {
      num += (gr[i] - ref[i]) * (gr[i] - ref[i]);
      den += ref[i] * ref[i];
    }
    printf("  relative difference to keep-all: %.3e\n", sqrt(num / den));
    assert_true(sqrt(num / den) <= 1e-6);
    assert_memory_equal(gr, ref, NX * NZ * sizeof(double));
    assert_memory_equal(il, il0, NX * NZ * sizeof(double));
  }

  /* Tape stride: every ts-th step taped, ts = the largest the propagator's
   * fmax allows (ts dt <= 1 / (2 fmax)). The gradient is an approximation
   * of the exact one (the rectangle rule over time, no longer the discrete
   * adjoint): close to it, not equal; J and the illumination do not change.
   * Under a budget below its keep-all tape it is bit for bit the strided
   * keep-all gradient (the same arithmetic, recomputed). One step more than
   * allowed is refused. */
  const size_t smax = (size_t)floor((1.0 + 1e-9) / (2.0 * in->fmax * in->dt));
  assert_true(smax >= 4);
  double *gs = malloc(NX * NZ * sizeof(double));
  go.nthreads = 1;
  go.seg_len = 0;
  go.mem_budget_mb = 0.0;
  for (size_t ts = 2; ts <= smax; ts += smax - 2) {
    go.tape_stride = ts;
    go.mem_budget_mb = 0.0;
    if (psfwi_gradient(w, m0, s, wav, nt, dobs, mf, &go, &J, gs, il, NULL, &st, &e) != PSFWI_OK)
      fail_msg("%s", e.msg);
    assert_true(J == J0);
    assert_memory_equal(il, il0, NX * NZ * sizeof(double));
    assert_int_equal(st.plan.nseg, 1);
    assert_int_equal(st.plan.fields, (nstep + ts - 1) / ts);
    assert_int_equal(st.fwd_steps, s->nshot * nstep);
    double num = 0.0, den = 0.0, dot = 0.0, n2 = 0.0;
    for (size_t i = 0; i < NX * NZ; i++) {
      num += (gs[i] - ref[i]) * (gs[i] - ref[i]);
      den += ref[i] * ref[i];
      dot += gs[i] * ref[i];
      n2 += gs[i] * gs[i];
    }
    const double rel = sqrt(num / den), cosine = dot / sqrt(den * n2);
    printf(
        "tape stride %zu (%.3g ms; 1 / (2 fmax) = %.3g ms): %zu fields, relative difference "
        "to the exact gradient %.3e, cosine %.8f\n",
        ts, (double)ts * in->dt * 1e3, 500.0 / in->fmax, st.plan.fields, rel, cosine);
    assert_true(rel < 2e-2);
    assert_true(rel > 0.0);
    /* a tenth of the strided tape: checkpointed, same numbers */
    go.mem_budget_mb = ((double)((nstep + ts - 1) / ts) / 10.0 + 2.5) * field_mb;
    if (psfwi_gradient(w, m0, s, wav, nt, dobs, mf, &go, &J, gr, il, NULL, &st, &e) != PSFWI_OK)
      fail_msg("%s", e.msg);
    assert_true(st.plan.nseg > 1);
    assert_true((double)st.plan.fields * field_mb <= go.mem_budget_mb);
    assert_memory_equal(gr, gs, NX * NZ * sizeof(double));
  }
  go.tape_stride = smax + 1;
  go.mem_budget_mb = 0.0;
  assert_int_equal(psfwi_gradient(w, m0, s, wav, nt, dobs, mf, &go, &J, gs, il, NULL, &st, &e),
                   PSFWI_ERANGE);
  printf("refused: %s\n", e.msg);
  assert_non_null(strstr(e.msg, "tape stride"));
  free(gs);
  free(ref);
  free(gr);
  free(il0);
  free(il);
  free(wav);
  free(dobs);
  psfwi_misfit_destroy(mf);
  psfwi_survey_destroy(s);
  psfwi_wave_destroy(w);
  psfwi_model_destroy(m0);
  psfwi_model_destroy(mt);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_formula_and_schedule),
      cmocka_unit_test(test_plans),
      cmocka_unit_test(test_gradient_checkpointed),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
