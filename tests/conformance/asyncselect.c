/* link: -luser32 */
/* WSAAsyncSelect with a classic message loop (CONFORMANCE.md §2.2-2.4, §6 H: items 126, 134,
 * 148, 161, 167): a message-only window gets the FD_* messages of an accept / write / read /
 * close exchange with a client in the same program; each message drives the next step, so the
 * order printed is the order Windows posts them. */
#include "common.h"

#define WM_SOCKET (WM_USER + 1)

static SOCKET listener, client, accepted = INVALID_SOCKET;

static const char *event_name(WORD event)
{
    switch (event) {
    case FD_READ: return "FD_READ";
    case FD_WRITE: return "FD_WRITE";
    case FD_OOB: return "FD_OOB";
    case FD_ACCEPT: return "FD_ACCEPT";
    case FD_CONNECT: return "FD_CONNECT";
    case FD_CLOSE: return "FD_CLOSE";
    default: return "other";
    }
}

static LRESULT CALLBACK socket_window(HWND hwnd, UINT msg, WPARAM wparam, LPARAM lparam)
{
    if (msg != WM_SOCKET)
        return DefWindowProcW(hwnd, msg, wparam, lparam);
    SOCKET s = (SOCKET)wparam;
    WORD event = WSAGETSELECTEVENT(lparam);
    printf("message socket=%s event=%s error=%d\n",
           s == listener ? "listener" : s == accepted ? "accepted" : "unknown", event_name(event),
           WSAGETSELECTERROR(lparam));
    char buf[16] = {0};
    if (s == listener && event == FD_ACCEPT) {
        accepted = accept(listener, NULL, NULL);       /* inherits the registration (item 134) */
        printf("accept_valid=%d\n", accepted != INVALID_SOCKET);
    } else if (s == accepted && event == FD_WRITE) {
        printf("client_send=%d\n", send(client, "hello", 5, 0));
    } else if (s == accepted && event == FD_READ) {
        int got = recv(accepted, buf, sizeof buf - 1, 0);
        printf("recv=%d data=%s\n", got, buf);
        printf("client_close=%d\n", closesocket(client));
    } else if (s == accepted && event == FD_CLOSE) {
        int got = recv(accepted, buf, sizeof buf, 0);
        printf("recv_at_close=%d\n", got);
        closesocket(accepted);
        PostQuitMessage(0);
    }
    return 0;
}

int main(void)
{
    WSADATA wsa;
    WSAStartup(MAKEWORD(2, 2), &wsa);

    WNDCLASSW wc;
    memset(&wc, 0, sizeof wc);
    wc.lpfnWndProc = socket_window;
    wc.hInstance = GetModuleHandleW(NULL);
    wc.lpszClassName = (const WCHAR *)u"wsemu-conformance-sockets";
    printf("register_class=%d\n", RegisterClassW(&wc) != 0);
    HWND hwnd = CreateWindowExW(0, wc.lpszClassName, (const WCHAR *)u"sockets", 0, 0, 0, 0, 0,
                                HWND_MESSAGE, NULL, wc.hInstance, NULL);
    printf("create_window=%d\n", hwnd != NULL);

    struct sockaddr_in addr;
    listener = loopback_listener(&addr);
    report("async_select", WSAAsyncSelect(listener, hwnd, WM_SOCKET, FD_ACCEPT | FD_READ | FD_WRITE | FD_CLOSE));
    u_long blocking = 0;
    report("fionbio_0_while_selected", ioctlsocket(listener, FIONBIO, &blocking));

    client = socket(AF_INET, SOCK_STREAM, IPPROTO_TCP);
    report("client_connect", connect(client, (struct sockaddr *)&addr, sizeof addr));

    MSG msg;
    BOOL got;
    while ((got = GetMessageW(&msg, NULL, 0, 0)) > 0) {
        TranslateMessage(&msg);
        DispatchMessageW(&msg);
    }
    printf("loop_end=%d quit_code=%d\n", got, (int)msg.wParam);

    closesocket(listener);
    DestroyWindow(hwnd);
    WSACleanup();
    return 0;
}
