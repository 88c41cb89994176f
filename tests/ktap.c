/* ktap.c: runs the suites named on the command line and prints KTAP version 1; ends the
 * machine with the exit status of the final result (0x10 pass, 0x11 fail, 0x12 all skipped,
 * 0x13 error). Verdict: any fail -> FAIL, else any error -> ERROR, else nothing passed and
 * something skipped -> SKIP, else PASS. */
#include "ktap.h"
#include "suites.h"

struct counts {
	int pass, fail, skip, error;
};

static struct {
	int checks;
	bool failed;
	char skip[160], error[160];
} cur;

bool kt_check(bool ok, const char *file, int line, const char *expr)
{
	cur.checks++;
	if (!ok) {
		cur.failed = true;
		printf("    # %s:%d: expected %s\n", file, line, expr);
	}
	return ok;
}

/* A check whose text comes from elsewhere (the guest, through HC_CHECK). */
bool kt_check_text(bool ok, const char *text)
{
	cur.checks++;
	if (!ok) {
		cur.failed = true;
		printf("    # expected %s\n", text);
	}
	return ok;
}

bool kt_check_eq(u64 got, u64 want, const char *file, int line, const char *gexpr, const char *wexpr)
{
	cur.checks++;
	if (got == want)
		return true;
	cur.failed = true;
	printf("    # %s:%d: expected %s == %s, got 0x%lx, want 0x%lx\n", file, line, gexpr, wexpr, got, want);
	return false;
}

void kt_diag(const char *fmt, ...)
{
	va_list ap;
	printf("    # ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
}

void kt_skip(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(cur.skip, sizeof(cur.skip), fmt, ap);
	va_end(ap);
}

void kt_error(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(cur.error, sizeof(cur.error), fmt, ap);
	va_end(ap);
}

static void run_case(const struct ktap_case *c, int n, struct counts *k)
{
	memset(&cur, 0, sizeof(cur));
	c->fn();
	if (cur.error[0]) {
		printf("  not ok %d %s # ERROR %s\n", n, c->name, cur.error);
		k->error++;
	} else if (cur.failed) {
		printf("  not ok %d %s\n", n, c->name);
		k->fail++;
	} else if (cur.skip[0]) {
		printf("  ok %d %s # SKIP %s\n", n, c->name, cur.skip);
		k->skip++;
	} else if (cur.checks == 0) {
		printf("  not ok %d %s # ERROR the case made no check\n", n, c->name);
		k->error++;
	} else {
		printf("  ok %d %s\n", n, c->name);
		k->pass++;
	}
}

static bool selected(const char *list, const char *name);

/* "suite.case" in the list: that case (the graders boot only the cases they score). */
static bool case_named(const char *list, const char *suite, const char *c)
{
	char word[96];
	snprintf(word, sizeof(word), "%s.%s", suite, c);
	return cmdline_list_has(list, word);
}

/* Every case of a suite the list selects as a whole, else the cases it names. */
static bool case_selected(const char *list, const struct ktap_suite *s, int i)
{
	return selected(list, s->name) || case_named(list, s->name, s->cases[i].name);
}

static int cases_selected(const char *list, const struct ktap_suite *s)
{
	int n = 0;
	for (int i = 0; i < s->ncases; i++)
		n += case_selected(list, s, i);
	return n;
}

static void run_suite(const char *list, const struct ktap_suite *s, int n, struct counts *total)
{
	struct counts k = {0};
	int ncases = cases_selected(list, s), m = 0;
	const char *why = s->setup ? s->setup() : NULL;
	if (why) {
		printf("ok %d %s # SKIP %s\n", n, s->name, why);
		total->skip += ncases;
		return;
	}
	printf("  KTAP version 1\n  # Subtest: %s\n  1..%d\n", s->name, ncases);
	for (int i = 0; i < s->ncases; i++)
		if (case_selected(list, s, i))
			run_case(&s->cases[i], ++m, &k);
	if (s->fini)
		s->fini();
	printf("  # %s: pass:%d fail:%d skip:%d error:%d total:%d\n", s->name, k.pass, k.fail, k.skip,
	       k.error, ncases);
	if (k.fail || k.error)
		printf("not ok %d %s%s\n", n, s->name, k.fail ? "" : " # ERROR a case could not run");
	else if (k.pass == 0)
		printf("ok %d %s # SKIP every case skipped\n", n, s->name);
	else
		printf("ok %d %s\n", n, s->name);
	cov_checkpoint(s->name); /* COVERAGE=1 only: dump the counters that changed */
	total->pass += k.pass;
	total->fail += k.fail;
	total->skip += k.skip;
	total->error += k.error;
}

/* "all" selects every suite but the self-tests of this library ("selftest_*", which fail on
 * purpose), the benchmarks ("bench_*", which measure rather than test) and "fuzz" (minutes of
 * emulated fuzzing: the matrix boots it on rows of its own, the -fuzz profiles of
 * tests/host/hvboot.py); those run only when named. */
static bool selected(const char *list, const char *name)
{
	if (cmdline_list_has(list, name))
		return true;
	return cmdline_list_has(list, "all") && strncmp(name, "selftest_", 9) && strncmp(name, "bench_", 6) &&
	       strcmp(name, "fuzz");
}

/* Names in list that match no suite are reported as errors, after the known ones. */
static int count_unknown(const char *list, bool print, int n, struct counts *t)
{
	int unknown = 0;
	for (const char *p = list; *p;) {
		const char *e = strchr(p, ',');
		size_t len = e ? (size_t)(e - p) : strlen(p);
		char word[96];
		snprintf(word, sizeof(word), "%.*s", (int)len, p);
		bool found = !strcmp(word, "all") || len == 0;
		for (int i = 0; i < ktap_nsuites && !found; i++) {
			const struct ktap_suite *s = ktap_suites[i];
			size_t sl = strlen(s->name);
			found = !strcmp(word, s->name);
			for (int c = 0; c < s->ncases && !found && !strncmp(word, s->name, sl) && word[sl] == '.'; c++)
				found = !strcmp(word + sl + 1, s->cases[c].name);
		}
		if (!found) {
			unknown++;
			if (print) {
				printf("not ok %d %s # ERROR no such suite (or suite.case)\n", n + unknown, word);
				t->error++;
			}
		}
		p += len + (e ? 1 : 0);
	}
	return unknown;
}

void ktap_main(const char *list)
{
	struct counts t = {0};
	int n = 0, planned = count_unknown(list, false, 0, NULL);
	for (int i = 0; i < ktap_nsuites; i++)
		planned += cases_selected(list, ktap_suites[i]) > 0;
	printf("KTAP version 1\n# hvlab tests, cmdline \"%s\"\n", boot_info.cmdline);
	ktap_probe();
	printf("1..%d\n", planned);
	for (int i = 0; i < ktap_nsuites; i++)
		if (cases_selected(list, ktap_suites[i]) > 0)
			run_suite(list, ktap_suites[i], ++n, &t);
	count_unknown(list, true, n, &t);
	printf("# Totals: pass:%d fail:%d skip:%d error:%d total:%d\n", t.pass, t.fail, t.skip, t.error,
	       t.pass + t.fail + t.skip + t.error);
	if (t.pass + t.fail + t.skip + t.error == 0) {
		printf("# no test case was selected by \"%s\"\n", list);
		t.error++;
	}
	const char *res = t.fail ? "FAIL" : t.error ? "ERROR" : (!t.pass && t.skip) ? "SKIP" : "PASS";
	printf("# result: %s\n", res);
	machine_exit(t.fail ? EXIT_FAIL : t.error ? EXIT_ERROR : (!t.pass && t.skip) ? EXIT_SKIP : EXIT_PASS);
}
