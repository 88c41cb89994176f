"""Tests of the exercises' grader (grade.py): the marker stripping and the KTAP case scoring."""
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import grade  # noqa: E402

SRC = """int f(int x)
{
\tint r = 0;
\t/* EXERCISE(07): compute r.
\t * two lines of hint */
\tr = x * 2;
\tr += 1;
\t/* END EXERCISE(07) */
\t/* EXERCISE(08): not this one */
\tr--;
\t/* END EXERCISE(08) */
\treturn r;
}"""


class Strip(unittest.TestCase):
    def test_block_replaced_by_stub_markers_kept(self):
        out, n = grade.strip_text(SRC, "07")
        self.assertEqual(n, 1)
        self.assertIn("\t * two lines of hint */\n\tEXERCISE_TODO(7);\n\t/* END EXERCISE(07) */", out)
        self.assertNotIn("x * 2", out)
        self.assertIn("r--;", out)  # another exercise's block stays

    def test_uses_become_stub_arguments(self):
        src = "\t/* EXERCISE(06): do it\n\t * [uses vm, v] */\n\tx(vm, v);\n\t/* END EXERCISE(06) */"
        out, n = grade.strip_text(src, "06")
        self.assertEqual(out.split("\n")[2], "\tEXERCISE_TODO(6, vm, v);")

    def test_stub_return_follows_the_diagnostic(self):
        src = "\t/* EXERCISE(02): enter\n\t * [uses c, x] [stub returns -1] */\n\tf(c, x);\n\t/* END EXERCISE(02) */"
        out, n = grade.strip_text(src, "02")
        self.assertEqual(out.split("\n")[2], "\tEXERCISE_TODO(2, c, x); return -1;")

    def test_every_exercise_has_a_block_and_a_handout(self):
        for ex, e in grade.EXERCISES.items():
            self.assertTrue(os.path.exists(os.path.join(grade.ROOT, e["handout"])), ex)
            self.assertTrue(e["cases"] and all(c.split(".")[0] in e["suites"] for c in e["cases"]), ex)
            blocks = 0
            for top in grade.MARKED_DIRS:
                for d, _, files in os.walk(os.path.join(grade.ROOT, top)):
                    for f in files:
                        if f.endswith((".c", ".h", ".S")):
                            with open(os.path.join(d, f)) as fh:
                                blocks += grade.strip_text(fh.read(), ex)[1]
            self.assertGreater(blocks, 0, ex)

    def test_every_handout_has_the_sections_and_the_grading_steps(self):
        want = ["Goal", "Background", "Code map", "Steps", "Questions", "Hands-on task (graded)"]
        for ex, e in grade.EXERCISES.items():
            with open(os.path.join(grade.ROOT, e["handout"])) as f:
                text = f.read()
            self.assertEqual([l[3:] for l in text.split("\n") if l.startswith("## ")], want, ex)
            background = text.split("## Background")[1].split("## Code map")[0]
            self.assertIn("SDM", background, ex)
            goal = text.split("## Goal")[1].split("## Background")[0]
            self.assertIn("**You will learn**", goal, ex)
            task = text.split("## Hands-on task (graded)")[1]
            self.assertGreaterEqual(task.count("<details><summary>Hint "), 2, ex)  # folded, progressive
            self.assertEqual(task.count("<details>"), task.count("</details>"), ex)
            for cmd in ("make grade EX=%s" % ex, "make exercise EX=%s" % ex,
                        "make -C exercises/%s grade EX=%s" % (ex, ex)):
                self.assertIn(cmd, text, ex)

    def test_unterminated_block_is_an_error(self):
        with self.assertRaises(SystemExit):
            grade.strip_text("/* EXERCISE(07): x */\ncode;\n", "07")

    def test_no_block(self):
        self.assertEqual(grade.strip_text(SRC, "09"), (SRC, 0))


class Cases(unittest.TestCase):
    def test_case_names_by_suite(self):
        text = "\n".join(["KTAP version 1", "1..2", "  KTAP version 1", "  # Subtest: s1", "  1..2",
                          "    # diag", "  ok 1 a", "  not ok 2 b", "not ok 1 s1", "  KTAP version 1",
                          "  # Subtest: s2", "  1..1", "  ok 1 c # SKIP no vmfunc", "ok 2 s2"])
        self.assertEqual(grade.case_results(text), {"s1.a": "ok", "s1.b": "not ok", "s2.c": "SKIP"})

    def test_entry_rule_shown_only_for_a_failed_scored_case(self):
        lines = ["  KTAP version 1", "  # Subtest: guest_boot", "  1..2",
                 "# vmcs_check: before VMLAUNCH: GUEST_RFLAGS 0x0: reserved bit 1 must be 1",
                 "# vmcs_check: SDM \"Checks on Guest RIP, RFLAGS, and SSP\" [guest.rflags_reserved]: RFLAGS: ...",
                 "  ok 1 entry_failures_reported",
                 "# vmcs_check: before VMLAUNCH: guest CS access rights 0x0: Type 0; must be 9, 11, 13 or 15",
                 "# vm: VM entry failed on guest state: exit reason 33 (INVALID_STATE), qualification 0x0",
                 "  not ok 2 hello", "not ok 1 guest_boot"]
        said = []
        grade.say_entry_check(lines, ["guest_boot.hello"], said.append)
        self.assertEqual(said, ["# vmcs_check: before VMLAUNCH: guest CS access rights 0x0: Type 0; must be 9, 11, "
                                "13 or 15"])
        said = []
        grade.say_entry_check(lines, [], said.append)  # the deliberate failures of a passing case: nothing
        self.assertEqual(said, [])


if __name__ == "__main__":
    unittest.main()


class Marker(unittest.TestCase):
    def test_student_tree_grades_its_own_exercise_without_ex(self):
        """make exercise writes .exercise; make grade there without EX= grades that exercise."""
        import tempfile
        seen = []
        saved = grade.grade
        grade.grade = lambda ex, tree, cpu=None, say=print: (seen.append((ex, tree)), (1, 1))[1]
        try:
            with tempfile.TemporaryDirectory() as d:
                with open(os.path.join(d, ".exercise"), "w") as f:
                    f.write("07\n")
                self.assertEqual(grade.main(["--tree", d]), 0)
                self.assertEqual(seen, [("07", os.path.abspath(d))])
                os.unlink(os.path.join(d, ".exercise"))
                with self.assertRaises(SystemExit):  # no marker and no EX=: name one
                    grade.main(["--tree", d])
        finally:
            grade.grade = saved
