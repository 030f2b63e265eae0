#ifndef SIMCLR_OPTIM_INTERNAL_H
#define SIMCLR_OPTIM_INTERNAL_H
/* The per-kind updates behind simclr_optimizer_update: one tensor (offset..offset+count) at a time,
 * `decay` the weight decay that applies to it (0 for excluded tensors). */
#include "simclr/optim.h"

/* opt->step is the number of updates before this one. */
void simclr_adamw_update_tensor(const simclr_optimizer *opt, float learning_rate, float decay,
                                size_t offset, size_t count, float *weights, const float *grads);
void simclr_sgd_update_tensor(const simclr_optimizer *opt, float learning_rate, float decay, size_t offset,
                              size_t count, float *weights, const float *grads);
void simclr_lars_update_tensor(const simclr_optimizer *opt, float learning_rate, float decay, int adapt,
                               size_t offset, size_t count, float *weights, const float *grads);

#endif
