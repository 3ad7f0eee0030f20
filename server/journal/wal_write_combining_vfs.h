#ifndef LOAN_GATEWAY_SERVER_JOURNAL_WAL_WRITE_COMBINING_VFS_H_
#define LOAN_GATEWAY_SERVER_JOURNAL_WAL_WRITE_COMBINING_VFS_H_

namespace loan_gateway {

// The name of a SQLite VFS (registered on first call, never the default)
// that is the default VFS except for WAL files: SQLite writes each WAL frame
// as two pwrite calls (its 24-byte header, then the page), ~30 a group
// commit; this VFS keeps consecutive writes to a WAL file in memory and
// hands them to the file as one write when a transaction's last frame is
// complete, before SQLite syncs, reads, sizes, truncates or closes the
// file, or when a write does not follow the last one. A commit's frames are
// in the file before SQLite publishes them to other connections, and every
// read sees every earlier write. Held bytes that fail to reach the file fail
// every later write, sync, read, size and truncate of it until it is closed
// (fail closed: no sync ever reports them durable). nullptr (the default VFS)
// if SQLite would not register it.
const char* WalWriteCombiningVfs();

}  // namespace loan_gateway

#endif  // LOAN_GATEWAY_SERVER_JOURNAL_WAL_WRITE_COMBINING_VFS_H_
