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

/* Suites "selftest_crash" and "selftest_panic", never part of "all", one per boot: a hypervisor
 * exception (a NULL dereference outside trap_catch) and a panic must end the run as a crash,
 * with a "Bail out!" line and no "# result:" line (kernel/trap.c, kernel/panic.c). */
static void null_dereference(void)
{
	EXPECT(true);
	u64 v = *(volatile u64 *)NULL + 1; /* #PF: page 0 is not mapped (kernel/paging.c) */
	EXPECT_EQ(v, 0); /* not reached */
}

static void panics(void)
{
	EXPECT(true);
	panic("on purpose (selftest_panic)");
}

KTAP_SUITE(selftest_crash, NULL, NULL, KTAP_CASE(null_dereference));
KTAP_SUITE(selftest_panic, NULL, NULL, KTAP_CASE(panics));
