/*
 * The two methods whose loss sees only the two views' projections, with no negatives, no
 * predictor and no target network: they differ in the loss alone (src/loss/barlow.c,
 * src/loss/vicreg.c), so they share one state and one step.
 *
 * Barlow Twins (Zbontar et al. 2021, Algorithm 1): the projections standardised over the batch
 * and their cross-correlation pushed to the identity: sum_i (1 - C_ii)^2 + lambda
 * sum_{i != j} C_ij^2. lambda is --barlow-lambda as given (0.0051, the reference code's value
 * for its 8192-wide projector; it is not rescaled with the projection width, see README).
 *
 * VICReg (Bardes et al. 2022, Algorithm 1): invariance (MSE between the two views'
 * projections), variance (a hinge keeping every dimension's standard deviation above 1 over the
 * batch) and covariance (off-diagonal covariances pushed to 0), weighted by --vicreg-weights
 * (25, 25, 1).
 */
#include <stdlib.h>

#include "method_internal.h"
#include "simclr/model.h"
#include "simclr/ssl_loss.h"

typedef struct redundancy_state {
    simclr_method_kind kind; /* SIMCLR_METHOD_BARLOW or SIMCLR_METHOD_VICREG */
    float *d_projections;    /* (2B, D) */
    float *workspace;        /* the loss's */
    float *hits_workspace;   /* B x B, the pair retrieval accuracy */
} redundancy_state;

/* The loss of projections za, zb (B, D each); its gradients into d_za, d_zb. */
static float redundancy_loss(const redundancy_state *state, const simclr_method_settings *config, const float *za,
                             const float *zb, int batch, int width, float *d_za, float *d_zb)
{
    if (state->kind == SIMCLR_METHOD_BARLOW)
        return simclr_barlow_twins_loss(za, zb, batch, width, config->barlow_lambda, 1.0f, d_za, d_zb,
                                        state->workspace);
    return simclr_vicreg_loss(za, zb, batch, width, config->vicreg_weights, 1.0f, d_za, d_zb, state->workspace,
                              NULL);
}

size_t simclr_method_redundancy_workspace_floats(simclr_method_kind kind, int batch, int width)
{
    return kind == SIMCLR_METHOD_BARLOW ? simclr_barlow_workspace_floats(batch, width)
                                        : simclr_vicreg_workspace_floats(batch, width);
}

static int redundancy_step(simclr_method *method, const float *views, int batch, simclr_method_result *result,
                           simclr_error *err)
{
    redundancy_state *state = method->state;
    const simclr_method_settings *config = method->config;
    size_t b = (size_t)batch, width = (size_t)simclr_model_projection_width(&config->model);
    int count = 2 * batch;
    if (simclr_method_forward_pair(method->encoder, method->head, views, count, err) != 0) return -1;
    const float *z = simclr_network_output(method->head);
    result->loss = redundancy_loss(state, config, z, z + b * width, batch, (int)width, state->d_projections,
                                   state->d_projections + b * width);
    result->correct = simclr_method_pair_hits(z, z + b * width, batch, (int)width, state->hits_workspace) +
                      simclr_method_pair_hits(z + b * width, z, batch, (int)width, state->hits_workspace);
    result->total = count;
    return simclr_method_backward_online(method, state->d_projections, err);
}

static void redundancy_free(simclr_method *method)
{
    redundancy_state *state = method->state;
    if (!state) return;
    free(state->d_projections);
    free(state->workspace);
    free(state->hits_workspace);
    free(state);
}

static const simclr_method_ops REDUNDANCY_OPS = {
    .step = redundancy_step, .after_step = NULL, .free = redundancy_free};

int simclr_method_redundancy_create(simclr_method *method, int batch, simclr_error *err)
{
    method->ops = &REDUNDANCY_OPS;
    simclr_method_kind kind = method->config->method;
    const char *name = simclr_method_name(kind);
    redundancy_state *state = simclr_checked_calloc(1, sizeof *state, "method state", err);
    if (!state) return -1;
    method->state = state;
    state->kind = kind;
    size_t b = (size_t)batch, width = (size_t)simclr_model_projection_width(&method->config->model);
    if (batch < 2) return simclr_error_input(err, "--method %s: needs at least 2 images per step", name);
    state->d_projections = simclr_checked_calloc(2 * b * width, sizeof(float), "projection gradients", err);
    state->workspace = simclr_checked_calloc(simclr_method_redundancy_workspace_floats(kind, batch, (int)width),
                                             sizeof(float), "loss workspace", err);
    state->hits_workspace = simclr_checked_calloc(b * b, sizeof(float), "pair accuracy workspace", err);
    return state->d_projections && state->workspace && state->hits_workspace ? 0 : -1;
}
