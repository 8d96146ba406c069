/* The unsplit perfectly matched layer of the k-space step, and its exact
 * backward. Method and measurements: docs/wave.md ("Absorbing boundary");
 * derivation of the transpose: docs/gradient.md; the prototype that chose
 * it: docs/experiments/pml_split.
 *
 * Continuous form. With the complex stretching s_x = 1 + d_x / (-i omega)
 * (and s_z), multiplying the stretched equation by s_x s_z leaves p the only
 * second-order field:
 *   (d/dt + d_x)(d/dt + d_z) p = v^2 [L p + S a + G_x + G_z
 *                                     - d_x' (psi_x + (d_z - d_x) xi_x)
 *                                     - d_z' (psi_z + (d_x - d_z) xi_z)]
 *   (d/dt + d_x) G_x = (d_z - d_x) A_x p,   (d/dt + d_z) G_z = (d_x - d_z) A_z p,
 *   (d/dt + d_x) psi_x = dp/dx,             (d/dt + d_x) xi_x = psi_x   (same in z),
 * where A_x + A_z = L splits the k-space operator exactly: in the X region
 * A_z is the 1D k-space operator along z (FFTs of the layer columns only)
 * and A_x = lap - A_z; in the Z region A_x is the 1D operator along x (FFTs
 * of the layer rows) and A_z = lap - A_x (lap includes the source).
 *
 * Discrete form (per layer cell; e = d dt, b = (1 - e/2)/(1 + e/2),
 * c = 1/(1 + e/2)): memory variables live at half steps and are averaged to
 * step n,
 *   G_x+ = b_x G_x + c_x (e_z - e_x) A_x,   G_z+ = b_z G_z + c_z (e_x - e_z) A_z,
 *   psi+ = b psi + c dt D p,   xi+ = b xi + c dt (psi + psi+)/2,
 *   R    = lap + (G_x + G_x+)/2 + (G_z + G_z+)/2
 *          - g_x ((psi_x + psi_x+)/2 + (e_z - e_x)/dt (xi_x + xi_x+)/2) - (z),
 *   u+   = ((2 - e_x e_z) u - (1 - e_h) u- + vel_term R) / (1 + e_h),  e_h = (e_x + e_z)/2,
 * with D the 8th-order central difference and g = d' (analytic), kept in
 * every layer cell. (Until 4 Dec 2026 the d' terms were dropped where
 * e < 1e-4, against a slowly growing zero-frequency mode seen in the
 * prototype; that set of cells changes with the time step, so the scheme
 * did not converge in dt, and it reflected 10x more: docs/wave.md.) */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "wave_internal.h"

static const double PI = 3.14159265358979323846;
/* 8th-order central first derivative: sum_k FD8[k] (f[i+k+1] - f[i-k-1]) / h */
static const float FD8[4] = {4.0f / 5.0f, -1.0f / 5.0f, 4.0f / 105.0f, -1.0f / 280.0f};

/* d'(s) of the profile d = d0 (s / nb)^pw along an axis, per padded index;
 * s grows outward, so d' < 0 in the low layer and > 0 in the high one. */
static void fill_dprime(float *g, size_t np, size_t o, size_t n, size_t nb, double h, double vmax,
                        int low_layer) {
  const double d0 = psfwi_absorb_d0(PSFWI_PML_POW, PSFWI_PML_LOGR, vmax, nb, h);
  for (size_t i = 0; i < np; i++) {
    double s = 0.0, sg = 0.0;
    if (i < o && low_layer) {
      s = (double)(o - i);
      sg = -1.0;
    } else if (i >= o + n) {
      s = (double)(i - (o + n - 1));
      sg = 1.0;
    }
    g[i] = 0.0f;
    if (s > 0.0 && s <= (double)nb)
      g[i] = (float)(sg * d0 * PSFWI_PML_POW * pow(s / (double)nb, PSFWI_PML_POW - 1.0) /
                     ((double)nb * h));
  }
}

static double kspace_sym(double k, double c, double dt, int ks) {
  if (!ks) return -k * k;
  const double s = sin(0.5 * c * k * dt);
  return -4.0 * s * s / (c * c * dt * dt);
}

void psfwi_pml_destroy(psfwi_pml *P) {
  if (P == NULL) return;
  if (P->rfwd) fftwf_destroy_plan(P->rfwd);
  if (P->rinv) fftwf_destroy_plan(P->rinv);
  if (P->cfwd) fftwf_destroy_plan(P->cfwd);
  if (P->cinv) fftwf_destroy_plan(P->cinv);
  free(P->cex);
  free(P->cbx);
  free(P->ccx);
  free(P->cgx);
  free(P->rbz);
  free(P->rcz);
  free(P->rgz);
  free(P->rnear);
  free(P->mx);
  free(P->mz);
  free(P);
}

int psfwi_pml_create(psfwi_wave *w, unsigned flags, psfwi_error *err) {
  const psfwi_wave_info *in = &w->info;
  const size_t npx = in->npx, npz = in->npz, nh = npx / 2 + 1;
  const int fs = in->free_surface, ks = in->scheme == PSFWI_WAVE_KSPACE;
  float *ta = NULL, *tb = NULL, *tc = NULL;
  psfwi_pml *P = calloc(1, sizeof *P);
  if (P == NULL) goto nomem;
  w->pml = P;
  P->wxl = in->ox;
  P->wxh = npx - in->nx - in->ox;
  P->wzl = in->oz;
  P->wzh = npz - in->nz - in->oz;
  P->ncol = P->wxl + P->wxh;
  P->nrow = P->wzl + P->wzh;
  P->nzc = npx - P->ncol;
  P->nX = npz * P->ncol;
  P->nZ = P->nrow * P->nzc;
  P->nmem = 6 * P->nX + 4 * P->nZ;
  const size_t ncol = P->ncol, nrow = P->nrow;
  P->cex = malloc(ncol * sizeof(float));
  P->cbx = malloc(ncol * sizeof(float));
  P->ccx = malloc(ncol * sizeof(float));
  P->cgx = malloc(ncol * sizeof(float));
  P->rbz = malloc(npz * sizeof(float));
  P->rcz = malloc(npz * sizeof(float));
  P->rgz = malloc(npz * sizeof(float));
  P->rnear = malloc(npz);
  P->mx = malloc(nh * sizeof(float));
  P->mz = malloc(npz * sizeof(float));
  float *gx = malloc(npx * sizeof(float));
  if (!P->cex || !P->cbx || !P->ccx || !P->cgx || !P->rbz || !P->rcz || !P->rgz || !P->rnear ||
      !P->mx || !P->mz || !gx) {
    free(gx);
    goto nomem;
  }
  fill_dprime(gx, npx, in->ox, in->nx, w->nb, in->dx, in->vmax_bound, 1);
  fill_dprime(P->rgz, npz, in->oz, in->nz, w->nb, in->dz, in->vmax_bound, !fs);
  for (size_t c = 0; c < ncol; c++) {
    const size_t ix = c < P->wxl ? c : npx - ncol + c;
    const double e = w->ex[ix];
    P->cex[c] = w->ex[ix];
    P->cbx[c] = (float)((1.0 - 0.5 * e) / (1.0 + 0.5 * e));
    P->ccx[c] = (float)(1.0 / (1.0 + 0.5 * e));
    P->cgx[c] = gx[ix];
  }
  free(gx);
  /* the columns with d'(x) != 0 are one range [xga, xgb) of each segment */
  for (int sg = 0; sg < 2; sg++) {
    const size_t c0 = sg ? P->wxl : 0, n = sg ? P->wxh : P->wxl;
    size_t a = n, b = 0;
    for (size_t j = 0; j < n; j++)
      if (P->cgx[c0 + j] != 0.0f) {
        if (a == n) a = j;
        b = j + 1;
      }
    if (a == n) a = b = 0;
    for (size_t j = a; j < b; j++)
      if (P->cgx[c0 + j] == 0.0f)
        return psfwi_fail(err, PSFWI_EINTERNAL, "PML: d'(x) vanishes inside its range");
    P->xga[sg] = a;
    P->xgb[sg] = b;
  }
  for (size_t iz = 0; iz < npz; iz++) {
    P->rnear[iz] = 0;
    for (size_t k = 0; k <= 4; k++)
      if (P->rgz[(iz + k) % npz] != 0.0f || P->rgz[(iz + npz - k) % npz] != 0.0f) P->rnear[iz] = 1;
  }
  for (size_t iz = 0; iz < npz; iz++) {
    const double e = w->ez[iz];
    P->rbz[iz] = (float)((1.0 - 0.5 * e) / (1.0 + 0.5 * e));
    P->rcz[iz] = (float)(1.0 / (1.0 + 0.5 * e));
  }
  const double c = in->c_ref, dt = in->dt;
  for (size_t j = 0; j < nh; j++)
    P->mx[j] =
        (float)(kspace_sym(2.0 * PI * (double)j / ((double)npx * in->dx), c, dt, ks) / (double)npx);
  if (!fs) {
    for (size_t j = 0; j < npz; j++) {
      const size_t jz = j <= npz / 2 ? j : npz - j;
      P->mz[j] = (float)(kspace_sym(2.0 * PI * (double)jz / ((double)npz * in->dz), c, dt, ks) /
                         (double)npz);
    }
  } else {
    /* sine index j: wavenumber pi j / (npz dz); the DST-I twice is npz / 2
     * times the identity */
    P->mz[0] = 0.0f;
    for (size_t j = 1; j < npz; j++)
      P->mz[j] = (float)(kspace_sym(PI * (double)j / ((double)npz * in->dz), c, dt, ks) * 2.0 /
                         (double)npz);
  }
  /* Strip plans, made on scratch arrays of the work buffers' sizes. */
  P->nrbuf = (nrow > 0 ? nrow : 1) * npx;
  P->nrspec = (nrow > 0 ? nrow : 1) * 2 * nh;
  /* Column strips: pairs of columns as one complex column (wave_internal.h),
   * transformed in place where they lie; measured against contiguous r2c
   * strips with transposes: docs/experiments/fft_layouts. */
  P->ncp = (ncol + 1) / 2 * 2;
  P->nc2 = P->ncp / 2;
  P->ncbuf = npz * (P->ncp > 0 ? P->ncp : 2);
  P->ncspec = fs ? P->ncbuf + (P->ncp > 0 ? P->ncp : 2) : 0;
  ta = fftwf_malloc(P->nrbuf * sizeof(float));
  tb = fftwf_malloc((P->nrspec > P->ncbuf ? P->nrspec : P->ncbuf) * sizeof(float));
  tc = fftwf_malloc(P->nrbuf * sizeof(float));
  if (!ta || !tb || !tc) goto nomem;
  const int nxi = (int)npx, nhi = (int)nh, nri = (int)nrow;
  if (nrow > 0) {
    P->rfwd = fftwf_plan_many_dft_r2c(1, &nxi, nri, ta, NULL, 1, nxi, (fftwf_complex *)tb, NULL, 1,
                                      nhi, flags);
    P->rinv = fftwf_plan_many_dft_c2r(1, &nxi, nri, (fftwf_complex *)tb, NULL, 1, nhi, tc, NULL, 1,
                                      nxi, flags);
  }
  if (P->nc2 > 0) {
    const int nzi = (int)npz, n2 = (int)P->nc2;
    memset(tb, 0, P->ncbuf * sizeof(float));
    fftwf_complex *cb = (fftwf_complex *)tb;
    P->cfwd =
        fftwf_plan_many_dft(1, &nzi, n2, cb, NULL, n2, 1, cb, NULL, n2, 1, FFTW_FORWARD, flags);
    if (!fs)
      P->cinv =
          fftwf_plan_many_dft(1, &nzi, n2, cb, NULL, n2, 1, cb, NULL, n2, 1, FFTW_BACKWARD, flags);
  }
  fftwf_free(ta);
  fftwf_free(tb);
  fftwf_free(tc);
  ta = tb = tc = NULL;
  if ((nrow > 0 && (!P->rfwd || !P->rinv)) || (P->nc2 > 0 && (!P->cfwd || (!fs && !P->cinv))))
    return psfwi_fail(err, PSFWI_EINTERNAL, "FFTW could not plan the PML strip transforms");
  return PSFWI_OK;
nomem:
  fftwf_free(ta);
  fftwf_free(tb);
  fftwf_free(tc);
  return psfwi_fail(err, PSFWI_ENOMEM, "cannot allocate the PML of a %zu x %zu grid", npx, npz);
}

size_t psfwi_pml_work_floats(const psfwi_wave *w) {
  const psfwi_pml *P = w->pml;
  if (P == NULL) return 0;
  return 2 * P->nrbuf + P->nrspec + P->ncbuf + P->ncspec + 2 * (w->info.npx + 16);
}

int psfwi_pml_work_alloc(const psfwi_wave *w, psfwi_wave_work *ws) {
  const psfwi_pml *P = w->pml;
  if (P == NULL) return PSFWI_OK;
  float **b[6] = {&ws->rbuf, &ws->rspec, &ws->rout, &ws->cbuf, &ws->cspec, &ws->row};
  const size_t n[6] = {P->nrbuf,
                       P->nrspec,
                       P->nrbuf,
                       P->ncbuf,
                       P->ncspec > 0 ? P->ncspec : 1,
                       2 * (w->info.npx + 16)};
  for (int i = 0; i < 6; i++) {
    *b[i] = fftwf_malloc(n[i] * sizeof(float));
    if (*b[i] == NULL) return PSFWI_ENOMEM;
    memset(*b[i], 0, n[i] * sizeof(float));
  }
  return PSFWI_OK;
}

void psfwi_pml_work_free(psfwi_wave_work *ws) {
  float *b[6] = {ws->rbuf, ws->rspec, ws->rout, ws->cbuf, ws->cspec, ws->row};
  for (int i = 0; i < 6; i++) fftwf_free(b[i]);
}

/* ---- Strip operators ----------------------------------------------------------
 * cbuf[iz * ncp + c] = (A_z f)(X cell) in place from the X columns of f
 * (gathered there by the caller), rout[zr * npx + ix] = (A_x f)(row zr) from
 * rbuf. Both are symmetric: the same functions apply their transposes. */
PSFWI_CLONES
static void strip_cols(const psfwi_wave *w, psfwi_wave_work *ws) {
  const psfwi_pml *P = w->pml;
  const size_t npz = w->info.npz, ncp = P->ncp;
  if (P->nc2 == 0) return;
  fftwf_complex *cb = (fftwf_complex *)ws->cbuf;
  if (!w->info.free_surface) {
    fftwf_execute_dft(P->cfwd, cb, cb);
    for (size_t j = 0; j < npz; j++) {
      float *restrict sp = ws->cbuf + j * ncp;
      const float m = P->mz[j];
      for (size_t c = 0; c < ncp; c++) sp[c] *= m;
    }
    fftwf_execute_dft(P->cinv, cb, cb);
  } else { /* row 0 (the surface) ignored on input, zero on output */
    float *out = ws->cspec, *acc = ws->cspec + P->ncbuf;
    psfwi_wave_sine(npz, P->nc2, P->cfwd, w->sine, ws->cbuf, out, P->mz, PSFWI_SINE_ROW, acc);
    psfwi_wave_sine(npz, P->nc2, P->cfwd, w->sine, out, ws->cbuf, NULL, PSFWI_SINE_NONE, acc);
  }
}

/* Padded row of Z-region row zr. */
static size_t zrow(const psfwi_pml *P, size_t npz, size_t zr) {
  return zr < P->wzl ? zr : npz - P->nrow + zr;
}

/* rspec row r = m_x * (spectrum row r), r < nrow (rows of npx/2 + 1
 * complex numbers); spectra from src, the Laplacian's (Z-region row r at
 * padded row zrow(r); row- or column-major, info.spectral_columns) or, when
 * src is NULL, from rspec itself. */
PSFWI_CLONES
static void scale_rows(const psfwi_wave *w, const float *src, psfwi_wave_work *ws) {
  const psfwi_pml *P = w->pml;
  const size_t nh = w->info.npx / 2 + 1, npz = w->info.npz, nrow = P->nrow;
  const float *restrict m = P->mx;
  float *restrict rs = ws->rspec;
  if (src != NULL && w->info.spectral_columns) {
    /* column by column: contiguous reads, and the nrow rows written stay in cache */
    for (size_t j = 0; j < nh; j++) {
      const float *restrict col = src + j * 2 * w->ldz;
      const float mj = m[j];
      for (size_t r = 0; r < nrow; r++) {
        const size_t iz = zrow(P, npz, r);
        rs[r * 2 * nh + 2 * j] = col[2 * iz] * mj;
        rs[r * 2 * nh + 2 * j + 1] = col[2 * iz + 1] * mj;
      }
    }
    return;
  }
  for (size_t r = 0; r < nrow; r++) {
    float *restrict sp = rs + r * 2 * nh;
    if (src == NULL) {
      for (size_t j = 0; j < nh; j++) {
        sp[2 * j] *= m[j];
        sp[2 * j + 1] *= m[j];
      }
    } else {
      const float *restrict in = src + zrow(P, npz, r) * 2 * nh;
      for (size_t j = 0; j < nh; j++) {
        sp[2 * j] = in[2 * j] * m[j];
        sp[2 * j + 1] = in[2 * j + 1] * m[j];
      }
    }
  }
}

void psfwi_pml_keep_rows(const psfwi_wave *w, const float *spec, psfwi_wave_work *ws) {
  scale_rows(w, spec, ws);
}

/* have_spec: ws->rspec already holds the rows' spectra times m_x
 * (psfwi_pml_keep_rows); else they are transformed from rbuf and scaled. */
static void strip_rows(const psfwi_wave *w, psfwi_wave_work *ws, int have_spec) {
  const psfwi_pml *P = w->pml;
  if (P->nrow == 0) return;
  if (!have_spec) {
    fftwf_execute_dft_r2c(P->rfwd, ws->rbuf, (fftwf_complex *)ws->rspec);
    scale_rows(w, NULL, ws);
  }
  fftwf_execute_dft_c2r(P->rinv, (fftwf_complex *)ws->rspec, ws->rout);
}

/* Gather the X columns of f into cbuf and (when rows) the Z rows into rbuf
 * (the X columns of those rows zeroed when zero_x, for the transposes). */
PSFWI_CLONES
static void gather(const psfwi_wave *w, const float *f, psfwi_wave_work *ws, int rows, int zero_x) {
  const psfwi_pml *P = w->pml;
  const size_t npx = w->info.npx, npz = w->info.npz, ncol = P->ncol, wxl = P->wxl;
  const size_t wxh = P->wxh, ncp = P->ncp;
  for (size_t iz = 0; iz < npz; iz++) {
    const float *row = f + iz * npx;
    float *b = ws->cbuf + iz * ncp;
    /* (short runs: plain loops, inlined, beat memcpy calls) */
    const float *rh = row + npx - wxh;
    for (size_t c = 0; c < wxl; c++) b[c] = row[c];
    for (size_t c = 0; c < wxh; c++) b[wxl + c] = rh[c];
    if (ncp > ncol) b[ncol] = 0.0f;
  }
  for (size_t zr = 0; rows && zr < P->nrow; zr++) {
    float *b = ws->rbuf + zr * npx;
    memcpy(b, f + zrow(P, npz, zr) * npx, npx * sizeof(float));
    if (zero_x) {
      memset(b, 0, wxl * sizeof(float));
      memset(b + npx - wxh, 0, wxh * sizeof(float));
    }
  }
}

/* Row pointers f[(iz + k + 1) mod npz] (a[k]) and f[(iz - k - 1) mod npz]
 * (b[k]), k < 4: the 8th-order D_z stencil of row iz. */
static void dz_rows(const float *f, size_t npx, size_t npz, size_t iz, const float *a[4],
                    const float *b[4]) {
  for (size_t k = 0; k < 4; k++) {
    a[k] = f + ((iz + k + 1) % npz) * npx;
    b[k] = f + ((iz + npz - k - 1) % npz) * npx;
  }
}

/* d[i] = (D_z f)(iz, i0 + i), i < n. */
PSFWI_CLONES
static void dz_range(const float *const a[4], const float *const b[4], size_t i0, size_t n,
                     float idz, float *restrict d) {
  const float *restrict a0 = a[0] + i0, *restrict a1 = a[1] + i0, *restrict a2 = a[2] + i0;
  const float *restrict a3 = a[3] + i0, *restrict b0 = b[0] + i0, *restrict b1 = b[1] + i0;
  const float *restrict b2 = b[2] + i0, *restrict b3 = b[3] + i0;
  const float f0 = FD8[0] * idz, f1 = FD8[1] * idz, f2 = FD8[2] * idz, f3 = FD8[3] * idz;
  for (size_t i = 0; i < n; i++)
    d[i] =
        f0 * (a0[i] - b0[i]) + f1 * (a1[i] - b1[i]) + f2 * (a2[i] - b2[i]) + f3 * (a3[i] - b3[i]);
}

/* ---- Forward --------------------------------------------------------------------- */

/* dst[j] = row[(start + j) mod n], j < len (len <= 2 n). */
static inline void cyc_copy(float *restrict dst, const float *restrict row, size_t n, size_t start,
                            size_t len) {
  size_t done = 0;
  while (done < len) {
    const size_t i = (start + done) % n, k = len - done < n - i ? len - done : n - i;
    for (size_t j = 0; j < k; j++) dst[done + j] = row[i + j]; /* short: no memcpy call */
    done += k;
  }
}

/* One X-region segment of a row: arrays indexed by the segment's cell j. */
typedef struct xrow {
  float ez, bz, cz, gz, dt, idt, idx;
  const float *ex, *bx, *cx, *gx;     /* per column */
  const float *T;                     /* A_z from the column strips */
  const float *C, *V, *dz;            /* u[n], vel_term, D_z u[n] (rows with g_z) */
  const float *E;                     /* u[n] with E[j] = u[n] at j in [-4, n + 4) */
  float *L, *N;                       /* lap (R on return), u[n-1] -> u[n+1] */
  float *Gx, *Gz, *ps, *xi, *pz, *xz; /* memory */
} xrow;

#if defined(__GNUC__)
#define PML_INLINE static inline __attribute__((always_inline))
#else
#define PML_INLINE static inline
#endif

/* One cell's psi, xi along one axis (memory at half steps, averaged to step
 * n): psi+ = b psi + cdD, xi+ = b xi + c dt (psi + psi+) / 2, with
 * cdD = c dt D (D the 8th-order derivative). Returns the d' term that R
 * loses, g (psi_mid + dei xi_mid), dei = (e_other - e_own) / dt. */
PML_INLINE float mem_fwd(float *ps, float *xi, float b, float c, float dt, float cdD, float g,
                         float dei) {
  const float pn = b * *ps + cdD, pm = 0.5f * (*ps + pn);
  const float xn = b * *xi + c * dt * pm, xm = 0.5f * (*xi + xn);
  *ps = pn;
  *xi = xn;
  return g * (pm + dei * xm);
}

/* Backward of mem_fwd, given Rb = dJ/dR (de = e_other - e_own): the memory
 * adjoints in place; returns the adjoint of the derivative's input,
 * c dt ih times the psi adjoint (ih: 1 / the grid spacing). */
PML_INLINE float mem_bwd(float *ps, float *xi, float b, float c, float dt, float ih, float g,
                         float de, float idt, float Rb) {
  const float xmb = -g * de * idt * Rb;
  const float xt = *xi + 0.5f * xmb;
  *xi = b * xt + 0.5f * xmb;
  const float pmb = -g * Rb + c * dt * xt;
  const float pt = *ps + 0.5f * pmb;
  *ps = b * pt + 0.5f * pmb;
  return c * dt * ih * pt;
}

/* Cells [j0, j1) of an X segment; use_gx / use_gz: constants, so that each
 * specialisation below compiles to a branch-free, vectorised loop (the
 * arrays are parameters: GCC 12 does not vectorise the same loop over
 * pointers loaded from a struct). */
#define PML_XARGS                                                                               \
  size_t j0, size_t j1, float ez, float bz, float cz, float gz, float dt, float idt, float idx, \
      const float *restrict ex_, const float *restrict bx_, const float *restrict cx_,          \
      const float *restrict gx_, const float *restrict T, const float *restrict C,              \
      const float *restrict V, const float *restrict D, const float *restrict E0,               \
      float *restrict L, float *restrict N, float *restrict Gx, float *restrict Gz,             \
      float *restrict ps, float *restrict xi, float *restrict pz, float *restrict xz
PML_INLINE void x_cells(PML_XARGS, const int use_gx, const int use_gz) {
  for (size_t j = j0; j < j1; j++) {
    const float ex = ex_[j], bx = bx_[j], cx = cx_[j];
    const float Az = T[j], Ax = L[j] - Az;
    const float gxn = bx * Gx[j] + cx * (ez - ex) * Ax;
    const float gzn = bz * Gz[j] + cz * (ex - ez) * Az;
    float R = L[j] + 0.5f * (Gx[j] + gxn) + 0.5f * (Gz[j] + gzn);
    Gx[j] = gxn;
    Gz[j] = gzn;
    if (use_gx) {
      /* (E0[j + 4] is u at cell j: unsigned indices stay non-negative) */
      const float d = FD8[0] * (E0[j + 5] - E0[j + 3]) + FD8[1] * (E0[j + 6] - E0[j + 2]) +
                      FD8[2] * (E0[j + 7] - E0[j + 1]) + FD8[3] * (E0[j + 8] - E0[j]);
      R -= mem_fwd(ps + j, xi + j, bx, cx, dt, cx * dt * idx * d, gx_[j], (ez - ex) * idt);
    }
    if (use_gz) R -= mem_fwd(pz + j, xz + j, bz, cz, dt, cz * dt * D[j], gz, (ex - ez) * idt);
    const float eh = 0.5f * (ex + ez);
    N[j] = ((2.0f - ex * ez) * C[j] - (1.0f - eh) * N[j] + V[j] * R) / (1.0f + eh);
    L[j] = R;
  }
}
#define PML_XPASS                                                                                 \
  j0, j1, ez, bz, cz, gz, dt, idt, idx, ex_, bx_, cx_, gx_, T, C, V, D, E0, L, N, Gx, Gz, ps, xi, \
      pz, xz
#define PML_XCELLS(GX, GZ) \
  PSFWI_CLONES static void x_cells_##GX##GZ(PML_XARGS) { x_cells(PML_XPASS, GX, GZ); }
PML_XCELLS(0, 0)
PML_XCELLS(0, 1)
PML_XCELLS(1, 0)
PML_XCELLS(1, 1)

/* Calls f on cells [j0, j1) of segment x. */
#define PML_XCALL(f, x, j0, j1)                                                                   \
  f(j0, j1, (x).ez, (x).bz, (x).cz, (x).gz, (x).dt, (x).idt, (x).idx, (x).ex, (x).bx, (x).cx,     \
    (x).gx, (x).T, (x).C, (x).V, (x).dz, (x).E - 4, (x).L, (x).N, (x).Gx, (x).Gz, (x).ps, (x).xi, \
    (x).pz, (x).xz)

/* Z-region cells of one row (e_x = 0): A_x = T from the row strips; with
 * use_gz (a constant: see x_cells), the d'(z) terms, D_z u from the rows
 * a0..a3 (below) and b0..b3 (above; unused otherwise). */
#define PML_ZARGS                                                                                 \
  size_t n, const float *restrict Tx, float *restrict L, float *restrict gX, float *restrict gZ,  \
      float *restrict ps, float *restrict xi, const float *restrict a0, const float *restrict a1, \
      const float *restrict a2, const float *restrict a3, const float *restrict b0,               \
      const float *restrict b1, const float *restrict b2, const float *restrict b3,               \
      float *restrict N, const float *restrict C, const float *restrict V, float ez, float bz,    \
      float cz, float gz, float dt, float idt, float idz
PML_INLINE void z_cells(PML_ZARGS, const int use_gz) {
  const float a1c = 2.0f / (1.0f + 0.5f * ez), a2c = (1.0f - 0.5f * ez) / (1.0f + 0.5f * ez);
  const float a3c = 1.0f / (1.0f + 0.5f * ez), mez = -ez * idt;
  const float f0 = FD8[0] * idz, f1 = FD8[1] * idz, f2 = FD8[2] * idz, f3 = FD8[3] * idz;
  for (size_t j = 0; j < n; j++) {
    const float Ax = Tx[j], Az = L[j] - Ax;
    const float gxn = gX[j] + ez * Ax, gzn = bz * gZ[j] - cz * ez * Az;
    float R = L[j] + 0.5f * (gX[j] + gxn) + 0.5f * (gZ[j] + gzn);
    gX[j] = gxn;
    gZ[j] = gzn;
    if (use_gz) {
      const float D =
          f0 * (a0[j] - b0[j]) + f1 * (a1[j] - b1[j]) + f2 * (a2[j] - b2[j]) + f3 * (a3[j] - b3[j]);
      R -= mem_fwd(ps + j, xi + j, bz, cz, dt, cz * dt * D, gz, mez);
    }
    N[j] = a1c * C[j] - a2c * N[j] + a3c * V[j] * R;
    L[j] = R;
  }
}
#define PML_ZPASS \
  n, Tx, L, gX, gZ, ps, xi, a0, a1, a2, a3, b0, b1, b2, b3, N, C, V, ez, bz, cz, gz, dt, idt, idz
PSFWI_CLONES static void z_cells_0(PML_ZARGS) { z_cells(PML_ZPASS, 0); }
PSFWI_CLONES static void z_cells_1(PML_ZARGS) { z_cells(PML_ZPASS, 1); }

PSFWI_CLONES
void psfwi_pml_update(const psfwi_wave *w, const float *vel_term, psfwi_wave_state *st, float *lap,
                      psfwi_wave_work *ws) {
  const psfwi_wave_info *in = &w->info;
  const psfwi_pml *P = w->pml;
  const size_t npx = in->npx, npz = in->npz, ncol = P->ncol, nzc = P->nzc, wxl = P->wxl;
  const size_t nX = P->nX, nZ = P->nZ;
  const float *cur = st->cur;
  gather(w, cur, ws, 0, 0);
  strip_cols(w, ws); /* A_z in cbuf */
  strip_rows(w, ws, 1);
  float *XGx = st->mem, *XGz = XGx + nX, *Xps = XGz + nX, *Xxi = Xps + nX, *Xpz = Xxi + nX;
  float *Xxz = Xpz + nX;
  float *ZGx = st->mem + 6 * nX, *ZGz = ZGx + nZ, *Zpz = ZGz + nZ, *Zxz = Zpz + nZ;
  const float dt = (float)in->dt, idt = (float)(1.0 / in->dt);
  const float idx = (float)(1.0 / in->dx), idz = (float)(1.0 / in->dz);
  float *restrict dzr = ws->row;            /* D_z cur on the current row (rows with g_z != 0) */
  float *restrict ext = ws->row + npx + 16; /* cur around an X segment */
  for (size_t iz = 0; iz < npz; iz++) {
    const size_t r = iz * npx;
    const float *restrict C = cur + r, *restrict V = vel_term + r;
    float *restrict L = lap + r, *restrict N = st->prev + r;
    const float ez = w->ez[iz], bz = P->rbz[iz], cz = P->rcz[iz], gz = P->rgz[iz];
    const float *za[4], *zb[4]; /* the D_z stencil's rows (used where g_z != 0) */
    dz_rows(cur, npx, npz, iz, za, zb);
    if (gz != 0.0f) {
      dz_range(za, zb, 0, wxl, idz, dzr);
      dz_range(za, zb, npx - P->wxh, P->wxh, idz, dzr + npx - P->wxh);
    }
    /* X region: the left columns [0, wxl), then the right [npx - wxh, npx) */
    for (int sg = 0; sg < 2; sg++) {
      const size_t c0 = sg ? wxl : 0, n = sg ? P->wxh : wxl, ix0 = sg ? npx - P->wxh : 0;
      const size_t m0 = iz * ncol + c0;
      /* cur around the segment: E[j] = cur[ix0 + j] (cyclic), j in [-4, n + 4) */
      cyc_copy(ext, C, npx, (ix0 + npx - 4) % npx, n + 8);
      const xrow x = {.ez = ez,
                      .bz = bz,
                      .cz = cz,
                      .gz = gz,
                      .dt = dt,
                      .idt = idt,
                      .idx = idx,
                      .ex = P->cex + c0,
                      .bx = P->cbx + c0,
                      .cx = P->ccx + c0,
                      .gx = P->cgx + c0,
                      .T = ws->cbuf + iz * P->ncp + c0,
                      .C = C + ix0,
                      .V = V + ix0,
                      .dz = dzr + ix0,
                      .E = ext + 4,
                      .L = L + ix0,
                      .N = N + ix0,
                      .Gx = XGx + m0,
                      .Gz = XGz + m0,
                      .ps = Xps + m0,
                      .xi = Xxi + m0,
                      .pz = Xpz + m0,
                      .xz = Xxz + m0};
      const size_t ga = P->xga[sg], gb = P->xgb[sg];
      if (gz != 0.0f) {
        PML_XCALL(x_cells_01, x, 0, ga);
        PML_XCALL(x_cells_11, x, ga, gb);
        PML_XCALL(x_cells_01, x, gb, n);
      } else {
        PML_XCALL(x_cells_00, x, 0, ga);
        PML_XCALL(x_cells_10, x, ga, gb);
        PML_XCALL(x_cells_00, x, gb, n);
      }
    }
    /* model columns */
    const int zr_in = iz < P->wzl || iz >= npz - P->wzh;
    if (!zr_in) {
      for (size_t i = wxl; i < wxl + nzc; i++) N[i] = 2.0f * C[i] - N[i] + V[i] * L[i];
      continue;
    }
    const size_t zr = iz < P->wzl ? iz : P->wzl + (iz - (npz - P->wzh));
    const size_t zo = zr * nzc;
    const float *Tx = ws->rout + zr * npx + wxl;
    (gz != 0.0f ? z_cells_1 : z_cells_0)(nzc, Tx, L + wxl, ZGx + zo, ZGz + zo, Zpz + zo, Zxz + zo,
                                         za[0] + wxl, za[1] + wxl, za[2] + wxl, za[3] + wxl,
                                         zb[0] + wxl, zb[1] + wxl, zb[2] + wxl, zb[3] + wxl,
                                         N + wxl, C + wxl, V + wxl, ez, bz, cz, gz, dt, idt, idz);
  }
}

/* ---- Backward ---------------------------------------------------------------------- */

/* Backward of cells [j0, j1) of an X segment (arrays relative to the
 * segment; G is never NULL: a scratch row when no gradient is wanted). */
#define PML_BXARGS                                                                                \
  size_t j0, size_t j1, float ez, float bz, float cz, float gz, float dt, float idt, float idx,   \
      float idz, const float *restrict ex_, const float *restrict bx_, const float *restrict cx_, \
      const float *restrict gx_, const float *restrict V, const float *restrict Ln,               \
      float *restrict Q, float *restrict Pr, float *restrict tm, float *restrict tb,              \
      float *restrict G, float *restrict dbx, float *restrict dbz, float *restrict Gx,            \
      float *restrict Gz, float *restrict ps, float *restrict xi, float *restrict pz,             \
      float *restrict xz
PML_INLINE void bx_cells(PML_BXARGS, const int use_gx, const int use_gz) {
  for (size_t j = j0; j < j1; j++) {
    const float ex = ex_[j], bx = bx_[j], cx = cx_[j];
    const float eh = 0.5f * (ex + ez), a3 = 1.0f / (1.0f + eh), qv = Q[j];
    const float Rb = a3 * V[j] * qv;
    G[j] += a3 * qv * Ln[j];
    Pr[j] += a3 * (2.0f - ex * ez) * qv;
    Q[j] = -a3 * (1.0f - eh) * qv;
    const float gxt = Gx[j] + 0.5f * Rb, gzt = Gz[j] + 0.5f * Rb;
    const float Axb = cx * (ez - ex) * gxt, Azb = cz * (ex - ez) * gzt;
    Gx[j] = bx * gxt + 0.5f * Rb;
    Gz[j] = bz * gzt + 0.5f * Rb;
    if (use_gx) dbx[j] = mem_bwd(ps + j, xi + j, bx, cx, dt, idx, gx_[j], ez - ex, idt, Rb);
    if (use_gz) dbz[j] = mem_bwd(pz + j, xz + j, bz, cz, dt, idz, gz, ex - ez, idt, Rb);
    /* X region: A_x = lap - T, A_z = T */
    tm[j] = Rb + Axb;
    tb[j] = Azb - Axb;
  }
}
#define PML_BXPASS                                                                             \
  j0, j1, ez, bz, cz, gz, dt, idt, idx, idz, ex_, bx_, cx_, gx_, V, Ln, Q, Pr, tm, tb, G, dbx, \
      dbz, Gx, Gz, ps, xi, pz, xz
#define PML_BXCELLS(GX, GZ) \
  PSFWI_CLONES static void bx_cells_##GX##GZ(PML_BXARGS) { bx_cells(PML_BXPASS, GX, GZ); }
PML_BXCELLS(0, 0)
PML_BXCELLS(0, 1)
PML_BXCELLS(1, 0)
PML_BXCELLS(1, 1)

/* Backward of the Z-region cells of one row (e_x = 0); use_gz a constant. */
#define PML_BZARGS                                                                              \
  size_t n, float ez, float bz, float cz, float gz, float dt, float idt, float idz,             \
      const float *restrict V, const float *restrict Ln, float *restrict Q, float *restrict Pr, \
      float *restrict tm, float *restrict tb, float *restrict G, float *restrict dbz,           \
      float *restrict gX, float *restrict gZ, float *restrict ps, float *restrict xi
PML_INLINE void bz_cells(PML_BZARGS, const int use_gz) {
  const float a3 = 1.0f / (1.0f + 0.5f * ez), a1 = 2.0f * a3, a2 = (1.0f - 0.5f * ez) * a3;
  for (size_t j = 0; j < n; j++) {
    const float qv = Q[j], Rb = a3 * V[j] * qv;
    G[j] += a3 * qv * Ln[j];
    Pr[j] += a1 * qv;
    Q[j] = -a2 * qv;
    const float gxt = gX[j] + 0.5f * Rb, gzt = gZ[j] + 0.5f * Rb;
    const float Axb = ez * gxt, Azb = -cz * ez * gzt;
    gX[j] = gxt + 0.5f * Rb;
    gZ[j] = bz * gzt + 0.5f * Rb;
    if (use_gz) /* e_x = 0 */
      dbz[j] = mem_bwd(ps + j, xi + j, bz, cz, dt, idz, gz, -ez, idt, Rb);
    /* Z region: A_x = T, A_z = lap - T */
    tm[j] = Rb + Azb;
    tb[j] = Axb - Azb;
  }
}
#define PML_BZPASS n, ez, bz, cz, gz, dt, idt, idz, V, Ln, Q, Pr, tm, tb, G, dbz, gX, gZ, ps, xi
PSFWI_CLONES static void bz_cells_0(PML_BZARGS) { bz_cells(PML_BZPASS, 0); }
PSFWI_CLONES static void bz_cells_1(PML_BZARGS) { bz_cells(PML_BZPASS, 1); }

/* Backward of the model cells of a row outside the Z region. */
PSFWI_CLONES
static void bi_cells(size_t n, const float *restrict V, const float *restrict Ln, float *restrict Q,
                     float *restrict Pr, float *restrict tm, float *restrict G) {
  for (size_t i = 0; i < n; i++) {
    const float qv = Q[i];
    tm[i] = V[i] * qv;
    G[i] += qv * Ln[i];
    Pr[i] += 2.0f * qv;
    Q[i] = -qv;
  }
}

PSFWI_CLONES
void psfwi_pml_backward(const psfwi_wave *w, const float *vel_term, psfwi_wave_state *adj,
                        const float *lap_n, float *g_vel, const psfwi_wave_points *src,
                        float *amp_bar, psfwi_wave_work *ws, float *const bscr[4], float *lt) {
  const psfwi_wave_info *in = &w->info;
  const psfwi_pml *P = w->pml;
  const size_t npx = in->npx, npz = in->npz, ncol = P->ncol, nzc = P->nzc, wxl = P->wxl;
  const size_t nX = P->nX, nZ = P->nZ;
  float *tmp = bscr[0], *Tb = bscr[1], *dbx = bscr[2], *dbz = bscr[3];
  float *p = adj->prev, *q = adj->cur;
  if (lap_n == NULL) g_vel = NULL;
  float *XGx = adj->mem, *XGz = XGx + nX, *Xps = XGz + nX, *Xxi = Xps + nX, *Xpz = Xxi + nX;
  float *Xxz = Xpz + nX;
  float *ZGx = adj->mem + 6 * nX, *ZGz = ZGx + nZ, *Zpz = ZGz + nZ, *Zxz = Zpz + nZ;
  const float dt = (float)in->dt, idt = (float)(1.0 / in->dt);
  const float idx = (float)(1.0 / in->dx), idz = (float)(1.0 / in->dz);
  float *gdummy = ws->row; /* g_vel's stand-in when no gradient is wanted */
  /* Pass 1, cell by cell: Rbar = vel q / (1 + eh); the memory adjoints (in
   * place); tmp = lapbar, Tb = the strips' adjoint inputs, dbx / dbz the FD
   * derivatives' adjoint inputs; p += the local part, q = dJ/du[n-1]. */
  for (size_t iz = 0; iz < npz; iz++) {
    const size_t r = iz * npx;
    const float *V = vel_term + r, *Ln = g_vel ? lap_n + r : vel_term + r;
    float *Q = q + r, *Pr = p + r, *tm = tmp + r, *tb = Tb + r;
    float *G = g_vel ? g_vel + r : gdummy;
    const float ez = w->ez[iz], bz = P->rbz[iz], cz = P->rcz[iz], gz = P->rgz[iz];
    for (int sg = 0; sg < 2; sg++) {
      const size_t c0 = sg ? wxl : 0, n = sg ? P->wxh : wxl, o = sg ? npx - P->wxh : 0;
      const size_t m0 = iz * ncol + c0, ga = P->xga[sg], gb = P->xgb[sg];
#define PML_BXCALL(f, j0, j1)                                                                      \
  f(j0, j1, ez, bz, cz, gz, dt, idt, idx, idz, P->cex + c0, P->cbx + c0, P->ccx + c0, P->cgx + c0, \
    V + o, Ln + o, Q + o, Pr + o, tm + o, tb + o, G + (g_vel ? o : 0), dbx + r + o, dbz + r + o,   \
    XGx + m0, XGz + m0, Xps + m0, Xxi + m0, Xpz + m0, Xxz + m0)
      if (gz != 0.0f) {
        PML_BXCALL(bx_cells_01, 0, ga);
        PML_BXCALL(bx_cells_11, ga, gb);
        PML_BXCALL(bx_cells_01, gb, n);
      } else {
        PML_BXCALL(bx_cells_00, 0, ga);
        PML_BXCALL(bx_cells_10, ga, gb);
        PML_BXCALL(bx_cells_00, gb, n);
      }
#undef PML_BXCALL
    }
    const int zr_in = iz < P->wzl || iz >= npz - P->wzh;
    if (!zr_in) {
      bi_cells(nzc, V + wxl, Ln + wxl, Q + wxl, Pr + wxl, tm + wxl, G + (g_vel ? wxl : 0));
      continue;
    }
    const size_t zr = iz < P->wzl ? iz : P->wzl + (iz - (npz - P->wzh)), zo = zr * nzc;
    (gz != 0.0f ? bz_cells_1 : bz_cells_0)(
        nzc, ez, bz, cz, gz, dt, idt, idz, V + wxl, Ln + wxl, Q + wxl, Pr + wxl, tm + wxl, tb + wxl,
        G + (g_vel ? wxl : 0), dbz + r + wxl, ZGx + zo, ZGz + zo, Zpz + zo, Zxz + zo);
  }
  /* Source amplitudes: the transpose of inject(amp, 1 / (dx dz)). */
  if (src != NULL && amp_bar != NULL) {
    const double scale = 1.0 / (in->dx * in->dz);
    for (size_t k = 0; k < src->n; k++)
      amp_bar[k] += (float)(scale * psfwi_wave_points_dot(src, k, tmp));
  }
  /* Pass 2: p += L tmp + strips^T Tb + D^T dbar. */
  psfwi_wave_laplacian(w, tmp, lt, ws);
  const size_t np = npx * npz;
  for (size_t i = 0; i < np; i++) p[i] += lt[i];
  gather(w, Tb, ws, 1, 1);
  strip_cols(w, ws);
  strip_rows(w, ws, 0);
  for (size_t iz = 0; iz < npz; iz++) {
    float *restrict row = p + iz * npx;
    const float *restrict co = ws->cbuf + iz * P->ncp;
    for (size_t c = 0; c < wxl; c++) row[c] += co[c];
    float *restrict rh = row + npx - ncol;
    for (size_t c = wxl; c < ncol; c++) rh[c] += co[c];
  }
  for (size_t zr = 0; zr < P->nrow; zr++) {
    float *restrict row = p + zrow(P, npz, zr) * npx;
    const float *restrict ro = ws->rout + zr * npx;
    for (size_t i = 0; i < npx; i++) row[i] += ro[i];
  }
  /* D_x^T = -D_x: dbx is nonzero only in the cells [xga, xgb) of each X
   * segment; each segment's values (zero-padded by 8) reach its cells and 4
   * columns on either side (cyclically). */
  float *E = ws->row, *out = ws->row + npx + 16;
  for (int sg = 0; sg < 2; sg++) {
    const size_t ga = P->xga[sg], gb = P->xgb[sg];
    if (gb <= ga) continue;
    const size_t n = gb - ga, ix0 = (sg ? npx - P->wxh : 0) + ga;
    for (size_t iz = 0; iz < npz; iz++) {
      const float *restrict d = dbx + iz * npx;
      for (size_t u = 0; u < 8; u++) E[u] = E[n + 8 + u] = 0.0f;
      memcpy(E + 8, d + ix0, n * sizeof(float));
      /* out[t]: position ix0 - 4 + t; dbx at ix0 - 8 + u is E[u] */
      for (size_t t = 0; t < n + 8; t++)
        out[t] = FD8[0] * (E[t + 3] - E[t + 5]) + FD8[1] * (E[t + 2] - E[t + 6]) +
                 FD8[2] * (E[t + 1] - E[t + 7]) + FD8[3] * (E[t] - E[t + 8]);
      float *restrict row = p + iz * npx;
      /* add out[t] at (ix0 - 4 + t) mod npx: at most two contiguous runs */
      size_t t = 0, ix = (ix0 + npx - 4) % npx;
      while (t < n + 8) {
        const size_t k = n + 8 - t < npx - ix ? n + 8 - t : npx - ix;
        for (size_t j = 0; j < k; j++) row[ix + j] += out[t + j];
        t += k;
        ix = 0;
      }
    }
  }
  /* D_z^T over the rows with g_z != 0 and 4 rows on either side */
  const float f0 = FD8[0], f1 = FD8[1], f2 = FD8[2], f3 = FD8[3];
  for (size_t iz = 0; iz < npz; iz++) {
    if (!P->rnear[iz]) continue;
    float *restrict row = p + iz * npx;
    const float *restrict a0 = dbz + ((iz + npz - 1) % npz) * npx;
    const float *restrict b0 = dbz + ((iz + 1) % npz) * npx;
    const float *restrict a1 = dbz + ((iz + npz - 2) % npz) * npx;
    const float *restrict b1 = dbz + ((iz + 2) % npz) * npx;
    const float *restrict a2 = dbz + ((iz + npz - 3) % npz) * npx;
    const float *restrict b2 = dbz + ((iz + 3) % npz) * npx;
    const float *restrict a3 = dbz + ((iz + npz - 4) % npz) * npx;
    const float *restrict b3 = dbz + ((iz + 4) % npz) * npx;
    for (size_t i = 0; i < npx; i++)
      row[i] +=
          f0 * (a0[i] - b0[i]) + f1 * (a1[i] - b1[i]) + f2 * (a2[i] - b2[i]) + f3 * (a3[i] - b3[i]);
  }
  adj->cur = p;
  adj->prev = q;
}
