/* SimCLR, the default: the seed's contrastive loss or the paper's NT-Xent (--loss) over the
 * projections of the 2B views, exactly the arithmetic pretraining had before the methods. */
#include <stdlib.h>

#include "method_internal.h"
#include "simclr/distributed.h"
#include "simclr/model.h"

typedef struct simclr_state {
    float *d_projections; /* (2B, width) */
    float *workspace;
} simclr_state;

static int simclr_step(simclr_method *method, const float *views, int batch, simclr_method_result *result,
                       simclr_error *err)
{
    simclr_state *state = method->state;
    const simclr_method_settings *config = method->config;
    size_t width = (size_t)simclr_model_projection_width(&config->model);
    int count = 2 * batch;
    if (simclr_method_forward_pair(method->encoder, method->head, views, count, err) != 0) return -1;
    const float *projections = simclr_network_output(method->head);
    simclr_contrastive_result contrastive;
    if (simclr_communicator_size(config->communicator) > 1) /* issue 14: the global batch's loss */
        simclr_distributed_contrastive_loss(config->communicator, config->loss_kind, config->unlabeled_batch,
                                            config->labeled_batch, projections,
                                            projections + (size_t)batch * width, (int)width, config->temperature,
                                            state->d_projections, state->d_projections + (size_t)batch * width,
                                            state->workspace, &contrastive);
    else
        simclr_contrastive_loss(config->loss_kind, projections, projections + (size_t)batch * width, batch,
                                (int)width, config->temperature, state->d_projections,
                                state->d_projections + (size_t)batch * width, state->workspace, &contrastive);
    *result = (simclr_method_result){contrastive.loss, contrastive.correct, contrastive.total};
    return simclr_method_backward_online(method, state->d_projections, err);
}

static void simclr_free(simclr_method *method)
{
    simclr_state *state = method->state;
    if (!state) return;
    free(state->d_projections);
    free(state->workspace);
    free(state);
}

static const simclr_method_ops SIMCLR_OPS = {.step = simclr_step, .after_step = NULL, .free = simclr_free};

int simclr_method_simclr_create(simclr_method *method, int batch, simclr_error *err)
{
    method->ops = &SIMCLR_OPS;
    simclr_state *state = simclr_checked_calloc(1, sizeof *state, "simclr state", err);
    if (!state) return -1;
    method->state = state;
    const simclr_method_settings *config = method->config;
    size_t width = (size_t)simclr_model_projection_width(&config->model);
    state->d_projections = simclr_checked_calloc(2 * (size_t)batch * width, sizeof(float), "projection gradients",
                                                 err);
    int ranks = simclr_communicator_size(config->communicator);
    state->workspace = simclr_checked_calloc(
        ranks > 1 ? simclr_distributed_contrastive_workspace_floats(config->loss_kind, config->unlabeled_batch,
                                                                     config->labeled_batch, (int)width, ranks)
                  : simclr_contrastive_workspace_floats(config->loss_kind, batch, (int)width),
        sizeof(float), "contrastive workspace", err);
    return state->d_projections && state->workspace ? 0 : -1;
}
