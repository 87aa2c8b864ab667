/* version.c — see version.h. IMC_GIT_DESCRIBE comes from the Makefile
 * (`git describe --always --dirty` of the built tree, "" outside git). */
#include "util/version.h"

#ifndef IMC_GIT_DESCRIBE
#define IMC_GIT_DESCRIBE ""
#endif

#if defined(__clang__)
#define IMC_CC "clang " __clang_version__
#elif defined(__GNUC__)
#define IMC_CC "gcc " __VERSION__
#else
#define IMC_CC "unknown compiler"
#endif

const char *imc_version(void) { return IMC_VERSION; }

const char *imc_version_build(void)
{
  return sizeof IMC_GIT_DESCRIBE > 1 ? IMC_VERSION " (git " IMC_GIT_DESCRIBE ", " IMC_CC ")" : IMC_VERSION " (" IMC_CC ")";
}
