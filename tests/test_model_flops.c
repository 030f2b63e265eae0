/* simclr_model_forward_flops: the seed's model at 96x96x3 ("valid" convolutions) and 28x28x1
 * (padding 1), counted by hand from the layer shapes (2 FLOP per multiply-add). */
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_seed_model_96),
        cmocka_unit_test(test_seed_model_28_padded),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
