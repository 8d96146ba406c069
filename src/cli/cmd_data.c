/* psfwi data <wavelet>: survey-data tools (the survey-data issue). */
#define _GNU_SOURCE
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cli.h"
#include "run_invert.h"

static const char usage_text[] =
    "usage: psfwi data info FILE.segy|FILE.nc [--traces]\n"
    "       psfwi data wavelet --observed OBS --modelled SYN.nc [--eps E] -o WAVELET.txt\n"
    "       psfwi data wavelet --observed OBS --direct VELOCITY [--window S] [--offset-max M]\n"
    "                 [--no-free-surface] [--eps E] -o WAVELET.txt\n"
    "       psfwi data condition IN.segy|IN.nc -o OUT.segy|OUT.nc [--set data.KEY=VALUE ...]\n"
    "                 [--band LOW:HIGH] [--normalize trace|shot]\n"
    "\n"
    "info: the geometry of shot gathers as a survey program reads it: shots (SEG-Y:\n"
    "FIELD_RECORD, byte 9), traces per shot, whether shots are contiguous, source and\n"
    "receiver positions and spacing, offsets, depths, samples, and notes on headers\n"
    "that look wrong. Reads SEG-Y trace headers only (any sorting, any spread).\n"
    "--traces: instead, one CSV line per trace (trace,record,source_x,source_z,\n"
    "receiver_x,receiver_z,offset; metres), as scripts/plot_geometry.py reads it.\n"
    "\n"
    "wavelet: the source wavelet that makes SYN.nc's traces (modelled by psfwi forward\n"
    "on a starting model, with the wavelet stored in SYN.nc) best match OBS.nc's in\n"
    "the least-squares sense (Pratt 1999): one filter F per frequency over all traces,\n"
    "F = sum conj(S) D / (sum |S|^2 + E max sum |S|^2) (--eps E, the water level,\n"
    "default 1e-3), applied to SYN.nc's wavelet. Both gathers must have the same\n"
    "shots, receivers and time axis. Writes one sample per line at the gathers'\n"
    "sample interval: the [wavelet] file of a next psfwi forward, fwi or rnn run\n"
    "(kind = file). All-zero observed traces count as dead and are left out.\n"
    "--direct VELOCITY: instead, a first estimate from the direct arrival alone (no\n"
    "starting model needed): the observed traces with |offset| <= --offset-max (default\n"
    "1000 m), up to --window s (default 0.3) after the direct arrival, against the 2-D\n"
    "Green's function of a homogeneous medium of that velocity (the water's, for marine\n"
    "data) with the free surface's ghosts (--no-free-surface: without). OBS may be SEG-Y.\n"
    "\n"
    "condition: new gathers from IN with the [data] keys of psfwi fwi and rnn applied (see\n"
    "psfwi data condition -h for them), in this order: resample, convert_3d, the band-pass\n"
    "(--band LOW:HIGH Hz, zero-phase Butterworth of order 4 each way; 0 for no high-pass\n"
    "or no low-pass corner), the data weights (mutes and time windows multiply the\n"
    "samples; traces they leave out entirely (offsets, dead_traces = drop, reject_rms)\n"
    "are dropped: SEG-Y omits them, NetCDF marks them in trace_live), then --normalize\n"
    "(trace: each trace to unit RMS; shot: each shot's traces by the shot's RMS). For QC\n"
    "and other software: fwi and rnn apply the same keys on the fly, to modelled and\n"
    "observed data alike (trace normalisation there is [inversion] misfit = correlation).\n";

/* Same geometry and time axis, positions within 1 mm. */
static int same_acquisition(const char *po, const psfwi_gather *o, const char *ps,
                            const psfwi_gather *s, psfwi_error *err) {
  const psfwi_survey *a = o->survey, *b = s->survey;
  if (a->nshot != b->nshot || a->nrec != b->nrec || o->nt != s->nt ||
      fabs(o->dt - s->dt) > 1e-9 * o->dt)
    return psfwi_fail(err, PSFWI_EINVAL,
                      "'%s' has %zu shots x %zu receivers x %zu samples at %g s, '%s' %zu x %zu x "
                      "%zu at %g s; expected the same acquisition",
                      po, a->nshot, a->nrec, o->nt, o->dt, ps, b->nshot, b->nrec, s->nt, s->dt);
  for (size_t is = 0; is < a->nshot; is++) {
    if (fabs(a->sx[is] - b->sx[is]) > 1e-3 || fabs(a->sz[is] - b->sz[is]) > 1e-3)
      return psfwi_fail(err, PSFWI_EINVAL,
                        "shot %zu: source at (%g, %g) m in '%s', (%g, %g) m in '%s'", is, a->sx[is],
                        a->sz[is], po, b->sx[is], b->sz[is], ps);
    for (size_t ir = 0; ir < a->nrec; ir++) {
      const size_t k = is * a->nrec + ir;
      if (fabs(a->rx[k] - b->rx[k]) > 1e-3 || fabs(a->rz[k] - b->rz[k]) > 1e-3)
        return psfwi_fail(err, PSFWI_EINVAL,
                          "shot %zu, receiver %zu: at (%g, %g) m in '%s', (%g, %g) m in '%s'", is,
                          ir, a->rx[k], a->rz[k], po, b->rx[k], b->rz[k], ps);
    }
  }
  return PSFWI_OK;
}

static int has_suffix(const char *s, const char *suf);

static psfwi_gather *read_gather(const char *path, psfwi_error *err) {
  return has_suffix(path, ".segy") || has_suffix(path, ".sgy") ? psfwi_segy_read_gather(path, err)
                                                               : psfwi_nc_read_gather(path, err);
}

/* --direct: the modelled traces are the direct wave of a band-limited pulse
 * w0 in a homogeneous medium of velocity v (psfwi_direct_wave); observed and
 * modelled are windowed to window s after the direct arrival (0.1 s taper)
 * and only traces with |offset| <= offset_max count. */
static int direct_modelled(const psfwi_gather *o, double v, int fs, double window,
                           double offset_max, float *syn, float *w0, unsigned char *live,
                           float *obs_w, psfwi_error *err) {
  const psfwi_survey *s = o->survey;
  const size_t nt = o->nt, ntr = s->nshot * s->nrec;
  const double dt = o->dt, pi = 3.14159265358979323846;
  for (size_t i = 0; i < nt; i++) { /* a Gaussian pulse, flat to 1/(8 dt) */
    const double a = ((double)i - 6.0) / 1.5;
    w0[i] = (float)exp(-0.5 * a * a);
  }
  /* traces at the source position have no direct wave to fit */
  for (size_t k = 0; k < ntr; k++) {
    const double off = fabs(s->rx[k] - s->sx[k / s->nrec]);
    live[k] = live[k] && off <= offset_max &&
              hypot(s->rx[k] - s->sx[k / s->nrec], s->rz[k] - s->sz[k / s->nrec]) > 1e-3;
  }
  psfwi_survey *only = psfwi_survey_create(s->nshot, s->nrec, err);
  if (only == NULL) return err->status;
  memcpy(only->sx, s->sx, s->nshot * sizeof *s->sx);
  memcpy(only->sz, s->sz, s->nshot * sizeof *s->sz);
  memcpy(only->rx, s->rx, ntr * sizeof *s->rx);
  memcpy(only->rz, s->rz, ntr * sizeof *s->rz);
  for (size_t k = 0; k < ntr; k++) /* dead traces: anything but the source point */
    if (!live[k]) only->rz[k] = only->sz[k / s->nrec] + 1.0;
  int st = psfwi_direct_wave(only, nt, dt, v, fs, w0, syn, err);
  psfwi_survey_destroy(only);
  if (st != PSFWI_OK) return st;
  for (size_t k = 0; k < ntr; k++) {
    const double T = hypot(s->rx[k] - s->sx[k / s->nrec], s->rz[k] - s->sz[k / s->nrec]) / v;
    for (size_t i = 0; i < nt; i++) {
      const double t = (double)i * dt - T - window;
      const double wgt = t <= 0 ? 1.0 : t >= 0.1 ? 0.0 : 0.5 + 0.5 * cos(pi * t / 0.1);
      syn[k * nt + i] = (float)(syn[k * nt + i] * wgt);
      obs_w[k * nt + i] = (float)(o->data[k * nt + i] * wgt);
    }
  }
  return PSFWI_OK;
}

static int data_wavelet(int argc, char **argv) {
  static const struct option opts[] = {{"observed", required_argument, NULL, 'b'},
                                       {"modelled", required_argument, NULL, 'm'},
                                       {"eps", required_argument, NULL, 'e'},
                                       {"output", required_argument, NULL, 'o'},
                                       {"direct", required_argument, NULL, 'd'},
                                       {"window", required_argument, NULL, 'w'},
                                       {"offset-max", required_argument, NULL, 'x'},
                                       {"no-free-surface", no_argument, NULL, 'n'},
                                       {"help", no_argument, NULL, 'h'},
                                       {NULL, 0, NULL, 0}};
  const char *obs_path = NULL, *syn_path = NULL, *out = NULL;
  double eps = 1e-3, vdirect = 0.0, window = 0.3, offset_max = 1000.0;
  int free_surface = 1;
  psfwi_error err = {0};
  optind = 1;
  opterr = 0;
  int c;
  while ((c = getopt_long(argc, argv, "ho:", opts, NULL)) != -1) {
    int bad = PSFWI_OK;
    if (c == 'h') {
      fputs(usage_text, stdout);
      return 0;
    }
    if (c == 'b')
      obs_path = optarg;
    else if (c == 'm')
      syn_path = optarg;
    else if (c == 'o')
      out = optarg;
    else if (c == 'n')
      free_surface = 0;
    else if (c == 'e')
      bad = cli_double("--eps", optarg, 0.0, 1e6, &eps, &err);
    else if (c == 'd')
      bad = cli_double("--direct", optarg, 1.0, 1e5, &vdirect, &err);
    else if (c == 'w')
      bad = cli_double("--window", optarg, 1e-3, 1e3, &window, &err);
    else if (c == 'x')
      bad = cli_double("--offset-max", optarg, 0.0, 1e9, &offset_max, &err);
    else
      return cli_usage_error("data wavelet", "unknown option or missing value '%s'",
                             argv[optind - 1]);
    if (bad != PSFWI_OK) {
      fprintf(stderr, "psfwi data wavelet: %s\n", err.msg);
      return 2;
    }
  }
  if (optind < argc)
    return cli_usage_error("data wavelet", "unexpected argument '%s'", argv[optind]);
  if (obs_path == NULL || out == NULL || (syn_path == NULL) == (vdirect == 0.0))
    return cli_usage_error("data wavelet",
                           "needs --observed, -o and either --modelled or --direct VELOCITY");
  const psfwi_run_file files[] = {
      {"--observed", obs_path, 0}, {"-o", out, 1}, {"--modelled", syn_path, 0}};
  if (psfwi_check_run_files(files, syn_path ? 3 : 2, &err) != PSFWI_OK) return cli_error(&err);
  psfwi_gather *o = read_gather(obs_path, &err), *s = NULL;
  if (o != NULL && syn_path != NULL) s = read_gather(syn_path, &err);
  int st = o && (s || !syn_path) ? PSFWI_OK : err.status;
  if (st == PSFWI_OK && s) st = same_acquisition(obs_path, o, syn_path, s, &err);
  const size_t ntr = o ? o->survey->nshot * o->survey->nrec : 0, nt = o ? o->nt : 0;
  unsigned char *live = st == PSFWI_OK ? malloc(ntr) : NULL;
  float *w = st == PSFWI_OK ? malloc(nt * sizeof *w) : NULL;
  float *dsyn = NULL, *dobs = NULL, *w0 = NULL;
  if (st == PSFWI_OK && (live == NULL || w == NULL))
    st = psfwi_fail(&err, PSFWI_ENOMEM, "out of memory");
  if (st == PSFWI_OK && s) {
    double wmax = 0.0;
    for (size_t i = 0; i < nt; i++) wmax = fmax(wmax, fabs(s->wavelet[i]));
    if (!(wmax > 0.0))
      st = psfwi_fail(&err, PSFWI_EINVAL,
                      "'%s' holds no wavelet (all zero): model it with psfwi forward, which "
                      "stores the wavelet it used",
                      syn_path);
  }
  for (size_t k = 0; st == PSFWI_OK && k < ntr; k++) { /* dead and padding traces out */
    live[k] = o->live == NULL || o->live[k];
    int any = 0;
    for (size_t i = 0; i < nt && !any; i++) any = o->data[k * nt + i] != 0.0f;
    live[k] = (unsigned char)(live[k] && any);
  }
  if (st == PSFWI_OK && !s) {
    dsyn = malloc(ntr * nt * sizeof *dsyn);
    dobs = malloc(ntr * nt * sizeof *dobs);
    w0 = malloc(nt * sizeof *w0);
    st = dsyn && dobs && w0 ? direct_modelled(o, vdirect, free_surface, window, offset_max, dsyn,
                                              w0, live, dobs, &err)
                            : psfwi_fail(&err, PSFWI_ENOMEM, "out of memory");
  }
  psfwi_source_info info = {0};
  if (st == PSFWI_OK) {
    st = psfwi_source_estimate(ntr, nt, s ? s->data : dsyn, s ? o->data : dobs, live,
                               s ? s->wavelet : w0, eps, w, &info, &err);
    if (st != PSFWI_OK)
      psfwi_error_prefix(&err, "'%s' and %s: ", obs_path, s ? syn_path : "the direct wave");
  }
  if (st == PSFWI_OK) {
    char how[256];
    if (s)
      snprintf(how, sizeof how, "modelled: %s", syn_path);
    else
      snprintf(how, sizeof how, "the direct wave at %g m/s%s, %g s after it, offsets up to %g m",
               vdirect, free_surface ? " with the free surface's ghosts" : "", window, offset_max);
    char note[1024];
    snprintf(note, sizeof note,
             "psfwi source wavelet, %zu samples at dt = %.9g s\nhistory: %s\nobserved: %s\n"
             "%s\neps = %g; %zu live traces of %zu; residual after the filter %.4g "
             "of the observed energy",
             nt, o->dt, cli_history ? cli_history : "psfwi data wavelet", obs_path, how, eps,
             info.live, ntr, info.residual_energy / info.obs_energy);
    st = psfwi_text_write_series(out, w, nt, note, &err);
  }
  if (st == PSFWI_OK)
    printf(
        "data wavelet: %zu live traces of %zu; the filtered modelled traces leave %.3g %% of "
        "the observed energy as residual; wrote %s (%zu samples at %g s)\n",
        info.live, ntr, 100.0 * info.residual_energy / info.obs_energy, out, nt, o->dt);
  free(live);
  free(w);
  free(dsyn);
  free(dobs);
  free(w0);
  psfwi_gather_destroy(o);
  psfwi_gather_destroy(s);
  return st == PSFWI_OK ? 0 : cli_error(&err);
}

static int cmp_d(const void *a, const void *b) {
  const double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

/* The median spacing of the distinct values of v (n of them; sorted in
 * place), and their count; 0 when fewer than two. */
static double spacing(double *v, size_t n, size_t *ndistinct) {
  qsort(v, n, sizeof *v, cmp_d);
  size_t m = 0;
  for (size_t i = 0; i < n; i++)
    if (m == 0 || v[i] - v[m - 1] > 1e-6) v[m++] = v[i];
  *ndistinct = m;
  if (m < 2) return 0.0;
  for (size_t i = 0; i + 1 < m; i++) v[i] = v[i + 1] - v[i];
  qsort(v, m - 1, sizeof *v, cmp_d);
  return v[(m - 1) / 2];
}

static void range(const double *v, size_t n, double *lo, double *hi) {
  *lo = INFINITY;
  *hi = -INFINITY;
  for (size_t i = 0; i < n; i++) {
    *lo = fmin(*lo, v[i]);
    *hi = fmax(*hi, v[i]);
  }
}

/* One CSV line per trace. */
static int trace_table(size_t ntr, const int32_t *rec, const double *sx, const double *sz,
                       const double *rx, const double *rz) {
  printf("trace,record,source_x,source_z,receiver_x,receiver_z,offset\n");
  for (size_t k = 0; k < ntr; k++)
    printf("%zu,%d,%.4f,%.4f,%.4f,%.4f,%.4f\n", k, (int)rec[k], sx[k], sz[k], rx[k], rz[k],
           rx[k] - sx[k]);
  return fflush(stdout) == 0 && !ferror(stdout) ? 0 : 1;
}

/* "sources: x .. m at N positions, median spacing D m" and the depth range;
 * t: ntr doubles of scratch. */
static void positions(const char *label, const double *x, const double *z, size_t ntr, double *t) {
  double lo, hi;
  size_t nd;
  range(x, ntr, &lo, &hi);
  memcpy(t, x, ntr * sizeof *t);
  const double d = spacing(t, ntr, &nd);
  printf("  %s: x %.2f..%.2f m at %zu positions, median spacing %.2f m\n", label, lo, hi, nd, d);
  range(z, ntr, &lo, &hi);
  printf("  %*s  depth %.2f..%.2f m\n", (int)strlen(label), "", lo, hi);
}

/* The geometry summary of ntr traces (rec: shot key per trace). */
static int report(const char *path, const char *what, size_t ntr, size_t ns, double dt,
                  const int32_t *rec, const double *sx, const double *sz, const double *rx,
                  const double *rz, const char *notes, int traces) {
  if (traces) return trace_table(ntr, rec, sx, sz, rx, rz);
  double *t = malloc((ntr + 1) * sizeof *t);
  size_t *cnt = malloc((ntr + 1) * sizeof *cnt);
  int32_t *key = malloc((ntr + 1) * sizeof *key);
  if (t == NULL || cnt == NULL || key == NULL) {
    free(t), free(cnt), free(key);
    fprintf(stderr, "psfwi: data info: out of memory\n");
    return 1;
  }
  /* shots: runs of equal keys; a key seen again after another run: unsorted */
  size_t nrun = 0, nshot = 0, back = 0;
  for (size_t k = 0; k < ntr; k++) {
    if (k > 0 && rec[k] == rec[k - 1]) {
      cnt[nrun - 1]++;
      continue;
    }
    size_t j = 0;
    while (j < nshot && key[j] != rec[k]) j++;
    if (j < nshot)
      back++;
    else
      key[nshot++] = rec[k];
    cnt[nrun++] = 1;
  }
  size_t cmin = (size_t)-1, cmax = 0;
  for (size_t r = 0; r < nrun; r++) {
    cmin = cnt[r] < cmin ? cnt[r] : cmin;
    cmax = cnt[r] > cmax ? cnt[r] : cmax;
  }
  printf("%s: %s, %zu traces of %zu samples at %g ms (record %g s)\n", path, what, ntr, ns,
         1e3 * dt, dt * (double)(ns > 0 ? ns - 1 : 0));
  printf("  shots: %zu%s; traces per shot %zu..%zu%s\n", nshot,
         back ? " (not contiguous: a shot's traces come back after others)" : "", cmin, cmax,
         back ? " per run" : (cmin == cmax ? " (regular)" : ""));
  positions("sources", sx, sz, ntr, t);
  positions("receivers", rx, rz, ntr, t);
  double lo, hi;
  for (size_t k = 0; k < ntr; k++) t[k] = rx[k] - sx[k];
  range(t, ntr, &lo, &hi);
  printf("  offsets (receiver - source x): %.2f..%.2f m\n", lo, hi);
  if (notes && *notes) {
    printf("  notes:\n");
    for (const char *p = notes; *p;) {
      const char *e = strchr(p, '\n');
      const size_t len = e ? (size_t)(e - p) : strlen(p);
      printf("    - %.*s\n", (int)len, p);
      p += len + (e != NULL);
    }
  }
  free(t), free(cnt), free(key);
  return 0;
}

static int has_suffix(const char *s, const char *suf) {
  const size_t n = strlen(s), m = strlen(suf);
  return n >= m && strcasecmp(s + n - m, suf) == 0;
}

static int data_info(int argc, char **argv) {
  if (argc == 2 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))) {
    fputs(usage_text, stdout);
    return 0;
  }
  int traces = 0;
  const char *path = NULL;
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--traces"))
      traces = 1;
    else if (argv[i][0] == '-' && argv[i][1] != '\0')
      return cli_usage_error("data info", "unknown option '%s'", argv[i]);
    else if (path == NULL)
      path = argv[i];
    else
      return cli_usage_error("data info", "needs exactly one file (also got '%s')", argv[i]);
  }
  if (path == NULL) return cli_usage_error("data info", "needs exactly one file");
  psfwi_error err = {0};
  if (has_suffix(path, ".segy") || has_suffix(path, ".sgy")) {
    psfwi_segy_scan sc;
    if (psfwi_segy_scan_file(path, &sc, &err) != PSFWI_OK) return cli_error(&err);
    char what[64];
    snprintf(what, sizeof what, "SEG-Y (%s float)", sc.format == 1 ? "IBM" : "IEEE");
    const int r = report(path, what, sc.ntrace, sc.ns, sc.dt, sc.record, sc.sx, sc.sz, sc.rx, sc.rz,
                         sc.notes, traces);
    psfwi_segy_scan_free(&sc);
    return r;
  }
  psfwi_gather *g = psfwi_nc_read_gather(path, &err);
  if (g == NULL) return cli_error(&err);
  const psfwi_survey *s = g->survey;
  const size_t ntr = s->nshot * s->nrec;
  int32_t *rec = malloc((ntr + 1) * sizeof *rec);
  double *sx = malloc((ntr + 1) * sizeof *sx), *sz = malloc((ntr + 1) * sizeof *sz);
  double *rx = malloc((ntr + 1) * sizeof *rx), *rz = malloc((ntr + 1) * sizeof *rz);
  int r = 1;
  if (rec && sx && sz && rx && rz) {
    /* the recorded traces (padding, trace_live = 0, is not a trace) */
    size_t dead = 0, pad = 0, m = 0;
    for (size_t k = 0; k < ntr; k++) {
      if (g->live && !g->live[k]) {
        pad++;
        continue;
      }
      size_t i = 0;
      while (i < g->nt && g->data[k * g->nt + i] == 0.0f) i++;
      dead += i == g->nt;
      rec[m] = (int32_t)(k / s->nrec);
      sx[m] = s->sx[k / s->nrec];
      sz[m] = s->sz[k / s->nrec];
      rx[m] = s->rx[k];
      rz[m++] = s->rz[k];
    }
    char notes[256] = "";
    int len = 0;
    if (dead > 0)
      len = snprintf(notes, sizeof notes,
                     "%zu all-zero (dead?) trace(s): [data] dead_traces = drop\n", dead);
    if (pad > 0 && len >= 0 && (size_t)len < sizeof notes)
      snprintf(notes + len, sizeof notes - (size_t)len,
               "%zu padding trace(s) (trace_live = 0: shots with fewer receivers) not counted\n",
               pad);
    r = report(path, "NetCDF gathers", m, g->nt, g->dt, rec, sx, sz, rx, rz, notes, traces);
  } else
    fprintf(stderr, "psfwi: data info: out of memory\n");
  free(rec), free(sx), free(sz), free(rx), free(rz);
  psfwi_gather_destroy(g);
  return r;
}

/* ---- psfwi data condition ----------------------------------------------------------- */
static const psfwi_config_key condition_keys[] = {CLI_KEYS_DATA};

/* Each live trace (normalize = 1) or each shot's live traces together (2)
 * divided by their RMS; all-zero ones left alone. */
static void normalize(psfwi_gather *g, int mode) {
  const psfwi_survey *s = g->survey;
  const size_t nt = g->nt, nrec = s->nrec;
  for (size_t is = 0; is < s->nshot; is++) {
    const size_t per = mode == 1 ? 1 : nrec;
    for (size_t r0 = 0; r0 < nrec; r0 += per) {
      double e = 0.0;
      size_t n = 0;
      for (size_t ir = r0; ir < r0 + per; ir++) {
        const size_t k = is * nrec + ir;
        if (g->live && !g->live[k]) continue;
        for (size_t it = 0; it < nt; it++) e += (double)g->data[k * nt + it] * g->data[k * nt + it];
        n += nt;
      }
      if (!(e > 0.0)) continue;
      const double scale = 1.0 / sqrt(e / (double)n);
      for (size_t ir = r0; ir < r0 + per; ir++)
        for (size_t it = 0; it < nt; it++)
          g->data[(is * nrec + ir) * nt + it] =
              (float)(g->data[(is * nrec + ir) * nt + it] * scale);
    }
  }
}

/* --band LOW:HIGH in place on the traces (not on the wavelet: the data are
 * filtered, the source that made them is not). */
static int band_pass(psfwi_gather *g, const char *band, psfwi_error *err) {
  double lo, hi;
  if (cli_band("--band", band, &lo, &hi, err) != PSFWI_OK) return err->status;
  psfwi_filter_opts fo;
  psfwi_filter_opts_defaults(&fo);
  fo.f_lowcut = lo;
  fo.f_highcut = hi;
  psfwi_filter *f = psfwi_filter_create(&fo, g->dt, err);
  if (f == NULL) return psfwi_error_prefix(err, "--band %s: ", band);
  const int st = psfwi_filter_apply(f, g->survey->nshot * g->survey->nrec, g->nt, g->data, err);
  psfwi_filter_destroy(f);
  return st;
}

static int data_condition(int argc, char **argv) {
  static const struct option opts[] = {
      {"output", required_argument, NULL, 'o'}, {"set", required_argument, NULL, 's'},
      {"band", required_argument, NULL, 'b'},   {"normalize", required_argument, NULL, 'n'},
      {"help", no_argument, NULL, 'h'},         {NULL, 0, NULL, 0}};
  psfwi_error err = {0};
  psfwi_config *cfg =
      psfwi_config_create(condition_keys, sizeof condition_keys / sizeof condition_keys[0], &err);
  if (cfg == NULL) return cli_error(&err);
  const char *out = NULL, *band = NULL, *in = NULL;
  int norm = 0, code = 0;
  optind = 1;
  opterr = 0;
  int c;
  while (code == 0 && (c = getopt_long(argc, argv, "ho:", opts, NULL)) != -1) {
    if (c == 'h') {
      fputs(usage_text, stdout);
      printf("\n[data] keys (--set data.KEY=VALUE):\n\n");
      psfwi_config_dump(cfg, stdout, 1);
      psfwi_config_destroy(cfg);
      return 0;
    } else if (c == 'o')
      out = optarg;
    else if (c == 'b')
      band = optarg;
    else if (c == 'n') {
      if (!strcmp(optarg, "trace"))
        norm = 1;
      else if (!strcmp(optarg, "shot"))
        norm = 2;
      else
        code = cli_usage_error("data condition", "--normalize %s: expected trace or shot", optarg);
    } else if (c == 's') {
      if (psfwi_config_set(cfg, optarg, &err) != PSFWI_OK) code = cli_error(&err);
    } else
      code = cli_usage_error("data condition", "unknown option or missing value '%s'",
                             argv[optind - 1]);
  }
  if (code == 0 && optind < argc) in = argv[optind++];
  if (code == 0 && optind < argc)
    code = cli_usage_error("data condition", "unexpected argument '%s'", argv[optind]);
  if (code == 0 && (in == NULL || out == NULL))
    code = cli_usage_error("data condition", "needs an input file and -o OUTPUT");
  if (code != 0) {
    psfwi_config_destroy(cfg);
    return code;
  }
  const psfwi_run_file files[] = {{"input", in, 0}, {"-o", out, 1}};
  psfwi_gather *g = NULL;
  float *w = NULL;
  int st = psfwi_check_run_files(files, 2, &err);
  if (st == PSFWI_OK) {
    g = read_gather(in, &err);
    st = g ? PSFWI_OK : err.status;
  }
  if (st == PSFWI_OK) st = cli_resample_gather(g, cfg, 1, &err);
  if (st == PSFWI_OK) st = cli_convert_3d(g, cfg, 1, &err);
  if (st == PSFWI_OK && band) st = band_pass(g, band, &err);
  psfwi_weight_opts wo;
  cli_weight_opts_from_config(cfg, &wo);
  psfwi_weight_report rep = {0};
  const size_t ntr = g ? g->survey->nshot * g->survey->nrec : 0, nt = g ? g->nt : 0;
  size_t dropped = 0;
  if (st == PSFWI_OK && psfwi_weight_opts_active(&wo)) {
    wo.live = g->live;
    if ((w = malloc(ntr * nt * sizeof *w)) == NULL)
      st = psfwi_fail(&err, PSFWI_ENOMEM, "out of memory for the data weights");
    if (st == PSFWI_OK) st = psfwi_data_weights(g->survey, nt, g->dt, g->data, &wo, w, &rep, &err);
    if (st != PSFWI_OK) psfwi_error_prefix(&err, "[data]: ");
    if (st == PSFWI_OK && rep.live == 0)
      st = psfwi_fail(&err, PSFWI_EINVAL, "[data]: every trace is left out; nothing written");
    if (st == PSFWI_OK && g->live == NULL && (g->live = malloc(ntr)) == NULL)
      st = psfwi_fail(&err, PSFWI_ENOMEM, "out of memory");
    for (size_t k = 0; st == PSFWI_OK && k < ntr; k++) {
      int any = 0;
      for (size_t it = 0; it < nt; it++) {
        g->data[k * nt + it] *= w[k * nt + it];
        any |= w[k * nt + it] != 0.0f;
      }
      g->live[k] = (unsigned char)any;
      dropped += !any;
    }
    dropped -= rep.padding;
  }
  if (st == PSFWI_OK && norm) normalize(g, norm);
  if (st == PSFWI_OK) {
    char title[64];
    snprintf(title, sizeof title, "psfwi conditioned shot gathers");
    const psfwi_meta meta = cli_meta(title);
    st = has_suffix(out, ".segy") || has_suffix(out, ".sgy")
             ? psfwi_segy_write_gather(out, g, &err)
             : psfwi_nc_write_gather(out, g, &meta, &err);
  }
  if (st == PSFWI_OK)
    printf(
        "data condition: %zu shots x %zu receivers, %zu samples at %g s%s%s%s; %zu traces "
        "dropped (%zu dead, %zu noisy, %zu outside the offsets); %zu first breaks picked; "
        "wrote %s\n",
        g->survey->nshot, g->survey->nrec, g->nt, g->dt, band ? "; band-passed " : "",
        band ? band : "", norm ? (norm == 1 ? "; traces normalised" : "; shots normalised") : "",
        dropped, rep.dead, rep.noisy, rep.offset, rep.picked, out);
  free(w);
  psfwi_gather_destroy(g);
  psfwi_config_destroy(cfg);
  return st == PSFWI_OK ? 0 : cli_error(&err);
}

int cmd_data(int argc, char **argv) {
  if (argc < 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
    fputs(usage_text, argc < 2 ? stderr : stdout);
    return argc < 2 ? 2 : 0;
  }
  if (!strcmp(argv[1], "wavelet")) return data_wavelet(argc - 1, argv + 1);
  if (!strcmp(argv[1], "info")) return data_info(argc - 1, argv + 1);
  if (!strcmp(argv[1], "condition")) return data_condition(argc - 1, argv + 1);
  return cli_usage_error("data", "unknown subcommand '%s' (info, wavelet, condition)", argv[1]);
}
