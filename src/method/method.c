/* The method interface's dispatch, names and defaults, and the memory estimate of each method's
 * extra networks, queue and buffers. */
#include <string.h>

#include "method_internal.h"
#include "simclr/distributed.h"
#include "simclr/model.h"
#include "simclr/ssl_loss.h"
#include "simclr/ssl_method.h"

static const char *const METHOD_NAMES[SIMCLR_METHOD_COUNT] = {"simclr", "moco", "byol", "simsiam", "barlow",
                                                              "vicreg"};

const char *simclr_method_name(simclr_method_kind kind)
{
    return (unsigned)kind < SIMCLR_METHOD_COUNT ? METHOD_NAMES[kind] : "unknown";
}

int simclr_method_from_name(const char *name)
{
    for (int i = 0; i < SIMCLR_METHOD_COUNT; i++)
        if (strcmp(name, METHOD_NAMES[i]) == 0) return i;
    return -1;
}

float simclr_method_default_ema_momentum(simclr_method_kind kind)
{
    return kind == SIMCLR_METHOD_MOCO ? 0.99f : kind == SIMCLR_METHOD_BYOL ? 0.996f : 0.0f;
}

int simclr_method_default_predictor_hidden(simclr_method_kind kind, int head_hidden, int projection_width)
{
    if (kind == SIMCLR_METHOD_BYOL) return head_hidden;
    if (kind == SIMCLR_METHOD_SIMSIAM) return projection_width / 4 > 0 ? projection_width / 4 : 1;
    return 0;
}

float simclr_method_ema_momentum(const simclr_method_settings *config)
{
    return config->ema_momentum > 0.0f ? config->ema_momentum : simclr_method_default_ema_momentum(config->method);
}

static int head_hidden_width(const simclr_model_config *model)
{
    return model->head_hidden ? model->head_hidden : simclr_model_feature_width(model);
}

int simclr_method_predictor_hidden(const simclr_method_settings *config)
{
    if (config->predictor_hidden > 0) return config->predictor_hidden;
    return simclr_method_default_predictor_hidden(config->method, head_hidden_width(&config->model),
                                                  simclr_model_projection_width(&config->model));
}

int simclr_method_create(simclr_method *method, const simclr_method_settings *config, simclr_network *encoder,
                         simclr_network *head, int batch, long long total_steps, simclr_error *err)
{
    memset(method, 0, sizeof *method);
    method->settings = *config;
    method->config = &method->settings;
    method->encoder = encoder;
    method->head = head;
    method->total_steps = total_steps;
    /* Preconditions (the method under MPI, its minimum batch): simclr_train_check_run. */
    switch (config->method) {
    case SIMCLR_METHOD_SIMCLR: return simclr_method_simclr_create(method, batch, err);
    case SIMCLR_METHOD_MOCO: return simclr_method_moco_create(method, batch, err);
    case SIMCLR_METHOD_BYOL: return simclr_method_byol_create(method, batch, err);
    case SIMCLR_METHOD_SIMSIAM: return simclr_method_simsiam_create(method, batch, err);
    case SIMCLR_METHOD_BARLOW:
    case SIMCLR_METHOD_VICREG: return simclr_method_redundancy_create(method, batch, err);
    }
    return simclr_error_input(err, "--method: unknown method %d", (int)config->method);
}

int simclr_method_step(simclr_method *method, const float *views, int batch, simclr_method_result *result,
                       simclr_error *err)
{
    return method->ops->step(method, views, batch, result, err);
}

int simclr_method_after_step(simclr_method *method, float learning_rate, long long global_step, simclr_error *err)
{
    return method->ops->after_step ? method->ops->after_step(method, learning_rate, global_step, err) : 0;
}

void simclr_method_free(simclr_method *method)
{
    if (method->ops && method->ops->free) method->ops->free(method);
    memset(method, 0, sizeof *method);
}

/* Bytes of one part (its network for max_batch, plus optimizer moments when trained). */
static int part_bytes(const simclr_model_config *model, const simclr_tensor_shape *input, const simclr_layer_spec *specs,
                      int count, int max_batch, int trained, size_t *bytes, simclr_error *err)
{
    size_t network = 0, params = 0;
    if (simclr_network_estimate_bytes(input, specs, count, max_batch, &model->network, &network, &params, err) != 0)
        return -1;
    *bytes += network + (trained ? 2 * params * sizeof(float) : 0);
    return 0;
}

int simclr_method_memory_bytes(const simclr_method_settings *config, int batch, size_t *bytes, simclr_error *err)
{
    const simclr_model_config *model = &config->model;
    size_t b = (size_t)batch, views = 2 * b, width = (size_t)simclr_model_projection_width(model);
    simclr_layer_spec specs[SIMCLR_NETWORK_MAX_LAYERS];
    simclr_tensor_shape features = {1, 1, simclr_model_feature_width(model)};
    simclr_tensor_shape projections = {1, 1, (int)width};
    size_t total = 0;
    simclr_method_kind kind = config->method;
    if (kind == SIMCLR_METHOD_MOCO || kind == SIMCLR_METHOD_BYOL) { /* target encoder + head */
        if (part_bytes(model, &model->input, specs, simclr_model_encoder_specs(model, specs), (int)views, 0, &total, err) !=
                0 ||
            part_bytes(model, &features, specs, simclr_model_projection_head_specs(model, specs), (int)views, 0, &total,
                       err) != 0)
            return -1;
    }
    if (kind == SIMCLR_METHOD_BYOL || kind == SIMCLR_METHOD_SIMSIAM) { /* predictor and its optimizer */
        int hidden = simclr_method_predictor_hidden(config);
        simclr_layer_spec predictor[3] = {
            {.kind = SIMCLR_LAYER_KIND_DENSE, .units = hidden, .no_bias = 1},
            {.kind = SIMCLR_LAYER_KIND_BATCHNORM, .activation = SIMCLR_NN_ACTIVATION_RELU},
            {.kind = SIMCLR_LAYER_KIND_DENSE, .units = (int)width}};
        if (part_bytes(model, &projections, predictor, 3, (int)views, 1, &total, err) != 0) return -1;
        total += 2 * views * width * sizeof(float) + b * b * sizeof(float); /* targets, gradients, hits */
    }
    switch (kind) {
    case SIMCLR_METHOD_SIMCLR:
        total += (views * width + simclr_contrastive_workspace_floats(config->loss_kind, batch, (int)width)) *
                 sizeof(float);
        break;
    case SIMCLR_METHOD_MOCO:
        total += ((size_t)config->queue_size * width + 3 * views * width +
                  simclr_infonce_queue_workspace_floats(batch, config->queue_size, (int)width)) *
                 sizeof(float);
        break;
    case SIMCLR_METHOD_BARLOW:
    case SIMCLR_METHOD_VICREG:
        total += (views * width + simclr_method_redundancy_workspace_floats(kind, batch, (int)width) + b * b) *
                 sizeof(float);
        break;
    default: break;
    }
    *bytes = total;
    return 0;
}
