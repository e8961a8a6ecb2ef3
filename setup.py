# setuptools has no pyproject.toml key for cffi_modules, so this stub carries it.
from setuptools import setup

setup(cffi_modules=["native/build_native.py:ffibuilder"])
