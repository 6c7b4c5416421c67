/** Loupe's lens module. */
package dev.loupe.lens;
