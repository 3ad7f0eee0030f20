#include "journal/wal_write_combining_vfs.h"

#include <sqlite3.h>

#include <cstddef>
#include <string>

namespace loan_gateway {
namespace {

constexpr char kName[] = "lg-wal-combining";
// The most the default (unix) VFS writes in one call: it masks a larger
// count to its low 17 bits (os_unix.c, seekAndWriteFd), and a short write is
// SQLITE_FULL. ~31 frames; a write that would pass it sends what is held
// first.
constexpr size_t kMaxHeld = 0x1ffff;

// The default VFS, which does all the work.
sqlite3_vfs* real_vfs = nullptr;

// A WAL frame's header: the page number, then (non-zero only in a
// transaction's last frame) the database's size in pages after the commit.
constexpr int kFrameHeaderSize = 24;

// A WAL file as SQLite holds it: this header (our methods), then the
// default VFS's own file. SQLite places it 8-byte aligned (after its Wal).
struct WalFile {
  sqlite3_file base;
  std::string* held;  // Written by SQLite, not yet handed to the file.
  sqlite3_int64 held_offset;
  // The last write was a commit frame's header: its page ends the
  // transaction.
  bool commit_page_next;
  // Held bytes that could not be written: every later write, sync, read,
  // size and truncate fails with this until the file is closed (the journal
  // fails closed). Cleared on being reported, it could be forgotten while
  // SQLite still counts the lost frames (a statement-level rollback keeps
  // frames spilled earlier in the transaction), and a later commit would
  // be synced after a hole.
  int lost;

  sqlite3_file* real() { return reinterpret_cast<sqlite3_file*>(this + 1); }
};
static_assert(sizeof(WalFile) % 8 == 0, "the default VFS's file follows it");

WalFile* Wal(sqlite3_file* file) { return reinterpret_cast<WalFile*>(file); }
sqlite3_file* Real(sqlite3_file* file) { return Wal(file)->real(); }
const sqlite3_io_methods& RealMethods(sqlite3_file* file) {
  return *Real(file)->pMethods;
}

// Hands what is held to the file, in one write. A failure is kept in
// `lost` (the bytes are gone) as well as returned; while it is, nothing
// more is held.
int Flush(sqlite3_file* file) {
  WalFile* wal = Wal(file);
  if (wal->lost != SQLITE_OK) {
    wal->held->clear();
    return wal->lost;
  }
  if (wal->held->empty()) return SQLITE_OK;
  const int rc = RealMethods(file).xWrite(Real(file), wal->held->data(),
                                          static_cast<int>(wal->held->size()),
                                          wal->held_offset);
  wal->held->clear();
  wal->lost = rc;
  return rc;
}

bool IsCommitFrameHeader(const void* data, int amount) {
  if (amount != kFrameHeaderSize) return false;
  const auto* bytes = static_cast<const unsigned char*>(data);
  return (bytes[4] | bytes[5] | bytes[6] | bytes[7]) != 0;
}

int Write(sqlite3_file* file, const void* data, int amount,
          sqlite3_int64 offset) {
  WalFile* wal = Wal(file);
  if (wal->lost != SQLITE_OK) {
    wal->commit_page_next = false;
    return wal->lost;
  }
  std::string& held = *wal->held;
  const auto size = static_cast<size_t>(amount);
  const bool follows =
      !held.empty() &&
      offset == wal->held_offset + static_cast<sqlite3_int64>(held.size()) &&
      held.size() + size <= kMaxHeld;
  if (!follows) {
    // Anything else (the WAL restarted at its top, a frame written again)
    // goes to the file only after what was written before it.
    if (const int rc = Flush(file); rc != SQLITE_OK) return rc;
    if (size > kMaxHeld) {
      wal->commit_page_next = false;
      return RealMethods(file).xWrite(Real(file), data, amount, offset);
    }
    wal->held_offset = offset;
  }
  held.append(static_cast<const char*>(data), size);
  if (wal->commit_page_next) {
    // A transaction's last frame is complete: its frames go to the file
    // now, before SQLite publishes them in the wal-index to other
    // connections, whether or not it syncs at each commit.
    wal->commit_page_next = false;
    return Flush(file);
  }
  wal->commit_page_next = IsCommitFrameHeader(data, amount);
  return SQLITE_OK;
}

int Close(sqlite3_file* file) {
  const int flushed = Flush(file);
  const int closed = RealMethods(file).xClose(Real(file));
  delete Wal(file)->held;
  return flushed != SQLITE_OK ? flushed : closed;
}

int Read(sqlite3_file* file, void* out, int amount, sqlite3_int64 offset) {
  if (const int rc = Flush(file); rc != SQLITE_OK) return rc;
  return RealMethods(file).xRead(Real(file), out, amount, offset);
}

int Truncate(sqlite3_file* file, sqlite3_int64 size) {
  if (const int rc = Flush(file); rc != SQLITE_OK) return rc;
  return RealMethods(file).xTruncate(Real(file), size);
}

int Sync(sqlite3_file* file, int flags) {
  if (const int rc = Flush(file); rc != SQLITE_OK) return rc;
  return RealMethods(file).xSync(Real(file), flags);
}

int FileSize(sqlite3_file* file, sqlite3_int64* size) {
  if (const int rc = Flush(file); rc != SQLITE_OK) return rc;
  return RealMethods(file).xFileSize(Real(file), size);
}

int Lock(sqlite3_file* file, int level) {
  return RealMethods(file).xLock(Real(file), level);
}

int Unlock(sqlite3_file* file, int level) {
  return RealMethods(file).xUnlock(Real(file), level);
}

int CheckReservedLock(sqlite3_file* file, int* out) {
  return RealMethods(file).xCheckReservedLock(Real(file), out);
}

int FileControl(sqlite3_file* file, int op, void* arg) {
  if (const int rc = Flush(file); rc != SQLITE_OK) return rc;
  return RealMethods(file).xFileControl(Real(file), op, arg);
}

int SectorSize(sqlite3_file* file) {
  return RealMethods(file).xSectorSize(Real(file));
}

int DeviceCharacteristics(sqlite3_file* file) {
  return RealMethods(file).xDeviceCharacteristics(Real(file));
}

int ShmMap(sqlite3_file* file, int region, int size, int extend,
           void volatile** out) {
  if (RealMethods(file).iVersion < 2) return SQLITE_IOERR_SHMMAP;
  return RealMethods(file).xShmMap(Real(file), region, size, extend, out);
}

int ShmLock(sqlite3_file* file, int offset, int n, int flags) {
  if (RealMethods(file).iVersion < 2) return SQLITE_IOERR_SHMLOCK;
  return RealMethods(file).xShmLock(Real(file), offset, n, flags);
}

void ShmBarrier(sqlite3_file* file) {
  if (RealMethods(file).iVersion >= 2)
    RealMethods(file).xShmBarrier(Real(file));
}

int ShmUnmap(sqlite3_file* file, int remove) {
  if (RealMethods(file).iVersion < 2) return SQLITE_OK;
  return RealMethods(file).xShmUnmap(Real(file), remove);
}

int Fetch(sqlite3_file* file, sqlite3_int64 offset, int amount, void** out) {
  *out = nullptr;  // No mapping: SQLite reads instead.
  if (RealMethods(file).iVersion < 3) return SQLITE_OK;
  if (const int rc = Flush(file); rc != SQLITE_OK) return rc;
  return RealMethods(file).xFetch(Real(file), offset, amount, out);
}

int Unfetch(sqlite3_file* file, sqlite3_int64 offset, void* page) {
  if (RealMethods(file).iVersion < 3) return SQLITE_OK;
  return RealMethods(file).xUnfetch(Real(file), offset, page);
}

const sqlite3_io_methods kWalMethods = {3,
                                        Close,
                                        Read,
                                        Write,
                                        Truncate,
                                        Sync,
                                        FileSize,
                                        Lock,
                                        Unlock,
                                        CheckReservedLock,
                                        FileControl,
                                        SectorSize,
                                        DeviceCharacteristics,
                                        ShmMap,
                                        ShmLock,
                                        ShmBarrier,
                                        ShmUnmap,
                                        Fetch,
                                        Unfetch};

int Open(sqlite3_vfs*, sqlite3_filename name, sqlite3_file* file, int flags,
         int* out_flags) {
  if ((flags & SQLITE_OPEN_WAL) == 0) {
    // Every other file is the default VFS's own, in place: SQLite calls its
    // methods directly (the main file's shared memory included).
    return real_vfs->xOpen(real_vfs, name, file, flags, out_flags);
  }
  WalFile* wal = Wal(file);
  wal->base.pMethods = nullptr;  // Until open: SQLite then never closes it.
  const int rc = real_vfs->xOpen(real_vfs, name, wal->real(), flags, out_flags);
  if (rc != SQLITE_OK) return rc;
  wal->held = new std::string;
  wal->held_offset = 0;
  wal->commit_page_next = false;
  wal->lost = SQLITE_OK;
  wal->base.pMethods = &kWalMethods;
  return SQLITE_OK;
}

// The rest of the VFS is the default one's, called with its own handle.
int Delete(sqlite3_vfs*, const char* name, int sync_dir) {
  return real_vfs->xDelete(real_vfs, name, sync_dir);
}
int Access(sqlite3_vfs*, const char* name, int flags, int* out) {
  return real_vfs->xAccess(real_vfs, name, flags, out);
}
int FullPathname(sqlite3_vfs*, const char* name, int size, char* out) {
  return real_vfs->xFullPathname(real_vfs, name, size, out);
}
void* DlOpen(sqlite3_vfs*, const char* name) {
  return real_vfs->xDlOpen(real_vfs, name);
}
void DlError(sqlite3_vfs*, int size, char* out) {
  real_vfs->xDlError(real_vfs, size, out);
}
void (*DlSym(sqlite3_vfs*, void* handle, const char* symbol))() {
  return real_vfs->xDlSym(real_vfs, handle, symbol);
}
void DlClose(sqlite3_vfs*, void* handle) {
  real_vfs->xDlClose(real_vfs, handle);
}
int Randomness(sqlite3_vfs*, int size, char* out) {
  return real_vfs->xRandomness(real_vfs, size, out);
}
int Sleep(sqlite3_vfs*, int microseconds) {
  return real_vfs->xSleep(real_vfs, microseconds);
}
int CurrentTime(sqlite3_vfs*, double* out) {
  return real_vfs->xCurrentTime(real_vfs, out);
}
int GetLastError(sqlite3_vfs*, int size, char* out) {
  return real_vfs->xGetLastError(real_vfs, size, out);
}
int CurrentTimeInt64(sqlite3_vfs*, sqlite3_int64* out) {
  return real_vfs->xCurrentTimeInt64(real_vfs, out);
}

sqlite3_vfs* Register() {
  real_vfs = sqlite3_vfs_find(nullptr);
  if (real_vfs == nullptr || real_vfs->iVersion < 2) return nullptr;
  static sqlite3_vfs vfs = {};
  vfs.iVersion = 2;
  vfs.szOsFile = static_cast<int>(sizeof(WalFile)) + real_vfs->szOsFile;
  vfs.mxPathname = real_vfs->mxPathname;
  vfs.zName = kName;
  vfs.xOpen = Open;
  vfs.xDelete = Delete;
  vfs.xAccess = Access;
  vfs.xFullPathname = FullPathname;
  vfs.xDlOpen = DlOpen;
  vfs.xDlError = DlError;
  vfs.xDlSym = DlSym;
  vfs.xDlClose = DlClose;
  vfs.xRandomness = Randomness;
  vfs.xSleep = Sleep;
  vfs.xCurrentTime = CurrentTime;
  vfs.xGetLastError = GetLastError;
  vfs.xCurrentTimeInt64 = CurrentTimeInt64;
  if (sqlite3_vfs_register(&vfs, /*makeDflt=*/0) != SQLITE_OK) return nullptr;
  return &vfs;
}

}  // namespace

const char* WalWriteCombiningVfs() {
  // Registered once; should SQLite refuse, the default VFS serves instead.
  static sqlite3_vfs* const vfs = Register();
  return vfs != nullptr ? vfs->zName : nullptr;
}

}  // namespace loan_gateway
