/* A classic WSAAsyncSelect echo server, written for Windows: a message-only window, its
 * listener and connections report FD_ACCEPT/FD_READ/FD_CLOSE as WM_SOCKET messages, the
 * window procedure accepts and echoes, a GetMessageW/TranslateMessage/DispatchMessageW loop
 * drives it. The client is in the same thread, driven by messages too, so the output is the
 * same on every run. */
#include <winsock2.h>
#include <windows.h>
#include <stdio.h>
#include "pending_exports.h"

#define WM_SOCKET (WM_USER + 1)
#define WM_CLIENT_READ (WM_USER + 2)

static SOCKET client = INVALID_SOCKET;

static void on_socket(HWND hwnd, SOCKET s, WORD event, WORD error)
{
    char buf[64];
    int n;
    switch (event) {
    case FD_ACCEPT: {
        SOCKET conn = accept(s, NULL, NULL);
        printf("server FD_ACCEPT error=%u accepted=%d\n", error, conn != INVALID_SOCKET);
        if (WSAAsyncSelect(conn, hwnd, WM_SOCKET, FD_READ | FD_CLOSE) != 0)
            printf("WSAAsyncSelect(conn) failed %d\n", WSAGetLastError());
        break;
    }
    case FD_READ:
        n = recv(s, buf, sizeof buf, 0);
        if (n > 0) {
            printf("server FD_READ error=%u got %d: %.*s\n", error, n, n, buf);
            printf("server echo sent %d\n", send(s, buf, n, 0));
            PostMessageW(hwnd, WM_CLIENT_READ, 0, 0);
        } else if (n < 0 && WSAGetLastError() != WSAEWOULDBLOCK) {
            printf("server recv failed %d\n", WSAGetLastError());
        }
        break;
    case FD_CLOSE:
        printf("server FD_CLOSE error=%u\n", error);
        closesocket(s);
        DestroyWindow(hwnd);
        break;
    }
}

static LRESULT CALLBACK server_proc(HWND hwnd, UINT msg, WPARAM wparam, LPARAM lparam)
{
    char buf[64];
    int n;
    switch (msg) {
    case WM_CREATE:
        printf("window WM_CREATE\n");
        return 0;
    case WM_SOCKET:
        on_socket(hwnd, (SOCKET)wparam, WSAGETSELECTEVENT(lparam), WSAGETSELECTERROR(lparam));
        return 0;
    case WM_CLIENT_READ:
        n = recv(client, buf, sizeof buf, 0);
        printf("client got echo %d: %.*s\n", n, n > 0 ? n : 0, buf);
        closesocket(client);
        printf("client closed\n");
        return 0;
    case WM_DESTROY:
        printf("window WM_DESTROY\n");
        PostQuitMessage(3);
        return 0;
    }
    return DefWindowProcW(hwnd, msg, wparam, lparam);
}

int main(void)
{
    WSADATA wsa;
    WNDCLASSEXW wc;
    MSG msg;
    struct sockaddr_in addr;
    int len = sizeof addr;
    BOOL got;

    setvbuf(stdout, NULL, _IONBF, 0);
    if (WSAStartup(MAKEWORD(2, 2), &wsa) != 0)
        return 1;
    ZeroMemory(&wc, sizeof wc);
    wc.cbSize = sizeof wc;
    wc.lpfnWndProc = server_proc;
    wc.hInstance = GetModuleHandleW(NULL);
    wc.lpszClassName = L"EchoServer";
    if (!RegisterClassExW(&wc))
        return 2;
    HWND hwnd = CreateWindowExW(0, L"EchoServer", L"", 0, 0, 0, 0, 0, HWND_MESSAGE, NULL, wc.hInstance, NULL);
    if (hwnd == NULL)
        return 3;

    SOCKET listener = socket(AF_INET, SOCK_STREAM, IPPROTO_TCP);
    ZeroMemory(&addr, sizeof addr);
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(listener, (struct sockaddr *)&addr, sizeof addr) || listen(listener, 5)
        || getsockname(listener, (struct sockaddr *)&addr, &len))
        return 4;
    printf("WSAAsyncSelect(listener) %d\n", WSAAsyncSelect(listener, hwnd, WM_SOCKET, FD_ACCEPT | FD_READ | FD_CLOSE));

    client = socket(AF_INET, SOCK_STREAM, IPPROTO_TCP);
    printf("client connect %d\n", connect(client, (struct sockaddr *)&addr, sizeof addr));
    printf("client send %d\n", send(client, "hello", 5, 0));

    while ((got = GetMessageW(&msg, NULL, 0, 0)) > 0) {
        TranslateMessage(&msg);
        DispatchMessageW(&msg);
    }
    printf("loop ended %d exit code %llu\n", got, (unsigned long long)msg.wParam);
    printf("IsWindow %d\n", IsWindow(hwnd));
    closesocket(listener);
    UnregisterClassW(L"EchoServer", wc.hInstance);
    WSACleanup();
    return 0;
}
