#ifndef SIMCLR_CLI_SUGGEST_H
#define SIMCLR_CLI_SUGGEST_H
/* "Did you mean ...": the closest of a list of real names to a mistyped one (issue 27). */
#include <stddef.h>

/* The index of the name in names[0..count) closest to given[0..length) by edit distance
 * (insertions, deletions, substitutions and transpositions of neighbours), or -1 when none is
 * close enough to be what was meant: at most 1 edit for names of up to 4 characters, 2 up to 8,
 * 3 beyond; or when given is a prefix of exactly one name. */
int cli_closest_name(const char *given, size_t length, const char *const *names, size_t count);

#endif
