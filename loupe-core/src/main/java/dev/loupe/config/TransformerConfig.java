package dev.loupe.config;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import dev.loupe.LoupeException;
import java.io.IOException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import java.util.function.Function;

/**
 * The shape and behaviour of a transformer, with TransformerLens's {@code HookedTransformerConfig}
 * fields as camelCase components. As JSON (see {@link #toJson()} and {@link #fromJson(String)}) the
 * keys are TransformerLens's snake_case names ({@code n_layers}, {@code d_model}, {@code act_fn}, …).
 *
 * <p>The kinds TransformerLens spells as strings ({@code act_fn}, {@code normalization_type},
 * {@code positional_embedding_type}, {@code attn_types}, and the steps of Loupe's
 * {@code weight_processing}) are enums here, written and read as TransformerLens's exact strings; the
 * builder also takes the first three by name.
 *
 * <p>Every architecture is described by one of these; the components branch on it only where the
 * math differs. The hook flags ({@code useAttnResult}, {@code useSplitQkvInput}, {@code useAttnIn},
 * {@code useHookMlpIn}, {@code useHookTokens}) only decide which extra hook points fire; they never
 * change the logits.
 *
 * @param nLayers number of transformer blocks
 * @param dModel width of the residual stream
 * @param nCtx largest number of positions the model accepts
 * @param dHead width of one attention head
 * @param nHeads number of attention heads
 * @param dMlp hidden width of the MLP
 * @param dVocab number of input tokens
 * @param dVocabOut number of output logits
 * @param actFn MLP activation (null for attention-only models)
 * @param eps epsilon of every normalisation
 * @param normalizationType the blocks' norm ({@code LN}, {@code LNPre}, {@code RMS}, {@code RMSPre} or
 *     {@code None}; null reads as {@code None})
 * @param positionalEmbeddingType how positions enter ({@code standard}, {@code rotary} or {@code alibi};
 *     null reads as {@code standard})
 * @param useAttnScale whether attention scores are divided by {@code attnScale}
 * @param attnScale divisor of the attention scores, {@code sqrt(d_head)} unless set
 * @param attnOnly whether blocks have no MLP
 * @param parallelAttnMlp whether attention and MLP both read {@code resid_pre} (GPT-J, NeoX)
 * @param useAttnResult fire {@code attn.hook_result} [batch, pos, head_index, d_model]
 * @param useSplitQkvInput fire {@code hook_q_input}/{@code hook_k_input}/{@code hook_v_input}
 * @param useAttnIn fire {@code hook_attn_in} [batch, pos, head_index, d_model]
 * @param useHookMlpIn fire {@code hook_mlp_in} [batch, pos, d_model]
 * @param useHookTokens fire {@code hook_tokens} [batch, pos]
 * @param defaultPrependBos whether text is tokenised with a BOS token in front by default
 * @param modelName a name for messages and file names
 * @param originalArchitecture the Hugging Face class the weights came from
 * @param tokenizerName the tokenizer's name or folder, if known
 * @param nKeyValueHeads key/value heads for grouped-query attention (null: as many as query heads)
 * @param ungroupGroupedQueryAttention repeat keys and values to {@code n_heads} before {@code hook_k}/{@code hook_v}
 * @param rotaryDim how many dimensions of each head rotary embeddings rotate (null: all)
 * @param rotaryBase rotary base θ ({@code rope_theta})
 * @param rotaryAdjacentPairs rotate adjacent pairs (GPT-J) instead of the two halves (NeoX, Llama)
 * @param useNtkByPartsRope Llama 3's rope scaling
 * @param ntkByPartsLowFreqFactor Llama 3 scaling's {@code low_freq_factor}
 * @param ntkByPartsHighFreqFactor Llama 3 scaling's {@code high_freq_factor}
 * @param ntkByPartsFactor Llama 3 scaling's {@code factor}
 * @param ntkOriginalCtxLen Llama 3 scaling's {@code original_max_position_embeddings}
 * @param gatedMlp whether the MLP is gated ({@code act(x·W_gate) * (x·W_in)})
 * @param finalRms whether the final norm is an RMSNorm
 * @param postEmbeddingLn whether a LayerNorm ({@code embed.ln}) follows the embedding (BLOOM)
 * @param useLocalAttn whether some layers attend only to the last {@code windowSize} positions
 * @param windowSize the window of local layers
 * @param attnTypes per layer, global or local attention (with {@code useLocalAttn})
 * @param weightProcessing the weight-processing steps applied to the weights, in order (as JSON by
 *     their TransformerLens names: {@code fold_ln}, {@code center_writing_weights}, {@code center_unembed},
 *     {@code fold_value_biases}, {@code refactor_factored_attn_matrices}); empty for weights as Hugging
 *     Face has them. TransformerLens records only {@code fold_ln} (as LNPre); lenses need the rest,
 *     since centring changes the basis of the residual stream and of the logits.
 * @param attnScoresSoftCap Gemma 2's attention soft-cap: scores become {@code cap·tanh(scores/cap)}
 *     after the scale and before the mask ({@code attn_logit_softcapping}); ≤ 0 (TransformerLens's -1) for none
 * @param outputLogitsSoftCap Gemma 2's final soft-cap: logits become {@code cap·tanh(logits/cap)} after the
 *     unembedding ({@code final_logit_softcapping}; {@code unembed.hook_out} and the lenses see them before
 *     it); ≤ 0 (TransformerLens's -1) for none
 * @param rotaryBaseLocal rotary θ of the local (sliding-window) layers, when it differs from
 *     {@code rotaryBase}, which then serves the global layers (Gemma 3); null: {@code rotaryBase} everywhere
 * @param useQkNorm whether queries and keys pass through an RMSNorm ({@code attn.q_norm}, {@code attn.k_norm},
 *     weights {@code w}) between {@code hook_q}/{@code hook_k} and the rotary embedding (Gemma 3, Qwen3, OLMo 2)
 * @param useNormalizationBeforeAndAfter whether each block also normalises the outputs of attention
 *     ({@code ln1_post}) and of the MLP ({@code ln2_post}) before adding them to the residual stream (Gemma 2 and 3)
 * @param useNormalizationAfterOnly Loupe's own ({@code use_normalization_after_only}; TransformerLens has no
 *     such model): blocks have only those post-norms ({@code ln1_post}, {@code ln2_post}) and no
 *     {@code ln1}/{@code ln2}, so attention and the MLP read the raw residual stream (OLMo 2)
 * @param qkNormAcrossHeads Loupe's own ({@code qk_norm_across_heads}): the q/k norms normalise each
 *     position's whole projection, all heads together, with weights [n_heads·d_head] and
 *     [n_key_value_heads·d_head] (OLMo 2), instead of each head over d_head with weights [d_head]
 *     (Gemma 3, Qwen3)
 * @param numExperts experts of each block's mixture-of-experts MLP (Mixtral), or null for a dense
 *     MLP; each expert is a gated MLP of width {@code d_mlp}
 * @param expertsPerToken how many experts each token is routed to ({@code top_k}), with
 *     {@code numExperts}; their router probabilities are renormalised to sum to 1, as Mixtral does
 */
@JsonIgnoreProperties(ignoreUnknown = true)
public record TransformerConfig(
        int nLayers,
        int dModel,
        int nCtx,
        int dHead,
        int nHeads,
        int dMlp,
        int dVocab,
        int dVocabOut,
        ActivationFunctionType actFn,
        double eps,
        NormalizationType normalizationType,
        PositionalEmbeddingType positionalEmbeddingType,
        boolean useAttnScale,
        double attnScale,
        boolean attnOnly,
        boolean parallelAttnMlp,
        boolean useAttnResult,
        boolean useSplitQkvInput,
        boolean useAttnIn,
        boolean useHookMlpIn,
        boolean useHookTokens,
        boolean defaultPrependBos,
        String modelName,
        String originalArchitecture,
        String tokenizerName,
        Integer nKeyValueHeads,
        boolean ungroupGroupedQueryAttention,
        Integer rotaryDim,
        double rotaryBase,
        boolean rotaryAdjacentPairs,
        @JsonProperty("use_NTK_by_parts_rope") boolean useNtkByPartsRope,
        @JsonProperty("NTK_by_parts_low_freq_factor") double ntkByPartsLowFreqFactor,
        @JsonProperty("NTK_by_parts_high_freq_factor") double ntkByPartsHighFreqFactor,
        @JsonProperty("NTK_by_parts_factor") double ntkByPartsFactor,
        @JsonProperty("NTK_original_ctx_len") int ntkOriginalCtxLen,
        boolean gatedMlp,
        boolean finalRms,
        boolean postEmbeddingLn,
        boolean useLocalAttn,
        Integer windowSize,
        List<AttentionType> attnTypes,
        List<WeightProcessingStep> weightProcessing,
        double attnScoresSoftCap,
        double outputLogitsSoftCap,
        Double rotaryBaseLocal,
        boolean useQkNorm,
        boolean useNormalizationBeforeAndAfter,
        boolean useNormalizationAfterOnly,
        boolean qkNormAcrossHeads,
        Integer numExperts,
        Integer expertsPerToken) {

    private static final ObjectMapper JSON = new ObjectMapper()
            .setPropertyNamingStrategy(PropertyNamingStrategies.SNAKE_CASE)
            .configure(DeserializationFeature.FAIL_ON_NULL_FOR_PRIMITIVES, false);

    /** Validates every field and fills TransformerLens's derived defaults (-1 means "derive"). */
    public TransformerConfig {
        if (nHeads <= 0 && dHead > 0) {
            nHeads = dModel / dHead;
        }
        if (dVocabOut <= 0) {
            dVocabOut = dVocab;
        }
        if (dMlp <= 0 && !attnOnly) {
            dMlp = 4 * dModel;
        }
        if (attnScale <= 0) {
            attnScale = Math.sqrt(dHead);
        }
        if (normalizationType == null) {
            normalizationType = NormalizationType.NONE;
        }
        if (positionalEmbeddingType == null) {
            positionalEmbeddingType = PositionalEmbeddingType.STANDARD;
        }
        if (modelName == null) {
            modelName = "custom";
        }
        if (rotaryBase <= 0) {
            rotaryBase = 10000;
        }
        if (positionalEmbeddingType == PositionalEmbeddingType.ROTARY && rotaryDim == null) {
            rotaryDim = dHead;
        }
        attnTypes = attnTypes == null ? null : List.copyOf(attnTypes);
        weightProcessing = weightProcessing == null ? List.of() : List.copyOf(weightProcessing);
        // TransformerLens writes -1 for "no cap"; a missing key reads as 0. Both mean none.
        if (!(attnScoresSoftCap > 0)) {
            attnScoresSoftCap = -1;
        }
        if (!(outputLogitsSoftCap > 0)) {
            outputLogitsSoftCap = -1;
        }
        List<String> problems = new ArrayList<>();
        positive(problems, "n_layers", nLayers);
        positive(problems, "d_model", dModel);
        positive(problems, "n_ctx", nCtx);
        positive(problems, "d_head", dHead);
        positive(problems, "n_heads", nHeads);
        positive(problems, "d_vocab", dVocab);
        if (!attnOnly) {
            positive(problems, "d_mlp", dMlp);
            if (actFn == null) {
                problems.add("act_fn is missing (needed unless attn_only)");
            }
        }
        if (!(eps > 0)) {
            problems.add("eps must be > 0, got " + eps);
        }
        if (nKeyValueHeads != null && (nKeyValueHeads <= 0 || nHeads % nKeyValueHeads != 0)) {
            problems.add("n_key_value_heads " + nKeyValueHeads + " must divide n_heads " + nHeads);
        }
        if (rotaryDim != null && (rotaryDim <= 0 || rotaryDim > dHead || rotaryDim % 2 != 0)) {
            problems.add("rotary_dim " + rotaryDim + " must be even and at most d_head " + dHead);
        }
        if (useLocalAttn && (windowSize == null || windowSize <= 0)) {
            problems.add("use_local_attn needs a positive window_size");
        }
        if (useLocalAttn && (attnTypes == null || attnTypes.size() != nLayers)) {
            problems.add("use_local_attn needs attn_types with one entry ('global' or 'local') per layer");
        }
        if (rotaryBaseLocal != null && !(rotaryBaseLocal > 0)) {
            problems.add("rotary_base_local must be > 0, got " + rotaryBaseLocal);
        }
        if (useNormalizationBeforeAndAfter && useNormalizationAfterOnly) {
            problems.add("use_normalization_before_and_after and use_normalization_after_only exclude each other");
        }
        if ((useNormalizationBeforeAndAfter || useNormalizationAfterOnly) && normalizationType == NormalizationType.NONE) {
            problems.add("norms after attention and the MLP need a normalization_type");
        }
        if ((useNormalizationBeforeAndAfter || useNormalizationAfterOnly) && (attnOnly || parallelAttnMlp)) {
            problems.add("norms after attention and the MLP need sequential blocks with an MLP");
        }
        if (qkNormAcrossHeads && !useQkNorm) {
            problems.add("qk_norm_across_heads needs use_qk_norm");
        }
        if (numExperts != null) {
            if (numExperts <= 0) {
                problems.add("num_experts must be > 0, got " + numExperts);
            } else if (expertsPerToken == null || expertsPerToken <= 0 || expertsPerToken > numExperts) {
                problems.add("num_experts needs experts_per_token between 1 and " + numExperts + ", got " + expertsPerToken);
            }
            if (!gatedMlp) {
                problems.add("num_experts needs gated_mlp (every expert is a gated MLP)");
            }
            if (attnOnly) {
                problems.add("num_experts needs an MLP, but attn_only is set");
            }
        }
        if (!problems.isEmpty()) {
            throw new InvalidConfigException(problems);
        }
    }

    /** A builder with TransformerLens's defaults. */
    public static Builder builder() {
        return new Builder();
    }

    /** A builder that starts from this config. */
    public Builder toBuilder() {
        return new Builder(this);
    }

    /** Number of key/value heads: {@code n_key_value_heads}, or {@code n_heads} without grouped-query attention. */
    public int kvHeads() {
        return nKeyValueHeads == null ? nHeads : nKeyValueHeads;
    }

    /** Whether keys and values have fewer heads than queries (and TransformerLens's {@code _W_K} names). */
    public boolean groupedQueryAttention() {
        return kvHeads() != nHeads;
    }

    /**
     * Whether each block's MLP is a mixture of experts ({@code num_experts} set): a router picks
     * {@code experts_per_token} experts per token.
     */
    public boolean mixtureOfExperts() {
        return numExperts != null;
    }

    /** Whether layer {@code layer} attends only to a window of recent positions. */
    public boolean isLocalLayer(int layer) {
        return useLocalAttn && attnTypes.get(layer) == AttentionType.LOCAL;
    }

    /** The rotary θ of layer {@code layer}: {@code rotary_base_local} on local layers when set, else {@code rotary_base}. */
    public double rotaryBase(int layer) {
        return rotaryBaseLocal != null && isLocalLayer(layer) ? rotaryBaseLocal : rotaryBase;
    }

    /** Whether the local layers rotate with a base of their own ({@code rotary_base_local}). */
    public boolean hasLocalRotaryBase() {
        return rotaryBaseLocal != null && useLocalAttn;
    }

    /** Whether attention scores are soft-capped ({@code attn_scores_soft_cap} &gt; 0). */
    public boolean softCapsAttnScores() {
        return attnScoresSoftCap > 0;
    }

    /** Whether the logits are soft-capped ({@code output_logits_soft_cap} &gt; 0). */
    public boolean softCapsOutputLogits() {
        return outputLogitsSoftCap > 0;
    }

    /** Whether the blocks normalise the residual stream before attention and the MLP ({@code ln1}, {@code ln2}). */
    public boolean hasPreNorms() {
        return !useNormalizationAfterOnly && normalizationType != NormalizationType.NONE;
    }

    /** Whether the blocks normalise attention's and the MLP's outputs ({@code ln1_post}, {@code ln2_post}). */
    public boolean hasPostNorms() {
        return useNormalizationBeforeAndAfter || useNormalizationAfterOnly;
    }

    /**
     * The norm after attention and the MLP ({@code ln1_post}, {@code ln2_post}): the blocks' norm with
     * its weights, since folding never removes them (nothing linear follows them but the residual stream).
     */
    public NormalizationType postNormalizationType() {
        return normalizationType.withWeights();
    }

    /** Whether the blocks carry an {@code hook_resid_mid} (not for attention-only or parallel blocks). */
    public boolean hasResidMid() {
        return !attnOnly && !parallelAttnMlp;
    }

    /**
     * The norm at the end ({@code ln_final}): the blocks' norm, except that {@code final_rms} turns a
     * LayerNorm model's final norm into an RMSNorm (as {@code HookedTransformer} does).
     */
    public NormalizationType finalNormalizationType() {
        if (!finalRms) {
            return normalizationType;
        }
        return switch (normalizationType) {
            case LN -> NormalizationType.RMS;
            case LN_PRE -> NormalizationType.RMS_PRE;
            case RMS, RMS_PRE, NONE -> normalizationType;
        };
    }

    /** Whether any weight-processing step changed the weights (see {@code weightProcessing}). */
    public boolean weightsProcessed() {
        return !weightProcessing.isEmpty();
    }

    /** This config as TransformerLens-style JSON (snake_case keys). */
    public String toJson() {
        try {
            return JSON.writerWithDefaultPrettyPrinter().writeValueAsString(this);
        } catch (IOException e) {
            throw new LoupeException("Cannot write config as JSON: " + e.getMessage(), e);
        }
    }

    /**
     * Reads TransformerLens-style JSON (snake_case keys, as {@code HookedTransformerConfig.to_dict()}
     * writes them); keys Loupe does not know are ignored.
     */
    public static TransformerConfig fromJson(String json) {
        try {
            return JSON.readValue(json, TransformerConfig.class);
        } catch (IOException e) {
            Throwable cause = e.getCause() instanceof LoupeException ? e.getCause() : e;
            throw new LoupeException("Cannot read transformer config: " + cause.getMessage(), e);
        }
    }

    private static void positive(List<String> problems, String key, int value) {
        if (value <= 0) {
            problems.add(key + " must be > 0, got " + value);
        }
    }

    /** The exception an invalid config throws, listing every problem. */
    private static final class InvalidConfigException extends LoupeException {
        private final transient List<String> problems;

        InvalidConfigException(List<String> problems) {
            super("Invalid transformer config: " + String.join("; ", problems));
            this.problems = List.copyOf(problems);
        }
    }

    /** Builds a {@link TransformerConfig}; unset sizes are derived as TransformerLens derives them. */
    public static final class Builder {
        private int nLayers;
        private int dModel;
        private int nCtx;
        private int dHead;
        private int nHeads = -1;
        private int dMlp = -1;
        private int dVocab;
        private int dVocabOut = -1;
        private ActivationFunctionType actFn;
        private double eps = 1e-5;
        private NormalizationType normalizationType = NormalizationType.LN;
        private PositionalEmbeddingType positionalEmbeddingType = PositionalEmbeddingType.STANDARD;
        private boolean useAttnScale = true;
        private double attnScale = -1;
        private boolean attnOnly;
        private boolean parallelAttnMlp;
        private boolean useAttnResult;
        private boolean useSplitQkvInput;
        private boolean useAttnIn;
        private boolean useHookMlpIn;
        private boolean useHookTokens;
        private boolean defaultPrependBos = true;
        private String modelName = "custom";
        private String originalArchitecture;
        private String tokenizerName;
        private Integer nKeyValueHeads;
        private boolean ungroupGroupedQueryAttention;
        private Integer rotaryDim;
        private double rotaryBase = 10000;
        private boolean rotaryAdjacentPairs;
        private boolean useNtkByPartsRope;
        private double ntkByPartsLowFreqFactor = 1.0;
        private double ntkByPartsHighFreqFactor = 4.0;
        private double ntkByPartsFactor = 8.0;
        private int ntkOriginalCtxLen = 8192;
        private boolean gatedMlp;
        private boolean finalRms;
        private boolean postEmbeddingLn;
        private boolean useLocalAttn;
        private Integer windowSize;
        private List<AttentionType> attnTypes;
        private List<WeightProcessingStep> weightProcessing = List.of();
        private double attnScoresSoftCap = -1;
        private double outputLogitsSoftCap = -1;
        private Double rotaryBaseLocal;
        private boolean useQkNorm;
        private boolean useNormalizationBeforeAndAfter;
        private boolean useNormalizationAfterOnly;
        private boolean qkNormAcrossHeads;
        private Integer numExperts;
        private Integer expertsPerToken;
        /** Problems with names given to the String setters, by JSON key, reported by {@link #build()}. */
        private final Map<String, String> unknownNames = new LinkedHashMap<>();

        private Builder() {}

        private Builder(TransformerConfig c) {
            nLayers = c.nLayers; dModel = c.dModel; nCtx = c.nCtx; dHead = c.dHead; nHeads = c.nHeads;
            dMlp = c.dMlp; dVocab = c.dVocab; dVocabOut = c.dVocabOut; actFn = c.actFn; eps = c.eps;
            normalizationType = c.normalizationType; positionalEmbeddingType = c.positionalEmbeddingType;
            useAttnScale = c.useAttnScale; attnScale = c.attnScale; attnOnly = c.attnOnly;
            parallelAttnMlp = c.parallelAttnMlp; useAttnResult = c.useAttnResult;
            useSplitQkvInput = c.useSplitQkvInput; useAttnIn = c.useAttnIn; useHookMlpIn = c.useHookMlpIn;
            useHookTokens = c.useHookTokens; defaultPrependBos = c.defaultPrependBos; modelName = c.modelName;
            originalArchitecture = c.originalArchitecture; tokenizerName = c.tokenizerName;
            nKeyValueHeads = c.nKeyValueHeads; ungroupGroupedQueryAttention = c.ungroupGroupedQueryAttention;
            rotaryDim = c.rotaryDim; rotaryBase = c.rotaryBase; rotaryAdjacentPairs = c.rotaryAdjacentPairs;
            useNtkByPartsRope = c.useNtkByPartsRope; ntkByPartsLowFreqFactor = c.ntkByPartsLowFreqFactor;
            ntkByPartsHighFreqFactor = c.ntkByPartsHighFreqFactor; ntkByPartsFactor = c.ntkByPartsFactor;
            ntkOriginalCtxLen = c.ntkOriginalCtxLen; gatedMlp = c.gatedMlp; finalRms = c.finalRms;
            postEmbeddingLn = c.postEmbeddingLn; useLocalAttn = c.useLocalAttn; windowSize = c.windowSize;
            attnTypes = c.attnTypes; weightProcessing = c.weightProcessing;
            attnScoresSoftCap = c.attnScoresSoftCap; outputLogitsSoftCap = c.outputLogitsSoftCap;
            rotaryBaseLocal = c.rotaryBaseLocal; useQkNorm = c.useQkNorm;
            useNormalizationBeforeAndAfter = c.useNormalizationBeforeAndAfter;
            useNormalizationAfterOnly = c.useNormalizationAfterOnly; qkNormAcrossHeads = c.qkNormAcrossHeads;
            numExperts = c.numExperts; expertsPerToken = c.expertsPerToken;
        }

        public Builder nLayers(int v) { nLayers = v; return this; }
        public Builder dModel(int v) { dModel = v; return this; }
        public Builder nCtx(int v) { nCtx = v; return this; }
        public Builder dHead(int v) { dHead = v; return this; }
        public Builder nHeads(int v) { nHeads = v; return this; }
        public Builder dMlp(int v) { dMlp = v; return this; }
        public Builder dVocab(int v) { dVocab = v; return this; }
        public Builder dVocabOut(int v) { dVocabOut = v; return this; }
        public Builder actFn(ActivationFunctionType v) { actFn = v; unknownNames.remove("act_fn"); return this; }
        public Builder eps(double v) { eps = v; return this; }
        public Builder normalizationType(NormalizationType v) {
            normalizationType = v;
            unknownNames.remove("normalization_type");
            return this;
        }
        public Builder positionalEmbeddingType(PositionalEmbeddingType v) {
            positionalEmbeddingType = v;
            unknownNames.remove("positional_embedding_type");
            return this;
        }

        /** {@code act_fn} by TransformerLens's name ({@code "gelu_new"}, …); an unknown name fails {@link #build()}. */
        public Builder actFn(String jsonName) {
            return byName("act_fn", jsonName, ActivationFunctionType::fromJson, this::actFn);
        }

        /** {@code normalization_type} by TransformerLens's name ({@code "LN"}, …); an unknown name fails {@link #build()}. */
        public Builder normalizationType(String jsonName) {
            return byName("normalization_type", jsonName, NormalizationType::fromJson, this::normalizationType);
        }

        /**
         * {@code positional_embedding_type} by TransformerLens's name ({@code "rotary"}, …); an unknown name
         * fails {@link #build()}.
         */
        public Builder positionalEmbeddingType(String jsonName) {
            return byName("positional_embedding_type", jsonName, PositionalEmbeddingType::fromJson,
                    this::positionalEmbeddingType);
        }

        public Builder useAttnScale(boolean v) { useAttnScale = v; return this; }
        public Builder attnScale(double v) { attnScale = v; return this; }
        public Builder attnOnly(boolean v) { attnOnly = v; return this; }
        public Builder parallelAttnMlp(boolean v) { parallelAttnMlp = v; return this; }
        public Builder useAttnResult(boolean v) { useAttnResult = v; return this; }
        public Builder useSplitQkvInput(boolean v) { useSplitQkvInput = v; return this; }
        public Builder useAttnIn(boolean v) { useAttnIn = v; return this; }
        public Builder useHookMlpIn(boolean v) { useHookMlpIn = v; return this; }
        public Builder useHookTokens(boolean v) { useHookTokens = v; return this; }
        public Builder defaultPrependBos(boolean v) { defaultPrependBos = v; return this; }
        public Builder modelName(String v) { modelName = v; return this; }
        public Builder originalArchitecture(String v) { originalArchitecture = v; return this; }
        public Builder tokenizerName(String v) { tokenizerName = v; return this; }
        public Builder nKeyValueHeads(Integer v) { nKeyValueHeads = v; return this; }
        public Builder ungroupGroupedQueryAttention(boolean v) { ungroupGroupedQueryAttention = v; return this; }
        public Builder rotaryDim(Integer v) { rotaryDim = v; return this; }
        public Builder rotaryBase(double v) { rotaryBase = v; return this; }
        public Builder rotaryAdjacentPairs(boolean v) { rotaryAdjacentPairs = v; return this; }
        public Builder useNtkByPartsRope(boolean v) { useNtkByPartsRope = v; return this; }
        public Builder ntkByPartsLowFreqFactor(double v) { ntkByPartsLowFreqFactor = v; return this; }
        public Builder ntkByPartsHighFreqFactor(double v) { ntkByPartsHighFreqFactor = v; return this; }
        public Builder ntkByPartsFactor(double v) { ntkByPartsFactor = v; return this; }
        public Builder ntkOriginalCtxLen(int v) { ntkOriginalCtxLen = v; return this; }
        public Builder gatedMlp(boolean v) { gatedMlp = v; return this; }
        public Builder finalRms(boolean v) { finalRms = v; return this; }
        public Builder postEmbeddingLn(boolean v) { postEmbeddingLn = v; return this; }
        public Builder useLocalAttn(boolean v) { useLocalAttn = v; return this; }
        public Builder windowSize(Integer v) { windowSize = v; return this; }
        public Builder attnTypes(List<AttentionType> v) { attnTypes = v; return this; }
        public Builder weightProcessing(List<WeightProcessingStep> v) { weightProcessing = v; return this; }
        public Builder attnScoresSoftCap(double v) { attnScoresSoftCap = v; return this; }
        public Builder outputLogitsSoftCap(double v) { outputLogitsSoftCap = v; return this; }
        public Builder rotaryBaseLocal(Double v) { rotaryBaseLocal = v; return this; }
        public Builder useQkNorm(boolean v) { useQkNorm = v; return this; }
        public Builder useNormalizationBeforeAndAfter(boolean v) { useNormalizationBeforeAndAfter = v; return this; }
        public Builder useNormalizationAfterOnly(boolean v) { useNormalizationAfterOnly = v; return this; }
        public Builder qkNormAcrossHeads(boolean v) { qkNormAcrossHeads = v; return this; }
        public Builder numExperts(Integer v) { numExperts = v; return this; }
        public Builder expertsPerToken(Integer v) { expertsPerToken = v; return this; }

        private <E> Builder byName(String key, String jsonName, Function<String, E> parse, Consumer<E> set) {
            if (jsonName == null) {
                set.accept(null);
                return this;
            }
            try {
                set.accept(parse.apply(jsonName));
            } catch (LoupeException e) {
                unknownNames.put(key, e.getMessage());
            }
            return this;
        }

        /**
         * Validates and builds; throws {@link LoupeException} listing every problem, unknown names given
         * to the String setters included.
         */
        public TransformerConfig build() {
            if (unknownNames.isEmpty()) {
                return build(actFn, normalizationType, positionalEmbeddingType);
            }
            // Stand-ins that raise no problem of their own, to find whatever else is wrong.
            List<String> problems = new ArrayList<>(unknownNames.values());
            try {
                build(unknownNames.containsKey("act_fn") ? ActivationFunctionType.GELU_NEW : actFn,
                        unknownNames.containsKey("normalization_type") ? NormalizationType.NONE : normalizationType,
                        unknownNames.containsKey("positional_embedding_type") ? PositionalEmbeddingType.STANDARD
                                : positionalEmbeddingType);
            } catch (InvalidConfigException e) {
                problems.addAll(e.problems);
            }
            throw new InvalidConfigException(problems);
        }

        private TransformerConfig build(ActivationFunctionType actFn, NormalizationType normalizationType,
                PositionalEmbeddingType positionalEmbeddingType) {
            return new TransformerConfig(nLayers, dModel, nCtx, dHead, nHeads, dMlp, dVocab, dVocabOut, actFn,
                    eps, normalizationType, positionalEmbeddingType, useAttnScale, attnScale, attnOnly,
                    parallelAttnMlp, useAttnResult, useSplitQkvInput, useAttnIn, useHookMlpIn, useHookTokens,
                    defaultPrependBos, modelName, originalArchitecture, tokenizerName, nKeyValueHeads,
                    ungroupGroupedQueryAttention, rotaryDim, rotaryBase, rotaryAdjacentPairs, useNtkByPartsRope,
                    ntkByPartsLowFreqFactor, ntkByPartsHighFreqFactor, ntkByPartsFactor, ntkOriginalCtxLen, gatedMlp,
                    finalRms, postEmbeddingLn, useLocalAttn, windowSize, attnTypes, weightProcessing, attnScoresSoftCap,
                    outputLogitsSoftCap, rotaryBaseLocal, useQkNorm, useNormalizationBeforeAndAfter,
                    useNormalizationAfterOnly, qkNormAcrossHeads, numExperts, expertsPerToken);
        }
    }
}
