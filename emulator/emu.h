/* emu.h - public API of the hvlab x86-64 interpreter.
 * Interprets 64-bit-mode general-purpose integer code over caller-supplied
 * memory callbacks, and stops (without executing) at anything that needs the
 * hypervisor. It knows nothing about VMX, segmentation beyond FS/GS bases,
 * x87/SSE, or paging (the callbacks translate linear addresses).
 * Builds freestanding (stdint/stddef/stdbool only) and as a host library. */
#ifndef HVLAB_EMU_H
#define HVLAB_EMU_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef uint8_t u8;
typedef uint16_t u16;
typedef uint32_t u32;
typedef uint64_t u64;
typedef int8_t i8;
typedef int16_t i16;
typedef int32_t i32;
typedef int64_t i64;

/* General-purpose register numbers (SDM "General-Purpose Registers in 64-Bit Mode", REX
 * encoding order). */
enum { EMU_RAX, EMU_RCX, EMU_RDX, EMU_RBX, EMU_RSP, EMU_RBP, EMU_RSI, EMU_RDI,
       EMU_R8, EMU_R9, EMU_R10, EMU_R11, EMU_R12, EMU_R13, EMU_R14, EMU_R15 };

/* RFLAGS bits (SDM "EFLAGS Register"). */
#define EMU_CF 0x0001u
#define EMU_PF 0x0004u
#define EMU_AF 0x0010u
#define EMU_ZF 0x0040u
#define EMU_SF 0x0080u
#define EMU_TF 0x0100u
#define EMU_IF 0x0200u
#define EMU_DF 0x0400u
#define EMU_OF 0x0800u
#define EMU_IOPL 0x3000u
#define EMU_NT 0x4000u
#define EMU_RF 0x10000u
#define EMU_VM 0x20000u
#define EMU_AC 0x40000u
#define EMU_VIF 0x80000u
#define EMU_VIP 0x100000u
#define EMU_ID 0x200000u
#define EMU_ARITH_FLAGS (EMU_CF | EMU_PF | EMU_AF | EMU_ZF | EMU_SF | EMU_OF)

/* Memory access kinds passed to the callbacks. EMU_ACC_USER is set when the
 * access is made with user privilege (CPL 3); never set for supervisor. */
#define EMU_ACC_READ 0x1u
#define EMU_ACC_WRITE 0x2u
#define EMU_ACC_FETCH 0x4u
#define EMU_ACC_USER 0x8u

/* Exception vectors the emulator raises itself (SDM "Exception and Interrupt Reference"). */
#define EMU_EXC_DE 0
#define EMU_EXC_UD 6
#define EMU_EXC_SS 12
#define EMU_EXC_GP 13
#define EMU_EXC_PF 14

struct emu_fault {
	u8 vector;         /* exception vector */
	bool has_error;    /* error_code is meaningful */
	u32 error_code;
	u64 cr2;           /* faulting linear address for #PF */
};

/* Memory interface. All addresses are linear (FS/GS base already added).
 * access: copy size bytes (1..16, may cross a page boundary: check every page
 *   before changing anything) between buf and memory; return 0, or fill *f
 *   and return -1.
 * map_page: optional fast path. Return a host pointer to the 4 KiB page at
 *   la_page if it may be accessed directly with `kind` (one EMU_ACC_* kind,
 *   plus EMU_ACC_USER), else NULL (then `access` is used). Pointers stay
 *   valid until emu_flush(). */
struct emu_mem_ops {
	int (*access)(void *ctx, u64 la, void *buf, u32 size, u32 kind,
		      struct emu_fault *f);
	u8 *(*map_page)(void *ctx, u64 la_page, u32 kind);
};

/* Architectural state (SDM "Basic Program Execution Registers"). RFLAGS is
 * kept lazily: read it with emu_get_rflags() and write it with
 * emu_set_rflags(), never directly. */
struct emu_cpu {
	union {
		u64 gpr[16];
		u64 reg[17]; /* internal: reg[16] is always 0 (no base or index register) */
	};
	u64 rip;
	u64 fs_base, gs_base;
	u64 cr0, cr2, cr3, cr4, efer;
	u8 cpl;
	u64 rflags_sys; /* non-arithmetic RFLAGS bits */
	u64 lf_res, lf_a, lf_b; /* lazy flags: result and operands (emu_internal.h) */
	u32 lf_op;              /* lazy flags: what produced them */
};

enum emu_stop {
	EMU_STOP_LEFT_REGION, /* RIP is outside [start, end) */
	EMU_STOP_BUDGET,      /* instruction budget used up */
	EMU_STOP_FAULT,       /* result.fault must be delivered to the guest */
	EMU_STOP_HYPERVISOR,  /* result.exit names an instruction for the VMM */
	EMU_STOP_UNSUPPORTED, /* instruction not implemented; see bytes */
};

/* Instructions left to the hypervisor; RIP points at them, not executed. */
enum emu_exit {
	EMU_X_NONE, EMU_X_IO, EMU_X_HLT, EMU_X_CLI, EMU_X_STI, EMU_X_MOV_CR,
	EMU_X_MOV_DR, EMU_X_INT, EMU_X_INT3, EMU_X_INT1, EMU_X_IRET,
	EMU_X_SYSCALL, EMU_X_SYSRET, EMU_X_SYSENTER, EMU_X_CPUID,
	EMU_X_RDMSR, EMU_X_WRMSR, EMU_X_RDTSC, EMU_X_RDPMC, EMU_X_SYSTEM,
	EMU_X_FAR, EMU_X_SEG, EMU_X_CLTS, EMU_X_INVD,
	EMU_X_COUNT
};

struct emu_result {
	enum emu_stop reason;
	enum emu_exit exit;    /* for EMU_STOP_HYPERVISOR */
	u64 executed;          /* instructions retired (REP: one per iteration) */
	struct emu_fault fault;/* for EMU_STOP_FAULT */
	u8 len;                /* length of the instruction at RIP (0 if unknown) */
	u8 bytes[15];          /* its bytes (HYPERVISOR / UNSUPPORTED / FAULT) */
	u8 nbytes;             /* valid entries in bytes[] */
};

struct emu;
struct emu_insn;
typedef int (*emu_fn)(struct emu *e, const struct emu_insn *in);

/* One decoded instruction (internal; in this header only so that callers can
 * allocate struct emu statically). Addresses that depend only on the
 * instruction's own RIP (branch targets, RIP-relative operands) are resolved
 * at decode time: a decode is only ever reused at the same RIP. */
struct emu_insn {
	emu_fn fn;        /* handler */
	u64 imm;          /* immediate (sign-extended where the SDM says so), moffs,
			     absolute target of a relative branch */
	i64 disp;         /* ModRM displacement (absolute address if RIP-relative);
			     return address of CALL rel32 */
	u16 flags;        /* EMU_I_* (emu_internal.h) */
	u8 len, off;      /* length; offset from the start of its trace */
	u8 osz, idx;      /* operand size in bytes; index in its trace */
	u8 reg, rm;       /* ModRM.reg / ModRM.rm (or opcode reg) incl. REX */
	u8 reg8, rm8;     /* same, as 8-bit register numbers (0x10|n = AH..BH) */
	u8 base, index;   /* 0-15, or 16 (the zero register) if absent / RIP-relative */
	u8 scale;         /* shift count 0..3 */
	u8 ext;           /* sub-operation (ModRM.reg of groups, condition code,
			     enum emu_exit for hypervisor instructions) */
	u8 imm2;          /* ENTER level; shift count source (0 imm, 1 one, 2 CL) */
	u8 op;            /* second sub-operation (SSE forms) */
};

/* A trace: up to EMU_TRACE_INSNS decoded instructions that follow each other
 * in memory, starting at rip and ending at a branch, a stop or a page end.
 * Its decodes live in emu.pool, its bytes in emu.bytes (for re-verification). */
struct emu_trace {
	u64 rip;          /* linear address of the first instruction (1: empty) */
	u32 gen;          /* trusted without looking at memory while == emu.gen */
	u8 n, nbytes;     /* decoded instructions, bytes */
	u16 code;         /* index of its first byte in emu.bytes */
	struct emu_insn *ins; /* its decodes in emu.pool, then an end marker */
	u64 last;         /* linear address of the last instruction */
	struct emu_trace *next, *jump; /* the traces that followed it last time it
					  ran to its end / took a branch (hints) */
	u32 epoch;        /* its pool entries exist while == emu.pool_epoch */
	u32 pad[3];       /* 64 bytes */
};

#define EMU_TRACE_INSNS 32
#define EMU_TRACE_BYTES 160
#define EMU_TRACES 2048
#define EMU_POOL 8192
#define EMU_BYTES 32768
#define EMU_TLB_SIZE 4096  /* data TLB entries (read and write tables) */
#define EMU_ITLB_SIZE 64   /* fetch TLB entries */
#define EMU_FRAMES 256     /* code-frame set */

struct emu_tlb_entry {
	u64 tag;    /* page address | TLB epoch (low 12 bits); 0 when empty */
	u64 addend; /* host address of the page minus its linear address */
};

struct emu {
	struct emu_cpu cpu;
	const struct emu_mem_ops *ops;
	void *ctx;
	/* internal run state */
	struct emu_result res;
	u64 budget;
	const struct emu_insn *at; /* the decode running now (NULL between runs) */
	u8 tlb_cpl;
	bool code_unknown; /* valid traces include bytes of a frame map_page did not name */
	u32 cas_retries;
	u32 gen;           /* trace generation, bumped per run and on writes to code
			      frames; never 0 */
	u32 pool_epoch;    /* bumped when the decode pool is recycled; never 0 */
	u32 pool_next, bytes_next;
	u64 tlb_epoch[3];  /* per TLB (read, write, fetch): 1..4095 */
	u64 frames[EMU_FRAMES]; /* host pages holding bytes of valid traces; 0 empty */
	struct emu_tlb_entry tlb[2][EMU_TLB_SIZE]; /* read, write */
	struct emu_tlb_entry itlb[EMU_ITLB_SIZE];  /* fetch */
	struct emu_trace traces[EMU_TRACES];
	struct emu_insn pool[EMU_POOL];
	u8 bytes[EMU_BYTES];
};

/* Initialise: zero state, RFLAGS = 2, empty TLB and decode cache. */
void emu_init(struct emu *e, const struct emu_mem_ops *ops, void *ctx);
/* Forget every cached translation and decoded instruction. Call it when
 * guest mappings change (CR3 or PTE writes done outside the emulator). */
void emu_flush(struct emu *e);
/* Forget cached translations but keep decoded instructions (re-verified at the next run):
 * enough when only the mappings may have changed, and much cheaper than emu_flush(). */
void emu_flush_tlb(struct emu *e);
/* The caller wrote guest memory itself during a run (from a callback): if the
 * host page host_page (a map_page() result, page-aligned) holds decoded code,
 * the decodes are re-verified before they run again. Writes made between runs
 * need no call: every run re-verifies what it has cached. */
void emu_code_written(struct emu *e, const void *host_page);
/* Run from cpu.rip while RIP stays in [start, end), for at most budget
 * instructions. Faults leave the state at the start of the faulting
 * instruction (REP string: after the last completed iteration). */
struct emu_result emu_run(struct emu *e, u64 start, u64 end, u64 budget);
u64 emu_get_rflags(const struct emu *e);
void emu_set_rflags(struct emu *e, u64 rflags);
/* Name of a stop reason / exit, for logs. */
const char *emu_stop_name(enum emu_stop s);
const char *emu_exit_name(enum emu_exit x);

#endif
