#ifndef SIMCLR_LABEL_FRACTION_H
#define SIMCLR_LABEL_FRACTION_H
/*
 * A class-balanced fraction of the labeled train split (the "1 % / 10 % of the labels" of the
 * semi-supervised literature): of each class's n images, round(fraction * n) (at least 1),
 * chosen by the same seeded shuffle per class as simclr_sampler_labeled_subset
 * (--labeled-per-class), returned sorted.
 */
#include <stddef.h>
#include <stdint.h>

#include "simclr/dataset.h"
#include "simclr/error.h"
#include "simclr/export.h"
SIMCLR_BEGIN_DECLS

/* fraction in (0, 1]; *indices is owned by the caller (free). An input error names
 * --label-fraction when the fraction is outside (0, 1] or the split has no labels. */
int simclr_label_fraction_subset(const simclr_dataset *ds, double fraction, uint64_t seed, size_t **indices,
                                 size_t *count, simclr_error *err);

SIMCLR_END_DECLS
#endif
