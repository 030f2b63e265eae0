/*
 * BYOL (Grill et al. 2020, Algorithm 1): online encoder -> projection head -> predictor; the
 * target encoder + head is an EMA of the online ones (forward only, batchnorm in training mode,
 * as the paper's code), with tau = 1 - (1 - tau_base) (cos(pi k / K) + 1) / 2 after step k of K
 * (tau_base 0.996, --ema-momentum). Symmetric loss, the mean over the batch of
 * (2 - 2 cos(p1, z2')) + (2 - 2 cos(p2, z1')), i.e. 4 + 2 (D(p1, z2') + D(p2, z1')) with SimSiam's
 * negative cosine D. The predictor is trained by the run's optimizer at the run's rate.
 */
#include <stdlib.h>
#include <string.h>

#include "method_internal.h"
#include "simclr/model.h"
#include "simclr/ssl_loss.h"
#include "train/train_internal.h"

typedef struct byol_state {
    simclr_network target_encoder, target_head, predictor;
    simclr_optimizer predictor_optimizer;
    float *targets;      /* (2B, D) target projections z' */
    float *d_predictions; /* (2B, D) */
    float *hits_workspace;
} byol_state;

static int byol_step(simclr_method *method, const float *views, int batch, simclr_contrastive_result *result,
                     simclr_error *err)
{
    byol_state *state = method->state;
    size_t b = (size_t)batch, width = (size_t)simclr_model_projection_width(&method->config->model);
    int count = 2 * batch;
    if (simclr_network_forward(&state->target_encoder, views, count, err) != 0 ||
        simclr_network_forward(&state->target_head, simclr_network_output(&state->target_encoder), count, err) !=
            0)
        return -1;
    memcpy(state->targets, simclr_network_output(&state->target_head), 2 * b * width * sizeof(float));
    if (simclr_network_forward(method->encoder, views, count, err) != 0 ||
        simclr_network_forward(method->head, simclr_network_output(method->encoder), count, err) != 0 ||
        simclr_network_forward(&state->predictor, simclr_network_output(method->head), count, err) != 0)
        return -1;
    const float *predictions = simclr_network_output(&state->predictor);
    /* p1 against z2', p2 against z1'. */
    float d12 = simclr_negative_cosine_loss(predictions, state->targets + b * width, batch, (int)width, 2.0f,
                                            state->d_predictions);
    float d21 = simclr_negative_cosine_loss(predictions + b * width, state->targets, batch, (int)width, 2.0f,
                                            state->d_predictions + b * width);
    result->loss = 4.0f + 2.0f * (d12 + d21);
    result->correct = simclr_method_pair_hits(predictions, state->targets + b * width, batch, (int)width,
                                              state->hits_workspace) +
                      simclr_method_pair_hits(predictions + b * width, state->targets, batch, (int)width,
                                              state->hits_workspace);
    result->total = count;
    simclr_network_zero_grads(method->encoder);
    simclr_network_zero_grads(method->head);
    simclr_network_zero_grads(&state->predictor);
    float *d_projections = method->head->d_output, *d_features = method->encoder->d_output;
    if (simclr_network_backward(&state->predictor, state->d_predictions, d_projections, err) != 0 ||
        simclr_network_backward(method->head, d_projections, d_features, err) != 0)
        return -1;
    return simclr_network_backward(method->encoder, d_features, NULL, err);
}

static int byol_after_step(simclr_method *method, float learning_rate, long long global_step, simclr_error *err)
{
    byol_state *state = method->state;
    /* A non-finite predictor gradient reached the head's, which the loop checks. */
    simclr_optimizer_update(&state->predictor_optimizer, learning_rate, state->predictor.params,
                            state->predictor.grads);
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
    simclr_network_free(&state->predictor);
    simclr_optimizer_free(&state->predictor_optimizer);
    free(state->targets);
    free(state->d_predictions);
    free(state->hits_workspace);
    free(state);
}

static const simclr_method_ops BYOL_OPS = {.step = byol_step, .after_step = byol_after_step, .free = byol_free};

int simclr_method_byol_create(simclr_method *method, int batch, simclr_error *err)
{
    method->ops = &BYOL_OPS;
    byol_state *state = simclr_checked_calloc(1, sizeof *state, "byol state", err);
    if (!state) return -1;
    method->state = state;
    const simclr_train_config *config = method->config;
    size_t b = (size_t)batch, width = (size_t)simclr_model_projection_width(&config->model);
    if (simclr_method_clone_network(&state->target_encoder, method->encoder, "target_encoder", 2 * batch, err) !=
            0 ||
        simclr_method_clone_network(&state->target_head, method->head, "target_head", 2 * batch, err) != 0 ||
        simclr_method_build_predictor(&state->predictor, &config->model, simclr_method_predictor_hidden(config),
                                      2 * batch, err) != 0)
        return -1;
    simclr_network_init_weights(&state->predictor, config->seed);
    if (simclr_train_optimizer_init(&state->predictor_optimizer, &state->predictor, &config->optimizer, err) != 0)
        return -1;
    state->targets = simclr_checked_calloc(2 * b * width, sizeof(float), "byol targets", err);
    state->d_predictions = simclr_checked_calloc(2 * b * width, sizeof(float), "byol gradients", err);
    state->hits_workspace = simclr_checked_calloc(b * b, sizeof(float), "byol workspace", err);
    if (!state->targets || !state->d_predictions || !state->hits_workspace) return -1;
    method->parts[0] = (simclr_checkpoint_part){.net = &state->target_encoder};
    method->parts[1] = (simclr_checkpoint_part){.net = &state->target_head};
    method->parts[2] = (simclr_checkpoint_part){.net = &state->predictor, .optimizer = &state->predictor_optimizer};
    method->part_count = 3;
    return 0;
}
