#ifndef SIMCLR_SIMCLR_H
#define SIMCLR_SIMCLR_H
/*
 * Every public header of libsimclr at once: `#include <simclr/simclr.h>` and link with
 * `pkg-config --cflags --libs simclr`. The stable inference API is simclr/trained_model.h
 * (docs/API.md); the other headers are the building blocks the command line is made of (datasets,
 * augmentation, layers, losses, optimiser, training loops, checkpoints), exported as they are.
 */
#include "simclr/atomic_file.h"
#include "simclr/augment_policy.h"
#include "simclr/augment.h"
#include "simclr/checkpoint.h"
#include "simclr/dataset.h"
#include "simclr/distributed.h"
#include "simclr/error.h"
#include "simclr/export.h"
#include "simclr/features.h"
#include "simclr/history.h"
#include "simclr/image_hash.h"
#include "simclr/image_io.h"
#include "simclr/inference.h"
#include "simclr/knn.h"
#include "simclr/label_fraction.h"
#include "simclr/lbfgs.h"
#include "simclr/linear_eval.h"
#include "simclr/loss.h"
#include "simclr/model.h"
#include "simclr/network.h"
#include "simclr/nn.h"
#include "simclr/npy.h"
#include "simclr/optim.h"
#include "simclr/pca.h"
#include "simclr/progress.h"
#include "simclr/rng.h"
#include "simclr/safetensors.h"
#include "simclr/sampler.h"
#include "simclr/similarity.h"
#include "simclr/ssl_loss.h"
#include "simclr/ssl_method.h"
#include "simclr/train.h"
#include "simclr/trained_model.h"

#endif
