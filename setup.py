"""Builds lasergen's optional compiled kernels; everything else is configured in pyproject.toml.
Without a C compiler the build goes on and the numpy references run instead."""

from setuptools import Extension, setup

setup(ext_modules=[Extension("lasergen._kernels", ["lasergen/_kernels.c"], optional=True,
                             extra_compile_args=["-O2", "-ffp-contract=off", "-fno-fast-math"])])
