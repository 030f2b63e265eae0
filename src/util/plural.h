#ifndef SIMCLR_UTIL_PLURAL_H
#define SIMCLR_UTIL_PLURAL_H
/* "1 step", "2 steps": the English plural ending of a count (issue 27). */
static inline const char *simclr_plural(long long count) { return count == 1 ? "" : "s"; }
#endif
