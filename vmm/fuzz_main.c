/* fuzz_main.c: the boot `make fuzz` and `make fuzz-repro` make (tests/host/fuzz.py reads its
 * lines): "fuzz=NAME seconds=S seed=N dirty=wp|ad|pml coverage=bp|edges|none" runs a campaign on
 * guest target NAME with a status line every 5 s and a summary; "fuzz_input=HEX" instead replays
 * that one input and says whether it crashes. A GRUB module named "corpus" (make fuzz CORPUS=DIR)
 * adds its entries to the starting corpus. A bad configuration (an unknown target or method,
 * a method this CPU lacks, target code too large for a region) is a "# fuzz-error:" line and ERROR. */
#include "fuzz.h"
#include "vmcs.h"

#define STATUS_SECONDS 5
#define LIMIT_MS 100 /* per iteration */

static u8 repro[FUZZ_LEN_MAX * 64];

static u64 arg_u64(const char *cmdline, const char *key, u64 dflt)
{
	char v[24];
	int n = cmdline_get(cmdline, key, v, sizeof(v));
	return n < 0 || n >= (int)sizeof(v) ? dflt : strtou64(v, NULL, 0);
}

static int hexval(char c)
{
	return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

/* The input of fuzz_input=HEX; -1 if it is not hex digits in pairs. */
static s64 parse_input(const char *cmdline)
{
	static char hex[sizeof(repro) * 2 + 1];
	int n = cmdline_get(cmdline, "fuzz_input", hex, sizeof(hex));
	if (n < 0 || n >= (int)sizeof(hex) || n % 2)
		return -1;
	for (int i = 0; i < n / 2; i++) {
		int hi = hexval(hex[2 * i]), lo = hexval(hex[2 * i + 1]);
		if (hi < 0 || lo < 0)
			return -1;
		repro[i] = hi << 4 | lo;
	}
	return n / 2;
}

/* The GRUB module named name (its command line), or false. */
static bool boot_module(const char *name, const u8 **start, u64 *size)
{
	for (int i = 0; i < boot_info.nmodules; i++)
		if (!strcmp(boot_info.modules[i].cmdline, name)) {
			*start = (const u8 *)boot_info.modules[i].start;
			*size = boot_info.modules[i].end - boot_info.modules[i].start;
			return true;
		}
	return false;
}

static const char *error(const char *fmt, const char *what)
{
	static char msg[160];
	snprintf(msg, sizeof(msg), fmt, what);
	return msg;
}

static const char *run(struct vm *vm, const char *cmdline)
{
	char target[40], dirty[8] = "wp", cov[8] = "bp", name[HV_SCENARIO_MAX];
	int n = cmdline_get(cmdline, "fuzz", target, sizeof(target));
	if (n <= 0 || n >= (int)sizeof(target))
		return "fuzz= names no target (or a name longer than 39 characters)";
	cmdline_get(cmdline, "dirty", dirty, sizeof(dirty));
	cmdline_get(cmdline, "coverage", cov, sizeof(cov));
	int method = fuzz_dirty_parse(dirty);
	if (method < 0)
		return error("dirty=%s: the methods are wp, ad and pml", dirty);
	if (strcmp(cov, "bp") && strcmp(cov, "edges") && strcmp(cov, "none"))
		return error("coverage=%s: the modes are bp, edges and none", cov);
	const char *why = dirty_unsupported(method);
	if (why)
		printf("# fuzz: %s\n", why);
	if (why)
		return error("dirty=%s: this CPU cannot do it", dirty);
	snprintf(name, sizeof(name), "fuzz:%s", target);
	if (vm_create(vm, 32UL << 20) || vm_boot(vm, name, 0))
		return "cannot create or boot the guest";
	u64 seed = arg_u64(cmdline, "seed", 1);
	if ((why = fuzz_attach(vm, method, seed, tsc_hz() / 1000 * LIMIT_MS)))
		return why;
	if (!strcmp(cov, "bp") && (why = cover_attach(vm)))
		return why;
	if (!strcmp(cov, "edges") && (why = edges_attach(vm)))
		return why;
	if ((why = fuzz_start(vm)))
		return error("%s: an unknown target? (see the guest's lines above)", why);
	printf("# fuzz-start: target=%s dirty=%s coverage=%s seed=%lu %s=%lu\n", target, dirty, cov, seed,
	       vm->fuzz->edges ? "map" : "blocks", cover_total(vm));
	if (!strcmp(cov, "bp")) /* the guest's reads of its code: the original bytes, or the INT3s */
		printf("# fuzz: breakpoints %s%s\n", cover_hiding(vm) ? "visible to the guest's reads: " :
		       "hidden from the guest's reads (execute-only copies of its code pages)", cover_hiding(vm) ?: "");
	s64 len = parse_input(cmdline);
	if (len >= 0) {
		struct fuzz_result r = fuzz_one(vm, repro, len);
		if (r.outcome == FUZZ_CRASH)
			printf("# fuzz-repro: crash vector=%u kind=%s rip=0x%lx info=0x%lx\n", r.vector, fuzz_kind_name(r.vector),
			       r.rip, r.status);
		else
			printf("# fuzz-repro: no crash (%s, status %lu)\n", r.outcome == FUZZ_TIMEOUT ? "time limit" : "ended",
			       r.status);
		return NULL;
	}
	static struct fuzz_campaign c;
	c.max_tsc = arg_u64(cmdline, "seconds", 60) * tsc_hz();
	c.max_execs = arg_u64(cmdline, "execs", 0);
	c.status_tsc = STATUS_SECONDS * tsc_hz();
	c.report = true;
	boot_module("corpus", &c.seeds, &c.seeds_size);
	fuzz_campaign_run(vm, &c);
	for (u64 i = 0; i < c.unique; i++)
		printf("# fuzz-unique: %s at rip=0x%lx: %lu times, first at execution %lu\n", fuzz_kind_name(c.crash[i].vector),
		       c.crash[i].rip, c.crash[i].count, c.crash[i].first_exec);
	return NULL;
}

/* vmm_main hands the boot here when the command line has fuzz=. VMX is on. */
u8 fuzz_main(const char *cmdline)
{
	static struct vm vm;
	const char *err = run(&vm, cmdline);
	if (err)
		printf("# fuzz-error: %s\n", err);
	fuzz_detach(&vm);
	if (vm.vmcs)
		vm_destroy(&vm);
	return err ? EXIT_ERROR : EXIT_PASS;
}
