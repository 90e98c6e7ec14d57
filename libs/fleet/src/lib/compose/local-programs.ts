// Image services the launcher can run without Docker. An image's command
// names a program inside the image; the launcher may run a program of the
// same name from this machine instead only when that is the same software,
// taking the same arguments and behaving the same (redis-server from a
// distribution package is the one in the redis image). Hence a list rather
// than "any program found on PATH": a local program named like one in an
// image can be something else entirely. Add a program here once its image's
// services run unchanged from the local binary.

/** Programs an image service's command may name to run as a local process (when found on PATH). */
export const localPrograms: ReadonlySet<string> = new Set(['redis-server']);
