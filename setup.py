"""Build the Cython core of fast/ (one pure-Python source per module, compiled as is)."""
import os

from setuptools import setup

ext_modules = []
if os.environ.get("V2H_NO_EXTENSIONS") != "1":
    from Cython.Build import cythonize

    ext_modules = cythonize(
        ["fast/_rng.py", "fast/_types.py", "fast/_model.py", "fast/_pulse.py", "fast/_step.py",
         "fast/_supervisor.py", "fast/_plant.py", "fast/_policies.py", "fast/_batch.py",
         "fast/_idrec.py", "fast/_ident.py", "fast/_profile.py", "fast/_battery.py"],
        compiler_directives={
            "language_level": "3", "boundscheck": False, "wraparound": False,
            # every division in the core is by a value checked non-zero at construction; %
            # is only taken of non-negative values, where C and Python agree
            "cdivision": True, "initializedcheck": False,
        },
        quiet=True,
        # the thirteen modules translated side by side (and compiled so with `-j`, as `make
        # build` does): on two cores 57 s against 120 s one after the other
        nthreads=os.cpu_count() or 1,
    )
    # Compiled and pure paths must give the same doubles: no fused multiply-add contraction
    # (nor any reassociation: unrolling repeats the operations in their order)
    for ext in ext_modules:
        ext.extra_compile_args = ["-O3", "-ffp-contract=off", "-fno-math-errno",
                                  "-fno-trapping-math", "-funroll-loops"]

setup(ext_modules=ext_modules)
