/*
 * MoCo v2 (He et al. 2020, Algorithm 1; Chen et al. 2020): queries from the online encoder + MLP
 * head, keys from a momentum copy of both (forward only, batchnorm in training mode), InfoNCE
 * at T (0.2 by default) against a FIFO queue of K unit keys.
 *
 * Symmetrised as solo-learn and MoCo v3 do, since the loop forwards both views anyway:
 * loss = (L(q1, k2) + L(q2, k1)) / 2, both against the queue as it was before the step; then
 * the 2B new keys (k1 rows, then k2 rows) are enqueued, overwriting the oldest, and the key
 * networks move by key = m key + (1 - m) query (m 0.99, constant). No shuffle BN: one process.
 * The queue starts as random unit vectors (the reference's normalised randn), drawn from the
 * run's seed; it and its write position are checkpointed ("moco.queue", moco.queue_position).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "method_internal.h"
#include "simclr/model.h"
#include "simclr/rng.h"
#include "simclr/ssl_loss.h"

typedef struct moco_state {
    simclr_network key_encoder, key_head;
    float *queue;        /* (K, D) unit rows */
    long long position;  /* the next row to overwrite */
    float *keys;         /* (2B, D) raw keys of the step (view 1 rows, then view 2) */
    float *unit_keys;    /* (2B, D) their unit vectors, enqueued after the step */
    float *d_queries;    /* (2B, D) */
    float *workspace;
} moco_state;

static int moco_step(simclr_method *method, const float *views, int batch, simclr_method_result *result,
                     simclr_error *err)
{
    moco_state *state = method->state;
    const simclr_method_settings *config = method->config;
    size_t b = (size_t)batch, width = (size_t)simclr_model_projection_width(&config->model);
    int count = 2 * batch;
    if (simclr_method_forward_pair(&state->key_encoder, &state->key_head, views, count, err) != 0) return -1;
    memcpy(state->keys, simclr_network_output(&state->key_head), 2 * b * width * sizeof(float));
    if (simclr_method_forward_pair(method->encoder, method->head, views, count, err) != 0) return -1;
    const float *queries = simclr_network_output(method->head);
    int hits1 = 0, hits2 = 0;
    /* q1 against k2 (whose unit rows go to the second half of unit_keys), q2 against k1. */
    float loss1 = simclr_infonce_queue_loss(queries, state->keys + b * width, state->queue, batch,
                                            config->queue_size, (int)width, config->temperature, 0.5f,
                                            state->d_queries, state->unit_keys + b * width, state->workspace,
                                            &hits1);
    float loss2 = simclr_infonce_queue_loss(queries + b * width, state->keys, state->queue, batch,
                                            config->queue_size, (int)width, config->temperature, 0.5f,
                                            state->d_queries + b * width, state->unit_keys, state->workspace,
                                            &hits2);
    result->loss = 0.5f * (loss1 + loss2);
    result->correct = hits1 + hits2;
    result->total = count;
    return simclr_method_backward_online(method, state->d_queries, err);
}

static int moco_after_step(simclr_method *method, float learning_rate, long long global_step, simclr_error *err)
{
    moco_state *state = method->state;
    const simclr_method_settings *config = method->config;
    size_t width = (size_t)simclr_model_projection_width(&config->model);
    size_t keys = 2 * (size_t)(config->unlabeled_batch + config->labeled_batch);
    size_t size = (size_t)config->queue_size;
    for (size_t i = 0; i < keys; i++) {
        memcpy(state->queue + (size_t)state->position * width, state->unit_keys + i * width, width * sizeof(float));
        state->position = (long long)(((size_t)state->position + 1) % size);
    }
    float momentum = simclr_method_ema_momentum(config);
    simclr_method_ema_update(&state->key_encoder, method->encoder, momentum);
    simclr_method_ema_update(&state->key_head, method->head, momentum);
    return 0;
}

static void moco_free(simclr_method *method)
{
    moco_state *state = method->state;
    if (!state) return;
    simclr_network_free(&state->key_encoder);
    simclr_network_free(&state->key_head);
    free(state->queue);
    free(state->keys);
    free(state->unit_keys);
    free(state->d_queries);
    free(state->workspace);
    free(state);
}

static const simclr_method_ops MOCO_OPS = {.step = moco_step, .after_step = moco_after_step, .free = moco_free};

/* Normalised standard normal rows, keyed by (seed, init, "moco queue"). */
static void fill_queue(float *queue, size_t rows, size_t width, uint64_t seed)
{
    simclr_rng_stream stream = simclr_rng_stream_make(seed, SIMCLR_RNG_PURPOSE_INIT, 0x6d6f636fULL, 0, 0, 0);
    for (size_t r = 0; r < rows; r++) {
        float *row = queue + r * width;
        double squares = 0.0;
        for (size_t c = 0; c < width; c += 2) {
            /* Box-Muller: two normals from two uniforms in (0, 1]. */
            float u1 = 1.0f - simclr_rng_uniform01(&stream), u2 = simclr_rng_uniform01(&stream);
            float radius = sqrtf(-2.0f * logf(u1));
            row[c] = radius * cosf(6.28318530717958647692f * u2);
            if (c + 1 < width) row[c + 1] = radius * sinf(6.28318530717958647692f * u2);
        }
        for (size_t c = 0; c < width; c++) squares += (double)row[c] * row[c];
        float norm = (float)fmax(sqrt(squares), 1e-12);
        for (size_t c = 0; c < width; c++) row[c] /= norm;
    }
}

int simclr_method_moco_create(simclr_method *method, int batch, simclr_error *err)
{
    method->ops = &MOCO_OPS;
    moco_state *state = simclr_checked_calloc(1, sizeof *state, "moco state", err);
    if (!state) return -1;
    method->state = state;
    const simclr_method_settings *config = method->config;
    size_t b = (size_t)batch, width = (size_t)simclr_model_projection_width(&config->model);
    if (config->queue_size < 1) return simclr_error_input(err, "--queue-size %d: expected at least 1", config->queue_size);
    if (simclr_method_clone_network(&state->key_encoder, method->encoder, "key_encoder", 2 * batch, err) != 0 ||
        simclr_method_clone_network(&state->key_head, method->head, "key_head", 2 * batch, err) != 0)
        return -1;
    state->queue = simclr_checked_calloc((size_t)config->queue_size * width, sizeof(float), "moco queue", err);
    state->keys = simclr_checked_calloc(2 * b * width, sizeof(float), "moco keys", err);
    state->unit_keys = simclr_checked_calloc(2 * b * width, sizeof(float), "moco keys", err);
    state->d_queries = simclr_checked_calloc(2 * b * width, sizeof(float), "moco query gradients", err);
    state->workspace = simclr_checked_calloc(
        simclr_infonce_queue_workspace_floats(batch, config->queue_size, (int)width), sizeof(float),
        "moco workspace", err);
    if (!state->queue || !state->keys || !state->unit_keys || !state->d_queries || !state->workspace) return -1;
    fill_queue(state->queue, (size_t)config->queue_size, width, config->seed);
    method->parts[0] = (simclr_checkpoint_part){.net = &state->key_encoder, .former_name = "target_encoder"};
    method->parts[1] = (simclr_checkpoint_part){.net = &state->key_head, .former_name = "target_head"};
    method->parts[2] = (simclr_checkpoint_part){.tensor_name = "moco.queue",
                                                .values = state->queue,
                                                .rows = config->queue_size,
                                                .cols = (int64_t)width,
                                                .counter_name = "moco.queue_position",
                                                .counter = &state->position};
    method->part_count = 3;
    return 0;
}
