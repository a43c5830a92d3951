"""Builds lasergen's optional compiled kernels; everything else is configured in pyproject.toml.
Without a C compiler the build goes on and the numpy references run instead."""

from setuptools import Extension, setup

SOURCES = [f"lasergen/kernels_c/{name}.c" for name in ("module", "gcode", "motion", "raster", "tour")]

setup(ext_modules=[Extension("lasergen._kernels", SOURCES, depends=["lasergen/kernels_c/kernels.h"], optional=True,
                             extra_compile_args=["-O2", "-ffp-contract=off", "-fno-fast-math"])])
