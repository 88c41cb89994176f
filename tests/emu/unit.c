/* unit.c - host unit tests of the emulator: the CPU-recorded table of
 * unit_cases.c (every instruction form, checked with the TLB fast path and
 * with the callback-only slow path), then the hand-written cases of this
 * file: hypervisor exits, unsupported and #UD/#GP/#SS/#PF/#DE paths, fault
 * restartability, REP interruption, self-modifying code, privilege of
 * accesses. Prints "N passed, N failed"; exit status 1 on any failure. */
#include <stdlib.h>
#include <string.h>

#include "ucase.h"
#include "unit.h"

struct umem um;
unsigned n_pass, n_fail;

static u8 *um_ptr(u64 la, u32 kind)
{
	u8 need = (kind & EMU_ACC_READ) ? 1 : (kind & EMU_ACC_WRITE) ? 2 : 4;
	u8 *p = 0, perm = 0;
	if (la - UMEM_BASE < UMEM_PAGES * 4096ull) {
		p = &um.data[(la - UMEM_BASE) >> 12][la & 4095];
		perm = um.perm[(la - UMEM_BASE) >> 12];
	} else if (la - UCODE_PAGE < 2 * 4096ull) {
		p = &um.code[(la - UCODE_PAGE) >> 12][la & 4095];
		perm = um.code_perm[(la - UCODE_PAGE) >> 12];
	} else if (la - UALIAS_PAGE < 4096) {
		p = &um.code[0][la & 4095];
		perm = um.alias_perm;
	} else if (la - UBELL_PAGE < 4096) {
		p = &um.alias[la & 4095];
		perm = 1;
	}
	if (!p || !(perm & need) || ((kind & EMU_ACC_USER) && !(perm & 8)))
		return 0;
	return p;
}

static u8 *um_map(void *c, u64 page, u32 kind)
{
	(void)c;
	um.kinds_seen |= kind;
	if (um.alias_write && page == UMEM_BASE && (kind & EMU_ACC_WRITE))
		return um.alias;
	if (page == UBELL_PAGE && um.bell_emu) { /* the caller writes code itself */
		um.code[0][um.bell_at] = um.bell_byte;
		if (um.bell_tell)
			emu_code_written(um.bell_emu, um.code[0]);
	}
	return um.no_map ? 0 : um_ptr(page, kind);
}

static int um_access(void *c, u64 la, void *buf, u32 size, u32 kind, struct emu_fault *f)
{
	(void)c;
	um.kinds_seen |= kind;
	um.accesses++;
	for (u32 i = 0; i < size; i++)
		if (!um_ptr(la + i, kind)) {
			f->vector = EMU_EXC_PF;
			f->has_error = true;
			f->error_code = ((kind & EMU_ACC_WRITE) ? 2 : 0) | ((kind & EMU_ACC_USER) ? 4 : 0) |
					((kind & EMU_ACC_FETCH) ? 16 : 0);
			f->cr2 = la + i;
			return -1;
		}
	for (u32 i = 0; i < size; i++) {
		u8 *p = um_ptr(la + i, kind);
		if (kind & EMU_ACC_WRITE)
			*p = ((u8 *)buf)[i];
		else
			((u8 *)buf)[i] = *p;
	}
	return 0;
}

const struct emu_mem_ops umem_ops = {um_access, um_map};

void umem_reset(void)
{
	memset(&um, 0, sizeof(um));
	memset(um.perm, 0xf, sizeof(um.perm));
	um.code_perm[0] = um.code_perm[1] = 0xd; /* read, fetch, user */
	um.alias_perm = 0xb;                     /* read, write, user */
}

void uemu_init(struct emu *e, u8 cpl)
{
	emu_init(e, &umem_ops, 0);
	e->cpu.cpl = cpl;
	e->cpu.cr0 = 0x80000033; /* PG NE ET MP PE, as a 64-bit OS has it */
	e->cpu.cr4 = EMU_CR4_OSFXSR | EMU_CR4_OSXMMEXCPT;
	e->cpu.gs_base = GS_BASE_VAL;
}

u64 ucode(unsigned off, const char *bytes, unsigned len)
{
	memcpy(&um.code[0][0] + off, bytes, len);
	return UCODE_PAGE + off;
}

struct emu_result urun(struct emu *e, u8 cpl, const char *bytes, unsigned len, u64 budget)
{
	u64 c = ucode(0x100, bytes, len);
	uemu_init(e, cpl);
	e->cpu.gpr[EMU_RSP] = UMEM_BASE + 0x2000;
	e->cpu.gpr[EMU_RBX] = UMEM_BASE + 0x100;
	e->cpu.gpr[EMU_RSI] = UMEM_BASE + 0x200;
	e->cpu.gpr[EMU_RDI] = UMEM_BASE + 0x300;
	e->cpu.rip = c;
	return emu_run(e, c, c + len, budget);
}

extern const struct ucase ucases[];
extern const unsigned ucase_count;
extern const unsigned long long ucase_code_addr;
static struct emu em;

/* Check one recorded case; returns true if it matched. */
static bool check_ucase(const struct ucase *c, bool slow)
{
	u64 exp[16], xexp[16][2], code = ucase_code_addr, erip;
	u8 expm[SANDBOX_SIZE];
	bool ok = true;
	umem_reset();
	for (unsigned p = 4; p < UMEM_PAGES; p++)
		um.perm[p] = 0;
	um.no_map = slow;
	for (unsigned k = 0; k < SANDBOX_SIZE; k++)
		um.data[k >> 12][k & 4095] = expm[k] = ucase_mem(c->seed, k);
	memcpy(&um.code[0][code & 4095], c->code, c->len);
	uemu_init(&em, 3);
	for (int r = 0; r < 16; r++)
		em.cpu.gpr[r] = exp[r] = ucase_reg(c->seed, r);
	for (int x = 0; x < 32; x++)
		em.cpu.xmm[x / 2].q[x % 2] = xexp[x / 2][x % 2] = ucase_xmm(c->seed, x / 2, x % 2);
	for (const char *m = c->xmm; m && *m;) { /* "n:hex32;" */
		char *end;
		unsigned x = (unsigned)strtoul(m, &end, 10), b;
		m = end + 1;
		for (unsigned k = 0; k < 16; k++, m += 2) {
			sscanf(m, "%2x", &b);
			((u8 *)xexp[x])[k] = (u8)b;
		}
		m++;
	}
	emu_set_rflags(&em, ucase_flags(c->seed));
	em.cpu.rip = code;
	struct emu_result res = emu_run(&em, code, code + c->len, 1000);
	for (int i = 0; i < 17 && c->out[i].r; i++)
		exp[c->out[i].r - 1] = c->out[i].v;
	for (const char *m = c->mem; m && *m;) {
		char *end;
		unsigned off = (unsigned)strtoul(m, &end, 10), b;
		for (m = end + 1; *m && *m != ';'; m += 2, off++) {
			sscanf(m, "%2x", &b);
			expm[off] = (u8)b;
		}
		if (*m == ';')
			m++;
	}
	erip = c->rip == 0 ? code + c->len : c->rip == 1 ? code : c->rip;
	if (c->vec >= 0)
		ok &= res.reason == EMU_STOP_FAULT && res.fault.vector == c->vec;
	else
		ok &= res.reason == EMU_STOP_LEFT_REGION;
	ok &= em.cpu.rip == erip;
	for (int r = 0; r < 16; r++)
		ok &= em.cpu.gpr[r] == exp[r];
	ok &= !memcmp(em.cpu.xmm, xexp, sizeof(xexp));
	ok &= ((emu_get_rflags(&em) ^ c->fout) & c->fmask) == 0;
	for (unsigned k = 0; k < SANDBOX_SIZE; k++)
		ok &= um.data[k >> 12][k & 4095] == expm[k];
	return ok;
}

void run_ucases(void)
{
	for (unsigned i = 0; i < ucase_count; i++) {
		bool f = check_ucase(&ucases[i], false), s = check_ucase(&ucases[i], true);
		CHECK(f && s, "recorded case %u \"%s\" (fast %d, slow %d)", i, ucases[i].name, f, s);
	}
}

int main(void)
{
	run_ucases();
	run_handwritten();
	printf("%u passed, %u failed\n", n_pass, n_fail);
	return n_fail != 0;
}
