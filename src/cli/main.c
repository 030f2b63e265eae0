/* simclr: contrastive pretraining (SimCLR) and semi-supervised classification, in C. */
#include <stdio.h>
#include <string.h>

#include "commands.h"

typedef struct command_entry {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
} command_entry;

static const command_entry commands[] = {
    {"info", command_info, "show a dataset's splits, image shape and class names"},
    {"show", command_show, "write one image of a split, exactly as stored, as PNG"},
    {"augment", command_augment, "write the seed's augmentation figure (4 rows x n images)"},
    {"baseline", command_baseline, "supervised baseline from random initialisation"},
    {"pretrain", command_pretrain, "contrastive pretraining with an online linear probe"},
    {"finetune", command_finetune, "supervised finetuning of a pretrained encoder"},
    {"experiment", command_experiment, "the seed's three runs in order, the table and the plots"},
    {"eval", command_eval, "test accuracy and loss of a saved classifier or probe"},
    {"predict", command_predict, "class and probability for PNG/JPEG images"},
    {"knn", command_knn, "kNN accuracy of a saved model's features"},
    {"embed", command_embed, "features of a split or of image files to .npy (+ .csv, PCA plot)"},
    {"linear-eval", command_linear_eval, "linear evaluation on frozen features (top-1, top-5)"},
    {"download", command_download, "fetch, verify and unpack stl10, cifar10, cifar100, mnist, fashion-mnist"},
};

static void print_usage(FILE *stream)
{
    fprintf(stream, "Usage: simclr <command> [options]\n\n"
                    "Learns image representations by contrastive pretraining (SimCLR) and turns\n"
                    "them into a classifier from a few labels.\n\nCommands:\n");
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(stream, "  %-12s %s\n", commands[i].name, commands[i].summary);
    fprintf(stream, "\n'simclr <command> --help' lists a command's options; "
                    "'simclr --version' prints the version.\n");
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        print_usage(stderr);
        return 2;
    }
    const char *name = argv[1];
    if (strcmp(name, "--help") == 0 || strcmp(name, "-h") == 0 || strcmp(name, "help") == 0) {
        print_usage(stdout);
        return 0;
    }
    if (strcmp(name, "--version") == 0) {
        printf("simclr %s\n", SIMCLR_VERSION);
        return 0;
    }
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++) {
        if (strcmp(name, commands[i].name) == 0) return commands[i].run(argc - 2, argv + 2);
    }
    fprintf(stderr, "simclr: error: unknown command '%s'\n\n", name);
    print_usage(stderr);
    return 2;
}
