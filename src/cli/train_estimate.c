#include "train_estimate.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "simclr/model.h"
#include "simclr/network.h"
#include "util/plural.h"

static double now_seconds(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* GFLOP/s of a training pass (forward + backward, counted as 3 forward passes) through the
 * encoder on this machine: the run's own architecture, its width halved until one image's forward
 * costs at most 0.5 GFLOP, a batch of up to 256 images (about 2 GFLOP of forward a pass), one
 * warm-up pass (which builds oneDNN's primitives), then the fastest of at least 3 timed passes (at
 * least 0.1 s in all), so that a burst of load from other processes does not pass for a slow
 * machine. Measured once per process. */
static int measure_gflops(const simclr_model_config *model, int reference, double *gflops, double *forward_gflops,
                          simclr_error *err)
{
    static double measured = 0.0, measured_forward = 0.0;
    if (measured > 0.0) {
        *gflops = measured;
        *forward_gflops = measured_forward;
        return 0;
    }
    simclr_model_config probe = *model;
    double encoder = 0, head = 0, classifier = 0;
    simclr_model_forward_flops(&probe, &encoder, &head, &classifier);
    /* Reference kernels run near 0.1 GFLOP/s: a probe of a few MFLOP, one image. */
    double largest = reference ? 1e7 : 5e8;
    while (encoder > largest && probe.width > 16) {
        probe.width /= 2;
        simclr_model_forward_flops(&probe, &encoder, &head, &classifier);
    }
    int batch = encoder > 0 ? (int)(2e9 / encoder) : 256;
    if (batch < 1) batch = 1;
    if (batch > 256) batch = 256;
    if (reference) batch = 1;
    simclr_network net;
    if (simclr_model_build_encoder(&net, &probe, batch, err) != 0) return -1;
    simclr_network_init_weights(&net, 0);
    size_t floats = (size_t)batch * (size_t)probe.input.height * (size_t)probe.input.width *
                    (size_t)probe.input.channels;
    float *inputs = malloc(floats * sizeof *inputs);
    float *d_output = calloc((size_t)batch * simclr_network_output_size(&net), sizeof *d_output);
    int status = -1;
    if (!inputs || !d_output) {
        simclr_error_set(err, SIMCLR_ERROR_KIND_RESOURCE, "out of memory");
        goto done;
    }
    for (size_t i = 0; i < floats; i++) inputs[i] = (float)(i % 255) / 255.0f;
    for (size_t i = 0; i < (size_t)batch * simclr_network_output_size(&net); i++)
        d_output[i] = (float)(i % 7) / 7.0f - 0.5f;
    double total = 0.0, fastest = 0.0, fastest_forward = 0.0;
    int passes = reference ? 1 : 3;
    for (int pass = -1; pass < passes || (total < 0.1 && pass < 20 && !reference); pass++) {
        double start = now_seconds();
        if (simclr_network_forward(&net, inputs, batch, err) != 0) goto done;
        double forward = now_seconds() - start;
        if (simclr_network_backward(&net, d_output, NULL, err) != 0) goto done;
        if (pass < 0) continue; /* the warm-up */
        double elapsed = now_seconds() - start;
        total += elapsed;
        if (pass == 0 || elapsed < fastest) fastest = elapsed;
        if (pass == 0 || forward < fastest_forward) fastest_forward = forward;
    }
    measured = 3.0 * encoder * batch / (fastest > 1e-9 ? fastest : 1e-9) / 1e9;
    measured_forward = encoder * batch / (fastest_forward > 1e-9 ? fastest_forward : 1e-9) / 1e9;
    *gflops = measured;
    *forward_gflops = measured_forward;
    status = 0;
done:
    free(inputs);
    free(d_output);
    simclr_network_free(&net);
    return status;
}

int train_estimate_run(const simclr_dataset *ds, const simclr_train_config *config, int contrastive,
                       int force, train_estimate *estimate, simclr_error *err)
{
    memset(estimate, 0, sizeof *estimate);
    double encoder = 0, head = 0, classifier = 0;
    simclr_model_forward_flops(&config->model, &encoder, &head, &classifier);
    size_t labeled = config->labeled_per_class > 0
                         ? (size_t)config->labeled_per_class * (size_t)ds->num_classes
                         : ds->splits[SIMCLR_DATASET_SPLIT_TRAIN].count;
    size_t unlabeled = ds->splits[simclr_dataset_unlabeled_source(ds)].count;
    size_t steps = config->steps_per_epoch;
    double step_flops;
    if (contrastive) {
        size_t batch = config->unlabeled_batch + config->labeled_batch;
        if (!steps) steps = (unlabeled + labeled) / (batch ? batch : 1);
        estimate->step_images = 2 * batch;
        step_flops = 3.0 * (2.0 * (double)batch * (encoder + head) +
                            (double)config->labeled_batch * classifier);
        /* Issue 13: MoCo's and BYOL's target encoder + head run forward only on the 2B views. */
        if (config->method == SIMCLR_METHOD_MOCO || config->method == SIMCLR_METHOD_BYOL)
            step_flops += 2.0 * (double)batch * (encoder + head);
    } else {
        if (!steps) steps = (labeled + config->labeled_batch - 1) / config->labeled_batch;
        estimate->step_images = config->labeled_batch;
        step_flops = 3.0 * (double)config->labeled_batch * (encoder + classifier);
    }
    estimate->steps_per_epoch = steps;
    estimate->step_gflop = step_flops / 1e9;
    estimate->eval_gflop = (double)ds->splits[SIMCLR_DATASET_SPLIT_TEST].count * (encoder + classifier) / 1e9;
    const char *run = contrastive ? "pretraining" : "training";
    if (simclr_train_memory_bytes(ds, config, contrastive, &estimate->memory_bytes, err) != 0 ||
        simclr_train_check_memory(run, estimate->memory_bytes, config->memory_limit,
                                  !contrastive ? "lower --labeled-batch, --test-batch or --width"
                                  : config->method == SIMCLR_METHOD_MOCO
                                      ? "lower --queue-size, --unlabeled-batch, --labeled-batch or --width"
                                      : "lower --unlabeled-batch, --labeled-batch or --width",
                                  err) != 0)
        return -1;
    if (simclr_model_encoder_kernels(&config->model, (int)estimate->step_images, &estimate->kernels, err) != 0)
        return -1;
    const simclr_encoder_kernels *kernels = &estimate->kernels;
    if (kernels->reference_passes > 0 && kernels->layout_forced && !force)
        return simclr_error_input(err,
                                  "SIMCLR_CONV_LAYOUT gives the encoder's feature maps the %s layout, for which "
                                  "oneDNN has only its reference kernels on this CPU (oneDNN ISA %s) for %d of "
                                  "the %d convolution passes of a step: hundreds of times slower than its jit "
                                  "kernels; unset SIMCLR_CONV_LAYOUT (auto takes a layout oneDNN has jit kernels "
                                  "for) or give --force to run it anyway",
                                  simclr_nn_layout_name(kernels->feature_layout), simclr_conv2d_cpu_isa_name(),
                                  kernels->reference_passes, kernels->conv_passes);
    double forward_gflops = 0.0;
    if (measure_gflops(&config->model, kernels->reference_passes > 0, &estimate->measured_gflops, &forward_gflops,
                       err) != 0)
        return -1;
    estimate->seconds_per_step = estimate->step_gflop / estimate->measured_gflops;
    estimate->seconds_per_epoch = estimate->seconds_per_step * (double)steps +
                                  estimate->eval_gflop / forward_gflops;
    double run_seconds = estimate->seconds_per_epoch * config->epochs;
    if (!force && (estimate->seconds_per_step > TRAIN_ESTIMATE_MAX_STEP_SECONDS ||
                   run_seconds > TRAIN_ESTIMATE_MAX_RUN_SECONDS))
        return simclr_error_input(err,
                                  "%s is estimated at %.0f s per step and %.1f hours for %d epoch%s "
                                  "(%.1f GFLOP per step, %zu step%s per epoch, at the %.1f GFLOP/s "
                                  "measured here), more than the %.0f s per step or %.0f hours "
                                  "this tool starts without asking; lower --width, the batch "
                                  "sizes, --steps-per-epoch or --epochs, or give --force to run "
                                  "it anyway",
                                  run, estimate->seconds_per_step, run_seconds / 3600.0,
                                  config->epochs, simclr_plural(config->epochs), estimate->step_gflop, steps,
                                  simclr_plural((long long)steps),
                                  estimate->measured_gflops, TRAIN_ESTIMATE_MAX_STEP_SECONDS,
                                  TRAIN_ESTIMATE_MAX_RUN_SECONDS / 3600.0);
    return 0;
}

void train_estimate_print_kernel_warning(const train_estimate *estimate, FILE *stream)
{
    const simclr_encoder_kernels *kernels = &estimate->kernels;
    if (kernels->reference_passes == 0) return;
    fprintf(stream,
            "warning: oneDNN has only its reference kernels for %d of the %d convolution passes of this "
            "encoder on this CPU (oneDNN ISA %s, feature maps %s%s): they run hundreds of times slower than "
            "its jit kernels, as the estimate below measures\n",
            kernels->reference_passes, kernels->conv_passes, simclr_conv2d_cpu_isa_name(),
            simclr_nn_layout_name(kernels->feature_layout),
            kernels->layout_forced ? ", as SIMCLR_CONV_LAYOUT forces" : ", the best layout here");
}

void train_estimate_print(const train_estimate *estimate, const char *run, FILE *stream)
{
    fprintf(stream,
            "Estimate for %s: %.3g GFLOP per step (%zu images), about %.3g s per step and %.3g s "
            "per epoch (%zu step%s and the test split), %.2f GiB of memory (this machine: %.1f "
            "GFLOP/s, measured just now)\n",
            run, estimate->step_gflop, estimate->step_images, estimate->seconds_per_step,
            estimate->seconds_per_epoch, estimate->steps_per_epoch,
            simclr_plural((long long)estimate->steps_per_epoch),
            (double)estimate->memory_bytes / (1024.0 * 1024.0 * 1024.0), estimate->measured_gflops);
}
