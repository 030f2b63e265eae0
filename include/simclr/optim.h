#ifndef SIMCLR_OPTIM_H
#define SIMCLR_OPTIM_H
/*
 * Keras Adam, exactly: t = step + 1, alpha = lr * sqrt(1 - beta2^t) / (1 - beta1^t),
 * m += (g - m)(1 - beta1), v += (g^2 - v)(1 - beta2), w -= alpha * m / (sqrt(v) + epsilon)
 * (epsilon added to the uncorrected sqrt(v)). One instance per trained part, as in the seed.
 */
#include <stddef.h>
#include <stdint.h>

#include "simclr/error.h"
#include "simclr/export.h"
SIMCLR_BEGIN_DECLS

typedef struct simclr_adam_config {
    float learning_rate; /* 1e-3 */
    float beta1;         /* 0.9 */
    float beta2;         /* 0.999 */
    float epsilon;       /* 1e-7 */
} simclr_adam_config;

simclr_adam_config simclr_adam_config_keras(void);

typedef struct simclr_adam {
    simclr_adam_config config;
    size_t count;  /* number of parameters */
    float *m;      /* first moments (count), owned */
    float *v;      /* second moments (count), owned */
    int64_t step;  /* updates applied so far (Keras `iterations`) */
} simclr_adam;

/* Allocates zeroed moments for count parameters. Release with simclr_adam_free. */
int simclr_adam_init(simclr_adam *opt, size_t count, const simclr_adam_config *config, simclr_error *err);
void simclr_adam_free(simclr_adam *opt);

/* One update of weights (count) from grads (count); increments opt->step. Parallel (OpenMP). */
void simclr_adam_update(simclr_adam *opt, float *weights, const float *grads);

SIMCLR_END_DECLS
#endif
