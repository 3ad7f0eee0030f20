#ifndef LOAN_GATEWAY_SERVER_RUNTIME_RUNTIME_TUNING_H_
#define LOAN_GATEWAY_SERVER_RUNTIME_RUNTIME_TUNING_H_

#include <cstddef>

namespace loan_gateway {

// How much free memory may sit at the top of a heap before glibc gives it
// back to the kernel (see TuneRuntime).
inline constexpr size_t kHeapTrimThresholdBytes = size_t{4} << 20;

// Process-wide settings the gateway runs with, set once at the start of
// main, before any thread: the gateway and bench/minimal_gateway (the floor
// it is measured against) both call it, so they run on the same runtime.
//  - glibc gives the free top of a thread's heap back to the kernel once it
//    passes 128 KiB: SQLite's savepoint journal, freed at each journal
//    write, passed it on every borrow, and each madvise(MADV_DONTNEED)
//    interrupts the other vCPUs to flush their TLBs. Up to
//    kHeapTrimThresholdBytes stays instead (per heap; a heap of a thread
//    arena is at most 64 MiB). Setting it also fixes glibc's mmap threshold
//    at 128 KiB (no more dynamic raise), and overrides a trim threshold set
//    by GLIBC_TUNABLES.
//  - Debian's absl checks every Mutex's lock order against a global graph
//    (a node made and removed per Mutex): a few per cent of a call's CPU.
//    The tests keep the check on; the binaries do not pay for it.
// Returns false when glibc refused the setting.
bool TuneRuntime();

}  // namespace loan_gateway

#endif  // LOAN_GATEWAY_SERVER_RUNTIME_RUNTIME_TUNING_H_
