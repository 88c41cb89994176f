/* unit_edges.c - edge coverage (emu_set_edges): the map one run fills must be the one the
 * documented rule gives for the instruction sequence the same code runs one instruction at a
 * time (emu_run with budget 1, no map): an entry at the start and after each branch the code
 * holds (listed by hand from its bytes), map[(h(rip) ^ prev) & mask]++, prev = h(rip) >> 1. */
#include <string.h>

#include "unit.h"

#define MAP 4096
#define REGION 0x40
static struct emu e;
static u8 map[MAP], want[MAP];

/* 00: xor eax,eax  02: inc eax  04: cmp eax,N  07: jne 02  09: call 20  0e: jmp 40 (out)
 * 20: test eax,eax  22: jz 26 (not taken)  24: inc ecx  26: ret */
static const u8 branches[] = {0x07, 0x09, 0x0e, 0x22, 0x26};

static u64 load(u8 n)
{
	static char code[REGION];
	memset(code, 0x90, sizeof(code));
	memcpy(code, "\x31\xc0\xff\xc0\x83\xf8\x05\x75\xf9\xe8\x12\x00\x00\x00\xeb\x30", 16);
	code[6] = (char)n;
	memcpy(code + 0x20, "\x85\xc0\x74\x02\xff\xc1\xc3", 7);
	umem_reset();
	u64 c = ucode(0x100, code, sizeof(code));
	uemu_init(&e, 0);
	e.cpu.gpr[EMU_RSP] = UMEM_BASE + 0x2000;
	e.cpu.rip = c;
	return c;
}

static void count(u8 *m, u64 rip, u32 *prev)
{
	u32 h = (u32)((rip * 0x9e3779b97f4a7c15ULL) >> 32);
	u8 *b = &m[(h ^ *prev) & (MAP - 1)];
	*b += *b != 255;
	*prev = h >> 1;
}

/* The expected map, from a run one instruction at a time; the number of entries. */
static unsigned oracle(u8 n)
{
	u64 c = load(n);
	u32 prev = 0;
	unsigned entries = 0;
	memset(want, 0, sizeof(want));
	count(want, c, &prev), entries++;
	while (e.cpu.rip - c < REGION) {
		u64 at = e.cpu.rip - c;
		struct emu_result r = emu_run(&e, c, c + REGION, 1);
		if (r.reason != EMU_STOP_BUDGET || r.executed != 1)
			break;
		if (memchr(branches, (int)at, sizeof(branches)) && e.cpu.rip - c < REGION)
			count(want, e.cpu.rip, &prev), entries++;
	}
	return entries;
}

static void test_edges(void)
{
	for (u8 n = 5; n <= 7; n += 2) {
		unsigned entries = oracle(n);
		u64 c = load(n);
		memset(map, 0, sizeof(map));
		emu_set_edges(&e, map, MAP);
		struct emu_result r = emu_run(&e, c, c + REGION, 1000);
		unsigned sum = 0;
		for (unsigned i = 0; i < MAP; i++)
			sum += map[i];
		CHECK(r.reason == EMU_STOP_LEFT_REGION && e.cpu.gpr[EMU_RAX] == n && e.cpu.gpr[EMU_RCX] == 1,
		      "edges, loop of %u: stop %d rax %llu", n, r.reason, (unsigned long long)e.cpu.gpr[EMU_RAX]);
		CHECK(!memcmp(map, want, MAP) && sum == entries, "edges, loop of %u: the map differs from the rule's "
		      "(%u entries counted, %u expected)", n, sum, entries);
		/* again from the start, with the decodes of the first run: the same map twice */
		e.cpu.rip = c, e.cpu.gpr[EMU_RAX] = e.cpu.gpr[EMU_RCX] = 0, e.cpu.gpr[EMU_RSP] = UMEM_BASE + 0x2000;
		emu_set_edges(&e, map, MAP);
		emu_run(&e, c, c + REGION, 1000);
		for (unsigned i = 0; i < MAP; i++)
			want[i] = (u8)(want[i] * 2 < 255 ? want[i] * 2 : 255);
		CHECK(!memcmp(map, want, MAP), "edges, loop of %u, second run: not twice the counts", n);
		/* off again: nothing counted, the same result */
		memcpy(want, map, MAP);
		emu_set_edges(&e, NULL, 0);
		e.cpu.rip = c, e.cpu.gpr[EMU_RAX] = e.cpu.gpr[EMU_RCX] = 0, e.cpu.gpr[EMU_RSP] = UMEM_BASE + 0x2000;
		r = emu_run(&e, c, c + REGION, 1000);
		CHECK(!memcmp(map, want, MAP) && e.cpu.gpr[EMU_RAX] == n && r.executed == 3u * n + 7,
		      "edges off: map touched or another run (%llu executed)", (unsigned long long)r.executed);
	}
}

void run_edge_cases(void) { test_edges(); }
