package dev.loupe.sae.pretrained;

import ai.djl.ndarray.NDManager;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.loupe.LoupeException;
import dev.loupe.hub.HubClient;
import dev.loupe.hub.HubException;
import dev.loupe.hub.HubRepo;
import dev.loupe.sae.format.ConnorRobHookZ;
import dev.loupe.sae.format.GemmaScope;
import dev.loupe.sae.format.SaeFiles;
import java.nio.file.Path;

/**
 * One SAE of a release, fetched as SAELens's {@code SAE.from_pretrained(release, sae_id)} fetches it: the release
 * table ({@link SaeReleases}) gives the repository, the path of the id there and the format; the files are
 * downloaded from the Hub's {@code main} into the Hugging Face cache shared with Python, or read from that cache
 * when the Hub cannot be reached or {@code HF_HUB_OFFLINE} is set. A release the table lacks but that contains a
 * {@code /} is taken, as SAELens takes it, for a Hub repository id whose folder {@code sae_id} is an SAELens
 * folder.
 *
 * <p>The config gets what SAELens's loader gives it: the release's {@code config_overrides}, the id's
 * {@code neuronpedia_id} and {@code device "cpu"}, set on the config's top level before it is parsed (for
 * Gemma Scope and the hook_z SAEs, on the config derived from the names).
 */
public final class PretrainedSaes {
    /** The revision SAELens reads. */
    public static final String REVISION = "main";

    private PretrainedSaes() {}

    /**
     * The config and tensors of the SAE {@code saeId} of {@code release}.
     *
     * @param client the Hub client (its settings choose the endpoint, the cache and offline mode)
     * @param cfgOverrides config values set after the release's ones, or null
     * @param manager owns the tensors
     * @throws LoupeException if the release or the id is unknown (naming the closest names), or the Hub has no such
     *     file
     */
    public static SaeFiles.Contents load(String release, String saeId, HubClient client, ObjectNode cfgOverrides,
            NDManager manager) {
        SaeRelease known = release.contains("/") && SaeReleases.find(release).isEmpty()
                ? null : SaeReleases.release(release);
        if (known == null) {
            return saeLensFolder(HubRepo.model(release), saeId, client, overrides(JsonNodeFactory.instance.objectNode(),
                    cfgOverrides), manager, "the Hub repository " + release);
        }
        ReleasedSae sae = known.sae(saeId);
        ObjectNode fromTable = known.configOverrides();
        if (sae.neuronpediaId() == null) {
            fromTable.putNull("neuronpedia_id");
        } else {
            fromTable.put("neuronpedia_id", sae.neuronpediaId());
        }
        ObjectNode overrides = overrides(fromTable, cfgOverrides);
        HubRepo repo = HubRepo.model(known.repoId());
        String what = "the release " + release + " (" + repo + ")";
        return switch (known.format()) {
            case SAE_LENS -> saeLensFolder(repo, sae.path(), client, overrides, manager, what);
            case GEMMA_2 -> GemmaScope.convert(fetch(client, repo, sae.path() + "/params.npz", what), known.repoId(),
                    sae.path(), overrides, manager);
            case CONNOR_ROB_HOOK_Z -> {
                Path cfg = fetch(client, repo, ConnorRobHookZ.configName(sae.path()), what);
                yield ConnorRobHookZ.convert(fetch(client, repo, sae.path(), what), cfg, overrides, manager);
            }
        };
    }

    /** SAELens's order: the table's values, the device, then the caller's. */
    private static ObjectNode overrides(ObjectNode fromTable, ObjectNode cfgOverrides) {
        fromTable.put("device", "cpu");
        if (cfgOverrides != null) {
            fromTable.setAll(cfgOverrides.deepCopy());
        }
        return fromTable;
    }

    private static SaeFiles.Contents saeLensFolder(HubRepo repo, String folder, HubClient client, ObjectNode overrides,
            NDManager manager, String what) {
        Path cfg = fetch(client, repo, folder + "/" + SaeFiles.CFG, what);
        fetch(client, repo, folder + "/" + SaeFiles.WEIGHTS, what);
        return SaeFiles.read(cfg.getParent(), overrides, manager);
    }

    private static Path fetch(HubClient client, HubRepo repo, String file, String what) {
        try {
            return client.download(repo, REVISION, file);
        } catch (HubException e) {
            throw new HubException(e.reason(), "Cannot load an SAE of " + what + ": " + e.getMessage(), e);
        }
    }
}
