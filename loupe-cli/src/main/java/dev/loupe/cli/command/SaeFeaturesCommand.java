package dev.loupe.cli.command;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import dev.loupe.LoupeException;
import dev.loupe.cli.support.LoupeCommand;
import dev.loupe.cli.support.LoupeVersion;
import dev.loupe.cli.support.ModelOptions;
import dev.loupe.cli.support.OutputCheck;
import dev.loupe.cli.support.SaeOption;
import dev.loupe.io.safetensors.SafetensorsFile;
import dev.loupe.io.safetensors.TensorInfo;
import dev.loupe.model.HookedTransformer;
import dev.loupe.sae.Sae;
import dev.loupe.sae.analysis.FeatureLogits;
import dev.loupe.sae.analysis.FeatureTopTokens;
import dev.loupe.sae.features.FeatureActivity;
import dev.loupe.sae.features.FeatureHarvest;
import dev.loupe.sae.features.FeatureOptions;
import dev.loupe.stop.StoppedException;
import dev.loupe.tokenize.TextDocuments;
import dev.loupe.tokenize.Tokenizer;
import dev.loupe.viz.FeatureIndex;
import dev.loupe.viz.FeaturePage;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.function.IntConsumer;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;

/** {@code loupe sae features}: feature pages of an SAE over a corpus, and an index of its features by density. */
@Command(
        name = "features",
        mixinStandardHelpOptions = true,
        versionProvider = LoupeVersion.class,
        sortOptions = false,
        usageHelpAutoWidth = true,
        header = "Run an SAE over a corpus and write a page per feature and an index of the features by density.",
        description = {
            "",
            "FILE is a safetensors file holding int64 token ids [n, ctx] as input_ids or tokens (used as they are: no"
                    + " BOS added), or .jsonl/.txt text (one document per line's text field, or per file), tokenised"
                    + " with the model's tokenizer and cut into --ctx tokens as `loupe lens train` cuts it.",
            "",
            "DIR gets index.html (every feature that fired, densest first, with its density, largest activation and"
                    + " top promoted tokens, linking to the pages; a histogram of the features' log10 densities) and"
                    + " feature-F.html for the chosen features: the --top sequences where F is most active, a window"
                    + " around the peak with each token coloured by F's activation, the tokens W_dec[F]·W_U promotes"
                    + " and suppresses, and F's activation histogram (linear bins). Every page is self-contained: it"
                    + " opens from the folder with no network. Each file is written atomically.",
            "",
            "Weights: as `loupe sae run`, the model is loaded unprocessed (SAELens's from_pretrained_no_processing),"
                    + " or processed exactly as the SAE's cfg.json asks.",
            ""
        },
        footer = {
            "",
            "Example: pages for the 50 densest features, 10 contexts each.",
            "  loupe sae features --model testdata/models/gpt2 \\",
            "    --sae testdata/sae/gpt2/standard_resid_pre_l0 \\",
            "    --data testdata/sae/gpt2/standard_resid_pre_l0/reference.safetensors \\",
            "    --out pages --top 10 --features 50"
        })
public final class SaeFeaturesCommand extends LoupeCommand {
    /** Pages written when --features is not given. */
    static final int DEFAULT_PAGES = 100;

    @Mixin
    ModelOptions modelOptions;

    @Option(names = "--sae", required = true, paramLabel = "DIR|RELEASE/ID", converter = SaeOption.Converter.class,
            description = SaeOption.HELP + ".")
    SaeOption saeOption;

    @Option(names = "--data", required = true, paramLabel = "FILE",
            description = "Token ids (.safetensors: input_ids or tokens [n, ctx]) or text (.jsonl, .txt).")
    Path data;

    @Option(names = "--out", required = true, paramLabel = "DIR",
            description = "Folder for index.html and the feature pages (created; files of the same names replaced).")
    Path out;

    @Option(names = "--top", defaultValue = "20", paramLabel = "K",
            description = "Top-activating contexts per feature page (default: ${DEFAULT-VALUE}).")
    int top;

    @Option(names = "--features", defaultValue = "" + DEFAULT_PAGES, paramLabel = "N|LIST",
            description = "Which features get a page: N, the N densest of those that fired (default:"
                    + " ${DEFAULT-VALUE}, so that a wide SAE does not write thousands of pages), or a comma-separated"
                    + " list of feature indices (one feature: 17,).")
    String features;

    @Option(names = "--ctx", paramLabel = "N",
            description = "Tokens per sequence when FILE is text (default: the SAE's context_size, else 128; at most"
                    + " the model's n_ctx).")
    Integer ctx;

    @Option(names = "--text-column", defaultValue = TextDocuments.TEXT_COLUMN, paramLabel = "NAME",
            description = "The .jsonl field holding the text (default: ${DEFAULT-VALUE}).")
    String textColumn;

    @Option(names = "--logits", defaultValue = "10", paramLabel = "N",
            description = "Promoted and suppressed tokens per page (default: ${DEFAULT-VALUE}).")
    int logits;

    @Override
    protected int execute() {
        if (top < 1 || logits < 1) {
            throw new ParameterException(spec.commandLine(), (top < 1 ? "--top " + top : "--logits " + logits)
                    + " must be at least 1");
        }
        if (ctx != null && ctx < 1) {
            throw new ParameterException(spec.commandLine(), "--ctx " + ctx + " must be at least 1");
        }
        OutputCheck.of(spec).modelFolder(modelOptions.folder()).inputFolder("SAE", "--sae", saeOption.folder().orElse(null))
                .file("--data", data)
                .refuseFolder("--out", out, "index.html");
        try (NDManager manager = NDManager.newBaseManager();
             Sae sae = saeOption.load(manager)) {
            int[] listed = listed(sae.cfg().dSae());
            try (HookedTransformer model = modelOptions.load(SaeRunCommand.basis(List.of(sae), List.of(saeOption),
                    modelOptions))) {
                write(model, sae, listed, manager);
            }
        }
        return 0;
    }

    private void write(HookedTransformer model, Sae sae, int[] listed, NDManager manager) {
        long[][] corpus = corpus(model, sae, manager);
        safePoint("before running the SAE over the corpus; nothing was written");
        FeatureHarvest harvest;
        try {
            harvest = FeatureHarvest.run(model, sae, corpus, listed, FeatureOptions.defaults().withTopContexts(top),
                    new Progress(corpus.length));
        } catch (StoppedException e) {
            throw new StoppedException(e.reason(), e.progress() + "; nothing was written");
        }
        int[] chosen = listed != null ? listed : harvest.byDensity().stream().filter(a -> a.activeTokens() > 0)
                .limit(Integer.parseInt(features.trim())).mapToInt(FeatureActivity::feature).toArray();
        Map<Integer, FeatureTopTokens> byFeature = new LinkedHashMap<>();
        if (FeatureLogits.readable(model, sae)) {
            for (FeatureTopTokens l : FeatureLogits.of(model, sae).topTokens(chosen, logits)) {
                byFeature.put(l.feature(), l);
            }
        } else {
            err().println("loupe: the pages show no promoted tokens: the SAE's output at "
                    + (sae.isTranscoder() ? sae.cfg().hookNameOut() : sae.hookName())
                    + " is neither in the residual stream nor hook_z, so W_dec has no direct logits");
        }
        Tokenizer tokenizer = model.hasTokenizer() ? model.tokenizer() : null;
        String given = saeOption.folder().map(f -> f.toAbsolutePath().normalize().getFileName().toString())
                .orElse(saeOption.given());
        String name = given + " (" + sae.hookName() + ")";
        Set<Integer> pages = new LinkedHashSet<>();
        for (int f : chosen) {
            safePoint("after " + pages.size() + " of " + chosen.length + " feature pages were written to " + out
                    + "; index.html was not written");
            FeaturePage.report(name, harvest.feature(f), byFeature.get(f), tokenizer, "index.html")
                    .write(out.resolve(FeaturePage.fileName(f)));
            pages.add(f);
        }
        FeatureIndex.report(name, harvest, byFeature, pages, tokenizer).write(out.resolve("index.html"));
        long fired = harvest.features().stream().filter(a -> a.activeTokens() > 0).count();
        out().printf(Locale.ROOT, "%d of %d features fired on %d tokens (%d sequences); wrote %d feature page%s and %s%n",
                fired, sae.cfg().dSae(), harvest.tokens(), corpus.length, pages.size(), pages.size() == 1 ? "" : "s",
                out.resolve("index.html"));
        out().flush();
    }

    /** Sequences done, on stderr at every tenth of the corpus (and the first batch), so that logs stay short. */
    private final class Progress implements IntConsumer {
        private final int total;
        private int printed = -1;

        Progress(int total) {
            this.total = total;
        }

        @Override
        public void accept(int done) {
            int tenth = Math.max(1, total / 10);
            if (printed < 0 || done == total || done / tenth != printed / tenth) {
                printed = done;
                err().printf(Locale.ROOT, "sae features: %d/%d sequences%n", done, total);
                err().flush();
            }
        }
    }

    /** The features of a --features list, or null for "the N densest" (N checked here). */
    private int[] listed(int dSae) {
        String text = features.trim();
        if (!text.contains(",")) {
            int n;
            try {
                n = Integer.parseInt(text);
            } catch (NumberFormatException e) {
                throw new ParameterException(spec.commandLine(), "--features " + features + " is neither a count N nor"
                        + " a comma-separated list of feature indices (one feature: " + text + ",)");
            }
            if (n < 1) {
                throw new ParameterException(spec.commandLine(), "--features " + n + ": give at least one page");
            }
            return null;
        }
        int[] list;
        try {
            list = Arrays.stream(text.split(",")).map(String::trim).filter(s -> !s.isEmpty()).mapToInt(Integer::parseInt)
                    .distinct().toArray();
        } catch (NumberFormatException e) {
            throw new ParameterException(spec.commandLine(), "--features " + features + ": a list holds feature"
                    + " indices separated by commas, such as 3,17,42");
        }
        for (int f : list) {
            if (f < 0 || f >= dSae) {
                throw new ParameterException(spec.commandLine(), "--features: feature " + f + " does not exist; the"
                        + " SAE has features 0 to " + (dSae - 1));
            }
        }
        if (list.length == 0) {
            throw new ParameterException(spec.commandLine(), "--features " + features + " names no feature");
        }
        return list;
    }

    /** The corpus as token ids [n][ctx]. */
    private long[][] corpus(HookedTransformer model, Sae sae, NDManager manager) {
        String file = data.getFileName().toString().toLowerCase(Locale.ROOT);
        if (file.endsWith(".safetensors")) {
            return tokenIds(manager);
        }
        int contextSize = sae.cfg().metadata().path("context_size").asInt(0);
        int length = Math.min(ctx != null ? ctx : contextSize > 0 ? contextSize : 128, model.config().nCtx());
        return LensCommand.corpus(model, modelOptions.folder(), "--data with text", List.of(data), textColumn, length)
                .chunks().toArray(new long[0][]);
    }

    private long[][] tokenIds(NDManager manager) {
        try (SafetensorsFile in = SafetensorsFile.open(data)) {
            String name = in.contains("input_ids") ? "input_ids" : in.contains("tokens") ? "tokens" : null;
            if (name == null) {
                throw new LoupeException(data + " has neither input_ids nor tokens (it holds: " + (in.names().isEmpty()
                        ? "nothing" : String.join(", ", in.names())) + "); write the token ids as int64 [n, ctx]");
            }
            TensorInfo info = in.info(name);
            if (!info.dtype().equals("I64") || info.shape().length != 2 || info.shape()[0] == 0 || info.shape()[1] == 0) {
                throw new LoupeException(data + ": " + name + " is " + info.dtype() + " " + shape(info.shape())
                        + " but must be int64 (I64) [n, ctx] with n, ctx ≥ 1");
            }
            NDArray ids = in.load(name, manager);
            long[] flat = ids.toLongArray();
            int n = (int) info.shape()[0];
            int length = (int) info.shape()[1];
            long[][] rows = new long[n][];
            for (int s = 0; s < n; s++) {
                rows[s] = Arrays.copyOfRange(flat, s * length, (s + 1) * length);
            }
            ids.close();
            return rows;
        }
    }
}
