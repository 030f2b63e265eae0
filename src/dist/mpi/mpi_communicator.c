/* simclr_communicator over MPI_COMM_WORLD (mpi_communicator.h). Every collective is the direct
 * MPI call (in place where MPI allows it); counts above INT_MAX are refused by aborting the job
 * with a message, which no batch of this program reaches. MPI's default error handler
 * (MPI_ERRORS_ARE_FATAL) ends the job on a failed call, and mpirun ends it when a rank dies. */
#include "mpi_communicator.h"

#include <stdio.h>
#include <stdlib.h>


#ifdef SIMCLR_HAVE_MPI
#include <limits.h>
#include <mpi.h>
#include <omp.h>

static int checked_count(size_t count)
{
    if (count > (size_t)INT_MAX) {
        fprintf(stderr, "simclr: error: a collective of %zu values exceeds MPI's int count\n", count);
        MPI_Abort(MPI_COMM_WORLD, 1);
    }
    return (int)count;
}

static void mpi_allreduce_floats(void *context, float *values, size_t count)
{
    (void)context;
    MPI_Allreduce(MPI_IN_PLACE, values, checked_count(count), MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
}

static void mpi_allreduce_doubles(void *context, double *values, size_t count)
{
    (void)context;
    MPI_Allreduce(MPI_IN_PLACE, values, checked_count(count), MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD);
}

static int *int_counts(const size_t *counts, int **displacements)
{
    int size;
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    int *ints = malloc(2 * (size_t)size * sizeof(int));
    if (!ints) {
        fprintf(stderr, "simclr: error: out of memory in a collective\n");
        MPI_Abort(MPI_COMM_WORLD, 1);
    }
    size_t offset = 0;
    for (int r = 0; r < size; r++) {
        ints[r] = checked_count(counts[r]);
        ints[size + r] = checked_count(offset);
        offset += counts[r];
    }
    *displacements = ints + size;
    return ints;
}

static void mpi_allgather_floats(void *context, const float *local, float *all, const size_t *counts)
{
    (void)context;
    int rank, *displacements;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    int *ints = int_counts(counts, &displacements);
    MPI_Allgatherv(local, ints[rank], MPI_FLOAT, all, ints, displacements, MPI_FLOAT, MPI_COMM_WORLD);
    free(ints);
}

static void mpi_reduce_scatter_floats(void *context, const float *all, float *local, const size_t *counts)
{
    (void)context;
    int *displacements;
    int *ints = int_counts(counts, &displacements);
    MPI_Reduce_scatter(all, local, ints, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
    free(ints);
}

static void mpi_broadcast(void *context, void *data, size_t bytes, int root)
{
    (void)context;
    MPI_Bcast(data, checked_count(bytes), MPI_BYTE, root, MPI_COMM_WORLD);
}

static void mpi_barrier(void *context)
{
    (void)context;
    MPI_Barrier(MPI_COMM_WORLD);
}

static void mpi_abort(void *context, int status)
{
    (void)context;
    MPI_Abort(MPI_COMM_WORLD, status);
    exit(status);
}

static const simclr_communicator_ops MPI_OPS = {
    .allreduce_floats = mpi_allreduce_floats,
    .allreduce_doubles = mpi_allreduce_doubles,
    .allgather_floats = mpi_allgather_floats,
    .reduce_scatter_floats = mpi_reduce_scatter_floats,
    .broadcast = mpi_broadcast,
    .barrier = mpi_barrier,
    .abort = mpi_abort,
};

int simclr_mpi_communicator_init(int *argc, char ***argv, simclr_communicator *comm)
{
    int initialized = 0;
    MPI_Initialized(&initialized);
    if (!initialized) MPI_Init(argc, argv);
    *comm = simclr_communicator_single();
    MPI_Comm_rank(MPI_COMM_WORLD, &comm->rank);
    MPI_Comm_size(MPI_COMM_WORLD, &comm->size);
    comm->threads = omp_get_max_threads();
    comm->ops = &MPI_OPS;
    return 0;
}

void simclr_mpi_communicator_finalize(simclr_communicator *comm)
{
    if (!comm->ops) return;
    MPI_Barrier(MPI_COMM_WORLD);
    MPI_Finalize();
    comm->ops = NULL;
}

#else /* a build without MPI */

int simclr_mpi_communicator_init(int *argc, char ***argv, simclr_communicator *comm)
{
    (void)argc;
    (void)argv;
    *comm = simclr_communicator_single();
    fprintf(stderr, "simclr: error: started by an MPI launcher (mpirun), but this build has no MPI; "
                    "reconfigure with -DSIMCLR_MPI=ON after installing libopenmpi-dev\n");
    return -1;
}

void simclr_mpi_communicator_finalize(simclr_communicator *comm) { (void)comm; }

#endif
