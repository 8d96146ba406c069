/* Column-major z pass for the Laplacian (29 Nov 2026, adopted): the row r2c
 * writes its spectra transposed (column i of the half spectrum contiguous),
 * so the z FFTs run on contiguous columns and FFTW needs no buffered copies
 * (fftwf_cpy2d took 7-10 % of a step in perf); c2r reads them back strided.
 * Periodic (P) and free-surface sine (S) forms against the row-major forms
 * used before, and FFTW's 2D pair. The S forms here are only indicative:
 * the column one is scalar, as first written, and in the library it lost to
 * the row-major sine (step_vs_pair: Laplacian 1.23x against 1.13x the pair),
 * whose copy here is slower than the library's (its multiplier test sits in
 * the inner loop). The library's vectorized column sine (sine_pre /
 * sine_post in src/wave/wave.c) is timed by step_vs_pair.c.
 * "P rm-cm-rm": row-major spectra, the z FFTs out of place into columns and
 * back (FFTW doing the transposes): no gain. The last argument pads the
 * column stride: unpadded, npz = 192 (1536-byte columns, a multiple of
 * 512 bytes) made the column form 1.33x the pair; padded to 200, 0.97x.
 *   gcc -O2 -march=x86-64-v3 column_major.c -o column_major -lfftw3f -lm
 *   ./column_major 300 168; ./column_major 320 192 7 0; ./column_major 320 192 7 8 */
#include <fftw3.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec + 1e-9 * t.tv_nsec;
}
static int npx, npz, nh;
static float *sn, *mult, *multT, *acc;
/* row-major sine (as in wave.c, NONE / FULL) */
static void sine_rm(size_t N, size_t nc, fftwf_plan zfft, float *restrict c, float *restrict out,
                    const float *restrict m) {
  const size_t nr = 2 * nc;
  memset(c, 0, nr * sizeof(float));
  for (size_t j = 1; j < N / 2; j++) {
    const float s = sn[j];
    float *restrict a = c + j * nr, *restrict b = c + (N - j) * nr;
    for (size_t i = 0; i < nr; i++) {
      const float p = s * (a[i] + b[i]), q = 0.5f * (a[i] - b[i]);
      a[i] = p + q;
      b[i] = p - q;
    }
  }
  float *mid = c + (N / 2) * nr;
  for (size_t i = 0; i < nr; i++) mid[i] *= 2.0f;
  fftwf_execute_dft(zfft, (fftwf_complex *)c, (fftwf_complex *)c);
  memset(out, 0, nr * sizeof(float));
  for (size_t i = 0; i < nr; i++) {
    acc[i] = 0.5f * c[i];
    out[nr + i] = acc[i] * (m ? m[nc + i / 2] : 1.0f);
  }
  for (size_t k = 1; k < N / 2; k++) {
    const float *ck = c + k * nr, *cm = c + (N - k) * nr;
    float *xe = out + 2 * k * nr, *xo = xe + nr;
    for (size_t i = 0; i < nc; i++) {
      const float me = m ? m[2 * k * nc + i] : 1.0f, mo = m ? m[(2 * k + 1) * nc + i] : 1.0f;
      const float cr = ck[2 * i], ci = ck[2 * i + 1], mr = cm[2 * i], mi = cm[2 * i + 1];
      acc[2 * i] += 0.5f * (cr + mr);
      acc[2 * i + 1] += 0.5f * (ci + mi);
      xe[2 * i] = 0.5f * (mi - ci) * me;
      xe[2 * i + 1] = 0.5f * (cr - mr) * me;
      xo[2 * i] = acc[2 * i] * mo;
      xo[2 * i + 1] = acc[2 * i + 1] * mo;
    }
  }
}
/* column-major: one column y (N complex, in place) */
static inline void pre_col(size_t N, float *restrict y) {
  y[0] = y[1] = 0.0f;
  for (size_t j = 1; j < N / 2; j++) {
    const float s = sn[j];
    float *a = y + 2 * j, *b = y + 2 * (N - j);
    for (int r = 0; r < 2; r++) {
      const float p = s * (a[r] + b[r]), q = 0.5f * (a[r] - b[r]);
      a[r] = p + q;
      b[r] = p - q;
    }
  }
  y[N] *= 2.0f;
  y[N + 1] *= 2.0f;
}
/* post of column c (FFT output) into o (N complex), times m (N reals or NULL) */
static inline void post_col(size_t N, const float *restrict c, float *restrict o,
                            const float *restrict m) {
  float ar = 0.5f * c[0], ai = 0.5f * c[1];
  o[0] = o[1] = 0.0f;
  o[2] = ar * (m ? m[1] : 1.0f);
  o[3] = ai * (m ? m[1] : 1.0f);
  for (size_t k = 1; k < N / 2; k++) {
    const float cr = c[2 * k], ci = c[2 * k + 1], mr = c[2 * (N - k)], mi = c[2 * (N - k) + 1];
    ar += 0.5f * (cr + mr);
    ai += 0.5f * (ci + mi);
    const float me = m ? m[2 * k] : 1.0f, mo = m ? m[2 * k + 1] : 1.0f;
    o[4 * k] = 0.5f * (mi - ci) * me;
    o[4 * k + 1] = 0.5f * (cr - mr) * me;
    o[4 * k + 2] = ar * mo;
    o[4 * k + 3] = ai * mo;
  }
}
static void fill(float *a, size_t n) {
  for (size_t i = 0; i < n; i++) a[i] = (float)sin(0.37 * (double)i) + (float)(i % 7) * 0.1f;
}
int main(int argc, char **argv) {
  npx = atoi(argv[1]);
  npz = atoi(argv[2]);
  nh = npx / 2 + 1;
  /* argv[4]: numbers of padding per column of the column-major spectra */
  const int N = npz, reps = argc > 3 ? atoi(argv[3]) : 9;
  const int ldz = npz + (argc > 4 ? atoi(argv[4]) : 0);
  const size_t np = (size_t)npx * npz, ns = (size_t)2 * nh * ldz;
  float *a = fftwf_malloc(np * 4), *b = fftwf_malloc(np * 4), *c = fftwf_malloc(ns * 4),
        *c2 = fftwf_malloc(ns * 4), *ref = fftwf_malloc(np * 4), *col = fftwf_malloc(2 * N * 4);
  sn = malloc((N + 1) * 4);
  acc = malloc(2 * nh * 4);
  mult = malloc((size_t)nh * N * 4);
  multT = malloc((size_t)nh * N * 4);
  for (int j = 0; j <= N; j++) sn[j] = (float)sin(M_PI * j / N);
  for (int k = 0; k < N; k++)
    for (int i = 0; i < nh; i++) {
      mult[k * nh + i] = -(float)(k * k + i * i) / (float)(N * N) - 0.1f;
      multT[i * N + k] = mult[k * nh + i];
    }
  const unsigned fl = FFTW_MEASURE;
  fftwf_complex *C = (fftwf_complex *)c;
  fftwf_plan f2 = fftwf_plan_dft_r2c_2d(npz, npx, a, C, fl), g2 = fftwf_plan_dft_c2r_2d(npz, npx, C, b, fl);
  fftwf_plan rf = fftwf_plan_many_dft_r2c(1, &npx, npz, a, NULL, 1, npx, C, NULL, 1, nh, fl);
  fftwf_plan ri = fftwf_plan_many_dft_c2r(1, &npx, npz, C, NULL, 1, nh, b, NULL, 1, npx, fl);
  fftwf_plan zf = fftwf_plan_many_dft(1, &N, nh, C, NULL, nh, 1, C, NULL, nh, 1, FFTW_FORWARD, fl);
  fftwf_plan zb = fftwf_plan_many_dft(1, &N, nh, C, NULL, nh, 1, C, NULL, nh, 1, FFTW_BACKWARD, fl);
  /* column-major */
  fftwf_plan rfT = fftwf_plan_many_dft_r2c(1, &npx, npz, a, NULL, 1, npx, C, NULL, ldz, 1, fl);
  fftwf_plan riT = fftwf_plan_many_dft_c2r(1, &npx, npz, C, NULL, ldz, 1, b, NULL, 1, npx, fl);
  fftwf_plan zfT = fftwf_plan_many_dft(1, &N, nh, C, NULL, 1, ldz, C, NULL, 1, ldz, FFTW_FORWARD, fl);
  fftwf_plan zbT = fftwf_plan_many_dft(1, &N, nh, C, NULL, 1, ldz, C, NULL, 1, ldz, FFTW_BACKWARD, fl);
  if (!rfT || !riT || !zfT || !zbT) return 1;
  fftwf_plan zrc = fftwf_plan_many_dft(1, &N, nh, C, NULL, nh, 1, (fftwf_complex *)c2, NULL, 1, N, FFTW_FORWARD, fl);
  fftwf_plan zcr = fftwf_plan_many_dft(1, &N, nh, (fftwf_complex *)c2, NULL, 1, N, C, NULL, nh, 1, FFTW_BACKWARD, fl);
  double t[6][64];
  const char *name[6] = {"2D pair", "P row-major", "P col-major", "S row-major",
                         "S col-major scalar", "P rm-cm-rm"};
  const int NI = 100;
  for (int rep = 0; rep < reps; rep++) {
    for (int v = 0; v < 6; v++) {
      fill(a, np);
      double t0 = now();
      for (int it = 0; it < NI; it++) {
        if (v == 0) {
          fftwf_execute(f2);
          fftwf_execute(g2);
        } else if (v == 1) {
          fftwf_execute(rf);
          fftwf_execute(zf);
          for (size_t i = 0; i < (size_t)nh * N; i++) { c[2 * i] *= mult[i]; c[2 * i + 1] *= mult[i]; }
          fftwf_execute(zb);
          fftwf_execute(ri);
        } else if (v == 2) {
          fftwf_execute(rfT);
          fftwf_execute(zfT);
          for (size_t jx = 0; jx < (size_t)nh; jx++)
            for (size_t k = 0; k < (size_t)N; k++) {
              c[2 * (jx * ldz + k)] *= multT[jx * N + k];
              c[2 * (jx * ldz + k) + 1] *= multT[jx * N + k];
            }
          fftwf_execute(zbT);
          fftwf_execute(riT);
        } else if (v == 3) {
          fftwf_execute(rf);
          sine_rm(N, nh, zf, c, c2, mult);
          sine_rm(N, nh, zf, c2, c, NULL);
          fftwf_execute_dft_c2r(ri, (fftwf_complex *)c, b);
          memset(b, 0, npx * 4);
        } else if (v == 5) {
          fftwf_execute(rf);
          fftwf_execute(zrc);
          for (size_t i = 0; i < (size_t)nh * N; i++) { c2[2 * i] *= multT[i]; c2[2 * i + 1] *= multT[i]; }
          fftwf_execute(zcr);
          fftwf_execute(ri);
        } else {
          fftwf_execute(rfT);
          for (int i = 0; i < nh; i++) pre_col(N, c + 2 * (size_t)i * ldz);
          fftwf_execute(zfT);
          for (int i = 0; i < nh; i++) {
            float *y = c + 2 * (size_t)i * ldz;
            post_col(N, y, col, multT + (size_t)i * N);
            memcpy(y, col, 2 * N * 4);
            pre_col(N, y);
          }
          fftwf_execute(zfT);
          for (int i = 0; i < nh; i++) {
            float *y = c + 2 * (size_t)i * ldz;
            post_col(N, y, col, NULL);
            memcpy(y, col, 2 * N * 4);
          }
          fftwf_execute(riT);
          memset(b, 0, npx * 4);
        }
      }
      t[v][rep] = (now() - t0) / NI;
      if (rep == 0 && v == 3) memcpy(ref, b, np * 4);
      if (rep == 0 && v == 4) {
        double e = 0, r = 0;
        for (size_t i = 0; i < np; i++) {
          e = fmax(e, fabs(b[i] - ref[i]));
          r = fmax(r, fabs(ref[i]));
        }
        printf("%s vs row-major: max diff %.2e of %.2e\n", name[v], e, r);
      }
    }
  }
  double med[6];
  for (int v = 0; v < 6; v++) {
    for (int i = 0; i < reps; i++)
      for (int j = i + 1; j < reps; j++)
        if (t[v][j] < t[v][i]) { double x = t[v][i]; t[v][i] = t[v][j]; t[v][j] = x; }
    med[v] = t[v][reps / 2];
  }
  for (int v = 0; v < 6; v++)
    printf("%dx%d %-18s %.4f ms  (%.2f of the pair)\n", npx, npz, name[v], 1e3 * med[v], med[v] / med[0]);
  return 0;
}
