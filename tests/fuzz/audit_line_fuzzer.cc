// libFuzzer target: the audit log's verifier and line parser. Any bytes must
// be refused or accepted without crashing; an accepted chain has one record
// per line; a record read from a line formats again into a line that parses
// back intact to the same record.
#include <google/protobuf/util/message_differencer.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <sstream>
#include <string>

#include "absl/strings/string_view.h"
#include "absl/strings/strip.h"
#include "audit/audit_chain.h"
#include "audit/audit_line.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const absl::string_view whole(reinterpret_cast<const char*>(data), size);

  std::istringstream in{std::string(whole)};
  const absl::StatusOr<loan_gateway::AuditHead> head =
      loan_gateway::VerifyAuditChain(in);
  if (head.ok()) {
    const auto lines =
        static_cast<uint64_t>(std::count(whole.begin(), whole.end(), '\n'));
    if (head->seq != lines || (size > 0 && whole.back() != '\n')) {
      __builtin_trap();
    }
  }

  const absl::string_view first = whole.substr(0, whole.find('\n'));
  const auto parsed = loan_gateway::ParseAuditLine(first);
  if (!parsed.ok()) return 0;
  const auto again = loan_gateway::FormatAuditLine(parsed->record);
  if (!again.ok()) __builtin_trap();
  const auto back =
      loan_gateway::ParseAuditLine(absl::StripSuffix(again->text, "\n"));
  if (!back.ok() || !back->intact || back->sha256 != again->sha256 ||
      !google::protobuf::util::MessageDifferencer::Equals(back->record,
                                                          parsed->record)) {
    __builtin_trap();
  }
  return 0;
}
