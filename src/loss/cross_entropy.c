/*
 * Softmax cross-entropy from logits, through a numerically stable log-softmax
 * (log p_c = z_c - max z - log sum exp(z - max z)).
 */
#include "simclr/loss.h"

#include <math.h>

float simclr_softmax_cross_entropy(const float *logits, const int32_t *labels, int batch, int classes,
                            float *d_logits, int *correct)
{
    double loss_sum = 0.0;
    int correct_count = 0;
    float inverse_batch = 1.0f / (float)batch;
#pragma omp parallel for schedule(static) reduction(+ : loss_sum, correct_count) if (batch > 256)
    for (int n = 0; n < batch; n++) {
        const float *row = logits + (size_t)n * classes;
        int best = 0; /* first maximum wins, as argmax does */
        for (int c = 1; c < classes; c++)
            if (row[c] > row[best]) best = c;
        float max_logit = row[best];
        float exp_sum = 0.0f;
        for (int c = 0; c < classes; c++) exp_sum += expf(row[c] - max_logit);
        float log_sum = logf(exp_sum);
        int label = labels[n];
        loss_sum += (double)(log_sum - (row[label] - max_logit));
        correct_count += best == label;
        if (d_logits) {
            float *d_row = d_logits + (size_t)n * classes;
            for (int c = 0; c < classes; c++)
                d_row[c] = expf(row[c] - max_logit - log_sum) * inverse_batch;
            d_row[label] -= inverse_batch;
        }
    }
    if (correct) *correct = correct_count;
    return (float)(loss_sum / batch);
}
