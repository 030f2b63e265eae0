/*
 * Dense (fully connected) layers on BLAS: one sgemm per product, row-major, Keras's (in, out)
 * kernel layout, so no transposed copy is ever made.
 */
#include "simclr/nn.h"

#include <cblas.h>
#include <string.h>

void simclr_dense_forward(float *out, const float *in, const float *weight, const float *bias, int batch,
                   int in_features, int out_features, simclr_nn_activation activation)
{
    /* out (N, O) starts as the bias in every row; sgemm adds in (N, I) @ weight (I, O). */
    for (int n = 0; n < batch; n++)
        memcpy(out + (size_t)n * out_features, bias, (size_t)out_features * sizeof(float));
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, batch, out_features, in_features, 1.0f,
                in, in_features, weight, out_features, 1.0f, out, out_features);
    if (activation == SIMCLR_NN_ACTIVATION_RELU)
        simclr_relu_forward(out, out, (size_t)batch * out_features);
}

void simclr_dense_backward(float *d_in, float *d_weight, float *d_bias, float *d_out, const float *out,
                    const float *in, const float *weight, int batch, int in_features,
                    int out_features, simclr_nn_activation activation)
{
    if (activation == SIMCLR_NN_ACTIVATION_RELU && out)
        simclr_relu_backward(d_out, d_out, out, (size_t)batch * out_features);
    /* d_weight (I, O) += in^T (I, N) @ d_out (N, O) */
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, in_features, out_features, batch, 1.0f,
                in, in_features, d_out, out_features, 1.0f, d_weight, out_features);
    /* d_bias (O) += column sums of d_out: row by row, so the inner loop is contiguous. */
    for (int n = 0; n < batch; n++) {
        const float *row = d_out + (size_t)n * out_features;
        for (int o = 0; o < out_features; o++) d_bias[o] += row[o];
    }
    /* d_in (N, I) = d_out (N, O) @ weight^T (O, I), last: d_in may be the input's own buffer. */
    if (d_in)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, batch, in_features, out_features,
                    1.0f, d_out, out_features, weight, out_features, 0.0f, d_in, in_features);
}
