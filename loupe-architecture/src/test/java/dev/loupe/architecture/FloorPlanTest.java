package dev.loupe.architecture;

import static com.tngtech.archunit.library.dependencies.SlicesRuleDefinition.slices;
import static org.assertj.core.api.Assertions.assertThat;

import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import dev.loupe.architecture.fixture.high.UpperFloor;
import dev.loupe.architecture.fixture.low.LowerFloor;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Every import in every module points down the floor plan, and packages form no cycle. */
class FloorPlanTest {
    private static final JavaClasses LOUPE = new ClassFileImporter()
            .withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS)
            .withImportOption(location -> !location.contains("/jmh_generated/"))
            .importPackages("dev.loupe");

    private final FloorPlan plan = new FloorPlan(FloorPlan.LOUPE);

    @Test
    void seesEveryModule() {
        assertThat(LOUPE.stream().map(c -> c.getPackageName()).distinct())
                .contains("dev.loupe.model", "dev.loupe.lens", "dev.loupe.viz", "dev.loupe.spark", "dev.loupe.cli",
                        "dev.loupe.bench");
    }

    @Test
    void everyPackageHasAFloor() {
        assertThat(plan.unplaced(LOUPE)).as("packages missing from FloorPlan.LOUPE: add each to its floor").isEmpty();
    }

    @Test
    void everyImportPointsDown() {
        assertThat(plan.upwardImports(LOUPE)).as("imports that point up or sideways").isEmpty();
    }

    @Test
    void packagesFormNoCycle() {
        slices().matching("dev.loupe.(**)").should().beFreeOfCycles().check(LOUPE);
    }

    @Test
    void anUpwardImportIsCaught() {
        JavaClasses fixture = new ClassFileImporter().importClasses(LowerFloor.class, UpperFloor.class);
        FloorPlan twoFloors = new FloorPlan(List.of(
                new FloorPlan.Floor("low", List.of(LowerFloor.class.getPackageName())),
                new FloorPlan.Floor("high", List.of(UpperFloor.class.getPackageName()))));
        assertThat(twoFloors.upwardImports(fixture)).singleElement().asString()
                .startsWith(LowerFloor.class.getName() + " (low) uses " + UpperFloor.class.getName() + " (high)");
    }
}
