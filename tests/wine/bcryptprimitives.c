/* bcryptprimitives.dll for Wine 8.0, which lacks it: Rust >= 1.78 programs get
 * their random bytes from ProcessPrng and exit with code 53 when the DLL is
 * missing. This stub forwards to advapi32's RtlGenRandom (SystemFunction036),
 * which Wine does implement. Built with mingw-w64 by tests/wine/prefix.sh. */
#include <windows.h>

BOOLEAN WINAPI SystemFunction036(PVOID buffer, ULONG length);

BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T length)
{
    while (length > 0) {
        ULONG chunk = length > 0x40000000 ? 0x40000000 : (ULONG)length;
        if (!SystemFunction036(data, chunk))
            return FALSE;
        data += chunk;
        length -= chunk;
    }
    return TRUE;
}
