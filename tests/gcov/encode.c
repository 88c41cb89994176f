/* encode.c: the host's test of the coverage encoder (kernel/gcov_data.c). subject.c is compiled
 * with --coverage and linked with libgcov; its constructor's call to __gcov_init is wrapped
 * (ld --wrap) so we get its struct gcov_info too. After running the subject, this writes
 * OUT/hvlab.gcda with hvlab's encoder and OUT/stream.bin, a whole dump as kernel/gcov.c sends it;
 * libgcov then writes the real .gcda at exit, and the Makefile (gcov-unit) compares the two
 * files byte for byte. tests/host/test_gcov.py reads stream.bin. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "../../kernel/gcov.h"

void __real___gcov_init(struct gcov_info *info);
void subject_run(void);

static struct gcov_info *subject;

void __wrap___gcov_init(struct gcov_info *info)
{
	subject = info;
	__real___gcov_init(info);
}

static FILE *out;
static void file_put(struct gcov_sink *s, const void *p, u64 n)
{
	(void)s;
	fwrite(p, 1, n, out);
}

static FILE *open_out(const char *dir, const char *name)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	FILE *f = fopen(path, "wb");
	if (!f) {
		perror(path);
		exit(1);
	}
	return f;
}

int main(int argc, char **argv)
{
	if (argc != 2 || !subject) {
		fprintf(stderr, "usage: encode OUTDIR (and subject.c compiled with --coverage)\n");
		return 2;
	}
	subject_run();
	struct gcov_sink s = {.put = file_put};
	out = open_out(argv[1], "hvlab.gcda");
	gcov_gcda_write(&s, subject);
	fclose(out);
	u32 head[6] = {0, 1, 1, 0, 0, 0}, tail[2] = {0, 1};
	out = open_out(argv[1], "stream.bin");
	gcov_frame(&s, GCOV_FRAME_BEGIN, "exit 0x10", NULL, head, sizeof(head));
	gcov_frame(&s, GCOV_FRAME_OBJECT, subject->filename, subject, NULL, 0);
	gcov_frame(&s, GCOV_FRAME_END, "exit 0x10", NULL, tail, sizeof(tail));
	fclose(out);
	printf("%s\n", subject->filename);
	return 0;
}
