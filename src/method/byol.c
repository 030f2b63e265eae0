/*
 * BYOL (Grill et al. 2020, Algorithm 1): online encoder -> projection head -> predictor; the
 * target encoder + head is an EMA of the online ones (forward only, batchnorm in training mode,
 * as the paper's code), with tau = 1 - (1 - tau_base) (cos(pi k / K) + 1) / 2 after step k of K
 * (tau_base 0.996, --ema-momentum). Symmetric loss, the mean over the batch of
 * (2 - 2 cos(p1, z2')) + (2 - 2 cos(p2, z1')), i.e. 4 + 2 (D(p1, z2') + D(p2, z1')) with SimSiam's
 * negative cosine D. The predictor (predictor.c) is trained by the run's optimizer at the run's rate.
 */
#include <stdlib.h>
#include <string.h>

#include "method_internal.h"
#include "simclr/model.h"

typedef struct byol_state {
    simclr_network target_encoder, target_head;
    simclr_method_predictor predictor; /* its targets: the target networks' projections z' */
} byol_state;

static int byol_step(simclr_method *method, const float *views, int batch, simclr_method_result *result,
                     simclr_error *err)
{
    byol_state *state = method->state;
    size_t b = (size_t)batch, width = (size_t)simclr_model_projection_width(&method->config->model);
    int count = 2 * batch;
    if (simclr_method_forward_pair(&state->target_encoder, &state->target_head, views, count, err) != 0) return -1;
    memcpy(state->predictor.targets, simclr_network_output(&state->target_head), 2 * b * width * sizeof(float));
    if (simclr_method_forward_pair(method->encoder, method->head, views, count, err) != 0) return -1;
    return simclr_method_predictor_step(method, &state->predictor, batch, 4.0f, 2.0f, result, err);
}

static int byol_after_step(simclr_method *method, float learning_rate, long long global_step, simclr_error *err)
{
    (void)err;
    byol_state *state = method->state;
    simclr_method_predictor_update(&state->predictor, learning_rate);
    float tau = simclr_method_cosine_momentum(simclr_method_ema_momentum(method->config), global_step,
                                              method->total_steps);
    simclr_method_ema_update(&state->target_encoder, method->encoder, tau);
    simclr_method_ema_update(&state->target_head, method->head, tau);
    return 0;
}

static void byol_free(simclr_method *method)
{
    byol_state *state = method->state;
    if (!state) return;
    simclr_network_free(&state->target_encoder);
    simclr_network_free(&state->target_head);
    simclr_method_predictor_free(&state->predictor);
    free(state);
}

static const simclr_method_ops BYOL_OPS = {.step = byol_step, .after_step = byol_after_step, .free = byol_free};

int simclr_method_byol_create(simclr_method *method, int batch, simclr_error *err)
{
    method->ops = &BYOL_OPS;
    byol_state *state = simclr_checked_calloc(1, sizeof *state, "byol state", err);
    if (!state) return -1;
    method->state = state;
    if (simclr_method_clone_network(&state->target_encoder, method->encoder, "target_encoder", 2 * batch, err) !=
            0 ||
        simclr_method_clone_network(&state->target_head, method->head, "target_head", 2 * batch, err) != 0 ||
        simclr_method_predictor_init(&state->predictor, method, batch, err) != 0)
        return -1;
    method->parts[0] = (simclr_checkpoint_part){.net = &state->target_encoder};
    method->parts[1] = (simclr_checkpoint_part){.net = &state->target_head};
    method->parts[2] = (simclr_checkpoint_part){.net = &state->predictor.net, .optimizer = &state->predictor.optimizer};
    method->part_count = 3;
    return 0;
}
