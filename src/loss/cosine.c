/*
 * The negative cosine similarity of SimSiam (Chen & He 2021, Algorithm 1: D(p, z) =
 * -cos(p, stopgrad(z))) and, as 2 + 2 x it, BYOL's normalised MSE (Grill et al. 2020:
 * |p/|p| - z/|z||^2 = 2 - 2 cos). The target z is a constant.
 */
#include "simclr/ssl_loss.h"

#include <math.h>

#define COSINE_NORM_EPSILON 1e-12f

float simclr_negative_cosine_loss(const float *p, const float *z, int batch, int dim, float scale, float *d_p)
{
    double total = 0.0;
    size_t d = (size_t)dim;
    for (size_t i = 0; i < (size_t)batch; i++) {
        const float *p_row = p + i * d, *z_row = z + i * d;
        double pp = 0.0, zz = 0.0, pz = 0.0;
        for (size_t c = 0; c < d; c++) {
            pp += (double)p_row[c] * p_row[c];
            zz += (double)z_row[c] * z_row[c];
            pz += (double)p_row[c] * z_row[c];
        }
        double p_norm = fmax(sqrt(pp), COSINE_NORM_EPSILON), z_norm = fmax(sqrt(zz), COSINE_NORM_EPSILON);
        double cosine = pz / (p_norm * z_norm);
        total -= cosine;
        /* d(-cos)/dp = -(z / |z| - cos p / |p|) / |p| (the |p| clamp is inactive for p != 0). */
        double factor = (double)scale / (double)batch;
        for (size_t c = 0; c < d; c++)
            d_p[i * d + c] = (float)(-factor * ((double)z_row[c] / z_norm - cosine * (double)p_row[c] / p_norm) /
                                     p_norm);
    }
    return (float)(total / (double)batch);
}
