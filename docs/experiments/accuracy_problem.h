/* The time-to-accuracy problem of issue 16 (scripts/bench_accuracy.py states
 * it), shared by the one-file peers fd_peer/fd_peer.c and
 * deepwave_peer/dw_drive.c: its constants, the Ricker wavelet, the exact
 * trace, 8-point Lagrange weights, a clock and a sort comparator. */
#ifndef ACCURACY_PROBLEM_H
#define ACCURACY_PROBLEM_H
#include <math.h>
#include <time.h>

#define V     2000.0
#define F     10.0
#define DELAY 0.15
#define LDOM  3000.0
#define TMAX  1.6

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static double ricker(double t) {
  const double a = (M_PI * F * (t - DELAY)) * (M_PI * F * (t - DELAY));
  return (1.0 - 2.0 * a) * exp(-a);
}

/* The exact trace at distance r, time t (Simpson's rule on n intervals). */
static double reference(double r, double t, int n) {
  const double T = r / V;
  if (t <= T) return 0.0;
  const double h = sqrt(t - T) / n;
  double s = 0.0;
  for (int i = 0; i <= n; i++) {
    const double u = i * h, w = (i == 0 || i == n) ? 1.0 : (i % 2 ? 4.0 : 2.0);
    s += w * ricker(t - T - u * u) / sqrt(2.0 * T + u * u);
  }
  return s * h / (3.0 * M_PI);
}

/* Lagrange weights of the 8 nodes i0..i0+7 (spacing 1) at position x. */
static void lagrange8(double x, int *i0, double w[8]) {
  *i0 = (int)floor(x) - 3;
  for (int k = 0; k < 8; k++) {
    double v = 1.0;
    for (int j = 0; j < 8; j++)
      if (j != k) v *= (x - (*i0 + j)) / (double)(k - j);
    w[k] = v;
  }
}

static int cmpd(const void *a, const void *b) {
  const double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

#endif
