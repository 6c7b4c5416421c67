package dev.loupe.sae;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.loupe.LoupeException;
import dev.loupe.hub.HubClient;
import dev.loupe.sae.format.ActivationNormalization;
import dev.loupe.sae.format.GemmaScope;
import dev.loupe.sae.format.SaeArchitecture;
import dev.loupe.sae.format.SaeConfig;
import dev.loupe.sae.format.SaeFiles;
import dev.loupe.sae.pretrained.PretrainedSaes;
import dev.loupe.sae.pretrained.SaeRelease;
import dev.loupe.sae.pretrained.SaeReleases;
import java.nio.file.Path;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * One sparse autoencoder or transcoder, computed as SAELens 6.18 computes it. Shapes (d_out = d_in except
 * for transcoders; hook_z SAEs take and give [.., n_heads, d_head] and work on the flattened
 * [.., n_heads·d_head], head-major):
 * <ul>
 * <li>{@link #encode}: x [.., d_in] → feature activations [.., d_sae]: the input is normalised
 *     ({@code normalize_activations}), b_dec subtracted if {@code apply_b_dec_to_input}, then per architecture
 *     standard relu(x·W_enc + b_enc); topk the k largest pre-activations (scaled by ‖W_dec[i]‖ if
 *     {@code rescale_acts_by_decoder_norm}), relu'd, the rest 0; jumprelu relu(pre)·(pre &gt; threshold), strict;
 *     gated (x·W_enc + b_gate &gt; 0)·relu(x·(W_enc ⊙ exp(r_mag)) + b_mag); transcoder relu(x·W_enc + b_enc).</li>
 * <li>{@link #decode}: acts [.., d_sae] → acts·W_dec + b_dec [.., d_out] (topk with rescaling divides by the
 *     norms first), SAELens's {@code hook_sae_recons}, reshaped for hook_z; no de-normalisation, which needs
 *     the input's statistics: {@link #forward} applies it.</li>
 * <li>{@link #forward}: decode(encode(x)) de-normalised, in x's shape.</li>
 * </ul>
 * The weights live in a manager of the SAE's own; close the SAE to free them. An SAE is immutable and may be
 * used by several threads at once.
 */
public final class Sae implements AutoCloseable {
    /** The SAE's hook points, by SAELens's names, in the order they fire. */
    public static final String HOOK_INPUT = "hook_sae_input";
    public static final String HOOK_ACTS_PRE = "hook_sae_acts_pre";
    public static final String HOOK_ACTS_POST = "hook_sae_acts_post";
    public static final String HOOK_RECONS = "hook_sae_recons";
    public static final String HOOK_ERROR = "hook_sae_error";
    public static final String HOOK_OUTPUT = "hook_sae_output";

    private final SaeConfig cfg;
    private final NDManager manager;
    private final Map<String, NDArray> tensors;
    final NDArray magnitudeEncoder; // gated: W_enc ⊙ exp(r_mag) [d_in, d_sae]
    final NDArray decoderNorms; // topk with rescaling: ‖W_dec[i]‖₂ [d_sae]

    private Sae(SaeConfig cfg, Map<String, NDArray> tensors, NDManager manager) {
        this.cfg = cfg;
        this.manager = manager;
        this.tensors = Collections.unmodifiableMap(new LinkedHashMap<>(tensors));
        if (cfg.architecture() == SaeArchitecture.TRANSCODER && (cfg.reshapeHookZ()
                || cfg.normalizeActivations() != ActivationNormalization.NONE)) {
            throw new LoupeException("A transcoder with reshape_activations or normalize_activations is not supported "
                    + "(SAELens's transcoders use neither on their output)");
        }
        magnitudeEncoder = cfg.architecture() == SaeArchitecture.GATED
                ? tensor("W_enc").mul(tensor("r_mag").exp()) : null;
        decoderNorms = cfg.rescaleActsByDecoderNorm() ? tensor("W_dec").norm(new int[] {-1}) : null;
    }

    /**
     * An SAE from its config and tensors (checked and cast as {@link SaeFiles#check} does); the tensors are
     * copied into a manager of the SAE's own under {@code parent}.
     */
    public static Sae of(SaeConfig cfg, Map<String, NDArray> tensors, NDManager parent) {
        NDManager own = parent.newSubManager();
        try {
            Map<String, NDArray> copies = new LinkedHashMap<>();
            SaeFiles.check(cfg, tensors, "SAE tensors").forEach((name, t) -> {
                NDArray copy = t.duplicate();
                copy.attach(own);
                copies.put(name, copy);
            });
            return new Sae(cfg, copies, own);
        } catch (RuntimeException e) {
            own.close();
            throw e;
        }
    }

    /**
     * Loads an SAE folder ({@code cfg.json} + {@code sae_weights.safetensors}, as SAELens's {@code save_model}
     * writes it and {@code load_from_disk} reads it).
     *
     * @throws dev.loupe.CheckpointException if a file is missing or malformed, naming the file and the field
     */
    public static Sae load(Path dir, NDManager parent) {
        NDManager own = parent.newSubManager();
        try {
            SaeFiles.Contents contents = SaeFiles.read(dir, own);
            return new Sae(contents.cfg(), contents.tensors(), own);
        } catch (RuntimeException e) {
            own.close();
            throw e;
        }
    }

    /**
     * Converts a Gemma Scope {@code params.npz} as SAELens's {@code gemma_2} loader does ({@link GemmaScope}).
     *
     * @param overrides config values replacing the derived ones ({@code {"d_in": 32}}), or null
     */
    public static Sae fromGemmaScope(Path npz, String repoId, String folder,
            ObjectNode overrides, NDManager parent) {
        NDManager own = parent.newSubManager();
        try {
            SaeFiles.Contents contents = GemmaScope.convert(npz, repoId, folder, overrides, own);
            return new Sae(contents.cfg(), contents.tensors(), own);
        } catch (RuntimeException e) {
            own.close();
            throw e;
        }
    }

    /**
     * SAELens's {@code SAE.from_pretrained(release, sae_id)}: one SAE of a released set, fetched from the Hugging
     * Face Hub configured by the environment ({@code HF_ENDPOINT}, {@code HF_HUB_CACHE}, {@code HF_HUB_OFFLINE}, …)
     * into the cache shared with Python, or read from that cache offline. Loupe knows the releases
     * {@link #pretrainedReleases()} lists ({@code gpt2-small-res-jb}, {@code gpt2-small-hook-z-kk},
     * {@code gemma-scope-2b-pt-res-canonical}, {@code gemma-scope-2b-pt-mlp-canonical},
     * {@code gemma-scope-2b-pt-att-canonical}, {@code gemma-scope-9b-pt-res-canonical},
     * {@code pythia-70m-deduped-res-sm}) with every id SAELens lists for them; a Hub repository id
     * ({@code org/name}) not in that list loads the SAELens folder {@code saeId} of that repository.
     *
     * <pre>{@code
     * Sae sae = Sae.fromPretrained("gemma-scope-2b-pt-res-canonical", "layer_0/width_16k/canonical", manager);
     * // google/gemma-scope-2b-pt-res, layer_0/width_16k/average_l0_105/params.npz: W_enc [2304, 16384]
     * }</pre>
     *
     * @throws LoupeException if the release or id is unknown (naming the closest ones) or the files cannot be had
     */
    public static Sae fromPretrained(String release, String saeId, NDManager parent) {
        return fromPretrained(release, saeId, HubClient.fromEnvironment(), null, parent);
    }

    /** As {@link #fromPretrained(String, String, NDManager)}, fetching with {@code client}. */
    public static Sae fromPretrained(String release, String saeId, HubClient client, NDManager parent) {
        return fromPretrained(release, saeId, client, null, parent);
    }

    /**
     * As {@link #fromPretrained(String, String, HubClient, NDManager)}, with config values that replace the
     * release's and the derived ones (SAELens's {@code cfg_overrides}; {@code {"d_in": 32}}), or null.
     */
    public static Sae fromPretrained(String release, String saeId, HubClient client, ObjectNode cfgOverrides,
            NDManager parent) {
        NDManager own = parent.newSubManager();
        try {
            SaeFiles.Contents contents = PretrainedSaes.load(release, saeId, client, cfgOverrides, own);
            return new Sae(contents.cfg(), contents.tensors(), own);
        } catch (RuntimeException e) {
            own.close();
            throw e;
        }
    }

    /** The releases {@link #fromPretrained(String, String, NDManager)} knows, with their ids, in SAELens's order. */
    public static List<SaeRelease> pretrainedReleases() {
        return SaeReleases.all();
    }

    /** Writes the SAE as SAELens's {@code save_model} does ({@link SaeFiles#write}). */
    public void save(Path dir) {
        SaeFiles.write(dir, cfg, tensors);
    }

    /** Its configuration. */
    public SaeConfig cfg() {
        return cfg;
    }

    /** The hook point it reads ({@code metadata.hook_name}), or null. */
    public String hookName() {
        return cfg.hookName();
    }

    /**
     * The model's hook point that {@link #hookName()} names, where the SAE reads (and, unless a transcoder, what it
     * replaces): the name itself, except SAELens's {@code blocks.{l}.mlp.hook_in} ({@link SaeHookPoint}).
     */
    public String hookPoint() {
        return SaeHookPoint.of(cfg.hookName());
    }

    /** Whether it is a transcoder (it reads {@link #hookPoint()} and writes {@code hookNameOut}). */
    public boolean isTranscoder() {
        return cfg.architecture() == SaeArchitecture.TRANSCODER;
    }

    /** Every tensor by SAELens's name, in the architecture's order ({@code W_enc}, {@code W_dec}, …; read-only). */
    public Map<String, NDArray> tensors() {
        return tensors;
    }

    /** The tensor {@code name} ({@code W_dec} [d_sae, d_out], …). */
    public NDArray tensor(String name) {
        NDArray t = tensors.get(name);
        if (t == null) {
            throw new LoupeException("A " + cfg.architecture().jsonName() + " SAE has no tensor " + name + "; it has "
                    + tensors.keySet());
        }
        return t;
    }

    /** The decoder, W_dec [d_sae, d_out]: row f is feature f's direction. */
    public NDArray wDec() {
        return tensor("W_dec");
    }

    /** The encoder, W_enc [d_in, d_sae]. */
    public NDArray wEnc() {
        return tensor("W_enc");
    }

    /** Feature activations [.., d_sae] of x [.., d_in] (hook_z: [.., n_heads, d_head]); no hooks fire. */
    public NDArray encode(NDArray x) {
        SaePass pass = new SaePass(this, SaeHooks.NONE);
        return pass.encode(pass.input(x));
    }

    /**
     * acts·W_dec + b_dec [.., d_out] of acts [.., d_sae]: SAELens's {@code hook_sae_recons}, before any
     * de-normalisation (see the class comment) and flat for hook_z SAEs.
     */
    public NDArray decode(NDArray acts) {
        return new SaePass(this, SaeHooks.NONE).decode(acts);
    }

    /** decode(encode(x)) de-normalised, in x's shape (a transcoder's: [.., d_out]); no hooks fire. */
    public NDArray forward(NDArray x) {
        return new SaePass(this, SaeHooks.NONE).run(x);
    }

    /**
     * SAELens's {@code SAE.forward} with its hook points firing through {@code hooks}: x → output in x's
     * shape. With {@code useErrorTerm}, the SAE runs a second time with no hooks, and the output is the
     * hooked reconstruction plus error = x − decode(encode(x)) ({@code hook_sae_error}), so that without edits
     * the output equals x, and with edits it is x plus exactly their effect.
     */
    public NDArray forward(NDArray x, SaeHooks hooks, boolean useErrorTerm) {
        if (isTranscoder()) {
            throw new LoupeException("A transcoder maps " + cfg.hookName() + " to " + cfg.hookNameOut()
                    + "; use transcode(input, output, hooks, useErrorTerm)");
        }
        NDArray out = new SaePass(this, hooks).run(x);
        if (useErrorTerm) {
            NDArray clean = new SaePass(this, SaeHooks.NONE).run(x);
            out = out.add(hooks.fire(HOOK_ERROR, x.sub(clean).stopGradient()));
        }
        return hooks.fire(HOOK_OUTPUT, out);
    }

    /**
     * A transcoder's output [.., d_out] for its input x [.., d_in] (the activation at {@code hook_name}), with
     * its hook points firing through {@code hooks}. With {@code useErrorTerm}, {@code replaced} (the activation
     * at {@code hook_name_out} that the output replaces) minus the clean output is added
     * ({@code hook_sae_error}); without, {@code replaced} may be null.
     */
    public NDArray transcode(NDArray x, NDArray replaced, SaeHooks hooks, boolean useErrorTerm) {
        if (!isTranscoder()) {
            throw new LoupeException("transcode is for transcoders; this is a " + cfg.architecture().jsonName() + " SAE");
        }
        NDArray out = new SaePass(this, hooks).run(x);
        if (useErrorTerm) {
            NDArray clean = new SaePass(this, SaeHooks.NONE).run(x);
            out = out.add(hooks.fire(HOOK_ERROR, replaced.sub(clean).stopGradient()));
        }
        return out;
    }

    @Override
    public void close() {
        manager.close();
    }
}
