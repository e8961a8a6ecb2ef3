/* What a Windows run cannot show and this one must: bad pointers (Windows faults, libwsemu
 * fails the call with ERROR_NOACCESS), child windows (Wine cannot make them headless), a
 * window procedure destroying its window twice, GetMessageW woken from another thread, and
 * the Win32 identities against the Linux ones. */
#define _GNU_SOURCE         /* (dladdr) */
#include <winsock2.h>
#include <windows.h>
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define SHOW(label, call) do {                                                  \
        SetLastError(0xdead);                                                   \
        long long value_ = (long long)(call);                                   \
        DWORD error_ = GetLastError();                                          \
        printf("%-28s = %lld err=%lu\n", label, value_, (unsigned long)error_); \
    } while (0)

static HWND parent_hwnd, child_hwnd;

static const char *who(HWND hwnd) { return hwnd == parent_hwnd ? "parent" : hwnd == child_hwnd ? "child" : "other"; }

static LRESULT CALLBACK proc(HWND hwnd, UINT msg, WPARAM wparam, LPARAM lparam)
{
    if (msg == WM_DESTROY) {
        printf("  %s WM_DESTROY, destroy again %d\n", who(hwnd), DestroyWindow(hwnd));
    } else if (msg == WM_NCDESTROY) {
        printf("  %s WM_NCDESTROY\n", who(hwnd));
    } else if (msg >= WM_USER) {
        printf("  %s WM_USER+%u\n", who(hwnd), msg - WM_USER);
    }
    return DefWindowProcW(hwnd, msg, wparam, lparam);
}

static void *poster(void *hwnd)
{
    Sleep(50);                        /* (the main thread is blocked in GetMessageW by then) */
    PostMessageW((HWND)hwnd, WM_USER + 9, 9, 0);
    return NULL;
}

int main(void)
{
    WSADATA wsa;
    MSG msg;
    setvbuf(stdout, NULL, _IONBF, 0);
    if (WSAStartup(MAKEWORD(2, 2), &wsa) != 0)
        return 1;

    SHOW("RegisterClassW NULL", RegisterClassW(NULL));
    SHOW("RegisterClassExW NULL", RegisterClassExW(NULL));
    WNDCLASSW wc = {0};
    SHOW("RegisterClassW no procedure", RegisterClassW(&wc));
    wc.lpfnWndProc = proc;
    SHOW("RegisterClassW no name", RegisterClassW(&wc));
    wc.cbWndExtra = -1;
    wc.lpszClassName = L"Only";
    SHOW("RegisterClassW cbWndExtra -1", RegisterClassW(&wc));
    wc.cbWndExtra = 0;
    SHOW("RegisterClassW ok", RegisterClassW(&wc) != 0);
    SHOW("CreateWindowExW NULL class", CreateWindowExW(0, NULL, NULL, 0, 0, 0, 0, 0, NULL, NULL, NULL, NULL));
    SHOW("UnregisterClassW NULL", UnregisterClassW(NULL, NULL));
    SHOW("GetMessageW NULL msg", GetMessageW(NULL, NULL, 0, 0));
    SHOW("PeekMessageW NULL msg", PeekMessageW(NULL, NULL, 0, 0, PM_REMOVE));
    SHOW("DispatchMessageW NULL", DispatchMessageW(NULL));
    SHOW("TranslateMessage NULL", TranslateMessage(NULL));
    SHOW("WaitForMultiple NULL array", WaitForMultipleObjects(1, NULL, FALSE, 0));
    SHOW("PostMessageW bogus hwnd", PostMessageW((HWND)(uintptr_t)0x1235, WM_USER, 0, 0));
    SHOW("GetWindowLongPtrW NULL", GetWindowLongPtrW(NULL, GWLP_USERDATA));

    parent_hwnd = CreateWindowExW(0, L"only", L"", 0, 0, 0, 0, 0, HWND_MESSAGE, NULL, NULL, NULL);
    child_hwnd = CreateWindowExW(0, L"Only", L"", WS_CHILD, 0, 0, 0, 0, parent_hwnd, (HMENU)(uintptr_t)77, NULL, NULL);
    printf("child of parent %d id %lld\n", GetWindowLongPtrW(child_hwnd, GWLP_HWNDPARENT) == (LONG_PTR)parent_hwnd,
           (long long)GetWindowLongPtrW(child_hwnd, GWLP_ID));

    pthread_t thread;
    pthread_create(&thread, NULL, poster, child_hwnd);
    printf("GetMessageW from a thread %d\n", GetMessageW(&msg, NULL, 0, 0));
    DispatchMessageW(&msg);
    pthread_join(thread, NULL);

    SHOW("DestroyWindow parent", DestroyWindow(parent_hwnd));
    printf("IsWindow parent %d child %d\n", IsWindow(parent_hwnd), IsWindow(child_hwnd));
    SHOW("UnregisterClassW", UnregisterClassW(L"Only", NULL));

    Dl_info self;
    dladdr((void *)main, &self);
    printf("GetModuleHandleW(NULL) is the image base %d\n", GetModuleHandleW(NULL) == (HMODULE)self.dli_fbase);
    printf("GetCurrentProcessId is getpid %d\n", GetCurrentProcessId() == (DWORD)getpid());
    printf("GetCurrentThreadId is gettid %d\n", GetCurrentThreadId() == (DWORD)syscall(SYS_gettid));
    struct timespec boot;
    clock_gettime(CLOCK_BOOTTIME, &boot);
    DWORD now = (DWORD)(boot.tv_sec * 1000 + boot.tv_nsec / 1000000);
    printf("GetTickCount is uptime %d\n", GetTickCount() - now < 1000);
    WSACleanup();
    return 0;
}
