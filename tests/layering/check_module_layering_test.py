#!/usr/bin/python3
"""The layering check can fail: an upward include in a made-up tree is named."""
import os
import subprocess
import sys
import tempfile

CHECK = os.path.join(os.path.dirname(os.path.abspath(__file__)), "check_module_layering.py")
CMAKE = """gateway_module(lg_a SOURCES a/a.cc
  DEPS absl::status)
gateway_module(lg_b SOURCES b/b.cc
  DEPS lg_a)
"""


def tree(a_includes_b):
    root = tempfile.mkdtemp()
    for folder in ("a", "b"):
        os.makedirs(os.path.join(root, "server", folder))
    open(os.path.join(root, "server", "CMakeLists.txt"), "w").write(CMAKE)
    open(os.path.join(root, "server", "a", "a.h"), "w").write("")
    open(os.path.join(root, "server", "b", "b.h"), "w").write('#include "a/a.h"\n')
    open(os.path.join(root, "server", "b", "b.cc"), "w").write('#include "b/b.h"\n')
    open(os.path.join(root, "server", "a", "a.cc"), "w").write(
        '#include "a/a.h"\n' + ('#include "b/b.h"\n' if a_includes_b else ""))
    return root


good = subprocess.run([sys.executable, CHECK, tree(False)], capture_output=True, text=True)
bad = subprocess.run([sys.executable, CHECK, tree(True)], capture_output=True, text=True)
ok = (good.returncode == 0 and bad.returncode == 1 and
      "server/a/a.cc:2 (lg_a) includes b/b.h (lg_b)" in bad.stdout)
print(good.stdout + bad.stdout)
sys.exit(0 if ok else 1)
