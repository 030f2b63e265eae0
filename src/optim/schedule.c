/* Learning-rate scaling with the batch size and the warm-up + cosine schedule of the SimCLR
 * reference (optim.h). Computed in double; the optimisers take the value as float. */
#include <math.h>

#include "simclr/optim.h"

double simclr_lr_scaled(double learning_rate, simclr_lr_scaling scaling, size_t batch)
{
    switch (scaling) {
    case SIMCLR_LR_SCALING_LINEAR: return learning_rate * (double)batch / 256.0;
    case SIMCLR_LR_SCALING_SQRT: return learning_rate * sqrt((double)batch);
    case SIMCLR_LR_SCALING_NONE: break;
    }
    return learning_rate;
}

double simclr_lr_schedule_at(const simclr_lr_schedule *s, int64_t step)
{
    if (step < s->warmup_steps) return s->base * (double)step / (double)s->warmup_steps;
    if (s->kind == SIMCLR_LR_SCHEDULE_KIND_CONSTANT) return s->base;
    int64_t decay_steps = s->total_steps - s->warmup_steps;
    if (decay_steps <= 0) return s->base;
    int64_t done = step - s->warmup_steps;
    if (done > decay_steps) done = decay_steps;
    const double pi = 3.14159265358979323846;
    return s->base * 0.5 * (1.0 + cos(pi * (double)done / (double)decay_steps));
}
