/*
 * VICReg (Bardes et al. 2022, Algorithm 1): invariance (MSE between the two views' projections),
 * variance (a hinge keeping every dimension's standard deviation above 1 over the batch) and
 * covariance (off-diagonal covariances pushed to 0), weighted by --vicreg-weights (25, 25, 1;
 * src/loss/vicreg.c).
 */
#include <stdlib.h>

#include "method_internal.h"
#include "simclr/model.h"
#include "simclr/ssl_loss.h"

typedef struct vicreg_state {
    float *d_projections; /* (2B, D) */
    float *workspace;
    float *hits_workspace;
} vicreg_state;

static int vicreg_step(simclr_method *method, const float *views, int batch, simclr_contrastive_result *result,
                       simclr_error *err)
{
    vicreg_state *state = method->state;
    const simclr_train_config *config = method->config;
    size_t b = (size_t)batch, width = (size_t)simclr_model_projection_width(&config->model);
    int count = 2 * batch;
    if (simclr_network_forward(method->encoder, views, count, err) != 0 ||
        simclr_network_forward(method->head, simclr_network_output(method->encoder), count, err) != 0)
        return -1;
    const float *z = simclr_network_output(method->head);
    result->loss = simclr_vicreg_loss(z, z + b * width, batch, (int)width, config->vicreg_weights, 1.0f,
                                      state->d_projections, state->d_projections + b * width, state->workspace,
                                      NULL);
    result->correct = simclr_method_pair_hits(z, z + b * width, batch, (int)width, state->hits_workspace) +
                      simclr_method_pair_hits(z + b * width, z, batch, (int)width, state->hits_workspace);
    result->total = count;
    simclr_network_zero_grads(method->encoder);
    simclr_network_zero_grads(method->head);
    float *d_features = method->encoder->d_output;
    if (simclr_network_backward(method->head, state->d_projections, d_features, err) != 0) return -1;
    return simclr_network_backward(method->encoder, d_features, NULL, err);
}

static void vicreg_free(simclr_method *method)
{
    vicreg_state *state = method->state;
    if (!state) return;
    free(state->d_projections);
    free(state->workspace);
    free(state->hits_workspace);
    free(state);
}

static const simclr_method_ops VICREG_OPS = {.step = vicreg_step, .after_step = NULL, .free = vicreg_free};

int simclr_method_vicreg_create(simclr_method *method, int batch, simclr_error *err)
{
    method->ops = &VICREG_OPS;
    vicreg_state *state = simclr_checked_calloc(1, sizeof *state, "vicreg state", err);
    if (!state) return -1;
    method->state = state;
    size_t b = (size_t)batch, width = (size_t)simclr_model_projection_width(&method->config->model);
    if (batch < 2) return simclr_error_input(err, "--method vicreg: needs at least 2 images per step");
    state->d_projections = simclr_checked_calloc(2 * b * width, sizeof(float), "vicreg gradients", err);
    state->workspace = simclr_checked_calloc(simclr_vicreg_workspace_floats(batch, (int)width), sizeof(float),
                                             "vicreg workspace", err);
    state->hits_workspace = simclr_checked_calloc(b * b, sizeof(float), "vicreg workspace", err);
    return state->d_projections && state->workspace && state->hits_workspace ? 0 : -1;
}
