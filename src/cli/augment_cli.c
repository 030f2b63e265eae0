#include "augment_cli.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

void augment_cli_defaults(augment_cli *options)
{
    memset(options, 0, sizeof *options);
    options->color_strength = -1.0;
    options->flip_probability = -1.0;
    options->jitter_probability = -1.0;
    options->grayscale_probability = -1.0;
}

void augment_cli_add_specs(augment_cli *o, option_spec *specs, size_t *count)
{
    option_spec added[] = {
        {"augment", OPTION_TYPE_CHOICE, &o->augment, 0, 0, "seed|simclr|byol", NULL,
         "contrastive views: the seed's pipeline, the SimCLR paper's (random resized crop, flip, "
         "colour jitter, grayscale, blur from 64 px) or BYOL's asymmetric pair (blur 1.0/0.1, "
         "solarize 0/0.2)",
         "seed; simclr with --recipe simclr"},
        {"color-strength", OPTION_TYPE_FLOAT, &o->color_strength, 0, 2.5, NULL, "S",
         "colour jitter strength s of simclr/byol: jitter (0.8s, 0.8s, 0.8s, 0.2s)",
         "1.0; 0.5 for 32 px images with --recipe simclr"},
        {"crop-scale", OPTION_TYPE_STRING, &o->crop_scale, 0, 0, NULL, "MIN,MAX",
         "random resized crop: area fraction range (0 < MIN <= MAX <= 1)", "0.08,1"},
        {"crop-ratio", OPTION_TYPE_STRING, &o->crop_ratio, 0, 0, NULL, "MIN,MAX",
         "random resized crop: aspect ratio (width / height) range", "0.75,1.3333"},
        {"flip-probability", OPTION_TYPE_FLOAT, &o->flip_probability, 0, 1, NULL, "P",
         "horizontal flip probability (simclr/byol)", "0.5"},
        {"jitter-probability", OPTION_TYPE_FLOAT, &o->jitter_probability, 0, 1, NULL, "P",
         "colour jitter probability (simclr/byol)", "0.8"},
        {"grayscale-probability", OPTION_TYPE_FLOAT, &o->grayscale_probability, 0, 1, NULL, "P",
         "random grayscale probability (simclr/byol)", "0.2"},
        {"blur-probability", OPTION_TYPE_STRING, &o->blur_probability, 0, 0, NULL, "P[,P2]",
         "Gaussian blur probability of views 1 and 2 (images of 64 px and more)",
         "simclr 0.5; byol 1.0,0.1"},
        {"solarize-probability", OPTION_TYPE_STRING, &o->solarize_probability, 0, 0, NULL, "P[,P2]",
         "solarize probability of views 1 and 2", "simclr 0; byol 0,0.2"},
    };
    for (size_t i = 0; i < sizeof added / sizeof added[0]; i++) specs[(*count)++] = added[i];
}

int augment_cli_parse_pair(const char *flag, const char *text, int single_allowed, float *first,
                           float *second, simclr_error *err)
{
    const char *expected = single_allowed ? "a number or two separated by a comma (P or P1,P2)"
                                          : "two numbers separated by a comma (MIN,MAX)";
    char *end = NULL;
    errno = 0;
    double a = strtod(text, &end);
    if (errno || end == text || !isfinite(a))
        return simclr_error_input(err, "--%s expects %s, got '%s'", flag, expected, text);
    double b = a;
    if (*end == ',') {
        const char *rest = end + 1;
        b = strtod(rest, &end);
        if (errno || end == rest || !isfinite(b))
            return simclr_error_input(err, "--%s expects %s, got '%s'", flag, expected, text);
    } else if (!single_allowed) {
        return simclr_error_input(err, "--%s expects %s, got '%s'", flag, expected, text);
    }
    if (*end != '\0') return simclr_error_input(err, "--%s expects %s, got '%s'", flag, expected, text);
    *first = (float)a;
    *second = (float)b;
    return 0;
}

static simclr_augment_policy_kind kind_from_name(const char *name)
{
    if (strcmp(name, "simclr") == 0) return SIMCLR_AUGMENT_POLICY_KIND_SIMCLR;
    if (strcmp(name, "byol") == 0) return SIMCLR_AUGMENT_POLICY_KIND_BYOL;
    return SIMCLR_AUGMENT_POLICY_KIND_SEED;
}

int augment_cli_policy(const augment_cli *o, simclr_augment_policy_kind default_kind,
                       float default_strength, int channels, simclr_augment_policy *policy,
                       simclr_error *err)
{
    simclr_augment_policy_kind kind = o->augment ? kind_from_name(o->augment) : default_kind;
    float strength = o->color_strength >= 0.0 ? (float)o->color_strength : default_strength;
    *policy = simclr_augment_policy_make(kind, strength);
    if (kind == SIMCLR_AUGMENT_POLICY_KIND_SEED) {
        /* The seed's pipeline has none of these knobs: refuse rather than ignore them. */
        const char *given = o->color_strength >= 0.0 ? "--color-strength"
                            : o->crop_scale ? "--crop-scale"
                            : o->crop_ratio ? "--crop-ratio"
                            : o->flip_probability >= 0.0 ? "--flip-probability"
                            : o->jitter_probability >= 0.0 ? "--jitter-probability"
                            : o->grayscale_probability >= 0.0 ? "--grayscale-probability"
                            : o->blur_probability ? "--blur-probability"
                            : o->solarize_probability ? "--solarize-probability"
                                                      : NULL;
        if (given)
            return simclr_error_input(err, "%s applies to --augment simclr or byol, not to the seed's "
                                      "pipeline (--augment seed)",
                                      given);
        return 0;
    }
    if (o->crop_scale && augment_cli_parse_pair("crop-scale", o->crop_scale, 0, &policy->crop_scale_min,
                                                &policy->crop_scale_max, err) != 0)
        return -1;
    if (o->crop_ratio && augment_cli_parse_pair("crop-ratio", o->crop_ratio, 0, &policy->crop_ratio_min,
                                                &policy->crop_ratio_max, err) != 0)
        return -1;
    if (o->flip_probability >= 0.0) policy->flip_probability = (float)o->flip_probability;
    if (o->jitter_probability >= 0.0) policy->jitter_probability = (float)o->jitter_probability;
    if (o->grayscale_probability >= 0.0) policy->grayscale_probability = (float)o->grayscale_probability;
    if (o->blur_probability &&
        augment_cli_parse_pair("blur-probability", o->blur_probability, 1, &policy->blur_probability[0],
                               &policy->blur_probability[1], err) != 0)
        return -1;
    if (o->solarize_probability &&
        augment_cli_parse_pair("solarize-probability", o->solarize_probability, 1,
                               &policy->solarize_probability[0], &policy->solarize_probability[1],
                               err) != 0)
        return -1;
    return simclr_augment_policy_validate(policy, channels, err);
}
