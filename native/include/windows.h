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

#endif
