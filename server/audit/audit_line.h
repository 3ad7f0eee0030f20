#ifndef LOAN_GATEWAY_SERVER_AUDIT_AUDIT_LINE_H_
#define LOAN_GATEWAY_SERVER_AUDIT_AUDIT_LINE_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "loan_gateway/audit/v1/audit_record.pb.h"

// The audit log's line format, shared by its writer and its verifier:
//
//   {"record":<R>,"sha256":"<64 lowercase hex>"}\n
//
// <R> is the AuditRecord as protobuf's own JSON printer prints it (proto
// field names, one line, default values omitted) and the sha256 covers
// exactly <R>'s bytes. The verifier hashes the bytes as they stand in the
// file, never a re-serialization, so it does not depend on the printer
// printing a record the same way twice (or in another protobuf version).
namespace loan_gateway {

// What seq 1 carries as prev_sha256: there is no record before it.
inline constexpr absl::string_view kAuditGenesisSha256 =
    "0000000000000000000000000000000000000000000000000000000000000000";

struct AuditLine {
  std::string text;    // The whole line, its newline included.
  std::string sha256;  // The SHA-256 of the record's bytes, lowercase hex.
};

// The record's line. String fields that are not valid UTF-8 are written with
// each ill-formed subpart replaced by U+FFFD (protobuf's printer would drop
// bytes silently). Fails only for a record protobuf cannot print as JSON,
// e.g. a time outside years 1..9999.
absl::StatusOr<AuditLine> FormatAuditLine(const audit::v1::AuditRecord& record);

struct ParsedAuditLine {
  audit::v1::AuditRecord record;
  std::string sha256;  // As the line states it.
  // Whether the record's bytes hash to `sha256`. A line that is not intact
  // still parses (when its record does) so the verifier can name its seq.
  bool intact = false;
};

// One line without its newline. InvalidArgument, with a phrase that says
// what is wrong, when it is not a line of this format or its record does not
// parse (when the record is also not intact, the phrase says it was edited).
absl::StatusOr<ParsedAuditLine> ParseAuditLine(absl::string_view line);

}  // namespace loan_gateway

#endif  // LOAN_GATEWAY_SERVER_AUDIT_AUDIT_LINE_H_
