#include "audit/audit_chain.h"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "audit/audit_line.h"

namespace loan_gateway {
namespace {

absl::Status Broken(uint64_t line, absl::string_view what) {
  return absl::FailedPreconditionError(
      absl::StrCat("audit chain broken at line ", line, ": ", what));
}

absl::Status Broken(uint64_t line, uint64_t seq, absl::string_view what) {
  return absl::FailedPreconditionError(absl::StrCat(
      "audit chain broken at line ", line, " (seq ", seq, "): ", what));
}

// Whether `record` continues the chain whose head is `head`, at line `line`.
absl::Status CheckLink(uint64_t line, const audit::v1::AuditRecord& record,
                       const AuditHead& head) {
  const uint64_t expected = head.seq + 1;
  if (record.seq() > expected) {
    return Broken(line, record.seq(),
                  absl::StrCat("expected seq ", expected,
                               " — records were removed or reordered before "
                               "it"));
  }
  if (record.seq() < expected) {
    return Broken(line, record.seq(),
                  absl::StrCat("expected seq ", expected,
                               " — a record was repeated or lines were "
                               "reordered"));
  }
  if (record.prev_sha256() == head.sha256) return absl::OkStatus();
  if (head.seq == 0) {
    return Broken(line, record.seq(),
                  "the first record's prev_sha256 is not 64 zeros — the "
                  "chain's start was replaced");
  }
  return Broken(line, record.seq(),
                absl::StrCat("prev_sha256 does not match line ", line - 1,
                             "'s sha256 — line ", line - 1,
                             " was replaced or a line was removed"));
}

}  // namespace

absl::StatusOr<AuditHead> VerifyAuditChain(std::istream& in) {
  AuditHead head{.seq = 0, .sha256 = std::string(kAuditGenesisSha256)};
  uint64_t line_number = 0;
  std::string line;
  while (std::getline(in, line)) {
    ++line_number;
    // getline stops at the end of the input before a newline only on a
    // line the writer never finished.
    if (in.eof()) {
      return Broken(line_number,
                    "torn last line (no newline at its end) — the writer "
                    "stopped in the middle of it, or the file was cut");
    }
    absl::StatusOr<ParsedAuditLine> parsed = ParseAuditLine(line);
    if (!parsed.ok()) return Broken(line_number, parsed.status().message());
    if (!parsed->intact) {
      return Broken(line_number, parsed->record.seq(),
                    "its content does not match its sha256 — the record was "
                    "edited");
    }
    absl::Status linked = CheckLink(line_number, parsed->record, head);
    if (!linked.ok()) return linked;
    head = {.seq = parsed->record.seq(), .sha256 = std::move(parsed->sha256)};
  }
  if (in.bad()) {
    return absl::UnavailableError(
        absl::StrCat("cannot read the audit log after line ", line_number));
  }
  return head;
}

absl::StatusOr<AuditHead> VerifyAuditText(const std::string& text) {
  std::istringstream in(text);
  return VerifyAuditChain(in);
}

absl::StatusOr<AuditHead> VerifyAuditFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in.is_open()) {
    return absl::UnavailableError(absl::StrCat(
        "cannot read the audit log ", path, ": ", std::strerror(errno)));
  }
  absl::StatusOr<AuditHead> head = VerifyAuditChain(in);
  if (!head.ok()) {
    return absl::Status(head.status().code(),
                        absl::StrCat(path, ": ", head.status().message()));
  }
  return head;
}

}  // namespace loan_gateway
