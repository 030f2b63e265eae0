#ifndef SIMCLR_LBFGS_H
#define SIMCLR_LBFGS_H
/*
 * Limited-memory BFGS (Nocedal & Wright, algorithm 7.4: the two-loop recursion over the last
 * `history` pairs) with a backtracking Armijo line search, for smooth full-batch objectives such
 * as the linear evaluation's L2-regularised softmax regression. Stops when the largest gradient
 * entry is below gradient_tolerance, when a step lowers the objective by less than
 * value_tolerance * max(1, |f|), or after max_iterations.
 */
#include <stddef.h>

#include "simclr/error.h"
#include "simclr/export.h"
SIMCLR_BEGIN_DECLS

/* Returns f(x) and writes its gradient (n doubles) into grad. */
typedef double (*simclr_lbfgs_objective)(void *context, const double *x, double *grad);

typedef struct simclr_lbfgs_config {
    int history;               /* 10 */
    int max_iterations;        /* 1000 */
    double gradient_tolerance; /* 1e-5 */
    double value_tolerance;    /* 1e-10 */
} simclr_lbfgs_config;

simclr_lbfgs_config simclr_lbfgs_config_default(void);

typedef struct simclr_lbfgs_result {
    int iterations;
    int evaluations;      /* objective calls */
    double value;         /* f at the returned x */
    double gradient_max;  /* largest |gradient entry| there */
    int converged;        /* 1: a tolerance was met; 0: max_iterations ran out */
} simclr_lbfgs_result;

/* Minimises from x (n doubles, overwritten by the minimiser found). */
int simclr_lbfgs_minimize(simclr_lbfgs_objective objective, void *context, double *x, size_t n,
                          const simclr_lbfgs_config *config, simclr_lbfgs_result *result, simclr_error *err);

SIMCLR_END_DECLS
#endif
