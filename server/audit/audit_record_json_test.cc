#include "audit/audit_record_json.h"

#include <google/protobuf/util/json_util.h>

#include <random>
#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace loan_gateway {
namespace {

using audit::v1::AuditRecord;
using google::protobuf::FieldDescriptor;

std::string ProtobufPrints(const AuditRecord& record) {
  google::protobuf::util::JsonPrintOptions options;
  options.preserve_proto_field_names = true;
  std::string json;
  EXPECT_TRUE(
      google::protobuf::util::MessageToJsonString(record, &json, options).ok());
  return json;
}

// Sets every field of the descriptor, whatever it holds now: a field added
// to AuditRecord later and not printed here makes the comparison fail.
AuditRecord EveryFieldSet(std::mt19937& random, const std::string& text) {
  AuditRecord record;
  const google::protobuf::Reflection* r = record.GetReflection();
  const google::protobuf::Descriptor* d = record.GetDescriptor();
  for (int i = 0; i < d->field_count(); ++i) {
    const FieldDescriptor* f = d->field(i);
    // Some left unset, to check that defaults are omitted as protobuf does.
    if (random() % 4 == 0) continue;
    switch (f->cpp_type()) {
      case FieldDescriptor::CPPTYPE_STRING:
        r->SetString(&record, f, text + std::to_string(i));
        break;
      case FieldDescriptor::CPPTYPE_UINT64:
        r->SetUInt64(&record, f, random());
        break;
      case FieldDescriptor::CPPTYPE_INT64:
        r->SetInt64(&record, f, -static_cast<int64_t>(random()) * 4099);
        break;
      case FieldDescriptor::CPPTYPE_INT32:
        r->SetInt32(&record, f, -static_cast<int32_t>(random() % 30000));
        break;
      case FieldDescriptor::CPPTYPE_BOOL:
        r->SetBool(&record, f, true);
        break;
      case FieldDescriptor::CPPTYPE_ENUM:
        r->SetEnumValue(
            &record, f,
            static_cast<int>(random() % f->enum_type()->value_count()));
        break;
      case FieldDescriptor::CPPTYPE_MESSAGE: {
        // The time: every precision protobuf prints (none, ms, µs, ns).
        const int nanos[] = {0, 632000000, 632125000, 632125987};
        record.mutable_time()->set_seconds(1796374552 + random() % 1000000);
        record.mutable_time()->set_nanos(nanos[random() % 4]);
        break;
      }
      default:
        ADD_FAILURE() << "a field type the printer does not know: "
                      << f->name();
    }
  }
  return record;
}

TEST(PrintPlainAuditRecordTest, PrintsTheBytesProtobufPrints) {
  std::mt19937 random(15);
  for (int round = 0; round < 2000; ++round) {
    const AuditRecord record = EveryFieldSet(
        random, round % 2 ? "spiffe://lg/ns/x/sa/y?a=1&b='2' {[()]}" : "v");
    const std::optional<std::string> plain = PrintPlainAuditRecord(record);
    ASSERT_TRUE(plain.has_value()) << record.ShortDebugString();
    ASSERT_EQ(*plain, ProtobufPrints(record)) << record.ShortDebugString();
  }
  EXPECT_EQ(*PrintPlainAuditRecord(AuditRecord()), "{}");
}

TEST(PrintPlainAuditRecordTest, EveryPrintableAsciiCharacterIsDecidedRight) {
  for (char c = 0x20; c < 0x7f; ++c) {
    AuditRecord record;
    record.set_detail(std::string("a") + c + "b");
    const std::optional<std::string> plain = PrintPlainAuditRecord(record);
    if (plain.has_value()) {
      EXPECT_EQ(*plain, ProtobufPrints(record)) << c;
    } else {
      // Left to protobuf only where it escapes the character.
      EXPECT_NE(ProtobufPrints(record),
                "{\"detail\":\"a" + std::string(1, c) + "b\"}")
          << c;
    }
  }
}

TEST(PrintPlainAuditRecordTest, LeavesEscapesAndOtherTextToProtobuf) {
  for (const std::string& text : std::vector<std::string>{
           "line\nbreak", "tab\t", "quote\"", "back\\slash", "<b>",
           "caf\xc3\xa9", "bad \xff utf-8", std::string("nul\0", 4),
           "del\x7f"}) {
    AuditRecord record;
    record.set_caller(text);
    EXPECT_FALSE(PrintPlainAuditRecord(record).has_value()) << text;
  }
  AuditRecord unnamed;
  unnamed.set_kind(static_cast<audit::v1::AuditKind>(99));
  EXPECT_FALSE(PrintPlainAuditRecord(unnamed).has_value());
}

}  // namespace
}  // namespace loan_gateway
