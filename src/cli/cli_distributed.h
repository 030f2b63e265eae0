#ifndef SIMCLR_CLI_DISTRIBUTED_H
#define SIMCLR_CLI_DISTRIBUTED_H
/* Issue 14: the job's communicator, set by main.c when the program was started by mpirun
 * (NULL otherwise: one process), read by the training commands. */
#include "simclr/distributed.h"

/* Whether the environment says this process was started by an MPI launcher (Open MPI's
 * OMPI_COMM_WORLD_SIZE, or PMI_SIZE / PMIX_RANK of other launchers). */
int cli_mpi_launched(void);

simclr_communicator *cli_communicator(void);
void cli_set_communicator(simclr_communicator *comm);

#endif
