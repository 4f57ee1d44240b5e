/* Wine 8 lacks bcryptprimitives.dll, which Rust's std (1.78+) calls for random bytes:
   ProcessPrng, forwarded to RtlGenRandom (advapi32's SystemFunction036). Test use only. */
#include <windows.h>
BOOLEAN WINAPI SystemFunction036(PVOID buffer, ULONG length);
__declspec(dllexport) BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T len) {
  while (len > 0) {
    ULONG n = len > 0x40000000 ? 0x40000000 : (ULONG)len;
    if (!SystemFunction036(data, n)) return FALSE;
    data += n; len -= n;
  }
  return TRUE;
}
