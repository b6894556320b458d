"""Builds spmmfarm's optional C extension (spmmfarm._launch, the per-call
launch path: Python.h and a C compiler, no torch headers, no CUDA) and
records where the build tree's libspmmfarm-rt is (spmmfarm/_paths.py).
Metadata is in pyproject.toml. Without a compiler the extension is skipped
and spmmfarm.torch launches through ctypes (slower per call)."""
import os
import subprocess

from setuptools import Extension, setup
from setuptools.command.build_py import build_py

HERE = os.path.dirname(os.path.abspath(__file__))


def _libdirs():
    """Where libspmmfarm-rt may be, as known when the package is built: the
    source tree's runtime/.libs, and pkg-config's libdir of an installed one."""
    dirs = []
    tree = os.path.join(os.path.dirname(HERE), "runtime", ".libs")
    if os.path.isdir(tree):
        dirs.append(tree)
    try:
        out = subprocess.run(["pkg-config", "--variable=libdir", "spmmfarm-rt"], capture_output=True,
                             text=True, timeout=10)
        if out.returncode == 0 and out.stdout.strip():
            dirs.append(out.stdout.strip())
    except (OSError, subprocess.SubprocessError):
        pass
    return dirs


class BuildPy(build_py):
    def run(self):
        super().run()
        target = os.path.join(self.build_lib, "spmmfarm", "_paths.py")
        os.makedirs(os.path.dirname(target), exist_ok=True)
        with open(target, "w") as f:
            f.write('"""Written by setup.py at build time: where libspmmfarm-rt was."""\n')
            f.write("LIBDIRS = %r\n" % (_libdirs(),))


setup(
    cmdclass={"build_py": BuildPy},
    ext_modules=[Extension("spmmfarm._launch", ["spmmfarm/_launch.c"], optional=True,
                           extra_compile_args=["-O2", "-Wall"])],
)
