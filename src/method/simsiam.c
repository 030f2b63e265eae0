/*
 * SimSiam (Chen & He 2021, Algorithm 1): encoder -> projection head (z) -> predictor (p);
 * loss = D(p1, stopgrad(z2)) / 2 + D(p2, stopgrad(z1)) / 2 with D the negative cosine. No
 * target network: the stop-gradient is a copy of the projections. The predictor (a bottleneck,
 * a quarter of the projection width by default) is trained by the run's optimizer.
 */
#include <stdlib.h>
#include <string.h>

#include "method_internal.h"
#include "simclr/model.h"
#include "simclr/ssl_loss.h"
#include "train/train_internal.h"

typedef struct simsiam_state {
    simclr_network predictor;
    simclr_optimizer predictor_optimizer;
    float *targets;       /* (2B, D) the detached projections */
    float *d_predictions; /* (2B, D) */
    float *hits_workspace;
} simsiam_state;

static int simsiam_step(simclr_method *method, const float *views, int batch, simclr_contrastive_result *result,
                        simclr_error *err)
{
    simsiam_state *state = method->state;
    size_t b = (size_t)batch, width = (size_t)simclr_model_projection_width(&method->config->model);
    int count = 2 * batch;
    if (simclr_network_forward(method->encoder, views, count, err) != 0 ||
        simclr_network_forward(method->head, simclr_network_output(method->encoder), count, err) != 0)
        return -1;
    memcpy(state->targets, simclr_network_output(method->head), 2 * b * width * sizeof(float));
    if (simclr_network_forward(&state->predictor, simclr_network_output(method->head), count, err) != 0) return -1;
    const float *predictions = simclr_network_output(&state->predictor);
    float d12 = simclr_negative_cosine_loss(predictions, state->targets + b * width, batch, (int)width, 0.5f,
                                            state->d_predictions);
    float d21 = simclr_negative_cosine_loss(predictions + b * width, state->targets, batch, (int)width, 0.5f,
                                            state->d_predictions + b * width);
    result->loss = 0.5f * (d12 + d21);
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

static int simsiam_after_step(simclr_method *method, float learning_rate, long long global_step, simclr_error *err)
{
    simsiam_state *state = method->state;
    /* A non-finite predictor gradient reached the head's, which the loop checks. */
    simclr_optimizer_update(&state->predictor_optimizer, learning_rate, state->predictor.params,
                            state->predictor.grads);
    return 0;
}

static void simsiam_free(simclr_method *method)
{
    simsiam_state *state = method->state;
    if (!state) return;
    simclr_network_free(&state->predictor);
    simclr_optimizer_free(&state->predictor_optimizer);
    free(state->targets);
    free(state->d_predictions);
    free(state->hits_workspace);
    free(state);
}

static const simclr_method_ops SIMSIAM_OPS = {
    .step = simsiam_step, .after_step = simsiam_after_step, .free = simsiam_free};

int simclr_method_simsiam_create(simclr_method *method, int batch, simclr_error *err)
{
    method->ops = &SIMSIAM_OPS;
    simsiam_state *state = simclr_checked_calloc(1, sizeof *state, "simsiam state", err);
    if (!state) return -1;
    method->state = state;
    const simclr_train_config *config = method->config;
    size_t b = (size_t)batch, width = (size_t)simclr_model_projection_width(&config->model);
    if (simclr_method_build_predictor(&state->predictor, &config->model, simclr_method_predictor_hidden(config),
                                      2 * batch, err) != 0)
        return -1;
    simclr_network_init_weights(&state->predictor, config->seed);
    if (simclr_train_optimizer_init(&state->predictor_optimizer, &state->predictor, &config->optimizer, err) != 0)
        return -1;
    state->targets = simclr_checked_calloc(2 * b * width, sizeof(float), "simsiam targets", err);
    state->d_predictions = simclr_checked_calloc(2 * b * width, sizeof(float), "simsiam gradients", err);
    state->hits_workspace = simclr_checked_calloc(b * b, sizeof(float), "simsiam workspace", err);
    if (!state->targets || !state->d_predictions || !state->hits_workspace) return -1;
    method->parts[0] = (simclr_checkpoint_part){.net = &state->predictor, .optimizer = &state->predictor_optimizer};
    method->part_count = 1;
    return 0;
}
