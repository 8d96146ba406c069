/* optim: learning-rate schedules. The closed forms (constant, step, cosine
 * annealing) over 30 epochs against formulas evaluated here; step() gives
 * the learning rate of the next epoch; reduce-on-plateau against a trace of
 * PyTorch's algorithm worked by hand (patience, relative threshold,
 * cooldown, min_lr); bit for bit resume of the plateau state; error paths. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "psfwi_optim.h"
#include "testutil.h"

static const double PI = 3.14159265358979323846;

static psfwi_lr_schedule *make(const psfwi_lr_schedule_options *o) {
  psfwi_error err;
  psfwi_lr_schedule *s = psfwi_lr_schedule_create(o, &err);
  if (s == NULL) fail_msg("%s", err.msg);
  return s;
}

/* lr_at(e) for e < 30 equals want(e), and step(e) gives want(e + 1). */
static void check_closed_form(psfwi_lr_schedule *s, const double *want, const char *label) {
  psfwi_error err;
  for (size_t e = 0; e < 30; e++) {
    assert_true(fabs(psfwi_lr_at(s, e) - want[e]) <= 1e-15 * want[0]);
    double lr;
    assert_int_equal(psfwi_lr_schedule_step(s, e, NAN, &lr, &err), PSFWI_OK);
    assert_true(lr == psfwi_lr_at(s, e + 1));
    assert_true(psfwi_lr_schedule_lr(s) == lr);
  }
  printf("%s: lr(0) = %g, lr(10) = %g, lr(20) = %g, lr(29) = %g\n", label, want[0], want[10],
         want[20], want[29]);
}

static void test_closed_forms(void **state) {
  (void)state;
  double want[31];
  psfwi_lr_schedule_options o;
  psfwi_lr_schedule_options_init(&o, PSFWI_LR_CONSTANT, 0.05);
  psfwi_lr_schedule *s = make(&o);
  for (int e = 0; e < 31; e++) want[e] = 0.05;
  check_closed_form(s, want, "constant");
  psfwi_lr_schedule_destroy(s);

  /* step: 0.1 for epochs 0-6, 0.05 for 7-13, 0.025 for 14-20, ... */
  psfwi_lr_schedule_options_init(&o, PSFWI_LR_STEP, 0.1);
  o.step_size = 7;
  o.gamma = 0.5;
  s = make(&o);
  double lr = 0.1;
  for (int e = 0; e < 31; e++) {
    if (e > 0 && e % 7 == 0) lr *= 0.5;
    want[e] = lr;
  }
  check_closed_form(s, want, "step (7 epochs, gamma 0.5)");
  assert_true(psfwi_lr_at(s, 6) == 0.1 && psfwi_lr_at(s, 7) == 0.05 &&
              psfwi_lr_at(s, 28) == 0.00625);
  psfwi_lr_schedule_destroy(s);

  /* cosine: T = 12, from 0.1 down to 0.001 at epoch 12, back up to 0.1 at 24 */
  psfwi_lr_schedule_options_init(&o, PSFWI_LR_COSINE, 0.1);
  o.t_max = 12;
  o.lr_min = 0.001;
  s = make(&o);
  for (int e = 0; e < 31; e++) want[e] = 0.001 + 0.099 * 0.5 * (1.0 + cos(PI * e / 12.0));
  check_closed_form(s, want, "cosine (T 12, lr_min 0.001)");
  assert_true(psfwi_lr_at(s, 0) == 0.1);
  assert_true(fabs(psfwi_lr_at(s, 6) - 0.0505) < 1e-15);
  assert_true(fabs(psfwi_lr_at(s, 12) - 0.001) < 1e-15);
  assert_true(fabs(psfwi_lr_at(s, 24) - 0.1) < 1e-15);
  psfwi_lr_schedule_destroy(s);
}

/* ReduceLROnPlateau(mode min, factor 0.5, patience 2, threshold 1e-4 rel,
 * cooldown 1 (or 0), min_lr 0.02) from lr 0.1, metrics m[e]. With cooldown 1:
 *   e0 10 best; e1 9 best; e2 8.9996 is not below 9 (1 - 1e-4) = 8.9991: bad 1;
 *   e3 bad 2; e4 bad 3 > patience: lr 0.05, cooldown; e5 cooldown (bad 0);
 *   e6, e7 bad 1, 2; e8 bad 3: lr 0.025; e9 cooldown; e10-12: lr
 *   max(0.0125, 0.02) = 0.02; then at min_lr (e16 would drop, but
 *   0.02 - 0.02 <= eps: kept); e17 7 is a new best, still 0.02.
 * Without cooldown the second drop comes at e7 (bad counted at e5, e6, e7)
 * and the third at e10. */
static const double metric[30] = {10, 9, 8.9996, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9,
                                  9,  9, 7,      7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7};

static void test_plateau(void **state) {
  (void)state;
  const double want_cool[30] = {0.1,   0.1,   0.1,  0.1,  0.05, 0.05, 0.05, 0.05, 0.025, 0.025,
                                0.025, 0.025, 0.02, 0.02, 0.02, 0.02, 0.02, 0.02, 0.02,  0.02,
                                0.02,  0.02,  0.02, 0.02, 0.02, 0.02, 0.02, 0.02, 0.02,  0.02};
  const double want_nocool[30] = {0.1,  0.1,  0.1,  0.1,  0.05, 0.05, 0.05, 0.025, 0.025, 0.025,
                                  0.02, 0.02, 0.02, 0.02, 0.02, 0.02, 0.02, 0.02,  0.02,  0.02,
                                  0.02, 0.02, 0.02, 0.02, 0.02, 0.02, 0.02, 0.02,  0.02,  0.02};
  for (int cool = 1; cool >= 0; cool--) {
    psfwi_lr_schedule_options o;
    psfwi_lr_schedule_options_init(&o, PSFWI_LR_PLATEAU, 0.1);
    o.factor = 0.5;
    o.patience = 2;
    o.cooldown = (size_t)cool;
    o.lr_min = 0.02;
    psfwi_lr_schedule *s = make(&o);
    const double *want = cool ? want_cool : want_nocool;
    psfwi_error err;
    assert_true(psfwi_lr_schedule_lr(s) == 0.1);
    for (size_t e = 0; e < 30; e++) {
      double lr;
      assert_int_equal(psfwi_lr_schedule_step(s, e, metric[e], &lr, &err), PSFWI_OK);
      if (lr != want[e])
        fail_msg("cooldown %d, epoch %zu: lr %g, expected %g", cool, e, lr, want[e]);
      assert_true(psfwi_lr_at(s, 1000) == lr); /* the current lr, whatever the epoch */
    }
    printf("plateau (patience 2, cooldown %d): drops after epochs %s\n", cool,
           cool ? "4, 8, 12 (to min_lr)" : "4, 7, 10 (to min_lr)");
    psfwi_lr_schedule_destroy(s);
  }
}

static void test_plateau_resume(void **state) {
  (void)state;
  psfwi_lr_schedule_options o;
  psfwi_lr_schedule_options_init(&o, PSFWI_LR_PLATEAU, 1.0);
  o.patience = 1;
  o.cooldown = 2;
  o.factor = 0.7;
  o.threshold = 1e-3;
  psfwi_lr_schedule *a = make(&o), *b = make(&o);
  unsigned long long ra = 99, rb = 99;
  psfwi_error err;
  size_t drops = 0;
  for (size_t e = 0; e < 60; e++) {
    if (e == 13) { /* in the middle of a cooldown or a count of bad epochs */
      const size_t size = psfwi_lr_schedule_state_size(b);
      unsigned char *buf = malloc(size);
      assert_int_equal(psfwi_lr_schedule_state_save(b, buf, size, &err), PSFWI_OK);
      psfwi_lr_schedule_destroy(b);
      b = make(&o);
      assert_int_equal(psfwi_lr_schedule_state_restore(b, buf, size, &err), PSFWI_OK);
      free(buf);
    }
    /* a noisy, slowly decreasing loss */
    const double ma = 1.0 / (1.0 + 0.05 * (double)e) + 0.05 * tu_uniform(&ra);
    const double mb = 1.0 / (1.0 + 0.05 * (double)e) + 0.05 * tu_uniform(&rb);
    double la, lb;
    const double before = psfwi_lr_schedule_lr(a);
    assert_int_equal(psfwi_lr_schedule_step(a, e, ma, &la, &err), PSFWI_OK);
    assert_int_equal(psfwi_lr_schedule_step(b, e, mb, &lb, &err), PSFWI_OK);
    assert_memory_equal(&la, &lb, sizeof la);
    drops += la < before;
  }
  printf("plateau resumed at epoch 13: 60 epochs bit for bit, %zu drops\n", drops);
  assert_true(drops >= 3);
  psfwi_lr_schedule_destroy(a);
  psfwi_lr_schedule_destroy(b);
}

static void expect_error(const psfwi_lr_schedule_options *o, int status, const char *text) {
  psfwi_error err;
  assert_null(psfwi_lr_schedule_create(o, &err));
  assert_int_equal(err.status, status);
  if (strstr(err.msg, text) == NULL) fail_msg("message '%s' lacks '%s'", err.msg, text);
}

static void test_errors(void **state) {
  (void)state;
  psfwi_lr_schedule_options o;
  expect_error(NULL, PSFWI_EINVAL, "options are NULL");
  psfwi_lr_schedule_options_init(&o, 7, 0.1);
  expect_error(&o, PSFWI_EINVAL, "kind = 7");
  psfwi_lr_schedule_options_init(&o, PSFWI_LR_CONSTANT, 0.0);
  expect_error(&o, PSFWI_ERANGE, "lr0 = 0; expected finite and > 0");
  psfwi_lr_schedule_options_init(&o, PSFWI_LR_STEP, 0.1);
  o.step_size = 0;
  expect_error(&o, PSFWI_ERANGE, "step_size = 0; expected >= 1");
  o.step_size = 5;
  o.gamma = 0.0;
  expect_error(&o, PSFWI_ERANGE, "gamma = 0");
  psfwi_lr_schedule_options_init(&o, PSFWI_LR_COSINE, 0.1);
  o.t_max = 0;
  expect_error(&o, PSFWI_ERANGE, "t_max = 0; expected >= 1");
  o.t_max = 10;
  o.lr_min = 0.2;
  expect_error(&o, PSFWI_ERANGE, "lr_min = 0.2; expected 0 <= lr_min <= lr0 = 0.1");
  psfwi_lr_schedule_options_init(&o, PSFWI_LR_PLATEAU, 0.1);
  o.factor = 1.0;
  expect_error(&o, PSFWI_ERANGE, "factor = 1; expected 0 < factor < 1");
  o.factor = 0.0;
  expect_error(&o, PSFWI_ERANGE, "factor = 0");
  o.factor = 0.5;
  o.threshold = 1.0;
  expect_error(&o, PSFWI_ERANGE, "threshold = 1");
  o.threshold = 1e-4;
  o.lr_min = -1.0;
  expect_error(&o, PSFWI_ERANGE, "lr_min = -1");
  o.lr_min = 0.0;
  o.eps = NAN;
  expect_error(&o, PSFWI_ERANGE, "eps = nan");
  /* options of other kinds are not checked */
  psfwi_lr_schedule_options_init(&o, PSFWI_LR_CONSTANT, 0.1);
  o.factor = 5.0;
  o.step_size = 0;
  psfwi_lr_schedule *c = make(&o);
  psfwi_lr_schedule_destroy(NULL);

  /* a non-finite metric for the plateau: refused, state unchanged */
  psfwi_lr_schedule_options_init(&o, PSFWI_LR_PLATEAU, 0.1);
  o.patience = 0;
  psfwi_lr_schedule *s = make(&o);
  psfwi_error err;
  double lr = 0.0;
  assert_int_equal(psfwi_lr_schedule_step(s, 0, 1.0, &lr, &err), PSFWI_OK);
  assert_int_equal(psfwi_lr_schedule_step(s, 1, NAN, &lr, &err), PSFWI_ENONFINITE);
  assert_non_null(strstr(err.msg, "metric = nan at epoch 1"));
  assert_true(psfwi_lr_schedule_lr(s) == 0.1);
  assert_int_equal(psfwi_lr_schedule_step(s, 1, 1.0, NULL, &err), PSFWI_OK); /* bad, patience 0 */
  assert_true(fabs(psfwi_lr_schedule_lr(s) - 0.01) < 1e-15);

  /* state buffers */
  const size_t size = psfwi_lr_schedule_state_size(s);
  unsigned char *buf = malloc(size);
  assert_int_equal(psfwi_lr_schedule_state_save(s, buf, size - 1, &err), PSFWI_ERANGE);
  assert_int_equal(psfwi_lr_schedule_state_save(s, NULL, size, &err), PSFWI_ERANGE);
  assert_int_equal(psfwi_lr_schedule_state_save(s, buf, size, &err), PSFWI_OK);
  assert_int_equal(psfwi_lr_schedule_state_restore(c, buf, size, &err), PSFWI_EINVAL);
  assert_non_null(strstr(err.msg, "kind 3"));
  assert_int_equal(psfwi_lr_schedule_state_restore(s, buf, size - 1, &err), PSFWI_EFORMAT);
  buf[8] ^= 2; /* version 1 -> 3 */
  assert_int_equal(psfwi_lr_schedule_state_restore(s, buf, size, &err), PSFWI_EFORMAT);
  assert_non_null(strstr(err.msg, "state version 3; this build reads version 1"));
  buf[8] ^= 2;
  buf[size - 12] ^= 1;
  assert_int_equal(psfwi_lr_schedule_state_restore(s, buf, size, &err), PSFWI_EFORMAT);
  assert_non_null(strstr(err.msg, "checksum"));
  buf[0] = 'Q';
  assert_int_equal(psfwi_lr_schedule_state_restore(s, buf, size, &err), PSFWI_EFORMAT);
  assert_int_equal(psfwi_lr_schedule_state_restore(s, NULL, size, &err), PSFWI_EFORMAT);
  assert_true(fabs(psfwi_lr_schedule_lr(s) - 0.01) < 1e-15); /* unchanged by failed restores */
  free(buf);
  psfwi_lr_schedule_destroy(s);
  psfwi_lr_schedule_destroy(c);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_closed_forms),
      cmocka_unit_test(test_plateau),
      cmocka_unit_test(test_plateau_resume),
      cmocka_unit_test(test_errors),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
