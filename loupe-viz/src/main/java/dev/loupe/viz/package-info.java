/** Loupe's viz module. */
package dev.loupe.viz;
