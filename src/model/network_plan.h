#ifndef SIMCLR_MODEL_NETWORK_PLAN_H
#define SIMCLR_MODEL_NETWORK_PLAN_H
/* Private to src/model: the planner shared by simclr_network_init and
 * simclr_network_estimate_bytes. */
#include "simclr/network.h"

/* Fills every layer's shapes, names, parameter offsets, layouts and gradient ownership, and the
 * network's buffer sizes, without allocating anything (net is overwritten); fails naming the
 * layer that cannot be built. */
int simclr_network_plan(simclr_network *net, const char *name, const simclr_tensor_shape *in_shape,
                        const simclr_layer_spec *specs, int layer_count, int max_batch,
                        const simclr_network_options *options, simclr_error *err);

#endif
