package dev.loupe.io.torch;

/**
 * A persistent id {@code ('storage', torch.FloatStorage, key, location, numel)} from the pickle:
 * the storage's raw bytes are the zip entry {@code <prefix>/data/<key>}. The location (where the
 * storage lived when saved, e.g. {@code cuda:0}) is dropped: Loupe places arrays itself.
 *
 * @param type the element type
 * @param key the storage's entry name under {@code data/}
 * @param numel the number of elements the pickle declares
 */
record StorageRef(StorageType type, String key, long numel) {}
