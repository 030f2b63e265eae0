/* simclr_model_forward_flops: the seed's model at 96x96x3 ("valid" convolutions) and 28x28x1
 * (padding 1), and ResNet-18 with the CIFAR stem at 32x32x3, counted by hand from the layer
 * shapes (2 FLOP per multiply-add; torchvision's ResNet-18 counted by forward hooks in
 * bench/torch_twin.py gives the same 1.11084 GFLOP). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "simclr/model.h"

static void test_seed_model_96(void **state)
{
    (void)state;
    simclr_model_config config = simclr_model_config_default((simclr_tensor_shape){96, 96, 3}, 10);
    double encoder = 0, head = 0, classifier = 0;
    simclr_model_forward_flops(&config, &encoder, &head, &classifier);
    /* 96 -> 47 -> 23 -> 11 -> 5; conv1 2*47*47*128*27, convs 2..4 2*HW*128*1152, dense 2*3200*128 */
    assert_true(encoder == 2.0 * 47 * 47 * 128 * 27 + 2.0 * (23 * 23 + 11 * 11 + 5 * 5) * 128 * 1152 +
                               2.0 * 3200 * 128);
    assert_true(encoder == 215153408.0);
    assert_true(head == 2.0 * 2 * 128 * 128);
    assert_true(classifier == 2.0 * 128 * 10);
}

static void test_seed_model_28_padded(void **state)
{
    (void)state;
    simclr_model_config config = simclr_model_config_default((simclr_tensor_shape){28, 28, 1}, 10);
    config.width = 8;
    double encoder = 0, head = 0, classifier = 0;
    simclr_model_forward_flops(&config, &encoder, &head, &classifier);
    /* 28 -> 14 -> 7 -> 4 -> 2 with padding 1 */
    assert_true(encoder == 2.0 * 14 * 14 * 8 * 9 + 2.0 * (7 * 7 + 4 * 4 + 2 * 2) * 8 * 72 + 2.0 * 32 * 8);
    assert_true(head == 2.0 * 2 * 8 * 8);
    assert_true(classifier == 2.0 * 8 * 10);
}

static void test_resnet18_cifar_stem_32(void **state)
{
    (void)state;
    simclr_model_config config = simclr_model_config_default((simclr_tensor_shape){32, 32, 3}, 10);
    config.backbone = SIMCLR_MODEL_BACKBONE_RESNET18;
    double encoder = 0, head = 0, classifier = 0;
    simclr_model_forward_flops(&config, &encoder, &head, &classifier);
    /* stem 3->64 at 32x32; layer1 four 64->64 convs at 32x32; layers 2-4 each: a stride-2 3x3
     * conv, three 3x3 convs and a 1x1 projection at the halved size, 2 x 75.5 M FLOP apiece. */
    double stage = 2.0 * 256 * 128 * 576 + 3 * 2.0 * 256 * 128 * 1152 + 2.0 * 256 * 128 * 64;
    assert_true(encoder == 2.0 * 32 * 32 * 64 * 27 + 4 * 2.0 * 1024 * 64 * 576 + 3 * stage);
    assert_true(encoder == 1110835200.0);
    assert_true(head == 2.0 * (512 * 512 + 512 * 128));
    assert_true(classifier == 2.0 * 512 * 10);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_seed_model_96),
        cmocka_unit_test(test_seed_model_28_padded),
        cmocka_unit_test(test_resnet18_cifar_stem_32),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
