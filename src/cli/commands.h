#ifndef SIMCLR_CLI_COMMANDS_H
#define SIMCLR_CLI_COMMANDS_H
/* One function per command; argv starts after the command name. Each returns the exit status. */
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
#endif
