#ifndef SIMCLR_MPI_COMMUNICATOR_H
#define SIMCLR_MPI_COMMUNICATOR_H
/* The Open MPI implementation of simclr_communicator (distributed.h), built into the command
 * line only (libsimclr does not link MPI). Without SIMCLR_HAVE_MPI (configured with
 * -DSIMCLR_MPI=OFF, or MPI not found) a launch under mpirun is refused. */
#include "simclr/distributed.h"

/* MPI_Init (if not initialised yet) and a communicator over MPI_COMM_WORLD. Returns 0, or -1 with
 * a message on stderr when this build has no MPI. */
int simclr_mpi_communicator_init(int *argc, char ***argv, simclr_communicator *comm);

/* MPI_Finalize (after a barrier, so no rank leaves while another still needs it). */
void simclr_mpi_communicator_finalize(simclr_communicator *comm);

#endif
