/* simclr: contrastive pretraining (SimCLR) and semi-supervised classification, in C. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_distributed.h"
#include "commands.h"
#include "mpi_communicator.h"
#include "suggest.h"
#include "simclr/model.h"
#include "simclr/nn.h"

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
    {"similar", command_similar, "the most similar images of query images (exact cosine search)"},
    {"dedup", command_dedup, "groups of exact and near-duplicate images to CSV"},
    {"select", command_select, "a diverse subset (k-center) and the outliers of a folder of images"},
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

/* Issue 14: under mpirun (detected from the launcher's environment, so that a plain start never
 * initialises MPI) the command runs on every rank with the job's communicator; rank 0 alone
 * prints to stdout. A rank that fails ends the whole job with its exit status (MPI_Abort), so no
 * rank waits forever for one that left; an interruption (exit 130) ends every rank normally. */
static int run_command(const command_entry *command, int argc, char **argv)
{
    static simclr_communicator communicator;
    const char *launched_size = getenv("OMPI_COMM_WORLD_SIZE");
    int launched = cli_mpi_launched() && !(launched_size && strcmp(launched_size, "1") == 0);
    if (!launched) return command->run(argc - 2, argv + 2);
    if (simclr_mpi_communicator_init(&argc, &argv, &communicator) != 0) return 2;
    cli_set_communicator(&communicator);
    if (communicator.rank != 0 && !freopen("/dev/null", "w", stdout)) {
        fprintf(stderr, "simclr: error: rank %d: cannot silence stdout\n", communicator.rank);
        return 1;
    }
    int status = command->run(argc - 2, argv + 2);
    fflush(stdout);
    fflush(stderr);
    /* An interruption (130) is reached by every rank at the same step (the stop flag is allreduced)
     * after rank 0 saved the checkpoint: the ranks leave together. Any other failure may be one
     * rank's alone. */
    if (status != 0 && status != 130 && communicator.size > 1) {
        char message[96];
        snprintf(message, sizeof message, "%s ended with exit status %d; stopping the job", command->name,
                 status);
        simclr_communicator_abort(&communicator, status, message);
    }
    simclr_mpi_communicator_finalize(&communicator);
    return status;
}

/* What this CPU gets from oneDNN: its ISA, the seed model's feature-map layout in fp32, bf16. */
static void print_cpu_kernels(FILE *stream)
{
    simclr_model_config model = simclr_model_config_default((simclr_tensor_shape){96, 96, 3}, 10);
    simclr_nn_layout layout = SIMCLR_NN_LAYOUT_NHWC;
    simclr_error err = {0};
    if (cli_network_options(&model.network, &err) != 0 || simclr_model_feature_layout(&model, &layout, &err) != 0) {
        fprintf(stream, "oneDNN ISA %s (%s)\n", simclr_conv2d_cpu_isa_name(), simclr_error_message(&err));
        simclr_error_clear(&err);
        return;
    }
    fprintf(stream, "oneDNN ISA %s: fp32 feature maps %s, bf16 convolutions %s\n", simclr_conv2d_cpu_isa_name(),
            simclr_nn_layout_name(layout), simclr_conv2d_bf16_available() ? "yes" : "no");
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
        print_cpu_kernels(stdout);
        return 0;
    }
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++) {
        if (strcmp(name, commands[i].name) == 0) return run_command(&commands[i], argc, argv);
    }
    const char *names[sizeof commands / sizeof commands[0]];
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++) names[i] = commands[i].name;
    int closest = cli_closest_name(name, strlen(name), names, sizeof commands / sizeof commands[0]);
    if (closest >= 0)
        fprintf(stderr, "simclr: error: unknown command '%s'; did you mean '%s'?\n\n", name, names[closest]);
    else
        fprintf(stderr, "simclr: error: unknown command '%s'\n\n", name);
    print_usage(stderr);
    return 2;
}
