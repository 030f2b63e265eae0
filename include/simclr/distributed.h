#ifndef SIMCLR_DISTRIBUTED_H
#define SIMCLR_DISTRIBUTED_H
/*
 * Data-parallel training (issue 14): a communicator over the processes ("ranks") of one job and
 * the pieces the training loops use with it, so that N ranks compute what one process computes
 * on the same global batch (docs/DISTRIBUTED.md has the derivation).
 *
 * A communicator is a rank, a size and a table of collective operations. NULL, or one of size 1
 * (simclr_communicator_single), is one process: every operation is an identity copy and costs
 * nothing. The library itself never starts MPI: a program built with the MPI communicator
 * (src/dist/mpi_communicator.c, the CLI's) creates one and sets simclr_train_config.communicator.
 * Collective calls must be made by every rank in the same order; a failure inside one ends the
 * whole job (MPI's default error handler).
 *
 *     simclr_communicator one = simclr_communicator_single();
 *     float sums[2] = {1.0f, 2.0f};
 *     simclr_communicator_allreduce_floats(&one, sums, 2);   // one process: unchanged
 *     simclr_batch_share share = simclr_batch_share_of(500, 25, one.rank, one.size);
 *     // share.unlabeled_count == 500, share.labeled_count == 25
 */
#include <stddef.h>
#include <stdint.h>

#include "simclr/export.h"
#include "simclr/loss.h"
#include "simclr/network.h"
SIMCLR_BEGIN_DECLS

/* The collective operations of one implementation; counts are per rank (size entries), the
 * blocks of all ranks laid out in rank order. */
typedef struct simclr_communicator_ops {
    void (*allreduce_floats)(void *context, float *values, size_t count);   /* sum, in place */
    void (*allreduce_doubles)(void *context, double *values, size_t count); /* sum, in place */
    /* all = the local blocks of every rank, concatenated in rank order (counts[r] floats each). */
    void (*allgather_floats)(void *context, const float *local, float *all, const size_t *counts);
    /* local = the sum over ranks of block `rank` of every rank's all (counts[r] floats each). */
    void (*reduce_scatter_floats)(void *context, const float *all, float *local, const size_t *counts);
    void (*broadcast)(void *context, void *data, size_t bytes, int root);
    void (*barrier)(void *context);
    void (*abort)(void *context, int status); /* ends every rank of the job; does not return */
} simclr_communicator_ops;

typedef struct simclr_communicator {
    int rank, size;
    int threads;                           /* OpenMP threads of each rank (recorded, not used) */
    const simclr_communicator_ops *ops;    /* NULL: one process */
    void *context;
    double seconds;                        /* wall time spent inside collective calls */
    uint64_t bytes;                        /* payload bytes this rank passed to them */
} simclr_communicator;

/* One process: rank 0 of 1. */
simclr_communicator simclr_communicator_single(void);
/* Size and rank of a communicator that may be NULL (one process). */
int simclr_communicator_size(const simclr_communicator *comm);
int simclr_communicator_rank(const simclr_communicator *comm);
/* 1 on the rank that prints and writes (rank 0; a NULL communicator). */
int simclr_communicator_is_root(const simclr_communicator *comm);

void simclr_communicator_allreduce_floats(simclr_communicator *comm, float *values, size_t count);
void simclr_communicator_allreduce_doubles(simclr_communicator *comm, double *values, size_t count);
void simclr_communicator_allgather_floats(simclr_communicator *comm, const float *local, float *all,
                                          const size_t *counts);
void simclr_communicator_reduce_scatter_floats(simclr_communicator *comm, const float *all, float *local,
                                               const size_t *counts);
void simclr_communicator_broadcast(simclr_communicator *comm, void *data, size_t bytes, int root);
void simclr_communicator_barrier(simclr_communicator *comm);
/* Prints "simclr: error: rank R of N: MESSAGE" on stderr and ends every rank with `status`. */
void simclr_communicator_abort(simclr_communicator *comm, int status, const char *message);

/* Which images of a global batch a rank takes: a contiguous range of the unlabeled part and one
 * of the labeled part. Each part is split as evenly as possible (shares differ by at most one
 * image); the unlabeled remainder goes to the first ranks and the labeled one to the last, so that
 * the totals differ by at most one image as well. */
typedef struct simclr_batch_share {
    size_t unlabeled_first, unlabeled_count;
    size_t labeled_first, labeled_count;
} simclr_batch_share;

simclr_batch_share simclr_batch_share_of(size_t unlabeled_batch, size_t labeled_batch, int rank, int size);

/* ---- The contrastive loss across ranks ----------------------------------------------------- */

/* Floats of workspace simclr_distributed_contrastive_loss needs (the same on every rank). */
size_t simclr_distributed_contrastive_workspace_floats(simclr_contrastive_kind kind, size_t unlabeled_batch,
                                                       size_t labeled_batch, int dim, int size);

/* The loss of simclr_contrastive_loss on the global batch, computed by `size` ranks: rank r passes
 * the projections of its share (simclr_batch_share_of), z1 then z2 ((n_r, dim) each, n_r =
 * unlabeled_count + labeled_count), and receives in d_z1, d_z2 the gradients of the global SUM of
 * per-image losses with respect to them, exactly what one process computes for those rows. The
 * projections are all-gathered (in the global batch's order), each rank takes the loss rows of
 * its own anchors against every column, and the gradients with respect to every rank's
 * projections are summed back to their owner (reduce-scatter). result: the global mean loss and
 * the global counts, the same on every rank. workspace:
 * simclr_distributed_contrastive_workspace_floats floats. */
void simclr_distributed_contrastive_loss(simclr_communicator *comm, simclr_contrastive_kind kind,
                                         size_t unlabeled_batch, size_t labeled_batch, const float *z1,
                                         const float *z2, int dim, float temperature, float *d_z1,
                                         float *d_z2, float *workspace, simclr_contrastive_result *result);

/* The rank-local part of it, without communication (for tests that play every rank in one
 * process): gathered (2B, dim) normalised projections in the global batch's order (p1 rows, then
 * p2 rows); the rank's anchors are the images [first, first + count) of that order's two ranges
 * of its share. Adds the gradient of its anchors' loss terms w.r.t. every gathered row into
 * d_gathered (2B, dim) and returns the sum of those terms and the argmax hits. */
void simclr_distributed_contrastive_local(simclr_contrastive_kind kind, const float *gathered, size_t batch,
                                          int dim, float temperature, const simclr_batch_share *share,
                                          size_t unlabeled_batch, float *d_gathered, float *workspace,
                                          double *loss_sum, int *correct);

/* ---- Networks across ranks ----------------------------------------------------------------- */

/* Makes every BatchNorm layer of net normalise by the statistics of the global batch (sums of x
 * and x^2 allreduced in forward, of dy and dy * xhat in backward: SimCLR's global BN). NULL: this
 * process's batch only (the default). */
void simclr_network_set_communicator(simclr_network *net, simclr_communicator *comm);

/* Sums the parameter gradients of net over the ranks (every rank then holds the global ones). */
void simclr_network_allreduce_grads(simclr_communicator *comm, simclr_network *net);

/* FNV-1a 64 of the parameters and batchnorm running statistics, bit for bit. */
uint64_t simclr_network_checksum(const simclr_network *net);

/* Compares the checksums of the networks with rank 0's; on a mismatch fails naming the first
 * rank and network that differ (SIMCLR_ERROR_KIND_RESOURCE), on every rank. */
int simclr_networks_check_identical(simclr_communicator *comm, simclr_network *const *nets, int count,
                                    simclr_error *err);

SIMCLR_END_DECLS
#endif
