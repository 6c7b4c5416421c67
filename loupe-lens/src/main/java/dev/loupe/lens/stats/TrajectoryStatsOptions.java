package dev.loupe.lens.stats;

import dev.loupe.LoupeException;

/**
 * Which extra statistics {@link TrajectoryStatsReport} adds to the plain ones.
 *
 * @param maskInput also the entropy and top probability with the input tokens masked ({@code {lens}_masked.*})
 * @param slice also every statistic on these positions ({@code {lens}.slice.*}), or null
 * @param stride also every statistic on every {@code stride}-th layer and the output ({@code {lens}.stride.*}),
 *     or 0 for none
 */
public record TrajectoryStatsOptions(boolean maskInput, PositionSlice slice, int stride) {

    public TrajectoryStatsOptions {
        if (stride < 0) {
            throw new LoupeException("The stride must be at least 1 (or 0 for none), got " + stride);
        }
    }

    /** The plain statistics only. */
    public static TrajectoryStatsOptions plain() {
        return new TrajectoryStatsOptions(false, null, 0);
    }
}
