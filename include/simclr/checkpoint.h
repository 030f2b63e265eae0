#ifndef SIMCLR_CHECKPOINT_H
#define SIMCLR_CHECKPOINT_H
/*
 * Checkpoints in the safetensors format, readable by PyTorch's `safetensors.torch.load_file`:
 *   "<net>.<layer>.kernel" / ".bias"      F32, Keras layouts (conv HWIO, dense (in, out)): the seed's
 *   "encoder.layer1.0.conv1.weight", "encoder.bn1.running_mean", ...   a ResNet's, torchvision's
 *                                         names (kernels HWIO: permute(3, 2, 0, 1) gives OIHW;
 *                                         docs/ARCHITECTURE.md shows the loading into torchvision)
 *   "optimizer.<net>.m" / ".v"            F32, flat, the optimizer state of that network: Adam's
 *                                         moments, or (sgd, lars) the momentum buffer in .m
 *   "__metadata__"                        strings: format, run, classifier, dataset, seed,
 *                                         epochs_done, epochs_total, model.height/width/channels/
 *                                         units/depth/kernel/stride/padding/num_classes/precision,
 *                                         resume.step/accumulators (comma-separated)/seconds,
 *                                         optimizer.<net>.step (the Adam step), model.backbone/stem/head_*
 *                                         (issue 11), and class_names
 *                                         (one name per line, newline-separated), data_dir, and
 *                                         the caller's extra entries (the CLI's run record,
 *                                         "config.<option>"); augment and optimizer (one-line
 *                                         descriptions of the recipe, compared on resume)
 * Written atomically (temporary file, fsync, rename), so a killed run keeps its last checkpoint.
 */
#include <stdint.h>

#include "simclr/error.h"
#include "simclr/image_io.h"
#include "simclr/model.h"
#include "simclr/network.h"
#include "simclr/optim.h"
#include "simclr/export.h"
SIMCLR_BEGIN_DECLS

#define SIMCLR_CHECKPOINT_MAX_PARTS 8
#define SIMCLR_CHECKPOINT_MAX_ACCUMULATORS 8
#define SIMCLR_CHECKPOINT_ACCUMULATOR_NAME_MAX 32

/* One extra metadata entry a caller stores with every checkpoint of a run (both strings owned by
 * the caller). */
typedef struct simclr_checkpoint_metadata {
    const char *key;
    const char *value;
    /* Issue 24, the resume rule (simclr_train_check_resume): how a difference is named ("--width";
     * NULL: the key) and whether the value may change when a run is resumed. */
    const char *label;
    int may_change;
    /* A row added after runs began to be recorded: a checkpoint without it is not compared on it. */
    int compared_if_recorded;
} simclr_checkpoint_metadata;

typedef struct simclr_checkpoint_info {
    char run[32];           /* "baseline", "pretrain", "finetune" */
    int epochs_done;        /* completed epochs */
    int epochs_total;
    uint64_t seed;
    char dataset[32];
    char data_dir[1024];    /* the dataset's directory ("" in checkpoints older than this field) */
    /* How images of another size were brought to the model's (folder datasets; metadata
     * "config.dataset.resize"): predict and the inference API do the same. Squash when absent. */
    simclr_image_resize_mode resize;
    simclr_model_config model;
    int num_classes;
    /* num_classes names. simclr_checkpoint_read_info allocates them (owns_class_names; release
     * with simclr_checkpoint_info_free); a caller filling an info to save points them at its own. */
    char (*class_names)[64];
    int owns_class_names;
    char classifier[32];    /* the network used for predictions: "classifier" or "linear_probe" */
    /* Where to continue: a checkpoint written at an epoch boundary has resume_step 0; one written
     * on an interruption holds the steps of epoch `epochs_done` already taken, the running sums of
     * that epoch's metrics and the seconds it had run. */
    int resume_step;
    int accumulator_count;
    double accumulators[SIMCLR_CHECKPOINT_MAX_ACCUMULATORS];
    /* Their names (metadata resume.accumulator_names, issue 24); empty strings in a checkpoint
     * written before, whose sums are in the run's order. */
    char accumulator_names[SIMCLR_CHECKPOINT_MAX_ACCUMULATORS][SIMCLR_CHECKPOINT_ACCUMULATOR_NAME_MAX];
    double epoch_seconds;
    /* Written by simclr_checkpoint_save after the fixed entries; not filled by read_info (read
     * them with simclr_safetensors_metadata). */
    const simclr_checkpoint_metadata *extra;
    int extra_count;
    /* Issue 12: the training recipe, so that a resume can refuse a different one. Written by
     * simclr_augment_policy_describe / simclr_optimizer_describe; empty in older checkpoints. */
    char augment[512];
    char optimizer[512];
} simclr_checkpoint_info;

typedef struct simclr_checkpoint_part {
    simclr_network *net;
    simclr_optimizer *optimizer;   /* may be NULL (no state saved) */
    /* The name an earlier version saved net under (MoCo's key networks were "target_encoder" and
     * "target_head" before issue 24 named them "key_*"): read from when the checkpoint has no
     * tensor under net's name. NULL: none. */
    const char *former_name;
    /* Issue 13: with net NULL, one float32 tensor a method owns instead (MoCo's queue, "moco.queue",
     * shape (rows, cols)), and an optional integer kept in the metadata ("moco.queue_position"). */
    const char *tensor_name;
    float *values;
    int64_t rows, cols;
    const char *counter_name;
    long long *counter;
} simclr_checkpoint_part;

/* Writes the parts and info to path atomically. */
int simclr_checkpoint_save(const char *path, const simclr_checkpoint_info *info, const simclr_checkpoint_part *parts,
                    int part_count, simclr_error *err);

/* Releases what simclr_checkpoint_read_info allocated in info (the class names); safe on an info
 * that owns nothing. */
void simclr_checkpoint_info_free(simclr_checkpoint_info *info);

/* Reads the metadata of a checkpoint (validating the file). */
int simclr_checkpoint_read_info(const char *path, simclr_checkpoint_info *info, simclr_error *err);

/* Loads a network's tensors by name, checking each shape against net's; the message names the
 * tensor that does not fit. If optimizer is not NULL its moments and step are loaded too. */
int simclr_checkpoint_load_part(const char *path, simclr_network *net, simclr_optimizer *optimizer, simclr_error *err);
/* Loads every part: networks as simclr_checkpoint_load_part, raw tensors and counters by name. */
int simclr_checkpoint_load_parts(const char *path, const simclr_checkpoint_part *parts, int part_count,
                                 simclr_error *err);

/* Refuses (SIMCLR_ERROR_KIND_INPUT, naming `flag` and the path) a checkpoint whose encoder is not
 * the one `model` describes: another backbone or stem, or the seed's with another width/depth. */
int simclr_checkpoint_check_model(const char *path, const simclr_model_config *model, const char *flag,
                                  simclr_error *err);

SIMCLR_END_DECLS
#endif
