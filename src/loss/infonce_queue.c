/*
 * MoCo's InfoNCE against a queue of negative keys (He et al. 2020, Algorithm 1): per query the
 * logits [q.k, q.queue^T] / T over unit vectors, cross-entropy towards the positive, mean over the
 * batch. One sgemm gives the negatives' logits; the gradient flows into q only (k and the queue
 * are constants) and back through the normalisation.
 *
 * Workspace (floats): unit queries (B x D), unit keys (B x D), logits (B x (1 + K)).
 */
#include "simclr/ssl_loss.h"

#include <cblas.h>
#include <math.h>

#define INFONCE_NORM_EPSILON 1e-12f

size_t simclr_infonce_queue_workspace_floats(int batch, int queue_size, int dim)
{
    return 2 * (size_t)batch * (size_t)dim + (size_t)batch * (size_t)(queue_size + 1);
}

/* out = x / max(|x|, eps) per row; returns nothing; norms (rows) receive max(|x|, eps). */
static void unit_rows(float *out, const float *x, int rows, int dim)
{
    for (int r = 0; r < rows; r++) {
        const float *row = x + (size_t)r * dim;
        double squares = 0.0;
        for (int c = 0; c < dim; c++) squares += (double)row[c] * row[c];
        float norm = fmaxf((float)sqrt(squares), INFONCE_NORM_EPSILON);
        for (int c = 0; c < dim; c++) out[(size_t)r * dim + c] = row[c] / norm;
    }
}

float simclr_infonce_queue_loss(const float *q, const float *k, const float *queue, int batch, int queue_size,
                                int dim, float temperature, float scale, float *d_q, float *normalized_keys,
                                float *workspace, int *correct)
{
    size_t b = (size_t)batch, d = (size_t)dim, columns = (size_t)queue_size + 1;
    float *qn = workspace, *kn = workspace + b * d, *logits = workspace + 2 * b * d;
    unit_rows(qn, q, batch, dim);
    unit_rows(kn, k, batch, dim);
    /* Negatives: logits[:, 1:] = qn queue^T / T. */
    if (queue_size > 0)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, batch, queue_size, dim, 1.0f / temperature, qn, dim,
                    queue, dim, 0.0f, logits + 1, (int)columns);
    double total = 0.0;
    int hits = 0;
    for (size_t i = 0; i < b; i++) {
        float *row = logits + i * columns;
        float positive = 0.0f;
        for (size_t c = 0; c < d; c++) positive += qn[i * d + c] * kn[i * d + c];
        row[0] = positive / temperature;
        float max_value = row[0];
        size_t best = 0;
        for (size_t j = 1; j < columns; j++)
            if (row[j] > max_value) {
                max_value = row[j];
                best = j;
            }
        hits += best == 0;
        double sum = 0.0;
        for (size_t j = 0; j < columns; j++) sum += exp((double)(row[j] - max_value));
        double log_sum = (double)max_value + log(sum);
        total += log_sum - (double)row[0];
        /* d loss_i / d logit_j = softmax_j - [j == 0], times scale / B, divided by T for the
         * similarity: the logits row becomes the similarity gradient. */
        float factor = scale / ((float)batch * temperature);
        for (size_t j = 0; j < columns; j++)
            row[j] = factor * ((float)exp((double)row[j] - log_sum) - (j == 0 ? 1.0f : 0.0f));
    }
    /* d_qn = g0 kn + g[:, 1:] queue. */
    for (size_t i = 0; i < b; i++)
        for (size_t c = 0; c < d; c++) d_q[i * d + c] = logits[i * columns] * kn[i * d + c];
    if (queue_size > 0)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, batch, dim, queue_size, 1.0f, logits + 1,
                    (int)columns, queue, dim, 1.0f, d_q, dim);
    /* Through q / max(|q|, eps): d_q = (d_qn - qn (qn . d_qn)) / |q| (d_qn / eps when clamped). */
    for (size_t i = 0; i < b; i++) {
        const float *row = q + i * d;
        double squares = 0.0;
        for (size_t c = 0; c < d; c++) squares += (double)row[c] * row[c];
        float norm = (float)sqrt(squares);
        int clamped = norm < INFONCE_NORM_EPSILON;
        float projection = 0.0f;
        if (!clamped)
            for (size_t c = 0; c < d; c++) projection += qn[i * d + c] * d_q[i * d + c];
        float inverse = 1.0f / fmaxf(norm, INFONCE_NORM_EPSILON);
        for (size_t c = 0; c < d; c++) d_q[i * d + c] = inverse * (d_q[i * d + c] - qn[i * d + c] * projection);
    }
    if (normalized_keys)
        for (size_t i = 0; i < b * d; i++) normalized_keys[i] = kn[i];
    if (correct) *correct = hits;
    return (float)(total / (double)batch);
}
