/*
 * Keras Adam in float32, in the order Keras 3 evaluates it (optimizers/adam.py, update_step):
 *   alpha = lr * sqrt(1 - beta2^t) / (1 - beta1^t)
 *   m += (g - m) * (1 - beta1);  v += (g^2 - v) * (1 - beta2)
 *   w -= (m * alpha) / (sqrt(v) + epsilon)
 * Keras holds beta1/beta2 as Python doubles, so its (1 - beta) is rounded from a double; here the
 * config is float, and 1 - 0.9f = 0.100000024 instead of Keras's 0.1f: a 2.4e-7 relative
 * difference in the moments' update rate, well below float32 training noise.
 */
#include "simclr/optim.h"

#include <math.h>
#include <stdlib.h>

/* Fewer parameters than this are updated on the calling thread. */
#define ADAM_PARALLEL_MIN 32768

adam_config adam_config_keras(void)
{
    return (adam_config){.learning_rate = 1e-3f, .beta1 = 0.9f, .beta2 = 0.999f, .epsilon = 1e-7f};
}

int adam_init(adam *opt, size_t count, const adam_config *config, error *err)
{
    opt->config = *config;
    opt->count = count;
    opt->step = 0;
    opt->m = checked_calloc(count, sizeof(float), "Adam first moments", err);
    opt->v = checked_calloc(count, sizeof(float), "Adam second moments", err);
    if (!opt->m || !opt->v) {
        adam_free(opt);
        return -1;
    }
    return 0;
}

void adam_free(adam *opt)
{
    free(opt->m);
    free(opt->v);
    opt->m = NULL;
    opt->v = NULL;
}

void adam_update(adam *opt, float *weights, const float *grads)
{
    const adam_config *c = &opt->config;
    /* Keras: local_step = iterations + 1 cast to float32; beta^t with float32 pow. */
    float t = (float)(opt->step + 1);
    float alpha = c->learning_rate * sqrtf(1.0f - powf(c->beta2, t)) / (1.0f - powf(c->beta1, t));
    float first_rate = 1.0f - c->beta1;
    float second_rate = 1.0f - c->beta2;
    float epsilon = c->epsilon;
    float *m = opt->m, *v = opt->v;
    size_t count = opt->count;
#pragma omp parallel for simd schedule(static) if (count > ADAM_PARALLEL_MIN)
    for (size_t i = 0; i < count; i++) {
        float g = grads[i];
        m[i] += (g - m[i]) * first_rate;
        v[i] += (g * g - v[i]) * second_rate;
        weights[i] -= (m[i] * alpha) / (sqrtf(v[i]) + epsilon);
    }
    opt->step++;
}
