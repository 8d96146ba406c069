/* Helpers shared by the CMocka tests: a private temporary directory, paths
 * into it, and access to ../shared/data (tests skip when it is absent). */
#ifndef PSFWI_TESTUTIL_H
#define PSFWI_TESTUTIL_H
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

/* A fresh directory for this test program (created on first call, removed
 * with its contents at exit). */
const char *tu_tmpdir(void);
/* tmpdir/name into a static ring of buffers (valid for the next 7 calls). */
const char *tu_path(const char *name);
/* Full path of a file under ../shared/data, or NULL (with a message on
 * stderr saying it is skipped) when that file is absent. */
const char *tu_shared(const char *rel);
/* 1 if the file exists. */
int tu_exists(const char *path);
/* Write bytes to a file (asserts on failure). */
void tu_write_file(const char *path, const void *data, size_t len);
/* Run a shell command; returns its exit status (or -1). */
int tu_system(const char *fmt, ...);
/* xorshift64*: the tests' one deterministic random-number generator.
 * tu_uniform in [0, 1), tu_urand in [-1, 1); *state is the seed (!= 0). */
double tu_uniform(unsigned long long *state);
double tu_urand(unsigned long long *state);
/* The double item `name` of the state file `path` of `kind`
 * (psfwi_state_read) into out[n]; asserts it is there with n values. */
void tu_state_f64(const char *path, const char *kind, const char *name, double *out, size_t n);
/* Relative L2 difference ||a - b|| / ||b||. */
double tu_rel_l2(const float *a, const float *b, size_t n);
/* Singular values of the nz x nx matrix r[iz * nx + ix] (double), computed
 * independently of LAPACK (one-sided Jacobi), into s[min(nx, nz)]
 * (unsorted). For checking SVD-based code. */
void tu_singular_values(size_t nx, size_t nz, const double *r, double *s);
#endif
