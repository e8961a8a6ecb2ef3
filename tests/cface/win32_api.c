/* The Win32 subset of <windows.h> a Windows socket program uses, and message-only windows,
 * with bad input. Built unchanged with mingw (runs under Windows/Wine) and against libwsemu;
 * prints the same lines on both (but where Wine is wrong: tests/test_cface_windows.py). */
#include <winsock2.h>
#include <windows.h>
#include <stddef.h>
#include <stdio.h>
#include "pending_exports.h"

/* A call's value and the last error after it; the last error is set to 0xdead first, so a
 * successful call shows whether it left it alone. */
#define SHOW(label, call) do {                                                  \
        SetLastError(0xdead);                                                   \
        long long value_ = (long long)(call);                                   \
        DWORD error_ = GetLastError();                                          \
        printf("%-28s = %lld err=%lu\n", label, value_, (unsigned long)error_); \
    } while (0)

#define WM_PING (WM_USER + 5)

static int created_params;

static LRESULT CALLBACK proc(HWND hwnd, UINT msg, WPARAM wparam, LPARAM lparam)
{
    switch (msg) {
    case WM_NCCREATE:
    case WM_CREATE: {
        const CREATESTRUCTW *create = (const CREATESTRUCTW *)lparam;
        /* lpszClass is what CreateWindowExW was given: a name, or an atom */
        printf("  proc %s params=%d class=%s\n", msg == WM_CREATE ? "WM_CREATE" : "WM_NCCREATE",
               create->lpCreateParams == &created_params,
               (ULONG_PTR)create->lpszClass < 0x10000 ? "atom" : lstrcmpW(create->lpszClass, L"Probe") ? "other" : "Probe");
        break;
    }
    case WM_DESTROY:
        printf("  proc WM_DESTROY\n");
        break;
    case WM_NCDESTROY:
        printf("  proc WM_NCDESTROY\n");
        break;
    case WM_CLOSE:
        printf("  proc WM_CLOSE\n");
        break;
    default:
        if (msg >= WM_USER)
            printf("  proc WM_USER+%u w=%llu l=%lld\n", msg - WM_USER, (unsigned long long)wparam, (long long)lparam);
    }
    if (msg == WM_PING)
        return (LRESULT)wparam * 2;
    return DefWindowProcW(hwnd, msg, wparam, lparam);
}

static LRESULT CALLBACK refuse_create(HWND hwnd, UINT msg, WPARAM wparam, LPARAM lparam)
{
    if (msg == WM_CREATE)
        return -1;
    if (msg == WM_DESTROY)
        printf("  refused window WM_DESTROY\n");
    if (msg == WM_NCDESTROY)
        printf("  refused window WM_NCDESTROY\n");
    return DefWindowProcW(hwnd, msg, wparam, lparam);
}

static void layouts(void)
{
    printf("MSG %d: hwnd %d message %d wParam %d lParam %d time %d pt %d\n", (int)sizeof(MSG),
           (int)offsetof(MSG, hwnd), (int)offsetof(MSG, message), (int)offsetof(MSG, wParam),
           (int)offsetof(MSG, lParam), (int)offsetof(MSG, time), (int)offsetof(MSG, pt));
    printf("WNDCLASSW %d: lpfnWndProc %d cbWndExtra %d hInstance %d lpszClassName %d\n", (int)sizeof(WNDCLASSW),
           (int)offsetof(WNDCLASSW, lpfnWndProc), (int)offsetof(WNDCLASSW, cbWndExtra),
           (int)offsetof(WNDCLASSW, hInstance), (int)offsetof(WNDCLASSW, lpszClassName));
    printf("WNDCLASSEXW %d: style %d lpfnWndProc %d lpszClassName %d hIconSm %d\n", (int)sizeof(WNDCLASSEXW),
           (int)offsetof(WNDCLASSEXW, style), (int)offsetof(WNDCLASSEXW, lpfnWndProc),
           (int)offsetof(WNDCLASSEXW, lpszClassName), (int)offsetof(WNDCLASSEXW, hIconSm));
    printf("CREATESTRUCTW %d: hwndParent %d cy %d x %d style %d lpszClass %d dwExStyle %d\n",
           (int)sizeof(CREATESTRUCTW), (int)offsetof(CREATESTRUCTW, hwndParent),
           (int)offsetof(CREATESTRUCTW, cy), (int)offsetof(CREATESTRUCTW, x),
           (int)offsetof(CREATESTRUCTW, style), (int)offsetof(CREATESTRUCTW, lpszClass),
           (int)offsetof(CREATESTRUCTW, dwExStyle));
    printf("sizes LRESULT %d WPARAM %d LPARAM %d ATOM %d DWORD_PTR %d UINT_PTR %d BOOL %d WCHAR %d\n",
           (int)sizeof(LRESULT), (int)sizeof(WPARAM), (int)sizeof(LPARAM), (int)sizeof(ATOM),
           (int)sizeof(DWORD_PTR), (int)sizeof(UINT_PTR), (int)sizeof(BOOL), (int)sizeof(WCHAR));
    printf("MAKELONG %ld MAKEWPARAM %llu MAKELPARAM %lld LOWORD %u HIWORD %u\n", (long)MAKELONG(1, 2),
           (unsigned long long)MAKEWPARAM(3, 4), (long long)MAKELPARAM(0xffff, 0xffff),
           LOWORD(0x12345678), HIWORD(0x12345678));
    char buf[8];
    FillMemory(buf, sizeof buf, 'x');
    ZeroMemory(buf, 4);
    CopyMemory(buf + 4, "ab", 2);
    printf("memory %d %d %c %c %c %c\n", buf[0], buf[3], buf[4], buf[5], buf[6], buf[7]);
    WCHAR wide[16];
    lstrcpyW(wide, L"Ab");
    lstrcatW(wide, L"c");
    printf("lstrlenW %d %d lstrcmpW %d %d lstrcmpiW %d\n", lstrlenW(wide), lstrlenW(NULL),
           lstrcmpW(wide, L"Abc"), lstrcmpW(L"a", L"b") < 0, lstrcmpiW(wide, L"aBC"));
}

static void process_and_time(void)
{
    printf("pid nonzero %d tid nonzero %d\n", GetCurrentProcessId() != 0, GetCurrentThreadId() != 0);
    SetLastError(1234);
    printf("SetLastError/WSAGetLastError %d\n", WSAGetLastError());
    WSASetLastError(4321);
    printf("WSASetLastError/GetLastError %lu\n", (unsigned long)GetLastError());
    DWORD before = GetTickCount();
    Sleep(60);
    DWORD slept = GetTickCount() - before;
    printf("Sleep(60) took >= 45 ms (tick granularity): %d\n", slept >= 45);
    Sleep(0);
    printf("GetModuleHandleW(NULL) nonzero %d\n", GetModuleHandleW(NULL) != NULL);
    SHOW("GetModuleHandleW(nosuch)", GetModuleHandleW(L"nosuch.dll"));
}

static void events(void)
{
    WSAEVENT a = WSACreateEvent(), b = WSACreateEvent();
    HANDLE both[2] = {a, b};
    SHOW("WaitForSingleObject unset", WaitForSingleObject(a, 20));
    WSASetEvent(b);
    SHOW("WaitForSingleObject set", WaitForSingleObject(b, INFINITE));
    SHOW("WaitForMultiple any", WaitForMultipleObjects(2, both, FALSE, 0));
    SHOW("WaitForMultiple all unset", WaitForMultipleObjects(2, both, TRUE, 10));
    WSASetEvent(a);
    SHOW("WaitForMultiple all set", WaitForMultipleObjects(2, both, TRUE, 0));
    SHOW("WaitForMultiple count 0", WaitForMultipleObjects(0, both, FALSE, 0));
    SHOW("WaitForMultiple count 65", WaitForMultipleObjects(65, both, FALSE, 0));
    SHOW("CloseHandle event", CloseHandle(a));
    SHOW("CloseHandle closed", CloseHandle(a));
    SHOW("WaitForSingleObject closed", WaitForSingleObject(a, 0));
    SHOW("WaitForMultiple one closed", WaitForMultipleObjects(2, both, FALSE, 0));
    SHOW("WaitForSingleObject NULL", WaitForSingleObject(NULL, 0));
    SHOW("CloseHandle NULL", CloseHandle(NULL));
    SHOW("CloseHandle event b", CloseHandle(b));
}

static ATOM classes(void)
{
    HINSTANCE self = GetModuleHandleW(NULL);
    WNDCLASSW wc = {0};
    wc.lpfnWndProc = proc;
    wc.hInstance = self;
    wc.lpszClassName = L"Probe";
    wc.cbWndExtra = 16;
    SHOW("CreateWindowExW unregistered", CreateWindowExW(0, L"Probe", L"", 0, 0, 0, 0, 0, HWND_MESSAGE, NULL, self, NULL));
    ATOM atom = RegisterClassW(&wc);
    printf("RegisterClassW atom >= 0xC000 %d\n", atom >= 0xC000);
    SHOW("RegisterClassW again", RegisterClassW(&wc));
    wc.lpszClassName = L"PROBE";
    SHOW("RegisterClassW other case", RegisterClassW(&wc));
    WNDCLASSEXW ex = {0};
    ex.cbSize = sizeof ex - 1;
    ex.lpfnWndProc = refuse_create;
    ex.lpszClassName = L"Refuse";
    SHOW("RegisterClassExW bad cbSize", RegisterClassExW(&ex));
    ex.cbSize = sizeof ex;
    printf("RegisterClassExW nonzero %d\n", RegisterClassExW(&ex) != 0);
    SHOW("CreateWindowExW refused", CreateWindowExW(0, L"Refuse", L"", 0, 0, 0, 0, 0, HWND_MESSAGE, NULL, self, NULL));
    SHOW("UnregisterClassW refuse", UnregisterClassW(L"refuse", self));
    SHOW("UnregisterClassW missing", UnregisterClassW(L"NoSuchClass", self));
    SHOW("CreateWindowExW bad parent", CreateWindowExW(0, L"Probe", L"", 0, 0, 0, 0, 0, (HWND)(uintptr_t)0x1234, NULL, self, NULL));
    return atom;
}

static void windows_and_messages(ATOM atom)
{
    HINSTANCE self = GetModuleHandleW(NULL);
    MSG msg;
    HWND hwnd = CreateWindowExW(0, L"Probe", L"probe", 0, 0, 0, 0, 0, HWND_MESSAGE, NULL, self, &created_params);
    HWND by_atom;
    printf("CreateWindowExW ok %d IsWindow %d\n", hwnd != NULL, IsWindow(hwnd));
    SHOW("IsWindow NULL", IsWindow(NULL));
    SHOW("UnregisterClassW with window", UnregisterClassW(L"Probe", self));

    SHOW("GetWindowLongPtrW USERDATA", GetWindowLongPtrW(hwnd, GWLP_USERDATA));
    SHOW("SetWindowLongPtrW USERDATA", SetWindowLongPtrW(hwnd, GWLP_USERDATA, -5));
    SHOW("GetWindowLongPtrW USERDATA", GetWindowLongPtrW(hwnd, GWLP_USERDATA));
    SHOW("GetWindowLongPtrW WNDPROC ok", GetWindowLongPtrW(hwnd, GWLP_WNDPROC) == (LONG_PTR)proc);
    SHOW("GetWindowLongPtrW HINSTANCE ok", GetWindowLongPtrW(hwnd, GWLP_HINSTANCE) == (LONG_PTR)self);
    SHOW("SetWindowLongPtrW extra 8", SetWindowLongPtrW(hwnd, 8, 99));
    SHOW("GetWindowLongPtrW extra 8", GetWindowLongPtrW(hwnd, 8));
    SHOW("GetWindowLongPtrW extra 9", GetWindowLongPtrW(hwnd, 9));
    SHOW("GetWindowLongPtrW index -100", GetWindowLongPtrW(hwnd, -100));

    SHOW("SendMessageW", SendMessageW(hwnd, WM_PING, 21, 0));
    SHOW("PostMessageW window", PostMessageW(hwnd, WM_USER + 1, 1, -1));
    SHOW("PostMessageW NULL", PostMessageW(NULL, WM_USER + 2, 2, 0));
    SHOW("PostMessageW window", PostMessageW(hwnd, WM_USER + 3, 3, 0));
    SHOW("PeekMessageW NOREMOVE", PeekMessageW(&msg, NULL, 0, 0, PM_NOREMOVE));
    printf("  peeked WM_USER+%u\n", msg.message - WM_USER);
    SHOW("PeekMessageW filter 3..3", PeekMessageW(&msg, NULL, WM_USER + 3, WM_USER + 3, PM_REMOVE));
    printf("  took WM_USER+%u for window %d\n", msg.message - WM_USER, msg.hwnd == hwnd);
    SHOW("PeekMessageW filter 7..9", PeekMessageW(&msg, NULL, WM_USER + 7, WM_USER + 9, PM_REMOVE));
    SHOW("PeekMessageW (HWND)-1", PeekMessageW(&msg, (HWND)(LONG_PTR)-1, 0, 0, PM_REMOVE));
    printf("  took WM_USER+%u hwnd NULL %d\n", msg.message - WM_USER, msg.hwnd == NULL);
    PostQuitMessage(7);
    BOOL got;
    while ((got = GetMessageW(&msg, NULL, 0, 0)) > 0) {
        printf("  GetMessageW WM_USER+%u l=%lld\n", msg.message - WM_USER, (long long)msg.lParam);
        TranslateMessage(&msg);
        DispatchMessageW(&msg);
    }
    printf("GetMessageW end %d message 0x%x wParam %llu\n", got, msg.message, (unsigned long long)msg.wParam);
    SHOW("PeekMessageW empty", PeekMessageW(&msg, NULL, 0, 0, PM_REMOVE));
    PostQuitMessage(8);
    SHOW("PeekMessageW quit by window", PeekMessageW(&msg, hwnd, 0, 0, PM_REMOVE));
    printf("  took 0x%x wParam %llu\n", msg.message, (unsigned long long)msg.wParam);
    SHOW("PostMessageW WM_QUIT", PostMessageW(hwnd, WM_QUIT, 9, 0));
    SHOW("GetMessageW posted WM_QUIT", GetMessageW(&msg, hwnd, 0, 0));
    SHOW("TranslateMessage", TranslateMessage(&msg));
    msg.hwnd = NULL;
    SHOW("DispatchMessageW NULL hwnd", DispatchMessageW(&msg));

    by_atom = CreateWindowExW(0, (LPCWSTR)(ULONG_PTR)atom, L"", 0, 0, 0, 0, 0, HWND_MESSAGE, NULL, self, &created_params);
    printf("CreateWindowExW by atom ok %d\n", by_atom != NULL);
    SHOW("DestroyWindow by atom", DestroyWindow(by_atom));
    PostMessageW(hwnd, WM_USER + 4, 4, 0);
    SHOW("SendMessageW WM_CLOSE", SendMessageW(hwnd, WM_CLOSE, 0, 0));
    printf("IsWindow after destroy %d\n", IsWindow(hwnd));
    SHOW("PeekMessageW (dropped)", PeekMessageW(&msg, NULL, 0, 0, PM_REMOVE));
    SHOW("DestroyWindow destroyed", DestroyWindow(hwnd));
    SHOW("DestroyWindow NULL", DestroyWindow(NULL));
    SHOW("PostMessageW destroyed", PostMessageW(hwnd, WM_USER, 0, 0));
    SHOW("SendMessageW destroyed", SendMessageW(hwnd, WM_USER, 0, 0));
    SHOW("GetMessageW destroyed", GetMessageW(&msg, hwnd, 0, 0));
    SHOW("PeekMessageW destroyed", PeekMessageW(&msg, hwnd, 0, 0, PM_REMOVE));
    SHOW("GetWindowLongPtrW destroyed", GetWindowLongPtrW(hwnd, GWLP_USERDATA));
    SHOW("SetWindowLongPtrW destroyed", SetWindowLongPtrW(hwnd, GWLP_USERDATA, 1));
    msg.hwnd = hwnd;
    msg.message = WM_USER;
    SHOW("DispatchMessageW destroyed", DispatchMessageW(&msg));
    SHOW("UnregisterClassW", UnregisterClassW(L"Probe", self));
    SHOW("UnregisterClassW Refuse", UnregisterClassW(L"Refuse", self));
}

int main(void)
{
    WSADATA wsa;
    setvbuf(stdout, NULL, _IONBF, 0);
    if (WSAStartup(MAKEWORD(2, 2), &wsa) != 0)
        return 1;
    layouts();
    process_and_time();
    events();
    windows_and_messages(classes());
    WSACleanup();
    return 0;
}
