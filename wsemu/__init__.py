"""wsemu: the Windows Winsock SPI and API over real Linux kernel sockets.

Faces: ``wsemu.ws2`` (the Winsock API), ``wsemu.spi`` (the service provider interface),
``wsemu.abi`` (Windows constants and layouts), the ``wsemu`` command.
"""
from wsemu.errors import WSAError

__all__ = ["WSAError"]
__version__ = "0.1.0"
