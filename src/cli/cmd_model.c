/* psfwi model <synth|import|export|smooth|resample|crop>: velocity models. */
#define _GNU_SOURCE
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

/* Each subcommand: its usage line(s) and what it does ('psfwi model SUB -h'). */
struct sub_help {
  const char *name, *usage, *text;
};
static const struct sub_help subs[] = {
    {"synth",
     "psfwi model synth --family layered|folded|faulted|salt|anomaly|blocky --nx N --nz N\n"
     "                  --dx D [--dz D] [--seed S] [--vmin V --vmax V] [--water M] -o m.nc",
     "a synthetic model, reproducible from its family, parameters and seed\n"
     "(defaults: --seed 1 --vmin 1500 --vmax 4500 --water 0, --dz = --dx)"},
    {"import",
     "psfwi model import FILE [--format segy|bin|npy|npz] [--nx N --nz N --dx D [--dz D]]\n"
     "                  [--order xz|zx] [--endian little|big] [--dtype f32|f64]\n"
     "                  [--key NAME] [--index I] -o m.nc",
     "SEG-Y (traces along x, samples along z; spacing from headers unless --dx/--dz),\n"
     "raw binary (needs --nx --nz --dx; --order xz means trace by trace, z fastest;\n"
     "default little-endian f32), NumPy .npy/.npz (needs --dx; --order zx (default)\n"
     "means shape (nz, nx); --key picks an .npz member; an array holding several\n"
     "models needs --index I to pick one along its leading axis)"},
    {"export", "psfwi model export m.nc -o m.segy",
     "write SEG-Y (IEEE float, CDP_X in metres, sample interval = dz in mm)"},
    {"smooth", "psfwi model smooth m.nc --sigma METRES [--slowness] [--keep-water] -o s.nc",
     "Gaussian smoothing with standard deviation --sigma metres, in velocity or\n"
     "(--slowness) in 1/v; --keep-water keeps a top 1500 m/s layer fixed"},
    {"resample", "psfwi model resample m.nc --dx D [--dz D] -o r.nc",
     "to a new spacing over the same extent (anti-aliased when coarsening)"},
    {"crop", "psfwi model crop m.nc --x0 X --x1 X --z0 Z --z1 Z -o c.nc",
     "keep x in [x0, x1], z in [z0, z1] (metres)"},
};
static const size_t nsubs = sizeof subs / sizeof subs[0];

static void usage(FILE *out) {
  for (size_t i = 0; i < nsubs; i++)
    fprintf(out, "%s %s\n", i ? "      " : "usage:", subs[i].usage);
  fprintf(out, "\nModels are NetCDF vp(z, x) in m/s on a regular grid in metres. Units: m, m/s.\n");
  for (size_t i = 0; i < nsubs; i++) {
    fprintf(out, "  %-9s ", subs[i].name);
    for (const char *c = subs[i].text; *c; c++) {
      fputc(*c, out);
      if (*c == '\n') fprintf(out, "            ");
    }
    fputc('\n', out);
  }
  fprintf(out, "'psfwi model SUB -h' shows one subcommand.\n");
}

static const struct sub_help *find_sub(const char *name) {
  for (size_t i = 0; i < nsubs; i++)
    if (strcmp(subs[i].name, name) == 0) return &subs[i];
  return NULL;
}

enum {
  O_FAMILY = 256,
  O_NX,
  O_NZ,
  O_DX,
  O_DZ,
  O_SEED,
  O_VMIN,
  O_VMAX,
  O_WATER,
  O_FORMAT,
  O_ORDER,
  O_ENDIAN,
  O_DTYPE,
  O_KEY,
  O_INDEX,
  O_SIGMA,
  O_SLOWNESS,
  O_KEEPWATER,
  O_X0,
  O_X1,
  O_Z0,
  O_Z1
};

static const struct option long_opts[] = {{"family", required_argument, NULL, O_FAMILY},
                                          {"nx", required_argument, NULL, O_NX},
                                          {"nz", required_argument, NULL, O_NZ},
                                          {"dx", required_argument, NULL, O_DX},
                                          {"dz", required_argument, NULL, O_DZ},
                                          {"seed", required_argument, NULL, O_SEED},
                                          {"vmin", required_argument, NULL, O_VMIN},
                                          {"vmax", required_argument, NULL, O_VMAX},
                                          {"water", required_argument, NULL, O_WATER},
                                          {"format", required_argument, NULL, O_FORMAT},
                                          {"order", required_argument, NULL, O_ORDER},
                                          {"endian", required_argument, NULL, O_ENDIAN},
                                          {"dtype", required_argument, NULL, O_DTYPE},
                                          {"key", required_argument, NULL, O_KEY},
                                          {"index", required_argument, NULL, O_INDEX},
                                          {"sigma", required_argument, NULL, O_SIGMA},
                                          {"slowness", no_argument, NULL, O_SLOWNESS},
                                          {"keep-water", no_argument, NULL, O_KEEPWATER},
                                          {"x0", required_argument, NULL, O_X0},
                                          {"x1", required_argument, NULL, O_X1},
                                          {"z0", required_argument, NULL, O_Z0},
                                          {"z1", required_argument, NULL, O_Z1},
                                          {"output", required_argument, NULL, 'o'},
                                          {"help", no_argument, NULL, 'h'},
                                          {NULL, 0, NULL, 0}};

/* Everything any model subcommand may be given; `seen` records which. */
struct args {
  const char *family, *format, *order, *endian, *dtype, *key, *out, *input;
  size_t nx, nz, index;
  double dx, dz, vmin, vmax, water, sigma, x0, x1, z0, z1;
  unsigned long long seed;
  int slowness, keep_water;
  unsigned char seen[O_Z1 + 1];
};

static int parse(const char *sub, int argc, char **argv, struct args *a, psfwi_error *err) {
  memset(a, 0, sizeof *a);
  a->seed = 1;
  a->vmin = 1500.0;
  a->vmax = 4500.0;
  optind = 1;
  opterr = 0;
  int c, st = PSFWI_OK;
  while (st == PSFWI_OK && (c = getopt_long(argc, argv, ":o:h", long_opts, NULL)) != -1) {
    if (c >= O_FAMILY && c <= O_Z1) a->seen[c] = 1;
    const double big = 1e12;
    switch (c) {
      case 'h': return -1;
      case 'o': a->out = optarg; break;
      case O_FAMILY: a->family = optarg; break;
      case O_NX: st = cli_size("--nx", optarg, 1, 1000000, &a->nx, err); break;
      case O_NZ: st = cli_size("--nz", optarg, 1, 1000000, &a->nz, err); break;
      case O_DX: st = cli_double("--dx", optarg, 1e-6, big, &a->dx, err); break;
      case O_DZ: st = cli_double("--dz", optarg, 1e-6, big, &a->dz, err); break;
      case O_SEED: {
        size_t s;
        st = cli_size("--seed", optarg, 0, (size_t)-1 / 2, &s, err);
        a->seed = s;
        break;
      }
      case O_VMIN: st = cli_double("--vmin", optarg, 1e-3, big, &a->vmin, err); break;
      case O_VMAX: st = cli_double("--vmax", optarg, 1e-3, big, &a->vmax, err); break;
      case O_WATER: st = cli_double("--water", optarg, 0.0, big, &a->water, err); break;
      case O_FORMAT: a->format = optarg; break;
      case O_ORDER: a->order = optarg; break;
      case O_ENDIAN: a->endian = optarg; break;
      case O_DTYPE: a->dtype = optarg; break;
      case O_KEY: a->key = optarg; break;
      case O_INDEX: st = cli_size("--index", optarg, 0, (size_t)-1 / 2, &a->index, err); break;
      case O_SIGMA: st = cli_double("--sigma", optarg, 0.0, big, &a->sigma, err); break;
      case O_SLOWNESS: a->slowness = 1; break;
      case O_KEEPWATER: a->keep_water = 1; break;
      case O_X0: st = cli_double("--x0", optarg, -big, big, &a->x0, err); break;
      case O_X1: st = cli_double("--x1", optarg, -big, big, &a->x1, err); break;
      case O_Z0: st = cli_double("--z0", optarg, -big, big, &a->z0, err); break;
      case O_Z1: st = cli_double("--z1", optarg, -big, big, &a->z1, err); break;
      case ':':
        return psfwi_fail(err, PSFWI_EINVAL, "model %s: option '%s' needs a value", sub,
                          argv[optind - 1]);
      default:
        return psfwi_fail(err, PSFWI_EINVAL, "model %s: unknown option '%s'", sub,
                          argv[optind - 1]);
    }
  }
  if (st != PSFWI_OK) return st;
  if (optind < argc && strcmp(sub, "synth") != 0) a->input = argv[optind++];
  if (optind < argc)
    return psfwi_fail(err, PSFWI_EINVAL, "model %s: unexpected argument '%s'%s", sub, argv[optind],
                      strcmp(sub, "synth") == 0 ? " (synth takes no input file)" : "");
  if (a->out == NULL) return psfwi_fail(err, PSFWI_EINVAL, "model %s: missing -o OUTPUT", sub);
  return PSFWI_OK;
}

static int need(const struct args *a, int opt, const char *name, const char *sub,
                psfwi_error *err) {
  if (!a->seen[opt])
    return psfwi_fail(err, PSFWI_EINVAL, "model %s: missing required option %s", sub, name);
  return PSFWI_OK;
}

static int need_input(const struct args *a, const char *sub, psfwi_error *err) {
  if (a->input == NULL)
    return psfwi_fail(err, PSFWI_EINVAL, "model %s: missing the input file", sub);
  return PSFWI_OK;
}

/* Print a one-line summary of a written model (stdout). */
static void summary(const char *path, const psfwi_model *m) {
  float lo, hi;
  psfwi_model_range(m, &lo, &hi);
  const psfwi_grid *g = &m->grid;
  printf(
      "%s: vp(z, x) %zu x %zu (nz x nx), dx = %g m, dz = %g m, x %g..%g m, z %g..%g m, "
      "vp %g..%g m/s\n",
      path, g->nz, g->nx, g->dx, g->dz, g->x0, g->x0 + (double)(g->nx - 1) * g->dx, g->z0,
      g->z0 + (double)(g->nz - 1) * g->dz, (double)lo, (double)hi);
}

static psfwi_model *do_synth(const struct args *a, psfwi_error *err) {
  if (need(a, O_FAMILY, "--family", "synth", err) || need(a, O_NX, "--nx", "synth", err) ||
      need(a, O_NZ, "--nz", "synth", err) || need(a, O_DX, "--dx", "synth", err))
    return NULL;
  psfwi_synth_params p;
  psfwi_synth_defaults(&p);
  psfwi_family fam;
  if (psfwi_family_parse(a->family, &fam, err) != PSFWI_OK) return NULL;
  p.family = fam;
  p.seed = a->seed;
  p.vmin = a->vmin;
  p.vmax = a->vmax;
  p.water_depth = a->water;
  psfwi_grid g = {.nx = a->nx, .nz = a->nz, .dx = a->dx, .dz = a->seen[O_DZ] ? a->dz : a->dx};
  return psfwi_synth_create(&g, &p, err);
}

/* The import format: --format, else from the file name's extension. */
static const char *guess_format(const struct args *a) {
  if (a->format) return a->format;
  const char *dot = strrchr(a->input, '.');
  if (dot == NULL) return "bin";
  if (!strcmp(dot, ".segy") || !strcmp(dot, ".sgy") || !strcmp(dot, ".SEGY") ||
      !strcmp(dot, ".SGY"))
    return "segy";
  if (!strcmp(dot, ".npy")) return "npy";
  if (!strcmp(dot, ".npz")) return "npz";
  return "bin";
}

static psfwi_model *do_import(const struct args *a, psfwi_error *err) {
  if (need_input(a, "import", err)) return NULL;
  const char *fmt = guess_format(a);
  psfwi_order order = PSFWI_ORDER_ZX;
  if (a->order) {
    if (!strcmp(a->order, "xz"))
      order = PSFWI_ORDER_XZ;
    else if (strcmp(a->order, "zx") != 0) {
      psfwi_fail(err, PSFWI_EINVAL, "model import: --order '%s'; expected xz or zx", a->order);
      return NULL;
    }
  }
  const double dz = a->seen[O_DZ] ? a->dz : a->dx;
  if (!strcmp(fmt, "segy")) {
    psfwi_segy_opts o = {.dx = a->seen[O_DX] ? a->dx : 0.0, .dz = a->seen[O_DZ] ? a->dz : 0.0};
    return psfwi_segy_read_model(a->input, &o, err);
  }
  if (!strcmp(fmt, "bin")) {
    if (need(a, O_NX, "--nx (raw binary)", "import", err) ||
        need(a, O_NZ, "--nz (raw binary)", "import", err) ||
        need(a, O_DX, "--dx (raw binary)", "import", err))
      return NULL;
    psfwi_raw_opts o = {.nx = a->nx,
                        .nz = a->nz,
                        .dx = a->dx,
                        .dz = dz,
                        .order = a->order ? order : PSFWI_ORDER_XZ};
    if (a->endian && !strcmp(a->endian, "big"))
      o.endian = PSFWI_ENDIAN_BIG;
    else if (a->endian && strcmp(a->endian, "little") != 0) {
      psfwi_fail(err, PSFWI_EINVAL, "model import: --endian '%s'; expected little or big",
                 a->endian);
      return NULL;
    }
    if (a->dtype && !strcmp(a->dtype, "f64"))
      o.dtype = PSFWI_DTYPE_F64;
    else if (a->dtype && strcmp(a->dtype, "f32") != 0) {
      psfwi_fail(err, PSFWI_EINVAL, "model import: --dtype '%s'; expected f32 or f64", a->dtype);
      return NULL;
    }
    return psfwi_raw_read_model(a->input, &o, err);
  }
  if (!strcmp(fmt, "npy") || !strcmp(fmt, "npz")) {
    if (need(a, O_DX, "--dx (NumPy files hold no spacing)", "import", err)) return NULL;
    psfwi_npy_opts o = {.dx = a->dx,
                        .dz = dz,
                        .order = order,
                        .key = a->key,
                        .index = a->index,
                        .has_index = a->seen[O_INDEX]};
    return psfwi_npy_read_model(a->input, &o, err);
  }
  psfwi_fail(err, PSFWI_EINVAL, "model import: --format '%s'; expected segy, bin, npy or npz", fmt);
  return NULL;
}

int cmd_model(int argc, char **argv) {
  if (argc < 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
    usage(argc < 2 ? stderr : stdout);
    return argc < 2 ? 2 : 0;
  }
  const char *sub = argv[1];
  const struct sub_help *help = find_sub(sub);
  if (help == NULL) return cli_usage_error("model", "unknown subcommand '%s'", sub);
  struct args a;
  psfwi_error err = {0};
  int st = parse(sub, argc - 1, argv + 1, &a, &err);
  if (st < 0) {
    printf("usage: %s\n\n%s\n", help->usage, help->text);
    return 0;
  }
  if (st != PSFWI_OK) return cli_usage_error("model", "%s", err.msg);
  /* The output must not be the input (compared by identity, not spelling). */
  const psfwi_run_file files[] = {{"input", a.input, 0}, {"-o", a.out, 1}};
  if (psfwi_check_run_files(files, 2, &err) != PSFWI_OK) return cli_error(&err);

  psfwi_model *m = NULL;
  char title[256];
  if (!strcmp(sub, "synth")) {
    m = do_synth(&a, &err);
    snprintf(title, sizeof title, "psfwi synthetic model: %s, seed %llu", a.family ? a.family : "",
             a.seed);
  } else if (!strcmp(sub, "import")) {
    m = do_import(&a, &err);
    snprintf(title, sizeof title, "velocity model imported from %s", a.input ? a.input : "");
  } else if (!strcmp(sub, "export") || !strcmp(sub, "smooth") || !strcmp(sub, "resample") ||
             !strcmp(sub, "crop")) {
    if (need_input(&a, sub, &err) == PSFWI_OK) {
      psfwi_model *in = psfwi_nc_read_model(a.input, NULL, &err);
      if (in != NULL && !strcmp(sub, "export")) {
        st = psfwi_segy_write_model(a.out, in, &err);
        if (st == PSFWI_OK) summary(a.out, in);
        psfwi_model_destroy(in);
        return st == PSFWI_OK ? 0 : cli_error(&err);
      }
      if (in != NULL && !strcmp(sub, "smooth")) {
        if (need(&a, O_SIGMA, "--sigma", "smooth", &err) == PSFWI_OK) {
          unsigned char *mask = NULL;
          if (a.keep_water) {
            mask = calloc(psfwi_grid_size(&in->grid), 1);
            if (mask == NULL ||
                psfwi_model_water_mask(in, 1500.0, 1.0, mask, NULL, &err) != PSFWI_OK) {
              free(mask);
              psfwi_model_destroy(in);
              return cli_error(&err);
            }
          }
          if (psfwi_model_smooth(in, a.sigma, a.slowness, mask, &err) == PSFWI_OK) m = in;
          free(mask);
          snprintf(title, sizeof title, "%s smoothed (sigma %g m%s)", a.input, a.sigma,
                   a.slowness ? ", in slowness" : "");
        }
      } else if (in != NULL && !strcmp(sub, "resample")) {
        if (need(&a, O_DX, "--dx", "resample", &err) == PSFWI_OK)
          m = psfwi_model_resample(in, a.dx, a.seen[O_DZ] ? a.dz : a.dx, &err);
        snprintf(title, sizeof title, "%s resampled", a.input);
      } else if (in != NULL && !strcmp(sub, "crop")) {
        if (!need(&a, O_X0, "--x0", "crop", &err) && !need(&a, O_X1, "--x1", "crop", &err) &&
            !need(&a, O_Z0, "--z0", "crop", &err) && !need(&a, O_Z1, "--z1", "crop", &err))
          m = psfwi_model_crop(in, a.x0, a.x1, a.z0, a.z1, &err);
        snprintf(title, sizeof title, "%s cropped", a.input);
      }
      if (m != in) psfwi_model_destroy(in);
    }
  }
  if (m == NULL) return cli_error(&err);
  psfwi_meta meta = cli_meta(title);
  st = psfwi_nc_write_model(a.out, m, &meta, &err);
  if (st == PSFWI_OK) summary(a.out, m);
  psfwi_model_destroy(m);
  return st == PSFWI_OK ? 0 : cli_error(&err);
}
