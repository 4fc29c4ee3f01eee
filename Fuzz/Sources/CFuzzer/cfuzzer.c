// Only the header matters (see include/cfuzzer.h); SwiftPM needs one source file in a C target.
#include "cfuzzer.h"
