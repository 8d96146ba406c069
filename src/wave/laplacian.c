/* The spectral Laplacian L (psfwi_wave_laplacian): r2c / c2r over the padded
 * grid with the multiplier in between (FFTW's 2D pair), or, with the PML or
 * the free surface, r2c along x per row and a z pass over the spectral
 * columns: complex FFTs, or the sine transform (DST-I) of the free surface;
 * and that sine transform on complex columns stored row by row
 * (psfwi_wave_sine, also the PML's column strips'). The plans, multipliers
 * and sine tables are made by psfwi_wave_create (src/wave/wave.c); this file
 * calls nothing of wave.c or pml.c (the PML's row hook is passed in). */
#include <stddef.h>
#include <string.h>

#include <fftw3.h>

#include "wave_internal.h"

/* Sine transform (DST-I) along z of nc complex columns stored row by row
 * (row j: nc complex numbers; row-major spectra and the PML's column
 * strips): for rows j = 1..N-1 of c (row 0 is ignored), out[k] = sum_j
 * c[j] sin(pi j k / N), k = 1..N-1, times the multiplier
 * (psfwi_wave_sine_mult); out row 0 is zero. c is overwritten. A complex
 * FFT of N points (zfft: nc columns, stride nc, in place) does the work (the
 * odd extension would need 2N): with
 *   y_j = sin(pi j / N) (c_j + c_{N-j}) + (c_j - c_{N-j}) / 2,
 * and Y = FFT(y) taken apart into the transforms Ya, Yb of the real and
 * imaginary parts (Hermitian symmetry), out[2k] = -Im Y_k and
 * out[2k+1] = out[2k-1] + Re Y_k (out[1] = Re Y_0 / 2), for both parts
 * (Numerical Recipes' sinft, on two real columns at once). acc holds the
 * running sums (nc complex numbers). Their rounding grows like a random walk
 * over N / 2 terms; measured, it does not show: eigenmodes come back within
 * 5e-7 of the largest symbol (2e-7 without the free surface), and a double
 * accumulator changed neither that nor the symmetry test (it cost 10 %). */
PSFWI_CLONES
void psfwi_wave_sine(size_t N, size_t nc, fftwf_plan zfft, const float *sine, float *restrict c,
                     float *restrict out, const float *restrict mult, psfwi_wave_sine_mult mode,
                     float *restrict acc) {
  const size_t nr = 2 * nc;
  const float *restrict sn = sine;
  memset(c, 0, nr * sizeof(float));
  for (size_t j = 1; j < N / 2; j++) {
    const float s = sn[j];
    float *restrict a = c + j * nr, *restrict b = c + (N - j) * nr;
    for (size_t i = 0; i < nr; i++) {
      const float p = s * (a[i] + b[i]), m = 0.5f * (a[i] - b[i]);
      a[i] = p + m;
      b[i] = p - m;
    }
  }
  float *restrict mid = c + (N / 2) * nr;
  for (size_t i = 0; i < nr; i++) mid[i] *= 2.0f;
  fftwf_execute_dft(zfft, (fftwf_complex *)c, (fftwf_complex *)c);
  memset(out, 0, nr * sizeof(float));
  for (size_t i = 0; i < nr; i++) {
    acc[i] = 0.5f * c[i];
    const float m = mode == PSFWI_SINE_FULL  ? mult[nc + i / 2]
                    : mode == PSFWI_SINE_ROW ? mult[1]
                                             : 1.0f;
    out[nr + i] = acc[i] * m;
  }
  for (size_t k = 1; k < N / 2; k++) {
    const float *restrict ck = c + k * nr, *restrict cm = c + (N - k) * nr;
    float *restrict xe = out + 2 * k * nr, *restrict xo = xe + nr;
    if (mode == PSFWI_SINE_FULL) {
      const float *restrict me = mult + 2 * k * nc, *restrict mo = me + nc;
      for (size_t i = 0; i < nc; i++) {
        const float cr = ck[2 * i], ci = ck[2 * i + 1], mr = cm[2 * i], mi = cm[2 * i + 1];
        acc[2 * i] += 0.5f * (cr + mr);
        acc[2 * i + 1] += 0.5f * (ci + mi);
        xe[2 * i] = 0.5f * (mi - ci) * me[i];     /* -Im Ya_k */
        xe[2 * i + 1] = 0.5f * (cr - mr) * me[i]; /* -Im Yb_k */
        xo[2 * i] = acc[2 * i] * mo[i];
        xo[2 * i + 1] = acc[2 * i + 1] * mo[i];
      }
    } else {
      const float me = mode == PSFWI_SINE_ROW ? mult[2 * k] : 1.0f;
      const float mo = mode == PSFWI_SINE_ROW ? mult[2 * k + 1] : 1.0f;
      for (size_t i = 0; i < nc; i++) {
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
}

/* The sine transform of psfwi_wave_sine on one column of N complex numbers
 * (column-major spectra, the Laplacian's): sine_pre forms y from c (c == y
 * allowed; c[0] is ignored), the FFT of N points transforms y, and
 * sine_post takes the transform out of it into out (out[0] = 0), times m
 * when m is not NULL (2 N floats: each multiplier twice). The pair
 * (j, N - j) of the pre-pass and (k, N - k) of the post-pass are read as
 * vectors of four complex numbers, one of them reversed, and the post-pass's
 * running sum is a prefix sum within the vector plus a carry: the compiler's
 * generic vectors (GCC, clang), so that both clones (AVX2 and baseline) vectorize the column
 * along z (written as scalar loops they took 10 % more than the row-major
 * form that was replaced; docs/wave.md). sd: sin(pi j / N) twice for each j. */
typedef float psfwi_v8 __attribute__((vector_size(32)));
typedef int psfwi_v8i __attribute__((vector_size(32)));
/* Unaligned loads and stores through memcpy (GNU statement expressions).
 * Macros, not functions: a vector passed by value to a function would have
 * a different ABI in the baseline and the AVX2 clone (GCC's -Wpsabi); and
 * loads through an under-aligned may_alias vector type made the sine pass
 * 2.2x slower (measured). */
#define V8_LOAD(p)                   \
  __extension__({                    \
    psfwi_v8 v8l_;                   \
    memcpy(&v8l_, (p), sizeof v8l_); \
    v8l_;                            \
  })
#define V8_STORE(p, v)               \
  do {                               \
    const psfwi_v8 v8s_ = (v);       \
    memcpy((p), &v8s_, sizeof v8s_); \
  } while (0)
/* shuffles of one vector and of two (indices 8-15: the second) */
#if defined(__clang__)
#define V8_SHUF1(v, ...)    __builtin_shufflevector((v), (v), __VA_ARGS__)
#define V8_SHUF2(a, b, ...) __builtin_shufflevector((a), (b), __VA_ARGS__)
#else
#define V8_SHUF1(v, ...)    __builtin_shuffle((v), (psfwi_v8i){__VA_ARGS__})
#define V8_SHUF2(a, b, ...) __builtin_shuffle((a), (b), (psfwi_v8i){__VA_ARGS__})
#endif
/* the four complex numbers of v in reverse order */
#define V8_REV(v) V8_SHUF1((v), 6, 7, 4, 5, 2, 3, 0, 1)

static inline void sine_pre(size_t N, const float *restrict sd, const float *c, float *y) {
  const size_t h = N / 2;
  size_t j = 1;
  const psfwi_v8 half = {0.5f, 0.5f, 0.5f, 0.5f, 0.5f, 0.5f, 0.5f, 0.5f};
  for (; j + 3 < h; j += 4) { /* j..j+3 and N-j-3..N-j */
    const size_t a = 2 * j, b = 2 * (N - j - 3);
    const psfwi_v8 va = V8_LOAD(c + a), vb = V8_REV(V8_LOAD(c + b));
    const psfwi_v8 p = V8_LOAD(sd + a) * (va + vb), q = half * (va - vb);
    V8_STORE(y + a, p + q);
    V8_STORE(y + b, V8_REV(p - q));
  }
  for (; j < h; j++) {
    const float s = sd[2 * j];
    const size_t a = 2 * j, b = 2 * (N - j);
    const float ar = c[a], ai = c[a + 1], br = c[b], bi = c[b + 1];
    const float pr = s * (ar + br), pi = s * (ai + bi);
    const float qr = 0.5f * (ar - br), qi = 0.5f * (ai - bi);
    y[a] = pr + qr;
    y[a + 1] = pi + qi;
    y[b] = pr - qr;
    y[b + 1] = pi - qi;
  }
  y[N] = 2.0f * c[N];
  y[N + 1] = 2.0f * c[N + 1];
  y[0] = y[1] = 0.0f;
}

static inline void sine_post(size_t N, const float *restrict c, float *restrict out,
                             const float *restrict m) {
  const size_t h = N / 2;
  float ar = 0.5f * c[0], ai = 0.5f * c[1];
  out[0] = out[1] = 0.0f;
  out[2] = m != NULL ? ar * m[2] : ar;
  out[3] = m != NULL ? ai * m[3] : ai;
  size_t k = 1;
  const psfwi_v8 zero = {0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f};
  const psfwi_v8 half = {0.5f, 0.5f, 0.5f, 0.5f, 0.5f, 0.5f, 0.5f, 0.5f};
  const psfwi_v8 ihalf = {-0.5f, 0.5f, -0.5f, 0.5f, -0.5f, 0.5f, -0.5f, 0.5f};
  psfwi_v8 carry = {ar, ai, ar, ai, ar, ai, ar, ai};
  for (; k + 3 < h; k += 4) { /* k..k+3 and N-k-3..N-k */
    const psfwi_v8 ck = V8_LOAD(c + 2 * k), cm = V8_REV(V8_LOAD(c + 2 * (N - k - 3)));
    /* even outputs: i (c_k - c_{N-k}) / 2 */
    const psfwi_v8 d = ck - cm;
    const psfwi_v8 ev = ihalf * V8_SHUF1(d, 1, 0, 3, 2, 5, 4, 7, 6);
    /* odd outputs: running sum of (c_k + c_{N-k}) / 2 */
    psfwi_v8 t = half * (ck + cm);
    t += V8_SHUF2(t, zero, 8, 9, 0, 1, 2, 3, 4, 5);
    t += V8_SHUF2(t, zero, 8, 9, 10, 11, 0, 1, 2, 3);
    /* (the carry's chain is one addition per vector) */
    const psfwi_v8 last = V8_SHUF1(t, 6, 7, 6, 7, 6, 7, 6, 7);
    t += carry;
    carry += last;
    psfwi_v8 o1 = V8_SHUF2(ev, t, 0, 1, 8, 9, 2, 3, 10, 11);
    psfwi_v8 o2 = V8_SHUF2(ev, t, 4, 5, 12, 13, 6, 7, 14, 15);
    if (m != NULL) {
      o1 *= V8_LOAD(m + 4 * k);
      o2 *= V8_LOAD(m + 4 * k + 8);
    }
    V8_STORE(out + 4 * k, o1);
    V8_STORE(out + 4 * k + 8, o2);
  }
  ar = carry[0];
  ai = carry[1];
  for (; k < h; k++) {
    const float cr = c[2 * k], ci = c[2 * k + 1];
    const float dr = c[2 * (N - k)], di = c[2 * (N - k) + 1];
    ar += 0.5f * (cr + dr);
    ai += 0.5f * (ci + di);
    const float me = m != NULL ? m[4 * k] : 1.0f, mo = m != NULL ? m[4 * k + 2] : 1.0f;
    out[4 * k] = 0.5f * (di - ci) * me;     /* -Im Ya_k */
    out[4 * k + 1] = 0.5f * (cr - dr) * me; /* -Im Yb_k */
    out[4 * k + 2] = ar * mo;
    out[4 * k + 3] = ai * mo;
  }
}

/* The free surface's z pass of the Laplacian on column-major spectra (nh
 * columns of N complex numbers, ldz apart): sine transform, multiplier,
 * sine transform, from spec into out (both overwritten; the FFTs run out of
 * place between them, which FFTW does without its in-place copies).
 * col: 2 N floats of scratch. */
PSFWI_CLONES
static void sine_lap(const psfwi_wave *w, float *restrict spec, float *restrict out,
                     float *restrict col) {
  const size_t N = w->info.npz, nh = w->info.npx / 2 + 1, ld = w->ldz;
  const float *restrict sd = w->sine2;
  for (size_t i = 0; i < nh; i++) sine_pre(N, sd, spec + 2 * i * ld, out + 2 * i * ld);
  fftwf_execute_dft(w->zfft, (fftwf_complex *)out, (fftwf_complex *)spec);
  for (size_t i = 0; i < nh; i++) {
    sine_post(N, spec + 2 * i * ld, col, w->mult + 2 * i * ld); /* (each value twice) */
    sine_pre(N, sd, col, out + 2 * i * ld);
  }
  fftwf_execute_dft(w->zfft, (fftwf_complex *)out, (fftwf_complex *)spec);
  for (size_t i = 0; i < nh; i++) sine_post(N, spec + 2 * i * ld, out + 2 * i * ld, NULL);
}

/* spec[i] *= mult[i] for nm complex numbers. */
PSFWI_CLONES
static void scale_spectrum(float *restrict spec, const float *restrict mult, size_t nm) {
  for (size_t i = 0; i < nm; i++) {
    spec[2 * i] *= mult[i];
    spec[2 * i + 1] *= mult[i];
  }
}

/* out = L in; when keep (the PML's psfwi_pml_keep_rows) is not NULL, it is
 * handed the row spectra after the row pass (the PML takes its Z-region rows
 * from them for psfwi_pml_update). */
void psfwi_wave_lap(const psfwi_wave *w, const float *in, float *out, psfwi_wave_work *ws,
                    psfwi_wave_rows_hook keep) {
  const size_t npx = w->info.npx, npz = w->info.npz, np = npx * npz;
  /* FFTW's new-array execute needs the planning arrays' alignment: fall back
   * on copies through ws->lap (always aligned) for foreign arrays. */
  const float *src = in;
  if (fftwf_alignment_of((float *)in) != w->align_in) {
    float *tmp = out != ws->lap && fftwf_alignment_of(out) == w->align_in ? out : ws->lap;
    memcpy(tmp, in, np * sizeof(float));
    src = tmp;
  }
  float *spec = ws->spec;
  float *dst = fftwf_alignment_of(out) == w->align_out ? out : ws->lap;
  const float *restrict mult = w->mult;
  if (w->zfft == NULL) {
    fftwf_execute_dft_r2c(w->fwd, (float *)src, (fftwf_complex *)spec);
    scale_spectrum(spec, mult, w->nmult);
    fftwf_execute_dft_c2r(w->inv, (fftwf_complex *)spec, dst);
  } else {
    fftwf_execute_dft_r2c(w->fwd, (float *)src, (fftwf_complex *)spec);
    if (keep != NULL) keep(w, spec, ws);
    /* spec2: the second buffer (column-major spectra, or the free surface) */
    float *spec2 = spec + w->spec_half, *fin = spec; /* fin: the spectrum for c2r */
    if (!w->info.free_surface) {
      /* (column-major: out of place through the second buffer) */
      float *zs = w->info.spectral_columns ? spec2 : spec;
      fftwf_execute_dft(w->zfft, (fftwf_complex *)spec, (fftwf_complex *)zs);
      scale_spectrum(zs, mult, w->nmult);
      fftwf_execute_dft(w->zbwd, (fftwf_complex *)zs, (fftwf_complex *)spec);
    } else if (w->info.spectral_columns) { /* row 0 (the surface): ignored in, zero out */
      sine_lap(w, spec, spec2, spec2 + w->spec_half);
      fin = spec2;
    } else {
      const size_t N = w->info.npz, nh = npx / 2 + 1;
      float *acc = spec2 + w->spec_half;
      psfwi_wave_sine(N, nh, w->zfft, w->sine, spec, spec2, mult, PSFWI_SINE_FULL, acc);
      psfwi_wave_sine(N, nh, w->zfft, w->sine, spec2, spec, NULL, PSFWI_SINE_NONE, acc);
    }
    fftwf_execute_dft_c2r(w->inv, (fftwf_complex *)fin, dst);
    if (w->info.free_surface) memset(dst, 0, npx * sizeof(float));
  }
  if (dst != out) memcpy(out, dst, np * sizeof(float));
}

void psfwi_wave_laplacian(const psfwi_wave *w, const float *in, float *out, psfwi_wave_work *ws) {
  psfwi_wave_lap(w, in, out, ws, NULL);
}
