/* The job's communicator (cli_distributed.h). */
#include "cli_distributed.h"

static simclr_communicator *job_communicator;

simclr_communicator *cli_communicator(void) { return job_communicator; }
void cli_set_communicator(simclr_communicator *comm) { job_communicator = comm; }
