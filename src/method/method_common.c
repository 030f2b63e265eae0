/* Pieces the methods share: target networks (clone, EMA, BYOL's momentum schedule) and the
 * pair retrieval accuracy logged as c_acc by the methods without a
 * contrastive argmax of their own. */
#include <cblas.h>
#include <math.h>
#include <string.h>

#include "method_internal.h"
#include "simclr/model.h"

int simclr_method_clone_network(simclr_network *clone, const simclr_network *net, const char *name, int max_batch,
                                simclr_error *err)
{
    simclr_layer_spec specs[SIMCLR_NETWORK_MAX_LAYERS];
    for (int i = 0; i < net->layer_count; i++) specs[i] = net->layers[i].spec;
    if (simclr_network_init_with(clone, name, &net->in_shape, specs, net->layer_count, max_batch, &net->options, err) !=
        0)
        return -1;
    memcpy(clone->params, net->params, net->param_count * sizeof *net->params);
    if (net->state_count) memcpy(clone->state, net->state, net->state_count * sizeof *net->state);
    return 0;
}

void simclr_method_ema_update(simclr_network *target, const simclr_network *online, float momentum)
{
    float *t = target->params;
    const float *o = online->params;
    float rest = 1.0f - momentum;
    size_t count = target->param_count;
#pragma omp parallel for schedule(static) if (count > 65536)
    for (size_t i = 0; i < count; i++) t[i] = momentum * t[i] + rest * o[i];
}

float simclr_method_cosine_momentum(float base, long long step, long long total)
{
    if (total <= 0) return base;
    double progress = (double)step / (double)total;
    const double pi = 3.14159265358979323846;
    return (float)(1.0 - (1.0 - (double)base) * (cos(pi * progress) + 1.0) / 2.0);
}

int simclr_method_pair_hits(const float *a, const float *b, int batch, int dim, float *workspace)
{
    /* Cosine similarity needs unit rows; a's norm does not change a row's argmax. */
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, batch, batch, dim, 1.0f, a, dim, b, dim, 0.0f, workspace,
                batch);
    int hits = 0;
    for (int i = 0; i < batch; i++) {
        int best = 0;
        float best_value = -INFINITY;
        for (int j = 0; j < batch; j++) {
            double squares = 0.0;
            for (int c = 0; c < dim; c++) squares += (double)b[(size_t)j * dim + c] * b[(size_t)j * dim + c];
            float value = workspace[(size_t)i * batch + j] / (float)fmax(sqrt(squares), 1e-12);
            if (value > best_value) {
                best_value = value;
                best = j;
            }
        }
        hits += best == i;
    }
    return hits;
}

int simclr_method_forward_pair(simclr_network *encoder, simclr_network *head, const float *views, int count,
                               simclr_error *err)
{
    if (simclr_network_forward(encoder, views, count, err) != 0) return -1;
    return simclr_network_forward(head, simclr_network_output(encoder), count, err);
}

int simclr_method_backward_online(simclr_method *method, const float *d_projections, simclr_error *err)
{
    simclr_network_zero_grads(method->encoder);
    simclr_network_zero_grads(method->head);
    float *d_features = method->encoder->d_output;
    if (simclr_network_backward(method->head, d_projections, d_features, err) != 0) return -1;
    return simclr_network_backward(method->encoder, d_features, NULL, err);
}
