#include "audit/audit_record_json.h"

#include <google/protobuf/util/time_util.h>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"

namespace loan_gateway {
namespace {

using audit::v1::AuditRecord;

// What protobuf's printer writes unescaped (checked by the test against it).
bool PrintedAsIs(absl::string_view text) {
  for (char c : text) {
    if (c < 0x20 || c > 0x7e || c == '"' || c == '\\' || c == '<' || c == '>') {
      return false;
    }
  }
  return true;
}

// Writes fields in order, skipping defaults as the printer does; remembers
// whether every one was plain.
class FieldWriter {
 public:
  explicit FieldWriter(std::string& out) : out_(out) {}

  bool plain() const { return plain_; }

  void String(absl::string_view name, const std::string& value) {
    if (value.empty()) return;
    if (!PrintedAsIs(value)) plain_ = false;
    Quoted(name, value);
  }
  // An enum by its name; one without a name is printed as a number by the
  // printer: not plain.
  void Enum(absl::string_view name, int value, const std::string& value_name) {
    if (value_name.empty()) plain_ = false;
    if (value != 0) Quoted(name, value_name);
  }
  void QuotedInteger(absl::string_view name, int64_t value) {
    if (value != 0) Quoted(name, absl::StrCat(value));
  }
  void UnsignedQuoted(absl::string_view name, uint64_t value) {
    if (value != 0) Quoted(name, absl::StrCat(value));
  }
  void Number(absl::string_view name, int32_t value) {
    if (value != 0) Raw(name, absl::StrCat(value));
  }
  void Bool(absl::string_view name, bool value) {
    if (value) Raw(name, "true");
  }
  void Quoted(absl::string_view name, absl::string_view value) {
    Raw(name, absl::StrCat("\"", value, "\""));
  }

 private:
  void Raw(absl::string_view name, absl::string_view value) {
    absl::StrAppend(&out_, first_ ? "" : ",", "\"", name, "\":", value);
    first_ = false;
  }

  std::string& out_;
  bool first_ = true;
  bool plain_ = true;
};

}  // namespace

std::optional<std::string> PrintPlainAuditRecord(const AuditRecord& record) {
  std::string out = "{";
  out.reserve(512);
  FieldWriter w(out);
  w.UnsignedQuoted("seq", record.seq());
  if (record.has_time()) {
    w.Quoted("time", google::protobuf::util::TimeUtil::ToString(record.time()));
  }
  w.String("prev_sha256", record.prev_sha256());
  w.Enum("kind", record.kind(), audit::v1::AuditKind_Name(record.kind()));
  w.String("caller", record.caller());
  w.String("method", record.method());
  w.Enum("decision", record.decision(),
         audit::v1::Decision_Name(record.decision()));
  w.String("rule", record.rule());
  w.String("reason", record.reason());
  w.String("code", record.code());
  w.String("request_id", record.request_id());
  w.QuotedInteger("group_id", record.group_id());
  w.String("asset", record.asset());
  w.String("amount", record.amount());
  w.String("outcome", record.outcome());
  w.String("transaction_id", record.transaction_id());
  w.Number("binance_code", record.binance_code());
  w.Bool("validate_only", record.validate_only());
  w.QuotedInteger("signed_ms", record.signed_ms());
  w.String("detail", record.detail());
  if (!w.plain()) return std::nullopt;
  out += "}";
  return out;
}

}  // namespace loan_gateway
