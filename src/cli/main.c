/* psfwi: the command-line front end (git-style subcommands). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

struct command {
  const char *name;
  int (*fn)(int argc, char **argv);
  const char *summary;
};

static const struct command commands[] = {
    {"model", cmd_model, "make, import, export, smooth, resample and crop velocity models"},
    {"info", cmd_info, "summarise any psfwi NetCDF file (dims, spacing, ranges, attributes)"},
    {"forward", cmd_forward, "model shot gathers with the pseudo-spectral propagator (-c CONFIG)"},
    {"gradient", cmd_gradient, "data misfit and its exact gradient as NetCDF (-c CONFIG)"},
    {"fwi", cmd_fwi, "classical FWI: bounded L-BFGS, multiscale, preconditioning (-c CONFIG)"},
    {"rnn", cmd_rnn, "theory-guided RNN inversion: BPTT, Adam & co over mini-batches (-c CONFIG)"},
    {"dnn", cmd_dnn, "data-driven DNN: train on a data set, predict models, describe networks"},
    {"dataset", cmd_dataset, "training data for the DNN: synthetic models -> features, shards"},
    {"compare", cmd_compare, "compare models with a true model: RMSE, MAE, rel. error, SSIM, PSNR"},
    {"data", cmd_data, "survey data: geometry of SEG-Y/NetCDF gathers, source-wavelet estimate"},
};
static const size_t ncommands = sizeof commands / sizeof commands[0];

static void usage(FILE *out) {
  fprintf(out,
          "usage: psfwi <command> [options]\n"
          "       psfwi help [command]    psfwi <command> -h    psfwi --version\n\n"
          "commands:\n");
  for (size_t i = 0; i < ncommands; i++)
    fprintf(out, "  %-9s %s\n", commands[i].name, commands[i].summary);
  fprintf(out, "\npsfwi %s: pseudo-spectral seismic full-waveform inversion\n",
          PSFWI_VERSION_STRING);
}

static char history_buf[8192];

int main(int argc, char **argv) {
  /* The history attribute: the command line as typed (quoted where needed). */
  size_t used = 0;
  for (int i = 0; i < argc && used < sizeof history_buf; i++) {
    const char *a = i == 0 ? "psfwi" : argv[i];
    const int quote = strpbrk(a, " \t\"'") != NULL;
    used += (size_t)snprintf(history_buf + used, sizeof history_buf - used, "%s%s%s%s",
                             i ? " " : "", quote ? "'" : "", a, quote ? "'" : "");
  }
  cli_history = history_buf;

  if (argc < 2) {
    usage(stderr);
    return 2;
  }
  const char *name = argv[1];
  if (strcmp(name, "--version") == 0 || strcmp(name, "version") == 0) {
    printf("psfwi %s\n", PSFWI_VERSION_STRING);
    return 0;
  }
  if (strcmp(name, "help") == 0 || strcmp(name, "-h") == 0 || strcmp(name, "--help") == 0) {
    if (argc > 2 && strcmp(name, "help") == 0) {
      for (size_t i = 0; i < ncommands; i++)
        if (strcmp(argv[2], commands[i].name) == 0) {
          char *hargv[] = {argv[2], "-h", NULL};
          return commands[i].fn(2, hargv);
        }
      fprintf(stderr, "psfwi: '%s' is not a psfwi command; see 'psfwi help'\n", argv[2]);
      return 2;
    }
    usage(stdout);
    return 0;
  }
  for (size_t i = 0; i < ncommands; i++)
    if (strcmp(name, commands[i].name) == 0) return commands[i].fn(argc - 1, argv + 1);
  fprintf(stderr, "psfwi: '%s' is not a psfwi command; see 'psfwi help'\n", name);
  return 2;
}
