/*
 * The seed's contrastive loss and NT-Xent across ranks (distributed.h, docs/DISTRIBUTED.md).
 *
 * Every rank all-gathers the raw projections of every rank's share and normalises them into the
 * global batch's order (p1 rows 0..B-1, then p2 rows), so that its similarity rows hold the
 * columns in the order one process uses. It then takes the loss rows of its own anchors against
 * all columns: S = A C^T / T with A its anchors' rows, G = dL/dS, and
 *   d_A = G C / T        (its anchors' own gradient)
 *   d_C = G^T A / T      (its anchors' contribution to every gathered row's gradient).
 * Both are added into a (2B, D) gradient of the gathered rows; the sum over ranks of that matrix is
 * one process's gradient, and each rank receives its own rows of the sum (reduce-scatter). The
 * gradient is that of the SUM of per-image losses, as simclr_contrastive_loss's, so the summed
 * parameter gradients of the ranks are one process's.
 *
 * Workspace (floats): own block (2 n_max, D), gathered / rank-ordered gradient (2B, D), p (2B, D),
 * d_p (2B, D), anchors (2 n_max, D), anchor gradients (2 n_max, D), similarity (n_max x B for the
 * seed's loss, 2 n_max x 2B for NT-Xent), log-sum-exps (2 n_max).
 */
#include "simclr/distributed.h"

#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "loss/contrastive_internal.h"

static size_t max_share(size_t unlabeled_batch, size_t labeled_batch, int size)
{
    size_t n = (size_t)size;
    return (unlabeled_batch + n - 1) / n + (labeled_batch + n - 1) / n;
}

size_t simclr_distributed_contrastive_workspace_floats(simclr_contrastive_kind kind, size_t unlabeled_batch,
                                                       size_t labeled_batch, int dim, int size)
{
    size_t b = unlabeled_batch + labeled_batch, n = max_share(unlabeled_batch, labeled_batch, size);
    size_t d = (size_t)dim;
    size_t similarity = kind == SIMCLR_CONTRASTIVE_KIND_NT_XENT ? 4 * n * b : n * b;
    return 2 * n * d + 3 * 2 * b * d + 2 * 2 * n * d + similarity + 2 * n;
}

/* Global index (0..B-1) of a share's k-th image: its unlabeled images, then its labeled ones. */
static size_t global_image(const simclr_batch_share *share, size_t unlabeled_batch, size_t k)
{
    return k < share->unlabeled_count ? share->unlabeled_first + k
                                      : unlabeled_batch + share->labeled_first + (k - share->unlabeled_count);
}

/* One block of anchor rows: S = A C^T / T (rows x columns); row a's positive column positive[a]
 * and masked column masked[a] (-1: none); adds 0.5 * CE to *loss, the hits to *correct; leaves
 * G = 0.5 (softmax - onehot) (masked entry 0) in place of S. */
static void anchor_rows(const float *anchors, int rows, const float *candidates, int columns, int dim,
                        float temperature, const long *positive, const long *masked, float *similarity,
                        float *lse, double *loss, int *correct)
{
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, rows, columns, dim, 1.0f / temperature, anchors,
                dim, candidates, dim, 0.0f, similarity, columns);
    double loss_sum = 0.0;
    int hits = 0;
#pragma omp parallel for schedule(static) reduction(+ : loss_sum, hits) if (rows > 32)
    for (int a = 0; a < rows; a++) {
        float *row = similarity + (size_t)a * columns;
        int skip = masked ? (int)masked[a] : -1;
        int best = skip == 0 ? 1 : 0;
        for (int j = best + 1; j < columns; j++)
            if (j != skip && row[j] > row[best]) best = j;
        float max_value = row[best], sum = 0.0f;
        for (int j = 0; j < columns; j++)
            if (j != skip) sum += expf(row[j] - max_value);
        lse[a] = max_value + logf(sum);
        loss_sum += (double)(lse[a] - row[positive[a]]);
        hits += best == (int)positive[a];
        for (int j = 0; j < columns; j++) row[j] = 0.5f * expf(row[j] - lse[a]);
        if (skip >= 0) row[skip] = 0.0f;
        row[positive[a]] -= 0.5f;
    }
    *loss += 0.5 * loss_sum;
    *correct += hits;
}

void simclr_distributed_contrastive_local(simclr_contrastive_kind kind, const float *gathered, size_t batch,
                                          int dim, float temperature, const simclr_batch_share *share,
                                          size_t unlabeled_batch, float *d_gathered, float *workspace,
                                          double *loss_sum, int *correct)
{
    size_t n = share->unlabeled_count + share->labeled_count, d = (size_t)dim, b = batch;
    float *anchors = workspace;              /* (2n, D) */
    float *d_anchors = anchors + 2 * n * d;  /* (2n, D) */
    float *lse = d_anchors + 2 * n * d;      /* (2n) */
    float *similarity = lse + 2 * n;
    long *positive = malloc(2 * n * sizeof(long) + 1), *masked = malloc(2 * n * sizeof(long) + 1);
    size_t *rows_of = malloc(2 * n * sizeof(size_t) + 1); /* gathered row of each anchor */
    if (!positive || !masked || !rows_of) abort();
    *loss_sum = 0.0;
    *correct = 0;
    for (size_t k = 0; k < n; k++) {
        size_t g = global_image(share, unlabeled_batch, k);
        rows_of[k] = g;           /* view 1 */
        rows_of[n + k] = b + g;   /* view 2 */
    }
    for (size_t a = 0; a < 2 * n; a++) memcpy(anchors + a * d, gathered + rows_of[a] * d, d * sizeof(float));
    const float t = 1.0f / temperature;
    if (n == 0) goto done;
    if (kind == SIMCLR_CONTRASTIVE_KIND_NT_XENT) {
        for (size_t a = 0; a < 2 * n; a++) {
            masked[a] = (long)rows_of[a];
            positive[a] = (long)(a < n ? rows_of[a] + b : rows_of[a] - b);
        }
        int rows = (int)(2 * n), columns = (int)(2 * b);
        anchor_rows(anchors, rows, gathered, columns, dim, temperature, positive, masked, similarity, lse,
                    loss_sum, correct);
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, rows, dim, columns, t, similarity, columns,
                    gathered, dim, 0.0f, d_anchors, dim);
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, columns, dim, rows, t, similarity, columns,
                    anchors, dim, 1.0f, d_gathered, dim);
    } else {
        /* Rows of S = p1 p2^T (view-1 anchors over view-2 columns), then rows of S^T. */
        for (int direction = 0; direction < 2; direction++) {
            const float *own = anchors + (size_t)direction * n * d;
            const float *candidates = gathered + (direction == 0 ? b * d : 0);
            float *d_candidates = d_gathered + (direction == 0 ? b * d : 0);
            float *d_own = d_anchors + (size_t)direction * n * d;
            for (size_t k = 0; k < n; k++) positive[k] = (long)rows_of[k];
            anchor_rows(own, (int)n, candidates, (int)b, dim, temperature, positive, NULL, similarity, lse,
                        loss_sum, correct);
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)n, dim, (int)b, t, similarity, (int)b,
                        candidates, dim, 0.0f, d_own, dim);
            cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)b, dim, (int)n, t, similarity, (int)b,
                        own, dim, 1.0f, d_candidates, dim);
        }
    }
    for (size_t a = 0; a < 2 * n; a++) {
        float *target = d_gathered + rows_of[a] * d;
        for (size_t j = 0; j < d; j++) target[j] += d_anchors[a * d + j];
    }
done:
    free(positive);
    free(masked);
    free(rows_of);
}

void simclr_distributed_contrastive_loss(simclr_communicator *comm, simclr_contrastive_kind kind,
                                         size_t unlabeled_batch, size_t labeled_batch, const float *z1,
                                         const float *z2, int dim, float temperature, float *d_z1,
                                         float *d_z2, float *workspace, simclr_contrastive_result *result)
{
    int size = simclr_communicator_size(comm), rank = simclr_communicator_rank(comm);
    size_t b = unlabeled_batch + labeled_batch, d = (size_t)dim;
    size_t n_max = max_share(unlabeled_batch, labeled_batch, size);
    float *own = workspace;                 /* (2 n_max, D): z1 rows, z2 rows of this rank */
    float *ranked = own + 2 * n_max * d;    /* (2B, D): every rank's block, in rank order */
    float *p = ranked + 2 * b * d;          /* (2B, D): normalised, in the global order */
    float *d_p = p + 2 * b * d;             /* (2B, D) */
    float *local_workspace = d_p + 2 * b * d;
    size_t *counts = malloc((size_t)size * sizeof(size_t));
    simclr_batch_share *shares = malloc((size_t)size * sizeof(simclr_batch_share));
    if (!counts || !shares) abort();
    for (int q = 0; q < size; q++) {
        shares[q] = simclr_batch_share_of(unlabeled_batch, labeled_batch, q, size);
        counts[q] = 2 * (shares[q].unlabeled_count + shares[q].labeled_count) * d;
    }
    const simclr_batch_share *mine = &shares[rank];
    size_t n = mine->unlabeled_count + mine->labeled_count;
    memcpy(own, z1, n * d * sizeof(float));
    memcpy(own + n * d, z2, n * d * sizeof(float));
    simclr_communicator_allgather_floats(comm, own, ranked, counts);
    /* Into the global order, normalised. */
    size_t offset = 0;
    for (int q = 0; q < size; q++) {
        size_t n_q = shares[q].unlabeled_count + shares[q].labeled_count;
        for (size_t k = 0; k < n_q; k++) {
            size_t g = global_image(&shares[q], unlabeled_batch, k);
            simclr_contrastive_normalize_rows(p + g * d, ranked + (offset + k) * d, 1, dim);
            simclr_contrastive_normalize_rows(p + (b + g) * d, ranked + (offset + n_q + k) * d, 1, dim);
        }
        offset += 2 * n_q;
    }
    memset(d_p, 0, 2 * b * d * sizeof(float));
    double sums[2] = {0.0, 0.0};
    int correct = 0;
    simclr_distributed_contrastive_local(kind, p, b, dim, temperature, mine, unlabeled_batch, d_p,
                                         local_workspace, &sums[0], &correct);
    sums[1] = (double)correct;
    /* Back into rank order, summed over the ranks; this rank keeps its own block. */
    offset = 0;
    for (int q = 0; q < size; q++) {
        size_t n_q = shares[q].unlabeled_count + shares[q].labeled_count;
        for (size_t k = 0; k < n_q; k++) {
            size_t g = global_image(&shares[q], unlabeled_batch, k);
            memcpy(ranked + (offset + k) * d, d_p + g * d, d * sizeof(float));
            memcpy(ranked + (offset + n_q + k) * d, d_p + (b + g) * d, d * sizeof(float));
        }
        offset += 2 * n_q;
    }
    simclr_communicator_reduce_scatter_floats(comm, ranked, own, counts);
    simclr_communicator_allreduce_doubles(comm, sums, 2);
    /* Through the normalisation of this rank's rows. */
    float *own_p = ranked; /* (2n, D), this rank's normalised rows again */
    simclr_contrastive_normalize_rows(own_p, z1, (int)n, dim);
    simclr_contrastive_normalize_rows(own_p + n * d, z2, (int)n, dim);
    if (d_z1) {
        memcpy(d_z1, own, n * d * sizeof(float));
        simclr_contrastive_normalize_backward(d_z1, own_p, z1, (int)n, dim);
    }
    if (d_z2) {
        memcpy(d_z2, own + n * d, n * d * sizeof(float));
        simclr_contrastive_normalize_backward(d_z2, own_p + n * d, z2, (int)n, dim);
    }
    if (result) {
        result->loss = (float)(sums[0] / (double)b);
        result->correct = (int)sums[1];
        result->total = (int)(2 * b);
    }
    free(counts);
    free(shares);
}
