"""Network events: event objects (``objects``), the pure pending/reported machine
(``state``), and the per-process epoll monitor that feeds it (``monitor``)."""
