/**
 * The floor-plan check: {@code FloorPlan} lists every package of Loupe on
 * a floor, bottom first, and {@code FloorPlanTest} fails when a class uses a
 * package of its own floor or a higher one, when packages form a cycle, or when a package is on no
 * floor. A new package must be added to {@code FloorPlan.LOUPE}.
 *
 * <p>Test code only, outside the floors it checks; the fixture packages below it hold the two
 * classes that show an upward import is caught.
 */
package dev.loupe.architecture;
