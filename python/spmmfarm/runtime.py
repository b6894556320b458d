"""spmmfarm.runtime: finds libspmmfarm-rt and gives the fastest launch path.

The library is looked for, in order, in $SPMMFARM_RT_LIB (a file), in this
package's directory, where it was when the package was built (the source
tree's runtime/.libs, or pkg-config's libdir: spmmfarm/_paths.py), then
where spmmfarm_rt looks (beside it, the build tree, the install prefix, the
loader's path).

launcher() returns launch(layer, stream, b, c, n, bias, dtype): the C extension
spmmfarm._launch bound to the library's sfrt_launch when it was built, else
a ctypes call. $SPMMFARM_LAUNCH=ctypes forces ctypes (to compare).
"""
import ctypes
import os

import spmmfarm_rt

__all__ = ["library", "library_path", "launcher"]

_NAMES = ("libspmmfarm-rt.so.0", "libspmmfarm-rt.so")
_launcher = None


def _candidates():
    here = os.path.dirname(os.path.abspath(__file__))
    dirs = [here]
    try:
        from spmmfarm import _paths  # written by setup.py
        dirs += list(_paths.LIBDIRS)
    except ImportError:
        pass
    for d in dirs:
        for name in _NAMES:
            yield os.path.join(d, name)


def library():
    """The ctypes library (loaded once; spmmfarm_rt uses the same)."""
    if spmmfarm_rt._lib is None and not os.environ.get("SPMMFARM_RT_LIB"):
        for path in _candidates():
            if os.path.exists(path):
                try:
                    spmmfarm_rt.load_library(path)
                    break
                except OSError:
                    continue
    return spmmfarm_rt._library()


def library_path():
    library()
    return spmmfarm_rt.library_path()


def _address(fn):
    return ctypes.cast(fn, ctypes.c_void_p).value


def launcher():
    """(launch, kind): kind is "c" (spmmfarm._launch) or "ctypes"."""
    global _launcher
    if _launcher is not None:
        return _launcher
    lib = library()
    if os.environ.get("SPMMFARM_LAUNCH", "") != "ctypes":
        try:
            from spmmfarm import _launch
            _launch.bind(_address(lib.sfrt_launch_typed), _address(lib.sfrt_last_error),
                         _address(lib.sfrt_last_cuda_error), spmmfarm_rt.Error)
            _launcher = (_launch.launch, "c")
            return _launcher
        except ImportError:
            pass
    fn, check = lib.sfrt_launch_typed, spmmfarm_rt._check

    def launch(layer, stream, b, c, n, bias, dtype):
        status = fn(layer, stream, b, c, n, bias, dtype)
        if status:
            check(status)

    _launcher = (launch, "ctypes")
    return _launcher
