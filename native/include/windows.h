/* <windows.h> for Windows socket programs on wsemu: the LLP64 base types and the few Win32
 * calls socket code uses. The types come from wsemu/winabi.h (the one source of Windows
 * layouts). */
#ifndef WSEMU_WINDOWS_H
#define WSEMU_WINDOWS_H

/* System headers before any Windows name is defined: they declare POSIX names (fd_set,
 * timeval, select) that <winsock2.h> then maps to the Windows ones, and their include
 * guards keep a later #include from redefining them. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/select.h>
#include <sys/time.h>
#include <unistd.h>

#include "wsemu/winabi.h"

#define WINAPI
#define WSAAPI
#define CALLBACK
#define FAR
#define NEAR
#define IN
#define OUT
#define OPTIONAL

typedef int32_t BOOL;
typedef char CHAR;
typedef int16_t SHORT;
typedef uint16_t USHORT;
typedef int64_t LONGLONG;
typedef uint64_t ULONGLONG;
typedef int64_t INT_PTR;
typedef uint64_t SIZE_T;
typedef char *LPSTR;
typedef const char *LPCSTR;
typedef WCHAR *LPWSTR;
typedef const WCHAR *LPCWSTR;
typedef void *LPVOID;
typedef const void *LPCVOID;
typedef DWORD *LPDWORD;
typedef BYTE *LPBYTE;
typedef INT *LPINT;
typedef BOOL *LPBOOL;
typedef HANDLE *LPHANDLE;
typedef GUID *LPGUID;

#ifndef TRUE
#define TRUE 1
#define FALSE 0
#endif
#define MAKEWORD(low, high) ((WORD)(((BYTE)((low) & 0xff)) | ((WORD)((BYTE)((high) & 0xff))) << 8))
#define LOWORD(l) ((WORD)((DWORD_PTR)(l) & 0xffff))
#define HIWORD(l) ((WORD)(((DWORD_PTR)(l) >> 16) & 0xffff))
#define LOBYTE(w) ((BYTE)((DWORD_PTR)(w) & 0xff))
#define HIBYTE(w) ((BYTE)(((DWORD_PTR)(w) >> 8) & 0xff))
#define MAKELONG(low, high) ((LONG)(((WORD)((DWORD_PTR)(low) & 0xffff)) | ((DWORD)((WORD)((DWORD_PTR)(high) & 0xffff))) << 16))
#define MAKEWPARAM(low, high) ((WPARAM)(DWORD)MAKELONG(low, high))
#define MAKELPARAM(low, high) ((LPARAM)(DWORD)MAKELONG(low, high))
#define MAKELRESULT(low, high) ((LRESULT)(DWORD)MAKELONG(low, high))

/* ---- more base types ---- */
typedef LONG_PTR LRESULT;
typedef WORD ATOM;
typedef uint8_t BOOLEAN;
typedef int64_t LONG64;
typedef uint64_t DWORD64;
typedef float FLOAT;
typedef void VOID;
typedef HANDLE HINSTANCE;
typedef HANDLE HMODULE;
typedef HANDLE HMENU;
typedef HANDLE HICON;
typedef HANDLE HCURSOR;
typedef HANDLE HBRUSH;
typedef HANDLE *PHANDLE;
typedef DWORD *PDWORD;
typedef LONG *PLONG, *LPLONG;
typedef WCHAR *PWSTR, *PWCHAR;
typedef const WCHAR *PCWSTR;
typedef char *PSTR;
typedef const char *PCSTR;
typedef void *PVOID;

/* Wide strings are 16-bit here as on Windows: L"..." literals need -fshort-wchar (gcc's
 * wchar_t is 32-bit otherwise); u"..." is 16-bit either way, so TEXT() makes those. */
#if defined(UNICODE) || defined(_UNICODE)
#define TEXT(s) u##s
#else
#define TEXT(s) s
#endif
#define __TEXT(s) TEXT(s)

/* ---- memory ---- */
#define ZeroMemory(dest, len) memset((dest), 0, (len))
#define SecureZeroMemory(dest, len) memset((dest), 0, (len))
#define FillMemory(dest, len, fill) memset((dest), (fill), (len))
#define CopyMemory(dest, src, len) memcpy((dest), (src), (len))
#define MoveMemory(dest, src, len) memmove((dest), (src), (len))

/* ---- Win32 error codes (GetLastError) and waits ---- */
#define ERROR_SUCCESS              0
#define NO_ERROR                   0
#define ERROR_FILE_NOT_FOUND       2
#define ERROR_ACCESS_DENIED        5
#define ERROR_INVALID_HANDLE       6
#define ERROR_NOT_ENOUGH_MEMORY    8
#define ERROR_INVALID_PARAMETER    87
#define ERROR_INSUFFICIENT_BUFFER  122
#define ERROR_MOD_NOT_FOUND        126
#define ERROR_ALREADY_EXISTS       183
#define ERROR_NOACCESS             998
#define ERROR_CANNOT_FIND_WND_CLASS 1407
#define ERROR_CLASS_ALREADY_EXISTS 1410
#define ERROR_CLASS_DOES_NOT_EXIST 1411
#define ERROR_CLASS_HAS_WINDOWS    1412
#define ERROR_INVALID_INDEX        1413
#define ERROR_TIMEOUT              1460

#define INFINITE                   0xFFFFFFFF
#define MAXIMUM_WAIT_OBJECTS       64
#define WAIT_OBJECT_0              0x00000000
#define WAIT_ABANDONED_0           0x00000080
#define WAIT_IO_COMPLETION         0x000000C0
#define WAIT_TIMEOUT               258
#define WAIT_FAILED                0xFFFFFFFF
#define INVALID_HANDLE_VALUE       ((HANDLE)(LONG_PTR)-1)

/* ---- windows and messages ---- */
#define HWND_MESSAGE               ((HWND)(LONG_PTR)-3)
#define HWND_BROADCAST             ((HWND)0xffff)
#define CW_USEDEFAULT              ((int32_t)0x80000000)
#define WS_OVERLAPPED              0x00000000
#define WS_POPUP                   0x80000000
#define WS_CHILD                   0x40000000
#define WS_VISIBLE                 0x10000000
#define WS_OVERLAPPEDWINDOW        0x00CF0000
#define WS_EX_NOACTIVATE           0x08000000

#define GWLP_WNDPROC               (-4)
#define GWLP_HINSTANCE             (-6)
#define GWLP_HWNDPARENT            (-8)
#define GWLP_ID                    (-12)
#define GWL_STYLE                  (-16)
#define GWL_EXSTYLE                (-20)
#define GWLP_USERDATA              (-21)

#define PM_NOREMOVE                0x0000
#define PM_REMOVE                  0x0001
#define PM_NOYIELD                 0x0002

#define WM_NULL                    0x0000
#define WM_CREATE                  0x0001
#define WM_DESTROY                 0x0002
#define WM_CLOSE                   0x0010
#define WM_QUIT                    0x0012
#define WM_NCCREATE                0x0081
#define WM_NCDESTROY               0x0082
#define WM_KEYDOWN                 0x0100
#define WM_CHAR                    0x0102
#define WM_COMMAND                 0x0111
#define WM_TIMER                   0x0113
#define WM_USER                    0x0400
#define WM_APP                     0x8000

#define MAKEINTATOM(atom) ((LPCWSTR)(ULONG_PTR)((WORD)(atom)))
#define IS_INTRESOURCE(p) ((((ULONG_PTR)(p)) >> 16) == 0)

typedef LRESULT (*WNDPROC)(HWND hwnd, UINT uMsg, WPARAM wParam, LPARAM lParam);

/* CDEF-BEGIN */
/* What the embedded Python fills in (wsemu/cface/windows.py); Win64 layouts. */
typedef struct tagPOINT {
    int32_t x;
    int32_t y;
} POINT;

typedef struct tagMSG {              /* 48 bytes */
    HWND     hwnd;
    uint32_t message;
    WPARAM   wParam;
    LPARAM   lParam;
    uint32_t time;
    POINT    pt;
    uint32_t lPrivate;
} MSG;
/* CDEF-END */
typedef POINT *PPOINT, *LPPOINT;
typedef MSG *PMSG, *LPMSG;

typedef struct tagWNDCLASSW {        /* 72 bytes */
    UINT      style;
    WNDPROC   lpfnWndProc;
    int32_t   cbClsExtra;
    int32_t   cbWndExtra;
    HINSTANCE hInstance;
    HICON     hIcon;
    HCURSOR   hCursor;
    HBRUSH    hbrBackground;
    LPCWSTR   lpszMenuName;
    LPCWSTR   lpszClassName;
} WNDCLASSW, *PWNDCLASSW, *LPWNDCLASSW;

typedef struct tagWNDCLASSEXW {      /* 80 bytes */
    UINT      cbSize;
    UINT      style;
    WNDPROC   lpfnWndProc;
    int32_t   cbClsExtra;
    int32_t   cbWndExtra;
    HINSTANCE hInstance;
    HICON     hIcon;
    HCURSOR   hCursor;
    HBRUSH    hbrBackground;
    LPCWSTR   lpszMenuName;
    LPCWSTR   lpszClassName;
    HICON     hIconSm;
} WNDCLASSEXW, *PWNDCLASSEXW, *LPWNDCLASSEXW;

typedef struct tagCREATESTRUCTW {    /* 80 bytes: WM_NCCREATE/WM_CREATE's lParam */
    LPVOID    lpCreateParams;
    HINSTANCE hInstance;
    HMENU     hMenu;
    HWND      hwndParent;
    int32_t   cy;
    int32_t   cx;
    int32_t   y;
    int32_t   x;
    LONG      style;
    LPCWSTR   lpszName;
    LPCWSTR   lpszClass;
    DWORD     dwExStyle;
} CREATESTRUCTW, *LPCREATESTRUCTW;

#if defined(UNICODE) || defined(_UNICODE)
typedef WNDCLASSW WNDCLASS;
typedef WNDCLASSEXW WNDCLASSEX;
typedef CREATESTRUCTW CREATESTRUCT;
#define RegisterClass RegisterClassW
#define RegisterClassEx RegisterClassExW
#define UnregisterClass UnregisterClassW
#define CreateWindowEx CreateWindowExW
#define CreateWindow CreateWindowW
#define GetMessage GetMessageW
#define PeekMessage PeekMessageW
#define DispatchMessage DispatchMessageW
#define DefWindowProc DefWindowProcW
#define PostMessage PostMessageW
#define SendMessage SendMessageW
#define SetWindowLongPtr SetWindowLongPtrW
#define GetWindowLongPtr GetWindowLongPtrW
#define GetModuleHandle GetModuleHandleW
#define lstrlen lstrlenW
#define lstrcpy lstrcpyW
#define lstrcmp lstrcmpW
#define lstrcmpi lstrcmpiW
#define lstrcat lstrcatW
#endif

/* ---- the functions (libwsemu exports the wsemu_ names: no interposition) ---- */
#define GetLastError wsemu_GetLastError
#define SetLastError wsemu_SetLastError
#define GetCurrentProcessId wsemu_GetCurrentProcessId
#define GetCurrentThreadId wsemu_GetCurrentThreadId
#define Sleep wsemu_Sleep
#define GetTickCount wsemu_GetTickCount
#define GetTickCount64 wsemu_GetTickCount64
#define GetModuleHandleW wsemu_GetModuleHandleW
#define CloseHandle wsemu_CloseHandle
#define WaitForSingleObject wsemu_WaitForSingleObject
#define WaitForMultipleObjects wsemu_WaitForMultipleObjects
#define RegisterClassW wsemu_RegisterClassW
#define RegisterClassExW wsemu_RegisterClassExW
#define UnregisterClassW wsemu_UnregisterClassW
#define CreateWindowExW wsemu_CreateWindowExW
#define CreateWindowW(cls, name, style, x, y, w, h, parent, menu, inst, param) \
    wsemu_CreateWindowExW(0, cls, name, style, x, y, w, h, parent, menu, inst, param)
#define DestroyWindow wsemu_DestroyWindow
#define IsWindow wsemu_IsWindow
#define GetMessageW wsemu_GetMessageW
#define PeekMessageW wsemu_PeekMessageW
#define TranslateMessage wsemu_TranslateMessage
#define DispatchMessageW wsemu_DispatchMessageW
#define DefWindowProcW wsemu_DefWindowProcW
#define PostMessageW wsemu_PostMessageW
#define PostQuitMessage wsemu_PostQuitMessage
#define SendMessageW wsemu_SendMessageW
#define SetWindowLongPtrW wsemu_SetWindowLongPtrW
#define GetWindowLongPtrW wsemu_GetWindowLongPtrW
#define lstrlenW wsemu_lstrlenW
#define lstrcpyW wsemu_lstrcpyW
#define lstrcpynW wsemu_lstrcpynW
#define lstrcatW wsemu_lstrcatW
#define lstrcmpW wsemu_lstrcmpW
#define lstrcmpiW wsemu_lstrcmpiW

DWORD wsemu_GetLastError(void);
void wsemu_SetLastError(DWORD dwErrCode);
DWORD wsemu_GetCurrentProcessId(void);
DWORD wsemu_GetCurrentThreadId(void);
void wsemu_Sleep(DWORD dwMilliseconds);
DWORD wsemu_GetTickCount(void);
ULONGLONG wsemu_GetTickCount64(void);
HMODULE wsemu_GetModuleHandleW(LPCWSTR lpModuleName);
BOOL wsemu_CloseHandle(HANDLE hObject);
DWORD wsemu_WaitForSingleObject(HANDLE hHandle, DWORD dwMilliseconds);
DWORD wsemu_WaitForMultipleObjects(DWORD nCount, const HANDLE *lpHandles, BOOL bWaitAll, DWORD dwMilliseconds);
ATOM wsemu_RegisterClassW(const WNDCLASSW *lpWndClass);
ATOM wsemu_RegisterClassExW(const WNDCLASSEXW *lpWndClass);
BOOL wsemu_UnregisterClassW(LPCWSTR lpClassName, HINSTANCE hInstance);
HWND wsemu_CreateWindowExW(DWORD dwExStyle, LPCWSTR lpClassName, LPCWSTR lpWindowName, DWORD dwStyle,
                           int32_t X, int32_t Y, int32_t nWidth, int32_t nHeight, HWND hWndParent,
                           HMENU hMenu, HINSTANCE hInstance, LPVOID lpParam);
BOOL wsemu_DestroyWindow(HWND hWnd);
BOOL wsemu_IsWindow(HWND hWnd);
BOOL wsemu_GetMessageW(LPMSG lpMsg, HWND hWnd, UINT wMsgFilterMin, UINT wMsgFilterMax);
BOOL wsemu_PeekMessageW(LPMSG lpMsg, HWND hWnd, UINT wMsgFilterMin, UINT wMsgFilterMax, UINT wRemoveMsg);
BOOL wsemu_TranslateMessage(const MSG *lpMsg);
LRESULT wsemu_DispatchMessageW(const MSG *lpMsg);
LRESULT wsemu_DefWindowProcW(HWND hWnd, UINT Msg, WPARAM wParam, LPARAM lParam);
BOOL wsemu_PostMessageW(HWND hWnd, UINT Msg, WPARAM wParam, LPARAM lParam);
void wsemu_PostQuitMessage(int32_t nExitCode);
LRESULT wsemu_SendMessageW(HWND hWnd, UINT Msg, WPARAM wParam, LPARAM lParam);
LONG_PTR wsemu_SetWindowLongPtrW(HWND hWnd, int32_t nIndex, LONG_PTR dwNewLong);
LONG_PTR wsemu_GetWindowLongPtrW(HWND hWnd, int32_t nIndex);

/* EMBEDDED-BEGIN: the message queue and event waits, implemented in Python
 * (wsemu/cface/windows.py over wsemu.msgqueue and wsemu.ws2); the Win32 calls above are C
 * (native/src/cface_windows.c) and use these. HWNDs are the msgqueue window numbers. */
uint64_t wsemu_win_queue_create(void);
int32_t wsemu_win_queue_destroy(uint64_t hwnd);
int32_t wsemu_win_queue_post(uint64_t hwnd, uint32_t msg, uint64_t wparam, int64_t lparam);
int32_t wsemu_win_queue_quit(int32_t exit_code);
int32_t wsemu_win_queue_take(MSG *msg, int64_t hwnd, uint32_t first, uint32_t last, int32_t remove, int32_t wait);
uint32_t wsemu_win_wait_events(const HANDLE *handles, uint32_t count, int32_t wait_all, uint32_t timeout_ms);
int32_t wsemu_win_close_event(HANDLE handle);
/* EMBEDDED-END */

/* ---- wide strings (16-bit WCHAR; lstrlenW(NULL) is 0 as on Windows) ---- */
static inline int32_t wsemu_lstrlenW(LPCWSTR s)
{
    int32_t n = 0;
    if (s)
        while (s[n])
            n++;
    return n;
}

static inline LPWSTR wsemu_lstrcpynW(LPWSTR dest, LPCWSTR src, int32_t max)
{
    int32_t i = 0;
    if (max <= 0)
        return dest;
    for (; i < max - 1 && src[i]; i++)
        dest[i] = src[i];
    dest[i] = 0;
    return dest;
}

static inline LPWSTR wsemu_lstrcpyW(LPWSTR dest, LPCWSTR src)
{
    return wsemu_lstrcpynW(dest, src, wsemu_lstrlenW(src) + 1);
}

static inline LPWSTR wsemu_lstrcatW(LPWSTR dest, LPCWSTR src)
{
    wsemu_lstrcpyW(dest + wsemu_lstrlenW(dest), src);
    return dest;
}

static inline WCHAR wsemu_fold_ascii_(WCHAR c) { return c >= 'A' && c <= 'Z' ? c + 32 : c; }

/* (Windows compares by locale; here by code unit, folding ASCII only for lstrcmpiW.) */
static inline int32_t wsemu_lstrcmp_(LPCWSTR a, LPCWSTR b, int fold)
{
    static const WCHAR empty[1] = {0};
    a = a ? a : empty;
    b = b ? b : empty;
    for (;; a++, b++) {
        WCHAR x = fold ? wsemu_fold_ascii_(*a) : *a, y = fold ? wsemu_fold_ascii_(*b) : *b;
        if (x != y)
            return x < y ? -1 : 1;
        if (!x)
            return 0;
    }
}

static inline int32_t wsemu_lstrcmpW(LPCWSTR a, LPCWSTR b) { return wsemu_lstrcmp_(a, b, 0); }
static inline int32_t wsemu_lstrcmpiW(LPCWSTR a, LPCWSTR b) { return wsemu_lstrcmp_(a, b, 1); }

#endif
