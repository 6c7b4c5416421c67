package dev.loupe.train;

import ai.djl.ndarray.NDArray;
import java.util.List;
import java.util.Map;

/** What every optimizer here shares: per-parameter state slots and a step count, saved and restored by name. */
abstract class StatefulOptimizer implements Optimizer {
    protected final OptimizerState state;
    protected long steps;

    StatefulOptimizer(List<NDArray> parameters, List<String> slots) {
        this.state = new OptimizerState(parameters, slots);
    }

    @Override
    public List<NDArray> parameters() {
        return state.parameters();
    }

    @Override
    public long stepCount() {
        return steps;
    }

    @Override
    public Map<String, NDArray> state() {
        return state.named();
    }

    @Override
    public void loadState(Map<String, NDArray> saved, long stepCount) {
        state.load(saved);
        steps = stepCount;
    }

    @Override
    public void close() {
        state.close();
    }
}
