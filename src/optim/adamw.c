/*
 * PyTorch's torch.optim.AdamW (single-tensor path, amsgrad off), in its order:
 *   w *= 1 - lr * wd
 *   m = b1 m + (1 - b1) g;  v = b2 v + (1 - b2) g^2
 *   w -= (lr / (1 - b1^t)) * m / (sqrt(v) / sqrt(1 - b2^t) + eps)
 * The bias corrections are Python doubles in PyTorch (b1 ** step); so here.
 */
#include <math.h>

#include "optim_internal.h"

#define ADAMW_PARALLEL_MIN 32768

void simclr_adamw_update_tensor(const simclr_optimizer *opt, float learning_rate, float decay,
                                size_t offset, size_t count, float *weights, const float *grads)
{
    const simclr_optimizer_config *c = &opt->config;
    double t = (double)(opt->step + 1);
    float step_size = (float)((double)learning_rate / (1.0 - pow((double)c->beta1, t)));
    float correction2_sqrt = (float)sqrt(1.0 - pow((double)c->beta2, t));
    float shrink = 1.0f - learning_rate * decay;
    float beta1 = c->beta1, beta2 = c->beta2, epsilon = c->epsilon;
    float rate1 = 1.0f - beta1, rate2 = 1.0f - beta2;
    float *w = weights + offset, *m = opt->m + offset, *v = opt->v + offset;
    const float *g = grads + offset;
#pragma omp parallel for simd schedule(static) if (count > ADAMW_PARALLEL_MIN)
    for (size_t i = 0; i < count; i++) {
        if (decay != 0.0f) w[i] *= shrink;
        m[i] = m[i] * beta1 + g[i] * rate1;
        v[i] = v[i] * beta2 + g[i] * g[i] * rate2;
        float denom = sqrtf(v[i]) / correction2_sqrt + epsilon;
        w[i] += -step_size * (m[i] / denom);
    }
}
