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

/* simclr_adam_update on caller-held moments at step `step` (updates before this one) with
 * learning rate lr: the same arithmetic, used by simclr_optimizer. */
void simclr_adam_update_arrays(const simclr_adam_config *config, float learning_rate, int64_t step, float *m,
                               float *v, size_t count, float *weights, const float *grads);

/*
 * ---- One interface over every optimiser (issue 12) ----
 *
 *   adam   the seed's Keras Adam above (no weight decay), bit for bit;
 *   adamw  PyTorch's torch.optim.AdamW: w *= 1 - lr wd; m, v as Adam; w -= lr / (1 - b1^t) * m /
 *          (sqrt(v) / sqrt(1 - b2^t) + eps);
 *   sgd    PyTorch's torch.optim.SGD with momentum (dampening 0): d = g + wd w; buf = mu buf + d;
 *          w -= lr (nesterov ? d + mu buf : buf);
 *   lars   the SimCLR reference's LARS (google-research/simclr lars_optimizer.py, classic
 *          momentum): d = g + wd w; trust = eta |w| / |d| per tensor (1 where a norm is 0);
 *          buf = mu buf + lr trust d; w -= nesterov ? mu buf + lr trust d : buf.
 * Parameter tensors flagged exclude_from_decay_and_adaptation (biases; BatchNorm's scale and
 * shift once the network has them) get no weight decay from any optimiser and no LARS trust
 * ratio (trust 1), as the SimCLR reference excludes "bias" and "batch_normalization".
 * The learning rate is given at each update (the schedule's value for that step).
 */
typedef enum simclr_optimizer_kind {
    SIMCLR_OPTIMIZER_KIND_ADAM,
    SIMCLR_OPTIMIZER_KIND_ADAMW,
    SIMCLR_OPTIMIZER_KIND_SGD,
    SIMCLR_OPTIMIZER_KIND_LARS,
} simclr_optimizer_kind;

const char *simclr_optimizer_kind_name(simclr_optimizer_kind kind); /* "adam", "adamw", ... */

typedef struct simclr_optimizer_config {
    simclr_optimizer_kind kind;
    /* The base learning rate (--learning-rate), before batch scaling and the schedule; each
     * update is given the step's rate. Default 0.001 (Keras's Adam). */
    float learning_rate;
    simclr_adam_config adam;   /* kind adam: Keras's settings (its learning_rate is unused here) */
    float beta1, beta2, epsilon; /* adamw: 0.9, 0.999, 1e-8 (PyTorch's) */
    float momentum;            /* sgd, lars: 0.9 */
    int nesterov;              /* sgd, lars: 0 */
    float weight_decay;        /* adamw, sgd, lars: 0 (the SimCLR recipe: 1e-6); adam: must be 0 */
    float trust_coefficient;   /* lars: 0.001 */
} simclr_optimizer_config;

/* Defaults of a kind (see the fields). */
simclr_optimizer_config simclr_optimizer_config_default(simclr_optimizer_kind kind);

/* One line naming the optimiser and its settings, as config files and checkpoints record it. */
void simclr_optimizer_describe(const simclr_optimizer_config *config, char *out, size_t size);

/* A slice of a parameter block the network describes (simclr_network_param_tensors). */
typedef struct simclr_param_tensor {
    size_t offset, count;
    int exclude_from_decay_and_adaptation; /* biases, normalisation parameters */
} simclr_param_tensor;

#define SIMCLR_OPTIMIZER_MAX_TENSORS 512 /* ResNet-50 with a BatchNorm head: about 170 */

typedef struct simclr_optimizer {
    simclr_optimizer_config config;
    size_t count;              /* parameters */
    int tensor_count;
    simclr_param_tensor tensors[SIMCLR_OPTIMIZER_MAX_TENSORS];
    float *m;                  /* adam/adamw: first moments; sgd/lars: momentum buffer (count), owned */
    float *v;                  /* adam/adamw: second moments (count), owned; NULL for sgd/lars */
    int64_t step;              /* updates applied so far */
} simclr_optimizer;

/* Zeroed state for the parameters the tensors tile (in order, from offset 0). Release with
 * simclr_optimizer_free. Fails (input error) on weight decay with adam or a bad tiling. */
int simclr_optimizer_init(simclr_optimizer *opt, const simclr_optimizer_config *config,
                          const simclr_param_tensor *tensors, int tensor_count, simclr_error *err);
void simclr_optimizer_free(simclr_optimizer *opt);

/* One update with learning rate lr; increments opt->step. Parallel (OpenMP) over elements. */
void simclr_optimizer_update(simclr_optimizer *opt, float learning_rate, float *weights, const float *grads);

/*
 * ---- Learning-rate schedules ----
 *   base = lr (scaling none), lr * batch / 256 (linear), lr * sqrt(batch) (sqrt): the SimCLR
 *   paper's two rules (0.3 x B/256 and 0.075 x sqrt(B));
 *   step t (0-based, global over epochs), W warm-up steps, T total steps, as the SimCLR
 *   reference computes it (model_util.WarmUpAndCosineDecay):
 *    t < W:  base * t / W                                  (linear warm-up per step)
 *    else:   constant: base;  cosine: base * 0.5 (1 + cos(pi (t - W) / (T - W)))
 */
typedef enum simclr_lr_schedule_kind {
    SIMCLR_LR_SCHEDULE_KIND_CONSTANT,
    SIMCLR_LR_SCHEDULE_KIND_COSINE,
} simclr_lr_schedule_kind;

typedef enum simclr_lr_scaling {
    SIMCLR_LR_SCALING_NONE,
    SIMCLR_LR_SCALING_LINEAR,
    SIMCLR_LR_SCALING_SQRT,
} simclr_lr_scaling;

typedef struct simclr_lr_schedule {
    simclr_lr_schedule_kind kind;
    double base;               /* after scaling */
    int64_t warmup_steps;
    int64_t total_steps;
} simclr_lr_schedule;

/* The base rate of a scaling rule for a batch of `batch` images. */
double simclr_lr_scaled(double learning_rate, simclr_lr_scaling scaling, size_t batch);

/* The learning rate of update t. */
double simclr_lr_schedule_at(const simclr_lr_schedule *schedule, int64_t step);


SIMCLR_END_DECLS
#endif
