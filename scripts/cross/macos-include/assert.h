/* A stub for a cross `cargo check` of gw for macOS on Linux (no SDK here): ring needs none of it at run time. */
#define assert(x) ((void)0)
