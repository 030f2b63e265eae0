#ifndef SIMCLR_CLI_COMMANDS_H
#define SIMCLR_CLI_COMMANDS_H
/* One function per command; argv starts after the command name. Each returns the exit status. */
#include <stddef.h>

#include "train_cli.h"

int command_info(int argc, char **argv);
int command_show(int argc, char **argv);
int command_augment(int argc, char **argv);
int command_baseline(int argc, char **argv);
int command_pretrain(int argc, char **argv);
int command_finetune(int argc, char **argv);
int command_experiment(int argc, char **argv);
int command_eval(int argc, char **argv);
int command_predict(int argc, char **argv);
int command_knn(int argc, char **argv);
int command_embed(int argc, char **argv);
int command_linear_eval(int argc, char **argv);
int command_similar(int argc, char **argv);
int command_dedup(int argc, char **argv);
int command_select(int argc, char **argv);
int command_download(int argc, char **argv);

/* The option tables of the commands fuzz/fuzz_options.c parses, shared with it: each fills specs
 * (room for CLI_MAX_SPECS) with the options pointing at the given variables and returns the
 * count. Training commands: train_cli's options, plus --from for finetune. */
size_t command_train_specs(int finetune, train_cli *options, const char **from, option_spec *specs);
size_t command_predict_specs(const char **model_path, long long *top, const char **format,
                             option_spec *specs);
#endif
