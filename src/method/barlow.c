/*
 * Barlow Twins (Zbontar et al. 2021, Algorithm 1): the projections of the two views,
 * standardised over the batch, and their cross-correlation pushed to the identity:
 * sum_i (1 - C_ii)^2 + lambda sum_{i != j} C_ij^2 (src/loss/barlow.c). lambda is --barlow-lambda
 * as given (0.0051, the reference code's value for its 8192-wide projector; it is not rescaled
 * with the projection width, see README).
 */
#include <stdlib.h>

#include "method_internal.h"
#include "simclr/model.h"
#include "simclr/ssl_loss.h"

typedef struct barlow_state {
    float *d_projections; /* (2B, D) */
    float *workspace;
    float *hits_workspace;
} barlow_state;

static int barlow_step(simclr_method *method, const float *views, int batch, simclr_contrastive_result *result,
                       simclr_error *err)
{
    barlow_state *state = method->state;
    const simclr_train_config *config = method->config;
    size_t b = (size_t)batch, width = (size_t)simclr_model_projection_width(&config->model);
    int count = 2 * batch;
    if (simclr_network_forward(method->encoder, views, count, err) != 0 ||
        simclr_network_forward(method->head, simclr_network_output(method->encoder), count, err) != 0)
        return -1;
    const float *z = simclr_network_output(method->head);
    result->loss = simclr_barlow_twins_loss(z, z + b * width, batch, (int)width, config->barlow_lambda, 1.0f,
                                            state->d_projections, state->d_projections + b * width,
                                            state->workspace);
    result->correct = simclr_method_pair_hits(z, z + b * width, batch, (int)width, state->hits_workspace) +
                      simclr_method_pair_hits(z + b * width, z, batch, (int)width, state->hits_workspace);
    result->total = count;
    simclr_network_zero_grads(method->encoder);
    simclr_network_zero_grads(method->head);
    float *d_features = method->encoder->d_output;
    if (simclr_network_backward(method->head, state->d_projections, d_features, err) != 0) return -1;
    return simclr_network_backward(method->encoder, d_features, NULL, err);
}

static void barlow_free(simclr_method *method)
{
    barlow_state *state = method->state;
    if (!state) return;
    free(state->d_projections);
    free(state->workspace);
    free(state->hits_workspace);
    free(state);
}

static const simclr_method_ops BARLOW_OPS = {.step = barlow_step, .after_step = NULL, .free = barlow_free};

int simclr_method_barlow_create(simclr_method *method, int batch, simclr_error *err)
{
    method->ops = &BARLOW_OPS;
    barlow_state *state = simclr_checked_calloc(1, sizeof *state, "barlow state", err);
    if (!state) return -1;
    method->state = state;
    size_t b = (size_t)batch, width = (size_t)simclr_model_projection_width(&method->config->model);
    if (batch < 2) return simclr_error_input(err, "--method barlow: needs at least 2 images per step");
    state->d_projections = simclr_checked_calloc(2 * b * width, sizeof(float), "barlow gradients", err);
    state->workspace = simclr_checked_calloc(simclr_barlow_workspace_floats(batch, (int)width), sizeof(float),
                                             "barlow workspace", err);
    state->hits_workspace = simclr_checked_calloc(b * b, sizeof(float), "barlow workspace", err);
    return state->d_projections && state->workspace && state->hits_workspace ? 0 : -1;
}
