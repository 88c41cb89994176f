/* gfuzz.h: what the files of the "guest_fuzz" scenario share: scen_gfuzz.c (the data model, the
 * operations, the run loop), gfuzz_code.c (snippets of gfuzz.S and the exception handlers),
 * gfuzz_hc.c (hypercall arguments, the safety filter, expected results, the model update) and
 * gfuzz_repro.c (reproducers). The model is the fuzzer's own idea of the hypervisor's state: live
 * views with their policies and remaps, traps, regions, the #VE page, the data in its data
 * frames. docs/guest.md, "guest_fuzz". */
#ifndef HVLAB_GUEST_GFUZZ_H
#define HVLAB_GUEST_GFUZZ_H
#include "guest.h"

/* bi->arg: seed (0: 1), operations (0: 1000), checkpoint interval, reproducer, flags. */
#define GF_ARG_SEED(a) ((u32)(a))
#define GF_ARG_OPS(a) (((a) >> 32) & 0xffff)
#define GF_ARG_CKPT(a) (((a) >> 48) & 0xff) /* HC_EXIT(GF_CHECKPOINT) every 100 * n ops; 0: never */
#define GF_ARG_REPRO(a) (((a) >> 56) & 0x3f) /* run reproducer n instead of random operations */
#define GF_ARG_ALL BIT(62)                  /* do not steer around the known findings */
#define GF_ARG_LOG BIT(63)                  /* print every operation and its result */
#define GF_CHECKPOINT 0x67667a00UL         /* "gfz": the host checks its invariants and resumes */

/* The arena: pages the fuzzer owns, by index. Frames of one class may be remapped onto each
 * other; everything else the guest runs on is never denied, remapped, trapped or a region. */
enum {
	PG_D0 = 0,            /* D0..D7: data pages, loads and stores (U, RW, NX) */
	PG_X0 = 8, PG_X1 = 9, /* data frames reached only through remaps (16 MiB, the last page of RAM) */
	PG_C0 = 10,           /* C0..C3: code pages, gfz_blob at GF_BLOB_OFF in each (U, RWX) */
	PG_Y0 = 14,           /* a code frame reached only through remaps (4 MiB) */
	PG_F0 = 15, PG_F1, PG_F2, /* free: page 0, 20 MiB, ram_size - 2 MiB (never accessed) */
	PG_V0 = 18, PG_V1 = 19,   /* #VE information pages */
	GF_NPAGES = 20
};
#define GF_ND 8 /* data pages accessed by their own address */
#define GF_NC 4 /* code pages called by their own address */
#define GF_NDF 10 /* data-class frames (shadowed) */
enum { CLS_DATA, CLS_CODE, CLS_FREE, CLS_VE };
#define GF_BLOB_OFF 64           /* where gfz_blob starts in a code page */
#define GF_STRADDLE_IMM 0x123ca55aU /* the immediate of the MOV across a code page boundary */
#define GF_ALIAS_GVA 0x30000000UL /* + k pages: a second mapping of code page Ck (U, RWX) */
#define GF_UNMAPPED (1UL << 40)   /* a canonical address the guest never maps */
#define GF_MAX_RAM (64 * MiB)
#define GF_OWN_END (4 * MiB) /* the guest runs on pages below (guest.ld), the fuzzer on pages above */
/* Limits of the hypervisor that the ABI does not name (vmm/vmm.h): a change shows as a mismatch. */
#define GF_TRAP_MAX 32     /* HV_TRAP_MAX */
#define GF_REGION_PAGES 64 /* HV_REGION_PAGES */

struct gf_trap {
	bool live, exact; /* exact: every hit it can see is one the fuzzer made and counted */
	u32 pfn, access;  /* the trapped frame (page number) and kinds */
	u64 hits;         /* what HC_TRAP_HITS must return (exact) or returned last */
	u64 slack;        /* it may return up to this many more (finding D, steered around) */
};
struct gf_region {
	bool live;
	u32 npages, pfn[GF_REGION_PAGES]; /* its frames */
};

/* What a hypercall must return. */
enum { EXP_EXACT, EXP_RANGE, EXP_ONE_OF, EXP_CHAIN /* a view the vCPU may be in */ };
struct gf_expect {
	int how;
	s64 a, b;
};

struct gf_args {
	u64 a[6];
};
extern struct gf_args gf_uargs; /* the snippets' arguments, in user data */

/* The snippets of gfuzz.S, in the order of gfuzz_code.c's tables. */
enum sn {
	SN_LOAD64, SN_LOAD8, SN_STORE64, SN_STORE16, SN_MOVS, SN_CPUID, SN_VERSION, SN_HCALL, SN_VMFUNC, SN_OUT,
	SN_INT3, SN_ICEBP, SN_INTN, SN_INTBAD, SN_UD2, SN_DIV0, SN_HLT, SN_TF, SN_TF_CPUID, SN_TF_VMCALL, SN_SMC,
	SN_IMM, SN_LOOP, SN_CALLRET, SN_RDRAND, SN_RDSEED, SN_RDPID, SN_CALLOUT,
	SN_STRADDLE, /* not in the blob: the instruction across the end of code page k (k < GF_NC - 1) */
	SN_N
};
extern char gfz_blob[], gfz_blob_end[];
extern const char *const gf_sn_name[SN_N];
/* Where a snippet runs: code page k (or its alias), at cpl, in region rgn - 1 (0: none, -1: not
 * known, the view may change on the way). */
struct site {
	int k, cpl, rgn;
	bool alias;
};
struct outcome { /* what it gave: an exception (vec >= 0), else RAX */
	int vec;
	u64 err, cr2, ret;
};
struct want { /* what it must give: no exception (vec -1) and RAX (has_ret), or this exception */
	int vec;
	u64 err, cr2;
	bool has_ret, check_cr2;
	u64 ret;
};

struct gfuzz {
	u64 rng;
	u64 ram_size;
	bool log, xo;                    /* xo: the CPU has execute-only EPT pages */
	bool avoid;                      /* steer around the known findings (gf.avoided counts it) */
	u64 gpa[GF_NPAGES];              /* each arena page's guest-physical (= linear) address */
	/* views */
	bool view_live[HV_VIEW_MAX];
	u8 policy[HV_VIEW_MAX], parg[HV_VIEW_MAX];
	u8 remap[HV_VIEW_MAX][GF_NPAGES]; /* page index shown there */
	u32 cur;                         /* the vCPU's view */
	u64 ve_gpa;                      /* registered #VE information page, 0: none */
	/* monitors, per guest page: trap id + 1, region id + 1 */
	u8 mon_trap[GF_MAX_RAM / PAGE_SIZE], mon_rgn[GF_MAX_RAM / PAGE_SIZE];
	struct gf_trap trap[GF_TRAP_MAX];
	struct gf_region rgn[HV_REGION_MAX];
	/* data and code frames */
	u8 shadow[GF_NDF][PAGE_SIZE];    /* what each data frame holds, */
	u8 known[GF_NDF][PAGE_SIZE / 8]; /* where the fuzzer knows it (bit per byte) */
	u32 imm[GF_NPAGES];              /* the immediate of gfz_imm in each code frame */
	u8 rights[HV_VIEW_MAX][GF_NPAGES]; /* HV_ACCESS_* each view gives each arena page */
	/* counters */
	u64 ops, failures, mismatches;
	u64 hc_ok, hc_refused, caught, ve, db, bp, intn, user_ops, region_ops, vmfunc_ok, vmfunc_ud;
	u64 mem_ops, policy_moves, hits_checked, checkpoints, avoided;
	u64 by_kind[16];
	u32 hc_by_nr[HC_NR + 1][2];      /* per call (HC_NR: unknown): succeeded, refused */
	u64 actions[5];                  /* violation records read, by action (HV_POLICY_*, #VE, trap) */
	u64 first_fail_op, first_fail_kind;
	u64 op;                          /* the operation running, */
	int kind;                        /* and its kind */
	u64 n_db, n_bp, n_int;           /* #DB, #BP, INT 0x1f seen by the handlers */
	u64 exp_db, exp_bp, exp_int;     /* how many the operation must raise */
	bool want_db;                    /* else a #DB clears TF so that it stops */
	bool nest, repro;                /* an operation runs: handlers may make a hypercall (not in reproducers) */
	void (*db_once)(void);           /* a reproducer's action in the next #DB handler */
	u64 nested;                      /* hypercalls made from inside #DB, #BP, INT, #VE handlers */
};
extern struct gfuzz gf;

/* scen_gfuzz.c */
u64 gf_rand(void);
u64 gf_below(u64 n);
void gf_fail(const char *what, u64 x, u64 y);
int gf_page_of(u64 gpa);
int gf_class(int page);
int gf_frame(u32 view, int page);
bool gf_chain_has(u32 from, u32 view);
void gf_nested_hc(void);
s64 gf_do_hc(u64 nr, u64 a0, u64 a1, u64 a2, u64 a3);
void gf_do_code(enum sn n, int k, int cpl);
void gf_do_store(u64 addr);

#define GLOG(...)                                  \
	do {                                       \
		if (gf.log)                        \
			guest_printf(__VA_ARGS__); \
	} while (0)

/* gfuzz_code.c */
void gf_handlers_init(void);
void gf_learn_native(void);
struct outcome gf_run_call(u64 fn, int cpl);
bool gf_check(const char *what, struct want w, struct outcome o);
struct want gf_no_fault(u64 ret);
struct want gf_fault(int vec, u64 err);
int gf_region_of(int page);
struct site gf_pick_site(bool user);
u64 gf_site_addr(struct site s, enum sn n);
struct outcome gf_run_at(struct site s, enum sn n);
void gf_run_code_at(enum sn n, struct site s);
void gf_op_code(void);
void gf_op_exc(void);
void gf_op_int(void);
void gf_op_tf(void);

/* gfuzz_rights.c */
extern struct hv_violation gf_ring[HV_VIOLATION_RING];
void gf_rights_view(u32 v);
void gf_rights_set(u32 v, u64 gpa, u64 size, u64 access);
void gf_rights_restored(u64 gpa);
void gf_records(u64 n);
void gf_drain(void);
void gf_denials_begin(void);
void gf_expect_access(u32 v, u64 addr, u64 len, u32 kind);
void gf_denials_check(bool ve);

/* gfuzz_repro.c */
void gf_repro(u64 n);

/* gfuzz_hc.c */
u64 gf_pick_nr(int cpl);
void gf_gen_args(u64 nr, u64 *a);
void gf_sanitize(u64 nr, u64 *a);
struct gf_expect gf_predict(u64 nr, const u64 *a, int cpl, int in_rgn);
bool gf_expect_ok(struct gf_expect e, s64 r);
void gf_apply(u64 nr, const u64 *a, s64 r, int cpl);
void gf_check_hits(void);
void gf_policy_for_new_view(u32 v);
#endif
