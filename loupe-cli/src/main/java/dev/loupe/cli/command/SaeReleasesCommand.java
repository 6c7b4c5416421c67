package dev.loupe.cli.command;

import dev.loupe.cli.support.LoupeCommand;
import dev.loupe.cli.support.LoupeVersion;
import dev.loupe.cli.support.Table;
import dev.loupe.sae.Sae;
import dev.loupe.sae.pretrained.ReleasedSae;
import dev.loupe.sae.pretrained.SaeRelease;
import dev.loupe.sae.pretrained.SaeReleases;
import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;

/** {@code loupe sae releases}: the released SAEs {@code --sae RELEASE/ID} loads, or the ids of one release. */
@Command(
        name = "releases",
        mixinStandardHelpOptions = true,
        versionProvider = LoupeVersion.class,
        sortOptions = false,
        usageHelpAutoWidth = true,
        header = "List the SAELens releases that --sae RELEASE/ID loads, or the ids of one.",
        description = {
            "",
            "Without RELEASE: one row per release (its Hub repository, the model its SAEs read, the file format,"
                    + " how many ids). With RELEASE: one row per id, with its folder or file in the repository and"
                    + " its Neuronpedia id, as SAELens's pretrained_saes.yaml lists them.",
            ""
        },
        footer = {
            "",
            "Example:",
            "  loupe sae releases gemma-scope-2b-pt-res-canonical"
        })
public final class SaeReleasesCommand extends LoupeCommand {

    @Parameters(index = "0", arity = "0..1", paramLabel = "RELEASE", description = "A release whose ids to list.")
    String release;

    @Override
    protected int execute() {
        Table table;
        if (release == null) {
            table = Table.withHeader("release", "repository", "model", "format", "ids").alignRight(4);
            for (SaeRelease r : Sae.pretrainedReleases()) {
                table.row(r.name(), r.repoId(), r.model(), r.format().jsonName(), Integer.toString(r.saes().size()));
            }
        } else {
            table = Table.withHeader("id", "path", "neuronpedia");
            for (ReleasedSae sae : SaeReleases.release(release).saes().values()) {
                table.row(sae.id(), sae.path(), sae.neuronpediaId() == null ? "-" : sae.neuronpediaId());
            }
        }
        table.print(out());
        out().flush();
        return 0;
    }
}
