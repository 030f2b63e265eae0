/* simclr download NAME --data-dir DIR: fetch, verify and unpack a public dataset. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_common.h"
#include "commands.h"
#include "signals.h"
#include "simclr/download.h"

int command_download(int argc, char **argv)
{
    const char *dataset_name = NULL;
    simclr_download_options options;
    simclr_download_options_defaults(&options);
    long long timeout = options.timeout_seconds;
    option_spec specs[8];
    size_t spec_count = 0;
    specs[spec_count++] = (option_spec){"dataset", OPTION_TYPE_CHOICE, &dataset_name, 0, 0,
                                        "stl10|cifar10|cifar100|mnist|fashion-mnist", NULL,
                                        "the dataset (or give its name as the first argument)", NULL};
    specs[spec_count++] = (option_spec){"data-dir", OPTION_TYPE_STRING, &options.data_dir, 0, 0, NULL, "DIR",
                                        "folder to put it in, created if missing; then pass the same "
                                        "--data-dir to the other commands (required)",
                                        NULL};
    specs[spec_count++] = (option_spec){"url", OPTION_TYPE_STRING, &options.url, 0, 0, NULL, "URL",
                                        "a mirror: the files are fetched from URL/<file name> (or from URL "
                                        "itself when it ends with the file name); the checksums are "
                                        "still verified",
                                        "the official source"};
    specs[spec_count++] = (option_spec){"checksums", OPTION_TYPE_STRING, &options.checksums_path, 0, 0, NULL,
                                        "FILE",
                                        "md5sum or sha256sum output replacing the published checksum of "
                                        "the files it names (a mirror serving another build; the tests)",
                                        "the published MD5s"};
    specs[spec_count++] = (option_spec){"timeout", OPTION_TYPE_INT, &timeout, 1, 86400, NULL, "S",
                                        "give up when connecting takes longer, or nothing arrives for S s",
                                        "30"};
    specs[spec_count++] = (option_spec){"quiet", OPTION_TYPE_FLAG, &options.quiet, 0, 0, NULL, NULL,
                                        "no progress bar and no notes; errors and the final line only", NULL};
    const char **positional = calloc((size_t)argc + 1, sizeof *positional);
    option_parser parser = {.command = "download",
                            .usage = "simclr download stl10|cifar10|cifar100|mnist|fashion-mnist --data-dir DIR "
                                     "[options]",
                            .summary = "Fetches a dataset's official files (resuming a partial download), "
                                       "verifies the published checksums, unpacks them into the layout "
                                       "--dataset NAME --data-dir DIR reads, and does nothing when all is "
                                       "already there and verified. Exit status 2: bad input; 1: the "
                                       "network, a checksum mismatch, a damaged archive or a full disk "
                                       "(a partial download is kept and resumed by the next run).",
                            .specs = specs,
                            .spec_count = spec_count,
                            .allow_positional = 1,
                            .positional = positional};
    simclr_error err = {0};
    int parsed = options_parse(&parser, argc, argv, &err);
    if (parsed != 0) {
        free(positional);
        return parsed > 0 ? 0 : cli_report_error(&err);
    }
    int bad = 0;
    if (parser.positional_count > 1 || (parser.positional_count == 1 && dataset_name)) {
        simclr_error_input(&err, "simclr download: expected one dataset name, got %d", parser.positional_count +
                                                                                         (dataset_name ? 1 : 0));
        bad = 1;
    } else if (parser.positional_count == 1) {
        dataset_name = positional[0];
    }
    free(positional);
    if (bad) return cli_report_error(&err);
    if (!dataset_name) {
        simclr_error_input(&err, "simclr download: which dataset? expected one of %s", simclr_download_names());
        return cli_report_error(&err);
    }
    const simclr_download_dataset *dataset = simclr_download_find(dataset_name);
    if (!dataset) {
        simclr_error_input(&err, "simclr download: unknown dataset '%s'; expected one of %s", dataset_name,
                           simclr_download_names());
        return cli_report_error(&err);
    }
    options.timeout_seconds = (long)timeout;
    cli_set_stop_message("\nsimclr: stopping the download (again to quit at once)\n");
    options.stop_requested = cli_stop_flag();
    simclr_download_outcome outcome;
    if (simclr_download(dataset, &options, &outcome, &err) != 0) return cli_report_error(&err);
    const char *folder = dataset->unpacks_to ? dataset->unpacks_to : "";
    const char *separator = dataset->unpacks_to ? "/" : "";
    if (outcome == SIMCLR_DOWNLOAD_ALREADY_PRESENT)
        printf("%s: already present and verified in %s%s%s; nothing to do\n", dataset->name, options.data_dir,
               separator, folder);
    else
        printf("%s: ready in %s%s%s\n", dataset->name, options.data_dir, separator, folder);
    printf("use: --dataset %s --data-dir %s\n", dataset->name, options.data_dir);
    return 0;
}
