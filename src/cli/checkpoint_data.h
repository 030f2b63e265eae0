#ifndef SIMCLR_CLI_CHECKPOINT_DATA_H
#define SIMCLR_CLI_CHECKPOINT_DATA_H
/*
 * The data description a checkpoint carries (dataset, its directory, image size, class names,
 * the CIFAR-100 label set and STL-10 fold of the run's record), for the commands that start
 * from a checkpoint (eval, predict, finetune, and later embed / knn): the dataset options the
 * user did not give are taken from the checkpoint, and the class names are checked against the
 * dataset's.
 */
#include "cli_common.h"
#include "simclr/checkpoint.h"

typedef struct checkpoint_data {
    simclr_checkpoint_info info;
    char dataset[32];     /* storage for the options filled in */
    char data_dir[1024];
    char labeled_dir[1024];
} checkpoint_data;

/* Reads checkpoint's description into storage->info and fills the options of `data` the parser
 * did not see on the command line (--dataset, --data-dir, --image-size, --cifar100-coarse,
 * --stl10-fold; a folder dataset's list file, --file-list, when the recorded place is a file). When --dataset names another dataset than the checkpoint's, nothing else is
 * taken from it. */
int dataset_cli_from_checkpoint(dataset_cli *data, const option_parser *parser, const char *checkpoint,
                                checkpoint_data *storage, simclr_error *err);

/* Checks the model's class names against the dataset's: equal in order (*identical = 1), or the
 * same set in another order (*identical = 0 and map[dataset label] = the model's class), or an
 * input error listing both. map has room for ds->num_classes entries. storage->info holds the
 * class names read (simclr_checkpoint_info_free). */
int cli_match_class_names(const simclr_checkpoint_info *info, const char *checkpoint,
                          const simclr_dataset *ds, int *map, int *identical, simclr_error *err);

#endif
