/* ktap.h: the in-VM test library. Suites of cases print KTAP version 1 on COM1 (format in
 * docs/testing.md). A case records checks with EXPECT*; a case that makes no check and does
 * not skip is reported as an ERROR, so a test that asserts nothing cannot pass. */
#ifndef HVLAB_KTAP_H
#define HVLAB_KTAP_H
#include "../kernel/defs.h"

struct ktap_case {
	const char *name;
	void (*fn)(void);
};
struct ktap_suite {
	const char *name;
	const struct ktap_case *cases;
	int ncases;
	const char *(*setup)(void); /* prepares the suite; a non-NULL reason skips it whole */
	void (*fini)(void);        /* runs after the cases (clean-up), may be NULL */
};

#define KTAP_CASE(fn) {#fn, fn}
#define KTAP_SUITE(id, skipfn, finifn, ...)                                                  \
	static const struct ktap_case id##_cases[] = {__VA_ARGS__};                          \
	const struct ktap_suite id##_suite = {#id, id##_cases, ARRAY_SIZE(id##_cases), skipfn, finifn}

bool kt_check(bool ok, const char *file, int line, const char *expr);
bool kt_check_text(bool ok, const char *text);
bool kt_check_eq(u64 got, u64 want, const char *file, int line, const char *gexpr, const char *wexpr);
void kt_diag(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void kt_skip(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void kt_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* EXPECT continues after a failure; ASSERT leaves the case. */
#define EXPECT(c) kt_check(!!(c), __FILE__, __LINE__, #c)
#define EXPECT_EQ(got, want) kt_check_eq((u64)(got), (u64)(want), __FILE__, __LINE__, #got, #want)
#define ASSERT_TRUE(c)                                                                          \
	do {                                                                                    \
		if (!EXPECT(c))                                                                 \
			return;                                                                 \
	} while (0)
#define ASSERT_EQ(got, want)                                                                    \
	do {                                                                                    \
		if (!EXPECT_EQ(got, want))                                                      \
			return;                                                                 \
	} while (0)
#define SKIP(...)                                                                               \
	do {                                                                                    \
		kt_skip(__VA_ARGS__);                                                           \
		return;                                                                         \
	} while (0)
#endif
