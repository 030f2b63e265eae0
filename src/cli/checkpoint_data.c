#include "checkpoint_data.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "simclr/safetensors.h"

int dataset_cli_from_checkpoint(dataset_cli *data, const option_parser *parser, const char *checkpoint,
                                checkpoint_data *storage, simclr_error *err)
{
    memset(storage, 0, sizeof *storage);
    if (simclr_checkpoint_read_info(checkpoint, &storage->info, err) != 0) return -1;
    const simclr_checkpoint_info *info = &storage->info;
    if (options_given(parser, "dataset") && strcmp(data->dataset, info->dataset) != 0) return 0;
    snprintf(storage->dataset, sizeof storage->dataset, "%s", info->dataset);
    snprintf(storage->data_dir, sizeof storage->data_dir, "%s", info->data_dir);
    if (!options_given(parser, "dataset")) data->dataset = storage->dataset;
    if (!options_given(parser, "data-dir") && !options_given(parser, "file-list") && storage->data_dir[0]) {
        /* Issue 25: a folder dataset read from a list file records the list as its place. */
        struct stat place;
        if (strcmp(storage->dataset, "folder") == 0 && stat(storage->data_dir, &place) == 0 && S_ISREG(place.st_mode))
            data->file_list = storage->data_dir;
        else
            data->data_dir = storage->data_dir;
    }
    if (!options_given(parser, "image-size")) data->image_size = info->model.input.height;
    simclr_safetensors_file file;
    if (simclr_safetensors_open(&file, checkpoint, err) != 0) {
        simclr_checkpoint_info_free(&storage->info);
        return -1;
    }
    const char *coarse = simclr_safetensors_metadata(&file, "config.dataset.cifar100_coarse");
    const char *fold = simclr_safetensors_metadata(&file, "config.dataset.stl10_fold");
    const char *labeled_dir = simclr_safetensors_metadata(&file, "config.dataset.labeled_dir");
    if (!options_given(parser, "labeled-dir") && labeled_dir && labeled_dir[0]) {
        snprintf(storage->labeled_dir, sizeof storage->labeled_dir, "%s", labeled_dir);
        data->labeled_dir = storage->labeled_dir;
    }
    const char *resize = simclr_safetensors_metadata(&file, "config.dataset.resize");
    if (!options_given(parser, "resize"))
        data->resize = info->resize == SIMCLR_IMAGE_RESIZE_CROP && resize ? "crop" : "squash";
    if (!options_given(parser, "cifar100-coarse") && coarse) data->cifar100_coarse = strcmp(coarse, "true") == 0;
    if (!options_given(parser, "stl10-fold") && fold) data->stl10_fold = strtol(fold, NULL, 10);
    simclr_safetensors_close(&file);
    return 0;
}

static void join_names(char *out, size_t size, const char names[][64], int count)
{
    size_t used = 0;
    out[0] = '\0';
    for (int c = 0; c < count && used + 1 < size; c++)
        used += (size_t)snprintf(out + used, size - used, "%s%s", c ? ", " : "", names[c]);
}

int cli_match_class_names(const simclr_checkpoint_info *info, const char *checkpoint,
                          const simclr_dataset *ds, int *map, int *identical, simclr_error *err)
{
    *identical = info->num_classes == ds->num_classes;
    for (int c = 0; *identical && c < ds->num_classes; c++)
        *identical = strcmp(info->class_names[c], ds->class_names[c]) == 0;
    if (*identical) return 0;
    int same_set = info->num_classes == ds->num_classes;
    for (int d = 0; same_set && d < ds->num_classes; d++) {
        map[d] = -1;
        for (int m = 0; m < info->num_classes; m++)
            if (strcmp(info->class_names[m], ds->class_names[d]) == 0) map[d] = m;
        same_set = map[d] >= 0;
    }
    if (same_set) return 0;
    char model_names[400], data_names[400];
    join_names(model_names, sizeof model_names, (const char(*)[64])info->class_names, info->num_classes);
    join_names(data_names, sizeof data_names, (const char(*)[64])ds->class_names, ds->num_classes);
    return simclr_error_input(err, "the class names differ: %s knows %d classes (%s); dataset %s at %s "
                                   "has %d (%s). Evaluate on a dataset with the model's classes",
                              checkpoint, info->num_classes, model_names, ds->name, ds->path,
                              ds->num_classes, data_names);
}
