/* Networks across ranks (distributed.h): global BatchNorm, the gradient allreduce, and the
 * checksum that proves every rank holds the same weights. */
#include "simclr/distributed.h"

#include <stdlib.h>
#include <string.h>

void simclr_network_set_communicator(simclr_network *net, simclr_communicator *comm)
{
    for (int l = 0; l < net->layer_count; l++)
        if (net->layers[l].spec.kind == SIMCLR_LAYER_KIND_BATCHNORM) net->layers[l].batchnorm.communicator = comm;
}

void simclr_network_allreduce_grads(simclr_communicator *comm, simclr_network *net)
{
    simclr_communicator_allreduce_floats(comm, net->grads, net->param_count);
}

static uint64_t fnv1a(uint64_t hash, const void *data, size_t bytes)
{
    const unsigned char *p = data;
    for (size_t i = 0; i < bytes; i++) {
        hash ^= p[i];
        hash *= 1099511628211ull;
    }
    return hash;
}

uint64_t simclr_network_checksum(const simclr_network *net)
{
    uint64_t hash = 14695981039346656037ull;
    hash = fnv1a(hash, net->params, net->param_count * sizeof(float));
    if (net->state_count) hash = fnv1a(hash, net->state, net->state_count * sizeof(float));
    return hash;
}

int simclr_networks_check_identical(simclr_communicator *comm, simclr_network *const *nets, int count,
                                    simclr_error *err)
{
    int size = simclr_communicator_size(comm);
    if (size == 1) return 0;
    for (int i = 0; i < count; i++) {
        uint64_t mine = simclr_network_checksum(nets[i]), root = mine;
        simclr_communicator_broadcast(comm, &root, sizeof root, 0);
        /* Every rank learns the lowest rank that differs. */
        double differs = mine != root ? 1.0 : 0.0;
        double *flags = calloc((size_t)size, sizeof(double));
        if (!flags) return simclr_error_set(err, SIMCLR_ERROR_KIND_RESOURCE, "out of memory comparing weights");
        flags[comm->rank] = differs;
        simclr_communicator_allreduce_doubles(comm, flags, (size_t)size);
        int first = -1;
        for (int r = 0; r < size && first < 0; r++)
            if (flags[r] != 0.0) first = r;
        free(flags);
        if (first >= 0)
            return simclr_error_set(err, SIMCLR_ERROR_KIND_RESOURCE,
                                    "the %s weights of rank %d differ from rank 0's (checksum mismatch): "
                                    "the ranks no longer compute the same model; the last checkpoint "
                                    "is intact",
                                    nets[i]->name, first);
    }
    return 0;
}
