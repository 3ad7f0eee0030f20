#include "audit/audit_line.h"

#include <google/protobuf/descriptor.h>
#include <google/protobuf/util/json_util.h>
#include <google/protobuf/util/time_util.h>
#include <openssl/evp.h>

#include <optional>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "audit/audit_record_json.h"
#include "log/utf8.h"

namespace loan_gateway {
namespace {

using audit::v1::AuditRecord;
using google::protobuf::FieldDescriptor;

constexpr absl::string_view kPrefix = "{\"record\":";
constexpr absl::string_view kHashKey = ",\"sha256\":\"";
constexpr absl::string_view kEnd = "\"}";
constexpr size_t kHexSize = 64;
constexpr size_t kSuffixSize = kHashKey.size() + kHexSize + kEnd.size();

// Lowercase hex; empty only if OpenSSL cannot digest at all (out of memory),
// which then matches no stated hash.
std::string Sha256Hex(absl::string_view bytes) {
  // Fetched once: EVP_sha256() makes EVP_Digest look the implementation up
  // in the provider store on every call, nearly half of a line's hash.
  static const EVP_MD* const sha256 = [] {
    const EVP_MD* fetched = EVP_MD_fetch(nullptr, "SHA2-256", nullptr);
    return fetched != nullptr ? fetched : EVP_sha256();
  }();
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  if (EVP_Digest(bytes.data(), bytes.size(), digest, &size, sha256, nullptr) !=
      1) {
    return "";
  }
  return absl::BytesToHexString(
      absl::string_view(reinterpret_cast<const char*>(digest), size));
}

bool IsLowerHex(absl::string_view text) {
  for (char c : text) {
    if (!absl::ascii_isdigit(c) && (c < 'a' || c > 'f')) return false;
  }
  return true;
}

// A copy of `record` with valid UTF-8 in every string field, or nothing when
// it already has. AuditRecord's strings are all singular top-level fields.
std::optional<AuditRecord> RepairedUtf8(const AuditRecord& record) {
  const google::protobuf::Reflection* reflection = record.GetReflection();
  std::vector<const FieldDescriptor*> fields;
  reflection->ListFields(record, &fields);
  std::optional<AuditRecord> repaired;
  for (const FieldDescriptor* field : fields) {
    if (field->type() != FieldDescriptor::TYPE_STRING || field->is_repeated()) {
      continue;
    }
    const std::string value = reflection->GetString(record, field);
    std::string valid = ValidUtf8(value, std::string::npos);
    if (valid == value) continue;
    if (!repaired) repaired = record;
    reflection->SetString(&*repaired, field, std::move(valid));
  }
  return repaired;
}

// Protobuf's printer fails on such a time too, but with a log line of its
// own and a vaguer message.
absl::Status CheckTime(const AuditRecord& record) {
  using google::protobuf::util::TimeUtil;
  const google::protobuf::Timestamp& time = record.time();
  if (time.seconds() >= TimeUtil::kTimestampMinSeconds &&
      time.seconds() <= TimeUtil::kTimestampMaxSeconds && time.nanos() >= 0 &&
      time.nanos() <= 999'999'999) {
    return absl::OkStatus();
  }
  return absl::InvalidArgumentError(
      absl::StrCat("the audit record's time (", time.ShortDebugString(),
                   ") is not a valid Timestamp (years 1..9999)"));
}

// Protobuf's parse errors quote the input under a caret on further lines.
std::string FirstLine(absl::string_view text) {
  return std::string(text.substr(0, text.find('\n')));
}

// The record as protobuf's printer prints it: written directly when its
// strings are plain, else by the printer, ill-formed UTF-8 repaired first.
absl::StatusOr<std::string> RecordJson(const AuditRecord& record) {
  if (std::optional<std::string> plain = PrintPlainAuditRecord(record)) {
    return *std::move(plain);
  }
  const std::optional<AuditRecord> repaired = RepairedUtf8(record);
  google::protobuf::util::JsonPrintOptions options;
  options.preserve_proto_field_names = true;
  std::string json;
  const auto printed = google::protobuf::util::MessageToJsonString(
      repaired ? *repaired : record, &json, options);
  if (!printed.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "the audit record cannot be written as JSON: ", printed.ToString()));
  }
  return json;
}

}  // namespace

absl::StatusOr<AuditLine> FormatAuditLine(const AuditRecord& record) {
  if (absl::Status time = CheckTime(record); !time.ok()) return time;
  absl::StatusOr<std::string> json = RecordJson(record);
  if (!json.ok()) return json.status();
  AuditLine line{.sha256 = Sha256Hex(*json)};
  if (line.sha256.empty()) {
    return absl::InternalError("OpenSSL cannot compute a SHA-256");
  }
  line.text = absl::StrCat(kPrefix, *json, kHashKey, line.sha256, kEnd, "\n");
  return line;
}

absl::StatusOr<ParsedAuditLine> ParseAuditLine(absl::string_view line) {
  if (!absl::StartsWith(line, kPrefix)) {
    return absl::InvalidArgumentError(
        "it is not an audit record line (it does not start with "
        "{\"record\":)");
  }
  if (line.size() < kPrefix.size() + kSuffixSize) {
    return absl::InvalidArgumentError(
        "it is too short to be an audit record line");
  }
  const absl::string_view suffix = line.substr(line.size() - kSuffixSize);
  const absl::string_view hex = suffix.substr(kHashKey.size(), kHexSize);
  if (!absl::StartsWith(suffix, kHashKey) || !absl::EndsWith(suffix, kEnd) ||
      !IsLowerHex(hex)) {
    return absl::InvalidArgumentError(
        "it is not an audit record line (it does not end with "
        ",\"sha256\":\"<64 lowercase hex digits>\"})");
  }
  const absl::string_view json =
      line.substr(kPrefix.size(), line.size() - kPrefix.size() - kSuffixSize);
  ParsedAuditLine parsed{.sha256 = std::string(hex)};
  parsed.intact = Sha256Hex(json) == hex;
  // Default options: an unknown field is an error (an edit, or a newer
  // gateway's log that this verifier cannot vouch for).
  const auto read = google::protobuf::util::JsonStringToMessage(
      std::string(json), &parsed.record);
  if (read.ok()) return parsed;
  if (!parsed.intact) {
    return absl::InvalidArgumentError(
        "its content does not match its sha256 — the record was edited");
  }
  return absl::InvalidArgumentError(
      absl::StrCat("its record is not an AuditRecord in protobuf JSON (",
                   FirstLine(read.ToString()), ")"));
}

}  // namespace loan_gateway
