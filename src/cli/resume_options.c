#include "resume_options.h"

#include <stdlib.h>
#include <string.h>

#include "run_directory.h"
#include "simclr/safetensors.h"

int resume_options_split(const char *line, char ***words)
{
    *words = NULL;
    size_t length = strlen(line);
    char **list = calloc(length / 2 + 2, sizeof *list);
    char *word = malloc(length + 1);
    int count = 0;
    if (!list || !word) goto fail;
    const char *c = line;
    for (;;) {
        while (*c == ' ') c++;
        if (!*c) break;
        size_t used = 0;
        while (*c && *c != ' ') {
            if (*c == '\'') {
                const char *end = strchr(c + 1, '\'');
                if (!end) goto fail;
                memcpy(word + used, c + 1, (size_t)(end - c - 1));
                used += (size_t)(end - c - 1);
                c = end + 1;
            } else if (c[0] == '\\' && c[1] == '\'') {
                word[used++] = '\'';
                c += 2;
            } else {
                word[used++] = *c++;
            }
        }
        word[used] = '\0';
        if (!(list[count] = strdup(word))) goto fail;
        count++;
    }
    free(word);
    *words = list;
    return count;
fail:
    for (int i = 0; i < count; i++) free(list[i]);
    free(list);
    free(word);
    return -1;
}

/* The value of --resume in argv, or NULL. */
static const char *resume_dir(int argc, char **argv)
{
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--resume") == 0 && i + 1 < argc) return argv[i + 1];
        if (strncmp(argv[i], "--resume=", 9) == 0) return argv[i] + 9;
    }
    return NULL;
}

/* Options of one invocation, not of the run: where it writes and how far this process goes. */
static int invocation_option(const char *word, int *takes_value)
{
    static const char *const valued[] = {"--out", "--resume", "--stop-after-steps"};
    *takes_value = 0;
    if (strcmp(word, "--overwrite") == 0) return 1;
    for (size_t i = 0; i < sizeof valued / sizeof valued[0]; i++) {
        size_t n = strlen(valued[i]);
        if (strncmp(word, valued[i], n) != 0) continue;
        if (word[n] == '=') return 1;
        if (word[n] == '\0') {
            *takes_value = 1;
            return 1;
        }
    }
    return 0;
}

int resume_options_merge(const char *command, int argc, char **argv, resume_options *merged, simclr_error *err)
{
    memset(merged, 0, sizeof *merged);
    merged->argc = argc;
    merged->argv = argv;
    const char *dir = resume_dir(argc, argv);
    if (!dir) return 0;
    char checkpoint[4096];
    simclr_error missing = {0};
    if (run_directory_resume_checkpoint(command, dir, checkpoint, sizeof checkpoint, &missing) != 0) {
        simclr_error_clear(&missing); /* reported with the run directory's other checks */
        return 0;
    }
    simclr_safetensors_file file;
    if (simclr_safetensors_open(&file, checkpoint, err) != 0) return -1;
    const char *recorded_command = simclr_safetensors_metadata(&file, "config.command");
    const char *line = simclr_safetensors_metadata(&file, "config.command_line");
    /* Another command's run, or a checkpoint from before the record: the comparison says so. */
    if (!recorded_command || !line || strcmp(recorded_command, command) != 0) {
        simclr_safetensors_close(&file);
        return 0;
    }
    char **words = NULL;
    int count = resume_options_split(line, &words);
    simclr_safetensors_close(&file);
    if (count < 0)
        return simclr_error_input(err, "--resume %s: %s records a command line that cannot be read back", dir,
                                  checkpoint);
    merged->owned = words;
    merged->owned_count = count;
    merged->argv = calloc((size_t)count + (size_t)argc + 1, sizeof *merged->argv);
    if (!merged->argv) {
        resume_options_free(merged);
        return simclr_error_set(err, SIMCLR_ERROR_KIND_RESOURCE, "out of memory");
    }
    int used = 0;
    /* words[0] is "simclr", words[1] the command. */
    for (int i = 2; i < count; i++) {
        int takes_value = 0;
        if (invocation_option(words[i], &takes_value)) {
            i += takes_value;
            continue;
        }
        merged->argv[used++] = words[i];
    }
    merged->recorded = used;
    for (int i = 0; i < argc; i++) merged->argv[used++] = argv[i];
    merged->argc = used;
    return 0;
}

void resume_options_free(resume_options *merged)
{
    for (int i = 0; i < merged->owned_count; i++) free(merged->owned[i]);
    free(merged->owned);
    if (merged->owned) free(merged->argv);
    memset(merged, 0, sizeof *merged);
}
