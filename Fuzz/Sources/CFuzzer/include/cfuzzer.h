// libFuzzer's driver, for a Swift entry point. SwiftPM compiles an executable module's entry point as
// <module>_main and links it with `--defsym main=<module>_main`, so a harness that only defines
// LLVMFuzzerTestOneInput (and relies on libFuzzer's own main) fails to link with "undefined symbol
// FuzzDynamics_main". The harness therefore has an @main that hands control to libFuzzer through this function
// (part of libclang_rt.fuzzer since LLVM 11), declared here so that Swift calls it with the C convention.
#ifndef DYNAMICS_CFUZZER_H
#define DYNAMICS_CFUZZER_H
#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerRunDriver(int *argc, char ***argv, int (*callback)(const uint8_t *data, size_t size));
#endif
