#ifndef SIMCLR_UTIL_MULTIVERSION_H
#define SIMCLR_UTIL_MULTIVERSION_H
/*
 * Function multiversioning for the project's own hot loops (issue 23). A portable build
 * (CMakeLists.txt: -march=x86-64-v2, SIMCLR_MULTIVERSION) compiles a function marked
 * SIMCLR_MULTIVERSIONED three times, for x86-64-v4 (AVX-512), x86-64-v3 (AVX2 + FMA) and the
 * baseline, and the dynamic loader binds the best one for the CPU that runs (GCC's target_clones,
 * an ifunc resolved once). Mark the functions that hold a loop, not the ones holding an OpenMP
 * parallel region: the region's body is outlined into a function of its own, which target_clones
 * does not clone; call a marked function from inside the region instead. Elsewhere (a native
 * build, which targets one CPU anyway, clang, other architectures) the mark is empty.
 */
#include <omp.h>
#include <stddef.h>

#if defined(SIMCLR_MULTIVERSION) && defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define SIMCLR_MULTIVERSIONED __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define SIMCLR_MULTIVERSIONED
#endif

/* Items [*first, *last) of count for the calling OpenMP thread: equal contiguous shares in thread
 * order, so a parallel region can hand its thread's share to a SIMCLR_MULTIVERSIONED loop. */
static inline void simclr_thread_share(size_t count, size_t *first, size_t *last)
{
    size_t threads = (size_t)omp_get_num_threads(), thread = (size_t)omp_get_thread_num();
    *first = count * thread / threads;
    *last = count * (thread + 1) / threads;
}

#endif
