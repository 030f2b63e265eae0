#ifndef SIMCLR_EXPORT_H
#define SIMCLR_EXPORT_H
/*
 * What libsimclr.so exports. The library is compiled with -fvisibility=hidden, so only what the
 * public headers declare between SIMCLR_BEGIN_DECLS and SIMCLR_END_DECLS is visible to programs
 * linking the shared library; the internal headers under src/ stay hidden. The same pair gives the
 * declarations C linkage when a C++ program includes the headers.
 *
 *     #include "simclr/export.h"
 *     SIMCLR_BEGIN_DECLS
 *     int simclr_something(void);
 *     SIMCLR_END_DECLS
 *
 * SIMCLR_API marks one declaration outside such a block.
 */
#ifdef __cplusplus
#define SIMCLR_EXTERN_C_BEGIN extern "C" {
#define SIMCLR_EXTERN_C_END }
#else
#define SIMCLR_EXTERN_C_BEGIN
#define SIMCLR_EXTERN_C_END
#endif

#if defined(__GNUC__) || defined(__clang__)
#define SIMCLR_API __attribute__((visibility("default")))
#define SIMCLR_BEGIN_DECLS SIMCLR_EXTERN_C_BEGIN _Pragma("GCC visibility push(default)")
#define SIMCLR_END_DECLS _Pragma("GCC visibility pop") SIMCLR_EXTERN_C_END
#else
#define SIMCLR_API
#define SIMCLR_BEGIN_DECLS SIMCLR_EXTERN_C_BEGIN
#define SIMCLR_END_DECLS SIMCLR_EXTERN_C_END
#endif

#endif
