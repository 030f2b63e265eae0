/*
 * Keras Adam in float32, in the order Keras 3 evaluates it (optimizers/adam.py, update_step):
 *   alpha = lr * sqrt(1 - beta2^t) / (1 - beta1^t)
 *   m += (g - m) * (1 - beta1);  v += (g^2 - v) * (1 - beta2)
 *   w -= (m * alpha) / (sqrt(v) + epsilon)
 * Everything is float32 except (1 - beta), which Keras computes from the Python double the user
 * wrote (1 - 0.999 = 0.001 in double, then 0.001f); in float, 1 - 0.999f = 0.00099998713, 1.3e-5
 * off. keras_complement recovers Keras's value from the float config.
 */
#include "simclr/optim.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

/* Fewer parameters than this are updated on the calling thread. */
#define ADAM_PARALLEL_MIN 32768

simclr_adam_config simclr_adam_config_keras(void)
{
    return (simclr_adam_config){.learning_rate = 1e-3f, .beta1 = 0.9f, .beta2 = 0.999f, .epsilon = 1e-7f};
}

/* (1 - beta) as Keras computes it: beta read as the shortest decimal that rounds to the float
 * (what the user wrote, 0.999), subtracted in double, then rounded to float32. */
static float keras_complement(float beta)
{
    char text[32];
    for (int digits = 1; digits <= 9; digits++) { /* 9 significant digits always round-trip */
        snprintf(text, sizeof text, "%.*g", digits, (double)beta);
        if (strtof(text, NULL) == beta) break;
    }
    return (float)(1.0 - strtod(text, NULL));
}

int simclr_adam_init(simclr_adam *opt, size_t count, const simclr_adam_config *config, simclr_error *err)
{
    opt->config = *config;
    opt->count = count;
    opt->step = 0;
    opt->m = simclr_checked_calloc(count, sizeof(float), "Adam first moments", err);
    opt->v = simclr_checked_calloc(count, sizeof(float), "Adam second moments", err);
    if (!opt->m || !opt->v) {
        simclr_adam_free(opt);
        return -1;
    }
    return 0;
}

void simclr_adam_free(simclr_adam *opt)
{
    free(opt->m);
    free(opt->v);
    opt->m = NULL;
    opt->v = NULL;
}

void simclr_adam_update_arrays(const simclr_adam_config *c, float learning_rate, int64_t step, float *m,
                               float *v, size_t count, float *weights, const float *grads)
{
    /* Keras: local_step = iterations + 1 cast to float32; beta^t with float32 pow. */
    float t = (float)(step + 1);
    float alpha = learning_rate * sqrtf(1.0f - powf(c->beta2, t)) / (1.0f - powf(c->beta1, t));
    float first_rate = keras_complement(c->beta1);
    float second_rate = keras_complement(c->beta2);
    float epsilon = c->epsilon;
#pragma omp parallel for simd schedule(static) if (count > ADAM_PARALLEL_MIN)
    for (size_t i = 0; i < count; i++) {
        float g = grads[i];
        m[i] += (g - m[i]) * first_rate;
        v[i] += (g * g - v[i]) * second_rate;
        weights[i] -= (m[i] * alpha) / (sqrtf(v[i]) + epsilon);
    }
}

void simclr_adam_update(simclr_adam *opt, float *weights, const float *grads)
{
    simclr_adam_update_arrays(&opt->config, opt->config.learning_rate, opt->step, opt->m, opt->v, opt->count,
                              weights, grads);
    opt->step++;
}
