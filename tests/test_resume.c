/* Nothing lost when a run dies: a run interrupted mid-epoch (as Ctrl-C / SIGTERM does) saves a
 * checkpoint, and --resume reproduces the uninterrupted run's per-epoch metrics and weights
 * exactly (same seed, same thread count). A NaN in the loss stops the run, names the tensor,
 * epoch and step, and leaves the last good checkpoint intact. Uses the real Fashion-MNIST. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "simclr/checkpoint.h"
#include "simclr/safetensors.h"
#include "simclr/train.h"
#include "test_support.h"

static simclr_dataset fashion;
static int have_data;

static int setup(void **state)
{
    (void)state;
    simclr_dataset_options options = simclr_dataset_options_default();
    options.kind = SIMCLR_DATASET_KIND_FASHION_MNIST;
    options.data_dir = test_fashion_mnist_dir();
    simclr_error err = {0};
    have_data = simclr_dataset_open(&fashion, &options, &err) == 0;
    if (!have_data) printf("  skipping: %s\n", err.message);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    if (have_data) simclr_dataset_close(&fashion);
    return 0;
}

static simclr_train_config small_config(const char *dir)
{
    simclr_train_config config = simclr_train_config_default(&fashion);
    config.labeled_per_class = 20;
    config.unlabeled_batch = 50;
    config.steps_per_epoch = 0;
    config.epochs = 2;
    config.out_dir = dir;
    config.quiet = 1;
    config.model.width = 32;
    return config;
}

typedef int (*run_function)(const simclr_dataset *, const simclr_train_config *, simclr_history *, simclr_error *);

static void assert_same_checkpoint(const char *a, const char *b)
{
    simclr_safetensors_file first, second;
    simclr_error err = {0};
    if (simclr_safetensors_open(&first, a, &err) != 0) fail_msg("%s", err.message);
    if (simclr_safetensors_open(&second, b, &err) != 0) fail_msg("%s", err.message);
    assert_int_equal(first.tensor_count, second.tensor_count);
    for (size_t i = 0; i < first.tensor_count; i++) {
        const simclr_safetensors_tensor *x = &first.tensors[i];
        const simclr_safetensors_tensor *y = simclr_safetensors_find(&second, x->name);
        assert_non_null(y);
        assert_int_equal(x->data_end - x->data_begin, y->data_end - y->data_begin);
        if (memcmp(x->data, y->data, x->data_end - x->data_begin) != 0)
            fail_msg("tensor %s differs between the uninterrupted and the resumed run", x->name);
    }
    simclr_safetensors_close(&first);
    simclr_safetensors_close(&second);
}

static void check_resume(run_function run, const char *name, simclr_train_config base, long long first_stop,
                         long long second_stop)
{
    simclr_error err = {0};
    char *straight = test_make_temp_dir();
    char *resumed = test_make_temp_dir();

    simclr_train_config config = base;
    config.out_dir = straight;
    simclr_history reference;
    if (run(&fashion, &config, &reference, &err) != 0) fail_msg("%s", err.message);

    /* Interrupted twice (the second time in the next epoch), then resumed to the end. */
    config.out_dir = resumed;
    config.stop_after_steps = first_stop;
    simclr_history partial;
    assert_int_equal(run(&fashion, &config, &partial, &err), -1);
    assert_int_equal(err.kind, SIMCLR_ERROR_KIND_INTERRUPTED);
    printf("  %s: %s\n", name, err.message);
    assert_non_null(strstr(err.message, "--resume"));
    simclr_history_free(&partial);
    config.resume = 1;
    config.stop_after_steps = second_stop;
    assert_int_equal(run(&fashion, &config, &partial, &err), -1);
    assert_int_equal(err.kind, SIMCLR_ERROR_KIND_INTERRUPTED);
    printf("  %s: %s\n", name, err.message);
    simclr_history_free(&partial);
    config.stop_after_steps = 0;
    simclr_history finished;
    if (run(&fashion, &config, &finished, &err) != 0) fail_msg("%s", err.message);

    assert_int_equal(finished.epoch_count, reference.epoch_count);
    assert_int_equal(finished.metric_count, reference.metric_count);
    for (int e = 0; e < reference.epoch_count; e++) {
        for (int m = 0; m < reference.metric_count; m++) {
            double want = reference.values[e * reference.metric_count + m];
            double got = finished.values[e * finished.metric_count + m];
            printf("  %s epoch %d %-10s uninterrupted %.10f resumed %.10f\n", name, e + 1,
                   reference.names[m], want, got);
            assert_true(want == got);
        }
    }
    char a[4096], b[4096];
    snprintf(a, sizeof a, "%s/%s.safetensors", straight, name);
    snprintf(b, sizeof b, "%s/%s.safetensors", resumed, name);
    assert_same_checkpoint(a, b);

    /* Resuming a finished run trains nothing and returns its history. */
    simclr_history again;
    if (run(&fashion, &config, &again, &err) != 0) fail_msg("%s", err.message);
    assert_int_equal(again.epoch_count, reference.epoch_count);
    simclr_history_free(&again);
    simclr_history_free(&reference);
    simclr_history_free(&finished);
    test_remove_tree(straight);
    test_remove_tree(resumed);
    free(straight);
    free(resumed);
}

static void test_baseline_resume(void **state)
{
    (void)state;
    if (!have_data) test_skip("Fashion-MNIST is not installed");
    /* 200 labeled images in batches of 25: 8 steps an epoch. */
    check_resume(simclr_train_baseline, "baseline", small_config(""), 3, 7);
}

static void test_pretrain_resume(void **state)
{
    (void)state;
    if (!have_data) test_skip("Fashion-MNIST is not installed");
    simclr_train_config config = small_config("");
    config.steps_per_epoch = 4;
    check_resume(simclr_train_pretrain, "pretrain", config, 2, 3);
}

/* Issue 12: the paper's recipe (LARS with momentum buffers, here Nesterov's, warm-up + cosine per
 * step, the simclr augmentation, NT-Xent) resumes exactly too: the checkpoint holds the momentum
 * buffers and the schedule is a function of the global step. */
static void test_recipe_resume(void **state)
{
    (void)state;
    if (!have_data) test_skip("Fashion-MNIST is not installed");
    simclr_train_config config = small_config("");
    config.steps_per_epoch = 4;
    config.model.width = 16;
    int clamped = 0;
    simclr_train_recipe_apply(&config, SIMCLR_TRAIN_RECIPE_SIMCLR, &fashion, &clamped);
    assert_true(clamped);
    assert_true(config.warmup_epochs > 0.0);
    config.optimizer.nesterov = 1; /* both momentum paths of LARS */
    check_resume(simclr_train_pretrain, "pretrain", config, 2, 3);
}

/* The history's lr column is the schedule's value at each epoch's last step. */
static void test_history_records_the_schedule(void **state)
{
    (void)state;
    if (!have_data) test_skip("Fashion-MNIST is not installed");
    char *dir = test_make_temp_dir();
    simclr_train_config config = small_config(dir);
    config.epochs = 3;
    config.steps_per_epoch = 3;
    config.model.width = 16;
    config.optimizer = simclr_optimizer_config_default(SIMCLR_OPTIMIZER_KIND_SGD);
    config.optimizer.learning_rate = 0.04f;
    config.lr_schedule = SIMCLR_LR_SCHEDULE_KIND_COSINE;
    config.warmup_epochs = 1.0;
    simclr_history hist;
    simclr_error err = {0};
    if (simclr_train_baseline(&fashion, &config, &hist, &err) != 0) fail_msg("%s", err.message);
    int lr = simclr_history_metric_index(&hist, "lr");
    assert_true(lr >= 0);
    /* 3 steps an epoch, 9 in all, 3 of warm-up: epoch 1 ends at step 2 (0.04 x 2/3), epoch 2 at
     * step 5 (cosine 2/6 of the way), epoch 3 at step 8 (5/6). */
    simclr_lr_schedule schedule = {SIMCLR_LR_SCHEDULE_KIND_COSINE, (double)0.04f, 3, 9};
    for (int e = 0; e < 3; e++) {
        double want = (float)simclr_lr_schedule_at(&schedule, 3 * e + 2);
        assert_float_equal(hist.values[e * hist.metric_count + lr], want, 1e-9);
    }
    assert_float_equal(hist.values[lr], 0.04 * 2.0 / 3.0, 1e-7);
    assert_float_equal(hist.values[2 * hist.metric_count + lr], 0.04 * 0.5 * (1.0 + cos(3.14159265358979 * 5.0 / 6.0)),
                       1e-7);
    simclr_history_free(&hist);
    /* A resume with another optimizer is refused, naming what differs. */
    config.optimizer.nesterov = 1;
    config.resume = 1;
    assert_int_equal(simclr_train_baseline(&fashion, &config, &hist, &err), -1);
    printf("  %s\n", err.message);
    assert_int_equal(err.kind, SIMCLR_ERROR_KIND_INPUT);
    assert_non_null(strstr(err.message, "nesterov=0"));
    simclr_history_free(&hist);
    test_remove_tree(dir);
    free(dir);
}

static void test_nan_stops_and_keeps_checkpoint(void **state)
{
    (void)state;
    if (!have_data) test_skip("Fashion-MNIST is not installed");
    char *dir = test_make_temp_dir();
    simclr_train_config config = small_config(dir);
    config.inject_nan_at_step = 10; /* epoch 2, step 3 */
    simclr_history hist;
    simclr_error err = {0};
    assert_int_equal(simclr_train_baseline(&fashion, &config, &hist, &err), -1);
    printf("  %s\n", err.message);
    assert_non_null(strstr(err.message, "non-finite"));
    assert_non_null(strstr(err.message, "loss"));
    assert_non_null(strstr(err.message, "epoch 2, step 3"));
    assert_non_null(strstr(err.message, "--learning-rate"));
    simclr_history_free(&hist);
    char path[4096];
    snprintf(path, sizeof path, "%s/baseline.safetensors", dir);
    simclr_checkpoint_info info;
    if (simclr_checkpoint_read_info(path, &info, &err) != 0) fail_msg("%s", err.message);
    assert_int_equal(info.epochs_done, 1);
    simclr_checkpoint_info_free(&info);
    test_remove_tree(dir);
    free(dir);
}

/* An optimizer step that overflows the weights (an infinite learning rate stands in for a
 * diverging run) is caught on that step, naming the weights. */
static void test_infinite_weights_stop(void **state)
{
    (void)state;
    if (!have_data) test_skip("Fashion-MNIST is not installed");
    char *dir = test_make_temp_dir();
    simclr_train_config config = small_config(dir);
    config.optimizer.learning_rate = INFINITY;
    simclr_history hist;
    simclr_error err = {0};
    assert_int_equal(simclr_train_baseline(&fashion, &config, &hist, &err), -1);
    printf("  %s\n", err.message);
    assert_non_null(strstr(err.message, "non-finite"));
    assert_non_null(strstr(err.message, "encoder weights"));
    assert_non_null(strstr(err.message, "epoch 1, step 1"));
    simclr_history_free(&hist);
    test_remove_tree(dir);
    free(dir);
}

/* ---- Issue 23: an interruption lands within a layer, not after the step ------------------- */

static volatile sig_atomic_t stop_flag;

static double now_seconds(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

typedef struct stopper {
    double delay;     /* seconds after the thread starts */
    double raised_at; /* when it raised the flag */
} stopper;

static void *raise_stop_later(void *arg)
{
    stopper *s = arg;
    struct timespec wait = {(time_t)s->delay, (long)((s->delay - (double)(time_t)s->delay) * 1e9)};
    nanosleep(&wait, NULL);
    s->raised_at = now_seconds();
    stop_flag = 1; /* as the CLI's signal handler does */
    return NULL;
}

/* A pretraining run whose projection head has BatchNorm (running statistics that the step's
 * forward pass updates) stopped by a flag raised from another thread at five moments of the
 * run (the last ones land in the evaluation after the last step): it returns within a fraction of a step (the networks stop between two layers, inside the
 * step or the evaluation), saves the checkpoint of the last complete step (the running statistics
 * of the cut step put back), and the resumed run's metrics and weights are the uninterrupted
 * run's, bit for bit. */
static void test_interruption_within_a_step(void **state)
{
    (void)state;
    if (!have_data) test_skip("Fashion-MNIST is not installed");
    simclr_error err = {0};
    char *straight = test_make_temp_dir();
    simclr_train_config config = small_config(straight);
    config.model.width = 64;
    config.model.head_bn = 1;
    config.unlabeled_batch = 400;
    config.steps_per_epoch = 4;
    config.epochs = 2;
    config.knn_k = 0; /* the kNN bank would double the evaluation, which is checked anyway */
    simclr_history reference;
    double start = now_seconds();
    if (simclr_train_pretrain(&fashion, &config, &reference, &err) != 0) fail_msg("%s", err.message);
    double duration = now_seconds() - start;
    double step_seconds = duration / (double)(config.epochs * config.steps_per_epoch);
    printf("  uninterrupted: %.2f s, at most %.3f s a step\n", duration, step_seconds);
    const double moments[] = {0.2, 0.45, 0.7, 0.85, 0.95}; /* steps of both epochs, and evaluations */
    for (int k = 0; k < 5; k++) {
        char *dir = test_make_temp_dir();
        simclr_train_config run = config;
        run.out_dir = dir;
        run.stop_requested = &stop_flag;
        stop_flag = 0;
        stopper s = {moments[k] * duration, 0.0};
        pthread_t thread;
        assert_int_equal(pthread_create(&thread, NULL, raise_stop_later, &s), 0);
        simclr_history partial;
        int status = simclr_train_pretrain(&fashion, &run, &partial, &err);
        double returned = now_seconds();
        pthread_join(thread, NULL);
        simclr_history_free(&partial);
        if (status == 0) {
            printf("  stop at %.0f%% of the run: the run ended first (a slow start); nothing to check\n",
                   100.0 * moments[k]);
        } else {
            assert_int_equal(err.kind, SIMCLR_ERROR_KIND_INTERRUPTED);
            double latency = returned - s.raised_at;
            printf("  stop at %.0f%% of the run: returned %.3f s after the flag: %s\n", 100.0 * moments[k], latency,
                   err.message);
            assert_non_null(strstr(err.message, "--resume"));
            /* Waiting for the step's end would take up to a whole step (plus the checkpoint's write
             * and fsync, up to a few tenths of a second on a busy disk). */
            assert_true(latency < 0.5 * step_seconds + 0.25);
            run.stop_requested = NULL;
            run.resume = 1;
            simclr_history finished;
            if (simclr_train_pretrain(&fashion, &run, &finished, &err) != 0) fail_msg("%s", err.message);
            assert_int_equal(finished.epoch_count, reference.epoch_count);
            for (int i = 0; i < reference.epoch_count * reference.metric_count; i++)
                if (finished.values[i] != reference.values[i])
                    fail_msg("metric %s of epoch %d: resumed %.10f, uninterrupted %.10f",
                             reference.names[i % reference.metric_count], i / reference.metric_count + 1,
                             finished.values[i], reference.values[i]);
            char a[4096], b[4096];
            snprintf(a, sizeof a, "%s/pretrain.safetensors", straight);
            snprintf(b, sizeof b, "%s/pretrain.safetensors", dir);
            assert_same_checkpoint(a, b);
            simclr_history_free(&finished);
        }
        test_remove_tree(dir);
        free(dir);
    }
    simclr_history_free(&reference);
    test_remove_tree(straight);
    free(straight);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_baseline_resume),
        cmocka_unit_test(test_pretrain_resume),
        cmocka_unit_test(test_recipe_resume),
        cmocka_unit_test(test_history_records_the_schedule),
        cmocka_unit_test(test_nan_stops_and_keeps_checkpoint),
        cmocka_unit_test(test_infinite_weights_stop),
        cmocka_unit_test(test_interruption_within_a_step),
    };
    return test_exit_status(cmocka_run_group_tests(tests, setup, teardown));
}
