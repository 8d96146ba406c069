/* Synthetic velocity-model families: flat, folded and faulted layers, a salt
 * body in layers, Gaussian anomalies or a disc on a smooth background.
 *
 * How a model is built (docs/model.md has the parameter ranges):
 *  1. All random draws come from splitmix64 streams keyed by (seed, family,
 *     component), so the result depends only on the parameters and the seed,
 *     never on the grid size, and adding a draw to one component does not
 *     shift the others.
 *  2. Every length is drawn as a fraction of the physical extent of the
 *     geology (lx = (nx - 1) dx wide, lz = (nz - 1) dz - water_depth thick,
 *     measured from the grid's first point and the sea floor). The geology is
 *     then a function of position in metres, so the same seed on a finer grid
 *     over the same extent gives the same geology sampled more finely.
 *  3. Structure is computed by restoration: a present-day point (x, z) is
 *     moved back through the deformations, youngest first (faults, then salt
 *     drag, then folding), to its depth d at deposition; a layer stack gives
 *     the velocity at d. Restoration is a closed-form map, so layers never
 *     cross and faults offset every layer consistently. */
#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "psfwi_model.h"

#ifndef M_PI
#define M_PI 3.14159265358979323846
#endif

/* ---- Random numbers ------------------------------------------------------
 * splitmix64 (Steele, Lea & Flood 2014): state advances by a fixed odd
 * constant and is hashed by a bijective mixer. Integer arithmetic only, so
 * the sequence is the same on every machine. */
typedef struct {
  uint64_t state;
} rng;

static uint64_t mix64(uint64_t z) { return (uint64_t)psfwi_mix64((unsigned long long)z); }

static uint64_t rng_next(rng *r) {
  unsigned long long s = r->state;
  const uint64_t v = (uint64_t)psfwi_splitmix64(&s);
  r->state = (uint64_t)s;
  return v;
}

/* Uniform in [0, 1) with 53 random bits. */
static double rng_uniform(rng *r) {
  return (double)(rng_next(r) >> 11) * (1.0 / 9007199254740992.0);
}

static double rng_range(rng *r, double a, double b) { return a + (b - a) * rng_uniform(r); }

/* Uniform integer in [lo, hi]. */
static int rng_int(rng *r, int lo, int hi) {
  return lo + (int)(rng_uniform(r) * (double)(hi - lo + 1));
}

static double rng_sign(rng *r) { return rng_uniform(r) < 0.5 ? -1.0 : 1.0; }

/* Components, each with its own stream. Values are part of the
 * reproducibility contract: never renumber. */
enum { STREAM_STRAT = 1, STREAM_FOLD = 2, STREAM_FAULT = 3, STREAM_SALT = 4, STREAM_ANOMALY = 5 };

static rng rng_stream(uint64_t seed, psfwi_family family, unsigned stream) {
  rng r;
  const uint64_t key = ((uint64_t)family << 8) | (uint64_t)stream;
  r.state = mix64(seed ^ mix64(key + UINT64_C(0x632BE59BD9B4E019)));
  return r;
}

/* ---- Family names --------------------------------------------------------- */
static const char *const family_names[PSFWI_FAMILY_COUNT] = {"layered", "folded",  "faulted",
                                                             "salt",    "anomaly", "blocky"};

const char *psfwi_family_name(psfwi_family f) {
  if ((int)f < 0 || f >= PSFWI_FAMILY_COUNT) return "unknown";
  return family_names[f];
}

int psfwi_family_parse(const char *name, psfwi_family *f, psfwi_error *err) {
  if (name == NULL || f == NULL)
    return psfwi_fail(err, PSFWI_EINVAL, "model family: name or result pointer is NULL");
  for (int i = 0; i < (int)PSFWI_FAMILY_COUNT; i++) {
    const char *a = name, *b = family_names[i];
    while (*a != '\0' && tolower((unsigned char)*a) == *b) a++, b++;
    if (*a == '\0' && *b == '\0') {
      *f = (psfwi_family)i;
      return PSFWI_OK;
    }
  }
  return psfwi_fail(err, PSFWI_EINVAL,
                    "unknown model family '%s'; expected one of layered, folded, faulted, salt, "
                    "anomaly, blocky",
                    name);
}

void psfwi_synth_defaults(psfwi_synth_params *p) {
  if (p == NULL) return;
  p->family = PSFWI_FAMILY_LAYERED;
  p->seed = 1;
  p->vmin = 1500.0;
  p->vmax = 4500.0;
  p->water_depth = 0.0;
}

/* ---- Layer stack -----------------------------------------------------------
 * Layers by depth at deposition d (m below the sea floor). Layer k spans
 * [top[k], top[k + 1]); layer 0 also takes d < 0 and the last one goes on
 * forever. Velocity in layer k: v[k] + grad[k] (d - top[k]). */
enum { MAX_LAYERS = 96 };

typedef struct {
  size_t n;
  double top[MAX_LAYERS];  /* m, top[0] = 0, increasing */
  double v[MAX_LAYERS];    /* m/s at the top of the layer */
  double grad[MAX_LAYERS]; /* (m/s)/m: compaction within the layer */
  double vlo, vhi;         /* every layer velocity is clipped into this range */
} strat;

static double clampd(double v, double lo, double hi) { return v < lo ? lo : (v > hi ? hi : v); }

/* Draw a stack down to 1.6 lz (restoration can reach below the model). The
 * velocity follows a compaction trend a + (b - a) t^p of the depth fraction
 * t (fractions of [vlo, vhi]), with +-3 % jitter per layer and, one layer in
 * eight, a slow layer (velocity inversion). Thicknesses mix thin beds (0.8 to
 * 3 % of lz) and thick ones (4 to 16 %), all scaled by a per-model factor
 * 0.5..2 (finely bedded to massive). */
static void strat_draw(rng *r, double lz, double vlo, double vhi, strat *s) {
  const double span = vhi - vlo;
  const double scale = rng_range(r, 0.5, 2.0);
  const double a = rng_range(r, 0.0, 0.15), b = rng_range(r, 0.7, 1.0);
  const double p = rng_range(r, 0.6, 1.4);
  s->vlo = vlo;
  s->vhi = vhi;
  s->n = 0;
  double d = 0.0;
  while (s->n < MAX_LAYERS) {
    const size_t k = s->n++;
    const double t = fmin(d / lz, 1.0);
    double frac = a + (b - a) * pow(t, p) + rng_range(r, -0.03, 0.03);
    if (k > 0 && rng_uniform(r) < 0.125) frac -= rng_range(r, 0.04, 0.10);
    const double thin = rng_range(r, 0.008, 0.03), thick = rng_range(r, 0.04, 0.16);
    const double h = lz * scale * (rng_uniform(r) < 0.3 ? thin : thick);
    s->top[k] = d;
    s->v[k] = vlo + span * clampd(frac, 0.0, 1.0);
    s->grad[k] = span / lz * rng_range(r, 0.0, 0.12);
    d += h;
    if (d > 1.6 * lz) break;
  }
}

/* A blocky stack (the layer-cake of textbooks): 2 to 8 flat layers of
 * constant velocity, each at least 4 % of lz thick, interfaces at sorted
 * uniform depths (so thicknesses vary from thin to most of the model). The
 * velocity rises with depth: the top layer at a fraction 0..0.5 of
 * [vlo, vhi], the bottom one 40 to 100 % of the way from there to vhi, the
 * layers between at sorted uniform draws inside that interval. */
static void blocky_draw(rng *r, double lz, double vlo, double vhi, strat *s) {
  enum { NMIN = 2, NMAX = 8 };
  const double span = vhi - vlo, hmin = 0.04 * lz;
  const size_t n = (size_t)rng_int(r, NMIN, NMAX);
  double top[NMAX], v[NMAX];
  /* n - 1 interfaces: sorted uniforms on the depth left after the minima */
  for (size_t k = 0; k + 1 < n; k++) top[k] = rng_range(r, 0.0, lz - (double)n * hmin);
  const double a = vlo + span * rng_range(r, 0.0, 0.5);
  const double b = a + (vhi - a) * rng_range(r, 0.4, 1.0);
  for (size_t k = 0; k + 2 < n; k++) v[k] = rng_range(r, a, b);
  for (size_t i = 1; i + 1 < n; i++) /* insertion sorts: at most 7 values */
    for (size_t j = i; j > 0 && top[j] < top[j - 1]; j--) {
      const double t = top[j];
      top[j] = top[j - 1];
      top[j - 1] = t;
    }
  for (size_t i = 1; i + 2 < n; i++)
    for (size_t j = i; j > 0 && v[j] < v[j - 1]; j--) {
      const double t = v[j];
      v[j] = v[j - 1];
      v[j - 1] = t;
    }
  s->vlo = vlo;
  s->vhi = vhi;
  s->n = n;
  for (size_t k = 0; k < n; k++) {
    s->top[k] = k == 0 ? 0.0 : top[k - 1] + (double)k * hmin;
    s->v[k] = k == 0 ? a : (k + 1 == n ? b : v[k - 1]);
    s->grad[k] = 0.0;
  }
}

static double strat_eval(const strat *s, double d) {
  /* Binary search for the last layer whose top is <= d. */
  size_t lo = 0, hi = s->n; /* answer in [lo, hi) */
  while (hi - lo > 1) {
    const size_t mid = lo + (hi - lo) / 2;
    if (s->top[mid] <= d)
      lo = mid;
    else
      hi = mid;
  }
  const double v = s->v[lo] + s->grad[lo] * fmax(d - s->top[lo], 0.0);
  return clampd(v, s->vlo, s->vhi);
}

/* ---- Folding ---------------------------------------------------------------
 * Uplift A(x) = sum_j amp_j sin(k_j x + ph_j) + slope (x - lx / 2), applied
 * with a depth-dependent factor: a bed deposited at depth d sits at
 * z = d + A(x) (alpha + beta d / lz). Restoration inverts this in closed form:
 * d = (z - alpha A) / (1 + beta A / lz); the ranges keep the denominator
 * >= 0.8, so beds never cross. */
typedef struct {
  size_t n;
  double amp[3], k[3], ph[3]; /* m, rad/m, rad */
  double slope;               /* regional dip, tan of the angle */
  double alpha, beta;
} folds;

static void folds_draw_strong(rng *r, double lx, double lz, folds *f) {
  static const double amp_lo[3] = {0.04, 0.01, 0.005}, amp_hi[3] = {0.12, 0.06, 0.03};
  static const double wl_lo[3] = {0.5, 0.2, 0.08}, wl_hi[3] = {2.0, 0.6, 0.25};
  f->n = (size_t)rng_int(r, 1, 3);
  for (size_t j = 0; j < 3; j++) {
    f->amp[j] = lz * rng_range(r, amp_lo[j], amp_hi[j]) * rng_sign(r);
    f->k[j] = 2.0 * M_PI / (lx * rng_range(r, wl_lo[j], wl_hi[j]));
    f->ph[j] = rng_range(r, 0.0, 2.0 * M_PI);
  }
  f->slope = lz / lx * rng_range(r, -0.1, 0.1);
  f->alpha = rng_range(r, 0.6, 1.0);
  f->beta = rng_range(r, -0.4, 0.4);
}

/* Gentle warping for the faulted and salt families; none half of the time. */
static void folds_draw_gentle(rng *r, double lx, double lz, folds *f) {
  const int on = rng_uniform(r) < 0.5;
  f->n = on ? 1 : 0;
  f->amp[0] = lz * rng_range(r, 0.01, 0.04) * rng_sign(r);
  f->k[0] = 2.0 * M_PI / (lx * rng_range(r, 0.6, 2.0));
  f->ph[0] = rng_range(r, 0.0, 2.0 * M_PI);
  f->slope = on ? lz / lx * rng_range(r, -0.03, 0.03) : 0.0;
  f->alpha = 1.0;
  f->beta = 0.0;
}

static double folds_uplift(const folds *f, double x, double lx) {
  double a = f->slope * (x - 0.5 * lx);
  for (size_t j = 0; j < f->n; j++) a += f->amp[j] * sin(f->k[j] * x + f->ph[j]);
  return a;
}

static double folds_restore(const folds *f, double uplift, double z, double lz) {
  return (z - f->alpha * uplift) / (1.0 + f->beta * uplift / lz);
}

/* ---- Faults ----------------------------------------------------------------
 * A planar fault through (xc, zc) dipping at angle theta towards dir = +-1:
 * x_f(z) = xc + dir (z - zc) cot(theta). The hanging wall (above the plane,
 * (x - x_f(z)) dir > 0) slid along the plane with vertical throw t (t > 0:
 * normal fault, down; t < 0: reverse, up); restoration moves a hanging-wall
 * point back by (dir t cot(theta), t). The slip is parallel to the plane, so
 * a restored point stays on its side. */
enum { MAX_FAULTS = 4 };

typedef struct {
  double xc, zc, cot, dir, throw_m;
} fault;

static size_t faults_draw(rng *r, double lx, double lz, fault *f) {
  const size_t n = (size_t)rng_int(r, 2, MAX_FAULTS);
  for (size_t i = 0; i < n; i++) {
    f[i].xc = lx * rng_range(r, 0.1, 0.9);
    f[i].zc = lz * rng_range(r, 0.3, 0.7);
    f[i].cot = 1.0 / tan(rng_range(r, 45.0, 80.0) * M_PI / 180.0);
    f[i].dir = rng_sign(r);
    const double normal = rng_uniform(r) < 0.75 ? 1.0 : -1.0;
    f[i].throw_m = normal * lz * rng_range(r, 0.03, 0.15);
  }
  return n;
}

/* Undo fault f on the point (x, z). */
static void fault_restore(const fault *f, double *x, double *z) {
  const double xf = f->xc + f->dir * (*z - f->zc) * f->cot;
  if ((*x - xf) * f->dir > 0.0) {
    *x -= f->dir * f->throw_m * f->cot;
    *z -= f->throw_m;
  }
}

/* ---- Salt body ---------------------------------------------------------------
 * A star-shaped blob around (xc, zc) with radii rx, rz: in the scaled
 * coordinates (ex, ez) = ((x - xc) / rx, (z - zc) / rz), a point is salt when
 * r = |(ex, ez)| <= 1 + sum_{j=2}^{6} a_j cos(j phi + ph_j), phi its polar
 * angle; |a_j| <= 0.25 / j keeps the radius within [0.64, 1.36]. Usually a
 * stem (the feeder of a diapir) goes down from the blob to the bottom, with
 * a slowly varying half-width. The layers around are dragged up into a dome:
 * a point at (x, z) restores to z + drag exp(-((x - xc) / w)^2). */
typedef struct {
  double xc, zc, rx, rz;
  double a[5], ph[5];
  int stem;
  double stem_w, stem_slope, stem_amp, stem_k, stem_ph; /* m, -, -, rad/m, rad */
  double drag, drag_w;                                  /* m */
  double v;                                             /* m/s */
} salt;

static void salt_draw(rng *r, double lx, double lz, double vmin, double vmax, salt *s) {
  const double span = vmax - vmin;
  s->xc = lx * rng_range(r, 0.25, 0.75);
  s->zc = lz * rng_range(r, 0.3, 0.65);
  s->rx = lx * rng_range(r, 0.08, 0.3);
  s->rz = lz * rng_range(r, 0.06, 0.2);
  for (int j = 0; j < 5; j++) {
    s->a[j] = rng_range(r, -0.25, 0.25) / (double)(j + 2);
    s->ph[j] = rng_range(r, 0.0, 2.0 * M_PI);
  }
  s->stem = rng_uniform(r) < 0.65;
  s->stem_w = s->rx * rng_range(r, 0.25, 0.5);
  s->stem_slope = lx / lz * rng_range(r, -0.1, 0.1);
  s->stem_amp = rng_range(r, 0.0, 0.25);
  s->stem_k = 2.0 * M_PI / (lz * rng_range(r, 0.3, 1.0));
  s->stem_ph = rng_range(r, 0.0, 2.0 * M_PI);
  s->drag = lz * rng_range(r, 0.02, 0.08);
  s->drag_w = s->rx * rng_range(r, 1.0, 2.0);
  s->v = vmax - span * rng_range(r, 0.0, 0.03);
}

static int salt_inside(const salt *s, double x, double z) {
  const double ex = (x - s->xc) / s->rx, ez = (z - s->zc) / s->rz;
  const double rr = ex * ex + ez * ez;
  if (rr <= 0.6 * 0.6) return 1;
  if (rr <= 1.4 * 1.4) {
    const double phi = atan2(ez, ex);
    double rho = 1.0;
    for (int j = 0; j < 5; j++) rho += s->a[j] * cos((double)(j + 2) * phi + s->ph[j]);
    if (rr <= rho * rho) return 1;
  }
  if (s->stem && z > s->zc) {
    const double xs = s->xc + s->stem_slope * (z - s->zc);
    const double w = s->stem_w * (1.0 + s->stem_amp * sin(s->stem_k * z + s->stem_ph));
    if (fabs(x - xs) <= w) return 1;
  }
  return 0;
}

/* ---- Anomalies ------------------------------------------------------------------
 * Background vmin + span (c0 + c1 (z / lz)^p + cx (x / lx - 1/2)): smooth,
 * increasing with depth, with a slight lateral trend. On it either 1 to 4
 * Gaussian anomalies amp exp(-(dx^2 / 2 sx^2 + dz^2 / 2 sz^2)) of either
 * sign, or (one model in three) a disc of constant velocity: the
 * "camembert" of Gauthier, Virieux & Tarantola (1986). */
enum { MAX_ANOMALIES = 4 };

typedef struct {
  double c0, c1, cx, p;
  int disc;
  size_t n;
  double x[MAX_ANOMALIES], z[MAX_ANOMALIES], sx[MAX_ANOMALIES], sz[MAX_ANOMALIES];
  double amp[MAX_ANOMALIES]; /* m/s */
  double radius, disc_v;     /* m, m/s */
} anomalies;

static double anomaly_background(const anomalies *a, double x, double z, double lx, double lz,
                                 double vmin, double span) {
  const double t = clampd(z / lz, 0.0, 1.0);
  return vmin + span * (a->c0 + a->c1 * pow(t, a->p) + a->cx * (x / lx - 0.5));
}

static void anomalies_draw(rng *r, double lx, double lz, double vmin, double vmax, anomalies *a) {
  const double span = vmax - vmin;
  a->c0 = rng_range(r, 0.1, 0.25);
  a->c1 = rng_range(r, 0.35, 0.55);
  a->cx = rng_range(r, -0.08, 0.08);
  a->p = rng_range(r, 0.6, 1.2);
  a->disc = rng_uniform(r) < 1.0 / 3.0;
  a->n = (size_t)rng_int(r, 1, MAX_ANOMALIES);
  for (size_t i = 0; i < MAX_ANOMALIES; i++) {
    const double s = rng_range(r, 0.04, 0.14);
    a->x[i] = lx * rng_range(r, 0.15, 0.85);
    a->z[i] = lz * rng_range(r, 0.2, 0.85);
    a->sx[i] = s * lx;
    a->sz[i] = s * lz * rng_range(r, 0.6, 1.4);
    a->amp[i] = span * rng_range(r, 0.08, 0.25) * rng_sign(r);
  }
  a->radius = fmin(lx, lz) * rng_range(r, 0.06, 0.2);
  const double contrast = span * rng_range(r, 0.1, 0.3) * rng_sign(r);
  a->disc_v = anomaly_background(a, a->x[0], a->z[0], lx, lz, vmin, span) + contrast;
}

static double anomalies_eval(const anomalies *a, double x, double z, double lx, double lz,
                             double vmin, double span) {
  if (a->disc) {
    const double ddx = x - a->x[0], ddz = z - a->z[0];
    if (ddx * ddx + ddz * ddz <= a->radius * a->radius) return a->disc_v;
    return anomaly_background(a, x, z, lx, lz, vmin, span);
  }
  double v = anomaly_background(a, x, z, lx, lz, vmin, span);
  for (size_t i = 0; i < a->n; i++) {
    const double ux = (x - a->x[i]) / a->sx[i], uz = (z - a->z[i]) / a->sz[i];
    v += a->amp[i] * exp(-0.5 * (ux * ux + uz * uz));
  }
  return v;
}

/* ---- One geology: everything drawn for a (family, seed) -------------------------- */
typedef struct {
  psfwi_family family;
  double lx, lz;     /* m: width and thickness below the sea floor */
  double vmin, vmax; /* m/s */
  strat st;
  folds fo;
  size_t nfault;
  fault flt[MAX_FAULTS];
  salt sa;
  anomalies an;
} geology;

/* Rock velocities are drawn in [vlo, vhi]. */
static void geology_draw(const psfwi_synth_params *p, double lx, double lz, double vlo, double vhi,
                         geology *g) {
  memset(g, 0, sizeof *g);
  g->family = p->family;
  g->lx = lx;
  g->lz = lz;
  g->vmin = vlo;
  g->vmax = vhi;
  const double span = vhi - vlo;
  rng rs = rng_stream(p->seed, p->family, STREAM_STRAT);
  rng rf = rng_stream(p->seed, p->family, STREAM_FOLD);
  rng rt = rng_stream(p->seed, p->family, STREAM_FAULT);
  rng ra = rng_stream(p->seed, p->family, STREAM_SALT);
  rng rn = rng_stream(p->seed, p->family, STREAM_ANOMALY);
  switch (p->family) {
    case PSFWI_FAMILY_LAYERED: strat_draw(&rs, lz, vlo, vhi, &g->st); break;
    case PSFWI_FAMILY_BLOCKY: blocky_draw(&rs, lz, vlo, vhi, &g->st); break;
    case PSFWI_FAMILY_FOLDED:
      strat_draw(&rs, lz, vlo, vhi, &g->st);
      folds_draw_strong(&rf, lx, lz, &g->fo);
      break;
    case PSFWI_FAMILY_FAULTED:
      strat_draw(&rs, lz, vlo, vhi, &g->st);
      folds_draw_gentle(&rf, lx, lz, &g->fo);
      g->nfault = faults_draw(&rt, lx, lz, g->flt);
      break;
    case PSFWI_FAMILY_SALT:
      /* Sediments stay below 80 % of the range so the salt is the fast body. */
      strat_draw(&rs, lz, vlo, vlo + 0.8 * span, &g->st);
      folds_draw_gentle(&rf, lx, lz, &g->fo);
      salt_draw(&ra, lx, lz, vlo, vhi, &g->sa);
      break;
    case PSFWI_FAMILY_ANOMALY:
    case PSFWI_FAMILY_COUNT: anomalies_draw(&rn, lx, lz, vlo, vhi, &g->an); break;
  }
}

/* Velocity (m/s, not yet clipped) at x m from the left edge and z m below
 * the sea floor. uplift is folds_uplift at x (precomputed per column); it is
 * recomputed where faults move the point sideways. */
static double geology_eval(const geology *g, double x, double z, double uplift) {
  if (g->family == PSFWI_FAMILY_ANOMALY)
    return anomalies_eval(&g->an, x, z, g->lx, g->lz, g->vmin, g->vmax - g->vmin);
  if (g->family == PSFWI_FAMILY_SALT && salt_inside(&g->sa, x, z)) return g->sa.v;
  double xr = x, zr = z;
  for (size_t i = g->nfault; i-- > 0;) fault_restore(&g->flt[i], &xr, &zr); /* youngest first */
  if (g->family == PSFWI_FAMILY_SALT) {
    const double u = (xr - g->sa.xc) / g->sa.drag_w;
    zr += g->sa.drag * exp(-u * u);
  }
  if (g->fo.n > 0 || g->fo.slope != 0.0) {
    if (xr != x) uplift = folds_uplift(&g->fo, xr, g->lx);
    zr = folds_restore(&g->fo, uplift, zr, g->lz);
  }
  return strat_eval(&g->st, zr);
}

/* Round v to float within [lo, hi]: (float)v may round just outside. */
static float to_float_within(double v, double lo, double hi) {
  float f = (float)clampd(v, lo, hi);
  if ((double)f > hi) f = nextafterf(f, -INFINITY);
  if ((double)f < lo) f = nextafterf(f, INFINITY);
  return f;
}

psfwi_model *psfwi_synth_create(const psfwi_grid *g, const psfwi_synth_params *p,
                                psfwi_error *err) {
  if (g == NULL || p == NULL) {
    psfwi_fail(err, PSFWI_EINVAL, "synthetic model: grid or parameters pointer is NULL");
    return NULL;
  }
  if (psfwi_grid_check(g, "synthetic model", err) != PSFWI_OK) return NULL;
  if ((int)p->family < 0 || p->family >= PSFWI_FAMILY_COUNT) {
    psfwi_fail(err, PSFWI_EINVAL, "synthetic model: family = %d; expected 0..%d", (int)p->family,
               (int)PSFWI_FAMILY_COUNT - 1);
    return NULL;
  }
  if (!isfinite(p->vmin) || !isfinite(p->vmax) || !(p->vmin > 0.0) || !(p->vmin < p->vmax)) {
    psfwi_fail(err, PSFWI_ERANGE,
               "synthetic model: vmin = %g m/s, vmax = %g m/s; expected finite 0 < vmin < vmax",
               p->vmin, p->vmax);
    return NULL;
  }
  if (!isfinite(p->water_depth) || p->water_depth < 0.0) {
    psfwi_fail(err, PSFWI_ERANGE, "synthetic model: water_depth = %g m; expected finite >= 0",
               p->water_depth);
    return NULL;
  }
  const size_t nx = g->nx, nz = g->nz;
  /* Extent of the geology; a single point along an axis counts as one cell. */
  const double lx = nx > 1 ? (double)(nx - 1) * g->dx : g->dx;
  const double lz_all = nz > 1 ? (double)(nz - 1) * g->dz : g->dz;
  const double lz = fmax(lz_all - p->water_depth, g->dz);

  psfwi_model *m = psfwi_model_create(g, err);
  double *uplift = malloc(nx * sizeof *uplift);
  geology *geo = malloc(sizeof *geo); /* a few kB: keep it off the stack */
  if (m == NULL || uplift == NULL || geo == NULL) {
    if (m != NULL) psfwi_fail(err, PSFWI_ENOMEM, "synthetic model: cannot allocate work space");
    psfwi_model_destroy(m);
    free(uplift);
    free(geo);
    return NULL;
  }
  /* Below water the rock is at least 5 % of the range faster than the water,
   * so that the sea floor is an interface (unless the bounds leave no room). */
  const float v_water = to_float_within(1500.0, p->vmin, p->vmax);
  double vlo = p->vmin;
  const double floor_rock = (double)v_water + 0.05 * (p->vmax - p->vmin);
  if (p->water_depth > 0.0 && floor_rock <= p->vmin + 0.5 * (p->vmax - p->vmin))
    vlo = fmax(vlo, floor_rock);
  geology_draw(p, lx, lz, vlo, p->vmax, geo);
  for (size_t ix = 0; ix < nx; ix++) uplift[ix] = folds_uplift(&geo->fo, (double)ix * g->dx, lx);

  for (size_t iz = 0; iz < nz; iz++) {
    const double z = (double)iz * g->dz; /* m below the first row */
    float *row = m->vp + iz * nx;
    if (z < p->water_depth - 1e-6 * g->dz) { /* tolerance for rounding of iz dz */
      for (size_t ix = 0; ix < nx; ix++) row[ix] = v_water;
      continue;
    }
    for (size_t ix = 0; ix < nx; ix++) {
      const double v = geology_eval(geo, (double)ix * g->dx, z - p->water_depth, uplift[ix]);
      row[ix] = to_float_within(v, vlo, p->vmax);
    }
  }
  free(uplift);
  free(geo);
  return m;
}
