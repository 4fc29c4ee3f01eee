// libpng 1.6 (Debian's libpng-dev), used through its simplified png_image API (no setjmp needed).
#include <png.h>
