#ifndef SIMCLR_METHOD_INTERNAL_H
#define SIMCLR_METHOD_INTERNAL_H
/*
 * Private to src/method and src/train/pretrain.c: what the one pretraining loop calls to train
 * with a self-supervised method. The loop builds the 2B views (view 1 of every image, then view
 * 2), owns the online encoder and projection head and their optimizers, and steps them after
 * `step`; a method owns everything else (target/key networks, predictor and its optimizer, queue,
 * loss buffers) and lists what of it goes into checkpoints.
 *
 *   step        forward the 2B views, compute the loss, zero the online networks' gradients and
 *               write the loss's gradients into them (encoder and head);
 *   after_step  after the loop's optimizer update of encoder and head: the method's own
 *               optimizer steps (predictor), the EMA of target networks, the queue update.
 */
#include "simclr/checkpoint.h"
#include "simclr/loss.h"
#include "simclr/network.h"
#include "simclr/optim.h"
#include "simclr/distributed.h"
#include "simclr/model.h"
#include "simclr/ssl_method.h"

#define SIMCLR_METHOD_MAX_PARTS 4

typedef struct simclr_method simclr_method;

/* What a method is built from (issue 24): the training engine fills it from the run's settings
 * (simclr_train_method_settings), so that nothing here depends on the training code. The fields
 * are the run's of the same names (train.h). */
typedef struct simclr_method_settings {
    simclr_method_kind method;
    simclr_model_config model;
    simclr_optimizer_config optimizer;  /* the online networks' and the predictor's */
    simclr_contrastive_kind loss_kind;
    float temperature;
    float ema_momentum;                 /* 0: the method's default */
    int queue_size;
    int predictor_hidden;               /* 0: the method's default */
    float barlow_lambda;
    float vicreg_weights[3];
    size_t unlabeled_batch, labeled_batch;
    uint64_t seed;
    simclr_communicator *communicator;  /* NULL: one process */
} simclr_method_settings;

/* What every method's step reports, the history's c_loss and c_acc (the seed's column names,
 * kept for every method; README "Methods" says what each one's means):
 *   simclr           loss: the contrastive loss per image (seed or NT-Xent); correct: rows of the
 *                    similarity matrix whose largest entry is the positive pair;
 *   moco             loss: InfoNCE against the queue, the mean of both directions; correct:
 *                    queries whose positive key beats every queued negative;
 *   byol, simsiam    loss: the symmetrised negative cosine (BYOL: 4 - 2(cos12 + cos21), SimSiam:
 *                    -(cos12 + cos21) / 2); correct: pair retrieval (a view's nearest other view
 *                    in the batch is its pair);
 *   barlow, vicreg   loss: the redundancy-reduction loss of the batch; correct: pair retrieval.
 * total: the rows counted for correct (2B). */
typedef struct simclr_method_result {
    float loss;
    int correct;
    int total;
} simclr_method_result;

typedef struct simclr_method_ops {
    int (*step)(simclr_method *method, const float *views, int batch, simclr_method_result *result,
                simclr_error *err);
    int (*after_step)(simclr_method *method, float learning_rate, long long global_step, simclr_error *err);
    void (*free)(simclr_method *method);
} simclr_method_ops;

struct simclr_method {
    const simclr_method_ops *ops;
    simclr_method_settings settings;
    const simclr_method_settings *config; /* &settings */
    simclr_network *encoder, *head;   /* the online networks, borrowed */
    long long total_steps;            /* of the run: BYOL's momentum schedule */
    simclr_checkpoint_part parts[SIMCLR_METHOD_MAX_PARTS]; /* what the method adds to checkpoints */
    int part_count;
    void *state;                      /* the method's own */
};

/* Sets up config->method for online networks built for 2 x batch views. */
int simclr_method_create(simclr_method *method, const simclr_method_settings *config, simclr_network *encoder,
                         simclr_network *head, int batch, long long total_steps, simclr_error *err);
int simclr_method_step(simclr_method *method, const float *views, int batch, simclr_method_result *result,
                       simclr_error *err);
int simclr_method_after_step(simclr_method *method, float learning_rate, long long global_step, simclr_error *err);
void simclr_method_free(simclr_method *method);

/* Bytes the method allocates beyond the online networks (target networks, predictor and its
 * optimizer state, queue, loss workspaces), for batch images per step. */
int simclr_method_memory_bytes(const simclr_method_settings *config, int batch, size_t *bytes, simclr_error *err);

/* One constructor per method (simclr.c, moco.c, byol.c, simsiam.c; redundancy.c builds Barlow
 * Twins and VICReg, which differ in the loss alone). */
int simclr_method_simclr_create(simclr_method *method, int batch, simclr_error *err);
int simclr_method_moco_create(simclr_method *method, int batch, simclr_error *err);
int simclr_method_byol_create(simclr_method *method, int batch, simclr_error *err);
int simclr_method_simsiam_create(simclr_method *method, int batch, simclr_error *err);
int simclr_method_redundancy_create(simclr_method *method, int batch, simclr_error *err);
/* The loss workspace of Barlow Twins or VICReg (kind), for the memory estimate. */
size_t simclr_method_redundancy_workspace_floats(simclr_method_kind kind, int batch, int width);

/* ---- Shared pieces (method_common.c) ---------------------------------------------------- */

/* The count views through encoder and then head (the online pair, or a target/key pair). */
int simclr_method_forward_pair(simclr_network *encoder, simclr_network *head, const float *views, int count,
                               simclr_error *err);
/* The online pair's gradients from d_projections (2B, D), the loss's gradient at the head's
 * output: zeroes them, then head and encoder backward (the last forward's batch). */
int simclr_method_backward_online(simclr_method *method, const float *d_projections, simclr_error *err);

/* A network with net's layers, input shape and tensors (parameters and batchnorm statistics
 * copied), named `name`, for max_batch images: a target/key network. */
int simclr_method_clone_network(simclr_network *clone, const simclr_network *net, const char *name, int max_batch,
                                simclr_error *err);
/* target = momentum target + (1 - momentum) online, over the parameters (the batchnorm running
 * statistics are the target's own, from its training-mode forwards). */
void simclr_method_ema_update(simclr_network *target, const simclr_network *online, float momentum);
/* BYOL's tau at a step: 1 - (1 - base) (cos(pi step / total) + 1) / 2. */
float simclr_method_cosine_momentum(float base, long long step, long long total);
/* How many rows i of a (B, D) have b_i as their most cosine-similar row of b (the pair
 * retrieval accuracy the non-contrastive methods log as c_acc). workspace: B x B floats. */
int simclr_method_pair_hits(const float *a, const float *b, int batch, int dim, float *workspace);
/* The EMA momentum of the run: config->ema_momentum or the method's default. */
float simclr_method_ema_momentum(const simclr_method_settings *config);
int simclr_method_predictor_hidden(const simclr_method_settings *config);

/* ---- The predictor BYOL and SimSiam share (predictor.c) --------------------------------- */

/* Dense(hidden, no bias) + BatchNorm1d + ReLU -> Dense(projection width), trained by its own
 * optimizer with the run's settings and rate, and the buffers of its loss. */
typedef struct simclr_method_predictor {
    simclr_network net;
    simclr_optimizer optimizer;
    float *targets;       /* (2B, D): what view 1's predictions are pulled to (rows B..2B-1) and
                           * view 2's (rows 0..B-1); no gradient flows into them */
    float *d_predictions; /* (2B, D) */
    float *hits_workspace; /* B x B */
} simclr_method_predictor;

/* The predictor of method->config for 2 x batch views, its weights from the run's seed. */
int simclr_method_predictor_init(simclr_method_predictor *predictor, const simclr_method *method, int batch,
                                 simclr_error *err);
/* After the caller's forward of the online encoder and head and its filling of targets: the
 * predictions p = predictor(projections), loss = offset + weight (D(p1, t2) + D(p2, t1)) with D
 * the negative cosine (src/loss/cosine.c), c_acc, and backward through predictor, head and
 * encoder (their gradients zeroed first). */
int simclr_method_predictor_step(simclr_method *method, simclr_method_predictor *predictor, int batch,
                                 float offset, float weight, simclr_method_result *result, simclr_error *err);
/* The predictor's optimizer step at the run's rate. */
void simclr_method_predictor_update(simclr_method_predictor *predictor, float learning_rate);
void simclr_method_predictor_free(simclr_method_predictor *predictor);

#endif
