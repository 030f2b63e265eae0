/*
 * PyTorch's torch.optim.SGD with momentum mu (dampening 0; the first step's buffer is the
 * gradient itself, which equals mu * 0 + d):
 *   d = g + wd w;  buf = mu buf + d;  w -= lr (nesterov ? d + mu buf : buf)
 */
#include "optim_internal.h"

#define SGD_PARALLEL_MIN 32768

void simclr_sgd_update_tensor(const simclr_optimizer *opt, float learning_rate, float decay, size_t offset,
                              size_t count, float *weights, const float *grads)
{
    float momentum = opt->config.momentum;
    int nesterov = opt->config.nesterov;
    float *w = weights + offset, *buf = opt->m + offset;
    const float *g = grads + offset;
#pragma omp parallel for simd schedule(static) if (count > SGD_PARALLEL_MIN)
    for (size_t i = 0; i < count; i++) {
        float d = g[i] + decay * w[i];
        buf[i] = buf[i] * momentum + d;
        float direction = nesterov ? d + momentum * buf[i] : buf[i];
        w[i] += -learning_rate * direction;
    }
}
