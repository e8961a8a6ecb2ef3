# setuptools has no pyproject.toml key for cffi_modules, so this stub carries it — and the
# build step of libwsemu.so (the C face), which is no Python extension module.
import pathlib
import sys

from setuptools import setup
from setuptools.command.build_ext import build_ext


class BuildWithCFace(build_ext):
    def run(self) -> None:
        super().run()
        sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent / "native"))
        import build_cface
        package = pathlib.Path("wsemu") if self.inplace else pathlib.Path(self.build_lib) / "wsemu"
        build_cface.build(package.resolve() / "lib")


setup(cffi_modules=["native/build_native.py:ffibuilder"], cmdclass={"build_ext": BuildWithCFace})
