/* fuzz.h: snapshot fuzzing inside the hypervisor (docs/fuzzing.md). snapshot.c saves and
 * restores the guest (registers, VMCS guest state, MSRs, XCR0 and extended state, view, RAM);
 * dirty.c finds the pages an iteration wrote (EPT write protection, EPT dirty flags, or
 * page-modification logging); fuzz.c runs iterations, answers RDRAND/RDTSC deterministically,
 * classifies crashes, mutates inputs and keeps the corpus. One vCPU, one fuzzed VM at a time. */
#ifndef HVLAB_FUZZ_H
#define HVLAB_FUZZ_H
#include "vmm.h"

enum fuzz_dirty { FUZZ_DIRTY_WP, FUZZ_DIRTY_AD, FUZZ_DIRTY_PML, FUZZ_DIRTY_N };
enum fuzz_outcome { FUZZ_OK, FUZZ_CRASH, FUZZ_TIMEOUT, FUZZ_ERROR };
enum fuzz_event { FEV_NONE, FEV_SNAPSHOT, FEV_END, FEV_CRASH };

struct fuzz_result {
	u32 outcome;      /* enum fuzz_outcome */
	u32 vector;       /* the exception vector of a crash, or a FUZZ_KIND_* (>= 256) */
	u64 rip, status;  /* where it crashed; HC_FUZZ_END's status or HC_FUZZ_PANIC's code */
	u64 dirty, exits; /* pages restored, VM exits of this iteration */
	u64 new_cov;      /* coverage points first hit by this input */
};
#define FUZZ_KIND_TRIPLE 256  /* a triple fault */
#define FUZZ_KIND_OUTSIDE 257 /* an access outside guest RAM */
#define FUZZ_KIND_PANIC 258   /* the target's HC_FUZZ_PANIC */
#define FUZZ_KIND_EXIT 259    /* HC_EXIT or HLT inside the target */

struct fuzz_snap {
	u8 *ram;            /* a copy of all guest RAM */
	u64 regs[16];
	u64 *fields;        /* the VMCS guest-state fields of snapshot.c's table */
	u64 msrs[8];
	u64 xcr0;
	u8 *xsave;          /* XSAVE (or FXSAVE) area */
	u32 view;
};

struct fuzz_cov;
struct fuzz_edges;
struct fuzz {
	u32 method;         /* enum fuzz_dirty */
	u64 seed, limit_tsc;
	bool snapped, running;
	u32 event;          /* enum fuzz_event: why the last vm_run stopped with VM_STOP_FUZZ */
	u64 buf, buf_max;   /* the target's input buffer (guest-physical), its size */
	struct fuzz_snap snap;
	u8 *mark;           /* per frame: dirty in this iteration */
	u32 *list;          /* the dirty frames, nlist of them */
	u64 nlist;
	u32 last[64];       /* the last iteration's first 64 dirty frames (tests), nlast of them */
	u64 nlast;
	u64 *pml;           /* the page-modification log (one page), or NULL */
	u64 rand, vtsc;     /* RDRAND's generator and RDTSC's clock, reset per iteration */
	struct fuzz_result cur;
	u64 crash_regs[18];   /* the last crash's GPRs (x86 order, RSP from the VMCS), RIP, RFLAGS */
	struct fuzz_cov *cov; /* coverage breakpoints (cover.c), or NULL */
	struct fuzz_edges *edges; /* the edge map (edges.c), or NULL */
	/* totals */
	u64 execs, crashes, timeouts, dirty_total, exits_total, restore_tsc, wp_faults, pml_full;
};

/* fuzz.c */
const char *fuzz_dirty_name(u32 m);
int fuzz_dirty_parse(const char *s);
const char *fuzz_attach(struct vm *vm, u32 method, u64 seed, u64 limit_tsc);
void fuzz_detach(struct vm *vm);
const char *fuzz_start(struct vm *vm);
struct fuzz_result fuzz_one(struct vm *vm, const u8 *in, u64 n);
const char *fuzz_kind_name(u32 vector);
u64 fuzz_rand(u64 *state);

/* cover.c */
const char *cover_attach(struct vm *vm);
void cover_detach(struct vm *vm);
void cover_plant(struct vm *vm);
const char *cover_hiding(struct vm *vm);
void cover_set_hiding(struct vm *vm, bool on);
bool cover_hit(struct vm *vm);
u64 cover_count(struct vm *vm);
u64 cover_total(struct vm *vm);
const u64 *cover_blocks(u64 *count);

/* edges.c: coverage=edges, the targets' code as an emulated region with an edge map */
const char *edges_attach(struct vm *vm);
const char *edges_start(struct vm *vm);
void edges_detach(struct vm *vm);
void edges_begin(struct vm *vm);
u64 edges_collect(struct vm *vm);
u64 edges_count(struct vm *vm);

/* mutate.c: the campaign: a corpus, AFL-havoc mutations, new coverage grows the corpus */
#define FUZZ_CORPUS_MAX 256
#define FUZZ_LEN_MAX 64 /* mutated inputs stay this short (bytes) */
#define FUZZ_CRASHES_MAX 32
struct fuzz_crash {
	u32 vector;
	u64 rip, count, first_exec;
};
struct fuzz_campaign {
	u64 max_execs, max_tsc;   /* stop after this many executions / TSC cycles (0: no bound) */
	u64 status_tsc;           /* a status line this often (0: none) */
	bool report;              /* print each new crash with its input (the host runner saves it) */
	bool stop_at_crash;       /* end at the first crash (libFuzzer's default; tests) */
	const u8 *seeds;          /* a corpus module (mutate.c: seed_corpus), or NULL */
	u64 seeds_size;
	/* results */
	u64 execs, corpus, crashes, unique, timeouts, tsc, first_crash_exec, exits, dirty, seeded;
	u64 trace;                /* a hash of every input and its outcome, in order */
	struct fuzz_crash crash[FUZZ_CRASHES_MAX];
};
void fuzz_campaign_run(struct vm *vm, struct fuzz_campaign *c);

/* snapshot.c */
int snap_alloc(struct vm *vm, struct fuzz_snap *s);
void snap_free(struct vm *vm, struct fuzz_snap *s);
void snap_take(struct vm *vm, struct fuzz_snap *s);
void snap_restore_state(struct vm *vm, const struct fuzz_snap *s);
void snap_restore_page(struct vm *vm, const struct fuzz_snap *s, u64 frame);
u64 snap_hash_now(struct vm *vm);
u64 snap_hash_saved(struct vm *vm, const struct fuzz_snap *s);

/* dirty.c */
const char *dirty_unsupported(u32 method);
int dirty_start(struct vm *vm);
void dirty_stop(struct vm *vm);
void dirty_mark(struct vm *vm, u64 frame);
void dirty_harvest(struct vm *vm);
int dirty_rearm(struct vm *vm);
int dirty_rearm_initial(struct vm *vm);
void dirty_pml_full(struct vm *vm);
#endif
