/* The job's communicator (cli_distributed.h). */
#include "cli_distributed.h"

#include <stdlib.h>

int cli_mpi_launched(void)
{
    return getenv("OMPI_COMM_WORLD_SIZE") != NULL || getenv("PMI_SIZE") != NULL || getenv("PMIX_RANK") != NULL;
}

static simclr_communicator *job_communicator;

simclr_communicator *cli_communicator(void) { return job_communicator; }
void cli_set_communicator(simclr_communicator *comm) { job_communicator = comm; }
