/* eig.c -- exact discrete stability analysis of the spectral PML variants in
 * x-layers (left/right layers, z periodic) for one vertical wavenumber kz.
 * For fixed kz the 2D scheme separates exactly into a 1D problem along x.
 * The one-step map of the full state is built as a dense matrix (by applying
 * the linear step to unit vectors) and its eigenvalues are computed with
 * LAPACK dgeev; max |lambda| > 1 means exponential growth, and a defective
 * (Jordan) eigenvalue at 1 shows up as max|lambda| - 1 ~ sqrt(round-off)
 * (1e-8 in double), i.e. a perturbation of relative size eps would grow at
 * the rate sqrt(eps) per step (2.4e-4 per step for float's eps).
 *
 * Build: gcc -O2 -std=c11 eig.c -llapack -lm -o eig
 * Usage: eig MODE NB POW LOGR CFL DPRIME [NKZ] [NX]
 *   MODE 0: split, Az = Kz'' p, Ax = K p - Az (prototype's x-layer split)
 *   MODE 1: split, Ax = Kx' p,  Az = K p - Ax
 *   MODE 2: unsplit (memory variables), Ax / Az as mode 0  (see proto.c)
 *   DPRIME 1: with the exact-PML d'(x) terms (FD8 d/dx)
 *   NKZ: kz values scanned over [0, pi/h] (default 71 = the 140-point grid's)
 * Homogeneous v = c_ref = 2000 m/s, h = 26.667 m, as the reflection test. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

extern void dgeev_(const char *jobvl, const char *jobvr, const int *n, double *a, const int *lda,
                   double *wr, double *wi, double *vl, const int *ldvl, double *vr,
                   const int *ldvr, double *work, const int *lwork, int *info);

static const double PI = 3.14159265358979323846;
static int n, nl, mode, dprime;
static double *M, *Mx, *D, *e, *g, vel, mz, dt;
static int *lay, *li;

/* state layout: p[n], pprev[n], then per layer cell:
 *   split   (0/1): px, pz, pxprev, pzprev            (p in layer cells unused)
 *   unsplit (2)  : Gx, Gz (half-step memory variables)
 *   + dprime     : psi, xi (split: psi only)           */
static double alpha; /* CFS shift (1/s), mode 3 */
static double beta;  /* mode 2: Gz damping beta * dx */
static int nper(void) { return mode == 3 ? 2 : (mode == 2 ? 2 : 4) + (dprime ? 2 : 0); }

static void step(const double *s, double *o) {
  const double *p = s, *pp = s + n, *L = s + 2 * n;
  const int np = nper();
  memset(o, 0, (size_t)(2 * n + nl * np) * sizeof(double));
  double *pf = malloc(n * sizeof(double)), *lap = calloc(n, sizeof(double)),
         *kx = calloc(n, sizeof(double)), *dp = calloc(n, sizeof(double));
  for (int i = 0; i < n; i++) {
    pf[i] = p[i];
    if (lay[i] && mode != 2) pf[i] = L[li[i] * np + 0] + L[li[i] * np + 1];
  }
  for (int i = 0; i < n; i++)
    for (int j = 0; j < n; j++) {
      lap[i] += M[i * n + j] * pf[j];
      kx[i] += Mx[i * n + j] * pf[j];
      dp[i] += D[i * n + j] * pf[j];
    }
  if (mode == 3) {
    /* CPML: p_tt = v^2 [K p - Dx(d m1) - d m2], (dt + a + d) m1 = Dx p,
     * (dt + a + d) m2 = Ax p - Dx(d m1); m at half steps, averaged to n. */
    double *q = calloc(n, sizeof(double)), *dq = calloc(n, sizeof(double)), *m1m = calloc(n, sizeof(double));
    for (int i = 0; i < n; i++) {
      if (!lay[i]) continue;
      const double ea = e[i] + alpha * dt, b1 = (1 - ea / 2) / (1 + ea / 2), c = 1 / (1 + ea / 2);
      const double *Li = L + li[i] * np;
      double *Oi = o + 2 * n + li[i] * np;
      Oi[0] = b1 * Li[0] + c * dt * dp[i];
      m1m[i] = 0.5 * (Li[0] + Oi[0]);
      q[i] = e[i] / dt * m1m[i];
    }
    for (int i = 0; i < n; i++)
      for (int j = 0; j < n; j++) dq[i] += D[i * n + j] * q[j];
    for (int i = 0; i < n; i++) {
      double R = lap[i] - dq[i];
      if (lay[i]) {
        const double ea = e[i] + alpha * dt, b1 = (1 - ea / 2) / (1 + ea / 2), c = 1 / (1 + ea / 2);
        const double Az = mz * p[i], Ax = lap[i] - Az;
        const double *Li = L + li[i] * np;
        double *Oi = o + 2 * n + li[i] * np;
        Oi[1] = b1 * Li[1] + c * dt * (Ax - dq[i]);
        R -= e[i] / dt * 0.5 * (Li[1] + Oi[1]);
      }
      o[i] = 2 * p[i] - pp[i] + vel * R;
      o[n + i] = p[i];
    }
    free(q); free(dq); free(m1m); free(pf); free(lap); free(kx); free(dp);
    return;
  }
  for (int i = 0; i < n; i++) {
    if (!lay[i]) {
      o[i] = 2 * p[i] - pp[i] + vel * lap[i];
      o[n + i] = p[i];
      continue;
    }
    const double ee = e[i], b1 = (1 - ee / 2) / (1 + ee / 2), c = 1 / (1 + ee / 2);
    double Ax, Az;
    if (mode == 1) { Ax = kx[i]; Az = lap[i] - Ax; } else { Az = mz * pf[i]; Ax = lap[i] - Az; }
    const double *Li = L + li[i] * np;
    double *Oi = o + 2 * n + li[i] * np;
    if (mode != 2) {
      /* split: psi (index 4) */
      if (dprime) {
        const double ps = Li[4], pn = b1 * ps + c * dt * dp[i];
        Oi[4] = pn;
        Ax -= g[i] * 0.5 * (ps + pn);
      }
      const double a1 = (2 - ee * ee) / (1 + ee), a2 = (1 - ee) / (1 + ee), a3 = 1 / (1 + ee);
      Oi[0] = a1 * Li[0] - a2 * Li[2] + a3 * vel * Ax;
      Oi[1] = 2 * Li[1] - Li[3] + vel * Az;
      Oi[2] = Li[0]; Oi[3] = Li[1];
      o[i] = Oi[0] + Oi[1]; o[n + i] = pf[i]; /* (not state: p is px + pz) */
      o[i] = 0; o[n + i] = 0;
    } else {
      /* unsplit, dz = 0: (dt + dx) Gx = -dx Ax p ; dt Gz = dx Az p */
      /* EIG_BETA: (dt + beta dx) Gz = dx Az p (weak damping of the integrator) */
      const double eb = beta * ee, bz1 = (1 - eb / 2) / (1 + eb / 2), bzc = 1 / (1 + eb / 2);
      const double gxn = b1 * Li[0] + c * (-ee) * Ax, gzn = bz1 * Li[1] + bzc * ee * Az;
      double R = lap[i] + 0.5 * (Li[0] + gxn) + 0.5 * (Li[1] + gzn);
      Oi[0] = gxn; Oi[1] = gzn;
      if (dprime) {
        /* (dt + d + alpha) psi = Dx p, (dt + d + alpha) xi = psi (alpha: EIG_ALPHA) */
        const double ea = ee + alpha * dt, b1a = (1 - ea / 2) / (1 + ea / 2), ca = 1 / (1 + ea / 2);
        const double ps = Li[2], pn = b1a * ps + ca * dt * dp[i], pm = 0.5 * (ps + pn);
        const double xs = Li[3], xn = b1a * xs + ca * dt * pm, xm = 0.5 * (xs + xn);
        Oi[2] = pn; Oi[3] = xn;
        R -= g[i] * (pm + (0.0 - ee) / dt * xm);
      }
      o[i] = ((2 - 0.0) * p[i] - (1 - ee / 2) * pp[i] + vel * R) / (1 + ee / 2);
      o[n + i] = p[i];
    }
  }
  free(pf); free(lap); free(kx); free(dp);
}

int main(int argc, char **argv) {
  if (argc < 7) { fprintf(stderr, "usage: eig MODE NB POW LOGR CFL DPRIME [NKZ] [NX]\n"); return 2; }
  mode = atoi(argv[1]);
  const int nb = atoi(argv[2]);
  const double pw = atof(argv[3]), logr = atof(argv[4]), cfl = atof(argv[5]);
  dprime = atoi(argv[6]);
  alpha = getenv("EIG_ALPHA") ? atof(getenv("EIG_ALPHA")) : 0.0;
  beta = getenv("EIG_BETA") ? atof(getenv("EIG_BETA")) : 0.0;
  const int nkz = argc > 7 ? atoi(argv[7]) : 71, nx = argc > 8 ? atoi(argv[8]) : 80;
  const double cc = 2000.0, h = cc / 25.0 / 3.0;
  dt = cfl * h / cc; vel = cc * cc * dt * dt;
  n = nx + 2 * nb;
  const int ox = nb;
  e = calloc(n, sizeof *e); g = calloc(n, sizeof *g);
  lay = calloc(n, sizeof *lay); li = calloc(n, sizeof *li);
  const double d0 = (pw + 1) * cc * logr / (2.0 * nb * h);
  nl = 0;
  for (int i = 0; i < n; i++) {
    double s = 0, sg = 0;
    if (i < ox) { s = ox - i; sg = -1; } else if (i >= ox + nx) { s = i - (ox + nx - 1); sg = 1; }
    lay[i] = s > 0;
    li[i] = lay[i] ? nl++ : -1;
    double r = s / nb; if (r > 1) r = 1;
    e[i] = fmin(d0 * pow(r, pw) * dt, 1.0);
    g[i] = (s > 0 && s <= nb) ? sg * d0 * pw * pow(s / nb, pw - 1) / (nb * h) : 0.0;
    if (getenv("EIG_EMIN") && e[i] < atof(getenv("EIG_EMIN"))) g[i] = 0.0; /* no d' term where e < emin */
    if (getenv("EIG_SIN")) {
      /* d = d1 sin(pi s / (2 nb))^pw: zero slope at the outer edge (smooth
       * across the periodic wrap); d1 so that int d dx = d0 nb h / (pw + 1) */
      static double d1 = 0;
      if (d1 == 0) {
        double sum = 0;
        for (int k = 0; k < 10000; k++) sum += pow(sin(PI / 2 * (k + 0.5) / 10000), pw) / 10000;
        d1 = d0 / (pw + 1) / sum;
      }
      const double th = PI / 2 * r;
      e[i] = fmin(d1 * pow(sin(th), pw) * dt, 1.0);
      g[i] = (s > 0) ? sg * d1 * pw * pow(sin(th), pw - 1) * cos(th) * PI / (2 * nb * h) : 0.0;
    }
  }
  const int ns = 2 * n + nl * nper();
  double *T = malloc((size_t)ns * ns * sizeof(double)), *wr = malloc(ns * sizeof(double)),
         *wi = malloc(ns * sizeof(double)), *u = calloc(ns, sizeof(double));
  M = malloc((size_t)n * n * sizeof(double)); Mx = malloc((size_t)n * n * sizeof(double));
  D = calloc((size_t)n * n, sizeof(double));
  /* d/dx for the d' terms: FD of order EIG_FD (2, 4, 8; default 8) or, with
   * EIG_FD=0, the exact spectral derivative (Nyquist mode dropped) */
  const int fdo = getenv("EIG_FD") ? atoi(getenv("EIG_FD")) : 8;
  const double f8[4] = {4.0 / 5, -1.0 / 5, 4.0 / 105, -1.0 / 280}, f4[2] = {2.0 / 3, -1.0 / 12},
               f2[1] = {0.5};
  const double *fc = fdo == 2 ? f2 : fdo == 4 ? f4 : f8;
  if (fdo > 0) {
    for (int i = 0; i < n; i++)
      for (int k = 0; k < fdo / 2; k++) {
        D[i * n + (i + k + 1) % n] += fc[k] / h;
        D[i * n + (i - k - 1 + n) % n] -= fc[k] / h;
      }
  } else {
    /* EIG_FD=0: spectral d/dx; EIG_FD=-1: k-space derivative, symbol
     * i (2 / (c dt)) sin(c dt kx / 2), whose square is the Kx' symbol */
    for (int d = 0; d < n; d++) {
      double a = 0;
      for (int j = 1; j < (n + 1) / 2; j++) {
        const double kk = 2 * PI * j / (n * h);
        const double sym = fdo < 0 ? 2.0 / (cc * dt) * sin(0.5 * cc * dt * kk) : kk;
        a -= 2.0 * sym * sin(2 * PI * (double)j * d / n) / n;
      }
      for (int i = 0; i < n; i++) D[i * n + (i + d) % n] = -a; /* D[i][i+d] */
    }
  }
  const double f = 4.0 / (cc * cc * dt * dt);
  int lwork = -1, info;
  double wq;
  dgeev_("N", "N", &ns, T, &ns, wr, wi, NULL, &ns, NULL, &ns, &wq, &lwork, &info);
  lwork = (int)wq;
  double *work = malloc(lwork * sizeof(double));
  double worst = 0, kzw = 0;
  for (int ik = 0; ik < nkz; ik++) {
    const double kz = PI / h * ik / (nkz - 1);
    const double sz = sin(0.5 * cc * kz * dt);
    mz = -f * sz * sz;
    for (int d = 0; d < n; d++) {
      double a = 0, b = 0;
      for (int j = 0; j < n; j++) {
        const int jj = j <= n / 2 ? j : n - j;
        const double kx = 2 * PI * jj / (n * h);
        const double s1 = sin(0.5 * cc * sqrt(kx * kx + kz * kz) * dt), s2 = sin(0.5 * cc * kx * dt);
        const double cs = cos(2 * PI * (double)j * d / n) / n;
        a += -f * s1 * s1 * cs; b += -f * s2 * s2 * cs;
      }
      for (int i = 0; i < n; i++) { M[i * n + (i + d) % n] = a; Mx[i * n + (i + d) % n] = b; }
    }
    /* T column-major: column k = step(unit k) */
    for (int k = 0; k < ns; k++) {
      memset(u, 0, ns * sizeof(double));
      u[k] = 1.0;
      step(u, T + (size_t)k * ns);
    }
    if (getenv("EIG_VEC") && ik == atoi(getenv("EIG_VEC"))) {
      /* right eigenvector of the largest |lambda|: print |p| and the memory
       * variables per cell */
      double *vr = malloc((size_t)ns * ns * sizeof(double));
      int lw2 = -1; double q2;
      dgeev_("N", "V", &ns, T, &ns, wr, wi, NULL, &ns, vr, &ns, &q2, &lw2, &info);
      lw2 = (int)q2; double *w2 = malloc(lw2 * sizeof(double));
      dgeev_("N", "V", &ns, T, &ns, wr, wi, NULL, &ns, vr, &ns, w2, &lw2, &info);
      int kb = 0;
      for (int k = 0; k < ns; k++) if (hypot(wr[k], wi[k]) > hypot(wr[kb], wi[kb])) kb = k;
      printf("eigenvalue %.10f %+.3e i; vector (real part) per cell: p, then memory vars\n", wr[kb], wi[kb]);
      const double *v = vr + (size_t)kb * ns;
      for (int i = 0; i < n; i++) {
        printf("  cell %3d %s e %.4f g %+.3e  p %+.3e", i, lay[i] ? "L" : "I", e[i], g[i], v[i]);
        if (lay[i]) for (int k = 0; k < nper(); k++) printf(" %+.3e", v[2 * n + li[i] * nper() + k]);
        printf("\n");
      }
      return 0;
    }
    dgeev_("N", "N", &ns, T, &ns, wr, wi, NULL, &ns, NULL, &ns, work, &lwork, &info);
    if (info) { fprintf(stderr, "dgeev info %d\n", info); return 1; }
    double mx = 0, ang = 0;
    for (int k = 0; k < ns; k++)
      if (hypot(wr[k], wi[k]) > mx) { mx = hypot(wr[k], wi[k]); ang = fabs(atan2(wi[k], wr[k])); }
    if (getenv("EIG_ALL"))
      printf("  kz %.3f of Nyquist: max|lambda| - 1 = %+.3e (frequency %.3f Hz)\n", kz * h / PI, mx - 1,
             ang / (2 * PI * dt));
    if (mx > worst) { worst = mx; kzw = kz; }
  }
  if (getenv("EIG_EMIN")) printf("emin %s ", getenv("EIG_EMIN"));
  printf("alpha %g mode %d nb %d pow %g lnR %g cfl %g dprime %d: max|lambda| - 1 = %+.3e at kz = %.3f of Nyquist\n",
         alpha, mode, nb, pw, logr, cfl, dprime, worst - 1, kzw * h / PI);
  return 0;
}
