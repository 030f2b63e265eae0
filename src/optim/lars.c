/*
 * LARS as the SimCLR reference implements it (google-research/simclr, lars_optimizer.py,
 * classic_momentum=True):
 *   d = g + wd w                                  (wd 0 for excluded tensors)
 *   trust = eta |w| / |d| if |w| > 0 and |d| > 0, else 1; trust = 1 for excluded tensors
 *   buf = mu buf + lr trust d
 *   w -= nesterov ? mu buf + lr trust d : buf
 * Norms are per parameter tensor (a layer's kernel), accumulated in double.
 */
#include <math.h>

#include "optim_internal.h"

void simclr_lars_update_tensor(const simclr_optimizer *opt, float learning_rate, float decay, int adapt,
                               size_t offset, size_t count, float *weights, const float *grads)
{
    const simclr_optimizer_config *c = &opt->config;
    float *w = weights + offset, *buf = opt->m + offset;
    const float *g = grads + offset;
    double trust = 1.0;
    if (adapt) {
        double w_sq = 0.0, d_sq = 0.0;
#pragma omp parallel for reduction(+ : w_sq, d_sq) schedule(static) if (count > 32768)
        for (size_t i = 0; i < count; i++) {
            double d = (double)(g[i] + decay * w[i]);
            w_sq += (double)w[i] * (double)w[i];
            d_sq += d * d;
        }
        double w_norm = sqrt(w_sq), d_norm = sqrt(d_sq);
        if (w_norm > 0.0 && d_norm > 0.0) trust = (double)c->trust_coefficient * w_norm / d_norm;
    }
    float scaled_lr = (float)((double)learning_rate * trust);
    float momentum = c->momentum;
    int nesterov = c->nesterov;
#pragma omp parallel for simd schedule(static) if (count > 32768)
    for (size_t i = 0; i < count; i++) {
        float d = g[i] + decay * w[i];
        buf[i] = momentum * buf[i] + scaled_lr * d;
        float update = nesterov ? momentum * buf[i] + scaled_lr * d : buf[i];
        w[i] -= update;
    }
}
