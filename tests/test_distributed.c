/*
 * Issue 14 without MPI: the batch shares, the data-parallel contrastive loss and global BatchNorm
 * played by R threads in this process (a communicator whose collectives meet at a pthread
 * barrier), against one process on the whole batch: losses and gradients within 1e-5 relative.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "simclr/distributed.h"
#include "simclr/loss.h"
#include "simclr/nn.h"
#include "simclr/rng.h"
#include "test_support.h"

#define MAX_RANKS 5

/* ---- A communicator over threads -------------------------------------------------------- */

typedef struct thread_world {
    int size;
    pthread_barrier_t barrier;
    void *slots[MAX_RANKS]; /* each rank's contribution to the current collective */
} thread_world;

typedef struct thread_rank {
    thread_world *world;
    int rank;
} thread_rank;

static void meet(thread_world *world) { pthread_barrier_wait(&world->barrier); }

static void thread_allreduce_floats(void *context, float *values, size_t count)
{
    thread_rank *me = context;
    float *copy = malloc(count * sizeof(float) + 1);
    memcpy(copy, values, count * sizeof(float));
    me->world->slots[me->rank] = copy;
    meet(me->world);
    for (size_t i = 0; i < count; i++) {
        float sum = 0.0f;
        for (int r = 0; r < me->world->size; r++) sum += ((float *)me->world->slots[r])[i];
        values[i] = sum;
    }
    meet(me->world);
    free(copy);
}

static void thread_allreduce_doubles(void *context, double *values, size_t count)
{
    thread_rank *me = context;
    double *copy = malloc(count * sizeof(double) + 1);
    memcpy(copy, values, count * sizeof(double));
    me->world->slots[me->rank] = copy;
    meet(me->world);
    for (size_t i = 0; i < count; i++) {
        double sum = 0.0;
        for (int r = 0; r < me->world->size; r++) sum += ((double *)me->world->slots[r])[i];
        values[i] = sum;
    }
    meet(me->world);
    free(copy);
}

static void thread_allgather_floats(void *context, const float *local, float *all, const size_t *counts)
{
    thread_rank *me = context;
    me->world->slots[me->rank] = (void *)local;
    meet(me->world);
    size_t offset = 0;
    for (int r = 0; r < me->world->size; r++) {
        memcpy(all + offset, me->world->slots[r], counts[r] * sizeof(float));
        offset += counts[r];
    }
    meet(me->world);
}

static void thread_reduce_scatter_floats(void *context, const float *all, float *local, const size_t *counts)
{
    thread_rank *me = context;
    me->world->slots[me->rank] = (void *)all;
    meet(me->world);
    size_t offset = 0;
    for (int r = 0; r < me->rank; r++) offset += counts[r];
    for (size_t i = 0; i < counts[me->rank]; i++) {
        float sum = 0.0f;
        for (int r = 0; r < me->world->size; r++) sum += ((const float *)me->world->slots[r])[offset + i];
        local[i] = sum;
    }
    meet(me->world);
}

static void thread_broadcast(void *context, void *data, size_t bytes, int root)
{
    thread_rank *me = context;
    if (me->rank == root) me->world->slots[root] = data;
    meet(me->world);
    if (me->rank != root) memcpy(data, me->world->slots[root], bytes);
    meet(me->world);
}

static void thread_barrier(void *context) { meet(((thread_rank *)context)->world); }
static void thread_abort(void *context, int status)
{
    (void)context;
    exit(status);
}

static const simclr_communicator_ops THREAD_OPS = {thread_allreduce_floats, thread_allreduce_doubles,
                                                   thread_allgather_floats, thread_reduce_scatter_floats,
                                                   thread_broadcast,        thread_barrier,
                                                   thread_abort};

/* Runs body(comm, argument) on `size` threads, one per rank. */
typedef void (*rank_body)(simclr_communicator *comm, void *argument);
typedef struct rank_start {
    thread_rank me;
    rank_body body;
    void *argument;
} rank_start;

static void *rank_main(void *p)
{
    rank_start *start = p;
    simclr_communicator comm = simclr_communicator_single();
    comm.rank = start->me.rank;
    comm.size = start->me.world->size;
    comm.ops = &THREAD_OPS;
    comm.context = &start->me;
    start->body(&comm, start->argument);
    return NULL;
}

static void run_ranks(int size, rank_body body, void *argument)
{
    thread_world world = {.size = size};
    pthread_barrier_init(&world.barrier, NULL, (unsigned)size);
    pthread_t threads[MAX_RANKS];
    rank_start starts[MAX_RANKS];
    for (int r = 0; r < size; r++) {
        starts[r] = (rank_start){{&world, r}, body, argument};
        assert_int_equal(pthread_create(&threads[r], NULL, rank_main, &starts[r]), 0);
    }
    for (int r = 0; r < size; r++) pthread_join(threads[r], NULL);
    pthread_barrier_destroy(&world.barrier);
}

/* ---- helpers ---------------------------------------------------------------------------- */

static void fill_uniform(float *values, size_t count, float low, float high, uint64_t key)
{
    simclr_rng_stream stream = simclr_rng_stream_make(key, SIMCLR_RNG_PURPOSE_INIT, 14, 0, 0, 0);
    for (size_t i = 0; i < count; i++) values[i] = simclr_rng_uniform(&stream, low, high);
}

static double relative_difference(const float *a, const float *b, size_t count)
{
    double difference = 0.0, norm = 0.0;
    for (size_t i = 0; i < count; i++) {
        difference += ((double)a[i] - b[i]) * ((double)a[i] - b[i]);
        norm += (double)b[i] * b[i];
    }
    return sqrt(difference) / (sqrt(norm) + 1e-30);
}

/* ---- batch shares ----------------------------------------------------------------------- */

static void test_batch_shares(void **unused)
{
    (void)unused;
    const size_t batches[][2] = {{500, 25}, {7, 5}, {1, 1}, {0, 6}, {6, 0}, {13, 2}, {3, 3}};
    for (size_t c = 0; c < sizeof batches / sizeof batches[0]; c++)
        for (int size = 1; size <= MAX_RANKS; size++) {
            size_t u = batches[c][0], l = batches[c][1];
            size_t next_u = 0, next_l = 0, smallest = (size_t)-1, largest = 0;
            for (int r = 0; r < size; r++) {
                simclr_batch_share s = simclr_batch_share_of(u, l, r, size);
                assert_int_equal(s.unlabeled_first, next_u); /* contiguous, in rank order */
                assert_int_equal(s.labeled_first, next_l);
                next_u += s.unlabeled_count;
                next_l += s.labeled_count;
                assert_true(s.unlabeled_count <= u / (size_t)size + 1 && s.unlabeled_count >= u / (size_t)size);
                assert_true(s.labeled_count <= l / (size_t)size + 1 && s.labeled_count >= l / (size_t)size);
                size_t total = s.unlabeled_count + s.labeled_count;
                if (total < smallest) smallest = total;
                if (total > largest) largest = total;
            }
            assert_int_equal(next_u, u);
            assert_int_equal(next_l, l);
            assert_true(largest - smallest <= 1); /* the totals differ by at most one image too */
        }
}

/* ---- the contrastive loss --------------------------------------------------------------- */

typedef struct loss_case {
    simclr_contrastive_kind kind;
    size_t unlabeled, labeled;
    int dim;
    const float *z1, *z2;   /* global (B, D) */
    float *d_z1, *d_z2;     /* global (B, D): each rank writes its rows */
    simclr_contrastive_result results[MAX_RANKS];
} loss_case;

static void loss_rank(simclr_communicator *comm, void *argument)
{
    loss_case *c = argument;
    simclr_batch_share s = simclr_batch_share_of(c->unlabeled, c->labeled, comm->rank, comm->size);
    size_t n = s.unlabeled_count + s.labeled_count, d = (size_t)c->dim;
    float *z = malloc(2 * n * d * sizeof(float) + 1), *dz = malloc(2 * n * d * sizeof(float) + 1);
    size_t rows[2][2] = {{s.unlabeled_first, s.unlabeled_count},
                         {c->unlabeled + s.labeled_first, s.labeled_count}};
    for (int v = 0; v < 2; v++) { /* this rank's rows of each view: its unlabeled, then labeled */
        const float *source = v == 0 ? c->z1 : c->z2;
        float *target = z + (size_t)v * n * d;
        for (int part = 0; part < 2; part++) {
            memcpy(target, source + rows[part][0] * d, rows[part][1] * d * sizeof(float));
            target += rows[part][1] * d;
        }
    }
    float *workspace = calloc(simclr_distributed_contrastive_workspace_floats(c->kind, c->unlabeled, c->labeled,
                                                                              c->dim, comm->size),
                              sizeof(float));
    simclr_distributed_contrastive_loss(comm, c->kind, c->unlabeled, c->labeled, z, z + n * d, c->dim, 0.1f, dz,
                                        dz + n * d, workspace, &c->results[comm->rank]);
    for (int v = 0; v < 2; v++) {
        float *target = v == 0 ? c->d_z1 : c->d_z2;
        const float *source = dz + (size_t)v * n * d;
        for (int part = 0; part < 2; part++) {
            memcpy(target + rows[part][0] * d, source, rows[part][1] * d * sizeof(float));
            source += rows[part][1] * d;
        }
    }
    free(workspace);
    free(z);
    free(dz);
}

static void check_loss(simclr_contrastive_kind kind, size_t unlabeled, size_t labeled, int size)
{
    size_t b = unlabeled + labeled;
    int dim = 8;
    size_t count = b * (size_t)dim;
    float *z1 = malloc(count * sizeof(float)), *z2 = malloc(count * sizeof(float));
    fill_uniform(z1, count, -1.0f, 1.0f, 1 + b);
    fill_uniform(z2, count, -1.0f, 1.0f, 2 + b);
    float *d1 = calloc(count, sizeof(float)), *d2 = calloc(count, sizeof(float));
    float *workspace = calloc(simclr_contrastive_workspace_floats(kind, (int)b, dim), sizeof(float));
    simclr_contrastive_result one;
    simclr_contrastive_loss(kind, z1, z2, (int)b, dim, 0.1f, d1, d2, workspace, &one);
    loss_case c = {.kind = kind, .unlabeled = unlabeled, .labeled = labeled, .dim = dim, .z1 = z1, .z2 = z2};
    c.d_z1 = calloc(count, sizeof(float));
    c.d_z2 = calloc(count, sizeof(float));
    run_ranks(size, loss_rank, &c);
    for (int r = 0; r < size; r++) {
        assert_true(fabs(c.results[r].loss - one.loss) <= 1e-5 * fabs(one.loss));
        assert_int_equal(c.results[r].correct, one.correct);
        assert_int_equal(c.results[r].total, one.total);
    }
    double e1 = relative_difference(c.d_z1, d1, count), e2 = relative_difference(c.d_z2, d2, count);
    if (e1 > 1e-5 || e2 > 1e-5)
        fail_msg("%s, %zu + %zu images on %d ranks: gradient differs by %g / %g (relative)",
                 kind == SIMCLR_CONTRASTIVE_KIND_SEED ? "seed" : "nt-xent", unlabeled, labeled, size, e1, e2);
    free(z1);
    free(z2);
    free(d1);
    free(d2);
    free(workspace);
    free(c.d_z1);
    free(c.d_z2);
}

static void test_contrastive_loss_across_ranks(void **unused)
{
    (void)unused;
    for (int kind = 0; kind < 2; kind++)
        for (int size = 1; size <= MAX_RANKS; size++) {
            check_loss((simclr_contrastive_kind)kind, 20, 5, size);
            check_loss((simclr_contrastive_kind)kind, 7, 4, size); /* uneven shares */
        }
}

/* A rank that returned only its own anchors' gradient, without the contributions of the other
 * ranks' anchors (the bug lightly and VISSL shipped), is caught: it is not one process's. */
static void test_rank_local_gradient_differs(void **unused)
{
    (void)unused;
    size_t b = 12, d = 8, count = b * d;
    float *p = malloc(2 * count * sizeof(float));
    fill_uniform(p, 2 * count, -1.0f, 1.0f, 99);
    for (size_t r = 0; r < 2 * b; r++) { /* normalised rows */
        double norm = 0.0;
        for (size_t k = 0; k < d; k++) norm += (double)p[r * d + k] * p[r * d + k];
        for (size_t k = 0; k < d; k++) p[r * d + k] /= (float)sqrt(norm);
    }
    simclr_batch_share all = simclr_batch_share_of(12, 0, 0, 1);
    simclr_batch_share half = simclr_batch_share_of(12, 0, 0, 2);
    size_t floats = simclr_distributed_contrastive_workspace_floats(SIMCLR_CONTRASTIVE_KIND_NT_XENT, 12, 0, 8, 1);
    float *workspace = calloc(floats, sizeof(float));
    float *whole = calloc(2 * count, sizeof(float)), *local = calloc(2 * count, sizeof(float));
    double loss;
    int correct;
    simclr_distributed_contrastive_local(SIMCLR_CONTRASTIVE_KIND_NT_XENT, p, b, 8, 0.1f, &all, 12, whole, workspace,
                                         &loss, &correct);
    simclr_distributed_contrastive_local(SIMCLR_CONTRASTIVE_KIND_NT_XENT, p, b, 8, 0.1f, &half, 12, local,
                                         workspace, &loss, &correct);
    /* Rank 0's rows of its local matrix alone lack rank 1's anchors' terms. */
    assert_true(relative_difference(local, whole, half.unlabeled_count * d) > 1e-2);
    free(p);
    free(workspace);
    free(whole);
    free(local);
}

/* ---- global BatchNorm ------------------------------------------------------------------- */

typedef struct bn_case {
    int batch, channels, spatial;
    const float *in, *d_out, *gamma, *beta;
    float *out, *d_in;                              /* global, rows written by their rank */
    float d_gamma[MAX_RANKS][8], d_beta[MAX_RANKS][8];
    float running_mean[MAX_RANKS][8], running_var[MAX_RANKS][8];
} bn_case;

static void bn_rank(simclr_communicator *comm, void *argument)
{
    bn_case *c = argument;
    simclr_batch_share s = simclr_batch_share_of((size_t)c->batch, 0, comm->rank, comm->size);
    size_t per = (size_t)c->channels * (size_t)c->spatial, offset = s.unlabeled_first * per;
    int n = (int)s.unlabeled_count;
    simclr_batchnorm_config config = simclr_batchnorm_config_default(c->channels, c->spatial);
    config.communicator = comm;
    float mean[8], invstd[8];
    for (int k = 0; k < c->channels; k++) {
        c->running_mean[comm->rank][k] = 0.0f;
        c->running_var[comm->rank][k] = 1.0f;
        c->d_gamma[comm->rank][k] = c->d_beta[comm->rank][k] = 0.0f;
    }
    simclr_error err = {0};
    assert_int_equal(simclr_batchnorm_forward_training(&config, c->out + offset, c->in + offset, c->gamma, c->beta,
                                                       c->running_mean[comm->rank], c->running_var[comm->rank],
                                                       mean, invstd, n, &err),
                     0);
    float *d_out = malloc((size_t)n * per * sizeof(float) + 1);
    memcpy(d_out, c->d_out + offset, (size_t)n * per * sizeof(float));
    assert_int_equal(simclr_batchnorm_backward(&config, c->d_in + offset, c->d_gamma[comm->rank],
                                               c->d_beta[comm->rank], d_out, NULL, c->in + offset, c->gamma,
                                               mean, invstd, n, &err),
                     0);
    free(d_out);
}

static void test_global_batchnorm(void **unused)
{
    (void)unused;
    const int batch = 11, channels = 8, spatial = 6;
    size_t count = (size_t)batch * channels * spatial;
    float *in = malloc(count * sizeof(float)), *d_out = malloc(count * sizeof(float));
    float gamma[8], beta[8];
    fill_uniform(in, count, -2.0f, 3.0f, 5);
    fill_uniform(d_out, count, -1.0f, 1.0f, 6);
    fill_uniform(gamma, 8, 0.5f, 1.5f, 7);
    fill_uniform(beta, 8, -0.5f, 0.5f, 8);
    /* One process. */
    simclr_batchnorm_config config = simclr_batchnorm_config_default(channels, spatial);
    float *out = malloc(count * sizeof(float)), *d_in = malloc(count * sizeof(float));
    float *d_copy = malloc(count * sizeof(float));
    memcpy(d_copy, d_out, count * sizeof(float));
    float mean[8], invstd[8], running_mean[8] = {0}, running_var[8] = {1, 1, 1, 1, 1, 1, 1, 1};
    float d_gamma[8] = {0}, d_beta[8] = {0};
    simclr_error err = {0};
    assert_int_equal(simclr_batchnorm_forward_training(&config, out, in, gamma, beta, running_mean, running_var,
                                                       mean, invstd, batch, &err),
                     0);
    assert_int_equal(simclr_batchnorm_backward(&config, d_in, d_gamma, d_beta, d_copy, NULL, in, gamma, mean,
                                               invstd, batch, &err),
                     0);
    for (int size = 2; size <= 3; size++) {
        bn_case c = {.batch = batch, .channels = channels, .spatial = spatial, .in = in, .d_out = d_out,
                     .gamma = gamma, .beta = beta};
        c.out = calloc(count, sizeof(float));
        c.d_in = calloc(count, sizeof(float));
        run_ranks(size, bn_rank, &c);
        assert_true(relative_difference(c.out, out, count) < 1e-5);
        assert_true(relative_difference(c.d_in, d_in, count) < 1e-5);
        float summed_gamma[8] = {0}, summed_beta[8] = {0};
        for (int r = 0; r < size; r++) {
            /* Every rank holds the global running statistics; its parameter gradients are its own
             * share's, which sum to one process's. */
            assert_true(relative_difference(c.running_mean[r], running_mean, 8) < 1e-6);
            assert_true(relative_difference(c.running_var[r], running_var, 8) < 1e-6);
            for (int k = 0; k < 8; k++) {
                summed_gamma[k] += c.d_gamma[r][k];
                summed_beta[k] += c.d_beta[r][k];
            }
        }
        assert_true(relative_difference(summed_gamma, d_gamma, 8) < 1e-5);
        assert_true(relative_difference(summed_beta, d_beta, 8) < 1e-5);
        free(c.out);
        free(c.d_in);
    }
    free(in);
    free(d_out);
    free(out);
    free(d_in);
    free(d_copy);
}

static void test_single_communicator_is_identity(void **unused)
{
    (void)unused;
    simclr_communicator one = simclr_communicator_single();
    float values[3] = {1.0f, 2.0f, 3.0f}, all[3];
    size_t counts[1] = {3};
    simclr_communicator_allreduce_floats(&one, values, 3);
    simclr_communicator_allgather_floats(&one, values, all, counts);
    assert_memory_equal(values, all, sizeof all);
    assert_true(values[0] == 1.0f && values[2] == 3.0f);
    assert_int_equal(simclr_communicator_size(NULL), 1);
    assert_true(simclr_communicator_is_root(NULL));
    assert_true(one.bytes == 0 && one.seconds == 0.0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_batch_shares),
        cmocka_unit_test(test_single_communicator_is_identity),
        cmocka_unit_test(test_contrastive_loss_across_ranks),
        cmocka_unit_test(test_rank_local_gradient_differs),
        cmocka_unit_test(test_global_batchnorm),
    };
    return test_exit_status(cmocka_run_group_tests(tests, NULL, NULL));
}
