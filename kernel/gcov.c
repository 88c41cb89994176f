/* gcov.c: the hypervisor's coverage runtime, in the COVERAGE=1 build only (docs/testing.md,
 * "Coverage of the hypervisor"). gcc's constructors register each object (__gcov_init); kmain
 * runs them first (cov_start). The counters leave on LPT1, never on the KTAP console (COM1): at
 * each suite's end the objects whose counters changed since the last dump, and at machine exit,
 * where the panic and exception paths end too, a final dump. The guest's objects are copies
 * that vmm/gcov_guest.c keeps. Not instrumented itself; nothing here resets a counter. */
#include "defs.h"
#include "x86.h"
#include "gcov.h"

#define GCOV_MAX_OBJECTS 256
/* The parallel port (IEEE 1284 compatibility mode): a byte goes out when the strobe bit of the
 * control register rises while INIT (active low) and SELECT are set; Bochs (parport1: file=)
 * and QEMU (-parallel file:) write it to their file at once, where COM2 would pace it at the
 * emulated 115200 baud (about 15 KB/s of real time under Bochs, against 70 KB/s here). */
#define LPT1 0x378
#define LPT_DATA (LPT1 + 0)
#define LPT_CTRL (LPT1 + 2)
#define LPT_STROBE 0x01
#define LPT_INIT 0x04
#define LPT_SELECT 0x08

static struct cov_object {
	struct gcov_info *info;
	u64 sum;     /* of its counters at its last dump: counters only grow, so a change shows */
	bool dumped;
	bool guest;
} objs[GCOV_MAX_OBJECTS];
static u32 nobjs, unregistered; /* objects past the table: every dump says how many */
static u32 guest_runs, guest_dropped;

static int add_object(struct gcov_info *info, bool guest)
{
	if (nobjs == GCOV_MAX_OBJECTS) {
		unregistered++;
		return -1;
	}
	objs[nobjs++] = (struct cov_object){.info = info, .guest = guest};
	return 0;
}

void __gcov_init(struct gcov_info *info) { add_object(info, false); }

/* Called by the destructors, which the kernel never runs. */
void __gcov_exit(void) {}

/* Only its address is used (merge[] says which counter kinds exist): the host merges. */
void __gcov_merge_add(s64 *counters, u32 n)
{
	(void)counters;
	(void)n;
}

int cov_register_guest(struct gcov_info *info) { return add_object(info, true); }

void cov_guest_counted(bool added)
{
	if (added)
		guest_runs++;
	else
		guest_dropped++;
}

/* The constructors of every instrumented object (.init_array, kept by the coverage build's
 * linker script): each calls __gcov_init with its object's gcov_info. */
extern void (*const __init_array_start[])(void), (*const __init_array_end[])(void);

void cov_start(void)
{
	for (void (*const *f)(void) = __init_array_start; f < __init_array_end; f++)
		(*f)();
}

static void lpt_put(struct gcov_sink *s, const void *p, u64 n)
{
	const u8 *b = p;
	(void)s;
	while (n--) {
		outb(LPT_DATA, *b++);
		outb(LPT_CTRL, LPT_INIT | LPT_SELECT | LPT_STROBE);
		outb(LPT_CTRL, LPT_INIT | LPT_SELECT);
	}
}

/* One dump (gcov.h): BEGIN, the objects whose counters changed (all of them the first time),
 * END with their number. A fault while dumping ends the machine through machine_exit, which
 * does not dump again: the host then finds the dump cut short and says so. */
static void dump(const char *why, bool final)
{
	static bool dumping;
	static u32 seq;
	struct gcov_sink s = {.put = lpt_put};
	if (dumping)
		return;
	dumping = true;
	if (seq == 0)
		outb(LPT_CTRL, LPT_INIT | LPT_SELECT);
	u32 head[6] = {seq, final, nobjs, unregistered, guest_runs, guest_dropped}, n = 0;
	gcov_frame(&s, GCOV_FRAME_BEGIN, why, NULL, head, sizeof(head));
	for (u32 i = 0; i < nobjs; i++) {
		struct cov_object *o = &objs[i];
		u64 sum = gcov_info_sum(o->info);
		if (o->dumped && sum == o->sum)
			continue;
		gcov_frame(&s, o->guest ? GCOV_FRAME_GUEST : GCOV_FRAME_OBJECT, o->info->filename, o->info, NULL, 0);
		o->sum = sum;
		o->dumped = true;
		n++;
	}
	u32 tail[2] = {seq++, n};
	gcov_frame(&s, GCOV_FRAME_END, why, NULL, tail, sizeof(tail));
	dumping = false;
}

void cov_checkpoint(const char *suite)
{
	char why[80];
	snprintf(why, sizeof(why), "suite %s", suite);
	dump(why, false);
}

void cov_final(u8 status)
{
	char why[32];
	snprintf(why, sizeof(why), "exit 0x%x", status);
	dump(why, true);
}

/* For the selftest_gcov suite: the object whose .gcda path ends with suffix, or NULL. */
const struct gcov_info *cov_find(const char *suffix, bool guest)
{
	size_t n = strlen(suffix);
	for (u32 i = 0; i < nobjs; i++) {
		const char *f = objs[i].info->filename;
		size_t len = strlen(f);
		if (objs[i].guest == guest && len >= n && !strcmp(f + len - n, suffix))
			return objs[i].info;
	}
	return NULL;
}
