/* The predictor of BYOL and SimSiam: the MLP on the online projections, its optimizer, and the
 * step both methods end with (predictions against the targets, backward through predictor,
 * head and encoder). They differ in where the targets come from and in the loss's scale. */
#include <stdlib.h>

#include "method_internal.h"
#include "simclr/model.h"
#include "simclr/ssl_loss.h"

static int build_predictor(simclr_network *predictor, const simclr_model_config *model, int hidden, int max_batch,
                           simclr_error *err)
{
    /* The head's initialisation: Keras's for the seed's model, nn.Linear's for a ResNet. */
    simclr_layer_init init =
        model->backbone == SIMCLR_MODEL_BACKBONE_SEED ? SIMCLR_LAYER_INIT_GLOROT : SIMCLR_LAYER_INIT_TORCH;
    int width = simclr_model_projection_width(model);
    simclr_layer_spec specs[3] = {
        {.kind = SIMCLR_LAYER_KIND_DENSE, .units = hidden, .no_bias = 1, .init = init},
        {.kind = SIMCLR_LAYER_KIND_BATCHNORM, .activation = SIMCLR_NN_ACTIVATION_RELU},
        {.kind = SIMCLR_LAYER_KIND_DENSE, .units = width, .activation = SIMCLR_NN_ACTIVATION_NONE, .init = init}};
    simclr_tensor_shape input = {1, 1, width};
    return simclr_network_init_with(predictor, "predictor", &input, specs, 3, max_batch, &model->network, err);
}

int simclr_method_predictor_init(simclr_method_predictor *predictor, const simclr_method *method, int batch,
                                 simclr_error *err)
{
    const simclr_method_settings *config = method->config;
    size_t b = (size_t)batch, width = (size_t)simclr_model_projection_width(&config->model);
    if (build_predictor(&predictor->net, &config->model, simclr_method_predictor_hidden(config), 2 * batch, err) !=
        0)
        return -1;
    simclr_network_init_weights(&predictor->net, config->seed);
    if (simclr_network_optimizer_init(&predictor->optimizer, &predictor->net, &config->optimizer, err) != 0)
        return -1;
    predictor->targets = simclr_checked_calloc(2 * b * width, sizeof(float), "predictor targets", err);
    predictor->d_predictions = simclr_checked_calloc(2 * b * width, sizeof(float), "predictor gradients", err);
    predictor->hits_workspace = simclr_checked_calloc(b * b, sizeof(float), "pair accuracy workspace", err);
    return predictor->targets && predictor->d_predictions && predictor->hits_workspace ? 0 : -1;
}

int simclr_method_predictor_step(simclr_method *method, simclr_method_predictor *predictor, int batch,
                                 float offset, float weight, simclr_method_result *result, simclr_error *err)
{
    size_t b = (size_t)batch, width = (size_t)simclr_model_projection_width(&method->config->model);
    int count = 2 * batch;
    if (simclr_network_forward(&predictor->net, simclr_network_output(method->head), count, err) != 0) return -1;
    const float *predictions = simclr_network_output(&predictor->net);
    const float *targets = predictor->targets;
    /* p1 against t2, p2 against t1. */
    float d12 = simclr_negative_cosine_loss(predictions, targets + b * width, batch, (int)width, weight,
                                            predictor->d_predictions);
    float d21 = simclr_negative_cosine_loss(predictions + b * width, targets, batch, (int)width, weight,
                                            predictor->d_predictions + b * width);
    result->loss = offset + weight * (d12 + d21);
    result->correct =
        simclr_method_pair_hits(predictions, targets + b * width, batch, (int)width, predictor->hits_workspace) +
        simclr_method_pair_hits(predictions + b * width, targets, batch, (int)width, predictor->hits_workspace);
    result->total = count;
    simclr_network_zero_grads(&predictor->net);
    float *d_projections = method->head->d_output;
    if (simclr_network_backward(&predictor->net, predictor->d_predictions, d_projections, err) != 0) return -1;
    return simclr_method_backward_online(method, d_projections, err);
}

void simclr_method_predictor_update(simclr_method_predictor *predictor, float learning_rate)
{
    /* A non-finite predictor gradient reached the head's, which the loop checks. */
    simclr_optimizer_update(&predictor->optimizer, learning_rate, predictor->net.params, predictor->net.grads);
}

void simclr_method_predictor_free(simclr_method_predictor *predictor)
{
    simclr_network_free(&predictor->net);
    simclr_optimizer_free(&predictor->optimizer);
    free(predictor->targets);
    free(predictor->d_predictions);
    free(predictor->hits_workspace);
}
