/* Test-only stand-ins for Winsock calls libwsemu does not export yet (WSAAsyncSelect and
 * the WSAEVENT calls are being added to <winsock2.h> in parallel). Each one steps aside as
 * soon as the header maps its name to a wsemu_ symbol, and none is used on Windows. They
 * call wsemu.ws2 through the interpreter libwsemu embeds (already running: the programs call
 * WSAStartup first). */
#ifndef PENDING_EXPORTS_H
#define PENDING_EXPORTS_H

#ifndef WSAGETSELECTEVENT
#define WSAGETSELECTEVENT(lParam) LOWORD(lParam)
#define WSAGETSELECTERROR(lParam) HIWORD(lParam)
#endif

#ifndef _WIN32
#include <dlfcn.h>

/* The value of a Python expression over wsemu.ws2, as a C integer. */
static inline long long pending_eval(const char *expression)
{
    void *py = dlopen(NULL, RTLD_LAZY);            /* the program and its libraries */
    int (*ensure)(void) = (int (*)(void))dlsym(py, "PyGILState_Ensure");
    void (*release)(int) = (void (*)(int))dlsym(py, "PyGILState_Release");
    void *(*add_module)(const char *) = (void *(*)(const char *))dlsym(py, "PyImport_AddModule");
    void *(*module_dict)(void *) = (void *(*)(void *))dlsym(py, "PyModule_GetDict");
    void *(*run)(const char *, int, void *, void *) =
        (void *(*)(const char *, int, void *, void *))dlsym(py, "PyRun_String");
    long long (*as_long)(void *) = (long long (*)(void *))dlsym(py, "PyLong_AsLongLong");
    void (*decref)(void *) = (void (*)(void *))dlsym(py, "Py_DecRef");
    void (*print_error)(void) = (void (*)(void))dlsym(py, "PyErr_Print");
    char code[512];
    snprintf(code, sizeof code, "__import__('wsemu.ws2').ws2.%s", expression);
    int gil = ensure();
    void *globals = module_dict(add_module("__main__"));
    void *result = run(code, 258 /* Py_eval_input */, globals, globals);
    long long value = -1;
    if (result) {
        value = as_long(result);
        decref(result);
    } else {
        print_error();
    }
    release(gil);
    return value;
}

#ifndef WSAAsyncSelect
static inline int WSAAsyncSelect(SOCKET s, HWND hwnd, UINT msg, LONG events)
{
    char expression[160];
    snprintf(expression, sizeof expression, "WSAAsyncSelect(%llu, %llu, %u, %d) or 0",
             (unsigned long long)s, (unsigned long long)(uintptr_t)hwnd, msg, events);
    return (int)pending_eval(expression);
}
#endif

#ifndef WSACreateEvent
static inline WSAEVENT WSACreateEvent(void)
{
    return (WSAEVENT)(uintptr_t)pending_eval("WSACreateEvent()");
}
#endif

#ifndef WSASetEvent
static inline BOOL WSASetEvent(WSAEVENT event)
{
    char expression[64];
    snprintf(expression, sizeof expression, "WSASetEvent(%llu)", (unsigned long long)(uintptr_t)event);
    return (BOOL)pending_eval(expression);
}
#endif
#endif /* !_WIN32 */

#endif
