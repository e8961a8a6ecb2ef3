"""Network state for Winsock: interfaces, addresses, routes and their changes (rtnetlink).

``tables`` (pure) says what the tables mean in Windows terms, ``layouts`` (pure) writes the
ioctls' Windows structures, and ``live`` keeps the tables of this process's network
namespace current with one netlink listener in the event monitor's epoll.
"""
