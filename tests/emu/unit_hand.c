/* unit_hand.c - hand-written unit cases: every hypervisor exit, unsupported
 * and #UD encodings, #GP/#SS/#PF/#DE paths with the state left at the
 * faulting instruction, restart after a fault, REP interrupted by a fault
 * and by the budget, self-modifying code, instruction fetch across a page,
 * user/supervisor/fetch kinds seen by the callbacks, POPF privilege rules. */
#include <string.h>

#include "../../emulator/emu_internal.h"
#include "unit.h"

static struct emu e;

#define B(s) s, sizeof(s) - 1

static struct emu_result run(u8 cpl, const char *bytes, unsigned len, u64 budget)
{
	return urun(&e, cpl, bytes, len, budget);
}

static const struct { const char *b; unsigned len; enum emu_exit x; } exits[] = {
	{B("\xe4\x60"), EMU_X_IO}, {B("\xe5\x60"), EMU_X_IO}, {B("\xe6\x80"), EMU_X_IO},
	{B("\xe7\x80"), EMU_X_IO}, {B("\xec"), EMU_X_IO}, {B("\xed"), EMU_X_IO},
	{B("\xee"), EMU_X_IO}, {B("\x66\xef"), EMU_X_IO}, {B("\x6c"), EMU_X_IO},
	{B("\xf3\x6d"), EMU_X_IO}, {B("\x6e"), EMU_X_IO}, {B("\xf3\x6f"), EMU_X_IO},
	{B("\xf4"), EMU_X_HLT}, {B("\xfa"), EMU_X_CLI}, {B("\xfb"), EMU_X_STI},
	{B("\x0f\x20\xd8"), EMU_X_MOV_CR}, {B("\x0f\x22\xd8"), EMU_X_MOV_CR},
	{B("\x44\x0f\x20\xc0"), EMU_X_MOV_CR}, {B("\x0f\x21\xf8"), EMU_X_MOV_DR},
	{B("\x0f\x23\xf8"), EMU_X_MOV_DR}, {B("\xcd\x80"), EMU_X_INT}, {B("\xcc"), EMU_X_INT3},
	{B("\xf1"), EMU_X_INT1}, {B("\xcf"), EMU_X_IRET}, {B("\x48\xcf"), EMU_X_IRET},
	{B("\x0f\x05"), EMU_X_SYSCALL}, {B("\x48\x0f\x07"), EMU_X_SYSRET},
	{B("\x0f\x34"), EMU_X_SYSENTER}, {B("\x0f\x35"), EMU_X_SYSENTER},
	{B("\x0f\xa2"), EMU_X_CPUID}, {B("\x0f\x32"), EMU_X_RDMSR}, {B("\x0f\x30"), EMU_X_WRMSR},
	{B("\x0f\x31"), EMU_X_RDTSC}, {B("\x0f\x33"), EMU_X_RDPMC}, {B("\x0f\x06"), EMU_X_CLTS},
	{B("\x0f\x08"), EMU_X_INVD}, {B("\x0f\x09"), EMU_X_INVD},
	{B("\x0f\x01\x10"), EMU_X_SYSTEM}, {B("\x0f\x01\x3b"), EMU_X_SYSTEM},
	{B("\x0f\x00\xd8"), EMU_X_SYSTEM}, {B("\x0f\x02\xc0"), EMU_X_SYSTEM},
	{B("\x0f\x03\xc0"), EMU_X_SYSTEM}, {B("\x8e\xd8"), EMU_X_SEG}, {B("\x8c\xd8"), EMU_X_SEG},
	{B("\x0f\xa0"), EMU_X_SEG}, {B("\x0f\xa9"), EMU_X_SEG}, {B("\xcb"), EMU_X_FAR},
	{B("\xca\x08\x00"), EMU_X_FAR}, {B("\xff\x18"), EMU_X_FAR}, {B("\xff\x2b"), EMU_X_FAR},
};

/* Instructions the CPU executes that the interpreter leaves to it. */
static const struct { const char *b; unsigned len; enum emu_exit x; } cpu_runs[] = {
	{B("\xd9\xc0"), EMU_X_X87}, {B("\xdd\x03"), EMU_X_X87}, {B("\xdb\xe8"), EMU_X_X87},
	{B("\x0f\x77"), EMU_X_X87}, {B("\x0f\x6f\xc1"), EMU_X_X87}, {B("\x0f\x38\x00\xc1"), EMU_X_X87},
	{B("\x0f\x3a\x0f\xc1\x08"), EMU_X_X87}, {B("\x66\x0f\xd6\xc1"), EMU_X_NONE},
	{B("\xc5\xf8\x77"), EMU_X_AVX}, {B("\xc4\xe2\x79\x18\x03"), EMU_X_AVX},
	{B("\x62\xf1\x7c\x48\x28\xc1"), EMU_X_AVX}, {B("\x0f\xae\x03"), EMU_X_XSAVE},
	{B("\x0f\xc7\x63\x08"), EMU_X_XSAVE}, {B("\x0f\x58\xc1"), EMU_X_SIMD_FP},
	{B("\xf2\x0f\x2a\xc0"), EMU_X_SIMD_FP}, {B("\x66\x0f\x3a\x63\xc1\x0c"), EMU_X_SIMD},
	{B("\x66\x0f\x38\xdc\xc1"), EMU_X_SIMD}, {B("\x0f\x37"), EMU_X_SYSTEM},
	{B("\x0f\x78\xc0"), EMU_X_SYSTEM}, {B("\x0f\xb2\x03"), EMU_X_SEG},
	{B("\x66\x0f\x38\x80\x03"), EMU_X_SYSTEM},
	/* the rest of 0F 38 / 0F 3A: GF2P8MULB, MOVDIRI, GF2P8AFFINEQB, undefined ones (the CPU raises #UD) */
	{B("\x66\x0f\x38\xcf\xc1"), EMU_X_SIMD}, {B("\x0f\x38\xf9\x03"), EMU_X_SIMD},
	{B("\x66\x0f\x3a\xce\xc1\x01"), EMU_X_SIMD}, {B("\x0f\x38\xff\xc0"), EMU_X_SIMD},
	{B("\x0f\x3a\xff\xc0\x00"), EMU_X_SIMD}, {B("\xf3\x0f\x38\xf0\x07"), EMU_X_SIMD},
	/* group 15 beyond the table: undefined 0F AE C0, PTWRITE, UMWAIT */
	{B("\x0f\xae\xc0"), EMU_X_SIMD}, {B("\xf3\x0f\xae\x23"), EMU_X_SIMD}, {B("\xf2\x0f\xae\xf1"), EMU_X_SIMD},
};

static const struct { const char *b; unsigned len; } uds[] = {
	{B("\x06")}, {B("\x07")}, {B("\x0e")}, {B("\x16")}, {B("\x17")}, {B("\x1e")}, {B("\x1f")},
	{B("\x27")}, {B("\x2f")}, {B("\x37")}, {B("\x3f")}, {B("\x60")}, {B("\x61")},
	{B("\x82\xc0\x01")}, {B("\x9a")}, {B("\xce")}, {B("\xd4\x0a")}, {B("\xd5\x0a")}, {B("\xd6")},
	{B("\xea")}, {B("\x0f\x0b")}, {B("\x0f\xb9\xc0")}, {B("\x0f\xff\xc0")},
	{B("\xf0\x90")}, {B("\xf0\x01\xc0")}, {B("\xf0\x39\x03")}, {B("\xf0\x80\x3b\x01")},
	{B("\xf0\x8b\x03")}, {B("\xf0\xf4")}, {B("\xf0\x0f\xa2")}, {B("\x8d\xc0")},
	{B("\x0f\xc7\xc8")}, {B("\xfe\xd0")}, {B("\xff\xf8")}, {B("\xff\xd8")}, {B("\x8f\xc8")},
	{B("\xc6\xc8\x01")}, {B("\xc7\xc8\x01\x00\x00\x00")}, {B("\x0f\xb8\xc0")},
	{B("\x0f\xba\xc0\x01")}, {B("\x0f\xc7\x03")},
	{B("\x0f\x04")}, {B("\x0f\x0f\xc1\x0d")},
	{B("\x66\x0f\xc3\x03")}, {B("\x0f\xc3\xc0")}, {B("\x66\x0f\x38\xf0\xc0")},
	{B("\x66\x0f\x13\xc0")}, {B("\xf2\x0f\xf0\xc1")},
	{B("\x0f\x2b\xc1")}, {B("\x66\x0f\x73\xc0\x01")}, {B("\x66\x0f\xd7\x03")},
	{B("\x66\xc5\xf8\x77")}, {B("\xc4\xe2\x7c\xf2\xc3")}, {B("\xc4\xe3\x43\xf0\xc3\x01")},
	{B("\xc4\xe2\x7c\xf3\xcb")},
};

static void test_tables(void)
{
	for (unsigned i = 0; i < sizeof(exits) / sizeof(exits[0]); i++) {
		umem_reset();
		u64 rax = 0x1234;
		struct emu_result r = run(0, exits[i].b, exits[i].len, 10);
		CHECK(r.reason == EMU_STOP_HYPERVISOR && r.exit == exits[i].x && r.len == exits[i].len &&
			      e.cpu.gpr[EMU_RSP] == UMEM_BASE + 0x2000 &&
			      e.cpu.rip == UCODE_PAGE + 0x100 && r.executed == 0 && r.nbytes == exits[i].len &&
			      !memcmp(r.bytes, exits[i].b, exits[i].len) && e.cpu.gpr[0] == 0 && rax,
		      "exit %u: reason %s exit %s len %u", i, emu_stop_name(r.reason),
		      emu_exit_name(r.exit), r.len);
	}
	for (unsigned i = 0; i < sizeof(cpu_runs) / sizeof(cpu_runs[0]); i++) {
		umem_reset();
		struct emu_result r = run(0, cpu_runs[i].b, cpu_runs[i].len, 10);
		bool ran = cpu_runs[i].x == EMU_X_NONE;
		CHECK(ran ? r.reason == EMU_STOP_LEFT_REGION
			  : r.reason == EMU_STOP_HYPERVISOR && r.exit == cpu_runs[i].x && r.len == cpu_runs[i].len &&
				    !memcmp(r.bytes, cpu_runs[i].b, cpu_runs[i].len) && e.cpu.rip == UCODE_PAGE + 0x100,
		      "CPU runs %u: %s %s len %u", i, emu_stop_name(r.reason), emu_exit_name(r.exit), r.len);
	}
	for (unsigned i = 0; i < sizeof(uds) / sizeof(uds[0]); i++) {
		umem_reset();
		struct emu_result r = run(0, uds[i].b, uds[i].len, 10);
		CHECK(r.reason == EMU_STOP_FAULT && r.fault.vector == EMU_EXC_UD &&
			      e.cpu.rip == UCODE_PAGE + 0x100 && !r.fault.has_error,
		      "#UD %u: %s vec %u", i, emu_stop_name(r.reason), r.fault.vector);
	}
}

static void expect_fault(const char *what, struct emu_result r, u8 vec, u32 err)
{
	CHECK(r.reason == EMU_STOP_FAULT && r.fault.vector == vec && r.fault.error_code == err &&
		      e.cpu.rip == UCODE_PAGE + 0x100,
	      "%s: %s vec %u err %#x rip %#llx", what, emu_stop_name(r.reason), r.fault.vector,
	      r.fault.error_code, (unsigned long long)e.cpu.rip);
}

static void test_gp_ss(void)
{
	char big[17];
	memset(big, 0x66, sizeof(big));
	big[15] = (char)0x90;
	umem_reset();
	expect_fault("16-byte insn", run(0, big, 16, 5), EMU_EXC_GP, 0);
	umem_reset();
	expect_fault("15 prefixes", run(0, big, 15, 5), EMU_EXC_GP, 0);
	umem_reset();
	memset(big, 0x26, 14);
	big[14] = (char)0x90;
	struct emu_result r = run(0, big, 15, 5);
	CHECK(r.reason == EMU_STOP_LEFT_REGION && r.executed == 1, "15-byte nop: %s", emu_stop_name(r.reason));

	/* non-canonical data address (#GP), stack address (#SS), branch target */
	static const struct { const char *b; unsigned len; int reg; u8 vec; } nc[] = {
		{B("\x48\x8b\x03"), EMU_RBX, EMU_EXC_GP},     /* mov rax,[rbx] */
		{B("\x48\x89\x03"), EMU_RBX, EMU_EXC_GP},     /* mov [rbx],rax */
		{B("\x48\x8b\x45\x00"), EMU_RBP, EMU_EXC_SS}, /* mov rax,[rbp] */
		{B("\x50"), EMU_RSP, EMU_EXC_SS},             /* push rax */
		{B("\x58"), EMU_RSP, EMU_EXC_SS},             /* pop rax */
		{B("\xff\xe0"), EMU_RAX, EMU_EXC_GP},         /* jmp rax */
		{B("\xff\xd0"), EMU_RAX, EMU_EXC_GP},         /* call rax */
		{B("\xc3"), -1, EMU_EXC_GP},                  /* ret to [rsp] */
		{B("\x48\x8b\x04\x25\x00\x00\x00\x80"), -2, EMU_EXC_PF}, /* mov rax,[abs] */
	};
	for (unsigned i = 0; i < sizeof(nc) / sizeof(nc[0]); i++) {
		umem_reset();
		u64 c = ucode(0x100, nc[i].b, nc[i].len), bad = 0x8000000000000000ull;
		uemu_init(&e, 0);
		e.cpu.gpr[EMU_RSP] = UMEM_BASE + 0x2000;
		memcpy(&um.data[2][0], &bad, 8);
		if (nc[i].reg >= 0)
			e.cpu.gpr[nc[i].reg] = bad + 8;
		e.cpu.rip = c;
		u64 before[16];
		memcpy(before, e.cpu.gpr, sizeof(before));
		r = emu_run(&e, c, c + nc[i].len, 10);
		u32 err = nc[i].vec == EMU_EXC_PF ? 0 : 0;
		expect_fault("non-canonical", r, nc[i].vec, err);
		CHECK(!memcmp(before, e.cpu.gpr, sizeof(before)), "non-canonical %u changed registers", i);
	}
	/* CMPXCHG16B needs 16-byte alignment */
	umem_reset();
	expect_fault("cmpxchg16b misaligned", run(0, B("\x48\x0f\xc7\x4b\x08"), 5), EMU_EXC_GP, 0);
}

static void test_div(void)
{
	static const struct { const char *b; unsigned len; u64 rax, rdx, rcx; } de[] = {
		{B("\xf6\xf1"), 0x100, 0, 0},                      /* div cl by 0 */
		{B("\xf6\xf1"), 0x200, 0, 2},                      /* ax/2 > 0xff */
		{B("\x66\xf7\xf1"), 0, 2, 2},                      /* dx:ax/2 > 0xffff */
		{B("\xf7\xf1"), 0, 5, 5},                          /* edx:eax/5 overflow */
		{B("\x48\xf7\xf1"), 0, 5, 5},                      /* rdx >= divisor */
		{B("\x48\xf7\xf1"), 0, 0, 0},                      /* /0 */
		{B("\xf6\xf9"), 0x8000, 0, 0xff},                  /* idiv: -32768/-1 */
		{B("\xf7\xf9"), 0, 0x80000000, 0xffffffff},        /* INT64_MIN/-1 (32) */
		{B("\x48\xf7\xf9"), 0, 0x8000000000000000ull, ~0ull}, /* 128-bit min/-1 */
		{B("\x48\xf7\xf9"), 0, 0, 0},                      /* idiv /0 */
		{B("\x48\xf7\xf9"), 0, 1, 1},                      /* 2^64 / 1 */
		{B("\x48\xf7\xf9"), 0x8000000000000000ull, 0, 1},  /* 2^63 / 1 positive overflow */
	};
	for (unsigned i = 0; i < sizeof(de) / sizeof(de[0]); i++) {
		umem_reset();
		u64 c = ucode(0x100, de[i].b, de[i].len);
		uemu_init(&e, 0);
		e.cpu.gpr[EMU_RAX] = de[i].rax;
		e.cpu.gpr[EMU_RDX] = de[i].rdx;
		e.cpu.gpr[EMU_RCX] = de[i].rcx;
		e.cpu.rip = c;
		struct emu_result r = emu_run(&e, c, c + de[i].len, 10);
		expect_fault("#DE", r, EMU_EXC_DE, 0);
		CHECK(e.cpu.gpr[EMU_RAX] == de[i].rax && e.cpu.gpr[EMU_RDX] == de[i].rdx, "#DE %u regs", i);
	}
	/* 128/64 division that needs the long path: (2^64 + 10) / 3 */
	umem_reset();
	u64 c = ucode(0x100, B("\x48\xf7\xf1"));
	uemu_init(&e, 0);
	e.cpu.gpr[EMU_RAX] = 10;
	e.cpu.gpr[EMU_RDX] = 1;
	e.cpu.gpr[EMU_RCX] = 3;
	e.cpu.rip = c;
	emu_run(&e, c, c + 3, 10);
	CHECK(e.cpu.gpr[EMU_RAX] == 0x5555555555555558ull && e.cpu.gpr[EMU_RDX] == 2, "div128");
	/* signed: (-(2^64) - 10) / 3 */
	c = ucode(0x100, B("\x48\xf7\xf9"));
	uemu_init(&e, 0);
	e.cpu.gpr[EMU_RAX] = (u64)-10;
	e.cpu.gpr[EMU_RDX] = (u64)-2; /* RDX:RAX = -(2^64) - 10 */
	e.cpu.gpr[EMU_RCX] = 3;
	e.cpu.rip = c;
	emu_run(&e, c, c + 3, 10);
	CHECK(e.cpu.gpr[EMU_RAX] == (u64)-0x5555555555555558ll && e.cpu.gpr[EMU_RDX] == (u64)-2,
	      "idiv128 %llx %llx", (unsigned long long)e.cpu.gpr[EMU_RAX],
	      (unsigned long long)e.cpu.gpr[EMU_RDX]);
}

/* Page faults from the callbacks: kinds, user bit, CR2, error code. */
static void test_pf(void)
{
	for (int slow = 0; slow < 2; slow++) {
		for (u8 cpl = 0; cpl <= 3; cpl += 3) {
			u32 u = cpl == 3 ? EMU_ACC_USER : 0;
			/* read from a page without permission */
			umem_reset();
			um.no_map = slow;
			um.perm[1] = 0;
			struct emu_result r = run(cpl, B("\x48\x8b\x83\x00\x10\x00\x00"), 10); /* mov rax,[rbx+0x1000] */
			expect_fault("#PF read", r, EMU_EXC_PF, u ? 4 : 0);
			CHECK(r.fault.cr2 == UMEM_BASE + 0x1100 && (um.kinds_seen & EMU_ACC_READ) &&
				      (um.kinds_seen & EMU_ACC_USER) == u && r.len == 7,
			      "#PF read cr2 %llx kinds %x", (unsigned long long)r.fault.cr2, um.kinds_seen);
			/* write to a read-only page: RMW keeps flags and memory */
			umem_reset();
			um.no_map = slow;
			um.perm[0] = 9;
			r = run(cpl, B("\x48\x01\x03"), 10); /* add [rbx],rax */
			expect_fault("#PF write", r, EMU_EXC_PF, 2 | (u ? 4 : 0));
			CHECK((um.kinds_seen & EMU_ACC_WRITE) && (um.kinds_seen & EMU_ACC_USER) == u, "write kinds");
			/* supervisor-only page: user access faults, supervisor doesn't */
			umem_reset();
			um.no_map = slow;
			um.perm[0] = 7;
			r = run(cpl, B("\x8b\x03"), 10);
			if (cpl == 3)
				expect_fault("#PF user on supervisor page", r, EMU_EXC_PF, 4);
			else
				CHECK(r.reason == EMU_STOP_LEFT_REGION, "supervisor read");
			/* fetch kind and fetch fault on a non-executable code page */
			umem_reset();
			um.no_map = slow;
			um.code_perm[0] = 9;
			r = run(cpl, B("\x90"), 10);
			CHECK(r.reason == EMU_STOP_FAULT && r.fault.error_code == (16u | (u ? 4 : 0)) &&
				      r.fault.cr2 == UCODE_PAGE + 0x100 && r.len == 0,
			      "fetch fault");
		}
	}
	umem_reset();
	run(3, B("\x90"), 10);
	CHECK((um.kinds_seen & (EMU_ACC_FETCH | EMU_ACC_USER)) == (EMU_ACC_FETCH | EMU_ACC_USER),
	      "fetch kind %x", um.kinds_seen);
}

/* A write fault in the middle of a RMW or a stack op changes nothing. */
static void test_restart(void)
{
	static const struct { const char *b; unsigned len; } rmw[] = {
		{B("\x48\x01\x03")}, {B("\xf0\x48\x0f\xc1\x03")}, {B("\x48\x87\x03")},
		{B("\x48\xff\x03")}, {B("\x48\xf7\x1b")}, {B("\x48\xd1\x23")},
		{B("\x48\x0f\xa4\x03\x04")}, {B("\x48\x0f\xab\x03")}, {B("\x48\x0f\xb1\x0b")},
		{B("\x0f\x94\x03")}, {B("\x48\x0f\xc7\x0b")}, {B("\xf3\xa4")},
	};
	for (unsigned i = 0; i < sizeof(rmw) / sizeof(rmw[0]); i++) {
		for (int slow = 0; slow < 2; slow++) {
			umem_reset();
			um.no_map = slow;
			um.perm[0] = 0xd; /* no write */
			memset(um.data[0], 0x5a, 4096);
			u64 c = ucode(0x100, rmw[i].b, rmw[i].len);
			uemu_init(&e, 0);
			e.cpu.gpr[EMU_RAX] = 0x1111;
			e.cpu.gpr[EMU_RBX] = UMEM_BASE + 0x100;
			e.cpu.gpr[EMU_RCX] = 3;
			e.cpu.gpr[EMU_RSI] = UMEM_BASE + 0x1000;
			e.cpu.gpr[EMU_RDI] = UMEM_BASE + 0x10;
			e.cpu.rip = c;
			emu_set_rflags(&e, 0x2d7);
			struct emu_cpu before = e.cpu;
			struct emu_result r = emu_run(&e, c, c + rmw[i].len, 10);
			CHECK(r.reason == EMU_STOP_FAULT && r.fault.vector == EMU_EXC_PF &&
				      !memcmp(before.gpr, e.cpu.gpr, sizeof(before.gpr)) && e.cpu.rip == c &&
				      emu_get_rflags(&e) == 0x2d7 && um.data[0][0x100] == 0x5a,
			      "restart %u/%d: %s", i, slow, emu_stop_name(r.reason));
			um.perm[0] = 0xf; /* the guest fixed its page table: re-run */
			emu_flush(&e);
			r = emu_run(&e, c, c + rmw[i].len, 10);
			CHECK(r.reason == EMU_STOP_LEFT_REGION && e.cpu.rip == c + rmw[i].len,
			      "restart %u/%d second run: %s", i, slow, emu_stop_name(r.reason));
		}
	}
}

/* REP MOVSB into an unmapped page, and REP interrupted by the budget. */
static void test_rep(void)
{
	for (int slow = 0; slow < 2; slow++) {
		umem_reset();
		um.no_map = slow;
		um.perm[1] = 0;
		u64 c = ucode(0x100, B("\xf3\xa4"));
		uemu_init(&e, 0);
		e.cpu.gpr[EMU_RSI] = UMEM_BASE + 0x2000;
		e.cpu.gpr[EMU_RDI] = UMEM_BASE + 0xff0;
		e.cpu.gpr[EMU_RCX] = 100;
		e.cpu.rip = c;
		struct emu_result r = emu_run(&e, c, c + 2, 1000);
		CHECK(r.reason == EMU_STOP_FAULT && r.fault.cr2 == UMEM_BASE + 0x1000 &&
			      e.cpu.gpr[EMU_RCX] == 84 && e.cpu.gpr[EMU_RDI] == UMEM_BASE + 0x1000 &&
			      e.cpu.gpr[EMU_RSI] == UMEM_BASE + 0x2010 && e.cpu.rip == c && r.executed == 16,
		      "rep fault: rcx %llu executed %llu", (unsigned long long)e.cpu.gpr[EMU_RCX],
		      (unsigned long long)r.executed);
		um.perm[1] = 0xf;
		emu_flush(&e);
		r = emu_run(&e, c, c + 2, 30);
		CHECK(r.reason == EMU_STOP_BUDGET && r.executed == 30 && e.cpu.gpr[EMU_RCX] == 54 &&
			      e.cpu.rip == c,
		      "rep budget: rcx %llu", (unsigned long long)e.cpu.gpr[EMU_RCX]);
		r = emu_run(&e, c, c + 2, 1000);
		CHECK(r.reason == EMU_STOP_LEFT_REGION && r.executed == 54 && e.cpu.gpr[EMU_RCX] == 0,
		      "rep resume: executed %llu", (unsigned long long)r.executed);
		/* STOSQ backwards (DF=1), REPNE SCASB, with 32-bit addressing */
		c = ucode(0x100, B("\xfd\xf3\x48\xab\xfc\xf2\xae\x67\xf3\xa4"));
		uemu_init(&e, 0);
		e.cpu.gpr[EMU_RDI] = UMEM_BASE + 0x100;
		e.cpu.gpr[EMU_RCX] = 4;
		e.cpu.gpr[EMU_RAX] = 0x4141414141414141ull;
		e.cpu.rip = c;
		r = emu_run(&e, c, c + 4, 100);
		CHECK(e.cpu.gpr[EMU_RDI] == UMEM_BASE + 0xe0 && um.data[0][0xe8] == 0x41 &&
			      um.data[0][0x107] == 0x41 && um.data[0][0xe7] == 0,
		      "std rep stosq");
	}
}

/* Decoded-instruction cache must notice changed bytes (self-modifying). */
static void test_smc(void)
{
	umem_reset();
	um.code_perm[0] = 0xf; /* writable code page */
	u64 c = ucode(0x100, B("\xb8\x01\x00\x00\x00"));
	uemu_init(&e, 0);
	e.cpu.rip = c;
	emu_run(&e, c, c + 5, 10);
	CHECK(e.cpu.gpr[EMU_RAX] == 1, "smc first");
	um.code[0][0x101] = 2;
	e.cpu.rip = c;
	emu_run(&e, c, c + 5, 10);
	CHECK(e.cpu.gpr[EMU_RAX] == 2, "smc after external write");
	/* emu_flush_tlb keeps the decodes, but the next run still re-verifies them */
	um.code[0][0x101] = 3;
	emu_flush_tlb(&e);
	e.cpu.rip = c;
	emu_run(&e, c, c + 5, 10);
	CHECK(e.cpu.gpr[EMU_RAX] == 3, "after emu_flush_tlb and an external write");
	/* the emulated program patches its own next instruction */
	c = ucode(0x100, B("\xc6\x05\x01\x00\x00\x00\x07\xb0\x01"));
	e.cpu.rip = c;
	emu_run(&e, c, c + 9, 10);
	CHECK(e.cpu.gpr[EMU_RAX] == 7, "smc by the guest: %llx", (unsigned long long)e.cpu.gpr[EMU_RAX]);
	/* patch through a write-TLB entry after the code page lost its place in
	 * the code-page table (data page 0 aliases it): the eviction itself
	 * must invalidate the cached decode of "mov eax,1" */
	umem_reset();
	um.code_perm[0] = 0xf;
	ucode(0x100, B("\xb8\x01\x00\x00\x00\xff\xc1\x83\xf9\x02\x0f\x84\xf0\x00\x00\x00"
		       "\xe9\x00\x00\x00\x00"));
	{
		int32_t d = (int32_t)((UMEM_BASE + 0x800) - (UCODE_PAGE + 0x115));
		memcpy(&um.code[0][0x111], &d, 4);
		memcpy(&um.data[0][0x800], "\xc6\x04\x25\x01\x01\x00\x20\x07\xe9", 9);
		d = (int32_t)((UCODE_PAGE + 0x100) - (UMEM_BASE + 0x80d));
		memcpy(&um.data[0][0x809], &d, 4);
	}
	uemu_init(&e, 0);
	e.cpu.rip = UCODE_PAGE + 0x100;
	struct emu_result r = emu_run(&e, UMEM_BASE, UCODE_PAGE + 0x200, 100);
	CHECK(r.reason == EMU_STOP_LEFT_REGION && e.cpu.gpr[EMU_RAX] == 7 && e.cpu.gpr[EMU_RCX] == 2,
	      "smc after code-page eviction: rax %llx", (unsigned long long)e.cpu.gpr[EMU_RAX]);
	/* a loop patches an instruction it has already executed (decoded in
	 * this generation): the write to the code page must invalidate it */
	umem_reset();
	um.code_perm[0] = 0xf;
	c = ucode(0x100, B("\xb0\x01\xff\xc1\x83\xf9\x02\x74\x09\xc6\x05\xf1\xff\xff\xff\x09\xeb\xee"));
	for (int slow = 0; slow < 2; slow++) {
		memcpy(&um.code[0][0x100], "\xb0\x01", 2);
		um.no_map = slow;
		uemu_init(&e, 0);
		e.cpu.rip = c;
		r = emu_run(&e, c, c + 0x12, 100);
		CHECK(r.reason == EMU_STOP_LEFT_REGION && (e.cpu.gpr[EMU_RAX] & 0xff) == 9 &&
			      e.cpu.gpr[EMU_RCX] == 2,
		      "loop patching itself (slow %d): al %llx", slow, (unsigned long long)e.cpu.gpr[EMU_RAX]);
	}
	/* REP MOVSB copying over the code that follows it, in the same run */
	umem_reset();
	um.code_perm[0] = 0xf;
	memcpy(&um.data[0][0], "\xb0\x09", 2); /* mov al, 9 */
	c = ucode(0x100, B("\xf3\xa4\xb0\x01"));
	uemu_init(&e, 0);
	e.cpu.gpr[EMU_RSI] = UMEM_BASE;
	e.cpu.gpr[EMU_RDI] = UCODE_PAGE + 0x102;
	e.cpu.gpr[EMU_RCX] = 2;
	e.cpu.rip = c;
	emu_run(&e, c, c + 4, 10);
	CHECK(e.cpu.gpr[EMU_RAX] == 9, "rep movsb over the next instruction: %llx",
	      (unsigned long long)e.cpu.gpr[EMU_RAX]);
	/* instruction crossing into an unmapped / mapped second code page */
	for (int slow = 0; slow < 2; slow++) {
		umem_reset();
		um.no_map = slow;
		um.code_perm[1] = 0;
		memcpy(&um.code[0][4093], "\x48\xc7\xc0\x44\x33\x22\x11", 7);
		memcpy(&um.code[1][0], "\x44\x33\x22\x11", 4);
		uemu_init(&e, 0);
		e.cpu.rip = UCODE_PAGE + 4093;
		r = emu_run(&e, UCODE_PAGE, UCODE_PAGE + 8192, 10);
		CHECK(r.reason == EMU_STOP_FAULT && r.fault.cr2 == UCODE_PAGE + 4096 &&
			      e.cpu.rip == UCODE_PAGE + 4093,
		      "cross-page fetch fault %s", emu_stop_name(r.reason));
		um.code_perm[1] = 0xd;
		emu_flush(&e);
		r = emu_run(&e, UCODE_PAGE, UCODE_PAGE + 4100, 1);
		(void)r;
		CHECK(e.cpu.gpr[EMU_RAX] == 0x11223344 && e.cpu.rip == UCODE_PAGE + 4100,
		      "cross-page fetch %llx", (unsigned long long)e.cpu.gpr[EMU_RAX]);
	}
}


static void test_misc(void)
{
	/* POPF privilege rules (SDM "POPF"): IF/IOPL at CPL 0 and 3 */
	for (u8 cpl = 0; cpl <= 3; cpl += 3) {
		umem_reset();
		u64 v = 0x3000 | 0x200 | 0x400 | 0x1; /* IOPL 3, IF, DF, CF */
		memcpy(&um.data[1][0xff8], &v, 8);
		u64 c = ucode(0x100, B("\x9d"));
		uemu_init(&e, cpl);
		e.cpu.gpr[EMU_RSP] = UMEM_BASE + 0x1ff8;
		e.cpu.rip = c;
		emu_set_rflags(&e, 0x2);
		emu_run(&e, c, c + 1, 10);
		u64 f = emu_get_rflags(&e);
		CHECK(cpl == 0 ? f == (v | 2) : f == 0x403, "popf cpl %u: %llx", cpl, (unsigned long long)f);
	}
	/* budget: a two-instruction loop runs exactly `budget` instructions */
	umem_reset();
	struct emu_result r = run(0, B("\x48\xff\xc0\xeb\xfb"), 7);
	CHECK(r.reason == EMU_STOP_BUDGET && r.executed == 7 && e.cpu.gpr[EMU_RAX] == 4, "budget");
	r = emu_run(&e, 0, 0, 5); /* empty region */
	CHECK(r.reason == EMU_STOP_LEFT_REGION && r.executed == 0, "empty region");
	/* CPL change flushes the TLB (supervisor page not usable at CPL 3) */
	umem_reset();
	um.perm[0] = 7;
	u64 c = ucode(0x100, B("\x8b\x03"));
	uemu_init(&e, 0);
	e.cpu.gpr[EMU_RBX] = UMEM_BASE;
	e.cpu.rip = c;
	r = emu_run(&e, c, c + 2, 10);
	e.cpu.cpl = 3;
	e.cpu.rip = c;
	um.code_perm[0] = 0xd;
	r = emu_run(&e, c, c + 2, 10);
	CHECK(r.reason == EMU_STOP_FAULT && r.fault.vector == EMU_EXC_PF, "TLB flushed on CPL change");
	/* names */
	CHECK(!strcmp(emu_stop_name(EMU_STOP_FAULT), "fault") && !strcmp(emu_stop_name(9), "?") &&
		      !strcmp(emu_exit_name(EMU_X_CPUID), "cpuid") && !strcmp(emu_exit_name(99), "?"),
	      "names");
	/* FS override, XLAT with GS, MOVS with GS source, 16-bit ENTER/LEAVE */
	umem_reset();
	um.data[0][0x10] = 0x77;
	c = ucode(0x100, B("\x64\x8a\x04\x25\x10\x00\x00\x00"));
	uemu_init(&e, 0);
	e.cpu.fs_base = UMEM_BASE;
	e.cpu.rip = c;
	emu_run(&e, c, c + 8, 10);
	CHECK((e.cpu.gpr[EMU_RAX] & 0xff) == 0x77, "fs: override");
	c = ucode(0x100, B("\x66\xc8\x04\x00\x00\x66\xc9"));
	uemu_init(&e, 0);
	e.cpu.gpr[EMU_RSP] = UMEM_BASE + 0x800;
	e.cpu.gpr[EMU_RBP] = UMEM_BASE + 0x1234;
	e.cpu.rip = c;
	emu_run(&e, c, c + 5, 1);
	CHECK(e.cpu.gpr[EMU_RSP] == UMEM_BASE + 0x7fa && (e.cpu.gpr[EMU_RBP] & 0xffff) == 0x7fe,
	      "enter16 rsp %llx rbp %llx", (unsigned long long)e.cpu.gpr[EMU_RSP],
	      (unsigned long long)e.cpu.gpr[EMU_RBP]);
	emu_run(&e, c, c + 7, 1);
	CHECK(e.cpu.gpr[EMU_RSP] == UMEM_BASE + 0x800 && e.cpu.gpr[EMU_RBP] == UMEM_BASE + 0x1234,
	      "leave16");
	/* BSWAP r16 (undefined in the SDM): we clear the word */
	c = ucode(0x100, B("\x66\x0f\xc8"));
	uemu_init(&e, 0);
	e.cpu.gpr[EMU_RAX] = 0x12345678;
	e.cpu.rip = c;
	emu_run(&e, c, c + 3, 1);
	CHECK(e.cpu.gpr[EMU_RAX] == 0x12340000, "bswap16");
	/* 0x67 LOOP uses ECX; JECXZ */
	c = ucode(0x100, B("\x67\xe2\xfd\x67\xe3\x00"));
	uemu_init(&e, 0);
	e.cpu.gpr[EMU_RCX] = 0x100000003ull;
	e.cpu.rip = c;
	r = emu_run(&e, c, c + 6, 100);
	CHECK(e.cpu.gpr[EMU_RCX] == 0 && r.executed == 4, "loop32 rcx %llx", (unsigned long long)e.cpu.gpr[EMU_RCX]);
}

/* Instruction split across a page boundary at every byte: the decoder asks
 * for exactly the bytes it needs, so an unmapped second page faults with
 * CR2 = its first byte, and a mapped one executes normally. */
static void test_split(void)
{
	static const char in[] = "\xf0\x48\x81\x84\x98\x44\x00\x00\x00\x78\x56\x34\x12";
	for (int slow = 0; slow < 2; slow++)
		for (unsigned k = 1; k < 13; k++)
			for (int mapped = 0; mapped < 2; mapped++) {
				umem_reset();
				um.no_map = slow;
				um.code_perm[1] = mapped ? 0xd : 0;
				memcpy(&um.code[0][4096 - k], in, k);
				memcpy(&um.code[1][0], in + k, 13 - k);
				uemu_init(&e, 0);
				e.cpu.gpr[EMU_RAX] = UMEM_BASE;
				e.cpu.gpr[EMU_RBX] = 0x10;
				e.cpu.rip = UCODE_PAGE + 4096 - k;
				struct emu_result r = emu_run(&e, UCODE_PAGE, UCODE_PAGE + 8192, 1);
				u32 v;
				memcpy(&v, &um.data[0][0x84], 4);
				if (mapped)
					CHECK(r.reason == EMU_STOP_BUDGET && v == 0x12345678 &&
						      e.cpu.rip == UCODE_PAGE + 4096 - k + 13,
					      "split %u/%d mapped: %s", k, slow, emu_stop_name(r.reason));
				else
					CHECK(r.reason == EMU_STOP_FAULT && r.fault.cr2 == UCODE_PAGE + 4096 &&
						      v == 0 && e.cpu.rip == UCODE_PAGE + 4096 - k,
					      "split %u/%d unmapped: %s", k, slow, emu_stop_name(r.reason));
			}
	/* two-byte opcode split after 0F */
	for (int slow = 0; slow < 2; slow++) {
		umem_reset();
		um.no_map = slow;
		memcpy(&um.code[0][4095], "\x0f", 1);
		memcpy(&um.code[1][0], "\xaf\xc3", 2);
		uemu_init(&e, 0);
		e.cpu.gpr[EMU_RAX] = 6;
		e.cpu.gpr[EMU_RBX] = 7;
		e.cpu.rip = UCODE_PAGE + 4095;
		emu_run(&e, UCODE_PAGE, UCODE_PAGE + 4098, 5);
		CHECK(e.cpu.gpr[EMU_RAX] == 42, "split 0F imul");
	}
	/* 10 prefixes + a 12-byte instruction: the decoder wants 22 bytes */
	for (int slow = 0; slow < 2; slow++) {
		umem_reset();
		um.no_map = slow;
		struct emu_result r = run(0, B("\x66\x66\x66\x66\x66\x66\x66\x66\x66\x66"
					       "\x48\x81\x84\x98\x44\x00\x00\x00\x78\x56\x34\x12"), 5);
		expect_fault("22-byte instruction", r, EMU_EXC_GP, 0);
	}
}

static void test_extras(void)
{
	/* an empty cache slot whose (zero) bytes match: decoded on the spot */
	umem_reset();
	u64 c = ucode(0x100, B("\x00\x00\x00\x00\x00\x00"));
	uemu_init(&e, 0);
	e.cpu.gpr[EMU_RAX] = UMEM_BASE + 8;
	e.cpu.rip = c;
	struct emu_result r = emu_run(&e, c, c + 6, 10);
	CHECK(r.executed == 3 && e.cpu.rip == c + 6, "zero bytes (empty cache slots)");
	/* LOCK ADD whose CAS keeps failing (write alias): bounded retries */
	umem_reset();
	um.alias_write = true;
	um.data[0][0x100] = 5;
	um.alias[0x100] = 9;
	r = run(0, B("\xf0\x01\x03"), 10); /* lock add [rbx],eax */
	CHECK(r.reason == EMU_STOP_LEFT_REGION && um.alias[0x100] == 5 && r.executed == 1,
	      "CAS retry bound: %s %u", emu_stop_name(r.reason), um.alias[0x100]);
	/* overlapping REP MOVSB replicates the first byte (element order) */
	umem_reset();
	memcpy(&um.data[0][0x200], "abcdefgh", 8);
	c = ucode(0x100, B("\xf3\xa4"));
	uemu_init(&e, 0);
	e.cpu.gpr[EMU_RSI] = UMEM_BASE + 0x200;
	e.cpu.gpr[EMU_RDI] = UMEM_BASE + 0x201;
	e.cpu.gpr[EMU_RCX] = 7;
	e.cpu.rip = c;
	emu_run(&e, c, c + 2, 100);
	CHECK(!memcmp(&um.data[0][0x200], "aaaaaaaa", 8), "overlapping rep movsb");
	/* POP r/m forms: register; memory write fault restores RSP */
	umem_reset();
	u64 v = 0x1234;
	memcpy(&um.data[1][0], &v, 8);
	c = ucode(0x100, B("\x8f\xc1\x8f\x03"));
	uemu_init(&e, 0);
	e.cpu.gpr[EMU_RSP] = UMEM_BASE + 0x1000;
	e.cpu.gpr[EMU_RBX] = UMEM_BASE + 0x100;
	e.cpu.rip = c;
	um.perm[0] = 0xd;
	r = emu_run(&e, c, c + 4, 10);
	CHECK(e.cpu.gpr[EMU_RCX] == 0x1234 && r.reason == EMU_STOP_FAULT &&
		      e.cpu.gpr[EMU_RSP] == UMEM_BASE + 0x1008 && e.cpu.rip == c + 2,
	      "pop r/m: rsp %llx", (unsigned long long)e.cpu.gpr[EMU_RSP]);
	/* 16-bit POPF only loads the low word */
	umem_reset();
	v = 0xffff;
	memcpy(&um.data[1][0], &v, 8);
	c = ucode(0x100, B("\x66\x9d"));
	uemu_init(&e, 0);
	e.cpu.gpr[EMU_RSP] = UMEM_BASE + 0x1000;
	emu_set_rflags(&e, 0x200002);
	e.cpu.rip = c;
	emu_run(&e, c, c + 2, 10);
	CHECK(emu_get_rflags(&e) == (0x200000 | 0x7fd7), "popf16 %llx", (unsigned long long)emu_get_rflags(&e));
}

/* Flags a later instruction of the trace overwrites are not written (run.c
 * flags_dead), but a run that stops in between must still show them: SHL
 * sets CF, PF and ZF, ADD overwrites them; budget stops and single steps
 * after the SHL (and after the MOV between) see the SHL's flags. */

/* code at UCODE_PAGE + 0x100 in fresh memory, RIP there, CPL 0, TF as asked: its address. */
static u64 fresh(const char *code, unsigned len, unsigned tf)
{
	umem_reset();
	u64 c = ucode(0x100, code, len);
	uemu_init(&e, 0);
	e.cpu.rip = c;
	emu_set_rflags(&e, tf ? 0x102 : 0x2);
	return c;
}

static void test_flags_dead(void)
{
	static const char code[] = "\x48\xb8\x00\x00\x00\x00\x00\x00\x00\x40" /* mov rax, 1 << 62 */
				   "\x48\xc1\xe0\x02"                       /* shl rax, 2 */
				   "\x48\x89\xc2"                           /* mov rdx, rax */
				   "\x83\xc1\x01"                           /* add ecx, 1 */
				   "\xeb\xfe";                               /* jmp $ */
	const u64 arith = 0x8d5; /* OF SF ZF AF PF CF */
	for (unsigned tf = 0; tf < 2; tf++)
		for (u64 k = 2; k <= 4; k++) {
			u64 c = fresh(code, sizeof(code) - 1, tf);
			struct emu_result r = {0};
			for (u64 i = 0; i < (tf ? k : 1); i++)
				r = emu_run(&e, c, c + 0x100, tf ? ~0ull : k);
			u64 f = emu_get_rflags(&e) & (arith & ~0x800ull), want = k < 4 ? 0x45 : 0;
			CHECK(r.reason == (tf ? EMU_STOP_DEBUG : EMU_STOP_BUDGET) && e.cpu.rip == c + (k == 2 ? 14 : k == 3 ? 17 : 20) &&
			      f == want, "flags after %llu instructions (tf %u): stop %d, flags %llx", (unsigned long long)k, tf, r.reason,
			      (unsigned long long)f);
		}
	umem_reset(); /* a whole trace: only the last flags count */
	struct emu_result r = run(0, code, sizeof(code) - 1, 10);
	CHECK(r.executed == 10 && (emu_get_rflags(&e) & arith) == 0 && e.cpu.gpr[EMU_RCX] == 1, "flags after the trace");
	/* ADD r64, m64 whose flags a later ADD overwrites runs without them, but it may fault:
	 * the flags before it (SHL's: CF ZF PF) must be there then, fast and slow path */
	static const char fm[] = "\x48\xb8\x00\x00\x00\x00\x00\x00\x00\x40" /* mov rax, 1 << 62 */
				 "\x48\xc1\xe0\x02"                       /* shl rax, 2 */
				 "\x48\x03\x16"                           /* add rdx, [rsi] */
				 "\x83\xc1\x01"                           /* add ecx, 1 */
				 "\xeb\xfe";                               /* jmp $ */
	for (int slow = 0; slow < 2; slow++) {
		umem_reset();
		um.no_map = slow;
		u64 c = ucode(0x100, fm, sizeof(fm) - 1);
		uemu_init(&e, 0);
		e.cpu.rip = c;
		e.cpu.gpr[EMU_RSI] = UMEM_BASE + UMEM_PAGES * 4096ull; /* not mapped */
		r = emu_run(&e, c, c + 0x100, 10);
		CHECK(r.reason == EMU_STOP_FAULT && r.fault.vector == EMU_EXC_PF && e.cpu.rip == c + 14 &&
		      (emu_get_rflags(&e) & (arith & ~0x810ull)) == 0x45,
		      "flags before a faulting ADD r,m (slow %d): stop %d, rip +%llx, flags %llx", slow, r.reason,
		      (unsigned long long)(e.cpu.rip - c), (unsigned long long)emu_get_rflags(&e));
		e.cpu.gpr[EMU_RSI] = UMEM_BASE; /* and without the fault: ADD's flags are overwritten by the next */
		um.data[0][0] = 5;
		r = emu_run(&e, e.cpu.rip, c + 0x100, 3);
		CHECK(r.executed == 3 && e.cpu.gpr[EMU_RDX] == 5 && e.cpu.gpr[EMU_RCX] == 1 &&
		      (emu_get_rflags(&e) & arith) == 0, "ADD r,m then ADD (slow %d)", slow);
	}
}

/* A loop whose Jcc goes back to the start of its own trace runs it again
 * without the run loop (emu_again): the budget still stops it exactly. */
static void test_loop_budget(void)
{
	static const char code[] = "\x48\xff\xc0"             /* inc rax */
				   "\x48\x3d\xe8\x03\x00\x00" /* cmp rax, 1000 */
				   "\x75\xf5"                  /* jne back to the inc */
				   "\xeb\xfe";                 /* jmp $ */
	static const u64 budgets[] = {1, 2, 3, 4, 100, 2999, 3000, 3001, 3005};
	for (unsigned i = 0; i < sizeof(budgets) / sizeof(budgets[0]); i++) {
		u64 b = budgets[i], loop = b < 3000 ? b : 3000;
		umem_reset();
		u64 c = ucode(0x100, code, sizeof(code) - 1);
		uemu_init(&e, 0);
		e.cpu.rip = c;
		struct emu_result r = emu_run(&e, c, c + 0x100, b);
		CHECK(r.reason == EMU_STOP_BUDGET && r.executed == b && e.cpu.gpr[EMU_RAX] == (loop + 2) / 3 &&
		      e.cpu.rip == c + (b < 3000 ? (b % 3 == 1 ? 3 : b % 3 == 2 ? 9 : 0) : 11),
		      "loop with budget %llu: %llu run, rax %llu, rip +%llx", (unsigned long long)b,
		      (unsigned long long)r.executed, (unsigned long long)e.cpu.gpr[EMU_RAX],
		      (unsigned long long)(e.cpu.rip - c));
	}
}

/* Fused instructions run as one handler (emulator/fuse.c) only when the
 * whole trace runs: a budget or TF stop after any of them shows the state
 * there. The code is a MOV+SHL+XOR triple, then a MOV+AND pair. */
static void test_fused_stops(void)
{
	static const char code[] = "\x48\x89\xc1"     /* mov rcx, rax */
				   "\x48\xc1\xe1\x0d" /* shl rcx, 13 */
				   "\x48\x31\xc8"     /* xor rax, rcx */
				   "\x89\xc2"         /* mov edx, eax */
				   "\x83\xe2\x07"     /* and edx, 7 */
				   "\xeb\xfe";        /* jmp $ */
	const u64 x = 0x123456789abcdefull, x1 = x ^ (x << 13);
	const u64 rcx[6] = {0, x, x << 13, x << 13, x << 13, x << 13}, rax[6] = {x, x, x, x1, x1, x1};
	const u64 rdx[6] = {0, 0, 0, 0, (u32)x1, x1 & 7};
	for (unsigned tf = 0; tf < 2; tf++)
		for (u64 k = 1; k <= 5; k++) {
			u64 c = fresh(code, sizeof(code) - 1, tf);
			e.cpu.gpr[EMU_RAX] = x;
			struct emu_result r = {0};
			u64 n = 0;
			for (u64 i = 0; i < (tf ? k : 1); i++, n += r.executed)
				r = emu_run(&e, c, c + 0x100, tf ? ~0ull : k);
			CHECK(n == k && e.cpu.gpr[EMU_RCX] == rcx[k] && e.cpu.gpr[EMU_RAX] == rax[k] &&
			      e.cpu.gpr[EMU_RDX] == rdx[k], "fused pair stopped after %llu (tf %u): %llu run, rcx %llx rdx %llx",
			      (unsigned long long)k, tf, (unsigned long long)n, (unsigned long long)e.cpu.gpr[EMU_RCX],
			      (unsigned long long)e.cpu.gpr[EMU_RDX]);
		}
	umem_reset(); /* the whole trace, fused */
	u64 c = ucode(0x100, code, sizeof(code) - 1);
	uemu_init(&e, 0);
	e.cpu.rip = c;
	e.cpu.gpr[EMU_RAX] = x;
	struct emu_result r = emu_run(&e, c, c + 0x100, 10);
	CHECK(r.executed == 10 && e.cpu.gpr[EMU_RCX] == x << 13 && e.cpu.gpr[EMU_RDX] == (x1 & 7) &&
	      (emu_get_rflags(&e) & 0xc4) == (((x1 & 7) ? 0 : 0x40) | (__builtin_parity((unsigned)(x1 & 7)) ? 0 : 4)),
	      "fused pairs, whole trace: rcx %llx rdx %llx", (unsigned long long)e.cpu.gpr[EMU_RCX],
	      (unsigned long long)e.cpu.gpr[EMU_RDX]);
}

void run_handwritten(void)
{
	test_flags_dead();
	test_fused_stops();
	test_loop_budget();
	test_split();
	test_extras();
	test_tables();
	test_gp_ss();
	test_div();
	test_pf();
	test_restart();
	test_rep();
	test_smc();
	test_misc();
	run_state_cases();
	run_edge_cases();
}
