"""Each check of test/layout fails on a violation and passes on a clean tree (synthetic trees)."""
import pathlib
import shutil
import subprocess
import sys
import tempfile
import unittest

HERE = pathlib.Path(__file__).resolve().parent
REPO = HERE.parents[1]

# A tiny table: actors uses k8s and, through it, base.
CLEAN_TREE = {
    "cmake/KeplerModules.cmake": """
set(KEPLER_MODULES base k8s actors)
set(KEPLER_MODULE_DEPS_base "")
set(KEPLER_MODULE_DEPS_k8s base)  # a comment
set(KEPLER_MODULE_DEPS_actors k8s)
""",
    "base/CMakeLists.txt": "kepler_module(base)\n",
    "base/text.hpp": "#pragma once\n#include <string>\n",
    "k8s/CMakeLists.txt": "kepler_module(k8s\n  SOURCES pods.cpp\n  DEPENDS base\n  PRIVATE_LIBS simdjson::simdjson)\n",
    "k8s/pods.hpp": '#pragma once\n#include "base/text.hpp"\n',
    "k8s/pods.cpp": '#include "k8s/pods.hpp"\n\n#include <boost/asio.hpp>\n#include <simdjson.h>\n',
    "actors/CMakeLists.txt": "kepler_module(actors SOURCES main.cpp DEPENDS k8s PUBLIC_LIBS CAF::core)\n",
    "actors/main.cpp": '#include <caf/all.hpp>\n\n#include "base/text.hpp"\n#include "k8s/pods.hpp"\n',
    "test/support/temp_dir.hpp": "#pragma once\n",
    "test/support/caf_fixture.hpp": '#include <caf/all.hpp>\n#include "actors/main.hpp"\n',
    "test/base/text_helper.hpp": '#include "base/text.hpp"\n',
    "test/k8s/pods_test.cpp": '#include "k8s/pods.hpp"\n#include "test/base/text_helper.hpp"\n'
                              '#include "test/support/temp_dir.hpp"\n#include <simdjson.h>\n',
    "bench/pods_bench.cpp": '#include "actors/main.hpp"\n#include "test/k8s/helper.hpp"\n#include <bpf/libbpf.h>\n',
}


def write_tree(root, files):
    for path, text in files.items():
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_text(text)


class LayoutCheckTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.root = pathlib.Path(self.tmp.name)
        write_tree(self.root, CLEAN_TREE)
        self.files = [p for p in CLEAN_TREE if not p.endswith((".cmake", ".txt"))]

    def tearDown(self):
        self.tmp.cleanup()

    def check(self, *files):
        result = subprocess.run([sys.executable, str(HERE / "check_layout.py"), "--root", str(self.root),
                                 *(files or self.files)], capture_output=True, text=True)
        return result.returncode, result.stdout + result.stderr

    def assert_violation(self, expected):
        code, output = self.check()
        self.assertEqual(code, 1, output)
        self.assertIn(expected, output)
        self.assertEqual(len(output.splitlines()), 1, output)

    def test_clean_tree_passes(self):
        self.assertEqual(self.check(), (0, ""))

    def test_module_that_its_row_does_not_reach(self):
        write_tree(self.root, {"k8s/pods.hpp": '#pragma once\n#include "base/text.hpp"\n#include "actors/main.hpp"\n'})
        self.assert_violation('k8s/pods.hpp:3: k8s may not include "actors/main.hpp" (cmake/KeplerModules.cmake)')

    def test_tests_follow_their_module_and_its_helpers(self):
        write_tree(self.root, {"test/base/text_helper.hpp": '#include "base/text.hpp"\n#include "test/k8s/x.hpp"\n'})
        self.assert_violation('test/base/text_helper.hpp:2: test/base may not include "test/k8s/x.hpp"')

    def test_module_code_includes_no_test_helper(self):
        write_tree(self.root, {"base/text.hpp": '#pragma once\n#include "test/support/temp_dir.hpp"\n'})
        self.assert_violation('base/text.hpp:2: base may not include "test/support/temp_dir.hpp"')

    def test_relative_include_out_of_the_folder(self):
        write_tree(self.root, {"base/text.hpp": '#pragma once\n#include "../k8s/pods.hpp"\n'})
        self.assert_violation('base/text.hpp:2: base may not include "../k8s/pods.hpp"')

    def test_caf_outside_actors(self):
        write_tree(self.root, {"k8s/pods.cpp": '#include "k8s/pods.hpp"\n\n#include <caf/all.hpp>\n'})
        self.assert_violation("k8s/pods.cpp:3: k8s may not include <caf/all.hpp> (third-party table in")

    def test_third_party_in_a_test_of_another_module(self):
        write_tree(self.root, {"test/base/text_helper.hpp": "#include <yaml-cpp/yaml.h>\n"})
        self.assert_violation("test/base/text_helper.hpp:1: test/base may not include <yaml-cpp/yaml.h>")

    def test_file_outside_every_module(self):
        write_tree(self.root, {"tools/x.cpp": "int main() {}\n"})
        self.files.append("tools/x.cpp")
        self.assert_violation("tools/x.cpp:1: tools/x.cpp is in no module")

    def test_depends_beyond_the_row(self):
        write_tree(self.root, {"k8s/CMakeLists.txt": "kepler_module(k8s\n  SOURCES pods.cpp\n  DEPENDS base actors)\n"})
        self.assert_violation("k8s/CMakeLists.txt:3: k8s may not depend on actors (cmake/KeplerModules.cmake)")

    def test_module_folder_must_call_kepler_module_with_its_name(self):
        write_tree(self.root, {"base/CMakeLists.txt": "kepler_module(text)\n"})
        self.assert_violation("base/CMakeLists.txt:1: kepler_module(text …) in folder base")

    def test_only_the_given_files_are_read(self):
        write_tree(self.root, {"base/text.hpp": '#include "actors/main.hpp"\n'})
        self.assertEqual(self.check("k8s/pods.cpp"), (0, ""))
        self.assertEqual(self.check("base/text.hpp")[0], 1)

    @unittest.skipIf(shutil.which("git") is None, "git is not installed")
    def test_tracked_files_by_default(self):
        write_tree(self.root, {"base/text.hpp": '#include "actors/main.hpp"\n', "k8s/untracked.cpp": "#include <caf/all.hpp>\n"})
        subprocess.run(["git", "init", "-q"], cwd=self.root, check=True)
        subprocess.run(["git", "add", *CLEAN_TREE], cwd=self.root, check=True)
        result = subprocess.run([sys.executable, str(HERE / "check_layout.py"), "--root", str(self.root)],
                                capture_output=True, text=True)
        self.assertEqual(result.returncode, 1)
        self.assertEqual(result.stdout, 'base/text.hpp:1: base may not include "actors/main.hpp" (cmake/KeplerModules.cmake)\n')


@unittest.skipIf(shutil.which("clang-format") is None,
                 "clang-format is not installed (deploy/install-build-deps.sh test installs it): format check not tested")
class FormatCheckTest(unittest.TestCase):
    BADLY_FORMATTED = "namespace kepler{\nint   *answer( ){return 42 ;}\n}\n"

    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.root = pathlib.Path(self.tmp.name)
        shutil.copy(REPO / ".clang-format", self.root / ".clang-format")
        write_tree(self.root, {"base/answer.hpp": self.BADLY_FORMATTED})

    def tearDown(self):
        self.tmp.cleanup()

    def check(self, *files):
        result = subprocess.run(["bash", str(HERE / "check_format.sh"), "--root", str(self.root), *files],
                                capture_output=True, text=True)
        return result.returncode, result.stdout + result.stderr

    def format_in_place(self, path):
        subprocess.run(["clang-format", "-i", f"--style=file:{self.root / '.clang-format'}", str(self.root / path)],
                       check=True)

    def test_badly_formatted_file_fails_with_the_fix(self):
        code, output = self.check("base/answer.hpp")
        self.assertEqual(code, 1, output)
        self.assertIn("  base/answer.hpp\n", output)
        self.assertIn("clang-format -i base/answer.hpp", output)

    def test_formatted_file_passes(self):
        self.format_in_place("base/answer.hpp")
        self.assertIn("}  // namespace kepler", (self.root / "base/answer.hpp").read_text())
        self.assertEqual(self.check("base/answer.hpp"), (0, ""))

    @unittest.skipIf(shutil.which("git") is None, "git is not installed")
    def test_tracked_files_except_ebpf_and_vmlinux(self):
        write_tree(self.root, {"bpf/probe.bpf.c": self.BADLY_FORMATTED,
                               "bpf/vmlinux/x86/vmlinux.h": self.BADLY_FORMATTED,
                               "k8s/untracked.cpp": self.BADLY_FORMATTED})
        subprocess.run(["git", "init", "-q"], cwd=self.root, check=True)
        subprocess.run(["git", "add", "base", "bpf"], cwd=self.root, check=True)
        code, output = self.check()
        self.assertEqual(code, 1, output)
        self.assertIn("check_format: 1 file(s) differ", output)
        self.format_in_place("base/answer.hpp")
        self.assertEqual(self.check(), (0, ""))

    def test_unknown_option_in_the_config_fails(self):
        with open(self.root / ".clang-format", "a") as config:
            config.write("NoSuchOption: true\n")
        code, output = self.check("base/answer.hpp")
        self.assertEqual(code, 1)
        self.assertIn("NoSuchOption", output)


if __name__ == "__main__":
    unittest.main()
