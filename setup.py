"""Builds the optional compiled kernels (the planner's and the simulator's render kernel); everything else is configured in pyproject.toml.
Without a C compiler the build goes on and the numpy references run instead."""

from setuptools import Extension, setup

SOURCES = [f"lasergen/kernels_c/{name}.c" for name in ("module", "gcode", "motion", "raster", "tour")]

FLAGS = ["-O2", "-ffp-contract=off", "-fno-fast-math"]

setup(ext_modules=[Extension("lasergen._kernels", SOURCES, depends=["lasergen/kernels_c/kernels.h"], optional=True,
                             extra_compile_args=FLAGS),
                   # the render kernel's pixel blocks are written to vectorise: -O3, and no FP traps, so
                   # both sides of a select may be computed (the results are the same)
                   Extension("hardware_sim.glass._display", ["hardware_sim/glass/kernels_c/display.c"], optional=True,
                             include_dirs=["lasergen/kernels_c"], depends=["lasergen/kernels_c/kernels.h"],
                             extra_compile_args=FLAGS + ["-O3", "-fno-trapping-math"])])
