package dev.loupe.architecture;

import com.tngtech.archunit.core.domain.Dependency;
import com.tngtech.archunit.core.domain.JavaClass;
import com.tngtech.archunit.core.domain.JavaClasses;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * Loupe's floor plan: every package on one floor, and a class may use only classes of its own
 * package or of packages on lower floors. Floors are listed bottom first.
 */
final class FloorPlan {
    /** One floor: a name for people and the packages on it. */
    record Floor(String name, List<String> packages) {}

    static final List<Floor> LOUPE = List.of(
            // loupe-core
            floor("errors, names and stop signals", "dev.loupe", "dev.loupe.stop"),
            floor("numeric helpers and linear algebra", "dev.loupe.numeric", "dev.loupe.linalg"),
            floor("the model's config", "dev.loupe.config"),
            floor("what one run takes and gives", "dev.loupe.run"),
            floor("hooks, text, file formats", "dev.loupe.hook", "dev.loupe.tokenize", "dev.loupe.io.safetensors",
                    "dev.loupe.io.torch"),
            floor("weight files of a folder", "dev.loupe.io"),
            floor("adapter contract, processing, caches, the Hub", "dev.loupe.load.spi", "dev.loupe.process",
                    "dev.loupe.cache", "dev.loupe.hub"),
            floor("one adapter per architecture", "dev.loupe.load.adapters"),
            floor("loading a folder", "dev.loupe.load"),
            floor("components", "dev.loupe.model.components"),
            floor("the model", "dev.loupe.model"),
            floor("uses of the model", "dev.loupe.generate", "dev.loupe.analysis.attribution",
                    "dev.loupe.analysis.evals", "dev.loupe.analysis.experts", "dev.loupe.analysis.heads",
                    "dev.loupe.analysis.patching", "dev.loupe.analysis.utils", "dev.loupe.train"),
            floor("toy models", "dev.loupe.train.toy"),
            floor("the synthetic IOI task and its models", "dev.loupe.train.ioi"),
            // loupe-lens
            floor("lenses and their data", "dev.loupe.lens", "dev.loupe.lens.data"),
            floor("statistics of lens predictions", "dev.loupe.lens.stats"),
            floor("lens training and evaluation", "dev.loupe.lens.train", "dev.loupe.lens.eval"),
            floor("lens experiments: causal bases, decoding from a layer", "dev.loupe.lens.causal",
                    "dev.loupe.lens.decode"),
            // loupe-sae
            floor("SAE file formats", "dev.loupe.sae.format"),
            floor("released SAEs on the Hub", "dev.loupe.sae.pretrained"),
            floor("sparse autoencoders and transcoders", "dev.loupe.sae"),
            floor("splicing SAEs into a model", "dev.loupe.sae.splice"),
            floor("analysing SAE features in a run", "dev.loupe.sae.analysis"),
            floor("evaluating SAEs on a model", "dev.loupe.sae.eval"),
            floor("what SAE features do over a corpus", "dev.loupe.sae.features"),
            floor("training SAEs", "dev.loupe.sae.train"),
            // loupe-viz
            floor("views", "dev.loupe.viz"),
            // loupe-server
            floor("what the explorer computes: JSON requests turned into API calls", "dev.loupe.server.explore"),
            floor("the explorer's HTTP server", "dev.loupe.server"),
            // loupe-spark
            floor("Spark sessions, executor models and row layouts", "dev.loupe.spark"),
            floor("harvesting activations with Spark", "dev.loupe.spark.harvest"),
            floor("Spark jobs over harvests and corpora: statistics, lens evaluation and training",
                    "dev.loupe.spark.stats", "dev.loupe.spark.lens"),
            floor("the Spark commands (a main of their own, so the plain CLI never loads Spark) and benchmark",
                    "dev.loupe.spark.cli", "dev.loupe.spark.bench"),
            // loupe-cli
            floor("what commands share: the model options and loading rule, tables", "dev.loupe.cli.support"),
            floor("the demo's sections and page", "dev.loupe.cli.demo"),
            floor("the commands", "dev.loupe.cli.command"),
            floor("the command line", "dev.loupe.cli"),
            // loupe-bench
            floor("benchmarks", "dev.loupe.bench"));

    private final Map<String, Integer> floorOf = new LinkedHashMap<>();
    private final List<Floor> floors;

    FloorPlan(List<Floor> floors) {
        this.floors = floors;
        for (int i = 0; i < floors.size(); i++) {
            for (String pkg : floors.get(i).packages()) {
                floorOf.put(pkg, i);
            }
        }
    }

    /** Packages of {@code classes} that no floor holds. */
    Set<String> unplaced(JavaClasses classes) {
        Set<String> missing = new TreeSet<>();
        for (JavaClass c : classes) {
            if (!floorOf.containsKey(c.getPackageName())) {
                missing.add(c.getPackageName());
            }
        }
        return missing;
    }

    /** Each dependency from a class to a class of another package on the same or a higher floor. */
    List<String> upwardImports(JavaClasses classes) {
        List<String> found = new ArrayList<>();
        for (JavaClass origin : classes) {
            Integer from = floorOf.get(origin.getPackageName());
            for (Dependency dependency : origin.getDirectDependenciesFromSelf()) {
                JavaClass target = dependency.getTargetClass();
                Integer to = floorOf.get(target.getPackageName());
                if (from == null || to == null || target.getPackageName().equals(origin.getPackageName())) {
                    continue;
                }
                if (to >= from) {
                    found.add(origin.getName() + " (" + floors.get(from).name() + ") uses " + target.getName()
                            + " (" + floors.get(to).name() + "): " + dependency.getDescription());
                }
            }
        }
        return found;
    }

    private static Floor floor(String name, String... packages) {
        return new Floor(name, List.of(packages));
    }
}
