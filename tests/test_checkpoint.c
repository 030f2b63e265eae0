/* Checkpoints: a save/load round trip restores weights and optimizer moments exactly; a
 * checkpoint of another architecture is refused naming the tensor that does not fit. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "simclr/checkpoint.h"
#include "simclr/model.h"
#include "test_support.h"

static char class_name_storage[16][64];

static simclr_checkpoint_info make_info(const simclr_model_config *config)
{
    simclr_checkpoint_info info;
    memset(&info, 0, sizeof info);
    snprintf(info.run, sizeof info.run, "baseline");
    snprintf(info.classifier, sizeof info.classifier, "classifier");
    snprintf(info.dataset, sizeof info.dataset, "fashion-mnist");
    info.epochs_done = 3;
    info.epochs_total = 20;
    info.seed = 42;
    info.model = *config;
    info.num_classes = config->num_classes;
    info.class_names = class_name_storage;
    for (int c = 0; c < config->num_classes; c++)
        snprintf(info.class_names[c], sizeof info.class_names[c], "class %d", c);
    snprintf(info.class_names[0], sizeof info.class_names[0], "T-shirt/top");
    return info;
}

static void test_round_trip(void **state)
{
    (void)state;
    simclr_error err = {0};
    simclr_model_config config = simclr_model_config_default((simclr_tensor_shape){28, 28, 1}, 10);
    config.width = 8;
    simclr_network encoder, restored;
    assert_int_equal(simclr_model_build_encoder(&encoder, &config, 4, &err), 0);
    simclr_network_init_weights(&encoder, 7);
    simclr_optimizer optimizer, restored_optimizer;
    simclr_optimizer_config adam_settings = simclr_optimizer_config_default(SIMCLR_OPTIMIZER_KIND_ADAM);
    simclr_param_tensor tensors[SIMCLR_OPTIMIZER_MAX_TENSORS];
    int tensor_count = simclr_network_param_tensors(&encoder, tensors, SIMCLR_OPTIMIZER_MAX_TENSORS);
    assert_int_equal(simclr_optimizer_init(&optimizer, &adam_settings, tensors, tensor_count, &err), 0);
    for (size_t i = 0; i < encoder.param_count; i++) {
        optimizer.m[i] = (float)i * 0.5f;
        optimizer.v[i] = (float)i * 0.25f;
    }
    optimizer.step = 123;
    char *dir = test_make_temp_dir();
    char path[4096];
    snprintf(path, sizeof path, "%s/model.safetensors", dir);
    simclr_checkpoint_info info = make_info(&config);
    simclr_checkpoint_part part = {.net = &encoder, .optimizer = &optimizer};
    if (simclr_checkpoint_save(path, &info, &part, 1, &err) != 0) fail_msg("%s", err.message);

    simclr_checkpoint_info read;
    if (simclr_checkpoint_read_info(path, &read, &err) != 0) fail_msg("%s", err.message);
    assert_string_equal(read.run, "baseline");
    assert_int_equal(read.epochs_done, 3);
    assert_int_equal(read.model.width, 8);
    assert_int_equal(read.model.padding, 1);
    assert_string_equal(read.class_names[0], "T-shirt/top");
    assert_string_equal(read.class_names[9], "class 9");
    assert_true(read.owns_class_names);
    simclr_checkpoint_info_free(&read);

    assert_int_equal(simclr_model_build_encoder(&restored, &read.model, 4, &err), 0);
    assert_int_equal(simclr_optimizer_init(&restored_optimizer, &adam_settings, tensors, tensor_count, &err), 0);
    if (simclr_checkpoint_load_part(path, &restored, &restored_optimizer, &err) != 0)
        fail_msg("%s", err.message);
    assert_memory_equal(restored.params, encoder.params, encoder.param_count * sizeof(float));
    assert_memory_equal(restored_optimizer.m, optimizer.m, encoder.param_count * sizeof(float));
    assert_memory_equal(restored_optimizer.v, optimizer.v, encoder.param_count * sizeof(float));
    assert_int_equal(restored_optimizer.step, 123);

    /* Another architecture: the message names the first tensor that does not fit. */
    simclr_model_config wider = config;
    wider.width = 16;
    simclr_network other;
    assert_int_equal(simclr_model_build_encoder(&other, &wider, 4, &err), 0);
    assert_int_equal(simclr_checkpoint_load_part(path, &other, NULL, &err), -1);
    printf("  wrong architecture: %s\n", err.message);
    assert_non_null(strstr(err.message, "encoder.conv2d_1.kernel"));

    /* A file that is not a checkpoint. */
    char *garbage = test_write_file(dir, "garbage.safetensors", "not a checkpoint", 16);
    assert_int_equal(simclr_checkpoint_read_info(garbage, &read, &err), -1);
    assert_non_null(strstr(err.message, "garbage.safetensors"));

    free(garbage);
    simclr_network_free(&other);
    simclr_network_free(&restored);
    simclr_network_free(&encoder);
    simclr_optimizer_free(&optimizer);
    simclr_optimizer_free(&restored_optimizer);
    test_remove_tree(dir);
    free(dir);
}

/* Issue 24: MoCo's key networks were saved as "target_*" before they were named "key_*": a part
 * with a former name reads an older checkpoint under it, keeps its own name, and prefers its own
 * name when the checkpoint has it. */
static void test_former_name(void **state)
{
    (void)state;
    simclr_error err = {0};
    simclr_model_config config = simclr_model_config_default((simclr_tensor_shape){28, 28, 1}, 10);
    config.width = 8;
    simclr_network saved, restored;
    assert_int_equal(simclr_model_build_encoder(&saved, &config, 4, &err), 0);
    assert_int_equal(simclr_model_build_encoder(&restored, &config, 4, &err), 0);
    simclr_network_init_weights(&saved, 7);
    snprintf(saved.name, sizeof saved.name, "target_encoder");
    snprintf(restored.name, sizeof restored.name, "key_encoder");
    char *dir = test_make_temp_dir();
    char old_path[4096], new_path[4096];
    snprintf(old_path, sizeof old_path, "%s/old.safetensors", dir);
    snprintf(new_path, sizeof new_path, "%s/new.safetensors", dir);
    simclr_checkpoint_info info = make_info(&config);
    simclr_checkpoint_part old_part = {.net = &saved};
    if (simclr_checkpoint_save(old_path, &info, &old_part, 1, &err) != 0) fail_msg("%s", err.message);

    simclr_checkpoint_part plain = {.net = &restored};
    assert_int_equal(simclr_checkpoint_load_parts(old_path, &plain, 1, &err), -1);
    assert_non_null(strstr(err.message, "key_encoder"));
    simclr_checkpoint_part renamed = {.net = &restored, .former_name = "target_encoder"};
    if (simclr_checkpoint_load_parts(old_path, &renamed, 1, &err) != 0) fail_msg("%s", err.message);
    assert_memory_equal(restored.params, saved.params, saved.param_count * sizeof(float));
    assert_string_equal(restored.name, "key_encoder");

    /* A checkpoint with both names: the part's own is read. */
    simclr_network other;
    assert_int_equal(simclr_model_build_encoder(&other, &config, 4, &err), 0);
    simclr_network_init_weights(&other, 8);
    snprintf(other.name, sizeof other.name, "key_encoder");
    simclr_checkpoint_part both[2] = {{.net = &saved}, {.net = &other}};
    if (simclr_checkpoint_save(new_path, &info, both, 2, &err) != 0) fail_msg("%s", err.message);
    if (simclr_checkpoint_load_parts(new_path, &renamed, 1, &err) != 0) fail_msg("%s", err.message);
    assert_memory_equal(restored.params, other.params, other.param_count * sizeof(float));

    simclr_network_free(&saved);
    simclr_network_free(&restored);
    simclr_network_free(&other);
    test_remove_tree(dir);
    free(dir);
}

/* Issue 24: an interrupted checkpoint's running sums keep their names; old ones have none. */
static void test_accumulator_names(void **state)
{
    (void)state;
    simclr_error err = {0};
    simclr_model_config config = simclr_model_config_default((simclr_tensor_shape){28, 28, 1}, 10);
    config.width = 8;
    simclr_network encoder;
    assert_int_equal(simclr_model_build_encoder(&encoder, &config, 4, &err), 0);
    char *dir = test_make_temp_dir();
    char path[4096];
    snprintf(path, sizeof path, "%s/interrupted.safetensors", dir);
    simclr_checkpoint_info info = make_info(&config);
    info.resume_step = 5;
    info.accumulator_count = 3;
    const char *names[3] = {"loss_x_images", "correct", "images"};
    for (int i = 0; i < 3; i++) {
        info.accumulators[i] = 0.1 * (i + 1);
        snprintf(info.accumulator_names[i], sizeof info.accumulator_names[i], "%s", names[i]);
    }
    simclr_checkpoint_part part = {.net = &encoder};
    if (simclr_checkpoint_save(path, &info, &part, 1, &err) != 0) fail_msg("%s", err.message);
    simclr_checkpoint_info read;
    if (simclr_checkpoint_read_info(path, &read, &err) != 0) fail_msg("%s", err.message);
    assert_int_equal(read.accumulator_count, 3);
    for (int i = 0; i < 3; i++) {
        assert_string_equal(read.accumulator_names[i], names[i]);
        assert_true(read.accumulators[i] == 0.1 * (i + 1));
    }
    simclr_checkpoint_info_free(&read);

    /* Without names (as before issue 24): the sums alone, names empty. */
    info.accumulator_names[0][0] = '\0';
    if (simclr_checkpoint_save(path, &info, &part, 1, &err) != 0) fail_msg("%s", err.message);
    if (simclr_checkpoint_read_info(path, &read, &err) != 0) fail_msg("%s", err.message);
    assert_int_equal(read.accumulator_count, 3);
    assert_string_equal(read.accumulator_names[0], "");
    simclr_checkpoint_info_free(&read);
    simclr_network_free(&encoder);
    test_remove_tree(dir);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_round_trip), cmocka_unit_test(test_former_name),
                                       cmocka_unit_test(test_accumulator_names)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
