/* test_selftest.c: suite "selftest_ktap", never part of "all". It fails, skips and errs on
 * purpose so the host runner's own tests can show that each outcome reaches the verdict and
 * the exit status (tests/host/test_runner.py). */
#include "suites.h"

static void passes(void) { EXPECT_EQ(1 + 1, 2); }
static void fails(void) { EXPECT_EQ(1 + 1, 3); }
static void skips(void) { SKIP("skipped on purpose"); }
static void checks_nothing(void) {} /* must be reported as ERROR, never as ok */
static void assert_stops_case(void)
{
	ASSERT_TRUE(false);
	EXPECT(true); /* not reached: the case has one failed check only */
}

KTAP_SUITE(selftest_ktap, NULL, NULL, KTAP_CASE(passes), KTAP_CASE(fails), KTAP_CASE(skips),
	   KTAP_CASE(checks_nothing), KTAP_CASE(assert_stops_case));
