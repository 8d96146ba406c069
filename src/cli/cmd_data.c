/* psfwi data <wavelet>: survey-data tools (the survey-data issue). */
#define _GNU_SOURCE
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cli.h"

static const char usage_text[] =
    "usage: psfwi data info FILE.segy|FILE.nc [--traces]\n"
    "       psfwi data wavelet --observed OBS.nc --modelled SYN.nc [--eps E] -o WAVELET.txt\n"
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
    "(kind = file). All-zero observed traces count as dead and are left out.\n";

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

static int data_wavelet(int argc, char **argv) {
  static const struct option opts[] = {
      {"observed", required_argument, NULL, 'b'}, {"modelled", required_argument, NULL, 'm'},
      {"eps", required_argument, NULL, 'e'},      {"output", required_argument, NULL, 'o'},
      {"help", no_argument, NULL, 'h'},           {NULL, 0, NULL, 0}};
  const char *obs_path = NULL, *syn_path = NULL, *out = NULL;
  double eps = 1e-3;
  psfwi_error err = {0};
  optind = 1;
  opterr = 0;
  int c;
  while ((c = getopt_long(argc, argv, "ho:", opts, NULL)) != -1) {
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
    else if (c == 'e') {
      if (cli_double("--eps", optarg, 0.0, 1e6, &eps, &err) != PSFWI_OK) {
        fprintf(stderr, "psfwi data wavelet: %s\n", err.msg);
        return 2;
      }
    } else
      return cli_usage_error("data wavelet", "unknown option or missing value '%s'",
                             argv[optind - 1]);
  }
  if (optind < argc)
    return cli_usage_error("data wavelet", "unexpected argument '%s'", argv[optind]);
  if (obs_path == NULL || syn_path == NULL || out == NULL)
    return cli_usage_error("data wavelet", "needs --observed, --modelled and -o");
  const psfwi_run_file files[] = {
      {"--observed", obs_path, 0}, {"--modelled", syn_path, 0}, {"-o", out, 1}};
  if (psfwi_check_run_files(files, 3, &err) != PSFWI_OK) return cli_error(&err);
  psfwi_gather *o = psfwi_nc_read_gather(obs_path, &err), *s = NULL;
  if (o != NULL) s = psfwi_nc_read_gather(syn_path, &err);
  int st = o && s ? same_acquisition(obs_path, o, syn_path, s, &err) : err.status;
  const size_t ntr = o ? o->survey->nshot * o->survey->nrec : 0, nt = o ? o->nt : 0;
  unsigned char *live = st == PSFWI_OK ? malloc(ntr) : NULL;
  float *w = st == PSFWI_OK ? malloc(nt * sizeof *w) : NULL;
  if (st == PSFWI_OK && (live == NULL || w == NULL))
    st = psfwi_fail(&err, PSFWI_ENOMEM, "out of memory");
  if (st == PSFWI_OK) {
    double wmax = 0.0;
    for (size_t i = 0; i < nt; i++) wmax = fmax(wmax, fabs(s->wavelet[i]));
    if (!(wmax > 0.0))
      st = psfwi_fail(&err, PSFWI_EINVAL,
                      "'%s' holds no wavelet (all zero): model it with psfwi forward, which "
                      "stores the wavelet it used",
                      syn_path);
  }
  psfwi_source_info info = {0};
  if (st == PSFWI_OK) {
    for (size_t k = 0; k < ntr; k++) {
      live[k] = 0;
      for (size_t i = 0; i < nt && !live[k]; i++) live[k] = o->data[k * nt + i] != 0.0f;
    }
    st = psfwi_source_estimate(ntr, nt, s->data, o->data, live, s->wavelet, eps, w, &info, &err);
    if (st != PSFWI_OK) psfwi_error_prefix(&err, "'%s' and '%s': ", obs_path, syn_path);
  }
  if (st == PSFWI_OK) {
    char note[512];
    snprintf(note, sizeof note,
             "psfwi source wavelet, %zu samples at dt = %.9g s\nhistory: %s\nobserved: %s\n"
             "modelled: %s\neps = %g; %zu live traces of %zu; residual after the filter %.4g "
             "of the observed energy",
             nt, o->dt, cli_history ? cli_history : "psfwi data wavelet", obs_path, syn_path, eps,
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
  int r = 1;
  if (rec && sx && sz) {
    for (size_t k = 0; k < ntr; k++) {
      rec[k] = (int32_t)(k / s->nrec);
      sx[k] = s->sx[k / s->nrec];
      sz[k] = s->sz[k / s->nrec];
    }
    size_t dead = 0;
    for (size_t k = 0; k < ntr; k++) {
      size_t i = 0;
      while (i < g->nt && g->data[k * g->nt + i] == 0.0f) i++;
      dead += i == g->nt;
    }
    char notes[128] = "";
    if (dead > 0)
      snprintf(notes, sizeof notes, "%zu all-zero (dead?) trace(s): [data] dead_traces = drop",
               dead);
    r = report(path, "NetCDF gathers", ntr, g->nt, g->dt, rec, sx, sz, s->rx, s->rz, notes, traces);
  } else
    fprintf(stderr, "psfwi: data info: out of memory\n");
  free(rec), free(sx), free(sz);
  psfwi_gather_destroy(g);
  return r;
}

int cmd_data(int argc, char **argv) {
  if (argc < 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
    fputs(usage_text, argc < 2 ? stderr : stdout);
    return argc < 2 ? 2 : 0;
  }
  if (!strcmp(argv[1], "wavelet")) return data_wavelet(argc - 1, argv + 1);
  if (!strcmp(argv[1], "info")) return data_info(argc - 1, argv + 1);
  return cli_usage_error("data", "unknown subcommand '%s' (info, wavelet)", argv[1]);
}
