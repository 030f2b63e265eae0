#ifndef SIMCLR_CLI_AUGMENT_CLI_H
#define SIMCLR_CLI_AUGMENT_CLI_H
/* The augmentation-policy options shared by `augment` and the training commands: --augment,
 * --color-strength and the policy's probabilities and ranges. Unset values (negative numbers,
 * NULL strings) take the policy's (or the recipe's) defaults. */
#include "cli_common.h"
#include "simclr/augment_policy.h"

typedef struct augment_cli {
    const char *augment;            /* --augment seed|simclr|byol (NULL: the recipe's) */
    double color_strength;          /* --color-strength (< 0: the recipe's, else 1.0) */
    const char *crop_scale;         /* --crop-scale MIN,MAX */
    const char *crop_ratio;         /* --crop-ratio MIN,MAX */
    double flip_probability, jitter_probability, grayscale_probability; /* < 0: default */
    const char *blur_probability;   /* P or P1,P2 (views 1, 2) */
    const char *solarize_probability;
} augment_cli;

void augment_cli_defaults(augment_cli *options);
void augment_cli_add_specs(augment_cli *options, option_spec *specs, size_t *count);

/* Builds the policy: kind and colour strength from the options or, where unset, from
 * default_kind / default_strength; then every explicit option; then validates it for the image's
 * channel count. err names the flag. */
int augment_cli_policy(const augment_cli *options, simclr_augment_policy_kind default_kind,
                       float default_strength, int channels, simclr_augment_policy *policy,
                       simclr_error *err);

/* Parses "A,B" (or "A" when single_allowed, giving A,A) into two numbers; err names the flag. */
int augment_cli_parse_pair(const char *flag, const char *text, int single_allowed, float *first,
                           float *second, simclr_error *err);

#endif
