"""Records where libsimclr was installed, at install time (see simclr/_library.py).

`pip install ./python` writes simclr/_install_config.py into the built package with the library
folder taken from $SIMCLR_PREFIX (the prefix given to `make install PREFIX=...`) or, failing that,
from `pkg-config --variable=libdir simclr`. Without either the package still installs and finds the
library through $SIMCLR_LIBRARY or the system's loader path at import.
"""
import os
import subprocess

from setuptools import setup
from setuptools.command.build_py import build_py


def installed_library_dir():
    prefix = os.environ.get("SIMCLR_PREFIX")
    if prefix:
        for libdir in ("lib", "lib64", "lib/x86_64-linux-gnu", "lib/aarch64-linux-gnu"):
            candidate = os.path.join(prefix, libdir)
            if os.path.exists(os.path.join(candidate, "libsimclr.so.0")):
                return os.path.abspath(candidate)
        return os.path.abspath(os.path.join(prefix, "lib"))
    try:
        found = subprocess.run(["pkg-config", "--variable=libdir", "simclr"], check=True,
                               capture_output=True, text=True).stdout.strip()
        return os.path.abspath(found) if found else None
    except (OSError, subprocess.CalledProcessError):
        return None


class build_py_recording_prefix(build_py):
    def run(self):
        super().run()
        target = os.path.join(self.build_lib, "simclr", "_install_config.py")
        with open(target, "w", encoding="utf-8") as out:
            out.write('"""Written by setup.py at install time."""\n')
            out.write("LIBRARY_DIR = %r\n" % installed_library_dir())


setup(cmdclass={"build_py": build_py_recording_prefix})
