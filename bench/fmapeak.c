/* Measured fp32 FMA peak: independent AVX-512 FMA chains (enough to cover latency x pipes),
 * one thread per core. Built and run by bench/run.ts when gcc is available: gcc -O2 -mavx512f -pthread fmapeak.c
 * Usage: ./fmapeak THREADS  -> GFLOP/s total and the implied clock if 2 x 512-bit FMA/cycle. */
#include <immintrin.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define ITERS 1200000000L
static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec + t.tv_nsec * 1e-9; }
static float sink[64];
static void *work(void *arg) {
  long id = (long)arg;
  volatile float av = 0.999999f, bv = 1e-7f;
  __m512 a = _mm512_set1_ps(av), b = _mm512_set1_ps(bv);
  __m512 c0 = _mm512_set1_ps(id + 0.f), c1 = _mm512_set1_ps(id + 1.f), c2 = _mm512_set1_ps(id + 2.f), c3 = _mm512_set1_ps(id + 3.f),
         c4 = _mm512_set1_ps(id + 4.f), c5 = _mm512_set1_ps(id + 5.f), c6 = _mm512_set1_ps(id + 6.f), c7 = _mm512_set1_ps(id + 7.f),
         c8 = _mm512_set1_ps(id + 8.f), c9 = _mm512_set1_ps(id + 9.f), c10 = _mm512_set1_ps(id + 10.f), c11 = _mm512_set1_ps(id + 11.f);
  for (long i = 0; i < ITERS / 12; i++) {
    __asm__ volatile("" : "+v"(c0), "+v"(c1), "+v"(c2), "+v"(c3), "+v"(c4), "+v"(c5), "+v"(c6), "+v"(c7), "+v"(c8), "+v"(c9), "+v"(c10), "+v"(c11));
    c0 = _mm512_fmadd_ps(c0, a, b); c1 = _mm512_fmadd_ps(c1, a, b); c2 = _mm512_fmadd_ps(c2, a, b); c3 = _mm512_fmadd_ps(c3, a, b);
    c4 = _mm512_fmadd_ps(c4, a, b); c5 = _mm512_fmadd_ps(c5, a, b); c6 = _mm512_fmadd_ps(c6, a, b); c7 = _mm512_fmadd_ps(c7, a, b);
    c8 = _mm512_fmadd_ps(c8, a, b); c9 = _mm512_fmadd_ps(c9, a, b); c10 = _mm512_fmadd_ps(c10, a, b); c11 = _mm512_fmadd_ps(c11, a, b);
  }
  __m512 s = _mm512_add_ps(_mm512_add_ps(_mm512_add_ps(c0, c1), _mm512_add_ps(c2, c3)), _mm512_add_ps(_mm512_add_ps(c4, c5), _mm512_add_ps(c6, c7)));
  s = _mm512_add_ps(s, _mm512_add_ps(_mm512_add_ps(c8, c9), _mm512_add_ps(c10, c11)));
  sink[id] = _mm512_reduce_add_ps(s);
  return NULL;
}
int main(int argc, char **argv) {
  int n = argc > 1 ? atoi(argv[1]) : 2;
  pthread_t t[64];
  double best = 0;
  for (int rep = 0; rep < 3; rep++) {
    double t0 = now();
    for (long i = 0; i < n; i++) pthread_create(&t[i], NULL, work, (void *)i);
    for (int i = 0; i < n; i++) pthread_join(t[i], NULL);
    double dt = now() - t0;
    double gf = (double)n * (ITERS / 12) * 12 * 16 * 2 / dt / 1e9;
    if (gf > best) best = gf;
  }
  printf("{\"threads\":%d,\"gflops\":%.1f,\"ghzIf2x512FmaPerCycle\":%.2f}\n", n, best, best / n / 64);
  return 0;
}
