/* Griewank's binomial checkpointing ("revolve"): the optimal number of
 * forward recomputations, the recursive schedule that attains it, and the
 * memory plan of a shot (segments taped whole, revolve over segments). */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "invert_internal.h"

#define BIG ((size_t)1 << 60)

/* beta(c, r) = C(c + r, c), saturated at BIG. */
static size_t beta(size_t c, size_t r) {
  const size_t k = c < r ? c : r, n = c + r;
  size_t v = 1;
  for (size_t i = 1; i <= k; i++) {
    /* v = C(n - k + i, i) stays an integer at every step */
    const size_t f = n - k + i;
    if (v > BIG / f) return BIG;
    v = v * f / i;
  }
  return v;
}

/* Smallest r with beta(c, r) >= l (c >= 1, l >= 1). */
static size_t reps(size_t l, size_t c) {
  size_t r = 0;
  while (beta(c, r) < l) r++;
  return r;
}

size_t psfwi_revolve_advances(size_t l, size_t c) {
  if (l <= 1) return 0;
  if (c == 0) return SIZE_MAX;
  const size_t r = reps(l, c);
  return r * l - beta(c + 1, r - 1);
}

static void emit(rev_schedule *S, rev_kind kind, size_t arg, size_t pos) {
  if (S->oom) return;
  if (S->n == S->cap) {
    const size_t cap = S->cap ? 2 * S->cap : 64;
    rev_action *a = realloc(S->act, cap * sizeof *a);
    if (a == NULL) {
      S->oom = 1;
      return;
    }
    S->act = a;
    S->cap = cap;
  }
  S->act[S->n++] = (rev_action){kind, arg, pos};
}

/* beta(c, r) with beta(c, -1) = 0, for r given as r0 - k. */
static size_t beta_m(size_t c, size_t r0, size_t k) { return r0 >= k ? beta(c, r0 - k) : 0; }

/* First checkpoint distance d for l steps and c >= 2 checkpoints, r =
 * reps(l, c): d is optimal when both parts need the fewest sweeps, the left
 * one (d steps, c checkpoints) r - 1 or r - 2 and the right one (l - d
 * steps, c - 1 checkpoints) r or r - 1:
 *   max(beta(c, r-2), l - beta(c-1, r)) <= d <= min(beta(c, r-1), l - beta(c-1, r-1)).
 * Checked against a brute-force search in tests/test_invert_checkpoint.c.
 * Take the smallest. */
static size_t split(size_t l, size_t c) {
  const size_t r = reps(l, c);
  size_t d = beta_m(c, r, 2);
  const size_t right = beta(c - 1, r);
  if (l > right && l - right > d) d = l - right;
  if (d < 1) d = 1;
  if (d > l - 1) d = l - 1;
  return d;
}

/* Reverse positions [a, b): the state at a is in slot sa (REV_ZERO: zero
 * state); `used` slots are live; `free` more may be taken. *cur is the
 * position of the current state (REV_ZERO: unknown). */
static void gen(rev_schedule *S, size_t a, size_t b, size_t sa, size_t used, size_t nfree,
                size_t *cur) {
  if (S->oom) return;
  const size_t l = b - a;
  if (l == 1) {
    if (*cur != a) emit(S, REV_RESTORE, sa, a);
    emit(S, REV_TURN, a, a);
    *cur = REV_ZERO;
    return;
  }
  if (nfree == 0) {
    for (size_t k = b; k-- > a;) {
      if (*cur != a) emit(S, REV_RESTORE, sa, a);
      if (k > a) {
        emit(S, REV_ADVANCE, k, a);
        S->advances += k - a;
      }
      emit(S, REV_TURN, k, k);
      *cur = REV_ZERO;
    }
    return;
  }
  const size_t d = split(l, nfree + 1);
  if (*cur != a) emit(S, REV_RESTORE, sa, a);
  emit(S, REV_ADVANCE, a + d, a);
  S->advances += d;
  emit(S, REV_STORE, used, a + d);
  if (used + 1 > S->max_snaps) S->max_snaps = used + 1;
  *cur = a + d;
  gen(S, a + d, b, used, used + 1, nfree - 1, cur);
  gen(S, a, a + d, sa, used, nfree, cur);
}

void psfwi_revolve_free_(rev_schedule *S) {
  free(S->act);
  memset(S, 0, sizeof *S);
}

int psfwi_revolve_build_(size_t l, size_t c, rev_schedule *S, psfwi_error *err) {
  memset(S, 0, sizeof *S);
  if (c < 1) return psfwi_fail(err, PSFWI_EINVAL, "revolve needs >= 1 checkpoint; got 0");
  if (l == 0) return PSFWI_OK;
  /* c checkpoints beyond l - 1 are never used */
  const size_t cc = c < l ? c : l;
  size_t cur = 0;
  gen(S, 0, l, REV_ZERO, 0, cc - 1, &cur);
  if (S->oom) {
    psfwi_revolve_free_(S);
    return psfwi_fail(err, PSFWI_ENOMEM, "cannot allocate a revolve schedule for %zu steps", l);
  }
  return PSFWI_OK;
}

int psfwi_revolve_simulate(size_t l, size_t c, size_t *advances, size_t *max_snaps,
                           psfwi_error *err) {
  rev_schedule S;
  int st = psfwi_revolve_build_(l, c, &S, err);
  if (st != PSFWI_OK) return st;
  size_t *slot_pos = calloc(c > 0 ? c : 1, sizeof *slot_pos);
  if (slot_pos == NULL) {
    psfwi_revolve_free_(&S);
    return psfwi_fail(err, PSFWI_ENOMEM, "cannot allocate %zu slots", c);
  }
  size_t pos = 0, next_turn = l, adv = 0;
  int valid = 1; /* current state is a real forward state */
  for (size_t i = 0; i < S.n && st == PSFWI_OK; i++) {
    const rev_action *A = &S.act[i];
    switch (A->kind) {
      case REV_ADVANCE:
        if (!valid || A->arg <= pos || A->arg >= l)
          st = psfwi_fail(err, PSFWI_EINTERNAL, "action %zu: bad advance %zu -> %zu", i, pos,
                          A->arg);
        adv += A->arg - pos;
        pos = A->arg;
        break;
      case REV_STORE:
        if (!valid || A->arg + 1 >= c || A->pos != pos)
          st = psfwi_fail(err, PSFWI_EINTERNAL, "action %zu: bad store in slot %zu", i, A->arg);
        else
          slot_pos[A->arg] = pos;
        break;
      case REV_RESTORE:
        if (A->arg == REV_ZERO) {
          pos = 0;
        } else if (A->arg + 1 >= c) {
          st = psfwi_fail(err, PSFWI_EINTERNAL, "action %zu: bad slot %zu", i, A->arg);
        } else {
          pos = slot_pos[A->arg];
        }
        if (A->pos != pos)
          st = psfwi_fail(err, PSFWI_EINTERNAL, "action %zu: restored %zu, expected %zu", i, pos,
                          A->pos);
        valid = 1;
        break;
      case REV_TURN:
        if (!valid || A->arg != pos || pos + 1 != next_turn)
          st = psfwi_fail(err, PSFWI_EINTERNAL,
                          "action %zu: turn at %zu from state %zu; expected step %zu", i, A->arg,
                          pos, next_turn - 1);
        next_turn = pos;
        valid = 0;
        break;
    }
  }
  if (st == PSFWI_OK && next_turn != 0)
    st = psfwi_fail(err, PSFWI_EINTERNAL, "schedule stopped with step %zu not reversed",
                    next_turn - 1);
  if (st == PSFWI_OK && adv != S.advances)
    st = psfwi_fail(err, PSFWI_EINTERNAL, "advance count %zu != %zu", adv, S.advances);
  if (st == PSFWI_OK) {
    if (advances) *advances = adv;
    if (max_snaps) *max_snaps = S.max_snaps;
  }
  free(slot_pos);
  psfwi_revolve_free_(&S);
  return st;
}

/* Padded fields the tape of a segment of k steps takes when every ts-th
 * step is taped (the multiples of ts among any k consecutive steps). */
static size_t tape_fields(size_t k, size_t ts) { return (k + ts - 1) / ts; }

/* Recomputed steps of the plan with segments of k steps within m fields. */
static size_t plan_cost(size_t l, size_t m, size_t k, size_t ts, size_t sf, size_t *nseg,
                        size_t *nsnap) {
  const size_t kt = tape_fields(k, ts);
  if (kt > m) return SIZE_MAX;
  const size_t ns = (l + k - 1) / k;
  size_t s = (m - kt) / sf;
  if (s > ns - 1) s = ns - 1;
  const size_t p = psfwi_revolve_advances(ns, s + 1);
  *nseg = ns;
  *nsnap = s;
  if (p == SIZE_MAX || (p > 0 && k > SIZE_MAX / p)) return SIZE_MAX;
  return k * p;
}

/* The best segment length within m fields (forced when seg_len > 0). */
static size_t best_plan(size_t l, size_t m, size_t seg_len, size_t ts, size_t sf, size_t *bk,
                        size_t *bseg, size_t *bsnap) {
  size_t best = SIZE_MAX;
  const size_t k0 = seg_len > 0 ? seg_len : 1,
               k1 = seg_len > 0 ? seg_len : (m > l / ts ? l : m * ts);
  *bk = *bseg = *bsnap = 0;
  for (size_t k = k0; k <= k1 && k <= l; k++) {
    size_t ns, sn;
    const size_t c = plan_cost(l, m, k, ts, sf, &ns, &sn);
    if (c < best || (c == best && c != SIZE_MAX &&
                     tape_fields(k, ts) + sf * sn < tape_fields(*bk, ts) + sf * *bsnap)) {
      best = c;
      *bk = k;
      *bseg = ns;
      *bsnap = sn;
    }
  }
  return best;
}

int psfwi_checkpoint_plan_make(size_t nstep, size_t max_fields, size_t seg_len, size_t tape_stride,
                               double max_ratio, size_t snap_fields, psfwi_checkpoint_plan *plan,
                               psfwi_error *err) {
  if (plan == NULL) return psfwi_fail(err, PSFWI_EINVAL, "checkpoint plan: no output");
  if (snap_fields < 1)
    return psfwi_fail(err, PSFWI_EINVAL, "checkpoint plan: snap_fields = 0; expected >= 1");
  const size_t sf = snap_fields, ts = tape_stride > 0 ? tape_stride : 1;
  memset(plan, 0, sizeof *plan);
  plan->nstep = nstep;
  plan->tape_stride = ts;
  if (nstep == 0) return PSFWI_OK;
  if (seg_len > nstep) seg_len = nstep;
  if (max_fields >= tape_fields(nstep, ts) && seg_len == 0) seg_len = nstep; /* keep all */
  if (max_fields < 1 || tape_fields(seg_len, ts) > max_fields)
    return psfwi_fail(err, PSFWI_ERANGE,
                      "memory budget of %zu wavefields is too small: at least %zu are needed "
                      "(the taped segment)",
                      max_fields, seg_len > 0 ? tape_fields(seg_len, ts) : 1);
  size_t bk, bseg, bsnap;
  const size_t best = best_plan(nstep, max_fields, seg_len, ts, sf, &bk, &bseg, &bsnap);
  const double limit = max_ratio * (double)nstep;
  if (best == SIZE_MAX || (double)best > limit) {
    /* the least memory that meets the limit (monotone in m), for the message */
    size_t lo = max_fields, hi = nstep, k, a, b;
    if (seg_len > 0 && hi < seg_len) hi = seg_len;
    while (hi - lo > 1) {
      const size_t mid = lo + (hi - lo) / 2;
      const size_t c = best_plan(nstep, mid, seg_len, ts, sf, &k, &a, &b);
      if (c != SIZE_MAX && (double)c <= limit)
        hi = mid;
      else
        lo = mid;
    }
    return psfwi_fail(err, PSFWI_ERANGE,
                      "memory budget of %zu wavefields for %zu time steps would recompute "
                      "%.3g times the steps (limit max_recompute = %g); at least %zu wavefields "
                      "are needed",
                      max_fields, nstep, best == SIZE_MAX ? INFINITY : (double)best / (double)nstep,
                      max_ratio, hi);
  }
  plan->seg_len = bk;
  plan->nseg = bseg;
  plan->nsnap = bsnap;
  plan->recomputed = best;
  plan->fields = tape_fields(bk, ts) + sf * bsnap;
  plan->snap_fields = sf;
  return PSFWI_OK;
}
