/* approximate_index.h without faiss: nothing to build with, said plainly. */
#include "approximate_index.h"

int approximate_index_available(void) { return 0; }

int approximate_index_build(approximate_index **index, const float *rows, size_t count, int dim, simclr_error *err)
{
    (void)rows;
    (void)count;
    (void)dim;
    *index = NULL;
    return simclr_error_input(err, "--index hnsw: this simclr was built without faiss (Debian's libfaiss-dev: "
                                   "scripts/install-deps.sh installs it; then rebuild); --index exact searches "
                                   "exactly");
}

int approximate_index_search(approximate_index *index, const float *queries, size_t count, int k,
                             int ef_search, int64_t *indices, float *similarities, simclr_error *err)
{
    (void)index;
    (void)queries;
    (void)count;
    (void)k;
    (void)ef_search;
    (void)indices;
    (void)similarities;
    return simclr_error_input(err, "--index hnsw: this simclr was built without faiss");
}

void approximate_index_free(approximate_index *index) { (void)index; }
