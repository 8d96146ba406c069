/* The backward (vector-Jacobian product) of one time step, and the
 * transpose of the wavelet resampling. The formulas are in psfwi_wave.h and
 * docs/gradient.md; tests/test_wave_adjoint.c proves each piece with a
 * dot-product test. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "wave_internal.h"

struct psfwi_wave_bwork {
  psfwi_wave_work *ws; /* FFT scratch of the Laplacian */
  float *wq;           /* w = q / (1 + e), padded field */
  float *tmp;          /* vel_term w, padded field */
  float *lt;           /* L (vel_term w), padded field */
  float *dbx, *dbz;    /* PML only: the FD derivatives' adjoint inputs (zero outside
                          the cells psfwi_pml_backward writes) */
};

psfwi_wave_bwork *psfwi_wave_bwork_create(const psfwi_wave *w, psfwi_error *err) {
  psfwi_wave_bwork *bw = calloc(1, sizeof *bw);
  if (bw == NULL) goto nomem;
  bw->ws = psfwi_wave_work_create(w, err);
  if (bw->ws == NULL) {
    free(bw);
    return NULL;
  }
  bw->wq = psfwi_wave_field_alloc(w);
  bw->tmp = psfwi_wave_field_alloc(w);
  bw->lt = psfwi_wave_field_alloc(w);
  if (w->pml != NULL) {
    bw->dbx = psfwi_wave_field_alloc(w);
    bw->dbz = psfwi_wave_field_alloc(w);
    if (!bw->dbx || !bw->dbz) goto nomem;
  }
  if (!bw->wq || !bw->tmp || !bw->lt) goto nomem;
  return bw;
nomem:
  psfwi_wave_bwork_destroy(bw);
  psfwi_fail(err, PSFWI_ENOMEM, "cannot allocate the backward workspace for a %zu x %zu grid",
             w->info.npx, w->info.npz);
  return NULL;
}

void psfwi_wave_bwork_destroy(psfwi_wave_bwork *bw) {
  if (bw == NULL) return;
  psfwi_wave_work_destroy(bw->ws);
  psfwi_wave_field_free(bw->wq);
  psfwi_wave_field_free(bw->tmp);
  psfwi_wave_field_free(bw->lt);
  psfwi_wave_field_free(bw->dbx);
  psfwi_wave_field_free(bw->dbz);
  free(bw);
}

size_t psfwi_wave_bwork_bytes(const psfwi_wave *w) {
  /* spec, lap, wq, tmp, lt (+ dbx, dbz and the strips with the PML) */
  const size_t nf = w->pml ? 6 : 4;
  return (w->nspec + nf * w->info.npx * w->info.npz + psfwi_pml_work_floats(w)) * sizeof(float);
}

/* wq = q / (1 + e), tmp = vel wq on [i0, i1) of a row with row damping
 * ezr (the step's only division, done once). */
PSFWI_CLONES
static void scale_damped(size_t i0, size_t i1, float ezr, const float *restrict ex,
                         const float *restrict q, const float *restrict vel, float *restrict wq,
                         float *restrict tmp) {
  for (size_t i = i0; i < i1; i++) {
    const float wv = q[i] / (1.0f + (ezr + ex[i]));
    wq[i] = wv;
    tmp[i] = vel[i] * wv;
  }
}

PSFWI_CLONES
static void scale_plain(size_t i0, size_t i1, const float *restrict q, const float *restrict vel,
                        float *restrict tmp) {
  for (size_t i = i0; i < i1; i++) tmp[i] = vel[i] * q[i];
}

/* With w = wq: p <- p + (2 - e^2) w + lt, q <- -(1 - e) w, g += w lap
 * (when g != NULL). */
PSFWI_CLONES
static void update_damped(size_t i0, size_t i1, float ezr, const float *restrict ex,
                          const float *restrict wq, float *restrict p, float *restrict q,
                          const float *restrict lt, float *restrict g, const float *restrict lap) {
  if (g != NULL) {
    for (size_t i = i0; i < i1; i++) {
      const float e = ezr + ex[i], wv = wq[i];
      p[i] += (2.0f - e * e) * wv + lt[i];
      q[i] = -(1.0f - e) * wv;
      g[i] += wv * lap[i];
    }
  } else {
    for (size_t i = i0; i < i1; i++) {
      const float e = ezr + ex[i], wv = wq[i];
      p[i] += (2.0f - e * e) * wv + lt[i];
      q[i] = -(1.0f - e) * wv;
    }
  }
}

PSFWI_CLONES
static void update_plain(size_t i0, size_t i1, float *restrict p, float *restrict q,
                         const float *restrict lt, float *restrict g, const float *restrict lap) {
  if (g != NULL) {
    for (size_t i = i0; i < i1; i++) {
      const float wv = q[i];
      p[i] += 2.0f * wv + lt[i];
      q[i] = -wv;
      g[i] += wv * lap[i];
    }
  } else {
    for (size_t i = i0; i < i1; i++) {
      const float wv = q[i];
      p[i] += 2.0f * wv + lt[i];
      q[i] = -wv;
    }
  }
}

void psfwi_wave_step_backward(const psfwi_wave *w, const float *vel_term, psfwi_wave_state *adj,
                              const float *lap_n, float *g_vel, const psfwi_wave_points *src,
                              float *amp_bar, psfwi_wave_bwork *bw) {
  const psfwi_wave_info *in = &w->info;
  const size_t npx = in->npx, npz = in->npz, xa = in->ox, xb = in->ox + in->nx;
  if (w->pml != NULL) {
    float *const scr[4] = {bw->tmp, bw->wq, bw->dbx, bw->dbz};
    psfwi_pml_backward(w, vel_term, adj, lap_n, g_vel, src, amp_bar, bw->ws, scr, bw->lt);
    return;
  }
  float *p = adj->prev, *q = adj->cur, *tmp = bw->tmp, *wq = bw->wq;
  if (lap_n == NULL) g_vel = NULL;
  /* tmp = vel_term w: the adjoint of "vel_term lap" before the Laplacian */
  for (size_t iz = 0; iz < npz; iz++) {
    const size_t r = iz * npx;
    const float ezr = w->ez[iz];
    if (ezr == 0.0f) {
      scale_damped(0, xa, 0.0f, w->ex, q + r, vel_term + r, wq + r, tmp + r);
      scale_plain(xa, xb, q + r, vel_term + r, tmp + r);
      scale_damped(xb, npx, 0.0f, w->ex, q + r, vel_term + r, wq + r, tmp + r);
    } else {
      scale_damped(0, npx, ezr, w->ex, q + r, vel_term + r, wq + r, tmp + r);
    }
  }
  /* Source amplitudes: the transpose of inject(amp, 1 / (dx dz)). */
  if (src != NULL && amp_bar != NULL) {
    const double scale = 1.0 / (in->dx * in->dz);
    for (size_t k = 0; k < src->n; k++)
      amp_bar[k] += (float)(scale * psfwi_wave_points_dot(src, k, tmp));
  }
  /* L is symmetric: the adjoint of L is L itself. */
  psfwi_wave_laplacian(w, tmp, bw->lt, bw->ws);
  const float *lt = bw->lt;
  for (size_t iz = 0; iz < npz; iz++) {
    const size_t r = iz * npx;
    const float ezr = w->ez[iz];
    float *gr = g_vel ? g_vel + r : NULL;
    const float *lr = lap_n ? lap_n + r : NULL;
    if (ezr == 0.0f) {
      update_damped(0, xa, 0.0f, w->ex, wq + r, p + r, q + r, lt + r, gr, lr);
      update_plain(xa, xb, p + r, q + r, lt + r, gr, lr);
      update_damped(xb, npx, 0.0f, w->ex, wq + r, p + r, q + r, lt + r, gr, lr);
    } else {
      update_damped(0, npx, ezr, w->ex, wq + r, p + r, q + r, lt + r, gr, lr);
    }
  }
  adj->cur = p;
  adj->prev = q;
}

int psfwi_wave_resample_adjoint(const psfwi_wave *w, const float *fine, size_t nt, float *out,
                                psfwi_error *err) {
  if (w == NULL || fine == NULL || out == NULL || nt < 1)
    return psfwi_fail(err, PSFWI_EINVAL,
                      "psfwi_wave_resample_adjoint: %zu samples; expected >= 1 and non-NULL "
                      "arrays",
                      nt);
  const size_t nsub = w->info.nsub, nf = nt * nsub;
  for (size_t j = 0; j < nf; j++)
    if (!isfinite(fine[j]))
      return psfwi_fail(err, PSFWI_ENONFINITE, "fine-rate sample %zu is not finite", j);
  float *imp = calloc(nt, sizeof(float));
  float *g = malloc(nf * sizeof(float));
  if (!imp || !g) {
    free(imp);
    free(g);
    return psfwi_fail(err, PSFWI_ENOMEM, "cannot allocate %zu samples", nf);
  }
  imp[0] = 1.0f;
  int st = psfwi_wave_resample(w, imp, nt, g, err);
  if (st == PSFWI_OK) {
    for (size_t i = 0; i < nt; i++) {
      const size_t c = i * nsub;
      double s = 0.0;
      for (size_t j = 0; j < nf; j++) {
        const size_t d = j >= c ? j - c : c - j;
        s += (double)fine[j] * (double)g[d];
      }
      out[i] = (float)s;
    }
  }
  free(imp);
  free(g);
  return st;
}

const psfwi_wave_opts *psfwi_wave_get_opts(const psfwi_wave *w) { return &w->opts; }
