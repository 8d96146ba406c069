/* proto.c -- standalone prototype: spectral split-field PML with strip FFTs
 * for a 2D k-space (pseudo-spectral) acoustic propagator, compared with the
 * baseline damping layer ("sponge") of /work/main/src/wave/wave.c.
 *
 * Build:  gcc -O2 -std=c11 -march=native proto.c -lfftw3f -lm -o proto
 *
 * Modes (see usage() at the bottom):
 *   reflect  : reflection ratios of shots 0-3 (small grid vs grid extended by
 *              E = 100 cells per side, same absorber), one absorber setting
 *   scan     : the same for a list of ln(1/R) values (profile scan)
 *   stab     : long run (10^5 steps) on the small grid, max|p|, max|px|,
 *              max|pz| every 10^4 steps (homogeneous or heterogeneous model)
 *   cost     : time per step of the FFT pair, the sponge step and the PML
 *              step on one padded grid (FFTW_MEASURE plans)
 *
 * ---------------------------------------------------------------------------
 * Scheme.  Padded periodic grid npx x npz (row-major, x fastest); interior
 * nx x nz at (ox, oz); layers of wxl / wxh columns on the left / right and
 * wzl / wzh rows on top / bottom (wxl = wzl = nb; the high sides are nb plus
 * whatever good_size() padding the cost mode adds).
 *
 * K   : full k-space operator, symbol -(4/(c^2 dt^2)) sin^2(c |k| dt / 2)
 * Kx' : 1D operator along x (rows),    symbol -(4/(c^2 dt^2)) sin^2(c kx dt/2)
 * Kz'': 1D operator along z (columns), symbol -(4/(c^2 dt^2)) sin^2(c kz dt/2)
 * All three are exact (periodic) spectral operators; Kx' is evaluated only on
 * the rows of the top/bottom layers, Kz'' only on the columns of the
 * left/right layers (the grid is periodic, so a 1D transform of one row or
 * column is exact: no truncation).
 *
 * Sponge (baseline): lap = K p + s,
 *   p+ = ((2 - e^2) p - (1 - e) p- + vel lap) / (1 + e),  e = ex[ix] + ez[iz].
 *
 * Split PML: in layer cells p = px + pz with
 *   (d/dt + dx)^2 px = v^2 Ax p,  (d/dt + dz)^2 pz = v^2 Az p,  Ax + Az = K,
 * discretised exactly like the sponge update, per component:
 *   q+ = ((2 - e_q^2) q - (1 - e_q) q- + vel A_q p) / (1 + e_q)
 *      = a1_q q - a2_q q- + a3_q vel A_q p       (coefficients precomputed)
 * Split choice (corner mode 0, "X-corners"):
 *   x-layer cells (all rows, incl. corners): Az = Kz'' p, Ax = K p - Az
 *   z-layer-only cells:                     Ax = Kx' p,  Az = K p - Ax
 * Corner mode 1 ("Z-corners"): corners use Ax = Kx' p, Az = K p - Ax.
 * Interior cells keep only p and the plain leapfrog update.
 *
 * Storage of px, pz (cur and prev) only in layer cells, in two compact
 * regions laid out like the strip-FFT buffers:
 *   X region: x-layer columns over all rows, [npz][ncol], ncol = wxl + wxh
 *   Z region: z-layer rows, interior columns, [nrow][npx - ncol]
 * Column strips for Kz'' are gathered in the same [npz][ncol] layout and
 * transformed with fftwf_plan_many_dft_r2c (stride ncol, distance 1), which
 * FFTW vectorises across the ncol columns.
 *
 * Variants (options):
 *   -corner 0|1       corner split (above)
 *   -cornersponge     corners (both dampings > 0) use the unsplit sponge
 *                     update of p instead of the split (px, pz kept = p/2, 0)
 *   -weak f           damp the "undamped" component weakly: e_q += f * e_other
 * ------------------------------------------------------------------------- */
#define _POSIX_C_SOURCE 200809L
#include <fftw3.h>
#include <math.h>
#include <pmmintrin.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const double PI = 3.14159265358979323846;

/* ---------------------------------------------------------------- options */
typedef struct {
  int pml;           /* 0 sponge, 1 split PML */
  int nb;            /* layer cells */
  double pw;         /* profile power */
  double logr;       /* ln(1/R) */
  int corner;        /* 0: corners use (K - Kz'', Kz''); 1: (Kx', K - Kx') */
  int cornersponge;  /* corners: unsplit sponge update */
  double weak;       /* weak damping of the undamped component */
  int dprime;        /* 1: include the -d'(x) psi correction of the exact PML (FD order fdo) */
  double emin;       /* unsplit: no d' term where e = d dt < emin (stability, see REPORT) */
  int xonly;         /* diagnostic: no z layers (z periodic, rows treated as interior) */
  int pform;         /* 1: advance p by its own update (see SPLIT_CELL_P) */
  int fdo;           /* FD order of the first derivative in the correction: 2, 4, 8 */
  double cfl;        /* c_ref dt / h */
  unsigned fflags;   /* FFTW planner flags */
} opts_t;

/* ---------------------------------------------------------------- the simulator */
typedef struct {
  opts_t o;
  int npx, npz, nx, nz, ox, oz;
  int wxl, wxh, wzl, wzh, ncol, nrow, nzc; /* nzc = npx - ncol: Z-region width */
  double h, dt, c;
  float *ex, *ez;             /* e = d dt per column / row (capped at 1) */
  float *ax1, *ax2, *ax3;     /* per column: (2-e^2)/(1+e), (1-e)/(1+e), 1/(1+e) */
  float *az1, *az2, *az3;     /* per row */
  float *mult;                /* 2D multiplier, npz x (npx/2+1), incl. 1/(npx npz) */
  float *mx, *mz;             /* 1D multipliers (incl. 1/npx, 1/npz) */
  fftwf_plan fwd, inv;        /* 2D r2c / c2r */
  fftwf_plan rfwd, rinv;      /* row strips: nrow rows of npx */
  fftwf_plan cfwd, cinv;      /* column strips: ncol columns of npz, stride ncol */
  float *spec, *lap;
  float *rbuf, *rspec, *rout; /* [nrow][npx], [nrow][npx/2+1] complex, [nrow][npx] */
  float *cbuf, *cspec, *cout; /* [npz][ncol], [npz/2+1][ncol] complex, [npz][ncol] */
  float *vel;                 /* v^2 dt^2 */
  float *p, *pp;              /* current, previous (next overwrites previous) */
  float *xpx, *xpxp, *xpz, *xpzp; /* X region */
  float *zpx, *zpxp, *zpz, *zpzp; /* Z region */
  /* d' correction: (d/dt + d) psi = d_x p, px eq. gets - v^2 d'(x) psi */
  float *gx, *gz;             /* d'(x) per column, d'(z) per row  [1/(m s)] */
  float *bx1, *bx2, *bz1, *bz2; /* psi+ = b1 psi + b2 dp: (1-e/2)/(1+e/2), dt/(1+e/2) */
  float *xpsx, *xpsz, *zpsz;  /* psi_x, psi_z on the X region; psi_z on the Z region */
  /* compact per-X-region-column tables (c = 0..ncol-1) */
  int *cidx;                  /* padded column index ix of c */
  int *xip, *xim;             /* [k][c]: (ix +- (k+1)) mod npx, k < 4 */
  float *cax1, *cax2, *cax3;  /* x coefficients */
  float *cwz1, *cwz2, *cwz3;  /* weak z damping coefficients (weak * ex) */
  float *cgx, *cbx1, *cbx2;   /* d'(x) and psi coefficients */
  float *caxk, *caxe;         /* p-form: ex / (1 + ex), 2 + ex */
  float *sAx, *sAz, *sd, *sext; /* scratch, npx (+8) each */
  /* unsplit form (pml = 2): memory variables at half steps
   *   X region: Gx, Gz, psi_x, xi_x, psi_z, xi_z;  Z region: Gx, Gz, psi_z, xi_z */
  float *xm[6], *zm[4];
  float *gxc, *gzr;           /* d' with the emin cut: per column / per row */
} sim_t;

static void *xalloc(size_t n) {
  void *p = fftwf_malloc(n ? n : 16);
  if (!p) { fprintf(stderr, "out of memory\n"); exit(1); }
  memset(p, 0, n ? n : 16);
  return p;
}

/* Damping e = d dt per padded index (project's fill_damping, with power and
 * ln(1/R) as parameters): s = distance into the layer (1..), r = min(s/nb, 1). */
static void fill_damping(float *e, int np, int o, int n, int nb, double h, double vmax,
                         double dt, double pw, double logr) {
  const double d0 = (pw + 1.0) * vmax * logr / (2.0 * nb * h);
  for (int i = 0; i < np; i++) {
    double s = 0.0;
    if (i < o) s = o - i;
    else if (i >= o + n) s = i - (o + n - 1);
    double r = s / nb;
    if (r > 1.0) r = 1.0;
    e[i] = (float)fmin(d0 * pow(r, pw) * dt, 1.0);
  }
}

/* d'(x) of the same profile (analytic), per padded index [1/(m s)]: the
 * distance s grows outward, so d' < 0 in the low layer and > 0 in the high one. */
static void fill_dprime(float *g, int np, int o, int n, int nb, double h, double vmax,
                        double pw, double logr) {
  const double d0 = (pw + 1.0) * vmax * logr / (2.0 * nb * h);
  for (int i = 0; i < np; i++) {
    double s = 0.0, sg = 0.0;
    if (i < o) { s = o - i; sg = -1.0; }
    else if (i >= o + n) { s = i - (o + n - 1); sg = 1.0; }
    g[i] = (s > 0.0 && s <= nb) ? (float)(sg * d0 * pw * pow(s / nb, pw - 1.0) / (nb * h)) : 0.0f;
  }
}

static void coefs(const float *e, float *a1, float *a2, float *a3, int n, const float *eo,
                  double weak) {
  for (int i = 0; i < n; i++) {
    double ee = e[i];
    (void)eo; (void)weak;
    a1[i] = (float)((2.0 - ee * ee) / (1.0 + ee));
    a2[i] = (float)((1.0 - ee) / (1.0 + ee));
    a3[i] = (float)(1.0 / (1.0 + ee));
  }
}

/* Create: interior nx x nz, padded npx x npz (>= nx + 2 nb), interior at (nb, nb). */
static sim_t *sim_create(int nx, int nz, int npx, int npz, double h, double cref,
                         double dt, const opts_t *o) {
  sim_t *s = calloc(1, sizeof *s);
  s->o = *o;
  s->nx = nx; s->nz = nz; s->npx = npx; s->npz = npz;
  s->ox = o->nb; s->oz = o->nb;
  s->wxl = o->nb; s->wxh = npx - nx - o->nb;
  s->wzl = o->nb; s->wzh = npz - nz - o->nb;
  if (o->xonly) { s->oz = 0; s->wzl = s->wzh = 0; nz = npz; s->nz = npz; }
  s->ncol = s->wxl + s->wxh; s->nrow = s->wzl + s->wzh; s->nzc = npx - s->ncol;
  s->h = h; s->c = cref; s->dt = dt;
  const size_t np = (size_t)npx * npz, nh = npx / 2 + 1, nhz = npz / 2 + 1;
  s->ex = xalloc(npx * sizeof(float)); s->ez = xalloc(npz * sizeof(float));
  fill_damping(s->ex, npx, s->ox, nx, o->nb, h, cref, dt, o->pw, o->logr);
  fill_damping(s->ez, npz, s->oz, nz, o->nb, h, cref, dt, o->pw, o->logr);
  s->ax1 = xalloc(npx * 4); s->ax2 = xalloc(npx * 4); s->ax3 = xalloc(npx * 4);
  s->az1 = xalloc(npz * 4); s->az2 = xalloc(npz * 4); s->az3 = xalloc(npz * 4);
  coefs(s->ex, s->ax1, s->ax2, s->ax3, npx, NULL, 0);
  coefs(s->ez, s->az1, s->az2, s->az3, npz, NULL, 0);
  /* d' correction */
  s->gx = xalloc(npx * 4); s->gz = xalloc(npz * 4);
  s->bx1 = xalloc(npx * 4); s->bx2 = xalloc(npx * 4);
  s->bz1 = xalloc(npz * 4); s->bz2 = xalloc(npz * 4);
  fill_dprime(s->gx, npx, s->ox, nx, o->nb, h, cref, o->pw, o->logr);
  fill_dprime(s->gz, npz, s->oz, nz, o->nb, h, cref, o->pw, o->logr);
  for (int i = 0; i < npx; i++) {
    s->bx1[i] = (1.0f - 0.5f * s->ex[i]) / (1.0f + 0.5f * s->ex[i]);
    s->bx2[i] = (float)(dt / (1.0 + 0.5 * s->ex[i]));
  }
  for (int i = 0; i < npz; i++) {
    s->bz1[i] = (1.0f - 0.5f * s->ez[i]) / (1.0f + 0.5f * s->ez[i]);
    s->bz2[i] = (float)(dt / (1.0 + 0.5 * s->ez[i]));
  }
  /* multipliers */
  const double f = 4.0 / (cref * cref * dt * dt);
  s->mult = xalloc((size_t)npz * nh * sizeof(float));
  for (int iz = 0; iz < npz; iz++) {
    const int jz = iz <= npz / 2 ? iz : npz - iz;
    const double kz = 2.0 * PI * jz / (npz * h);
    for (size_t jx = 0; jx < nh; jx++) {
      const double kx = 2.0 * PI * jx / (npx * h);
      const double sn = sin(0.5 * cref * sqrt(kx * kx + kz * kz) * dt);
      s->mult[iz * nh + jx] = (float)(-f * sn * sn / ((double)npx * npz));
    }
  }
  s->mx = xalloc(nh * sizeof(float));
  for (size_t j = 0; j < nh; j++) {
    const double sn = sin(0.5 * cref * (2.0 * PI * j / (npx * h)) * dt);
    s->mx[j] = (float)(-f * sn * sn / npx);
  }
  s->mz = xalloc(nhz * sizeof(float));
  for (size_t j = 0; j < nhz; j++) {
    const double sn = sin(0.5 * cref * (2.0 * PI * j / (npz * h)) * dt);
    s->mz[j] = (float)(-f * sn * sn / npz);
  }
  /* fields */
  s->vel = xalloc(np * 4); s->p = xalloc(np * 4); s->pp = xalloc(np * 4);
  s->lap = xalloc(np * 4); s->spec = xalloc((size_t)npz * nh * 8);
  const size_t nX = (size_t)npz * s->ncol, nZ = (size_t)s->nrow * s->nzc;
  s->xpx = xalloc(nX * 4); s->xpxp = xalloc(nX * 4); s->xpz = xalloc(nX * 4); s->xpzp = xalloc(nX * 4);
  s->zpx = xalloc(nZ * 4); s->zpxp = xalloc(nZ * 4); s->zpz = xalloc(nZ * 4); s->zpzp = xalloc(nZ * 4);
  s->rbuf = xalloc((size_t)(s->nrow + 1) * npx * 4); s->rout = xalloc((size_t)(s->nrow + 1) * npx * 4);
  s->rspec = xalloc((size_t)(s->nrow + 1) * nh * 8);
  s->cbuf = xalloc(nX * 4); s->cout = xalloc(nX * 4);
  s->cspec = xalloc(nhz * s->ncol * 8);
  s->xpsx = xalloc(nX * 4); s->xpsz = xalloc(nX * 4); s->zpsz = xalloc(nZ * 4);
  for (int k = 0; k < 6; k++) s->xm[k] = xalloc((o->pml == 2 ? nX : 1) * 4);
  for (int k = 0; k < 4; k++) s->zm[k] = xalloc((o->pml == 2 ? nZ : 1) * 4);
  s->gxc = xalloc(npx * 4); s->gzr = xalloc(npz * 4);
  for (int i = 0; i < npx; i++) s->gxc[i] = s->ex[i] >= o->emin ? s->gx[i] : 0.0f;
  for (int i = 0; i < npz; i++) s->gzr[i] = s->ez[i] >= o->emin ? s->gz[i] : 0.0f;
  {
    const int nc = s->ncol;
    s->cidx = malloc(nc * sizeof(int));
    s->xip = malloc(4 * nc * sizeof(int)); s->xim = malloc(4 * nc * sizeof(int));
    float **fa[] = {&s->cax1, &s->cax2, &s->cax3, &s->cwz1, &s->cwz2, &s->cwz3, &s->cgx, &s->cbx1, &s->cbx2, &s->caxk, &s->caxe};
    for (int i = 0; i < 11; i++) *fa[i] = xalloc((nc + 1) * 4);
    s->sAx = xalloc(npx * 4); s->sAz = xalloc(npx * 4); s->sd = xalloc(npx * 4); s->sext = xalloc((npx + 16) * 4);
    for (int c = 0; c < nc; c++) {
      const int ix = c < s->wxl ? c : npx - nc + c;
      s->cidx[c] = ix;
      for (int k = 0; k < 4; k++) {
        s->xip[k * nc + c] = (ix + k + 1) % npx;
        s->xim[k * nc + c] = (ix - k - 1 + npx) % npx;
      }
      s->cax1[c] = s->ax1[ix]; s->cax2[c] = s->ax2[ix]; s->cax3[c] = s->ax3[ix];
      const double e = o->weak * s->ex[ix];
      s->cwz1[c] = (float)((2 - e * e) / (1 + e)); s->cwz2[c] = (float)((1 - e) / (1 + e));
      s->cwz3[c] = (float)(1 / (1 + e));
      s->caxk[c] = s->ex[ix] / (1.0f + s->ex[ix]); s->caxe[c] = 2.0f + s->ex[ix];
      s->cgx[c] = s->gx[ix]; s->cbx1[c] = s->bx1[ix]; s->cbx2[c] = s->bx2[ix];
    }
  }
  /* plans (planned on scratch copies: MEASURE overwrites arrays) */
  float *ta = xalloc(np * 4), *tb = xalloc(np * 4);
  s->fwd = fftwf_plan_dft_r2c_2d(npz, npx, ta, (fftwf_complex *)s->spec, o->fflags);
  s->inv = fftwf_plan_dft_c2r_2d(npz, npx, (fftwf_complex *)s->spec, tb, o->fflags);
  fftwf_free(ta); fftwf_free(tb);
  if (o->pml) {
    int n1[1] = {npx};
    const int nr = s->nrow > 0 ? s->nrow : 1; /* (xonly: a dummy row) */
    s->rfwd = fftwf_plan_many_dft_r2c(1, n1, nr, s->rbuf, NULL, 1, npx,
                                      (fftwf_complex *)s->rspec, NULL, 1, (int)nh, o->fflags);
    s->rinv = fftwf_plan_many_dft_c2r(1, n1, nr, (fftwf_complex *)s->rspec, NULL, 1,
                                      (int)nh, s->rout, NULL, 1, npx, o->fflags);
    int n2[1] = {npz};
    s->cfwd = fftwf_plan_many_dft_r2c(1, n2, s->ncol, s->cbuf, NULL, s->ncol, 1,
                                      (fftwf_complex *)s->cspec, NULL, s->ncol, 1, o->fflags);
    s->cinv = fftwf_plan_many_dft_c2r(1, n2, s->ncol, (fftwf_complex *)s->cspec, NULL,
                                      s->ncol, 1, s->cout, NULL, s->ncol, 1, o->fflags);
    if (!s->rfwd || !s->rinv || !s->cfwd || !s->cinv) { fprintf(stderr, "plan\n"); exit(1); }
    memset(s->rbuf, 0, (size_t)s->nrow * npx * 4);
    memset(s->cbuf, 0, nX * 4);
  }
  return s;
}

static void sim_destroy(sim_t *s) {
  fftwf_destroy_plan(s->fwd); fftwf_destroy_plan(s->inv);
  if (s->o.pml) {
    fftwf_destroy_plan(s->rfwd); fftwf_destroy_plan(s->rinv);
    fftwf_destroy_plan(s->cfwd); fftwf_destroy_plan(s->cinv);
  }
  float *a[] = {s->ex, s->ez, s->ax1, s->ax2, s->ax3, s->az1, s->az2, s->az3, s->mult, s->mx,
                s->mz, s->vel, s->p, s->pp, s->lap, s->spec, s->xpx, s->xpxp, s->xpz, s->xpzp,
                s->zpx, s->zpxp, s->zpz, s->zpzp, s->rbuf, s->rout, s->rspec, s->cbuf,
                s->cout, s->cspec, s->gx, s->gz, s->bx1, s->bx2, s->bz1, s->bz2, s->xpsx,
                s->xpsz, s->zpsz, s->cax1, s->cax2, s->cax3, s->cwz1, s->cwz2, s->cwz3,
                s->cgx, s->cbx1, s->cbx2, s->caxk, s->caxe, s->sAx, s->sAz, s->sd, s->sext};
  free(s->cidx); free(s->xip); free(s->xim);
  for (int k = 0; k < 6; k++) fftwf_free(s->xm[k]);
  for (int k = 0; k < 4; k++) fftwf_free(s->zm[k]);
  fftwf_free(s->gxc); fftwf_free(s->gzr);
  for (size_t i = 0; i < sizeof a / sizeof a[0]; i++) fftwf_free(a[i]);
  free(s);
}


/* ---------------------------------------------------------------- operators */

/* lap = K p (2D r2c, multiply, c2r) */
static void lap2d(sim_t *s) {
  const size_t nm = (size_t)s->npz * (s->npx / 2 + 1);
  fftwf_execute_dft_r2c(s->fwd, s->p, (fftwf_complex *)s->spec);
  float *restrict sp = s->spec;
  const float *restrict m = s->mult;
  for (size_t i = 0; i < nm; i++) { sp[2 * i] *= m[i]; sp[2 * i + 1] *= m[i]; }
  fftwf_execute_dft_c2r(s->inv, (fftwf_complex *)s->spec, s->lap);
}

/* rout = Kx' p on the nrow layer rows; cout = Kz'' p on the ncol layer columns */
static void strips(sim_t *s) {
  const int npx = s->npx, npz = s->npz, nh = npx / 2 + 1, ncol = s->ncol;
  /* rows: top wzl rows and bottom wzh rows are contiguous blocks */
  if (s->nrow > 0) {
  memcpy(s->rbuf, s->p, (size_t)s->wzl * npx * 4);
  memcpy(s->rbuf + (size_t)s->wzl * npx, s->p + (size_t)(npz - s->wzh) * npx,
         (size_t)s->wzh * npx * 4);
  fftwf_execute(s->rfwd);
  for (int r = 0; r < s->nrow; r++) {
    float *restrict sp = s->rspec + (size_t)r * nh * 2;
    const float *restrict m = s->mx;
    for (int j = 0; j < nh; j++) { sp[2 * j] *= m[j]; sp[2 * j + 1] *= m[j]; }
  }
  fftwf_execute(s->rinv);
  }
  /* columns: gather [iz][ncol] */
  for (int iz = 0; iz < npz; iz++) {
    const float *row = s->p + (size_t)iz * npx;
    float *b = s->cbuf + (size_t)iz * ncol;
    memcpy(b, row, s->wxl * 4);
    memcpy(b + s->wxl, row + npx - s->wxh, s->wxh * 4);
  }
  fftwf_execute(s->cfwd);
  for (int j = 0; j <= npz / 2; j++) {
    float *restrict sp = s->cspec + (size_t)j * ncol * 2;
    const float m = s->mz[j];
    for (int c = 0; c < 2 * ncol; c++) sp[c] *= m;
  }
  fftwf_execute(s->cinv);
}

/* ---------------------------------------------------------------- time steps */

/* Sponge step (as the project's psfwi_wave_step). */
static void step_sponge(sim_t *s, int isrc, float samp) {
  const int npx = s->npx, npz = s->npz, xa = s->ox, xb = s->ox + s->nx;
  lap2d(s);
  if (isrc >= 0) s->lap[isrc] += samp;
  const float *restrict ex = s->ex;
  for (int iz = 0; iz < npz; iz++) {
    const size_t r = (size_t)iz * npx;
    const float *restrict cur = s->p + r, *restrict vel = s->vel + r, *restrict lap = s->lap + r;
    float *restrict prev = s->pp + r;
    const float ezr = s->ez[iz];
    if (ezr == 0.0f) {
      for (int i = 0; i < xa; i++) {
        const float e = ex[i];
        prev[i] = ((2.0f - e * e) * cur[i] - (1.0f - e) * prev[i] + vel[i] * lap[i]) / (1.0f + e);
      }
      for (int i = xa; i < xb; i++) prev[i] = 2.0f * cur[i] - prev[i] + vel[i] * lap[i];
      for (int i = xb; i < npx; i++) {
        const float e = ex[i];
        prev[i] = ((2.0f - e * e) * cur[i] - (1.0f - e) * prev[i] + vel[i] * lap[i]) / (1.0f + e);
      }
    } else {
      for (int i = 0; i < npx; i++) {
        const float e = ezr + ex[i];
        prev[i] = ((2.0f - e * e) * cur[i] - (1.0f - e) * prev[i] + vel[i] * lap[i]) / (1.0f + e);
      }
    }
  }
  float *t = s->p; s->p = s->pp; s->pp = t;
}

/* One split cell. Components: q+ = a1 q - a2 q- + a3 vel A_q.
 * Split form (pf = 0): p+ = px+ + pz+ (the brief's scheme).
 * p-form   (pf = 1): p is advanced by its own update,
 *   p+ = 2 p - p- + vel (Ax + Az) - kx [(2 + ex) px - 2 px- + vel Ax]
 *                                 - kz [(2 + ez) pz - 2 pz- + vel Az],  k = e / (1 + e),
 * identical to px+ + pz+ in exact arithmetic (a1 = 2 - k (2 + e), a2 = 1 - 2k,
 * a3 = 1 - k), but p is no longer the difference of two large numbers when
 * px ~ -pz is large (the null mode): round-off in p is O(k eps |px|) instead
 * of O(eps |px|). OUT holds p- on entry (P0 = p). */
#define SPLIT_CELL(PX, PXP, PZ, PZP, Ax, Az, X1, X2, X3, Z1, Z2, Z3, V, OUT)          \
  SPLIT_CELL_P(PX, PXP, PZ, PZP, Ax, Az, X1, X2, X3, Z1, Z2, Z3, V, OUT, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f)
#define SPLIT_CELL_P(PX, PXP, PZ, PZP, Ax, Az, X1, X2, X3, Z1, Z2, Z3, V, OUT, P0, XK, XE, ZK, ZE) \
  do {                                                                                \
    const float ax_ = (Ax), az_ = (Az), px_ = (PX), pxp_ = (PXP), pz_ = (PZ), pzp_ = (PZP); \
    const float nx_ = (X1) * px_ - (X2) * pxp_ + (X3) * (V) * ax_;                    \
    const float nz_ = (Z1) * pz_ - (Z2) * pzp_ + (Z3) * (V) * az_;                    \
    if (pf)                                                                           \
      OUT = 2.0f * (P0) - (OUT) + (V) * (ax_ + az_)                                   \
            - (XK) * ((XE) * px_ - 2.0f * pxp_ + (V) * ax_)                           \
            - (ZK) * ((ZE) * pz_ - 2.0f * pzp_ + (V) * az_);                          \
    else                                                                              \
      OUT = nx_ + nz_;                                                                \
    PXP = nx_; PZP = nz_;                                                             \
  } while (0)

/* Centered FD first derivative (times h) of order 2, 4 or 8 at index i of a
 * periodic line of length n with stride st. */
static const float fd2[1] = {0.5f}, fd4[2] = {2.0f / 3.0f, -1.0f / 12.0f},
                   fd8[4] = {4.0f / 5.0f, -1.0f / 5.0f, 4.0f / 105.0f, -1.0f / 280.0f};

/* Split PML step.
 * Per row: X-region cells (left/right layer columns, all rows) then either the
 * Z-only cells of a top/bottom layer row or the plain interior update.
 * Optional exact-PML correction (dprime): the x-equation gets -v^2 d'(x) psi_x
 * with (d/dt + d_x) psi_x = dp/dx (FD of order fdo, evaluated at time n),
 * psi_x at n+1/2 by the centred update, its average of n -/+ 1/2 used at n;
 * the same along z.
 * Optional weak damping (weak = f): the component that has no damping of its
 * own (pz in x-layers, px in z-layers) gets e = f * (the other's e). */
static void step_pml(sim_t *s, int isrc, float samp) {
  const int npx = s->npx, npz = s->npz, ncol = s->ncol, nzc = s->nzc;
  const int wxl = s->wxl, wxh = s->wxh, xb = npx - wxh;
  lap2d(s);
  if (isrc >= 0) s->lap[isrc] += samp;
  strips(s);
  const int cs = s->o.cornersponge, cm = s->o.corner, dp = s->o.dprime, m = s->o.fdo / 2;
  const float *fc = s->o.fdo == 2 ? fd2 : s->o.fdo == 4 ? fd4 : fd8;
  const float ih = (float)(1.0 / s->h), wk = (float)s->o.weak;
  const int pf = s->o.pform;
  float *restrict Axs = s->sAx, *restrict Azs = s->sAz, *restrict dtmp = s->sd;
  for (int iz = 0; iz < npz; iz++) {
    const size_t r = (size_t)iz * npx;
    const float *restrict cur = s->p + r, *restrict vel = s->vel + r, *restrict lap = s->lap + r;
    float *restrict nxt = s->pp + r;
    int zr = -1; /* row index in the Z region / row strips */
    if (iz < s->wzl) zr = iz;
    else if (iz >= npz - s->wzh) zr = s->wzl + (iz - (npz - s->wzh));
    const float z1 = s->az1[iz], z2 = s->az2[iz], z3 = s->az3[iz], gz = s->gz[iz];
    const float zk = s->ez[iz] / (1.0f + s->ez[iz]), ze = 2.0f + s->ez[iz];
    /* rows iz +- k for the z derivative */
    const float *rp[4], *rm[4];
    for (int k = 0; k < m; k++) {
      rp[k] = s->p + (size_t)((iz + k + 1) % npz) * npx;
      rm[k] = s->p + (size_t)((iz - k - 1 + npz) % npz) * npx;
    }
    /* ---- X region: the left (c < wxl, ix = c) and right (c >= wxl,
     * ix = c + xb - wxl) layer columns, processed as two contiguous runs. */
    const float *restrict kz = s->cout + (size_t)iz * ncol;
    const float *restrict kxr = zr >= 0 ? s->rout + (size_t)zr * npx : NULL;
    float *restrict ext = s->sext; /* periodic copy of the row around the wrap, for d/dx */
    if (dp) {
      memcpy(ext, cur + npx - wxh - 4, (size_t)(wxh + 4) * 4);
      memcpy(ext + wxh + 4, cur, (size_t)(wxl + 4) * 4);
    }
    float *restrict xpx = s->xpx + (size_t)iz * ncol, *restrict xpxp = s->xpxp + (size_t)iz * ncol;
    float *restrict xpz = s->xpz + (size_t)iz * ncol, *restrict xpzp = s->xpzp + (size_t)iz * ncol;
    float *restrict psx = s->xpsx + (size_t)iz * ncol, *restrict psz = s->xpsz + (size_t)iz * ncol;
    for (int part = 0; part < 2; part++) {
      const int c0 = part ? wxl : 0, c1 = part ? ncol : wxl, off = part ? xb - wxl : 0;
      const float *restrict L = lap + off, *restrict V = vel + off, *restrict C = cur + off;
      float *restrict Nx = nxt + off;
      /* operators */
      if (zr >= 0 && cm == 1) {
        const float *restrict kx = kxr + off;
        for (int c = c0; c < c1; c++) { Axs[c] = kx[c]; Azs[c] = L[c] - kx[c]; }
      } else {
        for (int c = c0; c < c1; c++) { Azs[c] = kz[c]; Axs[c] = L[c] - kz[c]; }
      }
      if (dp) { /* exact-PML corrections */
        const float *restrict E = ext + (part ? 4 - wxl : wxh + 4); /* E[c] = p at ix = c + off */
        const float *restrict g = s->cgx, *restrict b1 = s->cbx1, *restrict b2 = s->cbx2;
        for (int c = c0; c < c1; c++) {
          float d = 0.0f;
          for (int k = 0; k < m; k++) d += fc[k] * (E[c + k + 1] - E[c - k - 1]);
          const float ps = psx[c], pn = b1[c] * ps + b2[c] * d * ih;
          psx[c] = pn;
          Axs[c] -= g[c] * 0.5f * (ps + pn);
        }
        if (gz != 0.0f) { /* corner rows: z correction too */
          const float b1z = s->bz1[iz], b2z = s->bz2[iz] * ih, gg = 0.5f * gz;
          for (int c = c0; c < c1; c++) {
            float d = 0.0f;
            for (int k = 0; k < m; k++) d += fc[k] * (rp[k][off + c] - rm[k][off + c]);
            const float ps = psz[c], pn = b1z * ps + b2z * d;
            psz[c] = pn;
            Azs[c] -= gg * (ps + pn);
          }
        }
      }
      /* update */
      const float *restrict c1x = s->cax1, *restrict c2x = s->cax2, *restrict c3x = s->cax3;
      const float *restrict ckx = s->caxk, *restrict cex = s->caxe;
      if (zr < 0 && wk > 0.0f) { /* pz weakly damped with weak * ex */
        const float *restrict w1 = s->cwz1, *restrict w2 = s->cwz2, *restrict w3 = s->cwz3;
        for (int c = c0; c < c1; c++)
          SPLIT_CELL_P(xpx[c], xpxp[c], xpz[c], xpzp[c], Axs[c], Azs[c], c1x[c], c2x[c], c3x[c],
                       w1[c], w2[c], w3[c], V[c], Nx[c], C[c], ckx[c], cex[c], 1.0f - w3[c], 1.0f + 1.0f / w3[c]);
      } else if (zr >= 0 && cs) { /* corners: unsplit sponge update of p */
        for (int c = c0; c < c1; c++) {
          const float e = s->ex[off + c] + s->ez[iz];
          const float pn = ((2.0f - e * e) * C[c] - (1.0f - e) * Nx[c] + V[c] * L[c]) / (1.0f + e);
          Nx[c] = pn; xpxp[c] = pn; xpzp[c] = 0.0f;
        }
      } else {
        for (int c = c0; c < c1; c++)
          SPLIT_CELL_P(xpx[c], xpxp[c], xpz[c], xpzp[c], Axs[c], Azs[c], c1x[c], c2x[c], c3x[c],
                       z1, z2, z3, V[c], Nx[c], C[c], ckx[c], cex[c], zk, ze);
      }
    }
    if (zr >= 0) { /* ---- Z-only cells: dx = 0 */
      float *restrict zpx = s->zpx + (size_t)zr * nzc, *restrict zpxp = s->zpxp + (size_t)zr * nzc;
      float *restrict zpz = s->zpz + (size_t)zr * nzc, *restrict zpzp = s->zpzp + (size_t)zr * nzc;
      const float *restrict kx = kxr + wxl;
      const float *restrict l2 = lap + wxl, *restrict v2 = vel + wxl;
      float *restrict n2 = nxt + wxl;
      const float *restrict c2r = cur + wxl;
      float x1 = 2.0f, x2 = 1.0f, x3 = 1.0f;
      if (wk > 0.0f) {
        const float e = wk * s->ez[iz];
        x1 = (2.0f - e * e) / (1.0f + e); x2 = (1.0f - e) / (1.0f + e); x3 = 1.0f / (1.0f + e);
      }
      const float xk = 1.0f - x3, xe = 1.0f + 1.0f / x3;
      if (dp && gz != 0.0f) {
        float *restrict psz = s->zpsz + (size_t)zr * nzc;
        const float b1 = s->bz1[iz], b2 = s->bz2[iz] * ih, g = 0.5f * gz;
        for (int j = 0; j < nzc; j++) dtmp[j] = 0.0f;
        for (int k = 0; k < m; k++) {
          const float *restrict a = rp[k] + wxl, *restrict b = rm[k] + wxl;
          const float f = fc[k];
          for (int j = 0; j < nzc; j++) dtmp[j] += f * (a[j] - b[j]);
        }
        for (int j = 0; j < nzc; j++) {
          const float ps = psz[j], pn = b1 * ps + b2 * dtmp[j];
          psz[j] = pn;
          const float Ax = kx[j], Az = l2[j] - Ax - g * (ps + pn);
          SPLIT_CELL_P(zpx[j], zpxp[j], zpz[j], zpzp[j], Ax, Az, x1, x2, x3, z1, z2, z3, v2[j], n2[j],
                       c2r[j], xk, xe, zk, ze);
        }
      } else {
        for (int j = 0; j < nzc; j++) {
          const float Ax = kx[j], Az = l2[j] - Ax;
          SPLIT_CELL_P(zpx[j], zpxp[j], zpz[j], zpzp[j], Ax, Az, x1, x2, x3, z1, z2, z3, v2[j], n2[j],
                       c2r[j], xk, xe, zk, ze);
        }
      }
    } else { /* ---- interior: plain leapfrog */
      float *restrict prev = s->pp + r;
      for (int i = wxl; i < xb; i++) prev[i] = 2.0f * cur[i] - prev[i] + vel[i] * lap[i];
    }
  }
  float *t;
  t = s->p; s->p = s->pp; s->pp = t;
  t = s->xpx; s->xpx = s->xpxp; s->xpxp = t;
  t = s->xpz; s->xpz = s->xpzp; s->xpzp = t;
  t = s->zpx; s->zpx = s->zpxp; s->zpxp = t;
  t = s->zpz; s->zpz = s->zpzp; s->zpzp = t;
}

/* Unsplit PML (pml = 2).  Multiplying the stretched-coordinate equation by
 * sx sz (sx = 1 + dx / (-i w)) gives, with Ax + Az = K as in the split form,
 *   (d/dt + dx)(d/dt + dz) p = v^2 [K p + Gx + Gz
 *                                   - dx' (psi_x + (dz - dx) xi_x)
 *                                   - dz' (psi_z + (dx - dz) xi_z)] + v^2 s
 *   (d/dt + dx) Gx = (dz - dx) Ax p,     (d/dt + dz) Gz = (dx - dz) Az p,
 *   (d/dt + dx) psi_x = dp/dx,           (d/dt + dx) xi_x = psi_x   (same in z).
 * p is the only second-order variable: no split null mode (px = -pz).  The
 * memory variables live at half steps (G+ = b1 G + c (e' - e) A p, with
 * b1 = (1 - e/2)/(1 + e/2), c = 1/(1 + e/2)) and are averaged to step n;
 *   p+ = [(2 - ex ez) p - (1 - (ex + ez)/2) p- + vel R] / (1 + (ex + ez)/2).
 * The d' terms (dprime) use FD derivatives of order fdo and are dropped where
 * the own damping e < emin: there psi and xi are near-integrators (decay
 * 1/d of thousands of steps) and the discrete d' term drives a slowly growing
 * zero-frequency mode (eig.c). */
static void step_unsplit(sim_t *s, int isrc, float samp) {
  const int npx = s->npx, npz = s->npz, ncol = s->ncol, nzc = s->nzc;
  const int wxl = s->wxl, wxh = s->wxh, xb = npx - wxh;
  lap2d(s);
  if (isrc >= 0) s->lap[isrc] += samp;
  strips(s);
  const int cm = s->o.corner, dp = s->o.dprime, m = s->o.fdo / 2;
  const float *fc = s->o.fdo == 2 ? fd2 : s->o.fdo == 4 ? fd4 : fd8;
  const float ih = (float)(1.0 / s->h), dt = (float)s->dt, idt = (float)(1.0 / s->dt);
  for (int iz = 0; iz < npz; iz++) {
    const size_t r = (size_t)iz * npx;
    const float *restrict cur = s->p + r, *restrict vel = s->vel + r, *restrict lap = s->lap + r;
    float *restrict nxt = s->pp + r;
    int zr = -1;
    if (iz < s->wzl) zr = iz;
    else if (iz >= npz - s->wzh) zr = s->wzl + (iz - (npz - s->wzh));
    const float ez = s->ez[iz], gz = dp ? s->gzr[iz] : 0.0f;
    const float bz1 = (1.0f - 0.5f * ez) / (1.0f + 0.5f * ez), cz = 1.0f / (1.0f + 0.5f * ez);
    const float *rp[4], *rm[4];
    for (int k = 0; k < m; k++) {
      rp[k] = s->p + (size_t)((iz + k + 1) % npz) * npx;
      rm[k] = s->p + (size_t)((iz - k - 1 + npz) % npz) * npx;
    }
    /* ---- X region */
    const float *restrict kz = s->cout + (size_t)iz * ncol;
    const float *restrict kxr = zr >= 0 ? s->rout + (size_t)zr * npx : NULL;
    float *restrict ext = s->sext;
    if (dp) {
      memcpy(ext, cur + npx - wxh - 4, (size_t)(wxh + 4) * 4);
      memcpy(ext + wxh + 4, cur, (size_t)(wxl + 4) * 4);
    }
    const size_t ro = (size_t)iz * ncol;
    float *restrict Gx = s->xm[0] + ro, *restrict Gz = s->xm[1] + ro;
    float *restrict psx = s->xm[2] + ro, *restrict xix = s->xm[3] + ro;
    float *restrict psz = s->xm[4] + ro, *restrict xiz = s->xm[5] + ro;
    for (int part = 0; part < 2; part++) {
      const int c0 = part ? wxl : 0, c1 = part ? ncol : wxl, off = part ? xb - wxl : 0;
      const float *restrict L = lap + off, *restrict V = vel + off, *restrict C = cur + off;
      const float *restrict E = ext + (part ? 4 - wxl : wxh + 4);
      const float *restrict exv = s->ex + off, *restrict gxv = s->gxc + off;
      float *restrict Nx = nxt + off;
      for (int c = c0; c < c1; c++) {
        float Ax, Az;
        if (zr >= 0 && cm == 1) { Ax = kxr[off + c]; Az = L[c] - Ax; }
        else { Az = kz[c]; Ax = L[c] - Az; }
        const float ex = exv[c];
        const float bx1 = (1.0f - 0.5f * ex) / (1.0f + 0.5f * ex), cx = 1.0f / (1.0f + 0.5f * ex);
        const float gxn = bx1 * Gx[c] + cx * (ez - ex) * Ax;
        const float gzn = bz1 * Gz[c] + cz * (ex - ez) * Az;
        float R = L[c] + 0.5f * (Gx[c] + gxn) + 0.5f * (Gz[c] + gzn);
        Gx[c] = gxn; Gz[c] = gzn;
        if (dp) {
          const float g = gxv[c];
          if (g != 0.0f) {
            float d = 0.0f;
            for (int k = 0; k < m; k++) d += fc[k] * (E[c + k + 1] - E[c - k - 1]);
            const float pn = bx1 * psx[c] + cx * dt * d * ih, pm = 0.5f * (psx[c] + pn);
            const float xn = bx1 * xix[c] + cx * dt * pm, xm = 0.5f * (xix[c] + xn);
            psx[c] = pn; xix[c] = xn;
            R -= g * (pm + (ez - ex) * idt * xm);
          }
          if (gz != 0.0f) {
            float d = 0.0f;
            for (int k = 0; k < m; k++) d += fc[k] * (rp[k][off + c] - rm[k][off + c]);
            const float pn = bz1 * psz[c] + cz * dt * d * ih, pm = 0.5f * (psz[c] + pn);
            const float xn = bz1 * xiz[c] + cz * dt * pm, xm = 0.5f * (xiz[c] + xn);
            psz[c] = pn; xiz[c] = xn;
            R -= gz * (pm + (ex - ez) * idt * xm);
          }
        }
        const float eh = 0.5f * (ex + ez);
        Nx[c] = ((2.0f - ex * ez) * C[c] - (1.0f - eh) * Nx[c] + V[c] * R) / (1.0f + eh);
      }
    }
    if (zr >= 0) { /* ---- Z-only cells: ex = 0 */
      const size_t zo = (size_t)zr * nzc;
      float *restrict zGx = s->zm[0] + zo, *restrict zGz = s->zm[1] + zo;
      float *restrict zps = s->zm[2] + zo, *restrict zxi = s->zm[3] + zo;
      const float *restrict kx = kxr + wxl, *restrict l2 = lap + wxl, *restrict v2 = vel + wxl;
      const float *restrict c2 = cur + wxl;
      float *restrict n2 = nxt + wxl, *restrict dtmp = s->sd;
      const float a1 = 2.0f / (1.0f + 0.5f * ez), a2 = (1.0f - 0.5f * ez) / (1.0f + 0.5f * ez),
                  a3 = 1.0f / (1.0f + 0.5f * ez);
      if (gz != 0.0f) {
        for (int j = 0; j < nzc; j++) dtmp[j] = 0.0f;
        for (int k = 0; k < m; k++) {
          const float *restrict a = rp[k] + wxl, *restrict b = rm[k] + wxl;
          const float f = fc[k] * ih;
          for (int j = 0; j < nzc; j++) dtmp[j] += f * (a[j] - b[j]);
        }
        const float mez = -ez * idt;
        for (int j = 0; j < nzc; j++) {
          const float Ax = kx[j], Az = l2[j] - Ax;
          const float gxn = zGx[j] + ez * Ax, gzn = bz1 * zGz[j] - cz * ez * Az;
          const float pn = bz1 * zps[j] + cz * dt * dtmp[j], pm = 0.5f * (zps[j] + pn);
          const float xn = bz1 * zxi[j] + cz * dt * pm, xm = 0.5f * (zxi[j] + xn);
          const float R = l2[j] + 0.5f * (zGx[j] + gxn) + 0.5f * (zGz[j] + gzn) - gz * (pm + mez * xm);
          zGx[j] = gxn; zGz[j] = gzn; zps[j] = pn; zxi[j] = xn;
          n2[j] = a1 * c2[j] - a2 * n2[j] + a3 * v2[j] * R;
        }
      } else {
        for (int j = 0; j < nzc; j++) {
          const float Ax = kx[j], Az = l2[j] - Ax;
          const float gxn = zGx[j] + ez * Ax, gzn = bz1 * zGz[j] - cz * ez * Az;
          const float R = l2[j] + 0.5f * (zGx[j] + gxn) + 0.5f * (zGz[j] + gzn);
          zGx[j] = gxn; zGz[j] = gzn;
          n2[j] = a1 * c2[j] - a2 * n2[j] + a3 * v2[j] * R;
        }
      }
    } else { /* ---- interior */
      float *restrict prev = s->pp + r;
      for (int i = wxl; i < xb; i++) prev[i] = 2.0f * cur[i] - prev[i] + vel[i] * lap[i];
    }
  }
  float *t = s->p; s->p = s->pp; s->pp = t;
}

static void step(sim_t *s, int isrc, float samp) {
  if (s->o.pml == 2) step_unsplit(s, isrc, samp);
  else if (s->o.pml) step_pml(s, isrc, samp);
  else step_sponge(s, isrc, samp);
}


/* ---------------------------------------------------------------- helpers */
static double maxabs(const float *a, size_t n) {
  float m = 0.0f;
  for (size_t i = 0; i < n; i++) { const float v = fabsf(a[i]); if (v > m || v != v) m = v != v ? INFINITY : v; }
  return m;
}

static double ricker(double t, double f, double t0) {
  const double a = PI * f * (t - t0), a2 = a * a;
  return (1.0 - 2.0 * a2) * exp(-a2);
}

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + 1e-9 * ts.tv_nsec;
}

static int cmpd(const void *a, const void *b) {
  const double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

static int good_size(int n) { /* even, factors 2,3,5,7 (as the project) */
  for (int m = n;; m++) {
    if (m % 2) continue;
    int r = m;
    const int f[4] = {2, 3, 5, 7};
    for (int i = 0; i < 4; i++) while (r % f[i] == 0) r /= f[i];
    if (r == 1) return m;
  }
}

/* ---------------------------------------------------------------- reflection test */
#define N80 80
#define EXT 100
#define NT 351
static const double V0 = 2000.0, FP = 10.0, DT_OUT = 0.004, T0 = 0.15;

typedef struct { int sx, sz, nrec, rx[7], rz[7]; } shot_t;

static int rnd(double cells) { return (int)floor(cells + 0.5); }

static void make_shots(shot_t *sh) {
  const double L = N80 - 1; /* in cells */
  const double hd = 5.0;
  /* shot 0 */
  sh[0].sx = rnd(0.5 * L); sh[0].sz = rnd(hd); sh[0].nrec = 7;
  for (int r = 0; r < 7; r++) { sh[0].rx[r] = rnd((0.05 + 0.15 * r) * L); sh[0].rz[r] = rnd(hd); }
  /* shot 1 */
  sh[1].sx = rnd(hd); sh[1].sz = rnd(0.5 * L); sh[1].nrec = 7;
  for (int r = 0; r < 7; r++) { sh[1].rx[r] = rnd(hd + 5.0); sh[1].rz[r] = rnd((0.05 + 0.15 * r) * L); }
  /* shot 2 (corner) */
  const double in2[7][2] = {{0.1, 0.25}, {0.35, 0.5}, {0.1, 0.85}, {0.5, 0.1},
                            {0.85, 0.85}, {0.25, 0.25}, {0.05, 0.5}};
  sh[2].sx = rnd(0.1 * L); sh[2].sz = rnd(0.1 * L); sh[2].nrec = 7;
  for (int r = 0; r < 7; r++) { sh[2].rx[r] = rnd(in2[r][0] * L); sh[2].rz[r] = rnd(in2[r][1] * L); }
  /* shot 3 (long offset, grazing) */
  const double x3[5] = {0.2, 0.4, 0.6, 0.8, 0.95};
  sh[3].sx = rnd(0.05 * L); sh[3].sz = rnd(hd); sh[3].nrec = 5;
  for (int r = 0; r < 5; r++) { sh[3].rx[r] = rnd(x3[r] * L); sh[3].rz[r] = rnd(hd); }
}

/* run one shot on a grid with interior n x n (the measurement interior offset by
 * `off` cells); traces out[nrec][NT] */
static void run_shot(const opts_t *o, int n, int off, const shot_t *sh, float *out) {
  const double h = V0 / (2.5 * FP) / 3.0;
  const int nsub = (int)ceil(DT_OUT / (o->cfl * h / V0) * (1.0 - 1e-12));
  const double dt = DT_OUT / nsub;
  const int np = n + 2 * o->nb;
  sim_t *s = sim_create(n, n, np, np, h, V0, dt, o);
  for (size_t i = 0; i < (size_t)np * np; i++) s->vel[i] = (float)(V0 * V0 * dt * dt);
  const int isrc = (s->oz + off + sh->sz) * np + s->ox + off + sh->sx;
  const float sc = (float)(1.0 / (h * h));
  for (int it = 0; it < NT; it++) {
    for (int r = 0; r < sh->nrec; r++)
      out[r * NT + it] = s->p[(size_t)(s->oz + off + sh->rz[r]) * np + s->ox + off + sh->rx[r]];
    if (it == NT - 1) break;
    for (int k = 0; k < nsub; k++) {
      const int n_ = it * nsub + k;
      step(s, isrc, (float)(ricker(n_ * dt, FP, T0) * sc));
    }
  }
  sim_destroy(s);
}

/* returns worst ratios per shot in w[4]; prints per receiver if verbose */
static void reflect(const opts_t *o, double *w, int verbose) {
  shot_t sh[4];
  make_shots(sh);
  float *a = malloc(7 * NT * 4), *b = malloc(7 * NT * 4);
  for (int k = 0; k < 4; k++) {
    run_shot(o, N80, 0, &sh[k], a);
    run_shot(o, N80 + 2 * EXT, EXT, &sh[k], b);
    w[k] = 0.0;
    for (int r = 0; r < sh[k].nrec; r++) {
      double md = 0, mb = 0;
      int imd = 0;
      for (int it = 0; it < NT; it++) {
        const double d = fabs((double)a[r * NT + it] - b[r * NT + it]);
        if (d > md) { md = d; imd = it; }
        mb = fmax(mb, fabs((double)b[r * NT + it]));
      }
      const double q = md / mb;
      if (q > w[k] || q != q) w[k] = q != q ? INFINITY : q;
      if (verbose)
        printf("    shot %d rec %d (x %2d, z %2d): ratio %.4f%%  (max diff at t = %.3f s)\n", k, r,
               sh[k].rx[r], sh[k].rz[r], 100 * q, imd * DT_OUT);
    }
  }
  free(a); free(b);
}

static const char *absname(const opts_t *o) {
  static char buf[96];
  if (!o->pml) snprintf(buf, sizeof buf, "sponge");
  else if (o->pml == 2) snprintf(buf, sizeof buf, "unsplit-c%d%s", o->corner, o->dprime ? (o->fdo == 2 ? "-d2" : o->fdo == 4 ? "-d4" : "-d8") : "");
  else snprintf(buf, sizeof buf, "pml-c%d%s%s%s", o->corner, o->cornersponge ? "-cs" : "",
                o->weak > 0 ? "-weak" : o->pform ? "-pf" : "", o->dprime ? (o->fdo == 2 ? "-d2" : o->fdo == 4 ? "-d4" : "-d8") : "");
  return buf;
}

/* ---------------------------------------------------------------- stability */
/* Smooth random velocity in [vlo, vhi] over the whole padded grid: white noise
 * low-passed with a Gaussian of `corr` cells, then min-max mapped. */
static void random_smooth(float *v, int npx, int npz, double corr, double vlo, double vhi,
                          unsigned seed) {
  srand(seed);
  const size_t np = (size_t)npx * npz, nh = npx / 2 + 1;
  float *a = xalloc(np * 4);
  fftwf_complex *sp = xalloc((size_t)npz * nh * sizeof(fftwf_complex));
  for (size_t i = 0; i < np; i++) a[i] = (float)rand() / RAND_MAX - 0.5f;
  fftwf_plan f = fftwf_plan_dft_r2c_2d(npz, npx, a, sp, FFTW_ESTIMATE);
  fftwf_plan g = fftwf_plan_dft_c2r_2d(npz, npx, sp, a, FFTW_ESTIMATE);
  fftwf_execute(f);
  for (int iz = 0; iz < npz; iz++) {
    const int jz = iz <= npz / 2 ? iz : npz - iz;
    for (size_t jx = 0; jx < nh; jx++) {
      const double kx = 2 * PI * jx / npx, kz = 2 * PI * jz / npz;
      const double w = exp(-0.5 * (kx * kx + kz * kz) * corr * corr);
      sp[iz * nh + jx][0] *= w; sp[iz * nh + jx][1] *= w;
    }
  }
  fftwf_execute(g);
  float lo = a[0], hi = a[0];
  for (size_t i = 0; i < np; i++) { lo = fminf(lo, a[i]); hi = fmaxf(hi, a[i]); }
  for (size_t i = 0; i < np; i++) v[i] = (float)(vlo + (vhi - vlo) * (a[i] - lo) / (hi - lo));
  fftwf_destroy_plan(f); fftwf_destroy_plan(g);
  fftwf_free(a); fftwf_free(sp);
}

/* split: max|px|, max|pz| over the layer cells; unsplit: max|Gx,Gz|, max|psi,xi| */
static void layer_max(const sim_t *s, double *mpx, double *mpz) {
  const size_t nX = (size_t)s->npz * s->ncol, nZ = (size_t)s->nrow * s->nzc;
  if (s->o.pml == 2) {
    *mpx = fmax(fmax(maxabs(s->xm[0], nX), maxabs(s->xm[1], nX)), fmax(maxabs(s->zm[0], nZ), maxabs(s->zm[1], nZ)));
    *mpz = 0;
    for (int k = 2; k < 6; k++) *mpz = fmax(*mpz, maxabs(s->xm[k], nX));
    for (int k = 2; k < 4; k++) *mpz = fmax(*mpz, maxabs(s->zm[k], nZ));
    return;
  }
  *mpx = fmax(maxabs(s->xpx, nX), maxabs(s->zpx, nZ));
  *mpz = fmax(maxabs(s->xpz, nX), maxabs(s->zpz, nZ));
}

/* where is max|px|: region, padded (ix, iz), the px and pz values there */
static void where_px(const sim_t *s) {
  const size_t nX = (size_t)s->npz * s->ncol, nZ = (size_t)s->nrow * s->nzc;
  size_t bi = 0; float bv = -1; int reg = 0;
  for (size_t i = 0; i < nX; i++) if (fabsf(s->xpx[i]) > bv) { bv = fabsf(s->xpx[i]); bi = i; reg = 0; }
  for (size_t i = 0; i < nZ; i++) if (fabsf(s->zpx[i]) > bv) { bv = fabsf(s->zpx[i]); bi = i; reg = 1; }
  int ix, iz; float px, pz;
  if (reg == 0) { iz = (int)(bi / s->ncol); const int c = (int)(bi % s->ncol);
    ix = c < s->wxl ? c : s->npx - s->ncol + c; px = s->xpx[bi]; pz = s->xpz[bi]; }
  else { const int zr = (int)(bi / s->nzc); ix = s->wxl + (int)(bi % s->nzc);
    iz = zr < s->wzl ? zr : s->npz - s->nrow + zr; px = s->zpx[bi]; pz = s->zpz[bi]; }
  printf("           max|px| in %s region at padded (ix %d, iz %d): px %.3e pz %.3e p %.3e (ex %.2e ez %.2e)\n",
         reg ? "Z" : "X", ix, iz, px, pz, s->p[(size_t)iz * s->npx + ix], s->ex[ix], s->ez[iz]);
}

/* init: 0 = corner shot (shot 2) then free run; 1 = white noise in the interior */
static int stab(const opts_t *o, int hetero, int init, long nsteps, long every) {
  const double h = V0 / (2.5 * FP) / 3.0;
  const double cref = hetero ? 4000.0 : V0;
  const double dt = o->cfl * h / cref;
  const int n = N80, np = n + 2 * o->nb;
  sim_t *s = sim_create(n, n, np, np, h, cref, dt, o);
  const size_t npp = (size_t)np * np;
  if (hetero) {
    random_smooth(s->vel, np, np, 4.0, 1500.0, 4000.0, 12345u);
    double vmn = 1e9, vmx = 0, lmn = 1e9, lmx = 0;
    for (int iz = 0; iz < np; iz++)
      for (int ix = 0; ix < np; ix++) {
        const double v = s->vel[(size_t)iz * np + ix];
        vmn = fmin(vmn, v); vmx = fmax(vmx, v);
        if (ix < s->ox || ix >= s->ox + n || iz < s->oz || iz >= s->oz + n) { lmn = fmin(lmn, v); lmx = fmax(lmx, v); }
      }
    printf("  heterogeneous v in [%.0f, %.0f] m/s (layers: [%.0f, %.0f]), c_ref = %.0f\n", vmn, vmx, lmn, lmx, cref);
    for (size_t i = 0; i < npp; i++) s->vel[i] = (float)(s->vel[i] * s->vel[i] * dt * dt);
  } else {
    for (size_t i = 0; i < npp; i++) s->vel[i] = (float)(V0 * V0 * dt * dt);
  }
  printf("  grid %dx%d, nb %d, dt %.5f s, cfl %.2f (c dt sqrt(2)/h = %.3f), layer cells %zu of %zu (%.1f %%)\n",
         np, np, o->nb, dt, o->cfl, o->cfl * sqrt(2.0), (size_t)np * np - (size_t)n * n,
         npp, 100.0 * (npp - (double)n * n) / npp);
  int isrc = -1;
  if (init == 1) {
    srand(777u);
    for (int iz = 0; iz < n; iz++)
      for (int ix = 0; ix < n; ix++) {
        const size_t i = (size_t)(s->oz + iz) * np + s->ox + ix;
        s->p[i] = s->pp[i] = (float)rand() / RAND_MAX - 0.5f;
      }
  } else {
    shot_t sh[4];
    make_shots(sh);
    isrc = (s->oz + sh[2].sz) * np + s->ox + sh[2].sx;
  }
  const float sc = (float)(1.0 / (h * h));
  const long nsrc = (long)(0.6 / dt); /* source on for 0.6 s (Ricker ends at 0.3 s) */
  double peak = 0, late_max = 0;
  int ok = 1;
  printf("  %8s %12s %12s %12s %12s\n", "step", "max|p|", "max|p| int", o->pml == 2 ? "max|G|" : "max|px|",
         o->pml == 2 ? "max|psi,xi|" : "max|pz|");
  const int diag = getenv("PML_DIAG") != NULL;
  for (long it = 1; it <= nsteps; it++) {
    const int is = (isrc >= 0 && it <= nsrc) ? isrc : -1;
    step(s, is, is >= 0 ? (float)(ricker((it - 1) * dt, FP, T0) * sc) : 0.0f);
    if (it % 100 == 0 || it == nsteps) {
      const double m = maxabs(s->p, npp);
      if (!(m < 1e30)) { printf("  %8ld  BLOW-UP (max|p| = %g)\n", it, m); ok = 0; break; }
      if (it <= nsrc + 2000) peak = fmax(peak, m);
      else late_max = fmax(late_max, m);
    }
    if (it % every == 0 || it == nsteps || it == 1000 || it == 3000) {
      double mi = 0, mpx = 0, mpz = 0;
      for (int iz = 0; iz < n; iz++)
        mi = fmax(mi, maxabs(s->p + (size_t)(s->oz + iz) * np + s->ox, n));
      if (o->pml) layer_max(s, &mpx, &mpz);
      printf("  %8ld %12.4e %12.4e %12.4e %12.4e\n", it, maxabs(s->p, npp), mi, mpx, mpz);
      if (diag && o->pml == 1) where_px(s);
    }
  }
  printf("  peak max|p| during/just after the source: %.4e; max|p| after step %ld: %.4e\n", peak,
         nsrc + 2000, late_max);
  sim_destroy(s);
  return ok;
}

/* ---------------------------------------------------------------- cost */
static double median(double *a, int n) { qsort(a, n, sizeof *a, cmpd); return a[n / 2]; }

/* Cost on one padded grid (good_size as the project), FFTW_MEASURE plans.
 * Times per step, median over `reps` repetitions of `nsteps` steps, all
 * interleaved in one run: the plain 2D r2c + c2r pair; the strip operators
 * alone (gathers, 1D r2c/c2r, multiplies); the sponge step; the split PML as
 * specified; the split PML with the d' terms; the unsplit PML with d'. */
static void cost(int nx, int nz, int nb, int nsteps, int reps) {
  const double h = 10.0, c = 2000.0, dt = 0.3 * h / c;
  const int npx = good_size(nx + 2 * nb), npz = good_size(nz + 2 * nb);
  opts_t o[4];
  const char *nm[4] = {"sponge", "split", "split+d'", "unsplit+d'"};
  for (int k = 0; k < 4; k++)
    o[k] = (opts_t){.pml = 0, .nb = nb, .pw = 4, .logr = 10, .cfl = 0.3, .emin = 1e-4,
                    .fflags = FFTW_MEASURE};
  o[0].logr = 4.5;
  o[1].pml = 1; o[1].logr = 5;
  o[2].pml = 1; o[2].dprime = 1; o[2].fdo = 8;
  o[3].pml = 2; o[3].dprime = 1; o[3].fdo = 8;
  double t0 = now();
  sim_t *S[4];
  for (int k = 0; k < 4; k++) S[k] = sim_create(nx, nz, npx, npz, h, c, dt, &o[k]);
  const double tplan = now() - t0;
  const size_t np = (size_t)npx * npz;
  srand(1);
  for (size_t i = 0; i < np; i++) {
    const float v = 1e-3f * ((float)rand() / RAND_MAX - 0.5f);
    for (int k = 0; k < 4; k++) { S[k]->vel[i] = (float)(c * c * dt * dt); S[k]->p[i] = v; }
  }
  const size_t nlay = np - (size_t)nx * nz;
  printf("interior %dx%d nb %d padded %dx%d (layer cells %zu = %.1f %%; strips %d rows x %d + %d cols x %d) plan %.1f s\n",
         nx, nz, nb, npx, npz, nlay, 100.0 * nlay / np, S[1]->nrow, npx, S[1]->ncol, npz, tplan);
  double tf[64], tstr[64], ts[4][64];
  for (int r = 0; r < reps; r++) {
    double t = now(); /* the plain 2D r2c + c2r pair */
    for (int k = 0; k < nsteps; k++) {
      fftwf_execute_dft_r2c(S[0]->fwd, S[0]->p, (fftwf_complex *)S[0]->spec);
      fftwf_execute_dft_c2r(S[0]->inv, (fftwf_complex *)S[0]->spec, S[0]->lap);
    }
    tf[r] = (now() - t) / nsteps;
    t = now();
    for (int k = 0; k < nsteps; k++) strips(S[1]);
    tstr[r] = (now() - t) / nsteps;
    for (int q = 0; q < 4; q++) {
      t = now();
      for (int k = 0; k < nsteps; k++) step(S[q], -1, 0.0f);
      ts[q][r] = (now() - t) / nsteps;
    }
  }
  const double f = median(tf, reps), st = median(tstr, reps);
  double tq[4];
  for (int q = 0; q < 4; q++) tq[q] = median(ts[q], reps);
  printf("  median of %d x %d steps, ms/step: fft pair %.3f | strips %.3f", reps, nsteps, 1e3 * f, 1e3 * st);
  for (int q = 0; q < 4; q++) printf(" | %s %.3f", nm[q], 1e3 * tq[q]);
  printf("\n  relative to the fft pair: strips %.3f", st / f);
  for (int q = 0; q < 4; q++) printf(", %s %.3f", nm[q], tq[q] / f);
  printf("\n  relative to the sponge step:");
  for (int q = 1; q < 4; q++) printf(" %s %.3f", nm[q], tq[q] / tq[0]);
  printf("\nTABLE | %dx%d | %d | %dx%d | %.1f | %.3f | %.3f | %.3f | %.3f | %.3f | %.3f | %.2f | %.2f | %.2f |\n",
         nx, nz, nb, npx, npz, 100.0 * nlay / np, 1e3 * f, 1e3 * st, 1e3 * tq[0], 1e3 * tq[1], 1e3 * tq[2],
         1e3 * tq[3], tq[0] / f, tq[3] / f, tq[3] / tq[0]);
  for (int k = 0; k < 4; k++) sim_destroy(S[k]);
}

/* ---------------------------------------------------------------- main */
static void usage(void) {
  fprintf(stderr,
          "usage: proto reflect [opts]         (reflection ratios, verbose)\n"
          "       proto scan [opts] -L a,b,c   (ln(1/R) list, one line each)\n"
          "       proto stab [opts] [-het] [-noise] [-steps N] [-every K]\n"
          "       proto cost NX NZ NB [NSTEPS REPS]\n"
          "opts: -sponge | -pml, -nb N, -pow P, -logr X, -corner 0|1, -cornersponge, -cfl C\n");
  exit(2);
}

int main(int argc, char **argv) {
  _mm_setcsr(_mm_getcsr() | 0x8040); /* FTZ | DAZ */
  if (argc < 2) usage();
  const char *mode = argv[1];
  if (!strcmp(mode, "cost")) {
    if (argc < 5) usage();
    cost(atoi(argv[2]), atoi(argv[3]), atoi(argv[4]), argc > 5 ? atoi(argv[5]) : 500,
         argc > 6 ? atoi(argv[6]) : 5);
    return 0;
  }
  opts_t o = {.pml = 1, .nb = 30, .pw = 4, .logr = 4.5, .corner = 0, .cfl = 0.3, .emin = 1e-3,
              .fflags = FFTW_ESTIMATE};
  int het = 0, noise = 0;
  long steps = 100000, every = 10000;
  char lst[256] = "";
  for (int i = 2; i < argc; i++) {
    const char *a = argv[i];
    if (!strcmp(a, "-sponge")) o.pml = 0;
    else if (!strcmp(a, "-pml")) o.pml = 1;
    else if (!strcmp(a, "-unsplit")) o.pml = 2;
    else if (!strcmp(a, "-emin") && i + 1 < argc) o.emin = atof(argv[++i]);
    else if (!strcmp(a, "-nb") && i + 1 < argc) o.nb = atoi(argv[++i]);
    else if (!strcmp(a, "-pow") && i + 1 < argc) o.pw = atof(argv[++i]);
    else if (!strcmp(a, "-logr") && i + 1 < argc) o.logr = atof(argv[++i]);
    else if (!strcmp(a, "-corner") && i + 1 < argc) o.corner = atoi(argv[++i]);
    else if (!strcmp(a, "-cornersponge")) o.cornersponge = 1;
    else if (!strcmp(a, "-dprime") && i + 1 < argc) { o.dprime = 1; o.fdo = atoi(argv[++i]); }
    else if (!strcmp(a, "-pform")) o.pform = 1;
    else if (!strcmp(a, "-xonly")) o.xonly = 1;
    else if (!strcmp(a, "-weak") && i + 1 < argc) o.weak = atof(argv[++i]);
    else if (!strcmp(a, "-cfl") && i + 1 < argc) o.cfl = atof(argv[++i]);
    else if (!strcmp(a, "-het")) het = 1;
    else if (!strcmp(a, "-noise")) noise = 1;
    else if (!strcmp(a, "-steps") && i + 1 < argc) steps = atol(argv[++i]);
    else if (!strcmp(a, "-every") && i + 1 < argc) every = atol(argv[++i]);
    else if (!strcmp(a, "-L") && i + 1 < argc) snprintf(lst, sizeof lst, "%s", argv[++i]);
    else usage();
  }
  if (!strcmp(mode, "reflect")) {
    double w[4];
    printf("%s nb %d pow %g ln(1/R) %g cfl %g\n", absname(&o), o.nb, o.pw, o.logr, o.cfl);
    reflect(&o, w, 1);
    printf("  worst: shot0 %.3f%%  shot1 %.3f%%  shot2 %.3f%%  shot3 %.3f%%\n", 100 * w[0],
           100 * w[1], 100 * w[2], 100 * w[3]);
  } else if (!strcmp(mode, "scan")) {
    char *tok = strtok(lst[0] ? lst : (char[]){"4.5"}, ",");
    for (; tok; tok = strtok(NULL, ",")) {
      o.logr = atof(tok);
      double w[4];
      reflect(&o, w, 0);
      printf("%-10s nb %2d pow %g lnR %5.2f | %7.3f %7.3f %7.3f %7.3f | max %7.3f %%\n", absname(&o),
             o.nb, o.pw, o.logr, 100 * w[0], 100 * w[1], 100 * w[2], 100 * w[3],
             100 * fmax(fmax(w[0], w[1]), fmax(w[2], w[3])));
      fflush(stdout);
    }
  } else if (!strcmp(mode, "stab")) {
    printf("stability: %s nb %d pow %g ln(1/R) %g cfl %g %s %s\n", absname(&o), o.nb, o.pw, o.logr,
           o.cfl, het ? "heterogeneous" : "homogeneous", noise ? "noise init" : "corner shot");
    const int ok = stab(&o, het, noise, steps, every);
    printf("  %s\n", ok ? "finished" : "UNSTABLE");
  } else usage();
  return 0;
}
