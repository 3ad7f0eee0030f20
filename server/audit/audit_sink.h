#ifndef LOAN_GATEWAY_SERVER_AUDIT_AUDIT_SINK_H_
#define LOAN_GATEWAY_SERVER_AUDIT_AUDIT_SINK_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "audit/audit_chain.h"

namespace loan_gateway {

// One record of the chain as the audit log formatted it (audit_line.h).
struct ChainedAuditLine {
  uint64_t seq = 0;
  std::string sha256;
  std::string text;  // The whole line, its newline included.
};

// Where the audit log's lines are made durable: a file (FileAuditSink, the
// default) or a table of the journal's database (JournalAuditSink). Only
// the log's writer thread calls it, one call at a time.
class AuditSink {
 public:
  virtual ~AuditSink() = default;
  // What the chain continues from, verified; a chain that does not verify is
  // refused (FAILED_PRECONDITION, naming the first broken record).
  virtual absl::StatusOr<AuditHead> Head() = 0;
  // False when lines are written without being read back (a pipe): every
  // start is a new chain.
  virtual bool reads_back() const = 0;
  // Appends `lines` durably, in order (`bytes` is their text, concatenated).
  virtual absl::Status Append(const std::vector<ChainedAuditLine>& lines,
                              const std::string& bytes) = 0;
  // Whether the log may go on after a failed Append, from where Recover
  // says the chain stands. A file may not: after a failed fdatasync Linux
  // may have dropped pages it reported written, so the log fails closed for
  // good. A database may: a transaction is there whole or not at all.
  virtual bool recovers() const { return false; }
  virtual absl::StatusOr<AuditHead> Recover() {
    return absl::UnimplementedError("this audit sink does not recover");
  }
  // Where it writes, for messages and the log line at open.
  virtual const std::string& name() const = 0;
};

// Appends to a file, or a pipe or a device. A regular file (created with
// mode 0600 when missing) is locked (a second gateway on it is refused) and
// fdatasync'ed; a FIFO must already have a reader, or Open fails at once.
class FileAuditSink final : public AuditSink {
 public:
  static absl::StatusOr<std::unique_ptr<FileAuditSink>> Open(
      const std::string& path);
  ~FileAuditSink() override;

  absl::StatusOr<AuditHead> Head() override;
  bool reads_back() const override { return regular_; }
  absl::Status Append(const std::vector<ChainedAuditLine>& lines,
                      const std::string& bytes) override;
  const std::string& name() const override { return path_; }

 private:
  FileAuditSink(std::string path, int fd, bool regular)
      : path_(std::move(path)), fd_(fd), regular_(regular) {}

  const std::string path_;
  const int fd_;
  const bool regular_;  // Only regular files are read back and fdatasync'ed.
};

}  // namespace loan_gateway

#endif  // LOAN_GATEWAY_SERVER_AUDIT_AUDIT_SINK_H_
