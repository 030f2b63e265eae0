/* The optimiser interface: configuration, state, and the dispatch of one update over the
 * network's parameter tensors (optim.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "optim_internal.h"
#include "simclr/optim.h"

const char *simclr_optimizer_kind_name(simclr_optimizer_kind kind)
{
    switch (kind) {
    case SIMCLR_OPTIMIZER_KIND_ADAM: return "adam";
    case SIMCLR_OPTIMIZER_KIND_ADAMW: return "adamw";
    case SIMCLR_OPTIMIZER_KIND_SGD: return "sgd";
    case SIMCLR_OPTIMIZER_KIND_LARS: return "lars";
    }
    return "unknown";
}

simclr_optimizer_config simclr_optimizer_config_default(simclr_optimizer_kind kind)
{
    return (simclr_optimizer_config){.kind = kind,
                                     .learning_rate = 1e-3f,
                                     .adam = simclr_adam_config_keras(),
                                     .beta1 = 0.9f,
                                     .beta2 = 0.999f,
                                     .epsilon = 1e-8f,
                                     .momentum = 0.9f,
                                     .nesterov = 0,
                                     .weight_decay = 0.0f,
                                     .trust_coefficient = 0.001f};
}

void simclr_optimizer_describe(const simclr_optimizer_config *c, char *out, size_t size)
{
    switch (c->kind) {
    case SIMCLR_OPTIMIZER_KIND_ADAM:
        snprintf(out, size, "adam beta1=%g beta2=%g epsilon=%g (Keras)", (double)c->adam.beta1,
                 (double)c->adam.beta2, (double)c->adam.epsilon);
        break;
    case SIMCLR_OPTIMIZER_KIND_ADAMW:
        snprintf(out, size, "adamw beta1=%g beta2=%g epsilon=%g weight_decay=%g", (double)c->beta1,
                 (double)c->beta2, (double)c->epsilon, (double)c->weight_decay);
        break;
    case SIMCLR_OPTIMIZER_KIND_SGD:
        snprintf(out, size, "sgd momentum=%g nesterov=%d weight_decay=%g", (double)c->momentum,
                 c->nesterov, (double)c->weight_decay);
        break;
    case SIMCLR_OPTIMIZER_KIND_LARS:
        snprintf(out, size, "lars momentum=%g nesterov=%d weight_decay=%g trust_coefficient=%g",
                 (double)c->momentum, c->nesterov, (double)c->weight_decay,
                 (double)c->trust_coefficient);
        break;
    }
}

int simclr_optimizer_init(simclr_optimizer *opt, const simclr_optimizer_config *config,
                          const simclr_param_tensor *tensors, int tensor_count, simclr_error *err)
{
    memset(opt, 0, sizeof *opt);
    opt->config = *config;
    if (config->kind == SIMCLR_OPTIMIZER_KIND_ADAM && config->weight_decay != 0.0f)
        return simclr_error_input(err, "--weight-decay %g: the seed's Keras Adam has no weight decay; use "
                                  "--optimizer adamw (decoupled decay), sgd or lars",
                                  (double)config->weight_decay);
    if (config->weight_decay < 0.0f)
        return simclr_error_input(err, "--weight-decay %g: expected a number >= 0",
                                  (double)config->weight_decay);
    if (tensor_count < 1 || tensor_count > SIMCLR_OPTIMIZER_MAX_TENSORS)
        return simclr_error_set(err, SIMCLR_ERROR_KIND_RESOURCE, "optimizer: %d parameter tensors (1 to %d "
                                "supported)", tensor_count, SIMCLR_OPTIMIZER_MAX_TENSORS);
    size_t next = 0;
    for (int t = 0; t < tensor_count; t++) {
        if (tensors[t].offset != next)
            return simclr_error_set(err, SIMCLR_ERROR_KIND_RESOURCE,
                                    "optimizer: parameter tensor %d starts at %zu, expected %zu", t,
                                    tensors[t].offset, next);
        opt->tensors[t] = tensors[t];
        next += tensors[t].count;
    }
    opt->tensor_count = tensor_count;
    opt->count = next;
    int has_v = config->kind == SIMCLR_OPTIMIZER_KIND_ADAM || config->kind == SIMCLR_OPTIMIZER_KIND_ADAMW;
    opt->m = simclr_checked_calloc(next ? next : 1, sizeof(float), "optimizer state", err);
    if (has_v) opt->v = simclr_checked_calloc(next ? next : 1, sizeof(float), "optimizer state", err);
    if (!opt->m || (has_v && !opt->v)) {
        simclr_optimizer_free(opt);
        return -1;
    }
    return 0;
}

void simclr_optimizer_free(simclr_optimizer *opt)
{
    free(opt->m);
    free(opt->v);
    opt->m = NULL;
    opt->v = NULL;
}

void simclr_optimizer_update(simclr_optimizer *opt, float learning_rate, float *weights, const float *grads)
{
    const simclr_optimizer_config *c = &opt->config;
    if (c->kind == SIMCLR_OPTIMIZER_KIND_ADAM) {
        /* The whole block at once, exactly as simclr_adam_update. */
        simclr_adam_update_arrays(&c->adam, learning_rate, opt->step, opt->m, opt->v, opt->count, weights,
                                  grads);
        opt->step++;
        return;
    }
    for (int t = 0; t < opt->tensor_count; t++) {
        const simclr_param_tensor *tensor = &opt->tensors[t];
        float decay = tensor->exclude_from_decay_and_adaptation ? 0.0f : c->weight_decay;
        switch (c->kind) {
        case SIMCLR_OPTIMIZER_KIND_ADAMW:
            simclr_adamw_update_tensor(opt, learning_rate, decay, tensor->offset, tensor->count, weights,
                                       grads);
            break;
        case SIMCLR_OPTIMIZER_KIND_SGD:
            simclr_sgd_update_tensor(opt, learning_rate, decay, tensor->offset, tensor->count, weights, grads);
            break;
        case SIMCLR_OPTIMIZER_KIND_LARS:
            simclr_lars_update_tensor(opt, learning_rate, decay, !tensor->exclude_from_decay_and_adaptation,
                                      tensor->offset, tensor->count, weights, grads);
            break;
        case SIMCLR_OPTIMIZER_KIND_ADAM: break;
        }
    }
    opt->step++;
}
