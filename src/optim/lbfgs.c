/* L-BFGS with the two-loop recursion and a backtracking Armijo line search. */
#include "simclr/lbfgs.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

simclr_lbfgs_config simclr_lbfgs_config_default(void)
{
    simclr_lbfgs_config config = {.history = 10, .max_iterations = 1000, .gradient_tolerance = 1e-5,
                                  .value_tolerance = 1e-10};
    return config;
}

static double dot(const double *a, const double *b, size_t n)
{
    double total = 0.0;
    for (size_t i = 0; i < n; i++) total += a[i] * b[i];
    return total;
}

static double max_abs(const double *a, size_t n)
{
    double largest = 0.0;
    for (size_t i = 0; i < n; i++)
        if (fabs(a[i]) > largest) largest = fabs(a[i]);
    return largest;
}

int simclr_lbfgs_minimize(simclr_lbfgs_objective objective, void *context, double *x, size_t n,
                          const simclr_lbfgs_config *config, simclr_lbfgs_result *result, simclr_error *err)
{
    memset(result, 0, sizeof *result);
    int m = config->history > 0 ? config->history : 10;
    size_t mm = (size_t)m;
    /* s (m, n), y (m, n): the last m steps and gradient changes, a ring buffer. */
    double *block = simclr_checked_calloc(2 * mm * n + 5 * n + 2 * mm, sizeof(double), "L-BFGS state", err);
    if (!block) return -1;
    double *s = block, *y = s + mm * n, *grad = y + mm * n, *direction = grad + n, *x_new = direction + n,
           *grad_new = x_new + n, *spare = grad_new + n, *rho = spare + n, *alpha = rho + mm;
    double value = objective(context, x, grad);
    result->evaluations = 1;
    int stored = 0, newest = -1;
    for (int iteration = 0; iteration < config->max_iterations; iteration++) {
        if (max_abs(grad, n) <= config->gradient_tolerance) {
            result->converged = 1;
            break;
        }
        /* direction = -H grad by the two-loop recursion */
        for (size_t i = 0; i < n; i++) direction[i] = -grad[i];
        for (int k = 0; k < stored; k++) {
            int j = (newest - k + m) % m;
            alpha[j] = rho[j] * dot(s + (size_t)j * n, direction, n);
            for (size_t i = 0; i < n; i++) direction[i] -= alpha[j] * y[(size_t)j * n + i];
        }
        double gamma = 1.0;
        if (stored > 0) {
            double yy = dot(y + (size_t)newest * n, y + (size_t)newest * n, n);
            gamma = yy > 0 ? dot(s + (size_t)newest * n, y + (size_t)newest * n, n) / yy : 1.0;
        } else {
            double g = sqrt(dot(grad, grad, n));
            gamma = g > 0 ? 1.0 / g : 1.0; /* first step: unit length */
        }
        for (size_t i = 0; i < n; i++) direction[i] *= gamma;
        for (int k = stored - 1; k >= 0; k--) {
            int j = (newest - k + m) % m;
            double beta = rho[j] * dot(y + (size_t)j * n, direction, n);
            for (size_t i = 0; i < n; i++) direction[i] += s[(size_t)j * n + i] * (alpha[j] - beta);
        }
        double slope = dot(grad, direction, n);
        if (slope >= 0) { /* not a descent direction: restart from steepest descent */
            stored = 0;
            double g = sqrt(dot(grad, grad, n));
            for (size_t i = 0; i < n; i++) direction[i] = -grad[i] / (g > 0 ? g : 1.0);
            slope = dot(grad, direction, n);
        }
        /* Backtracking: the first step with f(x + t d) <= f(x) + 1e-4 t slope. */
        double step = 1.0, value_new = value;
        int accepted = 0;
        for (int tries = 0; tries < 60; tries++) {
            for (size_t i = 0; i < n; i++) x_new[i] = x[i] + step * direction[i];
            value_new = objective(context, x_new, grad_new);
            result->evaluations++;
            if (isfinite(value_new) && value_new <= value + 1e-4 * step * slope) {
                accepted = 1;
                break;
            }
            step *= 0.5;
        }
        if (!accepted) {
            result->converged = 1; /* no further decrease is possible in floating point */
            break;
        }
        /* The new pair (in direction/spare, no longer needed) enters the history only with
         * positive curvature, so H stays positive definite. */
        double *s_new = direction, *y_new = spare;
        for (size_t i = 0; i < n; i++) {
            s_new[i] = x_new[i] - x[i];
            y_new[i] = grad_new[i] - grad[i];
        }
        double sy = dot(s_new, y_new, n);
        if (sy > 1e-12 * sqrt(dot(s_new, s_new, n) * dot(y_new, y_new, n))) {
            int slot = (newest + 1) % m;
            memcpy(s + (size_t)slot * n, s_new, n * sizeof(double));
            memcpy(y + (size_t)slot * n, y_new, n * sizeof(double));
            rho[slot] = 1.0 / sy;
            newest = slot;
            if (stored < m) stored++;
        }
        double decrease = value - value_new;
        memcpy(x, x_new, n * sizeof(double));
        memcpy(grad, grad_new, n * sizeof(double));
        value = value_new;
        result->iterations = iteration + 1;
        if (decrease <= config->value_tolerance * (fabs(value) > 1.0 ? fabs(value) : 1.0)) {
            result->converged = 1;
            break;
        }
    }
    if (!result->converged && max_abs(grad, n) <= config->gradient_tolerance) result->converged = 1;
    result->value = value;
    result->gradient_max = max_abs(grad, n);
    free(block);
    return 0;
}
