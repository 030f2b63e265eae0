/*
 * The machine's fp32 peak, measured (issue 23): what "fraction of peak" is a fraction of.
 *
 *   peak_flops [--width ymm|zmm] [--threads N] [--seconds S]
 *
 * Each thread runs independent chains of fused multiply-adds on registers of the given width
 * (ymm: 8 floats, AVX2 + FMA; zmm: 16 floats, AVX-512F), 12 chains so that the FMA latency (4-5
 * cycles) is hidden behind two FMA pipes, for about S seconds (default 1), and the best of three
 * such runs is printed as GFLOP/s (2 FLOP per lane per FMA), one JSON line. The default width is
 * the widest this CPU has, unless ONEDNN_MAX_CPU_ISA caps oneDNN below AVX-512, in which case it is
 * ymm: the peak of the kernels that then run. Exits 2 when the CPU lacks the width asked for.
 */
#include <immintrin.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum { CHAINS = 12, INNER = 1000 };

static double now_seconds(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* Runs `rounds` x INNER x CHAINS FMAs on ymm registers; returns a value so nothing is dropped. */
__attribute__((target("avx2,fma"))) static float fma_ymm(long rounds)
{
    __m256 acc[CHAINS];
    __m256 a = _mm256_set1_ps(0.999999f), b = _mm256_set1_ps(1e-7f);
    for (int c = 0; c < CHAINS; c++) acc[c] = _mm256_set1_ps((float)c);
    for (long r = 0; r < rounds; r++)
        for (int i = 0; i < INNER; i++)
            for (int c = 0; c < CHAINS; c++) acc[c] = _mm256_fmadd_ps(acc[c], a, b);
    __m256 sum = acc[0];
    for (int c = 1; c < CHAINS; c++) sum = _mm256_add_ps(sum, acc[c]);
    float lanes[8];
    _mm256_storeu_ps(lanes, sum);
    return lanes[0];
}

__attribute__((target("avx512f"))) static float fma_zmm(long rounds)
{
    __m512 acc[CHAINS];
    __m512 a = _mm512_set1_ps(0.999999f), b = _mm512_set1_ps(1e-7f);
    for (int c = 0; c < CHAINS; c++) acc[c] = _mm512_set1_ps((float)c);
    for (long r = 0; r < rounds; r++)
        for (int i = 0; i < INNER; i++)
            for (int c = 0; c < CHAINS; c++) acc[c] = _mm512_fmadd_ps(acc[c], a, b);
    __m512 sum = acc[0];
    for (int c = 1; c < CHAINS; c++) sum = _mm512_add_ps(sum, acc[c]);
    return _mm512_reduce_add_ps(sum);
}

/* GFLOP/s of `threads` threads each running `rounds`. */
static double measure(int zmm, int threads, long rounds)
{
    volatile float sink = 0.0f;
    double start = now_seconds();
#pragma omp parallel num_threads(threads)
    {
        float value = zmm ? fma_zmm(rounds) : fma_ymm(rounds);
#pragma omp atomic
        sink += value;
    }
    double elapsed = now_seconds() - start;
    (void)sink;
    double flops = (double)threads * (double)rounds * INNER * CHAINS * (zmm ? 16 : 8) * 2.0;
    return flops / elapsed / 1e9;
}

int main(int argc, char **argv)
{
    __builtin_cpu_init();
    int has_ymm = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    int has_zmm = __builtin_cpu_supports("avx512f");
    const char *cap = getenv("ONEDNN_MAX_CPU_ISA");
    int capped = cap && cap[0] && strncmp(cap, "AVX512", 6) != 0 && strcmp(cap, "ALL") != 0;
    int zmm = has_zmm && !capped;
    int threads = omp_get_max_threads();
    double seconds = 1.0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--width") == 0 && i + 1 < argc) {
            const char *w = argv[++i];
            if (strcmp(w, "ymm") == 0) zmm = 0;
            else if (strcmp(w, "zmm") == 0) zmm = 1;
            else {
                fprintf(stderr, "peak_flops: --width '%s': expected ymm or zmm\n", w);
                return 2;
            }
        } else if (strcmp(argv[i], "--threads") == 0 && i + 1 < argc) {
            threads = atoi(argv[++i]);
        } else if (strcmp(argv[i], "--seconds") == 0 && i + 1 < argc) {
            seconds = atof(argv[++i]);
        } else {
            fprintf(stderr, "usage: peak_flops [--width ymm|zmm] [--threads N] [--seconds S]\n");
            return 2;
        }
    }
    if (threads < 1 || !(seconds > 0.0)) {
        fprintf(stderr, "peak_flops: --threads and --seconds must be positive\n");
        return 2;
    }
    if ((zmm && !has_zmm) || (!zmm && !has_ymm)) {
        fprintf(stderr, "peak_flops: this CPU has no %s FMA\n", zmm ? "AVX-512 (zmm)" : "AVX2 (ymm)");
        return 2;
    }
    /* Calibrate: rounds for about `seconds`, then the best of three. */
    long rounds = 10;
    double rate = measure(zmm, threads, rounds);
    double per_round = (double)threads * INNER * CHAINS * (zmm ? 16 : 8) * 2.0 / (rate * 1e9) / threads;
    rounds = (long)(seconds / (per_round > 1e-12 ? per_round : 1e-12));
    if (rounds < 10) rounds = 10;
    double best = 0.0;
    for (int run = 0; run < 3; run++) {
        double r = measure(zmm, threads, rounds);
        if (r > best) best = r;
    }
    printf("{\"peak_gflops\": %.1f, \"width\": \"%s\", \"threads\": %d}\n", best, zmm ? "zmm" : "ymm", threads);
    return 0;
}
