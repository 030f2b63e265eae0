/* Issue 14: what the training loops print and dump when they run over several ranks
 * (train_internal.h). In one process every function here does nothing but the rescale. */
#include <stdio.h>
#include <stdlib.h>

#include "simclr/atomic_file.h"
#include "simclr/distributed.h"
#include "train_internal.h"

void simclr_train_rescale(float *values, size_t count, float factor)
{
    for (size_t i = 0; i < count; i++) values[i] *= factor;
}

void simclr_train_print_ranks(const simclr_train_config *config)
{
    const simclr_communicator *comm = config->communicator;
    if (simclr_communicator_size(comm) < 2) return;
    fprintf(config->log, "data-parallel: %d ranks x %d threads; batches are global, each rank takes its share\n",
            comm->size, comm->threads);
}

void simclr_train_print_communication(const simclr_train_config *config, long long steps)
{
    simclr_communicator *comm = config->communicator;
    if (simclr_communicator_size(comm) < 2 || steps < 1) return;
    static double last_seconds = 0.0;
    static uint64_t last_bytes = 0;
    double seconds = comm->seconds - last_seconds;
    uint64_t bytes = comm->bytes - last_bytes;
    last_seconds = comm->seconds;
    last_bytes = comm->bytes;
    fprintf(config->log, "communication (rank 0): %.2f s in collectives this epoch, %.3f MB passed per step\n",
            seconds, (double)bytes / (double)steps / 1e6);
}

void simclr_train_debug_dump_gradients(const simclr_train_config *config, const char *tag, int epoch,
                                       size_t step, const simclr_network *first, const simclr_network *second)
{
    const char *dir = config->debug_gradients_dir;
    if (!dir || !*dir || !simclr_communicator_is_root(config->communicator)) return;
    size_t count = first->param_count + (second ? second->param_count : 0);
    float *values = malloc(count * sizeof(float) + 1);
    if (!values) return;
    for (size_t i = 0; i < first->param_count; i++) values[i] = first->grads[i];
    if (second)
        for (size_t i = 0; i < second->param_count; i++) values[first->param_count + i] = second->grads[i];
    char path[4096];
    snprintf(path, sizeof path, "%s/%s_e%d_s%zu.f32", dir, tag, epoch, step);
    simclr_error err = {0};
    if (simclr_atomic_file_write_all(path, values, count * sizeof(float), &err) != 0) {
        fprintf(stderr, "simclr: gradient dump: %s\n", simclr_error_message(&err));
        simclr_error_clear(&err);
    }
    free(values);
}
