"""The layered service providers wsemu ships (DESIGN.md §3.2; README "Layered providers").

* ``wsemu.lsp.trace:TraceProvider`` — one JSON line per SPI call (``$WSEMU_TRACE_FILE``);
* ``wsemu.lsp.faults:FaultsProvider`` — injects errors, delays, short sends and resets
  chosen by a rule file (``$WSEMU_FAULTS_FILE``), reproducibly from its seed.

Both are ``wsemu.spi.layered.LayeredProvider`` subclasses that only override ``intercept``:
the pattern for writing an LSP of one's own. ``wsemu.lsp.session`` installs them in a
temporary catalog for ``wsemu run --trace/--faults``.
"""
