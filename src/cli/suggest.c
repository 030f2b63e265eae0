#include "suggest.h"

#include <string.h>

enum { SUGGEST_MAX_LENGTH = 64 };

/* Optimal string alignment distance (Damerau-Levenshtein without repeated edits of a
 * substring), or SUGGEST_MAX_LENGTH + 1 when either string is longer than that. */
static size_t edit_distance(const char *a, size_t n, const char *b, size_t m)
{
    if (n > SUGGEST_MAX_LENGTH || m > SUGGEST_MAX_LENGTH) return SUGGEST_MAX_LENGTH + 1;
    size_t d[SUGGEST_MAX_LENGTH + 1][SUGGEST_MAX_LENGTH + 1];
    for (size_t i = 0; i <= n; i++) d[i][0] = i;
    for (size_t j = 0; j <= m; j++) d[0][j] = j;
    for (size_t i = 1; i <= n; i++)
        for (size_t j = 1; j <= m; j++) {
            size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
            size_t best = d[i - 1][j - 1] + cost;
            if (d[i - 1][j] + 1 < best) best = d[i - 1][j] + 1;
            if (d[i][j - 1] + 1 < best) best = d[i][j - 1] + 1;
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] && d[i - 2][j - 2] + 1 < best)
                best = d[i - 2][j - 2] + 1;
            d[i][j] = best;
        }
    return d[n][m];
}

int cli_closest_name(const char *given, size_t length, const char *const *names, size_t count)
{
    size_t allowed = length <= 4 ? 1 : length <= 8 ? 2 : 3;
    int best = -1, prefix_match = -1, prefix_matches = 0;
    size_t best_distance = allowed + 1;
    for (size_t i = 0; i < count; i++) {
        size_t name_length = strlen(names[i]);
        size_t distance = edit_distance(given, length, names[i], name_length);
        if (distance < best_distance) {
            best_distance = distance;
            best = (int)i;
        }
        if (length > 0 && length < name_length && strncmp(names[i], given, length) == 0) {
            prefix_match = (int)i;
            prefix_matches++;
        }
    }
    if (best >= 0) return best;
    return prefix_matches == 1 ? prefix_match : -1;
}
