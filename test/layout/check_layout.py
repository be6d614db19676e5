#!/usr/bin/env python3
"""Checks the module layout of cmake/KeplerModules.cmake on the tracked C/C++ files.

    test/layout/check_layout.py [--root DIR] [FILE...]

FILEs are relative to the root (default: this script's repository); without them, every file
that `git ls-files` lists. Prints one line per violation and exits 1 if there is any:

- `#include "<module>/…"` in <m>/ and test/<m>/ names <m> or a module that <m>'s row of the
  table reaches (directly or through the rows of what it lists); test/<m>/ may also include
  "test/…" helpers of test/<m>, test/<dep> for those modules, and test/support. test/support
  may include any module, and of the helpers only test/support. bench/, test/fuzz/ and
  test/integration/ may include anything. Files elsewhere belong to no module.
- third-party headers (THIRD_PARTY below) only where their row allows them;
- each module folder's CMakeLists.txt calls kepler_module(<folder> …) with DEPENDS from its row.
"""
import argparse
import pathlib
import re
import subprocess
import sys

TABLE = "cmake/KeplerModules.cmake"
SOURCE_SUFFIXES = {".c", ".cc", ".cpp", ".cxx", ".h", ".hh", ".hpp", ".hxx", ".inc", ".inl", ".ipp"}
# Folders whose files may include any module and any test or bench helper.
UNRESTRICTED = ("bench/", "test/fuzz/", "test/integration/")
# <header prefix>: (modules that may include it, with their test/<module>; other paths that may:
# a folder ending in "/" or one file).
THIRD_PARTY = {
    "caf/": ({"actors"}, ("test/support/caf_fixture.hpp",)),
    "bpf/": ({"bpf"}, ("bench/", "test/fuzz/")),  # libbpf
    "spdlog/": ({"actors"}, ()),
    "simdjson.h": ({"k8s", "sensors"}, ("bench/", "test/fuzz/")),
    "boost/": ({"http", "k8s", "sensors"}, ("test/support/", "bench/", "test/fuzz/")),
    "CLI/": ({"config"}, ("test/support/fake_kubelet.cpp",)),
    "yaml-cpp/": ({"config", "http", "k8s", "sensors"}, ()),
}
THIRD_PARTY_SOURCE = "third-party table in test/layout/check_layout.py"
INCLUDE = re.compile(r'^\s*#\s*include\s*([<"])([^>"]+)[>"]')
KEYWORDS = {"SOURCES", "DEPENDS", "PUBLIC_LIBS", "PRIVATE_LIBS"}


def line_of(text, offset):
    return text.count("\n", 0, offset) + 1


def blank_comments(text):
    """CMake comments become spaces, so offsets (and line numbers) stay as they were."""
    return re.sub(r"#[^\n]*", lambda m: " " * len(m.group()), text)


def read_table(root, problems):
    """Returns (modules, {module: direct deps}, {module: every module it may use})."""
    text = blank_comments((root / TABLE).read_text())
    listed = re.search(r"set\(\s*KEPLER_MODULES\b([^)]*)\)", text)
    if not listed:
        problems.append(f"{TABLE}:1: no set(KEPLER_MODULES …)")
        return [], {}, {}
    modules = listed.group(1).split()
    rows = {}
    for row in re.finditer(r"set\(\s*KEPLER_MODULE_DEPS_(\w+)\b([^)]*)\)", text):
        name, deps = row.group(1), [d.strip('"') for d in row.group(2).split()]
        rows[name] = [d for d in deps if d]
        for dep in rows[name]:
            if dep not in modules:
                problems.append(f"{TABLE}:{line_of(text, row.start())}: {name} lists {dep}, which is not a module")
    for module in modules:
        if module not in rows:
            problems.append(f"{TABLE}:{line_of(text, listed.start())}: {module} has no KEPLER_MODULE_DEPS_{module}")
    reach = {}
    for module in modules:
        seen, todo = set(), list(rows.get(module, []))
        while todo:
            dep = todo.pop()
            if dep not in seen:
                seen.add(dep)
                todo.extend(rows.get(dep, []))
        if module in seen:
            problems.append(f"{TABLE}:1: {module} depends on itself through its row")
        reach[module] = seen | {module}
    return modules, rows, reach


def unit_of(path, modules):
    """(label, modules it may include or None for any, test helper folders or None for any)."""
    parts = path.split("/")
    if path.startswith(UNRESTRICTED):
        return "/".join(parts[:2]) if parts[0] == "test" else parts[0], None, None
    if parts[0] in modules and len(parts) > 1:
        return parts[0], {parts[0]}, set()
    if parts[0] == "test" and len(parts) > 2:
        if parts[1] == "support":
            return "test/support", None, {"test/support"}
        if parts[1] in modules:
            return "test/" + parts[1], {parts[1]}, {"test/support"}
    return None, None, None


def allowed_third_party(header, path, module):
    for prefix, (owners, paths) in THIRD_PARTY.items():
        if header == prefix or (prefix.endswith("/") and header.startswith(prefix)):
            return module in owners or any(path == p or (p.endswith("/") and path.startswith(p)) for p in paths)
    return True  # not a header the table restricts


def check_source(root, path, modules, reach, problems):
    label, may_use, helpers = unit_of(path, modules)
    if label is None:
        problems.append(f"{path}:1: {path} is in no module of {TABLE}")
        return
    module = label.removeprefix("test/")
    if may_use is not None and module in reach:
        may_use = reach[module]
        if label.startswith("test/") and label != "test/support":
            helpers = helpers | {"test/" + m for m in may_use}
    text = (root / path).read_text(errors="replace")
    for number, line in enumerate(text.splitlines(), 1):
        match = INCLUDE.match(line)
        if not match:
            continue
        bracket, header = match.groups()
        first = header.split("/")[0]
        if bracket == "<":
            ok, written, source = allowed_third_party(header, path, module), f"<{header}>", THIRD_PARTY_SOURCE
        else:
            written, source = f'"{header}"', TABLE
            if ".." in header.split("/"):
                ok, source = False, "a relative path bypasses " + TABLE
            elif first in modules:
                ok = may_use is None or first in may_use
            elif first == "test":
                ok = helpers is None or "/".join(header.split("/")[:2]) in helpers
            elif first == "bench":
                ok = helpers is None
            else:
                ok = True  # a header of the same folder or a generated one (cpu_time.skel.h)
        if not ok:
            problems.append(f"{path}:{number}: {label} may not include {written} ({source})")


def check_module_cmake(root, module, rows, problems):
    path = f"{module}/CMakeLists.txt"
    if not (root / path).is_file():
        problems.append(f"{path}:1: missing: module {module} needs kepler_module({module} …) ({TABLE})")
        return
    text = blank_comments((root / path).read_text())
    call = re.search(r"\bkepler_module\s*\(", text)
    if not call:
        problems.append(f"{path}:1: {module} does not call kepler_module({module} …) ({TABLE})")
        return
    end = text.find(")", call.end())
    args = list(re.finditer(r"[^\s()]+", text[call.end():end if end >= 0 else len(text)]))
    name = args[0].group() if args else ""
    if name != module:
        problems.append(f"{path}:{line_of(text, call.start())}: kepler_module({name} …) in folder {module} ({TABLE})")
    section = None
    for arg in args[1:]:
        if arg.group() in KEYWORDS:
            section = arg.group()
        elif section == "DEPENDS" and arg.group() not in rows.get(module, []):
            number = line_of(text, call.end() + arg.start())
            problems.append(f"{path}:{number}: {module} may not depend on {arg.group()} ({TABLE})")


def tracked_files(root):
    try:
        listing = subprocess.run(["git", "ls-files", "-z"], cwd=root, check=True, capture_output=True, text=True)
    except (OSError, subprocess.CalledProcessError) as error:
        sys.exit(f"check_layout: cannot list the tracked files of {root} ({error}); pass the files to check")
    return [f for f in listing.stdout.split("\0") if f]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=pathlib.Path, default=pathlib.Path(__file__).resolve().parents[2])
    parser.add_argument("files", nargs="*", help="files to check, relative to the root (default: git ls-files)")
    options = parser.parse_args()
    root = options.root.resolve()

    problems = []
    modules, rows, reach = read_table(root, problems)
    for module in modules:
        check_module_cmake(root, module, rows, problems)
    for file in options.files or tracked_files(root):
        path = pathlib.Path(file)
        path = path.resolve().relative_to(root) if path.is_absolute() else path
        if path.suffix in SOURCE_SUFFIXES and (root / path).is_file():  # a deleted file is still tracked
            check_source(root, path.as_posix(), modules, reach, problems)
    for problem in problems:
        print(problem)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
