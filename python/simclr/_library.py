"""Finding and binding libsimclr.so (ctypes).

The library is looked for, in this order:
  1. $SIMCLR_LIBRARY: the path of libsimclr.so.0 (or of the folder holding it);
  2. the library folder recorded when this package was installed (_install_config.py, written by
     setup.py from $SIMCLR_PREFIX or pkg-config);
  3. the system's loader path (ldconfig, $LD_LIBRARY_PATH): libsimclr.so.0.
"""
import ctypes
import os

SONAME = "libsimclr.so.0"
ERROR_KIND_INPUT = 1


class SimclrError(RuntimeError):
    """A failure reported by libsimclr (out of memory, a library failure)."""


class SimclrInputError(SimclrError, ValueError):
    """Bad input reported by libsimclr: a missing or corrupt file, an unusable image."""


class _Error(ctypes.Structure):
    _fields_ = [("kind", ctypes.c_int), ("message", ctypes.c_char * 1024),
                ("long_message", ctypes.c_void_p)]

    def raise_it(self):
        lib = library()
        message = lib.simclr_error_message(ctypes.byref(self)).decode("utf-8", "replace")
        kind = self.kind
        lib.simclr_error_clear(ctypes.byref(self))  # frees a message too long for the struct
        if kind == ERROR_KIND_INPUT:
            raise SimclrInputError(message)
        raise SimclrError(message)


def _recorded_dir():
    try:
        from . import _install_config
    except ImportError:
        return None
    return getattr(_install_config, "LIBRARY_DIR", None)


def candidates():
    """The paths tried, in order, each with where it came from."""
    found = []
    explicit = os.environ.get("SIMCLR_LIBRARY")
    if explicit:
        path = os.path.join(explicit, SONAME) if os.path.isdir(explicit) else explicit
        found.append((path, "$SIMCLR_LIBRARY"))
        return found  # an explicit choice is not second-guessed
    recorded = _recorded_dir()
    if recorded:
        found.append((os.path.join(recorded, SONAME), "the install prefix recorded at install"))
    found.append((SONAME, "the default loader path"))
    return found


def _bind(lib):
    c_int, c_float_p = ctypes.c_int, ctypes.POINTER(ctypes.c_float)
    c_int_p, c_uint8_p = ctypes.POINTER(ctypes.c_int), ctypes.POINTER(ctypes.c_uint8)
    model_p, error_p = ctypes.c_void_p, ctypes.POINTER(_Error)
    paths_p = ctypes.POINTER(ctypes.c_char_p)
    c_size_t, c_int64_p = ctypes.c_size_t, ctypes.POINTER(ctypes.c_int64)
    signatures = {
        "simclr_version": (ctypes.c_char_p, []),
        "simclr_error_message": (ctypes.c_char_p, [error_p]),
        "simclr_error_clear": (None, [error_p]),
        "simclr_trained_model_open": (c_int, [ctypes.c_char_p, ctypes.POINTER(model_p), error_p]),
        "simclr_trained_model_close": (None, [model_p]),
        "simclr_trained_model_input_shape": (None, [model_p, c_int_p, c_int_p, c_int_p]),
        "simclr_trained_model_feature_dim": (c_int, [model_p]),
        "simclr_trained_model_class_count": (c_int, [model_p]),
        "simclr_trained_model_class_name": (ctypes.c_char_p, [model_p, c_int]),
        "simclr_trained_model_embed_pixels": (
            c_int, [model_p, c_uint8_p, c_int, c_int, c_int, c_int, c_float_p, error_p]),
        "simclr_trained_model_embed_files": (c_int, [model_p, paths_p, c_int, c_float_p, error_p]),
        "simclr_trained_model_classify_pixels": (
            c_int, [model_p, c_uint8_p, c_int, c_int, c_int, c_int, c_int_p, c_float_p, error_p]),
        "simclr_trained_model_classify_files": (
            c_int, [model_p, paths_p, c_int, c_int_p, c_float_p, error_p]),
        "simclr_similarity_top_k": (
            c_int, [c_float_p, c_size_t, c_float_p, c_size_t, c_int, c_int, c_int64_p, c_float_p, error_p]),
        "simclr_select_k_center": (
            c_int, [c_float_p, c_size_t, c_int, c_float_p, c_size_t, c_size_t, c_int64_p, c_float_p, error_p]),
    }
    for name, (restype, argtypes) in signatures.items():
        function = getattr(lib, name)
        function.restype = restype
        function.argtypes = argtypes
    return lib


_loaded = None


def library():
    """libsimclr, loaded on first use; OSError naming every place tried when it is not found."""
    global _loaded
    if _loaded is None:
        tried = []
        for path, origin in candidates():
            try:
                lib = ctypes.CDLL(path)
            except OSError as error:
                tried.append("%s (%s): %s" % (path, origin, error))
                continue
            try:
                _loaded = _bind(lib)
            except AttributeError as error:
                tried.append("%s (%s) lacks the inference API: %s" % (path, origin, error))
                continue
            break
        if _loaded is None:
            raise OSError("cannot load libsimclr; tried:\n  " + "\n  ".join(tried) +
                          "\nInstall it (make install PREFIX=DIR) and set SIMCLR_LIBRARY="
                          "DIR/lib/" + SONAME + ", or reinstall this package with SIMCLR_PREFIX=DIR.")
    return _loaded
