/* mutate.c: the fuzzing campaign: a corpus (16 zero bytes to start, and the entries of a corpus
 * module, each run once first as it is), and by turns a
 * deterministic stage (every value of each of the first 16 bytes of the newest entry) and
 * mutations of an entry (the newest half the time) in the manner of AFL's havoc stage (a stack of 1-16 of: bit flip, byte flip, interesting 8/16/32-bit
 * values, add or subtract 1..35, a random byte, delete, clone/insert and overwrite a block,
 * splice with another corpus entry), one execution each; an input that covers a new block joins
 * the corpus. Every random choice comes from the campaign's seed, so one seed gives the same
 * executions run after run. Crashes are unique by (vector, RIP). One campaign at a time. */
#include "fuzz.h"
#include "../kernel/x86.h"

static u8 corpus[FUZZ_CORPUS_MAX][FUZZ_LEN_MAX];
static u8 corpus_len[FUZZ_CORPUS_MAX];
static u64 ncorpus, rng;
static u64 walk_entry, walk_pos, walk_val; /* the deterministic stage's place */
#define WALK_BYTES 16

static u64 below(u64 n) { return n ? fuzz_rand(&rng) % n : 0; }

static const s32 interesting[] = {-128, -1, 0, 1, 16, 32, 64, 100, 127, 128, 255, 256, 512, 1000, 1024, 4096,
				  32767, -32768, 65535, 0x7fffffff, -0x7fffffff - 1};

static void put(u8 *b, u64 pos, u64 v, int size)
{
	for (int i = 0; i < size; i++)
		b[pos + i] = v >> (8 * i);
}

/* One havoc step on b[0..*len). */
static void havoc_one(u8 *b, u64 *len)
{
	u64 n = *len, pos = below(n), k, from;
	switch (below(11)) {
	case 0: b[pos] ^= 1 << below(8); break;
	case 1: b[pos] ^= 0xff; break;
	case 2: b[pos] = interesting[below(ARRAY_SIZE(interesting))]; break;
	case 3:
		if (n >= 2)
			put(b, below(n - 1), interesting[below(ARRAY_SIZE(interesting))], 2);
		break;
	case 4:
		if (n >= 4)
			put(b, below(n - 3), interesting[below(ARRAY_SIZE(interesting))], 4);
		break;
	case 5: b[pos] += 1 + below(35); break;
	case 6: b[pos] -= 1 + below(35); break;
	case 7: b[pos] = below(256); break;
	case 8: /* delete a block */
		if (n < 2)
			break;
		k = 1 + below(n - 1);
		pos = below(n - k + 1);
		memmove(b + pos, b + pos + k, n - pos - k);
		*len = n - k;
		break;
	case 9: /* clone a block, or insert constant bytes, at pos */
		k = 1 + below(n < FUZZ_LEN_MAX ? FUZZ_LEN_MAX - n : 1);
		if (n + k > FUZZ_LEN_MAX || k > n)
			break;
		from = below(n - k + 1);
		memmove(b + pos + k, b + pos, n - pos);
		if (below(4))
			memmove(b + pos, b + from + (from >= pos ? k : 0), k);
		else
			memset(b + pos, below(2) ? below(256) : b[below(n)], k);
		*len = n + k;
		break;
	default: /* overwrite a block with another part of the input */
		k = 1 + below(n);
		from = below(n - k + 1), pos = below(n - k + 1);
		memmove(b + pos, b + from, k);
		break;
	}
}

/* A new input from corpus entry i: maybe spliced with another, then 1..16 havoc steps. */
static u64 mutate(u8 *b, u64 i)
{
	u64 len = corpus_len[i];
	memcpy(b, corpus[i], len);
	if (ncorpus > 1 && !below(8)) {
		u64 j = below(ncorpus), cut = below(len + 1);
		u64 rest = corpus_len[j] > cut ? corpus_len[j] - cut : 0;
		memcpy(b + cut, corpus[j] + cut, rest);
		len = cut + rest > 0 ? cut + rest : 1;
	}
	for (u64 s = 1 << below(5); s > 0; s--)
		havoc_one(b, &len);
	return len ? len : 1;
}

/* The deterministic stage: every value of each of the first WALK_BYTES bytes of the newest
 * corpus entry (one byte at a time: a magic checked byte by byte falls in 256 tries a byte),
 * then of the entries after it. false when there is nothing left to walk. */
static bool walk(u8 *b, u64 *len)
{
	while (walk_entry < ncorpus && walk_pos >= corpus_len[walk_entry])
		walk_entry++, walk_pos = 0, walk_val = 0;
	if (walk_entry >= ncorpus)
		return false;
	*len = corpus_len[walk_entry];
	memcpy(b, corpus[walk_entry], *len);
	b[walk_pos] = walk_val;
	if (++walk_val == 256) {
		walk_val = 0;
		if (++walk_pos == WALK_BYTES)
			walk_pos = FUZZ_LEN_MAX; /* done with this entry */
	}
	return true;
}

static void add(const u8 *b, u64 len)
{
	if (ncorpus == FUZZ_CORPUS_MAX)
		return;
	memcpy(corpus[ncorpus], b, len);
	corpus_len[ncorpus++] = len;
	walk_entry = ncorpus - 1, walk_pos = walk_val = 0; /* walk the newest entry next */
}

static void print_input(const u8 *b, u64 len)
{
	for (u64 i = 0; i < len; i++)
		printf("%02x", b[i]);
}

/* A crash: counted under (vector, RIP); a new one is printed with its input when asked. */
static void note_crash(struct vm *vm, struct fuzz_campaign *c, const struct fuzz_result *r, const u8 *b, u64 len)
{
	c->crashes++;
	if (!c->first_crash_exec)
		c->first_crash_exec = c->execs;
	for (u64 i = 0; i < c->unique; i++)
		if (c->crash[i].vector == r->vector && c->crash[i].rip == r->rip) {
			c->crash[i].count++;
			return;
		}
	if (c->unique < FUZZ_CRASHES_MAX)
		c->crash[c->unique++] = (struct fuzz_crash){r->vector, r->rip, 1, c->execs};
	if (!c->report)
		return;
	static const char *const names[18] = {"rax", "rcx", "rdx", "rbx", "rsp", "rbp", "rsi", "rdi", "r8", "r9",
					      "r10", "r11", "r12", "r13", "r14", "r15", "rip", "rflags"};
	printf("# fuzz-crash: vector=%u kind=%s rip=0x%lx info=0x%lx exec=%lu", r->vector, fuzz_kind_name(r->vector),
	       r->rip, r->status, c->execs);
	for (int i = 0; i < 18; i++)
		printf(" %s=0x%lx", names[i], vm->fuzz->crash_regs[i]);
	printf(" input=");
	print_input(b, len);
	printf("\n");
}

static void status(struct vm *vm, struct fuzz_campaign *c, const char *what)
{
	u64 ms = c->tsc / (tsc_hz() / 1000 ? tsc_hz() / 1000 : 1);
	printf("# fuzz-%s: execs=%lu exec/s=%lu corpus=%lu cov=%lu/%lu crashes=%lu unique=%lu timeouts=%lu "
	       "dirty/exec=%lu.%02lu exits/exec=%lu.%02lu\n", what, c->execs, ms ? c->execs * 1000 / ms : 0, ncorpus,
	       cover_count(vm), cover_total(vm), c->crashes, c->unique, c->timeouts, c->dirty / (c->execs ? c->execs : 1),
	       c->dirty * 100 / (c->execs ? c->execs : 1) % 100, c->exits / (c->execs ? c->execs : 1),
	       c->exits * 100 / (c->execs ? c->execs : 1) % 100);
}

/* One execution of b: counted, traced, kept when it covers something new (or always, keep).
 * false when the guest stopped for good. */
static bool execute(struct vm *vm, struct fuzz_campaign *c, const u8 *b, u64 len, bool keep)
{
	struct fuzz_result r = fuzz_one(vm, b, len);
	c->execs++;
	c->exits += r.exits, c->dirty += r.dirty;
	for (u64 i = 0; i < len; i++)
		c->trace = (c->trace ^ b[i]) * 0x100000001b3UL;
	c->trace = (c->trace ^ (r.outcome | (u64)r.vector << 8 | r.status << 20 | r.new_cov << 52)) * 0x100000001b3UL;
	if (r.new_cov || keep)
		add(b, len);
	if (r.outcome == FUZZ_CRASH)
		note_crash(vm, c, &r, b, len);
	c->timeouts += r.outcome == FUZZ_TIMEOUT;
	if (r.outcome == FUZZ_ERROR)
		printf("# fuzz: the guest stopped by %s: no more iterations\n", vm_stop_str(vm->stop));
	return r.outcome != FUZZ_ERROR;
}

/* The corpus module (tests/host/fuzz.py packs a folder): the magic "HVCORP01", u64 count, then
 * each entry as a u32 length and its bytes. Each non-empty entry runs once as it is and joins
 * the corpus (its first FUZZ_LEN_MAX bytes), as AFL runs its starting inputs first. Returns the
 * entries run, or -1 (nothing run) when the module is malformed. */
static s64 seed_corpus(struct vm *vm, struct fuzz_campaign *c)
{
	const u8 *m = c->seeds;
	u64 size = c->seeds_size, pos = 16, n, run = 0;
	if (size < 16 || memcmp(m, "HVCORP01", 8))
		return -1;
	memcpy(&n, m + 8, 8);
	for (u64 i = 0; i < n; i++) { /* the whole module is checked before anything runs */
		u32 len;
		if (pos + 4 > size || (memcpy(&len, m + pos, 4), len > size - pos - 4))
			return -1;
		pos += 4 + len;
	}
	if (pos != size)
		return -1;
	printf("# fuzz: corpus module: %lu entries, run first\n", n);
	pos = 16;
	for (u64 i = 0; i < n; i++) {
		u32 len;
		memcpy(&len, m + pos, 4);
		u8 b[FUZZ_LEN_MAX];
		u64 k = len < FUZZ_LEN_MAX ? len : FUZZ_LEN_MAX;
		memcpy(b, m + pos + 4, k);
		pos += 4 + len;
		if (!k || ncorpus == FUZZ_CORPUS_MAX || (c->max_execs && c->execs >= c->max_execs))
			continue;
		run++;
		if (!execute(vm, c, b, k, true))
			break;
	}
	return run;
}

/* Run until max_execs or max_tsc. The VM is at its snapshot (fuzz_start) with its seed. */
void fuzz_campaign_run(struct vm *vm, struct fuzz_campaign *c)
{
	u8 b[FUZZ_LEN_MAX];
	u64 t0 = rdtsc(), next = c->status_tsc;
	bool going = true;
	rng = vm->fuzz->seed ^ 0x6876666666757a7aUL;
	ncorpus = 0;
	walk_entry = walk_pos = walk_val = 0;
	memset(b, 0, 16);
	add(b, 16);
	if (c->seeds) {
		s64 n = seed_corpus(vm, c);
		if (n < 0)
			printf("# fuzz: the corpus module is malformed (not what tests/host/fuzz.py packs): not used\n");
		c->seeded = n < 0 ? 0 : n;
		going = !c->execs || vm->fuzz->cur.outcome != FUZZ_ERROR; /* the last one run did not stop it */
		c->tsc = rdtsc() - t0;
	}
	while (going && (!c->max_execs || c->execs < c->max_execs) && (!c->max_tsc || c->tsc < c->max_tsc)) {
		u64 len;
		if ((c->execs & 1) || !walk(b, &len)) /* every other execution havoc */
			len = mutate(b, below(2) ? ncorpus - 1 : below(ncorpus)); /* the newest entry half the time */
		going = execute(vm, c, b, len, false) && !(c->stop_at_crash && c->crashes);
		c->tsc = rdtsc() - t0;
		if (c->status_tsc && c->tsc >= next) {
			status(vm, c, "status");
			next += c->status_tsc;
		}
	}
	c->corpus = ncorpus;
	status(vm, c, "summary");
}
