/* --recipe: the SimCLR paper's settings applied together (train.h). */
#include "simclr/train.h"

void simclr_train_recipe_apply(simclr_train_config *config, simclr_train_recipe recipe, const simclr_dataset *ds,
                               int *warmup_clamped)
{
    *warmup_clamped = 0;
    if (recipe == SIMCLR_TRAIN_RECIPE_SEED) return;
    int small = ds->height <= 32 && ds->width <= 32; /* CIFAR-sized */
    config->loss_kind = SIMCLR_CONTRASTIVE_KIND_NT_XENT;
    config->temperature = small ? 0.5f : 0.1f;
    config->optimizer = simclr_optimizer_config_default(SIMCLR_OPTIMIZER_KIND_LARS);
    config->optimizer.weight_decay = 1e-6f;
    config->optimizer.learning_rate = 0.3f;
    config->lr_scaling = SIMCLR_LR_SCALING_LINEAR;
    config->lr_schedule = SIMCLR_LR_SCHEDULE_KIND_COSINE;
    config->warmup_epochs = 10.0;
    if (config->epochs < 100) {
        config->warmup_epochs = 0.1 * (double)config->epochs;
        *warmup_clamped = 1;
    }
    config->augment = simclr_augment_policy_make(SIMCLR_AUGMENT_POLICY_KIND_SIMCLR, small ? 0.5f : 1.0f);
}
