/* The communicator's dispatch (distributed.h): one process (a NULL communicator, or size 1) is an
 * identity copy with no call through the table; otherwise the implementation's operation, timed
 * and its payload counted for the scaling figures. */
#include "simclr/distributed.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "simclr/progress.h"

simclr_communicator simclr_communicator_single(void)
{
    simclr_communicator comm;
    memset(&comm, 0, sizeof comm);
    comm.size = 1;
    return comm;
}

int simclr_communicator_size(const simclr_communicator *comm) { return comm ? comm->size : 1; }
int simclr_communicator_rank(const simclr_communicator *comm) { return comm ? comm->rank : 0; }
int simclr_communicator_is_root(const simclr_communicator *comm) { return !comm || comm->rank == 0; }

static int is_parallel(const simclr_communicator *comm) { return comm && comm->size > 1 && comm->ops; }

static size_t total_of(const size_t *counts, int size)
{
    size_t total = 0;
    for (int r = 0; r < size; r++) total += counts[r];
    return total;
}

void simclr_communicator_allreduce_floats(simclr_communicator *comm, float *values, size_t count)
{
    if (!is_parallel(comm)) return;
    double start = simclr_progress_now();
    comm->ops->allreduce_floats(comm->context, values, count);
    comm->seconds += simclr_progress_now() - start;
    comm->bytes += count * sizeof(float);
}

void simclr_communicator_allreduce_doubles(simclr_communicator *comm, double *values, size_t count)
{
    if (!is_parallel(comm)) return;
    double start = simclr_progress_now();
    comm->ops->allreduce_doubles(comm->context, values, count);
    comm->seconds += simclr_progress_now() - start;
    comm->bytes += count * sizeof(double);
}

void simclr_communicator_allgather_floats(simclr_communicator *comm, const float *local, float *all,
                                          const size_t *counts)
{
    if (!is_parallel(comm)) {
        if (all != local) memmove(all, local, counts[0] * sizeof(float));
        return;
    }
    double start = simclr_progress_now();
    comm->ops->allgather_floats(comm->context, local, all, counts);
    comm->seconds += simclr_progress_now() - start;
    comm->bytes += total_of(counts, comm->size) * sizeof(float);
}

void simclr_communicator_reduce_scatter_floats(simclr_communicator *comm, const float *all, float *local,
                                               const size_t *counts)
{
    if (!is_parallel(comm)) {
        if (all != local) memmove(local, all, counts[0] * sizeof(float));
        return;
    }
    double start = simclr_progress_now();
    comm->ops->reduce_scatter_floats(comm->context, all, local, counts);
    comm->seconds += simclr_progress_now() - start;
    comm->bytes += total_of(counts, comm->size) * sizeof(float);
}

void simclr_communicator_broadcast(simclr_communicator *comm, void *data, size_t bytes, int root)
{
    if (!is_parallel(comm)) return;
    double start = simclr_progress_now();
    comm->ops->broadcast(comm->context, data, bytes, root);
    comm->seconds += simclr_progress_now() - start;
    comm->bytes += bytes;
}

void simclr_communicator_barrier(simclr_communicator *comm)
{
    if (is_parallel(comm)) comm->ops->barrier(comm->context);
}

void simclr_communicator_abort(simclr_communicator *comm, int status, const char *message)
{
    fprintf(stderr, "simclr: error: rank %d of %d: %s\n", simclr_communicator_rank(comm),
            simclr_communicator_size(comm), message);
    fflush(stderr);
    if (is_parallel(comm)) comm->ops->abort(comm->context, status);
    exit(status);
}

simclr_batch_share simclr_batch_share_of(size_t unlabeled_batch, size_t labeled_batch, int rank, int size)
{
    size_t n = (size_t)(size > 0 ? size : 1), r = (size_t)rank;
    simclr_batch_share share;
    /* Unlabeled: the first (U mod N) ranks take one more. */
    size_t base = unlabeled_batch / n, extra = unlabeled_batch % n;
    share.unlabeled_first = r * base + (r < extra ? r : extra);
    share.unlabeled_count = base + (r < extra);
    /* Labeled: the last (L mod N) ranks take one more. */
    base = labeled_batch / n;
    extra = labeled_batch % n;
    size_t plain = n - extra; /* ranks below this take `base` */
    share.labeled_first = r * base + (r > plain ? r - plain : 0);
    share.labeled_count = base + (r >= plain);
    return share;
}
