// approximate_index.h through faiss (Debian's libfaiss-dev): IndexHNSWFlat by inner product.
// Compiled only when CMake finds faiss; approximate_index_none.c stands in otherwise.
#include "approximate_index.h"

#include <cmath>
#include <exception>
#include <new>

#include <faiss/IndexHNSW.h>

struct approximate_index {
    faiss::IndexHNSWFlat hnsw;
    approximate_index(int dim)
        : hnsw(dim, APPROXIMATE_INDEX_NEIGHBOURS, faiss::METRIC_INNER_PRODUCT) {}
};

extern "C" int approximate_index_available(void) { return 1; }

extern "C" int approximate_index_build(approximate_index **index, const float *rows, size_t count, int dim,
                                       simclr_error *err)
{
    *index = nullptr;
    try {
        approximate_index *built = new approximate_index(dim);
        built->hnsw.hnsw.efConstruction = APPROXIMATE_INDEX_EF_CONSTRUCTION;
        built->hnsw.add((faiss::Index::idx_t)count, rows);
        *index = built;
        return 0;
    } catch (const std::bad_alloc &) {
        return simclr_error_set(err, SIMCLR_ERROR_KIND_RESOURCE, "out of memory (HNSW index of %zu rows)", count);
    } catch (const std::exception &failure) {
        return simclr_error_set(err, SIMCLR_ERROR_KIND_RESOURCE, "faiss: building the HNSW index: %s",
                                failure.what());
    }
}

extern "C" int approximate_index_search(approximate_index *index, const float *queries, size_t count, int k,
                                        int ef_search, int64_t *indices, float *similarities, simclr_error *err)
{
    try {
        // The index's own efSearch: what faiss 1.7.3's IndexHNSW::search reads.
        index->hnsw.hnsw.efSearch = ef_search > k ? ef_search : k;
        float *scores = similarities ? similarities : new float[count * (size_t)k];
        static_assert(sizeof(faiss::Index::idx_t) == sizeof(int64_t), "faiss ids are 64-bit");
        index->hnsw.search((faiss::Index::idx_t)count, queries, k, scores, reinterpret_cast<faiss::Index::idx_t *>(indices));
        for (size_t i = 0; i < count * (size_t)k; i++)
            if (indices[i] < 0) scores[i] = NAN;
        if (!similarities) delete[] scores;
        return 0;
    } catch (const std::bad_alloc &) {
        return simclr_error_set(err, SIMCLR_ERROR_KIND_RESOURCE, "out of memory (HNSW search)");
    } catch (const std::exception &failure) {
        return simclr_error_set(err, SIMCLR_ERROR_KIND_RESOURCE, "faiss: searching the HNSW index: %s",
                                failure.what());
    }
}

extern "C" void approximate_index_free(approximate_index *index) { delete index; }
