/* version.h — the version of this build. IMC_VERSION below is the release
 * number; the Makefile adds the `git describe` of the tree it built (when
 * built from a git checkout) through IMC_GIT_DESCRIBE. Pure; static strings. */
#ifndef IMC_UTIL_VERSION_H
#define IMC_UTIL_VERSION_H

#define IMC_VERSION "0.1.0"

/* "0.1.0" — the release number. */
const char *imc_version(void);
/* "0.1.0 (git 3b609ec-dirty, gcc 12.2.0)" — release, source and compiler; the
 * git part is left out when the build had no git checkout. */
const char *imc_version_build(void);

#endif
