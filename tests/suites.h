/* suites.h: the in-VM suites, in the order they run. Add a suite: write tests/test_NAME.c
 * with KTAP_SUITE(NAME, ...), declare it here, list it in suites.c. */
#ifndef HVLAB_SUITES_H
#define HVLAB_SUITES_H
#include "ktap.h"

extern const struct ktap_suite boot_suite;
extern const struct ktap_suite vmx_caps_suite;
extern const struct ktap_suite vmxon_suite;
extern const struct ktap_suite selftest_ktap_suite;

extern const struct ktap_suite *const ktap_suites[];
extern const int ktap_nsuites;
void ktap_probe(void);
const char *skip_unless_vmx(void);
#endif
