/* unit_state.c - hand-written unit cases for what the CPU cannot be asked
 * in-process: code identity by frame (aliases, emu_code_written), the decode
 * pool recycled mid-run, single steps, breakpoints and MOV SS blocking, the
 * hand-offs and CPUID gating, SSE/x87 control state, FSGSBASE, indirect
 * branches through memory. Breakpoints follow the SDM by hand (this VM gives
 * user space no hardware breakpoints); TF is also checked by the difftest. */
#include <string.h>

#include "../../emulator/emu_internal.h"
#include "unit.h"

static struct emu e;

#define B(s) s, sizeof(s) - 1

static struct emu_result run(u8 cpl, const char *bytes, unsigned len, u64 budget)
{
	return urun(&e, cpl, bytes, len, budget);
}

/* Code identity is physical: a write through a second linear mapping of a
 * code frame (alias B), fast or slow path, makes the next execution through
 * alias A run the new bytes, also inside the running trace; and a write the
 * caller makes itself is announced with emu_code_written(). */
static void test_alias(void)
{
	/* A: mov $1,%al; mov %al,(%rbx) [rbx = B + 0x10b: the imm8 below];
	 *    mov $5,%cl [patched to 7 through B, same trace]; ret-like exit */
	static const char prog[] = "\xb0\x07\x88\x03\xb1\x05\x90";
	for (int slow = 0; slow < 2; slow++) {
		umem_reset();
		um.no_map = slow;
		u64 c = ucode(0x100, B(prog));
		uemu_init(&e, 0);
		e.cpu.gpr[EMU_RBX] = UALIAS_PAGE + 0x105;
		e.cpu.rip = c;
		struct emu_result r = emu_run(&e, c, c + 7, 100);
		CHECK(r.reason == EMU_STOP_LEFT_REGION && (e.cpu.gpr[EMU_RCX] & 0xff) == 7 && r.executed == 4,
		      "alias write in the running trace (slow %d): cl %llx executed %llu", slow,
		      (unsigned long long)e.cpu.gpr[EMU_RCX], (unsigned long long)r.executed);
		/* write via B first (a write-TLB entry for B exists), then run A, write via B
		 * again within one run: A's decode must follow */
		ucode(0x100, B(prog));
		e.cpu.rip = c;
		e.cpu.gpr[EMU_RAX] = 0;
		um.code[0][0x105] = 5;
		r = emu_run(&e, c, c + 7, 100);
		CHECK((e.cpu.gpr[EMU_RCX] & 0xff) == 7, "alias write, second run (slow %d)", slow);
	}
	/* a loop through A whose body is patched through B at the last turn */
	umem_reset();
	/* 0: mov $1,%eax  5: inc %ecx  7: cmp $3,%ecx  a: jne 12  c: movb $9,(%rbx)  f: jmp 0
	 * 12: (end) -- the movb rewrites the immediate of "mov $1,%eax" through B */
	u64 c = ucode(0x100, B("\xb8\x01\x00\x00\x00\xff\xc1\x83\xf9\x03\x74\x06\xc6\x03\x09\xeb\xef"));
	uemu_init(&e, 0);
	e.cpu.gpr[EMU_RBX] = UALIAS_PAGE + 0x101;
	e.cpu.rip = c;
	struct emu_result r = emu_run(&e, c, c + 0x11, 100);
	CHECK(r.reason == EMU_STOP_LEFT_REGION && e.cpu.gpr[EMU_RAX] == 9 && e.cpu.gpr[EMU_RCX] == 3,
	      "loop patched through an alias: rax %llx rcx %llx", (unsigned long long)e.cpu.gpr[EMU_RAX],
	      (unsigned long long)e.cpu.gpr[EMU_RCX]);
	/* the caller writes code from a callback (map_page of the bell page): without
	 * emu_code_written() the old decode runs on (no re-verification inside a run);
	 * with it the new byte runs. 0: mov $1,%al  2: mov (%rdx),%cl  4: cmp $2,%al
	 * 6: je 10  8: jmp 0  (region ends at 10) */
	for (int tell = 0; tell < 2; tell++) {
		umem_reset();
		c = ucode(0x100, B("\xb0\x01\x8a\x0a\x3c\x02\x74\x02\xeb\xf6"));
		uemu_init(&e, 0);
		um.bell_emu = &e, um.bell_at = 0x101, um.bell_byte = 2, um.bell_tell = tell;
		e.cpu.gpr[EMU_RDX] = UBELL_PAGE;
		e.cpu.rip = c;
		r = emu_run(&e, c, c + 10, 40);
		CHECK(tell ? r.reason == EMU_STOP_LEFT_REGION && r.executed == 9
			   : r.reason == EMU_STOP_BUDGET,
		      "code written by the caller, emu_code_written %d: %s after %llu", tell,
		      emu_stop_name(r.reason), (unsigned long long)r.executed);
	}
}

/* Single-step traps (RFLAGS.TF), instruction and data breakpoints (DR0-DR3,
 * DR7), RF and MOV SS blocking: hand-made cases from the SDM ("Debug Exception
 * Conditions"); the CPU checks TF itself in the difftest (-t), this host's
 * hardware breakpoints do not fire (so DR7 is checked here only). */
static struct emu_result step(u64 c, u64 end)
{
	return emu_run(&e, c, end, 100);
}

static void test_debug(void)
{
	/* mov $1,%eax; add $2,%eax; nop: a trap after each, RIP after it */
	umem_reset();
	u64 c = ucode(0x100, B("\xb8\x01\x00\x00\x00\x83\xc0\x02\x90"));
	uemu_init(&e, 0);
	e.cpu.rip = c;
	emu_set_rflags(&e, 0x302);
	u64 want[] = {c + 5, c + 8, c + 9};
	for (int i = 0; i < 3; i++) {
		struct emu_result r = step(c, c + 9);
		CHECK(r.reason == EMU_STOP_DEBUG && r.dr6 == EMU_DR6_BS && e.cpu.rip == want[i] && r.executed == 1,
		      "TF step %d: %s dr6 %x rip +%llx", i, emu_stop_name(r.reason), r.dr6,
		      (unsigned long long)(e.cpu.rip - c));
	}
	CHECK(e.cpu.gpr[EMU_RAX] == 3 && step(c, c + 9).reason == EMU_STOP_LEFT_REGION, "TF steps done");
	/* POPF setting TF: no trap after it, one after the next instruction */
	memcpy(&um.data[1][0xff8], "\x02\x03\x00\x00\x00\x00\x00\x00", 8);
	c = ucode(0x100, B("\x9d\x90\x90"));
	uemu_init(&e, 0);
	e.cpu.gpr[EMU_RSP] = UMEM_BASE + 0x1ff8;
	e.cpu.rip = c;
	struct emu_result r = step(c, c + 3);
	CHECK(r.reason == EMU_STOP_DEBUG && e.cpu.rip == c + 2 && r.executed == 2 && r.dr6 == EMU_DR6_BS,
	      "POPF sets TF: %s rip +%llx", emu_stop_name(r.reason), (unsigned long long)(e.cpu.rip - c));
	/* POPF clearing TF (TF set before): a trap after the POPF, then none */
	memcpy(&um.data[1][0xff8], "\x02\x02\x00\x00\x00\x00\x00\x00", 8);
	uemu_init(&e, 0);
	e.cpu.gpr[EMU_RSP] = UMEM_BASE + 0x1ff8;
	e.cpu.rip = c;
	emu_set_rflags(&e, 0x302);
	r = step(c, c + 3);
	CHECK(r.reason == EMU_STOP_DEBUG && e.cpu.rip == c + 1, "POPF clears TF: trap after it");
	r = step(c, c + 3);
	CHECK(r.reason == EMU_STOP_LEFT_REGION && r.executed == 2, "POPF clears TF: no more traps");
	/* a faulting instruction gets no trap; REP STOSB traps after each iteration */
	c = ucode(0x100, B("\x0f\x0b"));
	uemu_init(&e, 0);
	e.cpu.rip = c;
	emu_set_rflags(&e, 0x302);
	r = step(c, c + 2);
	CHECK(r.reason == EMU_STOP_FAULT && r.fault.vector == EMU_EXC_UD && e.cpu.rip == c, "TF and #UD");
	c = ucode(0x100, B("\xf3\xaa"));
	uemu_init(&e, 0);
	e.cpu.gpr[EMU_RDI] = UMEM_BASE;
	e.cpu.gpr[EMU_RCX] = 3;
	e.cpu.rip = c;
	emu_set_rflags(&e, 0x302);
	for (int i = 0; i < 3; i++) {
		r = step(c, c + 2);
		/* RF as the CPU pushes it: 1 after an iteration but the last */
		CHECK(r.reason == EMU_STOP_DEBUG && e.cpu.gpr[EMU_RCX] == 2u - i &&
			      e.cpu.rip == (i < 2 ? c : c + 2) && r.executed == 1 &&
			      !!(emu_get_rflags(&e) & EMU_RF) == (i < 2),
		      "TF REP STOSB iteration %d: rcx %llu rflags %llx", i, (unsigned long long)e.cpu.gpr[EMU_RCX],
		      (unsigned long long)emu_get_rflags(&e));
	}
	/* instruction breakpoint on the second instruction (DR0, L0, R/W 00):
	 * a fault before it; RF lets it run once */
	c = ucode(0x100, B("\x90\xb0\x05\x90"));
	uemu_init(&e, 0);
	e.cpu.dr[0] = c + 1;
	e.cpu.dr7 = 0x1;
	e.cpu.rip = c;
	r = step(c, c + 4);
	CHECK(r.reason == EMU_STOP_DEBUG && r.dr6 == EMU_DR6_B0 && e.cpu.rip == c + 1 && r.executed == 1 &&
		      (e.cpu.gpr[EMU_RAX] & 0xff) == 0,
	      "instruction breakpoint: %s dr6 %x rip +%llx", emu_stop_name(r.reason), r.dr6,
	      (unsigned long long)(e.cpu.rip - c));
	r = step(c, c + 4);
	CHECK(r.reason == EMU_STOP_DEBUG && e.cpu.rip == c + 1, "instruction breakpoint again without RF");
	emu_set_rflags(&e, emu_get_rflags(&e) | EMU_RF);
	r = step(c, c + 4);
	CHECK(r.reason == EMU_STOP_LEFT_REGION && (e.cpu.gpr[EMU_RAX] & 0xff) == 5 &&
		      !(emu_get_rflags(&e) & EMU_RF),
	      "RF: %s", emu_stop_name(r.reason));
	e.cpu.dr7 = 0x2 | (1u << 16); /* G0 with R/W 01: not an instruction breakpoint */
	e.cpu.rip = c;
	CHECK(step(c, c + 4).reason == EMU_STOP_LEFT_REGION, "R/W 01 is no instruction breakpoint");
	/* data breakpoints (fast and slow path): DR1 write, LEN 4 at UMEM+0x101
	 * (aligned down to +0x100); DR3 read/write, LEN 8 at UMEM+0x208 */
	for (int slow = 0; slow < 2; slow++) {
		umem_reset();
		um.no_map = slow;
		/* 0: mov (%rbx),%eax  2: movb %al,3(%rbx)  5: mov 0x108(%rbx),%rcx  c: nop */
		c = ucode(0x100, B("\x8b\x03\x88\x43\x03\x48\x8b\x8b\x08\x01\x00\x00\x90"));
		uemu_init(&e, 0);
		e.cpu.gpr[EMU_RBX] = UMEM_BASE + 0x100;
		e.cpu.dr[1] = UMEM_BASE + 0x101;
		e.cpu.dr[3] = UMEM_BASE + 0x208;
		e.cpu.dr7 = (0x4 | 0x40) | (0xdu << 20) | (0xbu << 28); /* L1 L3; RW1=01 LEN1=11; RW3=11 LEN3=10 */
		e.cpu.rip = c;
		r = step(c, c + 13);
		CHECK(r.reason == EMU_STOP_DEBUG && r.dr6 == (EMU_DR6_B0 << 1) && e.cpu.rip == c + 5 &&
			      r.executed == 2,
		      "data write breakpoint (slow %d): %s dr6 %x rip +%llx", slow, emu_stop_name(r.reason), r.dr6,
		      (unsigned long long)(e.cpu.rip - c));
		r = step(c, c + 13);
		CHECK(r.reason == EMU_STOP_DEBUG && r.dr6 == (EMU_DR6_B0 << 3) && e.cpu.rip == c + 12,
		      "data read breakpoint (slow %d): dr6 %x", slow, r.dr6);
		CHECK(step(c, c + 13).reason == EMU_STOP_LEFT_REGION, "after the breakpoints");
	}
	/* MOV SS blocking: no instruction breakpoint on the first instruction, and
	 * what MOV SS held (BS) comes after it */
	umem_reset();
	c = ucode(0x100, B("\x90\x90"));
	uemu_init(&e, 0);
	e.cpu.dr[0] = c;
	e.cpu.dr7 = 0x1;
	e.cpu.mov_ss = true;
	e.cpu.pending_dbg = EMU_DR6_BS;
	e.cpu.rip = c;
	r = step(c, c + 2);
	CHECK(r.reason == EMU_STOP_DEBUG && r.dr6 == EMU_DR6_BS && e.cpu.rip == c + 1 && !e.cpu.mov_ss &&
		      !e.cpu.pending_dbg,
	      "MOV SS: %s dr6 %x rip +%llx", emu_stop_name(r.reason), r.dr6, (unsigned long long)(e.cpu.rip - c));
}

/* RDRAND/RDSEED/RDPID, INT n/INT3/INT1 and what CPUID hides. */
static void test_handoff(void)
{
	static const struct {
		const char *b;
		unsigned len;
		enum emu_exit x;
		u8 reg, osz, vector;
	} hv[] = {
		{B("\x0f\xc7\xf0"), EMU_X_RDRAND, EMU_RAX, 4, 0},     /* rdrand %eax */
		{B("\x66\x0f\xc7\xf3"), EMU_X_RDRAND, EMU_RBX, 2, 0}, /* rdrand %bx */
		{B("\x49\x0f\xc7\xf1"), EMU_X_RDRAND, EMU_R9, 8, 0},  /* rdrand %r9 */
		{B("\x48\x0f\xc7\xf9"), EMU_X_RDSEED, EMU_RCX, 8, 0}, /* rdseed %rcx */
		{B("\xf3\x0f\xc7\xfa"), EMU_X_RDPID, EMU_RDX, 8, 0},  /* rdpid %rdx */
		{B("\x0f\xc7\x33"), EMU_X_SYSTEM, 0, 4, 0},            /* vmptrld (%rbx) */
		{B("\xcd\x80"), EMU_X_INT, 0, 4, 0x80},
		{B("\xcc"), EMU_X_INT3, 0, 4, 3},
		{B("\xf1"), EMU_X_INT1, 0, 4, 1},
	};
	for (unsigned i = 0; i < sizeof(hv) / sizeof(hv[0]); i++) {
		umem_reset();
		struct emu_result r = run(0, hv[i].b, hv[i].len, 10);
		CHECK(r.reason == EMU_STOP_HYPERVISOR && r.exit == hv[i].x && r.len == hv[i].len &&
			      (hv[i].x >= EMU_X_SYSTEM || (r.reg == hv[i].reg && r.osz == hv[i].osz)) &&
			      r.vector == hv[i].vector && e.cpu.rip == UCODE_PAGE + 0x100,
		      "hand-off %u: %s %s reg %u osz %u vector %u", i, emu_stop_name(r.reason), emu_exit_name(r.exit),
		      r.reg, r.osz, r.vector);
	}
	/* without the CPUID bits: #UD (RDRAND, RDSEED, RDPID, LAHF, POPCNT,
	 * CMPXCHG16B, AVX-512, AVX, BMI1, BMI2, ADX, MOVBE, CRC32, SSSE3,
	 * SSE4.1, SSE4.2, SSE3, SSE2, SSE, FSGSBASE, CLFLUSHOPT, CLWB, CLFLUSH,
	 * FXSR); TZCNT and LZCNT run as BSF and BSR */
	static const struct { const char *b; unsigned len; } ud[] = {
		{B("\x0f\xc7\xf0")}, {B("\x0f\xc7\xf8")}, {B("\xf3\x0f\xc7\xf8")}, {B("\x9f")}, {B("\x9e")},
		{B("\xf3\x0f\xb8\xc3")}, {B("\x48\x0f\xc7\x0b")}, {B("\x62\xf1\x7c\x48\x28\xc1")},
		{B("\xc5\xf8\x77")}, {B("\xc4\xe2\x78\xf2\xc3")}, {B("\xc4\xe2\x78\xf5\xc3")},
		{B("\x66\x0f\x38\xf6\xc3")}, {B("\x0f\x38\xf0\x03")}, {B("\xf2\x0f\x38\xf1\xc3")},
		{B("\x66\x0f\x38\x00\xc1")}, {B("\x66\x0f\x38\x17\xc1")}, {B("\x66\x0f\x38\x37\xc1")},
		{B("\xf2\x0f\x12\xc1")}, {B("\x66\x0f\xfe\xc1")}, {B("\x0f\x28\xc1")},
		{B("\xf3\x0f\xae\xc0")}, {B("\x66\x0f\xae\x3b")}, {B("\x66\x0f\xae\x33")},
		{B("\x0f\xae\x3b")}, {B("\x0f\xae\x08")},
	};
	struct emu_cpuid none = {0};
	for (unsigned i = 0; i < sizeof(ud) / sizeof(ud[0]); i++) {
		umem_reset();
		u64 c = ucode(0x100, ud[i].b, ud[i].len);
		uemu_init(&e, 0);
		e.cpu.cr4 |= EMU_CR4_FSGSBASE;
		e.cpu.gpr[EMU_RBX] = e.cpu.gpr[EMU_RAX] = UMEM_BASE + 0x100;
		e.cpu.rip = c;
		struct emu_result r = emu_run(&e, c, c + ud[i].len, 10);
		emu_set_cpuid(&e, &none);
		e.cpu.gpr[EMU_RBX] = e.cpu.gpr[EMU_RAX] = UMEM_BASE + 0x100;
		e.cpu.rip = c;
		struct emu_result r2 = emu_run(&e, c, c + ud[i].len, 10);
		CHECK((r.reason == EMU_STOP_LEFT_REGION || r.reason == EMU_STOP_HYPERVISOR) &&
			      r2.reason == EMU_STOP_FAULT && r2.fault.vector == EMU_EXC_UD,
		      "CPUID hides %u: %s (%u) then %s", i, emu_stop_name(r.reason), r.fault.vector,
		      emu_stop_name(r2.reason));
	}
	umem_reset();
	u64 c = ucode(0x100, B("\xf3\x0f\xbc\xc3\xf3\x48\x0f\xbd\xcb")); /* tzcnt %ebx,%eax; lzcnt %rbx,%rcx */
	uemu_init(&e, 0);
	emu_set_cpuid(&e, &none);
	e.cpu.gpr[EMU_RBX] = 0x30;
	e.cpu.rip = c;
	emu_run(&e, c, c + 9, 10);
	CHECK(e.cpu.gpr[EMU_RAX] == 4 && e.cpu.gpr[EMU_RCX] == 5, "BSF/BSR without BMI1/LZCNT: %llx %llx",
	      (unsigned long long)e.cpu.gpr[EMU_RAX], (unsigned long long)e.cpu.gpr[EMU_RCX]);
}

/* More traces than the decode pool holds, run three times in one run: the
 * pool is recycled mid-run and no trace may run on recycled decodes. */
static void test_pool(void)
{
	for (int slow = 0; slow < 2; slow++) {
		umem_reset();
		um.no_map = slow;
		u8 *code = &um.data[0][0];
		unsigned at = 0, blocks = 0;
		while (at + 40 + 16 < UMEM_PAGES * 4096) { /* 11 x add $1,%eax; jmp +0 */
			for (int k = 0; k < 11; k++)
				memcpy(code + at, "\x83\xc0\x01", 3), at += 3;
			memcpy(code + at, "\xeb\x00", 2), at += 2;
			blocks++;
		}
		int32_t back = -(int32_t)(at + 8);
		memcpy(code + at, "\xff\xc9\x0f\x85", 4); /* dec %ecx; jnz start */
		memcpy(code + at + 4, &back, 4);
		uemu_init(&e, 0);
		e.cpu.gpr[EMU_RCX] = 3;
		e.cpu.rip = UMEM_BASE;
		struct emu_result r = emu_run(&e, UMEM_BASE, UMEM_BASE + at + 8, ~0ull);
		CHECK(r.reason == EMU_STOP_LEFT_REGION && e.cpu.gpr[EMU_RAX] == 3ull * 11 * blocks &&
			      r.executed == 3ull * (12 * blocks + 2),
		      "pool recycled mid-run (slow %d): %s rax %llu of %llu", slow, emu_stop_name(r.reason),
		      (unsigned long long)e.cpu.gpr[EMU_RAX], 3ull * 11 * blocks);
	}
}
/* A fault at the instruction the run started at (at), with this vector and error code 0. */
static void fault_at(const char *what, struct emu_result r, u64 at, u8 vec)
{
	CHECK(r.reason == EMU_STOP_FAULT && r.fault.vector == vec && r.fault.error_code == 0 && e.cpu.rip == at &&
		      r.executed == 0,
	      "%s: %s vec %u rip %#llx", what, emu_stop_name(r.reason), r.fault.vector, (unsigned long long)e.cpu.rip);
}

static struct emu_result run_at(u64 c, unsigned len)
{
	e.cpu.rip = c;
	return emu_run(&e, c, c + len, 100);
}

/* RDFSBASE..WRGSBASE (SDM "RDFSBASE/RDGSBASE", "WRFSBASE/WRGSBASE"): the 32-bit
 * forms zero-extend, a non-canonical base is #GP(0), without CR4.FSGSBASE #UD. */
static void test_fsgs(void)
{
	/* wrfsbase %rbx; wrgsbase %ecx; rdfsbase %rax; rdgsbase %rdx; rdfsbase %esi */
	static const char code[] = "\xf3\x48\x0f\xae\xd3\xf3\x0f\xae\xd9\xf3\x48\x0f\xae\xc0"
				   "\xf3\x48\x0f\xae\xca\xf3\x0f\xae\xc6";
	umem_reset();
	u64 c = ucode(0x100, B(code));
	uemu_init(&e, 0);
	e.cpu.cr4 |= EMU_CR4_FSGSBASE;
	e.cpu.gpr[EMU_RBX] = 0xffff800012345000ull;
	e.cpu.gpr[EMU_RCX] = 0xdeadbeef87654321ull;
	e.cpu.gpr[EMU_RSI] = ~0ull;
	struct emu_result r = run_at(c, sizeof(code) - 1);
	CHECK(r.reason == EMU_STOP_LEFT_REGION && r.executed == 5 && e.cpu.fs_base == 0xffff800012345000ull &&
		      e.cpu.gs_base == 0x87654321 && e.cpu.gpr[EMU_RAX] == e.cpu.fs_base &&
		      e.cpu.gpr[EMU_RDX] == 0x87654321 && e.cpu.gpr[EMU_RSI] == 0x12345000,
	      "FSGSBASE: %s fs %llx gs %llx rax %llx rdx %llx rsi %llx", emu_stop_name(r.reason),
	      (unsigned long long)e.cpu.fs_base, (unsigned long long)e.cpu.gs_base,
	      (unsigned long long)e.cpu.gpr[EMU_RAX], (unsigned long long)e.cpu.gpr[EMU_RDX],
	      (unsigned long long)e.cpu.gpr[EMU_RSI]);
	u64 fs = e.cpu.fs_base;
	e.cpu.gpr[EMU_RBX] = 0x0000800000000000ull;
	fault_at("WRFSBASE non-canonical", run_at(c, 5), c, EMU_EXC_GP);
	CHECK(e.cpu.fs_base == fs, "WRFSBASE #GP left the base");
	e.cpu.cr4 &= ~(u64)EMU_CR4_FSGSBASE;
	fault_at("RDFSBASE without CR4.FSGSBASE", run_at(c + 9, 5), c + 9, EMU_EXC_UD);
}

/* LDMXCSR/STMXCSR (SDM "LDMXCSR"): #GP(0) for a bit outside MXCSR_MASK, MXCSR unchanged. */
static void test_mxcsr(void)
{
	umem_reset();
	u64 c = ucode(0x100, B("\x0f\xae\x13\x0f\xae\x1e")); /* ldmxcsr (%rbx); stmxcsr (%rsi) */
	uemu_init(&e, 0);
	e.cpu.gpr[EMU_RBX] = UMEM_BASE + 0x100, e.cpu.gpr[EMU_RSI] = UMEM_BASE + 0x200;
	u32 v = 0x9fc0; /* FZ, all masks, DAZ */
	memcpy(&um.data[0][0x100], &v, 4);
	struct emu_result r = run_at(c, 6);
	u32 out;
	memcpy(&out, &um.data[0][0x200], 4);
	CHECK(r.reason == EMU_STOP_LEFT_REGION && e.cpu.mxcsr == 0x9fc0 && out == 0x9fc0,
	      "LDMXCSR/STMXCSR: %s mxcsr %x stored %x", emu_stop_name(r.reason), e.cpu.mxcsr, out);
	e.cpu.mxcsr_mask = 0xffbf; /* a CPU without DAZ */
	fault_at("LDMXCSR DAZ without it in the mask", run_at(c, 3), c, EMU_EXC_GP);
	v = 0x11f80;
	memcpy(&um.data[0][0x100], &v, 4);
	e.cpu.mxcsr_mask = 0xffff;
	fault_at("LDMXCSR reserved bit 16", run_at(c, 3), c, EMU_EXC_GP);
	CHECK(e.cpu.mxcsr == 0x9fc0, "LDMXCSR #GP left MXCSR: %x", e.cpu.mxcsr);
}

/* x87 control (SDM "FLDCW", "FCLEX/FNCLEX", "WAIT/FWAIT", "Device Not Available"): an
 * unmasked pending exception sets ES and B; FWAIT then raises #MF. #NM: x87 instructions
 * with CR0.EM or TS, FWAIT only with MP and TS. */
static void test_x87(void)
{
	umem_reset();
	/* fldcw (%rbx); fnstsw %ax; fwait; | fnclex; fwait; | fnstcw (%rsi) */
	u64 c = ucode(0x100, B("\xd9\x2b\xdf\xe0\x9b\xdb\xe2\x9b\xd9\x3e"));
	uemu_init(&e, 0);
	e.cpu.gpr[EMU_RBX] = UMEM_BASE + 0x100, e.cpu.gpr[EMU_RSI] = UMEM_BASE + 0x200;
	um.data[0][0x100] = 0x7e, um.data[0][0x101] = 0x03; /* IM unmasked */
	e.cpu.fsw = 0x0001; /* IE pending */
	struct emu_result r = run_at(c, 5);
	CHECK(r.reason == EMU_STOP_FAULT && r.fault.vector == EMU_EXC_MF && e.cpu.rip == c + 4 && r.executed == 2 &&
		      e.cpu.fcw == 0x37e && e.cpu.fsw == 0x8081 && (u16)e.cpu.gpr[EMU_RAX] == 0x8081,
	      "FLDCW, FWAIT #MF: %s vec %u rip +%llx fsw %x ax %x", emu_stop_name(r.reason), r.fault.vector,
	      (unsigned long long)(e.cpu.rip - c), e.cpu.fsw, (unsigned)(u16)e.cpu.gpr[EMU_RAX]);
	r = run_at(c + 5, 3);
	CHECK(r.reason == EMU_STOP_LEFT_REGION && e.cpu.fsw == 0, "FNCLEX, FWAIT: %s fsw %x",
	      emu_stop_name(r.reason), e.cpu.fsw);
	e.cpu.cr0 |= EMU_CR0_TS;
	fault_at("FLDCW with CR0.TS", run_at(c, 2), c, EMU_EXC_NM);
	r = run_at(c + 7, 1);
	CHECK(r.reason == EMU_STOP_FAULT && r.fault.vector == EMU_EXC_NM, "FWAIT with TS and MP: %s",
	      emu_stop_name(r.reason));
	e.cpu.cr0 &= ~(u64)EMU_CR0_MP;
	CHECK(run_at(c + 7, 1).reason == EMU_STOP_LEFT_REGION, "FWAIT with TS, no MP runs");
	e.cpu.cr0 = (e.cpu.cr0 & ~(u64)EMU_CR0_TS) | EMU_CR0_EM;
	r = run_at(c + 8, 2);
	CHECK(r.reason == EMU_STOP_FAULT && r.fault.vector == EMU_EXC_NM, "FNSTCW with CR0.EM: %s",
	      emu_stop_name(r.reason));
}

/* JMP through memory (a jump table), fast and slow path; a non-canonical target
 * is #GP(0) at the JMP. RET to two call sites in turn within one run. */
static void test_branches(void)
{
	for (int slow = 0; slow < 2; slow++) {
		for (int x = 0; x < 2; x++) {
			umem_reset();
			um.no_map = slow;
			/* nop; jmp *(%rbx) or jmp *(%rbx,%rcx,8); 0x10: mov $7,%eax */
			u64 c = x ? ucode(0x100, B("\x90\xff\x24\xcb")) : ucode(0x100, B("\x90\xff\x23"));
			ucode(0x110, B("\xb8\x07\x00\x00\x00"));
			uemu_init(&e, 0);
			e.cpu.gpr[EMU_RBX] = UMEM_BASE + 0x100, e.cpu.gpr[EMU_RCX] = 1;
			u64 t = c + 0x10;
			memcpy(&um.data[0][0x100 + 8 * x], &t, 8);
			struct emu_result r = run_at(c, 0x15);
			CHECK(r.reason == EMU_STOP_LEFT_REGION && e.cpu.gpr[EMU_RAX] == 7 && e.cpu.rip == c + 0x15,
			      "JMP m64 (slow %d, index %d): %s rax %llx", slow, x, emu_stop_name(r.reason),
			      (unsigned long long)e.cpu.gpr[EMU_RAX]);
			t = 0x0000800000000000ull;
			memcpy(&um.data[0][0x100 + 8 * x], &t, 8);
			r = run_at(c, 0x15);
			CHECK(r.reason == EMU_STOP_FAULT && r.fault.vector == EMU_EXC_GP && e.cpu.rip == c + 1 &&
				      r.executed == 1 && r.len == 2 + x,
			      "JMP m64 to a non-canonical address (slow %d, index %d): %s rip +%llx", slow, x,
			      emu_stop_name(r.reason), (unsigned long long)(e.cpu.rip - c));
		}
	}
	/* f: add $0x100,%eax; ret | 0x10: mov $3,%ecx; call f; add $1,%eax; call f; add $0x10,%eax; loop 0x15 */
	umem_reset();
	u64 f = ucode(0x100, B("\x05\x00\x01\x00\x00\xc3"));
	u64 m = ucode(0x110, B("\xb9\x03\x00\x00\x00\xe8\xe6\xff\xff\xff\x83\xc0\x01\xe8\xde\xff\xff\xff\x83\xc0\x10\xe2\xee"));
	uemu_init(&e, 0);
	e.cpu.gpr[EMU_RSP] = UMEM_BASE + 0x2000;
	e.cpu.rip = m;
	struct emu_result r = emu_run(&e, f, m + 23, 100);
	CHECK(r.reason == EMU_STOP_LEFT_REGION && e.cpu.rip == m + 23 && e.cpu.gpr[EMU_RAX] == 0x633 &&
		      r.executed == 28,
	      "RET to alternating call sites: %s rip +%llx rax %llx executed %llu", emu_stop_name(r.reason),
	      (unsigned long long)(e.cpu.rip - m), (unsigned long long)e.cpu.gpr[EMU_RAX],
	      (unsigned long long)r.executed);
}

/* MASKMOVDQU with no mask byte set: no memory access at all. */
static void test_maskmov(void)
{
	umem_reset();
	um.no_map = 1;
	u64 c = ucode(0x100, B("\x66\x0f\xf7\xc1")); /* maskmovdqu %xmm1,%xmm0 */
	uemu_init(&e, 0);
	e.cpu.gpr[EMU_RDI] = 8; /* would be #PF */
	memset(&e.cpu.xmm[1], 0x7f, 16);
	unsigned before = um.accesses;
	struct emu_result r = run_at(c, 4);
	CHECK(r.reason == EMU_STOP_LEFT_REGION && um.accesses - before == 1, /* the fetch */
	      "MASKMOVDQU, empty mask: %s, %u accesses", emu_stop_name(r.reason), um.accesses - before);
}

/* Alignment checks (SDM "Interrupt 17-Alignment Check Exception (#AC)"): at CPL 3 with CR0.AM
 * and RFLAGS.AC a misaligned word, doubleword or quadword access is #AC(0) before it is made;
 * an aligned one, a byte, CPL 0, or AM off are not checked. POPF turning AC on mid-run counts. */
static void test_alignment_check(void)
{
	static const char prog[] = "\x9c\x48\x81\x0c\x24\x00\x00\x04\x00\x9d" /* pushfq; orq $AC,(%rsp); popfq */
				   "\x8b\x03\x8b\x43\x01";                  /* mov (%rbx),%eax; mov 1(%rbx),%eax */
	static const struct { u8 cpl; bool am; bool fault; } c[] = {{3, true, true}, {3, false, false}, {0, true, false}};
	for (unsigned i = 0; i < 3; i++) {
		umem_reset();
		u64 code = ucode(0x100, B(prog));
		uemu_init(&e, c[i].cpl);
		if (c[i].am)
			e.cpu.cr0 |= EMU_CR0_AM;
		e.cpu.gpr[EMU_RSP] = UMEM_BASE + 0x2000;
		e.cpu.gpr[EMU_RBX] = UMEM_BASE + 0x100;
		e.cpu.rip = code;
		/* a first run without AC fills the data TLB: the second must not use it */
		e.cpu.rip = code + 10;
		struct emu_result r = emu_run(&e, code + 10, code + 15, 100);
		e.cpu.rip = code;
		r = emu_run(&e, code, code + 15, 100);
		bool fault = r.reason == EMU_STOP_FAULT && r.fault.vector == EMU_EXC_AC && r.fault.has_error &&
			     r.fault.error_code == 0 && e.cpu.rip == code + 12;
		CHECK(c[i].fault ? fault : r.reason == EMU_STOP_LEFT_REGION,
		      "alignment check, CPL %u, AM %d: stop %d vector %u at +%llx", c[i].cpl, c[i].am, r.reason,
		      r.fault.vector, (unsigned long long)(e.cpu.rip - code));
	}
}

void run_state_cases(void)
{
	test_alias();
	test_debug();
	test_handoff();
	test_pool();
	test_fsgs();
	test_mxcsr();
	test_x87();
	test_branches();
	test_maskmov();
	test_alignment_check();
}
