package dev.loupe.lens.causal;

import java.util.ArrayDeque;
import java.util.Deque;
import java.util.Iterator;

/**
 * A small L-BFGS minimiser in double precision for the few-thousand-wide problems of
 * {@link CausalBasisSearch}: two-loop recursion over the last {@link #HISTORY} steps and a
 * backtracking line search on the Armijo condition. It stops after {@code maxEvaluations} objective
 * evaluations, or when the value changes by less than {@code tolerance} of itself between two
 * accepted steps (the stopping rule of the tuned-lens library's basis search), or when no descent is
 * left.
 */
final class Lbfgs {
    static final int HISTORY = 10;
    private static final double ARMIJO = 1e-4;
    private static final double SHRINK = 0.5;
    private static final double GRADIENT_TOLERANCE = 1e-7;

    /** A value and its gradient at a point. */
    record Evaluation(double value, double[] gradient) {}

    /** The function to minimise. */
    @FunctionalInterface
    interface Objective {
        Evaluation evaluate(double[] x);
    }

    /** Where the search ended. */
    record Result(double[] x, double value, int evaluations) {}

    private Lbfgs() {}

    static Result minimize(Objective objective, double[] start, int maxEvaluations, double tolerance) {
        double[] x = start.clone();
        Evaluation current = objective.evaluate(x);
        int evaluations = 1;
        Deque<double[][]> history = new ArrayDeque<>(); // {s, y, 1/(y·s)}, newest first
        boolean first = true;
        while (evaluations < maxEvaluations && maxAbs(current.gradient()) > GRADIENT_TOLERANCE) {
            double[] direction = direction(current.gradient(), history);
            double slope = dot(current.gradient(), direction);
            if (!(slope < 0)) {
                break;
            }
            // torch's first step is min(1, 1/|g|₁); later steps try the quasi-Newton step itself.
            double step = first ? Math.min(1, 1 / sumAbs(current.gradient())) : 1;
            first = false;
            double[] next = null;
            Evaluation trial = null;
            while (evaluations < maxEvaluations) {
                next = axpy(step, direction, x);
                trial = objective.evaluate(next);
                evaluations++;
                if (trial.value() <= current.value() + ARMIJO * step * slope) {
                    break;
                }
                trial = null;
                step *= SHRINK;
            }
            if (trial == null) {
                break;
            }
            double[] s = subtract(next, x);
            double[] y = subtract(trial.gradient(), current.gradient());
            double ys = dot(y, s);
            if (ys > 1e-10) {
                history.addFirst(new double[][] {s, y, {1 / ys}});
                if (history.size() > HISTORY) {
                    history.removeLast();
                }
            }
            double change = Math.abs(trial.value() - current.value());
            x = next;
            current = trial;
            if (change < tolerance * Math.abs(current.value())) {
                break;
            }
        }
        return new Result(x, current.value(), evaluations);
    }

    /** −H·g by the two-loop recursion. */
    private static double[] direction(double[] gradient, Deque<double[][]> history) {
        double[] q = gradient.clone();
        double[] alphas = new double[history.size()];
        int i = 0;
        for (double[][] pair : history) {
            alphas[i] = pair[2][0] * dot(pair[0], q);
            q = axpy(-alphas[i], pair[1], q);
            i++;
        }
        if (!history.isEmpty()) {
            double[][] newest = history.peekFirst();
            double scale = 1 / (newest[2][0] * dot(newest[1], newest[1])); // (s·y)/(y·y)
            for (int j = 0; j < q.length; j++) {
                q[j] *= scale;
            }
        }
        Iterator<double[][]> oldestFirst = history.descendingIterator();
        i = history.size() - 1;
        while (oldestFirst.hasNext()) {
            double[][] pair = oldestFirst.next();
            double beta = pair[2][0] * dot(pair[1], q);
            q = axpy(alphas[i] - beta, pair[0], q);
            i--;
        }
        for (int j = 0; j < q.length; j++) {
            q[j] = -q[j];
        }
        return q;
    }

    private static double dot(double[] a, double[] b) {
        double sum = 0;
        for (int i = 0; i < a.length; i++) {
            sum += a[i] * b[i];
        }
        return sum;
    }

    /** a·x + y, new. */
    private static double[] axpy(double a, double[] x, double[] y) {
        double[] out = new double[y.length];
        for (int i = 0; i < y.length; i++) {
            out[i] = a * x[i] + y[i];
        }
        return out;
    }

    private static double[] subtract(double[] a, double[] b) {
        return axpy(-1, b, a);
    }

    private static double maxAbs(double[] a) {
        double max = 0;
        for (double v : a) {
            max = Math.max(max, Math.abs(v));
        }
        return max;
    }

    private static double sumAbs(double[] a) {
        double sum = 0;
        for (double v : a) {
            sum += Math.abs(v);
        }
        return sum;
    }
}
