/* difftest.c - differential test of the emulator against the host CPU.
 * Each generated sequence runs natively (in this process, on a fixed RWX
 * code page between a generated prologue/epilogue, faults caught with
 * SIGSEGV/SIGFPE/SIGBUS/SIGILL handlers on an alternate stack) and in the
 * emulator on a copy of the sandbox. GPRs, RIP, defined RFLAGS bits, the
 * fault vector and the sandbox bytes must match.
 * usage: difftest [-n N] [-s SEED] [-i FIRST] [-v] */
#define _GNU_SOURCE
#include <asm/prctl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <ucontext.h>
#include <unistd.h>

#include "../../emulator/emu.h"
#include "gen.h"
#include "ucase.h"

#define CTX_BASE 0x30000000ull
struct ctx {
	u64 in[16], out[16], in_flags, out_flags, host[8], scratch_sp;
	u64 xin[16][2], xout[16][2];
};
static struct ctx *ctx = (struct ctx *)CTX_BASE;
static u8 *sandbox = (u8 *)SANDBOX_BASE, *code = (u8 *)CODE_BASE;
static u8 emu_mem[SANDBOX_SIZE], init_mem[SANDBOX_SIZE];
static unsigned prologue_len;

static sigjmp_buf jb;
static volatile int fault_sig;
static u64 f_gpr[16], f_rip, f_flags, f_trap, f_xmm[16][2];
static u64 t_rip[256], t_lo, t_hi; /* single-step traps with RIP in (t_lo, t_hi] */
static unsigned t_n;

static const int greg_of[16] = {REG_RAX, REG_RCX, REG_RDX, REG_RBX, REG_RSP, REG_RBP,
				REG_RSI, REG_RDI, REG_R8, REG_R9, REG_R10, REG_R11,
				REG_R12, REG_R13, REG_R14, REG_R15};

static void on_sig(int sig, siginfo_t *si, void *uc_)
{
	ucontext_t *uc = uc_;
	(void)si;
	for (int i = 0; i < 16; i++)
		f_gpr[i] = (u64)uc->uc_mcontext.gregs[greg_of[i]];
	f_rip = (u64)uc->uc_mcontext.gregs[REG_RIP];
	f_flags = (u64)uc->uc_mcontext.gregs[REG_EFL];
	f_trap = (u64)uc->uc_mcontext.gregs[REG_TRAPNO];
	memcpy(f_xmm, uc->uc_mcontext.fpregs->_xmm, sizeof(f_xmm));
	if (sig == SIGTRAP && f_trap == 1) { /* a single step: note it, go on */
		if (f_rip > t_lo && f_rip <= t_hi && t_n < 256)
			t_rip[t_n++] = f_rip;
		if (f_rip >= t_hi) /* the epilogue: no more steps */
			uc->uc_mcontext.gregs[REG_EFL] &= ~0x100ll;
		return;
	}
	fault_sig = sig;
	siglongjmp(jb, 1);
}

static unsigned put(u8 *p, unsigned at, const u8 *b, unsigned n)
{
	memcpy(p + at, b, n);
	return at + n;
}

/* movdqu [abs32], xmm (store=1) or movdqu xmm, [abs32] */
static unsigned movdqu_abs(u8 *p, unsigned at, int x, u64 addr, int store)
{
	u8 b[10] = {0xf3, (u8)(0x40 | (x >= 8 ? 4 : 0)), 0x0f, store ? 0x7f : 0x6f, (u8)(0x04 | (x & 7) << 3), 0x25};
	uint32_t a = (uint32_t)addr;
	memcpy(b + 6, &a, 4);
	return put(p, at, b, 10);
}

/* mov [abs32], r64 (store=1) or mov r64, [abs32] */
static unsigned mov_abs(u8 *p, unsigned at, int r, u64 addr, int store)
{
	u8 b[8] = {(u8)(0x48 | (r >= 8 ? 4 : 0)), store ? 0x89 : 0x8b,
		   (u8)(0x04 | (r & 7) << 3), 0x25};
	uint32_t a = (uint32_t)addr;
	memcpy(b + 4, &a, 4);
	return put(p, at, b, 8);
}

#define OFF(f) (CTX_BASE + offsetof(struct ctx, f))

static void build_prologue(void)
{
	static const int hs[7] = {3, 5, 12, 13, 14, 15, 4};
	unsigned at = 0;
	for (int i = 0; i < 7; i++)
		at = mov_abs(code, at, hs[i], OFF(host) + 8 * i, 1);
	at = mov_abs(code, at, 4, OFF(scratch_sp), 0);
	u8 pushf_in[7] = {0xff, 0x34, 0x25};
	uint32_t a = (uint32_t)OFF(in_flags);
	memcpy(pushf_in + 3, &a, 4);
	at = put(code, at, pushf_in, 7);
	for (int x = 0; x < 16; x++)
		at = movdqu_abs(code, at, x, OFF(xin) + 16 * x, 0);
	code[at++] = 0x9d; /* popfq */
	for (int r = 0; r < 16; r++)
		at = mov_abs(code, at, r, OFF(in) + 8 * r, 0);
	prologue_len = at;
}

/* Epilogue after the test code at offset `at` (relative to the test start). */
static void build_epilogue(unsigned at)
{
	static const int hs[7] = {3, 5, 12, 13, 14, 15, 4};
	u8 *p = code + prologue_len;
	for (int x = 0; x < 16; x++)
		at = movdqu_abs(p, at, x, OFF(xout) + 16 * x, 1);
	for (int r = 0; r < 16; r++)
		at = mov_abs(p, at, r, OFF(out) + 8 * r, 1);
	at = mov_abs(p, at, 4, OFF(scratch_sp), 0);
	p[at++] = 0x9c; /* pushfq */
	p[at++] = 0x58; /* pop rax */
	at = mov_abs(p, at, 0, OFF(out_flags), 1);
	p[at++] = 0xfc; /* cld */
	for (int i = 0; i < 7; i++)
		at = mov_abs(p, at, hs[i], OFF(host) + 8 * i, 0);
	p[at++] = 0xc3;
}

static void *map_fixed(u64 addr, size_t len, int prot)
{
	void *p = mmap((void *)addr, len, prot, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	if (p != (void *)addr) {
		perror("mmap");
		exit(2);
	}
	return p;
}

static void setup(void)
{
	static u8 altstack[65536];
	stack_t ss = {.ss_sp = altstack, .ss_size = sizeof(altstack)};
	struct sigaction sa;
	map_fixed(SANDBOX_BASE, SANDBOX_SIZE, PROT_READ | PROT_WRITE);
	map_fixed(CODE_BASE, CODE_SIZE, PROT_READ | PROT_WRITE | PROT_EXEC);
	map_fixed(CTX_BASE, 0x4000, PROT_READ | PROT_WRITE);
	ctx->scratch_sp = CTX_BASE + 0x3ff0;
	sigaltstack(&ss, 0);
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_sig;
	sa.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_NODEFER;
	sigaction(SIGSEGV, &sa, 0);
	sigaction(SIGBUS, &sa, 0);
	sigaction(SIGFPE, &sa, 0);
	sigaction(SIGILL, &sa, 0);
	sigaction(SIGTRAP, &sa, 0);
	if (syscall(SYS_arch_prctl, ARCH_SET_GS, GS_BASE_VAL)) {
		perror("arch_prctl");
		exit(2);
	}
	build_prologue();
}

/* ---- emulator memory: sandbox copy + read-only code page ---- */
static u8 *translate(u64 la, u32 kind)
{
	if (la - SANDBOX_BASE < SANDBOX_SIZE)
		return (kind & EMU_ACC_FETCH) ? 0 : emu_mem + (la - SANDBOX_BASE);
	if (la - CODE_BASE < CODE_SIZE && !(kind & EMU_ACC_WRITE))
		return code + (la - CODE_BASE);
	return 0;
}

static u8 *cb_map(void *c, u64 page, u32 kind)
{
	(void)c;
	return translate(page, kind);
}

static int cb_access(void *c, u64 la, void *buf, u32 size, u32 kind, struct emu_fault *f)
{
	(void)c;
	for (u32 i = 0; i < size; i++) {
		if (!translate(la + i, kind)) {
			f->vector = EMU_EXC_PF;
			f->has_error = true;
			f->error_code = 4 | ((kind & EMU_ACC_WRITE) ? 2 : 0) | ((kind & EMU_ACC_FETCH) ? 16 : 0);
			f->cr2 = la + i;
			return -1;
		}
	}
	for (u32 i = 0; i < size; i++) {
		u8 *p = translate(la + i, kind);
		if (kind & EMU_ACC_WRITE)
			*p = ((u8 *)buf)[i];
		else
			((u8 *)buf)[i] = *p;
	}
	return 0;
}

static const struct emu_mem_ops ops_fast = {cb_access, cb_map};
static const struct emu_mem_ops ops_slow = {cb_access, 0};
static struct emu em;
static struct gen_seq seq;
static int verbose;

static void dump(const char *what, u64 idx)
{
	fprintf(stderr, "%s in sequence %llu:", what, (unsigned long long)idx);
	for (unsigned i = 0; i < seq.n; i++) {
		fprintf(stderr, "\n  %3u:", seq.off[i]);
		for (unsigned k = seq.off[i]; k < seq.off[i + 1]; k++)
			fprintf(stderr, " %02x", seq.code[k]);
	}
	fprintf(stderr, "\n");
}

static int one_prepared(u64 seed);

static int insn_at(u64 rip)
{
	u64 t = CODE_BASE + prologue_len;
	for (unsigned i = 0; i <= seq.n; i++)
		if (t + seq.off[i] == rip)
			return (int)i;
	return -1;
}

static int run_both(u64 idx);

/* Run sequence idx both ways; returns 0 when they agree. */
static int one(u64 seed, u64 idx)
{
	u64 ms = seed ^ (idx * 0x9e3779b97f4a7c15ull);
	gen_sequence(&seq, seed, idx);
	for (unsigned i = 0; i < SANDBOX_SIZE; i += 8) {
		u64 v = gen_rand(&ms);
		memcpy(init_mem + i, &v, 8);
	}
	for (u64 a = seq.gpr[5]; a < SANDBOX_BASE + 0x3f00; a += 0x40) { /* RBP chain */
		u64 nx = a + 0x40;
		memcpy(init_mem + (a - SANDBOX_BASE), &nx, 8);
	}
	return run_both(idx);
}

/* Unit-case variant: memory from ucase_mem(seed). */
static int one_prepared(u64 seed)
{
	for (unsigned i = 0; i < SANDBOX_SIZE; i++)
		init_mem[i] = ucase_mem((unsigned)seed, i);
	return run_both(seed);
}

/* The emulator's run of the sequence: with TF, one run per single step
 * (the trap RIPs into e_rip); returns the last result. */
static u64 e_rip[256], steps_compared;
static unsigned e_n;
static struct emu_result emu_side(u64 idx, u64 t0)
{
	emu_init(&em, (idx & 3) == 3 ? &ops_slow : &ops_fast, 0);
	memcpy(em.cpu.gpr, seq.gpr, sizeof(seq.gpr));
	memcpy(em.cpu.xmm, seq.xmm, sizeof(seq.xmm));
	em.cpu.rip = t0;
	em.cpu.cpl = 3;
	em.cpu.gs_base = GS_BASE_VAL;
	em.cpu.cr0 = 0x80000033;
	em.cpu.cr4 = EMU_CR4_OSFXSR | EMU_CR4_OSXMMEXCPT;
	emu_set_rflags(&em, seq.rflags);
	struct emu_result r;
	e_n = 0;
	while ((r = emu_run(&em, t0, t0 + seq.len, 100000)).reason == EMU_STOP_DEBUG && e_n < 256)
		e_rip[e_n++] = em.cpu.rip;
	return r;
}

static int cmp_xmm(const u64 (*nx)[2])
{
	int bad = 0;
	for (int i = 0; i < 16; i++)
		if (nx[i][0] != em.cpu.xmm[i].q[0] || nx[i][1] != em.cpu.xmm[i].q[1]) {
			fprintf(stderr, "xmm%d: native %016llx%016llx emu %016llx%016llx\n", i, (unsigned long long)nx[i][1],
				(unsigned long long)nx[i][0], (unsigned long long)em.cpu.xmm[i].q[1],
				(unsigned long long)em.cpu.xmm[i].q[0]);
			bad = 1;
		}
	return bad;
}

static int cmp_steps(void)
{
	steps_compared += t_n;
	if (t_n == e_n && !memcmp(t_rip, e_rip, t_n * sizeof(u64)))
		return 0;
	fprintf(stderr, "single steps: native %u, emu %u:", t_n, e_n);
	for (unsigned i = 0; i < t_n || i < e_n; i++)
		fprintf(stderr, " %llx/%llx", i < t_n ? (unsigned long long)(t_rip[i] - t_lo) : 0ull,
			i < e_n ? (unsigned long long)(e_rip[i] - t_lo) : 0ull);
	fprintf(stderr, "\n");
	return 1;
}

static int run_both(u64 idx)
{
	u64 t0 = CODE_BASE + prologue_len;
	memcpy(sandbox, init_mem, SANDBOX_SIZE);
	memcpy(emu_mem, init_mem, SANDBOX_SIZE);
	memcpy(code + prologue_len, seq.code, seq.len);
	build_epilogue(seq.len);
	memcpy(ctx->in, seq.gpr, sizeof(seq.gpr));
	memcpy(ctx->xin, seq.xmm, sizeof(seq.xmm));
	ctx->in_flags = seq.rflags | (seq.tf ? 0x100 : 0);
	fault_sig = 0;
	t_n = 0, t_lo = t0, t_hi = t0 + seq.len;
	if (!sigsetjmp(jb, 0))
		((void (*)(void))code)();
	seq.rflags |= seq.tf ? 0x100 : 0;
	struct emu_result r = emu_side(idx, t0);
	seq.rflags &= ~0x100ull;

	if (fault_sig && (f_rip < t0 || f_rip >= t0 + seq.len))
		fault_sig = -fault_sig; /* fetch fault after a branch out: left */
	const u64 *ngpr = fault_sig ? f_gpr : ctx->out;
	u64 nrip = fault_sig ? f_rip : t0 + seq.len, nfl = fault_sig ? f_flags : ctx->out_flags;
	int at = insn_at(nrip), bad = 0;
	uint32_t mask = (uint32_t)(0x8d5 | 0x400) & ~(at >= 0 ? seq.undef[at] : 0u);
	if (fault_sig > 0 && (r.reason != EMU_STOP_FAULT || r.fault.vector != f_trap)) {
		fprintf(stderr, "fault mismatch: native sig %d trap %llu, emu %s vec %u\n", fault_sig,
			(unsigned long long)f_trap, emu_stop_name(r.reason), r.fault.vector);
		bad = 1;
	}
	if (fault_sig <= 0 && r.reason != EMU_STOP_LEFT_REGION) {
		fprintf(stderr, "emu stopped: %s exit %s vec %u len %u\n", emu_stop_name(r.reason),
			emu_exit_name(r.exit), r.fault.vector, r.len);
		bad = 1;
	}
	if (em.cpu.rip != nrip) {
		fprintf(stderr, "rip: native +%lld emu +%lld\n", (long long)(nrip - t0), (long long)(em.cpu.rip - t0));
		bad = 1;
	}
	for (int i = 0; i < 16; i++)
		if (ngpr[i] != em.cpu.gpr[i]) {
			fprintf(stderr, "gpr%d: native %016llx emu %016llx\n", i,
				(unsigned long long)ngpr[i], (unsigned long long)em.cpu.gpr[i]);
			bad = 1;
		}
	bad |= cmp_xmm(fault_sig ? (const u64(*)[2])f_xmm : (const u64(*)[2])ctx->xout);
	if (seq.tf)
		bad |= cmp_steps();
	u64 ef = emu_get_rflags(&em);
	if ((ef ^ nfl) & mask) {
		fprintf(stderr, "rflags: native %04llx emu %04llx mask %04x\n",
			(unsigned long long)nfl, (unsigned long long)ef, mask);
		bad = 1;
	}
	for (unsigned i = 0; i < SANDBOX_SIZE; i++)
		if (sandbox[i] != emu_mem[i]) {
			fprintf(stderr, "mem +%#x: native %02x emu %02x\n", i, sandbox[i], emu_mem[i]);
			bad = 1;
			break;
		}
	if (bad || verbose)
		dump(bad ? "DIVERGENCE" : "ok", idx);
	return bad;
}

/* -u FILE: record one unit case per template line "hex|undef|name" on the
 * host CPU, print it as a C table row if the emulator agrees. */
static int record_cases(const char *path)
{
	char line[512];
	unsigned idx = 0, rows = 0, skipped = 0;
	FILE *f = fopen(path, "r");
	if (!f)
		return 2;
	printf("/* unit_cases.c - GENERATED by tests/emu/mkcases.py (difftest -u): each\n"
	       " * row was executed on the host CPU (%s) and the emulator agreed.\n"
	       " * Initial state: ucase_reg()/ucase_flags()/ucase_mem() of the seed. */\n"
	       "#include \"ucase.h\"\n\nconst unsigned long long ucase_code_addr = %#llxull;\n"
	       "const struct ucase ucases[] = {\n", "AMD EPYC", (unsigned long long)(CODE_BASE + prologue_len));
	while (fgets(line, sizeof(line), f)) {
		char *hex = line, *u = strchr(line, '|'), *name;
		if (!u || !(name = strchr(u + 1, '|')))
			continue;
		*u++ = 0;
		*name++ = 0;
		name[strcspn(name, "\n")] = 0;
		unsigned und = (unsigned)strtoul(u, 0, 0), seed = idx++;
		seq.len = 0;
		for (char *h = hex; h[0] && h[1]; h += 2) {
			unsigned b;
			sscanf(h, "%2x", &b);
			seq.code[seq.len++] = (u8)b;
		}
		seq.n = 1;
		seq.off[0] = 0;
		seq.off[1] = seq.len;
		seq.undef[0] = 0;
		seq.undef[1] = und;
		for (int r = 0; r < 16; r++)
			seq.gpr[r] = ucase_reg(seed, r);
		for (int x = 0; x < 32; x++)
			seq.xmm[x / 2][x % 2] = ucase_xmm(seed, x / 2, x % 2);
		seq.rflags = ucase_flags(seed);
		seq.tf = 0;
		if (one_prepared(seed)) {
			fprintf(stderr, "skipped (emulator disagrees): %s\n", name);
			skipped++;
			continue;
		}
		const u64 *o = fault_sig ? f_gpr : ctx->out;
		u64 t0 = CODE_BASE + prologue_len, rip = fault_sig ? f_rip : t0 + seq.len;
		u64 fl = fault_sig ? f_flags : ctx->out_flags;
		printf("\t{\"%s\", \"", name);
		for (unsigned i = 0; i < seq.len; i++)
			printf("\\x%02x", seq.code[i]);
		printf("\", %u, %u, %#llx, %#x, %d, %#llx, {", seq.len, seed,
		       (unsigned long long)(fl & 0xcd5), (0xcd5u & ~und),
		       fault_sig > 0 ? (int)f_trap : -1,
		       (unsigned long long)(rip == t0 + seq.len ? 0 : rip == t0 ? 1 : rip));
		for (int r = 0; r < 16; r++)
			if (o[r] != seq.gpr[r])
				printf("{%d, %#llx}, ", r + 1, (unsigned long long)o[r]);
		printf("}, \"");
		for (unsigned i = 0; i < SANDBOX_SIZE; i++) {
			if (sandbox[i] == init_mem[i])
				continue;
			printf("%u:", i);
			for (; i < SANDBOX_SIZE && sandbox[i] != init_mem[i]; i++)
				printf("%02x", sandbox[i]);
			printf(";");
		}
		printf("\", \"");
		const u64(*xo)[2] = fault_sig ? (const u64(*)[2])f_xmm : (const u64(*)[2])ctx->xout;
		for (int x = 0; x < 16; x++) {
			if (xo[x][0] == seq.xmm[x][0] && xo[x][1] == seq.xmm[x][1])
				continue;
			printf("%d:", x);
			for (int k = 0; k < 16; k++)
				printf("%02x", (unsigned)((xo[x][k / 8] >> (8 * (k % 8))) & 0xff));
			printf(";");
		}
		printf("\"},\n");
		rows++;
	}
	printf("};\nconst unsigned ucase_count = %u;\n", rows);
	fprintf(stderr, "%u cases recorded, %u skipped\n", rows, skipped);
	return 0;
}

int main(int argc, char **argv)
{
	u64 n = 10000, seed = 1, first = 0, bad = 0, faults = 0;
	int opt;
	if (argc == 3 && !strcmp(argv[1], "-u")) {
		setup();
		return record_cases(argv[2]);
	}
	while ((opt = getopt(argc, argv, "n:s:i:v")) != -1) {
		if (opt == 'n') n = strtoull(optarg, 0, 0);
		else if (opt == 's') seed = strtoull(optarg, 0, 0);
		else if (opt == 'i') first = strtoull(optarg, 0, 0);
		else verbose = 1;
	}
	setup();
	struct timespec a, b;
	clock_gettime(CLOCK_MONOTONIC, &a);
	for (u64 i = first; i < first + n; i++) {
		bad += one(seed, i) != 0;
		faults += fault_sig > 0;
		if (bad >= 20)
			break;
	}
	clock_gettime(CLOCK_MONOTONIC, &b);
	double s = (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) * 1e-9;
	printf("difftest: seed %llu, %llu sequences from %llu, %llu divergences, %llu native faults, "
	       "%llu single-step traps, %.1f s\n",
	       (unsigned long long)seed, (unsigned long long)n, (unsigned long long)first,
	       (unsigned long long)bad, (unsigned long long)faults, (unsigned long long)steps_compared, s);
	return bad != 0;
}
