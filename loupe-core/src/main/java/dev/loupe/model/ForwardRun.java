package dev.loupe.model;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.GradientCollector;
import dev.loupe.LoupeException;
import dev.loupe.cache.ActivationCache;
import dev.loupe.cache.CacheModel;
import dev.loupe.cache.CacheOptions;
import dev.loupe.config.TransformerConfig;
import dev.loupe.hook.AttachedHooks;
import dev.loupe.hook.HookPoint;
import dev.loupe.hook.HookRegistry;
import dev.loupe.hook.HookSpec;
import dev.loupe.hook.Splice;
import dev.loupe.numeric.Autograd;
import dev.loupe.run.ForwardOptions;
import dev.loupe.run.ModelOutput;
import dev.loupe.run.ReturnType;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;

/**
 * One run of the model: takes the model's config and model-level hooks as they are when it starts,
 * adds the run's own hooks (and its caching and gradient hooks) to a private copy that only this run
 * fires, computes inside a manager of its own, and hands what outlives the run to the caller.
 * Temporaries are freed however the run ends. Runs on different threads share nothing but the
 * weights, which they only read; runs that need gradients take {@link Autograd#lock()} in turn.
 *
 * <p>Gradients at hook points use a zero probe: the activation continues as {@code activation +
 * probe}, where {@code probe} is a zero leaf that requires a gradient, so d(metric)/d(probe) equals
 * d(metric)/d(activation). (Asking DJL for the gradient of a non-leaf silently gives zeros.)
 */
final class ForwardRun {
    /** What a run produced: its output, and its cache if one was asked for. */
    record Result(ModelOutput output, ActivationCache cache) {}

    private record Probe(HookPoint point, NDArray probe) {}

    private final Network network;
    private final TransformerConfig cfg;
    private final CacheModel model;
    private final NDManager pass;
    private final CacheOptions cacheOptions;
    private final Map<String, NDArray> cached = new LinkedHashMap<>();
    private final List<Probe> probes = new ArrayList<>();

    private ForwardRun(Network network, TransformerConfig cfg, CacheModel model, NDManager pass,
            CacheOptions cacheOptions) {
        this.network = network;
        this.cfg = cfg;
        this.model = model;
        this.pass = pass;
        this.cacheOptions = cacheOptions;
    }

    /**
     * @param model what the returned cache analyses with (the façade over {@code network})
     * @param cacheOwnsInput whether the cache takes over the input's manager (for inputs made just for
     *     this run), rather than living in a manager of its own under it
     */
    static Result run(Network network, CacheModel model, NDArray input, ForwardOptions options, List<HookSpec> hooks,
            List<Splice> splices, CacheOptions cacheOptions, boolean cacheOwnsInput) {
        TransformerConfig cfg = network.config();
        Function<String, String> whyNotFiring = name -> network.whyNotFiring(name, cfg);
        AttachedHooks start = network.registry().hooksWith(splices);
        HookRegistry registry = start.registry(); // the model's points, or a view with the splices' points
        for (Splice splice : registry.splices()) {
            String why = whyNotFiring.apply(splice.target());
            if (why != null) {
                throw new LoupeException("Cannot splice a module in at " + splice.target() + ": " + why);
            }
        }
        AttachedHooks.Builder own = start.toBuilder();
        for (HookSpec spec : hooks) {
            own.add(spec, registry.resolve(spec, whyNotFiring));
        }
        NDManager caller = input.getManager();
        try (NDManager pass = caller.newSubManager()) {
            ForwardRun run = new ForwardRun(network, cfg, model, pass, cacheOptions);
            if (cacheOptions != null) {
                HookSpec keep = HookSpec.forward(cacheOptions.namesFilter(), run::keep);
                own.add(keep, registry.resolve(keep, whyNotFiring));
            }
            Set<String> gradientPoints = run.gradientPoints(own.build(), registry);
            if (!gradientPoints.isEmpty()) {
                HookSpec probe = HookSpec.forward(gradientPoints::contains, run::probe);
                own.add(probe, registry.resolve(probe, whyNotFiring));
            }
            try (AttachedHooks.Binding bound = own.build().bind()) {
                return gradientPoints.isEmpty()
                        ? run.finish(run.compute(input, options), caller, false, cacheOwnsInput)
                        : run.finish(run.computeWithGradients(input, options), caller, true, cacheOwnsInput);
            }
        }
    }

    /** Names of the points whose gradient someone wants: backward hooks, or cached gradients. */
    private Set<String> gradientPoints(AttachedHooks hooks, HookRegistry registry) {
        Set<String> names = new HashSet<>();
        for (HookPoint point : registry.points().values()) {
            boolean cachedGradient = cacheOptions != null && cacheOptions.includeGradients()
                    && cacheOptions.namesFilter().test(point.name());
            if (hooks.hasBackward(point) || cachedGradient) {
                names.add(point.name());
            }
        }
        return names;
    }

    private NDArray keep(NDArray activation, HookPoint point) {
        cached.put(point.name(), activation);
        return null;
    }

    private NDArray probe(NDArray activation, HookPoint point) {
        if (!activation.getDataType().isFloating()) {
            return null; // token ids, chosen experts: nothing to differentiate
        }
        NDArray probe = activation.zerosLike();
        probe.setRequiresGradient(true);
        probes.add(new Probe(point, probe));
        return activation.add(probe);
    }

    private ModelOutput compute(NDArray input, ForwardOptions options) {
        int start = network.layerIndex(options.startAtLayer(), 0, "startAtLayer");
        int stop = network.layerIndex(options.stopAtLayer(), cfg.nLayers(), "stopAtLayer");
        NDArray in = start == 0 ? ownTokens(input, "input") : ownResidual(input);
        NDArray padding = options.attentionMask() == null ? null : ownMask(options.attentionMask(), in.getShape());
        boolean stopsEarly = options.stopAtLayer() != null;
        NDArray output = network.compute(in, start, stop, padding, pass, !stopsEarly, options.pastKvCache(), cfg);
        if (stopsEarly) {
            return new ModelOutput(null, null, output);
        }
        ReturnType type = options.returnType();
        NDArray loss = type.wantsLoss() ? Losses.crossEntropy(output, lossTokens(in, start, options), padding,
                options.lossPerToken()) : null;
        return new ModelOutput(type.wantsLogits() ? output : null, loss, null);
    }

    private ModelOutput computeWithGradients(NDArray input, ForwardOptions options) {
        Autograd.lock().lock();
        Autograd.setRecording(true);
        try (GradientCollector collector = Engine.getInstance().newGradientCollector()) {
            // Logits are needed for the metric even when the caller asked for none.
            ForwardOptions withLogits = options.returnType().wantsLogits() || options.stopAtLayer() != null
                    ? options : options.toBuilder().returnType(ReturnType.BOTH).build();
            ModelOutput full = compute(input, withLogits);
            NDArray metric = metric(full, input, options);
            if (metric.size() != 1) {
                throw new LoupeException("The metric must be a scalar, got shape " + metric.getShape());
            }
            collector.backward(metric);
            for (int i = probes.size() - 1; i >= 0; i--) {
                Probe probe = probes.get(i);
                NDArray gradient = probe.probe().getGradient();
                probe.point().fireBackward(gradient);
                if (cacheOptions != null && cacheOptions.includeGradients()
                        && cacheOptions.namesFilter().test(probe.point().name())) {
                    cached.put(probe.point().name() + "_grad", gradient);
                }
            }
            boolean keepLogits = options.returnType().wantsLogits();
            return new ModelOutput(keepLogits ? detach(full.logits()) : null, detach(full.loss()),
                    detach(full.residual()));
        } finally {
            Autograd.setRecording(false);
            Autograd.lock().unlock();
        }
    }

    private NDArray metric(ModelOutput full, NDArray input, ForwardOptions options) {
        NDArray main = full.residual() != null ? full.residual() : full.logits();
        if (options.metric() != null) {
            return options.metric().apply(main);
        }
        if (full.residual() != null) {
            throw new LoupeException("A run that stops at a layer has no loss: pass ForwardOptions.metric(...) "
                    + "to say which scalar backward hooks differentiate");
        }
        if (full.loss() != null && !options.lossPerToken()) {
            return full.loss();
        }
        int start = network.layerIndex(options.startAtLayer(), 0, "startAtLayer");
        NDArray tokens = start == 0 ? ownTokens(input, "input") : lossTokens(null, start, options);
        return Losses.crossEntropy(main, tokens, options.attentionMask() == null ? null
                : ownMask(options.attentionMask(), tokens.getShape()), false);
    }

    private Result finish(ModelOutput output, NDManager caller, boolean detach, boolean cacheOwnsInput) {
        NDManager target = cacheOptions == null || cacheOwnsInput ? caller : caller.newSubManager();
        ModelOutput owned = new ModelOutput(adopt(output.logits(), target), adopt(output.loss(), target),
                adopt(output.residual(), target));
        if (cacheOptions == null) {
            return new Result(owned, null);
        }
        Map<String, NDArray> entries = new LinkedHashMap<>();
        for (Map.Entry<String, NDArray> entry : cached.entrySet()) {
            NDArray value = detach ? detach(entry.getValue()) : entry.getValue();
            entries.put(entry.getKey(), adopt(value, target));
        }
        return new Result(owned, new ActivationCache(entries, owned, target, model));
    }

    /** Moves an array made in this run to {@code target}; copies one that belongs to someone else. */
    private NDArray adopt(NDArray array, NDManager target) {
        if (array == null || array.getManager() == target) {
            return array;
        }
        if (array.getManager() == pass) {
            array.attach(target);
            return array;
        }
        NDArray copy = array.duplicate();
        copy.attach(target);
        return copy;
    }

    private NDArray detach(NDArray array) {
        return array == null ? null : array.stopGradient();
    }

    private NDArray ownTokens(NDArray input, String what) {
        Shape shape = input.getShape();
        DataType type = input.getDataType();
        if (shape.dimension() == 0) {
            throw new LoupeException("The " + what + " is a scalar (rank 0, shape [], " + type + "), but token ids must be"
                    + " int64 [batch, pos] (or [pos]); make one token a batch of one sequence of length 1, shape [1, 1]"
                    + " (manager.create(new long[][] {{id}}) or ids.reshape(1, 1))");
        }
        if (!(type == DataType.INT64 || type == DataType.INT32) || shape.dimension() > 2) {
            throw new LoupeException("The " + what + " must be int64 token ids [batch, pos] (or [pos]), got " + type
                    + " of shape " + shape + " (rank " + shape.dimension() + "); to start from the residual stream"
                    + " [batch, pos, d_model], set ForwardOptions.startAtLayer");
        }
        NDArray tokens = own(input).toType(DataType.INT64, false);
        return shape.dimension() == 1 ? tokens.expandDims(0) : tokens;
    }

    private NDArray ownResidual(NDArray input) {
        Shape shape = input.getShape();
        if (shape.dimension() != 3 || shape.get(2) != cfg.dModel() || input.getDataType() != DataType.FLOAT32) {
            throw new LoupeException("With startAtLayer the input must be the float32 residual stream [batch, pos, "
                    + cfg.dModel() + "], got " + input.getDataType() + " " + shape);
        }
        return own(input);
    }

    private NDArray ownMask(NDArray mask, Shape tokens) {
        Shape expected = new Shape(tokens.get(0), tokens.get(1));
        if (!mask.getShape().equals(expected)) {
            throw new LoupeException("The attention mask has shape " + mask.getShape() + " but the input needs "
                    + expected + " ([batch, pos] of 1 for tokens and 0 for padding)");
        }
        return own(mask).toType(DataType.INT64, false);
    }

    private NDArray lossTokens(NDArray tokens, int start, ForwardOptions options) {
        if (start == 0) {
            return tokens;
        }
        if (options.tokens() == null) {
            throw new LoupeException("A run that starts at a layer needs ForwardOptions.tokens(...) to compute the loss");
        }
        return ownTokens(options.tokens(), "tokens");
    }

    /** A copy owned by this run, so that no temporary lands in the caller's manager. */
    private NDArray own(NDArray array) {
        NDArray copy = array.duplicate();
        copy.attach(pass);
        return copy;
    }
}
