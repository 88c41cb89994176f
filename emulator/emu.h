/* emu.h - public API of the hvlab x86-64 interpreter.
 * Interprets 64-bit-mode code (general-purpose, SSE to SSE4.2 integer and
 * data movement, BMI/ADX/MOVBE/CRC32/FSGSBASE, x87 control words) over
 * caller-supplied memory callbacks, honours RFLAGS.TF and DR0-DR7, and stops
 * (without executing) at anything that needs the hypervisor. It knows nothing
 * about VMX, segmentation beyond FS/GS bases, or paging (the callbacks
 * translate linear addresses), and never uses the host's FPU or SSE.
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
#define EMU_EXC_NM 7
#define EMU_EXC_SS 12
#define EMU_EXC_GP 13
#define EMU_EXC_PF 14
#define EMU_EXC_AC 17
#define EMU_EXC_MF 16

/* Control-register bits the interpreter reads (SDM "Control Registers"). */
#define EMU_CR0_MP 0x2u
#define EMU_CR0_EM 0x4u
#define EMU_CR0_TS 0x8u
#define EMU_CR0_AM 0x40000u
#define EMU_CR4_OSFXSR 0x200u
#define EMU_CR4_OSXMMEXCPT 0x400u
#define EMU_CR4_FSGSBASE 0x10000u

/* DR6 bits of an EMU_STOP_DEBUG (SDM "Debug Status Register (DR6)"). */
#define EMU_DR6_B0 0x1u /* B0..B3: breakpoint n matched (EMU_DR6_B0 << n) */
#define EMU_DR6_BS 0x4000u /* single step (RFLAGS.TF) */

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
 *   valid until emu_flush(). The pointer names the frame: every linear page
 *   mapping one frame must get the same pointer, so that a write through any
 *   of them to code the interpreter has decoded is noticed. */
struct emu_mem_ops {
	int (*access)(void *ctx, u64 la, void *buf, u32 size, u32 kind,
		      struct emu_fault *f);
	u8 *(*map_page)(void *ctx, u64 la_page, u32 kind);
};

/* A 128-bit XMM register, by lanes (little-endian: b[0] is bits 7:0). */
union emu_xmm {
	u8 b[16];
	u16 w[8];
	u32 d[4];
	u64 q[2];
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
	/* SSE (SDM "SSE Programming Environment"): XMM0-15, MXCSR and the mask of
	 * its writable bits (FXSAVE's MXCSR_MASK; LDMXCSR #GPs on the others) */
	union emu_xmm xmm[16];
	u32 mxcsr, mxcsr_mask;
	/* x87 state the control instructions use (FXSAVE layout): control and
	 * status words, abridged tag word (1 = valid), last opcode, pointers */
	u16 fcw, fsw, fop;
	u8 ftw;
	u64 fip, fdp;
	/* debug registers (SDM "Debug Registers"): DR0-DR3 and DR7 */
	u64 dr[4], dr7;
	/* The first instruction follows MOV SS or POP SS (blocking by MOV SS): no
	 * instruction breakpoint is taken on it, and pending_dbg (DR6 bits of
	 * debug traps held since, e.g. BS) is reported with its own after it
	 * retires (SDM "Masking Exceptions and Interrupts When Switching Stacks").
	 * Both are cleared then. */
	bool mov_ss;
	u32 pending_dbg;
};

enum emu_stop {
	EMU_STOP_LEFT_REGION, /* RIP is outside [start, end) */
	EMU_STOP_BUDGET,      /* instruction budget used up */
	EMU_STOP_FAULT,       /* result.fault must be delivered to the guest */
	EMU_STOP_HYPERVISOR,  /* result.exit names an instruction for the VMM */
	EMU_STOP_UNSUPPORTED, /* instruction not implemented; see bytes */
	EMU_STOP_DEBUG,       /* deliver #DB with result.dr6: after the instruction
				 (single step, data breakpoint: RIP is the next
				 one; after a REP iteration but the last, RIP is at
				 it and RF = 1, as the CPU pushes it) or before it
				 (instruction breakpoint: RIP is at it, not
				 executed) */
};

/* Instructions left to the hypervisor; RIP points at them, not executed.
 * INT n, INT3 and INT1 (ICEBP) carry result.vector and result.len: the VMM
 * injects them as software events. RDRAND, RDSEED and RDPID carry
 * result.reg and result.osz: the VMM can complete them itself (result of the
 * host's instruction into the register, CF/flags as the SDM says, RIP +=
 * len). The last five are instructions the CPU runs that the interpreter
 * deliberately does not: the VMM lets the CPU execute them. */
enum emu_exit {
	EMU_X_NONE, EMU_X_IO, EMU_X_HLT, EMU_X_CLI, EMU_X_STI, EMU_X_MOV_CR,
	EMU_X_MOV_DR, EMU_X_INT, EMU_X_INT3, EMU_X_INT1, EMU_X_IRET,
	EMU_X_SYSCALL, EMU_X_SYSRET, EMU_X_SYSENTER, EMU_X_CPUID,
	EMU_X_RDMSR, EMU_X_WRMSR, EMU_X_RDTSC, EMU_X_RDPMC, EMU_X_SYSTEM,
	EMU_X_FAR, EMU_X_SEG, EMU_X_CLTS, EMU_X_INVD,
	EMU_X_RDRAND, EMU_X_RDSEED, EMU_X_RDPID,
	EMU_X_SIMD_FP, /* SSE floating-point arithmetic, compares, conversions */
	EMU_X_X87,     /* x87 beyond the control words, MMX, EMMS */
	EMU_X_AVX,     /* VEX/EVEX-encoded vector instructions */
	EMU_X_XSAVE,   /* FXSAVE, FXRSTOR, the XSAVE and XRSTOR forms, XGETBV */
	EMU_X_SIMD,    /* PCMPESTRI/M, PCMPISTRI/M, AES, SHA, PCLMULQDQ, and
			  the rest of the 0F 38 / 0F 3A maps (GFNI, MOVDIRI..;
			  the CPU raises #UD where undefined) */
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
	u8 vector;             /* EMU_X_INT/INT3/INT1: the vector (n, 3, 1) */
	u8 reg, osz;           /* EMU_X_RDRAND/RDSEED/RDPID: destination register
				  (EMU_RAX..), operand size in bytes (2, 4, 8) */
	u32 dr6;               /* EMU_STOP_DEBUG: DR6 bits to report */
};

/* What CPUID tells the guest (leaves 1, 7.0 and 0x80000001): instructions of
 * an extension the guest does not have raise #UD (TZCNT and LZCNT run as BSF
 * and BSR, as on such a CPU). emu_init() starts with every bit set. */
struct emu_cpuid {
	u32 l1_ecx, l1_edx, l7_ebx, l7_ecx, x1_ecx, x1_edx;
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
	union {
		u64 imm;  /* immediate (sign-extended where the SDM says so), moffs,
			     absolute target of a relative branch */
		emu_fn alt_m; /* G op= memory forms that may drop their flags: the
				 handler not in fn (their disp is in use) */
	};
	union {
		i64 disp; /* ModRM displacement (absolute address if RIP-relative);
			     return address of CALL rel32 */
		emu_fn alt; /* register forms that may drop their flags: the
			       handler not in fn (the twin without flag writes) */
	};
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
	u32 inside;       /* == emu.gen: verified and all of it inside this run's
			     region (emu.gen changes with every run) */
	u8 loop;          /* has a Jcc back to rip: may run again (emu_again) */
	u8 pad[7];        /* 64 bytes */
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
	u32 again;         /* instructions a trace branching back to its own start may
			      still run without a return to the run loop (emu_again);
			      the run loop takes them off the budget when it is back;
			      0 while other traces run */
	u8 tlb_cpl;
	bool code_unknown; /* valid traces include bytes of a frame map_page did not name */
	struct emu_cpuid cpuid;
	u8 fpu_fault;      /* this run: vector SSE instructions raise, 0 = none */
	bool stepping;     /* single-stepping: TF, RF, MOV SS or breakpoints */
	bool ac;           /* alignment checks: CPL 3, CR0.AM and RFLAGS.AC (data accesses go slow) */
	u32 db_hits;       /* DR6 B0-B3 of data breakpoints hit by this instruction */
	u64 bp_seen[5];    /* DR0-3, DR7 when the data TLBs last dropped breakpoint pages */
	u32 cas_retries;
	u8 *edge_map;      /* edge coverage (emu_set_edges), or NULL */
	u32 edge_mask, edge_prev;
	u32 again_max;     /* EMU_AGAIN, or 0 while edges are counted */
	u32 gen;           /* trace generation, bumped per run and on writes to code
			      frames; never 0 */
	u32 pool_epoch;    /* bumped when the decode pool is recycled; never 0 */
	u32 pool_next, bytes_next;
	u64 tlb_epoch[3];  /* per TLB (read, write, fetch): 1..4095 */
	u64 frames[EMU_FRAMES]; /* host pages holding bytes of valid traces; 0 empty */
	struct emu_tlb_entry tlb[EMU_TLB_SIZE][2]; /* read and write entry of a page side by side:
						      a read-modify-write touches one cache line */
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
/* Set what CPUID tells the guest (drops every decoded instruction). */
void emu_set_cpuid(struct emu *e, const struct emu_cpuid *id);
/* Edge coverage, as AFL counts it (for fuzzing): with a map of size bytes (a power of two),
 * every entry into a decoded trace counts as an edge from the previous entry (entries then
 * take the trace lookup path; the fast loop has no check):
 * map[(h(rip) ^ prev) & (size - 1)] += 1 (saturating at 255), prev = h(rip) >> 1. Traces end
 * at every control transfer, and in this mode at every conditional branch too (Jcc, LOOP,
 * JrCXZ, taken or not) and loops return to the run loop, so each branch is an entry. Entries
 * also happen where a trace is cut without a branch (32 instructions, a page end, after a REP
 * string or POPF, a budget's end): the same places for the same code and input. Single-step
 * runs (TF, breakpoints, MOV SS) count nothing. This call also starts over from prev = 0 (call
 * it before each input); switching between on and off drops decoded code. NULL: off. */
void emu_set_edges(struct emu *e, u8 *map, u32 size);
/* Name of a stop reason / exit, for logs. */
const char *emu_stop_name(enum emu_stop s);
const char *emu_exit_name(enum emu_exit x);

#endif
