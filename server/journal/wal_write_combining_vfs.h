#ifndef LOAN_GATEWAY_SERVER_JOURNAL_WAL_WRITE_COMBINING_VFS_H_
#define LOAN_GATEWAY_SERVER_JOURNAL_WAL_WRITE_COMBINING_VFS_H_

namespace loan_gateway {

// The name of a SQLite VFS (registered on first call, never the default)
// that is the default VFS except for WAL files: SQLite writes each WAL frame
// as two pwrite calls (its 24-byte header, then the page), ~30 a group
// commit; this VFS keeps consecutive writes to a WAL file in memory and
// hands them to the file as one write, before SQLite syncs, reads, sizes,
// truncates or closes it, or when a write does not follow the last one.
// Nothing SQLite counts on changes: what a sync returns durable was written
// before it, and every read sees every write made before it. nullptr (the
// default VFS) if SQLite would not register it.
const char* WalWriteCombiningVfs();

}  // namespace loan_gateway

#endif  // LOAN_GATEWAY_SERVER_JOURNAL_WAL_WRITE_COMBINING_VFS_H_
