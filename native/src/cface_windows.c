/* <windows.h> for socket programs: the Win32 process/time/handle calls they use, and
 * message-only windows for WSAAsyncSelect (DESIGN.md §3.3).
 *
 * Split: the window classes and the windows' C side (procedure, GWLP_* values, extra bytes)
 * live here, because window procedures are C functions that DispatchMessageW/SendMessageW
 * call directly, with no trip through Python per message. A window's queue is a
 * wsemu.msgqueue window (its HWND is that window's number), because that is where
 * WSAAsyncSelect's event machinery posts; posting, the blocking GetMessageW wait (it
 * releases the GIL) and event waits go to the embedded Python (wsemu/cface/windows.py).
 *
 * Windows per thread, here per process: a window's messages can be taken by any thread,
 * SendMessageW calls the procedure on the caller's thread, GetMessageW(NULL) sees every
 * window of the process. CreateWindowExW sends WM_NCCREATE then WM_CREATE (lParam: a
 * CREATESTRUCTW; a refusal gets WM_NCDESTROY and NULL); DestroyWindow sends WM_DESTROY,
 * destroys the child windows, then sends WM_NCDESTROY, as Windows does; nothing else (no
 * sizing or activation messages: every window is message-only). Win32 calls leave the last
 * error alone when they succeed. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <link.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <windows.h>

int32_t wsemu_WSAGetLastError(void);
void wsemu_WSASetLastError(int32_t code);

/* The embedded calls clear the last error when they succeed; a Win32 call must not. */
#define KEEPING_LAST_ERROR(call) __extension__({                                 \
        int32_t saved_ = wsemu_WSAGetLastError();                                 \
        __typeof__(call) result_ = (call);                                        \
        if (wsemu_WSAGetLastError() == 0)                                         \
            wsemu_WSASetLastError(saved_);                                        \
        result_;                                                                  \
    })

static int32_t fail(DWORD code) { wsemu_WSASetLastError((int32_t)code); return 0; }

/* ---------------------------------------------------------------------------------------
 * Process, thread, time, last error
 * ------------------------------------------------------------------------------------- */
DWORD wsemu_GetLastError(void) { return (DWORD)wsemu_WSAGetLastError(); }
void wsemu_SetLastError(DWORD code) { wsemu_WSASetLastError((int32_t)code); }
DWORD wsemu_GetCurrentProcessId(void) { return (DWORD)getpid(); }
DWORD wsemu_GetCurrentThreadId(void) { return (DWORD)syscall(SYS_gettid); }

ULONGLONG wsemu_GetTickCount64(void)
{
    struct timespec now;
    clock_gettime(CLOCK_BOOTTIME, &now);          /* Windows counts time asleep too */
    return (ULONGLONG)now.tv_sec * 1000 + (ULONGLONG)now.tv_nsec / 1000000;
}

DWORD wsemu_GetTickCount(void) { return (DWORD)wsemu_GetTickCount64(); }

void wsemu_Sleep(DWORD ms)
{
    if (ms == INFINITE)
        for (;;)
            pause();
    if (ms == 0) {
        sched_yield();                            /* Sleep(0): give up the time slice */
        return;
    }
    struct timespec left = {ms / 1000, (long)(ms % 1000) * 1000000L};
    while (nanosleep(&left, &left) == -1 && errno == EINTR)
        ;
}

static int first_image(struct dl_phdr_info *info, size_t size, void *base)
{
    (void)size;
    for (int i = 0; i < info->dlpi_phnum; i++)
        if (info->dlpi_phdr[i].p_type == PT_LOAD) {
            *(uintptr_t *)base = (info->dlpi_addr + info->dlpi_phdr[i].p_vaddr) & ~(uintptr_t)0xfff;
            break;
        }
    return 1;                                     /* the first object is the program */
}

/* GetModuleHandleW(NULL): the program's image base, as on Windows. Other modules are not
 * Windows DLLs here: ERROR_MOD_NOT_FOUND. */
HMODULE wsemu_GetModuleHandleW(LPCWSTR name)
{
    if (name != NULL)
        return (HMODULE)(uintptr_t)fail(ERROR_MOD_NOT_FOUND);
    uintptr_t base = 0;
    dl_iterate_phdr(first_image, &base);
    return (HMODULE)base;
}

/* ---------------------------------------------------------------------------------------
 * Handles: the WSAEVENTs (eventfd numbers, closed and waited on by wsemu.ws2)
 * ------------------------------------------------------------------------------------- */
BOOL wsemu_CloseHandle(HANDLE handle)
{
    return KEEPING_LAST_ERROR(wsemu_win_close_event(handle));
}

DWORD wsemu_WaitForMultipleObjects(DWORD count, const HANDLE *handles, BOOL wait_all, DWORD ms)
{
    if (count == 0 || count > MAXIMUM_WAIT_OBJECTS)
        return fail(ERROR_INVALID_PARAMETER), WAIT_FAILED;
    if (handles == NULL)
        return fail(ERROR_NOACCESS), WAIT_FAILED;
    return KEEPING_LAST_ERROR(wsemu_win_wait_events(handles, count, wait_all != 0, ms));
}

DWORD wsemu_WaitForSingleObject(HANDLE handle, DWORD ms)
{
    return wsemu_WaitForMultipleObjects(1, &handle, FALSE, ms);
}

/* ---------------------------------------------------------------------------------------
 * Window classes and windows
 * ------------------------------------------------------------------------------------- */
#define CLASS_NAME_MAX 256

struct window_class {
    struct window_class *next;
    ATOM atom;
    WCHAR name[CLASS_NAME_MAX + 1];
    WNDCLASSEXW info;
    int windows;                                  /* UnregisterClassW fails while any */
};

struct window {
    struct window *next;
    HWND hwnd;
    struct window_class *cls;
    int dying;                                    /* DestroyWindow under way */
    /* The GWLP_* values, as GetWindowLongPtrW returns them. */
    LONG_PTR wndproc, instance, parent, id, style, exstyle, userdata;
    int32_t extra_len;                            /* the class's cbWndExtra bytes: */
    unsigned char extra[];
};

static pthread_mutex_t table_lock = PTHREAD_MUTEX_INITIALIZER;
static struct window_class *classes;
static struct window *windows;
static ATOM next_atom = 0xC000;                   /* where Windows' class atoms start */

static WCHAR fold(WCHAR c) { return c >= 'A' && c <= 'Z' ? c + 32 : c; }

/* A class by name (case-insensitive, as Windows) or by MAKEINTATOM atom; under the lock. */
static struct window_class *find_class(LPCWSTR name)
{
    for (struct window_class *cls = classes; cls; cls = cls->next) {
        if (IS_INTRESOURCE(name)) {
            if (cls->atom == (ATOM)(uintptr_t)name)
                return cls;
            continue;
        }
        int i = 0;
        while (name[i] && fold(name[i]) == fold(cls->name[i]))
            i++;
        if (!name[i] && !cls->name[i])
            return cls;
    }
    return NULL;
}

static struct window *find_window(HWND hwnd)
{
    for (struct window *w = windows; w && hwnd; w = w->next)
        if (w->hwnd == hwnd)
            return w;
    return NULL;
}

ATOM wsemu_RegisterClassExW(const WNDCLASSEXW *wc)
{
    if (wc == NULL)
        return fail(ERROR_NOACCESS);
    if (wc->cbSize != sizeof(WNDCLASSEXW) || wc->lpfnWndProc == NULL || wc->lpszClassName == NULL
        || IS_INTRESOURCE(wc->lpszClassName) || wsemu_lstrlenW(wc->lpszClassName) > CLASS_NAME_MAX
        || wc->cbClsExtra < 0 || wc->cbWndExtra < 0)
        return fail(ERROR_INVALID_PARAMETER);
    struct window_class *cls = calloc(1, sizeof *cls);
    if (cls == NULL)
        return fail(ERROR_NOT_ENOUGH_MEMORY);
    cls->info = *wc;
    wsemu_lstrcpynW(cls->name, wc->lpszClassName, CLASS_NAME_MAX + 1);
    cls->info.lpszClassName = cls->name;
    pthread_mutex_lock(&table_lock);
    if (find_class(cls->name) != NULL) {
        pthread_mutex_unlock(&table_lock);
        free(cls);
        return fail(ERROR_CLASS_ALREADY_EXISTS);
    }
    cls->atom = next_atom++;
    cls->next = classes;
    classes = cls;
    pthread_mutex_unlock(&table_lock);
    return cls->atom;
}

ATOM wsemu_RegisterClassW(const WNDCLASSW *wc)
{
    if (wc == NULL)
        return fail(ERROR_NOACCESS);
    WNDCLASSEXW ex = {sizeof ex, wc->style, wc->lpfnWndProc, wc->cbClsExtra, wc->cbWndExtra,
                      wc->hInstance, wc->hIcon, wc->hCursor, wc->hbrBackground, wc->lpszMenuName,
                      wc->lpszClassName, NULL};
    return wsemu_RegisterClassExW(&ex);
}

/* (hInstance is not compared: every class here belongs to the one program.) */
BOOL wsemu_UnregisterClassW(LPCWSTR name, HINSTANCE instance)
{
    (void)instance;
    if (name == NULL)
        return fail(ERROR_CLASS_DOES_NOT_EXIST);
    pthread_mutex_lock(&table_lock);
    struct window_class *cls = find_class(name);
    DWORD error = cls == NULL ? ERROR_CLASS_DOES_NOT_EXIST : cls->windows ? ERROR_CLASS_HAS_WINDOWS : 0;
    if (!error) {
        struct window_class **link = &classes;
        while (*link != cls)
            link = &(*link)->next;
        *link = cls->next;
    }
    pthread_mutex_unlock(&table_lock);
    if (error)
        return fail(error);
    free(cls);
    return TRUE;
}

/* Call a window's procedure (looked up under the lock, called outside it: a procedure may
 * create, destroy or post). FALSE, with ERROR_INVALID_WINDOW_HANDLE, if there is none. */
static BOOL call_window(HWND hwnd, UINT msg, WPARAM wparam, LPARAM lparam, LRESULT *result)
{
    pthread_mutex_lock(&table_lock);
    struct window *w = find_window(hwnd);
    WNDPROC proc = w ? (WNDPROC)w->wndproc : NULL;
    pthread_mutex_unlock(&table_lock);
    if (w == NULL)
        return fail(ERROR_INVALID_WINDOW_HANDLE);
    *result = proc ? proc(hwnd, msg, wparam, lparam) : 0;
    return TRUE;
}

static LRESULT send_to(HWND hwnd, UINT msg, WPARAM wparam, LPARAM lparam)
{
    LRESULT result = 0;
    call_window(hwnd, msg, wparam, lparam, &result);
    return result;
}

/* The table entry goes; then its queue (messages still queued for it are dropped). */
static void forget_window(HWND hwnd)
{
    pthread_mutex_lock(&table_lock);
    struct window **link = &windows;
    while (*link && (*link)->hwnd != hwnd)
        link = &(*link)->next;
    struct window *w = *link;
    if (w) {
        *link = w->next;
        w->cls->windows--;
    }
    pthread_mutex_unlock(&table_lock);
    free(w);
    KEEPING_LAST_ERROR(wsemu_win_queue_destroy((uint64_t)(uintptr_t)hwnd));
}

HWND wsemu_CreateWindowExW(DWORD exstyle, LPCWSTR class_name, LPCWSTR window_name, DWORD style,
                           int32_t x, int32_t y, int32_t width, int32_t height, HWND parent,
                           HMENU menu, HINSTANCE instance, LPVOID param)
{
    if (class_name == NULL)
        return (HWND)(uintptr_t)fail(ERROR_CANNOT_FIND_WND_CLASS);
    pthread_mutex_lock(&table_lock);
    struct window_class *cls = find_class(class_name);
    DWORD error = cls == NULL ? ERROR_CANNOT_FIND_WND_CLASS
                : parent && parent != HWND_MESSAGE && !find_window(parent) ? ERROR_INVALID_WINDOW_HANDLE : 0;
    if (!error)
        cls->windows++;                           /* (so the class stays while we work) */
    pthread_mutex_unlock(&table_lock);
    if (error)
        return (HWND)(uintptr_t)fail(error);

    struct window *w = calloc(1, sizeof *w + (size_t)cls->info.cbWndExtra);
    uint64_t number = w ? KEEPING_LAST_ERROR(wsemu_win_queue_create()) : 0;
    if (number == 0) {
        pthread_mutex_lock(&table_lock);
        cls->windows--;
        pthread_mutex_unlock(&table_lock);
        free(w);
        return (HWND)(uintptr_t)fail(ERROR_NOT_ENOUGH_MEMORY);
    }
    w->hwnd = (HWND)(uintptr_t)number;
    w->cls = cls;
    w->wndproc = (LONG_PTR)cls->info.lpfnWndProc;
    w->instance = (LONG_PTR)instance;
    w->parent = parent == HWND_MESSAGE ? 0 : (LONG_PTR)parent;
    w->id = (LONG_PTR)menu;
    w->style = (LONG)style;
    w->exstyle = (LONG)exstyle;
    w->extra_len = cls->info.cbWndExtra;
    pthread_mutex_lock(&table_lock);
    w->next = windows;
    windows = w;
    pthread_mutex_unlock(&table_lock);

    HWND hwnd = w->hwnd;
    /* (lpszClass is the caller's, name or atom, as Windows passes it) */
    CREATESTRUCTW create = {param, instance, menu, parent, height, width, y, x, (LONG)style,
                            window_name, class_name, exstyle};
    /* A procedure refusing creation gets WM_NCDESTROY only: no WM_DESTROY for a window
     * that never was (what Windows does, and Wine with it). */
    if (!send_to(hwnd, WM_NCCREATE, 0, (LPARAM)&create) || send_to(hwnd, WM_CREATE, 0, (LPARAM)&create) == -1) {
        send_to(hwnd, WM_NCDESTROY, 0, 0);
        forget_window(hwnd);
        return NULL;
    }
    return hwnd;
}

/* The next child of ``parent`` not yet being destroyed, marked as being destroyed. */
static HWND claim_child(HWND parent)
{
    HWND child = NULL;
    pthread_mutex_lock(&table_lock);
    for (struct window *w = windows; w && !child; w = w->next)
        if ((HWND)w->parent == parent && !w->dying) {
            w->dying = 1;
            child = w->hwnd;
        }
    pthread_mutex_unlock(&table_lock);
    return child;
}

static void destroy_claimed(HWND hwnd)
{
    send_to(hwnd, WM_DESTROY, 0, 0);
    for (HWND child; (child = claim_child(hwnd)) != NULL;)
        destroy_claimed(child);
    send_to(hwnd, WM_NCDESTROY, 0, 0);
    forget_window(hwnd);
}

BOOL wsemu_DestroyWindow(HWND hwnd)
{
    pthread_mutex_lock(&table_lock);
    struct window *w = find_window(hwnd);
    int already = w && w->dying;
    if (w)
        w->dying = 1;
    pthread_mutex_unlock(&table_lock);
    if (w == NULL)
        return fail(ERROR_INVALID_WINDOW_HANDLE);
    if (!already)                                 /* (a procedure destroying itself again) */
        destroy_claimed(hwnd);
    return TRUE;
}

BOOL wsemu_IsWindow(HWND hwnd)
{
    pthread_mutex_lock(&table_lock);
    BOOL found = find_window(hwnd) != NULL;
    pthread_mutex_unlock(&table_lock);
    return found;
}

/* The GWLP_* slot or the extra bytes at ``index``; NULL with the Windows error if none. */
static void *window_long(struct window *w, int32_t index)
{
    if (w == NULL)
        return fail(ERROR_INVALID_WINDOW_HANDLE), NULL;
    switch (index) {
    case GWLP_WNDPROC: return &w->wndproc;
    case GWLP_HINSTANCE: return &w->instance;
    case GWLP_HWNDPARENT: return &w->parent;
    case GWLP_ID: return &w->id;
    case GWL_STYLE: return &w->style;
    case GWL_EXSTYLE: return &w->exstyle;
    case GWLP_USERDATA: return &w->userdata;
    }
    if (index < 0 || (int64_t)index + (int64_t)sizeof(LONG_PTR) > w->extra_len)
        return fail(ERROR_INVALID_INDEX), NULL;
    return w->extra + index;
}

LONG_PTR wsemu_GetWindowLongPtrW(HWND hwnd, int32_t index)
{
    LONG_PTR value = 0;
    pthread_mutex_lock(&table_lock);
    void *slot = window_long(find_window(hwnd), index);
    if (slot)
        memcpy(&value, slot, sizeof value);
    pthread_mutex_unlock(&table_lock);
    return value;
}

LONG_PTR wsemu_SetWindowLongPtrW(HWND hwnd, int32_t index, LONG_PTR value)
{
    LONG_PTR previous = 0;
    if (index == GWL_STYLE || index == GWL_EXSTYLE)
        value = (LONG)value;                      /* (styles are 32-bit) */
    pthread_mutex_lock(&table_lock);
    void *slot = window_long(find_window(hwnd), index);
    if (slot) {
        memcpy(&previous, slot, sizeof previous);
        memcpy(slot, &value, sizeof value);
    }
    pthread_mutex_unlock(&table_lock);
    return previous;
}

/* ---------------------------------------------------------------------------------------
 * Messages
 * ------------------------------------------------------------------------------------- */
/* msgqueue's take: 0 = any window or the queue itself, -1 = the queue itself only. */
static int64_t queue_filter(HWND hwnd) { return hwnd == (HWND)(LONG_PTR)-1 ? -1 : (int64_t)(uintptr_t)hwnd; }

BOOL wsemu_GetMessageW(LPMSG msg, HWND hwnd, UINT first, UINT last)
{
    if (msg == NULL)
        return fail(ERROR_NOACCESS), -1;
    int32_t got = KEEPING_LAST_ERROR(wsemu_win_queue_take(msg, queue_filter(hwnd), first, last, 1, 1));
    return got < 0 ? -1 : msg->message != WM_QUIT;
}

BOOL wsemu_PeekMessageW(LPMSG msg, HWND hwnd, UINT first, UINT last, UINT remove)
{
    if (msg == NULL)
        return fail(ERROR_NOACCESS);
    int32_t got = KEEPING_LAST_ERROR(
        wsemu_win_queue_take(msg, queue_filter(hwnd), first, last, (remove & PM_REMOVE) != 0, 0));
    return got > 0;
}

/* No keyboard here: there is never a character message to make. */
BOOL wsemu_TranslateMessage(const MSG *msg)
{
    (void)msg;
    return FALSE;
}

/* (A WM_TIMER's lParam is not called as a TIMERPROC: there is no SetTimer here.) */
LRESULT wsemu_DispatchMessageW(const MSG *msg)
{
    if (msg == NULL)
        return fail(ERROR_NOACCESS);
    if (msg->hwnd == NULL)
        return 0;                                 /* a message of the queue itself */
    return send_to(msg->hwnd, msg->message, msg->wParam, msg->lParam);
}

LRESULT wsemu_SendMessageW(HWND hwnd, UINT msg, WPARAM wparam, LPARAM lparam)
{
    return send_to(hwnd, msg, wparam, lparam);
}

LRESULT wsemu_DefWindowProcW(HWND hwnd, UINT msg, WPARAM wparam, LPARAM lparam)
{
    (void)wparam;
    (void)lparam;
    switch (msg) {
    case WM_NCCREATE:
        return TRUE;                              /* go on creating the window */
    case WM_CLOSE:
        wsemu_DestroyWindow(hwnd);
        return 0;
    }
    return 0;
}

/* PostMessageW(NULL, ...) posts to the queue itself, as Windows' PostThreadMessage to the
 * caller's thread. */
BOOL wsemu_PostMessageW(HWND hwnd, UINT msg, WPARAM wparam, LPARAM lparam)
{
    return KEEPING_LAST_ERROR(wsemu_win_queue_post((uint64_t)(uintptr_t)hwnd, msg, wparam, lparam)) > 0;
}

void wsemu_PostQuitMessage(int32_t exit_code)
{
    KEEPING_LAST_ERROR(wsemu_win_queue_quit(exit_code));
}

/* A forked child has no windows (msgqueue forgets them too); the classes stay. */
static void windows_after_fork(void)
{
    pthread_mutex_init(&table_lock, NULL);
    windows = NULL;
    for (struct window_class *cls = classes; cls; cls = cls->next)
        cls->windows = 0;
}

__attribute__((constructor)) static void windows_at_fork(void)
{
    pthread_atfork(NULL, NULL, windows_after_fork);
}
