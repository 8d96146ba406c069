/* psfwi command line: one cmd_<name>.c per subcommand, a table of commands
 * in main.c. The CLI only parses arguments and calls the library. */
#ifndef PSFWI_CLI_H
#define PSFWI_CLI_H

#include <stddef.h>

#include "psfwi.h"

/* The command line that started this run, for the history attribute. */
extern const char *cli_history;

/* Print "psfwi: <msg>" for a failed library call and return exit status 1. */
int cli_error(const psfwi_error *err);
/* Print "psfwi <cmd>: <printf message>" and return exit status 2 (usage). */
int cli_usage_error(const char *cmd, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

/* Parse option values: say which option was wrong and what was expected. */
int cli_double(const char *opt, const char *text, double min, double max, double *out,
               psfwi_error *err);
int cli_size(const char *opt, const char *text, size_t min, size_t max, size_t *out,
             psfwi_error *err);
/* A frequency band "LOW:HIGH" (Hz, LOW < HIGH, 0 for a missing corner, not
 * both 0); the error names what (e.g. "--band") and quotes the text. */
int cli_band(const char *what, const char *text, double *lo, double *hi, psfwi_error *err);

/* A progress line with ETA on stderr: redrawn in place on a terminal;
 * otherwise (a log file) one line per 10 %, and at least one a minute
 * while work advances. */
typedef struct cli_progress {
  const char *label;
  double t0, t_last;
  size_t total;
  int last_decile;
} cli_progress;
void cli_progress_start(cli_progress *p, const char *label, size_t total);
void cli_progress_update(cli_progress *p, size_t done);
void cli_progress_end(cli_progress *p);

/* A metadata record for written files with the command line as history. */
psfwi_meta cli_meta(const char *title);

/* Subcommands. */
int cmd_model(int argc, char **argv);
int cmd_info(int argc, char **argv);
int cmd_compare(int argc, char **argv);
int cmd_data(int argc, char **argv);
int cmd_forward(int argc, char **argv);
int cmd_gradient(int argc, char **argv);
int cmd_fwi(int argc, char **argv);
int cmd_rnn(int argc, char **argv);
int cmd_dnn(int argc, char **argv);
int cmd_dataset(int argc, char **argv);

#endif
