/*
 * Conv2D on oneDNN 2.x (C API). Activations are in the layouts the config names (NHWC by
 * default; the network keeps runs of conv layers in oneDNN's blocked nChw16c, see below) and the
 * caller keeps its kernel in Keras's HWIO layout; the primitives are created with weights format "any" so oneDNN picks the layout of
 * its fastest jit kernel, and the kernel (and its gradient) is reordered from/to HWIO on every
 * call, which costs little next to the convolution (<150K parameters against millions of
 * activations).
 *
 * Why "any" rather than HWIO directly: measured on the development machine (AMD EPYC, 2 OpenMP
 * threads, oneDNN 2.6.3), batch 32, best of three runs, milliseconds forward / backward:
 *                                   weights "any" (+ reorders)   weights HWIO
 *   conv1 96x96x3 -> 47x47x128      4.2 / 13.8                   6.8 / 28.5
 *   conv2 47x47x128 -> 23x23x128    23.5 / 56.5                  50.0 / 76.4
 * With "any" oneDNN picks brgconv:avx512_core (forward) and jit:avx512_core (both backward
 * passes) with blocked kernels (Acdb64a, ABcd16a16b, ABcd16b16a); with HWIO it falls back to
 * gemm:jit (im2col + sgemm) for all three. The reorders (jit:uni) take 0.02-0.2 ms each.
 *
 * Activation layouts, measured the same way at the pretraining batch (1050 views, 96x96x3 model,
 * fp32, seconds forward + backward-data + backward-weights; docs/PERFORMANCE.md):
 *                                   NHWC -> NHWC            nChw16c (conv1: NCHW -> nChw16c)
 *   conv1 (no backward-data)        0.148 + 0.206           0.089 + 0.123
 *   conv2                           0.761 + 0.827 + 1.142   0.789 + 0.836 + 0.812
 *   conv3                           0.182 + 0.199 + 0.277   0.197 + 0.176 + 0.202
 * (NHWC runs brgconv forward and jit backward kernels, nChw16c jit kernels throughout, whose
 * backward-weights is the fast one.) Mixed pairs such as nChw16c -> NHWC have no jit kernel
 * (oneDNN falls back to its reference, hundreds of times slower), so simclr_conv2d_create accepts only
 * the pairs nn.h lists.
 *
 * bf16 layers: src, dst and their gradients are bf16, the kernel is reordered from the caller's
 * float32 HWIO into a bf16 layout of oneDNN's choice (the reorder rounds), the bias stays
 * float32, and backward-weights writes float32 kernel and bias gradients: float32 master weights
 * and optimizer state, bf16 arithmetic (oneDNN's avx512_core_bf16 kernels on this CPU).
 *
 * A layer holds one oneDNN engine and stream and a small cache of primitives per batch size
 * (training alternates 1050 views, 25 labeled, 525 test images and a partial last batch). The
 * primitives use a user scratchpad; one scratch buffer per layer, grown when a plan for a new
 * batch size needs more, serves them all, so nothing is allocated once a batch size has been
 * seen. A layer is not safe to call from two threads at once.
 */
#include "simclr/nn.h"

#include "util/multiversion.h"

#include <oneapi/dnnl/dnnl.h>
#include <oneapi/dnnl/dnnl_debug.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

/* Batch sizes whose primitives are kept; the least recently used one is replaced. */
enum { CONV2D_PLAN_SLOTS = 4 };

/* Alignment of the buffers handed to oneDNN: one cache line, what its jit kernels prefer. */
enum { CONV2D_BUFFER_ALIGNMENT = 64 };

/* Weights layout the primitives are created with: "any", see the measurement above. */
#define CONV2D_WEIGHTS_TAG dnnl_format_tag_any

/* One primitive and the memory object through which it receives the layer's scratch buffer
 * (NULL when it needs no scratchpad). */
typedef struct conv2d_step {
    dnnl_primitive_t primitive;
    dnnl_memory_t scratchpad;
} conv2d_step;

/* Everything oneDNN needs for one batch size. The memory objects carry no buffer of their own:
 * their data handles are pointed at the caller's tensors (or the layer's staging buffers) on
 * every call. */
typedef struct conv2d_plan {
    int batch;          /* 0: empty slot */
    uint64_t last_used; /* layer->clock at its last use, for LRU replacement */
    dnnl_memory_t src;  /* (N, Cin, H, W) in_layout: src, and diff_src in backward-data */
    dnnl_memory_t dst;  /* (N, Cout, OH, OW) out_layout: dst, and diff_dst in both backward */
    dnnl_memory_t bias; /* (Cout): bias, and diff_bias */
    dnnl_memory_t hwio_weights;          /* the caller's layout */
    dnnl_memory_t forward_weights;       /* layouts the primitives chose */
    dnnl_memory_t backward_data_weights;
    dnnl_memory_t diff_weights;
    conv2d_step forward, backward_data, backward_weights;
    unsigned reference_passes; /* SIMCLR_CONV2D_PASS_* bits whose primitive is oneDNN's ref: one */
    /* Reorders between HWIO and the chosen layouts; primitive NULL where the layout is HWIO. */
    conv2d_step weights_to_forward, weights_to_backward_data, diff_weights_to_hwio;
} conv2d_plan;

struct simclr_conv2d {
    simclr_conv2d_config config;
    int out_height, out_width;
    dnnl_engine_t engine;
    dnnl_stream_t stream;
    conv2d_plan plans[CONV2D_PLAN_SLOTS];
    uint64_t clock; /* counts calls, to find the least recently used plan */
    /* Shared by all plans (calls are sequential), grown as plans are created: */
    void *scratchpad;
    size_t scratchpad_size;
    void *weights_staging; /* the kernel in a chosen layout (forward or backward-data) */
    size_t weights_staging_size;
    void *diff_weights_staging; /* the kernel gradient in the layout backward-weights chose */
    size_t diff_weights_staging_size;
    float *diff_weights_hwio; /* (K, K, Cin, Cout): one call's gradient, before it is added */
    float *diff_bias;         /* (Cout) */
};

/* Turns a oneDNN status into an error naming the call; returns 0 on success, else -1. */
static int dnnl_check(dnnl_status_t status, const char *call, const simclr_conv2d *layer, simclr_error *err)
{
    if (status == dnnl_success) return 0;
    const simclr_conv2d_config *c = &layer->config;
    return simclr_error_set(err, SIMCLR_ERROR_KIND_RESOURCE,
                     "oneDNN %s failed: %s (conv2d %dx%dx%d -> %d channels, kernel %d, stride %d, "
                     "padding %d)",
                     call, dnnl_status2str(status), c->in_height, c->in_width, c->in_channels,
                     c->out_channels, c->kernel, c->stride, c->padding);
}

/* Calls a oneDNN function and returns -1 from the enclosing function (with err set to the
 * function's name and status) when it fails. Needs `layer` and `err` in scope. */
#define DNNL_CALL(function, ...)                                                                   \
    do {                                                                                           \
        if (dnnl_check(function(__VA_ARGS__), #function, layer, err)) return -1;                   \
    } while (0)

static void *aligned_buffer(size_t size, const char *what, simclr_error *err)
{
    size_t rounded = (size + CONV2D_BUFFER_ALIGNMENT - 1) / CONV2D_BUFFER_ALIGNMENT *
                     CONV2D_BUFFER_ALIGNMENT;
    if (rounded == 0) rounded = CONV2D_BUFFER_ALIGNMENT;
    void *buffer = aligned_alloc(CONV2D_BUFFER_ALIGNMENT, rounded);
    if (!buffer)
        simclr_error_set(err, SIMCLR_ERROR_KIND_RESOURCE, "out of memory allocating %s (%zu bytes)", what, size);
    return buffer;
}

/* Makes *buffer hold at least `needed` bytes; its old contents are not kept. */
static int grow_buffer(void **buffer, size_t *size, size_t needed, const char *what, simclr_error *err)
{
    if (needed <= *size) return 0;
    void *bigger = aligned_buffer(needed, what, err);
    if (!bigger) return -1;
    free(*buffer);
    *buffer = bigger;
    *size = needed;
    return 0;
}

int simclr_conv2d_output_size(int in, int kernel, int stride, int padding)
{
    if (stride <= 0 || kernel <= 0 || padding < 0) return 0;
    int span = in + 2 * padding - kernel;
    if (span < 0) return 0;
    return span / stride + 1;
}

/* ---- Plans: creation and release ---------------------------------------------------------- */

static void step_release(conv2d_step *step)
{
    if (step->primitive) dnnl_primitive_destroy(step->primitive);
    if (step->scratchpad) dnnl_memory_destroy(step->scratchpad);
    step->primitive = NULL;
    step->scratchpad = NULL;
}

static void plan_release(conv2d_plan *plan)
{
    conv2d_step *steps[] = {&plan->forward, &plan->backward_data, &plan->backward_weights,
                            &plan->weights_to_forward, &plan->weights_to_backward_data,
                            &plan->diff_weights_to_hwio};
    for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++) step_release(steps[i]);
    dnnl_memory_t memories[] = {plan->src, plan->dst, plan->bias, plan->hwio_weights,
                                plan->forward_weights, plan->backward_data_weights,
                                plan->diff_weights};
    for (size_t i = 0; i < sizeof memories / sizeof memories[0]; i++)
        if (memories[i]) dnnl_memory_destroy(memories[i]);
    memset(plan, 0, sizeof *plan);
}

/* Creates the primitive of pd into step (with a scratchpad memory object if it needs one) and
 * grows the layer's scratch buffer to fit it. */
static int step_create(simclr_conv2d *layer, conv2d_step *step, const_dnnl_primitive_desc_t pd,
                       simclr_error *err)
{
    const dnnl_memory_desc_t *scratchpad_md =
        dnnl_primitive_desc_query_md(pd, dnnl_query_scratchpad_md, 0);
    size_t scratchpad_size = scratchpad_md ? dnnl_memory_desc_get_size(scratchpad_md) : 0;
    if (scratchpad_size > 0) {
        if (grow_buffer(&layer->scratchpad, &layer->scratchpad_size, scratchpad_size,
                        "the conv2d scratchpad", err))
            return -1;
        DNNL_CALL(dnnl_memory_create, &step->scratchpad, scratchpad_md, layer->engine,
                  DNNL_MEMORY_NONE);
    }
    DNNL_CALL(dnnl_primitive_create, &step->primitive, pd);
    return 0;
}

/* Creates a reorder from `from` to `to` into step, unless the layouts are equal (step stays
 * empty). */
static int reorder_create(simclr_conv2d *layer, conv2d_step *step, const dnnl_memory_desc_t *from,
                          const dnnl_memory_desc_t *to, const_dnnl_primitive_attr_t attr,
                          simclr_error *err)
{
    if (dnnl_memory_desc_equal(from, to)) return 0;
    dnnl_primitive_desc_t pd = NULL;
    DNNL_CALL(dnnl_reorder_primitive_desc_create, &pd, from, layer->engine, to, layer->engine,
              attr);
    int status = step_create(layer, step, pd, err);
    dnnl_primitive_desc_destroy(pd);
    return status;
}

static int memory_create(simclr_conv2d *layer, dnnl_memory_t *memory, const dnnl_memory_desc_t *md,
                         simclr_error *err)
{
    DNNL_CALL(dnnl_memory_create, memory, md, layer->engine, DNNL_MEMORY_NONE);
    return 0;
}

static dnnl_format_tag_t layout_tag(simclr_nn_layout layout)
{
    switch (layout) {
    case SIMCLR_NN_LAYOUT_NCHW: return dnnl_nchw;
    case SIMCLR_NN_LAYOUT_BLOCKED16: return dnnl_nChw16c;
    case SIMCLR_NN_LAYOUT_BLOCKED8: return dnnl_nChw8c;
    default: return dnnl_nhwc;
    }
}

/* The three convolution primitive descriptors of one batch size. */
typedef struct conv2d_descs {
    dnnl_primitive_desc_t forward, backward_data, backward_weights;
} conv2d_descs;

static int descs_create(simclr_conv2d *layer, conv2d_descs *descs, int batch,
                        const_dnnl_primitive_attr_t forward_attr,
                        const_dnnl_primitive_attr_t backward_attr, simclr_error *err)
{
    const simclr_conv2d_config *c = &layer->config;
    dnnl_dims_t src_dims = {batch, c->in_channels, c->in_height, c->in_width};
    dnnl_dims_t dst_dims = {batch, c->out_channels, layer->out_height, layer->out_width};
    dnnl_dims_t weights_dims = {c->out_channels, c->in_channels, c->kernel, c->kernel};
    dnnl_dims_t bias_dims = {c->out_channels};
    dnnl_dims_t strides = {c->stride, c->stride};
    dnnl_dims_t padding = {c->padding, c->padding};
    /* Activations and the kernel the arithmetic sees take the layer's precision; the bias and
     * the kernel gradient stay float32. */
    dnnl_data_type_t type = c->precision == SIMCLR_NN_PRECISION_BF16 ? dnnl_bf16 : dnnl_f32;
    dnnl_memory_desc_t src_md, dst_md, weights_md, diff_weights_md, bias_md;
    DNNL_CALL(dnnl_memory_desc_init_by_tag, &src_md, 4, src_dims, type,
              layout_tag(c->in_layout));
    DNNL_CALL(dnnl_memory_desc_init_by_tag, &dst_md, 4, dst_dims, type,
              layout_tag(c->out_layout));
    DNNL_CALL(dnnl_memory_desc_init_by_tag, &weights_md, 4, weights_dims, type,
              CONV2D_WEIGHTS_TAG);
    DNNL_CALL(dnnl_memory_desc_init_by_tag, &diff_weights_md, 4, weights_dims, dnnl_f32,
              CONV2D_WEIGHTS_TAG);
    DNNL_CALL(dnnl_memory_desc_init_by_tag, &bias_md, 1, bias_dims, dnnl_f32, dnnl_x);

    /* Right padding = left padding: oneDNN checks (in - kernel + left + right) / stride + 1
     * == out with integer division, as simclr_conv2d_output_size computes it. */
    dnnl_convolution_desc_t forward_desc, backward_data_desc, backward_weights_desc;
    DNNL_CALL(dnnl_convolution_forward_desc_init, &forward_desc, dnnl_forward_training,
              dnnl_convolution_direct, &src_md, &weights_md, &bias_md, &dst_md, strides, padding,
              padding);
    dnnl_status_t status = dnnl_primitive_desc_create(&descs->forward, &forward_desc,
                                                      forward_attr, layer->engine, NULL);
    if (status == dnnl_unimplemented && c->precision == SIMCLR_NN_PRECISION_BF16)
        return simclr_error_set(err, SIMCLR_ERROR_KIND_RESOURCE,
                         "bf16 convolutions are not available on this CPU (oneDNN has no bf16 "
                         "kernel without AVX-512); use --precision fp32");
    if (dnnl_check(status, "dnnl_primitive_desc_create", layer, err)) return -1;
    DNNL_CALL(dnnl_convolution_backward_data_desc_init, &backward_data_desc,
              dnnl_convolution_direct, &src_md, &weights_md, &dst_md, strides, padding, padding);
    DNNL_CALL(dnnl_primitive_desc_create, &descs->backward_data, &backward_data_desc,
              backward_attr, layer->engine, descs->forward);
    DNNL_CALL(dnnl_convolution_backward_weights_desc_init, &backward_weights_desc,
              dnnl_convolution_direct, &src_md, &diff_weights_md, &bias_md, &dst_md, strides,
              padding, padding);
    DNNL_CALL(dnnl_primitive_desc_create, &descs->backward_weights, &backward_weights_desc,
              backward_attr, layer->engine, descs->forward);
    return 0;
}

static int query_md(const simclr_conv2d *layer, const_dnnl_primitive_desc_t pd, dnnl_query_t what,
                    int index, dnnl_memory_desc_t *md, simclr_error *err)
{
    const dnnl_memory_desc_t *queried = dnnl_primitive_desc_query_md(pd, what, index);
    if (!queried)
        return dnnl_check(dnnl_invalid_arguments, "dnnl_primitive_desc_query_md", layer, err);
    *md = *queried;
    return 0;
}

/* Builds the memory objects and primitives of one batch size from its descriptors. */
static int plan_build(simclr_conv2d *layer, conv2d_plan *plan, const conv2d_descs *descs,
                      const_dnnl_primitive_attr_t reorder_attr, simclr_error *err)
{
    const simclr_conv2d_config *c = &layer->config;
    /* Copies: the queried descriptors belong to the primitive descriptors. */
    dnnl_memory_desc_t src_md, dst_md, bias_md, forward_weights_md, backward_data_weights_md,
        diff_weights_md;
    if (query_md(layer, descs->forward, dnnl_query_src_md, 0, &src_md, err) ||
        query_md(layer, descs->forward, dnnl_query_dst_md, 0, &dst_md, err) ||
        query_md(layer, descs->forward, dnnl_query_weights_md, 1, &bias_md, err) ||
        query_md(layer, descs->forward, dnnl_query_weights_md, 0, &forward_weights_md, err) ||
        query_md(layer, descs->backward_data, dnnl_query_weights_md, 0,
                 &backward_data_weights_md, err) ||
        query_md(layer, descs->backward_weights, dnnl_query_diff_weights_md, 0,
                 &diff_weights_md, err))
        return -1;
    dnnl_dims_t weights_dims = {c->out_channels, c->in_channels, c->kernel, c->kernel};
    dnnl_memory_desc_t hwio_md;
    DNNL_CALL(dnnl_memory_desc_init_by_tag, &hwio_md, 4, weights_dims, dnnl_f32, dnnl_hwio);

    if (memory_create(layer, &plan->src, &src_md, err) ||
        memory_create(layer, &plan->dst, &dst_md, err) ||
        memory_create(layer, &plan->bias, &bias_md, err) ||
        memory_create(layer, &plan->hwio_weights, &hwio_md, err) ||
        memory_create(layer, &plan->forward_weights, &forward_weights_md, err) ||
        memory_create(layer, &plan->backward_data_weights, &backward_data_weights_md, err) ||
        memory_create(layer, &plan->diff_weights, &diff_weights_md, err))
        return -1;

    if (step_create(layer, &plan->forward, descs->forward, err) ||
        step_create(layer, &plan->backward_data, descs->backward_data, err) ||
        step_create(layer, &plan->backward_weights, descs->backward_weights, err) ||
        reorder_create(layer, &plan->weights_to_forward, &hwio_md, &forward_weights_md,
                       reorder_attr, err) ||
        reorder_create(layer, &plan->weights_to_backward_data, &hwio_md,
                       &backward_data_weights_md, reorder_attr, err) ||
        reorder_create(layer, &plan->diff_weights_to_hwio, &diff_weights_md, &hwio_md,
                       reorder_attr, err))
        return -1;

    size_t forward_size = dnnl_memory_desc_get_size(&forward_weights_md);
    size_t backward_data_size = dnnl_memory_desc_get_size(&backward_data_weights_md);
    size_t staging_size = forward_size > backward_data_size ? forward_size : backward_data_size;
    if (grow_buffer(&layer->weights_staging, &layer->weights_staging_size, staging_size,
                    "the conv2d kernel in oneDNN's layout", err) ||
        grow_buffer(&layer->diff_weights_staging, &layer->diff_weights_staging_size,
                    dnnl_memory_desc_get_size(&diff_weights_md),
                    "the conv2d kernel gradient in oneDNN's layout", err))
        return -1;
    return 0;
}

/* 1 when oneDNN picked its reference implementation ("ref:any"), hundreds of times slower than
 * its jit kernels: what it does when no jit kernel takes the layouts on this CPU's ISA. */
static int is_reference(const_dnnl_primitive_desc_t pd)
{
    const char *name = NULL;
    if (dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, &name) != dnnl_success || !name) return 0;
    return strncmp(name, "ref", 3) == 0;
}

static void attrs_release(dnnl_primitive_attr_t *attrs, size_t count)
{
    for (size_t i = 0; i < count; i++)
        if (attrs[i]) dnnl_primitive_attr_destroy(attrs[i]);
}

static int plan_create(simclr_conv2d *layer, conv2d_plan *plan, int batch, simclr_error *err)
{
    /* attrs: [0] forward (ReLU post-op), [1] backward and reorders: all with a user scratchpad
     * so that the one scratch buffer of the layer serves every primitive. */
    dnnl_primitive_attr_t attrs[2] = {NULL, NULL};
    dnnl_post_ops_t post_ops = NULL;
    conv2d_descs descs = {NULL, NULL, NULL};
    int status = -1;
    for (int i = 0; i < 2; i++) {
        if (dnnl_check(dnnl_primitive_attr_create(&attrs[i]), "dnnl_primitive_attr_create",
                       layer, err) ||
            dnnl_check(dnnl_primitive_attr_set_scratchpad_mode(attrs[i], dnnl_scratchpad_mode_user),
                       "dnnl_primitive_attr_set_scratchpad_mode", layer, err))
            goto done;
    }
    if (layer->config.activation == SIMCLR_NN_ACTIVATION_RELU) {
        if (dnnl_check(dnnl_post_ops_create(&post_ops), "dnnl_post_ops_create", layer, err) ||
            dnnl_check(dnnl_post_ops_append_eltwise(post_ops, 1.0f, dnnl_eltwise_relu, 0.0f, 0.0f),
                       "dnnl_post_ops_append_eltwise", layer, err) ||
            dnnl_check(dnnl_primitive_attr_set_post_ops(attrs[0], post_ops),
                       "dnnl_primitive_attr_set_post_ops", layer, err))
            goto done;
    }
    if (descs_create(layer, &descs, batch, attrs[0], attrs[1], err)) goto done;
    plan->reference_passes = (is_reference(descs.forward) ? SIMCLR_CONV2D_PASS_FORWARD : 0u) |
                             (is_reference(descs.backward_data) ? SIMCLR_CONV2D_PASS_BACKWARD_DATA : 0u) |
                             (is_reference(descs.backward_weights) ? SIMCLR_CONV2D_PASS_BACKWARD_WEIGHTS : 0u);
    if (plan_build(layer, plan, &descs, attrs[1], err)) goto done;
    plan->batch = batch;
    status = 0;
done:
    if (status) plan_release(plan);
    if (descs.forward) dnnl_primitive_desc_destroy(descs.forward);
    if (descs.backward_data) dnnl_primitive_desc_destroy(descs.backward_data);
    if (descs.backward_weights) dnnl_primitive_desc_destroy(descs.backward_weights);
    if (post_ops) dnnl_post_ops_destroy(post_ops);
    attrs_release(attrs, 2);
    return status;
}

/* The plan for this batch size: cached, or created in an empty or the least recently used
 * slot. */
static conv2d_plan *plan_for_batch(simclr_conv2d *layer, int batch, simclr_error *err)
{
    layer->clock++;
    conv2d_plan *victim = &layer->plans[0];
    for (int i = 0; i < CONV2D_PLAN_SLOTS; i++) {
        conv2d_plan *plan = &layer->plans[i];
        if (plan->batch == batch) {
            plan->last_used = layer->clock;
            return plan;
        }
        if (plan->batch == 0) {
            if (victim->batch != 0) victim = plan;
        } else if (victim->batch != 0 && plan->last_used < victim->last_used) {
            victim = plan;
        }
    }
    plan_release(victim);
    if (plan_create(layer, victim, batch, err)) return NULL;
    victim->last_used = layer->clock;
    return victim;
}

/* ---- Execution ---------------------------------------------------------------------------- */

/* oneDNN takes non-const data handles even for tensors it only reads. */
static int memory_bind(simclr_conv2d *layer, dnnl_memory_t memory, const void *data, simclr_error *err)
{
    DNNL_CALL(dnnl_memory_set_data_handle, memory, (void *)data);
    return 0;
}

/* Executes step with args (room for one more, the scratchpad, which is appended here). */
static int step_run(simclr_conv2d *layer, const conv2d_step *step, dnnl_exec_arg_t *args, int count,
                    simclr_error *err)
{
    if (step->scratchpad) {
        if (memory_bind(layer, step->scratchpad, layer->scratchpad, err)) return -1;
        args[count++] = (dnnl_exec_arg_t){DNNL_ARG_SCRATCHPAD, step->scratchpad};
    }
    DNNL_CALL(dnnl_primitive_execute, step->primitive, layer->stream, count, args);
    DNNL_CALL(dnnl_stream_wait, layer->stream);
    return 0;
}

/* Makes `chosen` hold the caller's HWIO kernel in the layout a primitive wants: through a
 * reorder into the staging buffer, or by pointing it at the caller's kernel when the layout is
 * HWIO already. */
static int weights_prepare(simclr_conv2d *layer, conv2d_plan *plan, const conv2d_step *reorder,
                           dnnl_memory_t chosen, const float *weight, simclr_error *err)
{
    if (!reorder->primitive) return memory_bind(layer, chosen, weight, err);
    if (memory_bind(layer, plan->hwio_weights, weight, err) ||
        memory_bind(layer, chosen, layer->weights_staging, err))
        return -1;
    dnnl_exec_arg_t args[3] = {{DNNL_ARG_FROM, plan->hwio_weights}, {DNNL_ARG_TO, chosen}};
    return step_run(layer, reorder, args, 2, err);
}

static int batch_check_value(int batch, simclr_error *err)
{
    if (batch > 0) return 0;
    return simclr_error_input(err, "conv2d: batch size %d must be positive", batch);
}

/* Accepts the layout pairs that have oneDNN jit kernels (nn.h, simclr_conv2d_config). */
static int layouts_check(const simclr_conv2d_config *config, simclr_error *err)
{
    simclr_nn_layout in = config->in_layout, out = config->out_layout;
    int block = simclr_nn_layout_block(out);
    if (in == SIMCLR_NN_LAYOUT_NHWC && out == SIMCLR_NN_LAYOUT_NHWC) return 0;
    if (block > 0 && config->out_channels % block == 0) {
        if (in == out && config->in_channels % block == 0) return 0;
        if (in == SIMCLR_NN_LAYOUT_NCHW && config->in_channels < block) return 0;
    }
    return simclr_error_input(err,
                       "conv2d: layouts %s -> %s with %d -> %d channels are not supported "
                       "(expected nhwc -> nhwc, nChw16c -> nChw16c or nChw8c -> nChw8c with "
                       "channels multiples of the block, or nchw -> a blocked layout with fewer input "
                       "channels than the block)",
                       simclr_nn_layout_name(in), simclr_nn_layout_name(out), config->in_channels,
                       config->out_channels);
}

int simclr_conv2d_create(simclr_conv2d **layer_out, const simclr_conv2d_config *config, simclr_error *err)
{
    *layer_out = NULL;
    if (config->in_height <= 0 || config->in_width <= 0 || config->in_channels <= 0 ||
        config->out_channels <= 0 || config->kernel <= 0 || config->stride <= 0 ||
        config->padding < 0)
        return simclr_error_input(err, "conv2d: sizes must be positive (input %dx%dx%d, %d channels out, "
                                "kernel %d, stride %d, padding %d)",
                           config->in_height, config->in_width, config->in_channels,
                           config->out_channels, config->kernel, config->stride, config->padding);
    if (config->precision != SIMCLR_NN_PRECISION_FP32 && config->precision != SIMCLR_NN_PRECISION_BF16)
        return simclr_error_input(err, "conv2d: unknown precision %d (expected fp32 or bf16)",
                           (int)config->precision);
    if (layouts_check(config, err)) return -1;
    int out_height = simclr_conv2d_output_size(config->in_height, config->kernel, config->stride,
                                        config->padding);
    int out_width = simclr_conv2d_output_size(config->in_width, config->kernel, config->stride,
                                       config->padding);
    if (out_height <= 0 || out_width <= 0)
        return simclr_error_input(err, "conv2d: input %dx%d is too small for a %dx%d kernel with "
                                "padding %d (the output would be empty); use larger images or "
                                "fewer layers",
                           config->in_height, config->in_width, config->kernel, config->kernel,
                           config->padding);
    simclr_conv2d *layer = simclr_checked_calloc(1, sizeof *layer, "a conv2d layer", err);
    if (!layer) return -1;
    layer->config = *config;
    layer->out_height = out_height;
    layer->out_width = out_width;
    size_t weight_count = (size_t)config->kernel * config->kernel * config->in_channels *
                          config->out_channels;
    layer->diff_weights_hwio = simclr_checked_calloc(weight_count, sizeof(float), "a conv2d gradient", err);
    layer->diff_bias = simclr_checked_calloc((size_t)config->out_channels, sizeof(float),
                                      "a conv2d gradient", err);
    if (!layer->diff_weights_hwio || !layer->diff_bias ||
        dnnl_check(dnnl_engine_create(&layer->engine, dnnl_cpu, 0), "dnnl_engine_create", layer,
                   err) ||
        dnnl_check(dnnl_stream_create(&layer->stream, layer->engine, dnnl_stream_default_flags),
                   "dnnl_stream_create", layer, err)) {
        simclr_conv2d_free(layer);
        return -1;
    }
    *layer_out = layer;
    return 0;
}

void simclr_conv2d_free(simclr_conv2d *layer)
{
    if (!layer) return;
    for (int i = 0; i < CONV2D_PLAN_SLOTS; i++) plan_release(&layer->plans[i]);
    if (layer->stream) dnnl_stream_destroy(layer->stream);
    if (layer->engine) dnnl_engine_destroy(layer->engine);
    free(layer->scratchpad);
    free(layer->weights_staging);
    free(layer->diff_weights_staging);
    free(layer->diff_weights_hwio);
    free(layer->diff_bias);
    free(layer);
}

/* Whether oneDNN has bf16 convolutions here: probed once per process (pthread_once, so that two
 * threads opening models at once both wait for the one answer; issue 24 found the flag set
 * before the probe ran). */
static int bf16_known;
static pthread_once_t bf16_probe_once = PTHREAD_ONCE_INIT;

static void bf16_probe(void)
{
    int known = 0;
    dnnl_engine_t engine = NULL;
    if (dnnl_engine_create(&engine, dnnl_cpu, 0) != dnnl_success) {
        bf16_known = 0;
        return;
    }
    dnnl_dims_t src_dims = {2, 16, 9, 9}, dst_dims = {2, 16, 4, 4}, weights_dims = {16, 16, 3, 3};
    dnnl_dims_t strides = {2, 2}, padding = {0, 0};
    dnnl_memory_desc_t src_md, dst_md, weights_md;
    dnnl_convolution_desc_t desc;
    dnnl_primitive_desc_t pd = NULL;
    if (dnnl_memory_desc_init_by_tag(&src_md, 4, src_dims, dnnl_bf16, dnnl_nhwc) == dnnl_success &&
        dnnl_memory_desc_init_by_tag(&dst_md, 4, dst_dims, dnnl_bf16, dnnl_nhwc) == dnnl_success &&
        dnnl_memory_desc_init_by_tag(&weights_md, 4, weights_dims, dnnl_bf16,
                                     dnnl_format_tag_any) == dnnl_success &&
        dnnl_convolution_forward_desc_init(&desc, dnnl_forward_training, dnnl_convolution_direct,
                                           &src_md, &weights_md, NULL, &dst_md, strides, padding,
                                           padding) == dnnl_success &&
        dnnl_primitive_desc_create(&pd, &desc, NULL, engine, NULL) == dnnl_success)
        known = 1;
    if (pd) dnnl_primitive_desc_destroy(pd);
    dnnl_engine_destroy(engine);
    bf16_known = known;
}

int simclr_conv2d_bf16_available(void)
{
    pthread_once(&bf16_probe_once, bf16_probe);
    return bf16_known;
}

int simclr_conv2d_reference_passes(const simclr_conv2d_config *config, int batch, unsigned *passes,
                                   simclr_error *err)
{
    *passes = 0;
    simclr_conv2d *layer = NULL;
    if (batch_check_value(batch, err) || simclr_conv2d_create(&layer, config, err)) return -1;
    conv2d_plan *plan = plan_for_batch(layer, batch, err);
    if (plan) *passes = plan->reference_passes;
    simclr_conv2d_free(layer);
    return plan ? 0 : -1;
}

simclr_nn_layout simclr_conv2d_blocked_layout(void)
{
    unsigned isa = (unsigned)dnnl_get_effective_cpu_isa();
    unsigned avx512_core = (unsigned)dnnl_cpu_isa_avx512_core, mic = (unsigned)dnnl_cpu_isa_avx512_mic;
    return (isa & avx512_core) == avx512_core || (isa & mic) == mic ? SIMCLR_NN_LAYOUT_BLOCKED16
                                                                   : SIMCLR_NN_LAYOUT_BLOCKED8;
}

int simclr_conv2d_bf16_prefers_nhwc(void)
{
    unsigned isa = (unsigned)dnnl_get_effective_cpu_isa(); /* cheap: no state kept here */
    return (isa & (unsigned)dnnl_cpu_isa_avx512_core_amx) == (unsigned)dnnl_cpu_isa_avx512_core_amx;
}

const char *simclr_conv2d_cpu_isa_name(void)
{
    switch (dnnl_get_effective_cpu_isa()) {
    case dnnl_cpu_isa_sse41: return "sse41";
    case dnnl_cpu_isa_avx: return "avx";
    case dnnl_cpu_isa_avx2: return "avx2";
    case dnnl_cpu_isa_avx2_vnni: return "avx2_vnni";
    case dnnl_cpu_isa_avx512_mic: return "avx512_mic";
    case dnnl_cpu_isa_avx512_mic_4ops: return "avx512_mic_4ops";
    case dnnl_cpu_isa_avx512_core: return "avx512_core";
    case dnnl_cpu_isa_avx512_core_vnni: return "avx512_core_vnni";
    case dnnl_cpu_isa_avx512_core_bf16: return "avx512_core_bf16";
    case dnnl_cpu_isa_avx512_core_amx: return "avx512_core_amx";
    default: return "unknown";
    }
}

int simclr_conv2d_out_height(const simclr_conv2d *layer) { return layer->out_height; }
int simclr_conv2d_out_width(const simclr_conv2d *layer) { return layer->out_width; }

static int batch_check(const simclr_conv2d *layer, int batch, simclr_error *err)
{
    return batch_check_value(batch, err);
}

int simclr_conv2d_forward(simclr_conv2d *layer, void *out, const void *in, const float *weight,
                   const float *bias, int batch, simclr_error *err)
{
    if (batch_check(layer, batch, err)) return -1;
    conv2d_plan *plan = plan_for_batch(layer, batch, err);
    if (!plan) return -1;
    if (weights_prepare(layer, plan, &plan->weights_to_forward, plan->forward_weights, weight,
                        err) ||
        memory_bind(layer, plan->src, in, err) || memory_bind(layer, plan->dst, out, err) ||
        memory_bind(layer, plan->bias, bias, err))
        return -1;
    dnnl_exec_arg_t args[5] = {{DNNL_ARG_SRC, plan->src},
                               {DNNL_ARG_WEIGHTS, plan->forward_weights},
                               {DNNL_ARG_BIAS, plan->bias},
                               {DNNL_ARG_DST, plan->dst}};
    return step_run(layer, &plan->forward, args, 4, err);
}

/* The element-wise loops of backward, over [first, last): the calling thread's share (see
 * simclr_thread_share). Multiversioned (util/multiversion.h): in a portable build the bf16 mask's
 * unsigned 16-bit compares have no baseline SSE instruction and ran scalar, doubling the seed's
 * first-layer backward in bf16 (0.26 -> 0.57 s at 96x96x3, 1050 views, bench --breakdown). */

/* Zeroes the gradient where the ReLU was inactive (out <= 0): d_out becomes the gradient w.r.t.
 * the convolution's pre-activation output. */
SIMCLR_MULTIVERSIONED static void relu_mask_range(float *d_out, const float *out, size_t first, size_t last)
{
    for (size_t i = first; i < last; i++)
        if (!(out[i] > 0.0f)) d_out[i] = 0.0f;
}

/* The same on bf16 tensors: a bf16 value is > 0 when its sign bit is clear and it is neither
 * zero nor NaN. */
SIMCLR_MULTIVERSIONED static void relu_mask_bf16_range(uint16_t *d_out, const uint16_t *out, size_t first,
                                                       size_t last)
{
    for (size_t i = first; i < last; i++) {
        uint16_t v = out[i];
        if (v == 0 || v >= 0x7f81u) d_out[i] = 0;
    }
}

SIMCLR_MULTIVERSIONED static void add_into_range(float *sum, const float *term, size_t first, size_t last)
{
    for (size_t i = first; i < last; i++) sum[i] += term[i];
}

/* Below this many elements a parallel region costs more than it saves. */
#define CONV2D_PARALLEL_MIN 65536

static void relu_mask(float *d_out, const float *out, size_t count)
{
#pragma omp parallel if (count > CONV2D_PARALLEL_MIN)
    {
        size_t first, last;
        simclr_thread_share(count, &first, &last);
        relu_mask_range(d_out, out, first, last);
    }
}

static void relu_mask_bf16(uint16_t *d_out, const uint16_t *out, size_t count)
{
#pragma omp parallel if (count > CONV2D_PARALLEL_MIN)
    {
        size_t first, last;
        simclr_thread_share(count, &first, &last);
        relu_mask_bf16_range(d_out, out, first, last);
    }
}

static void add_into(float *sum, const float *term, size_t count)
{
#pragma omp parallel if (count > CONV2D_PARALLEL_MIN)
    {
        size_t first, last;
        simclr_thread_share(count, &first, &last);
        add_into_range(sum, term, first, last);
    }
}

int simclr_conv2d_backward(simclr_conv2d *layer, void *d_in, float *d_weight, float *d_bias, void *d_out,
                    const void *out, const void *in, const float *weight, int batch, simclr_error *err)
{
    if (batch_check(layer, batch, err)) return -1;
    const simclr_conv2d_config *c = &layer->config;
    conv2d_plan *plan = plan_for_batch(layer, batch, err);
    if (!plan) return -1;
    if (c->activation == SIMCLR_NN_ACTIVATION_RELU && out) {
        size_t count = (size_t)batch * layer->out_height * layer->out_width * c->out_channels;
        if (c->precision == SIMCLR_NN_PRECISION_BF16)
            relu_mask_bf16(d_out, out, count);
        else
            relu_mask(d_out, out, count);
    }
    if (memory_bind(layer, plan->dst, d_out, err)) return -1;

    /* Weight gradients first: d_in may be the input's own buffer, which backward-data then
     * overwrites. oneDNN overwrites its gradients; they land in scratch buffers and are added
     * afterwards. */
    void *diff_weights_target = plan->diff_weights_to_hwio.primitive ? layer->diff_weights_staging
                                                                     : (void *)layer->diff_weights_hwio;
    if (memory_bind(layer, plan->src, in, err) ||
        memory_bind(layer, plan->diff_weights, diff_weights_target, err) ||
        memory_bind(layer, plan->bias, layer->diff_bias, err))
        return -1;
    dnnl_exec_arg_t args[5] = {{DNNL_ARG_SRC, plan->src},
                               {DNNL_ARG_DIFF_DST, plan->dst},
                               {DNNL_ARG_DIFF_WEIGHTS, plan->diff_weights},
                               {DNNL_ARG_DIFF_BIAS, plan->bias}};
    if (step_run(layer, &plan->backward_weights, args, 4, err)) return -1;
    if (plan->diff_weights_to_hwio.primitive) {
        if (memory_bind(layer, plan->hwio_weights, layer->diff_weights_hwio, err)) return -1;
        dnnl_exec_arg_t reorder_args[3] = {{DNNL_ARG_FROM, plan->diff_weights},
                                           {DNNL_ARG_TO, plan->hwio_weights}};
        if (step_run(layer, &plan->diff_weights_to_hwio, reorder_args, 2, err)) return -1;
    }

    if (d_in) {
        if (weights_prepare(layer, plan, &plan->weights_to_backward_data,
                            plan->backward_data_weights, weight, err) ||
            memory_bind(layer, plan->src, d_in, err))
            return -1;
        dnnl_exec_arg_t data_args[4] = {{DNNL_ARG_DIFF_DST, plan->dst},
                                        {DNNL_ARG_WEIGHTS, plan->backward_data_weights},
                                        {DNNL_ARG_DIFF_SRC, plan->src}};
        if (step_run(layer, &plan->backward_data, data_args, 3, err)) return -1;
    }
    add_into(d_weight, layer->diff_weights_hwio,
             (size_t)c->kernel * c->kernel * c->in_channels * c->out_channels);
    add_into(d_bias, layer->diff_bias, (size_t)c->out_channels);
    return 0;
}
