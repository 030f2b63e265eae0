/*
 * SimSiam (Chen & He 2021, Algorithm 1): encoder -> projection head (z) -> predictor (p);
 * loss = D(p1, stopgrad(z2)) / 2 + D(p2, stopgrad(z1)) / 2 with D the negative cosine. No
 * target network: the stop-gradient is a copy of the projections. The predictor (a bottleneck,
 * a quarter of the projection width by default; predictor.c) is trained by the run's optimizer.
 */
#include <stdlib.h>
#include <string.h>

#include "method_internal.h"
#include "simclr/model.h"

typedef struct simsiam_state {
    simclr_method_predictor predictor; /* its targets: the detached projections */
} simsiam_state;

static int simsiam_step(simclr_method *method, const float *views, int batch, simclr_method_result *result,
                        simclr_error *err)
{
    simsiam_state *state = method->state;
    size_t b = (size_t)batch, width = (size_t)simclr_model_projection_width(&method->config->model);
    int count = 2 * batch;
    if (simclr_method_forward_pair(method->encoder, method->head, views, count, err) != 0) return -1;
    memcpy(state->predictor.targets, simclr_network_output(method->head), 2 * b * width * sizeof(float));
    return simclr_method_predictor_step(method, &state->predictor, batch, 0.0f, 0.5f, result, err);
}

static int simsiam_after_step(simclr_method *method, float learning_rate, long long global_step, simclr_error *err)
{
    (void)global_step;
    (void)err;
    simsiam_state *state = method->state;
    simclr_method_predictor_update(&state->predictor, learning_rate);
    return 0;
}

static void simsiam_free(simclr_method *method)
{
    simsiam_state *state = method->state;
    if (!state) return;
    simclr_method_predictor_free(&state->predictor);
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
    if (simclr_method_predictor_init(&state->predictor, method, batch, err) != 0) return -1;
    method->parts[0] = (simclr_checkpoint_part){.net = &state->predictor.net, .optimizer = &state->predictor.optimizer};
    method->part_count = 1;
    return 0;
}
