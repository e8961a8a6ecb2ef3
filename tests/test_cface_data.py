"""The C face's data path (native/src/cface_data.c over wsemu_fast.c): send/recv and their
WSABUF and address forms, select and WSAWaitForMultipleEvents run in C on base-provider
sockets and keep Windows' answers; what C does not take goes to the Python provider whole.

tests/cface/data_path.c runs every check once (a real program over real loopback sockets)
and prints key=value lines; each test here asserts one behaviour."""
from __future__ import annotations

import pathlib
import subprocess

import pytest

from tests.helpers import c_face_flags as _flags

SOURCE = pathlib.Path(__file__).parent / "cface" / "data_path.c"


@pytest.fixture(scope="module")
def out(tmp_path_factory, cc) -> dict[str, str]:
    flags = [_flags("--cflags"), _flags("--libs")]
    exe = tmp_path_factory.mktemp("cface") / "data_path"
    subprocess.run([cc, "-Wall", "-Werror", *flags[0], str(SOURCE), *flags[1], "-lpthread", "-o", str(exe)],
                   check=True, capture_output=True, text=True)
    run = subprocess.run([str(exe)], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    values = {}
    for line in run.stdout.splitlines():
        for pair in line.split():
            key, _, value = pair.partition("=")
            values[key] = value
    return values


def test_data_call_before_wsastartup_is_wsanotinitialised(out):
    assert out["send_before_startup"] == "-1,10093"


def test_steady_stream_data_never_enters_python(out):
    assert out["steady_ok"] == "1"
    assert out["steady_slow_calls"] == "0"


def test_null_buffer_and_negative_length_are_wsaefault(out):
    assert out["send_null"] == "-1,10014"
    assert out["recv_null"] == "-1,10014"
    assert out["send_negative"] == "-1,10014"


def test_unknown_socket_is_wsaenotsock(out):
    assert out["recv_notsock"] == "-1,10038"


def test_flags_go_to_python_and_msg_peek_leaves_the_data(out):
    assert (out["peek"], out["then"]) == ("4", "4")


def test_wsabuf_send_and_recv_gather_and_scatter(out):
    assert out["wsasend"] == "0,4"
    assert out["wsarecv"] == "0,4,abcd"
    assert out["flags"] == "0"


def test_wsarecv_without_flags_pointer_is_wsaefault(out):
    assert out["wsarecv_null_flags"] == "-1,10014"


def test_nonblocking_recv_without_data_is_wsaewouldblock(out):
    assert out["wouldblock"] == "-1,10035"


def test_nonblocking_stream_send_takes_everything_and_the_tail_arrives(out):
    assert out["big_send"] == str(8 << 20) and out["all"] == "1"
    assert out["send_behind_tail"] == "-1,10035"      # the tail is still going out
    assert out["tail_arrived"] == "1"


def test_graceful_close_reads_zero_and_send_after_shutdown_is_wsaeshutdown(out):
    assert out["eof"] == "0"
    assert out["send_after_shutdown"] == "-1,10058"


def test_reset_is_wsaeconnreset_and_stays(out):
    assert out["reset"] == "-1,10054"
    assert out["again"] == "-1,10054"


def test_closesocket_from_another_thread_ends_a_blocked_recv_with_wsaeintr(out):
    assert out["closed_under_recv"] == "-1,10004"
    assert out["recv_after_close"] == "-1,10038"


def test_recv_on_unbound_datagram_socket_is_wsaeinval(out):
    assert out["dgram_unbound_recv"] == "-1,10022"


def test_truncated_datagram_is_wsaemsgsize_with_the_buffer_filled(out):
    assert out["sendto"] == "5"
    assert out["truncated"] == "-1,10040,dg"


def test_recvfrom_gives_the_sender_as_a_windows_sockaddr(out):
    assert out["recvfrom"] == "5"
    assert (out["family"], out["len"], out["same_port"]) == ("2", "16", "1")


def test_sendto_with_a_short_name_is_wsaefault_and_another_family_wsaeafnosupport(out):
    assert out["sendto_short_name"] == "-1,10014"
    assert out["sendto_other_family"] == "-1,10047"


def test_recvfrom_with_short_fromlen_fails_before_dequeuing(out):
    assert out["recvfrom_short_fromlen"] == "-1,10014"
    assert out["still_queued"] == "3"


def test_wsarecvfrom_scatters_one_datagram(out):
    assert out["wsarecvfrom"] == "0,7,scatter"


def test_select_never_connected_stream_reports_nothing(out):
    assert out["select_never_connected"] == "0,0,0,0"


def test_select_listener_readable_never_writable(out):
    assert out["select_listener"] == "1,1,0"


def test_select_connected_sockets_writable(out):
    assert out["select_connected"] == "2,0,2"


def test_select_same_set_as_read_and_write_is_emptied_first(out):
    assert out["select_same_set_twice"] == "1,1"


def test_select_without_sockets_is_wsaeinval(out):
    assert out["select_no_sets"] == "-1,10022"


def test_select_unknown_socket_is_wsaenotsock(out):
    assert out["select_notsock"] == "-1,10038"


def test_select_urgent_data_is_exceptional(out):
    assert out["select_oob_except"] == "1,1"


def test_wait_times_out_with_wsa_wait_timeout(out):
    assert out["wait_timeout"] == "258"
    assert out["drained_then_timeout"] == "258"


def test_wait_on_a_handle_that_is_no_event_is_wsa_invalid_handle(out):
    assert out["wait_bad_handle"] == "ffffffff,6"
    assert out["wait_closed_event"] == "ffffffff,6"


def test_wait_on_no_events_is_wsa_invalid_parameter(out):
    assert out["wait_no_events"] == "ffffffff,87"


def test_wait_returns_a_set_event(out):
    assert out["wait_set"] == "0"


def test_item_126_recv_in_c_reenables_fd_read_while_data_remains(out):
    assert out["event_echo_ok"] == "1"
    assert out["reenabled"] == "1"


def test_event_mode_echo_never_enters_python_for_data_or_waits(out):
    # (WSAEventSelect and WSAEnumNetworkEvents are Python calls; they are not data calls)
    assert out["event_echo_ok"] == "1"
    assert out["event_slow_calls"] == "0"
